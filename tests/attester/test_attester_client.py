"""Agent side (hardened.client.attester; HP-ATT-28): fresh requests, caching until shortly before expiry, no
redirects, refusals as the authority's OAuth error, and nothing but our errors for any answer."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from authority.app import create_app
from hardened.client.attester import AuthorityAttestationSource, _parse, fetch_client_attestation
from hardened.errors import InvalidClient, InvalidClientAttestation, OAuthError
from hardened.jose import SigningKey
from tests.attester.conftest import Offline

BASE = "https://authority.example"
ENDPOINT = BASE + "/attester/attestations"


@pytest.fixture
def client(offline: Offline):
    with TestClient(create_app(offline.authority, attester=offline.attester), base_url=BASE) as test_client:
        yield test_client


@pytest.mark.requirement("HP-ATT-28")
def test_attestation_is_cached_then_refreshed_before_expiry(offline: Offline, client: httpx.Client) -> None:
    source = AuthorityAttestationSource(client, ENDPOINT, key=offline.key, instance_id="acme-agent-1",
                                        client_id="client-1", clock=offline.clock)
    first = source.attestation()
    offline.clock.advance(539)
    assert source.attestation() == first
    offline.clock.advance(1)  # 60 s (refresh_margin) before exp: a new one, from a new request
    second = source.attestation()
    assert second != first
    assert source.auth(audience="https://as.example").attestation == second
    issued = [e for e in offline.authority.store.audit_log() if e.action == "attestation.issue"]
    assert len(issued) == 2


@pytest.mark.requirement("HP-ATT-28")
def test_no_redirect_is_followed_and_refusals_keep_their_error(offline: Offline, client: httpx.Client) -> None:
    with pytest.raises(InvalidClientAttestation):  # 307 to the endpoint without the slash: not followed
        fetch_client_attestation(client, ENDPOINT + "/", key=offline.key, instance_id="acme-agent-1",
                                 client_id="client-1", clock=offline.clock)
    with pytest.raises(InvalidClient):
        fetch_client_attestation(client, ENDPOINT, key=SigningKey.generate("ES256"), instance_id="acme-agent-1",
                                 client_id="client-1", clock=offline.clock)


ANSWERS = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(st.sampled_from(["client_attestation", "expires_in", "error", "error_description"]),
                    st.one_of(st.none(), st.integers(-5, 10**6), st.text(max_size=30), st.booleans(),
                              st.just("a.b.c")), max_size=4).map(lambda d: httpx.Response(200, json=d).content),
    st.just(b"x" * 20_000))


@pytest.mark.requirement("HP-ATT-28")
@given(status=st.sampled_from([200, 302, 400, 401, 500]), body=ANSWERS)
def test_any_answer_raises_only_our_errors(status: int, body: bytes) -> None:
    try:
        fetched = _parse(httpx.Response(status, content=body), 1000.0)
    except OAuthError:
        return
    assert status == 200 and fetched.attestation.count(".") == 2 and 1000 < fetched.expires_at <= 1000 + 86_400
