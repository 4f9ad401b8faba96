"""End to end over real uvicorn servers on 127.0.0.1: the authority (admin API, attester endpoint, published
attester JWKS), an agent instance, and an AS that trusts the authority as attester (HP-ATT-20 ... 29)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from authority.backend import RemoteBackend
from hardened.adapters.attesters import TrustedAttesterVerifier
from hardened.adapters.authority_attesters import AuthorityAttesters, fetch_attester_registry
from hardened.adapters.memory import MemoryReplayCache
from hardened.client.attester import AuthorityAttestationSource, fetch_client_attestation
from hardened.clock import SystemClock
from hardened.core.attestation import AttestationPolicy, verify_client_attestation
from hardened.core.attestation_request import build_attestation_request
from hardened.errors import InvalidClient, UnauthorizedClient
from hardened.jose import SigningKey
from hardened.ports.attestation import AttestationResult
from hardened.web.attestation import AttestationGuard
from hardened.web.errors import install_error_handlers
from tests.attester.conftest import Live
from tests.authority.authority_live import loopback_socket, serve


def as_app(attesters: Any, audience: str) -> FastAPI:
    """A minimal AS endpoint that requires attestation (attest_jwt_client_auth) from trusted attesters."""
    app = FastAPI()
    install_error_handlers(app)
    guard = AttestationGuard([TrustedAttesterVerifier(attesters, replay=MemoryReplayCache())], audience=audience,
                             clock=SystemClock())

    @app.post("/token")
    def token(result: AttestationResult = Depends(guard)) -> dict[str, Any]:
        return {"client_id": result.client_id, "instance_jkt": result.instance_jkt, "attester": result.attester,
                "software_id": result.claims.get("software_id")}

    return app


@pytest.fixture
def as_server(live: Live) -> Iterator[tuple[str, httpx.Client]]:
    client = httpx.Client(timeout=10)
    sock = loopback_socket()
    audience = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with serve(as_app(AuthorityAttesters(client, [live.url]), audience), sock) as url:
        yield url, client
    client.close()


def register(live: Live, key: SigningKey, instance_id: str = "acme-agent-1", software: str = "acme-agent") -> None:
    RemoteBackend(live.url, live.token).add_instance(software, {"instance_id": instance_id,
                                                                "jwk": key.public_jwk()})


def endpoint(live: Live) -> str:
    return httpx.get(live.url + "/.well-known/authority-configuration").json()["attestation_endpoint"]


@pytest.mark.requirement("HP-ATT-20", "HP-ATT-22", "HP-ATT-28")
def test_registered_instance_is_attested_and_accepted_by_an_as(live: Live, as_server, instance_key) -> None:
    as_url, client = as_server
    register(live, instance_key)
    source = AuthorityAttestationSource(client, endpoint(live), key=instance_key, instance_id="acme-agent-1",
                                        client_id="client-1")
    answer = client.post(as_url + "/token", auth=source.auth(audience=as_url))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"client_id": "client-1", "instance_jkt": instance_key.thumbprint,
                             "attester": live.url, "software_id": "acme-agent"}
    assert source.attestation() == source.attestation()  # cached until shortly before it expires
    # The same attestation through a registry pinned from the published JWKS, with the pure check.
    registry = fetch_attester_registry(client, [live.url])
    verified = verify_client_attestation(source.attestation(), client_id="client-1", attesters=registry,
                                         policy=AttestationPolicy(max_attestation_lifetime=600),
                                         now=SystemClock().now())
    assert verified.cnf_jkt == instance_key.thumbprint
    without = client.post(as_url + "/token")
    assert without.status_code == 401 and without.json()["error"] == "invalid_client_attestation"


@pytest.mark.requirement("HP-ATT-23")
def test_revoked_instance_is_refused(live: Live, instance_key) -> None:
    register(live, instance_key)
    RemoteBackend(live.url, live.token).revoke_instance("acme-agent", "acme-agent-1", "key leaked")
    with httpx.Client() as client, pytest.raises(InvalidClient):
        fetch_client_attestation(client, endpoint(live), key=instance_key, instance_id="acme-agent-1",
                                 client_id="client-1")


@pytest.mark.requirement("HP-ATT-23")
def test_suspended_organisation_is_refused(live: Live, instance_key) -> None:
    register(live, instance_key)
    RemoteBackend(live.url, live.token).set_org_status("acme", "suspended", "investigation")
    with httpx.Client() as client, pytest.raises(UnauthorizedClient):
        fetch_client_attestation(client, endpoint(live), key=instance_key, instance_id="acme-agent-1",
                                 client_id="client-1")


@pytest.mark.requirement("HP-ATT-24")
def test_replayed_request_is_refused(live: Live, instance_key) -> None:
    register(live, instance_key)
    url = endpoint(live)
    body = build_attestation_request(instance_key, instance_id="acme-agent-1", client_id="client-1", audience=url,
                                     now=SystemClock().now())
    headers = {"Content-Type": "application/jwt"}
    first = httpx.post(url, content=body, headers=headers)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    again = httpx.post(url, content=body, headers=headers)
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"


@pytest.mark.requirement("HP-ATT-20")
def test_wrong_key_is_refused(live: Live, instance_key) -> None:
    register(live, instance_key)
    with httpx.Client() as client, pytest.raises(InvalidClient):
        fetch_client_attestation(client, endpoint(live), key=SigningKey.generate("ES256"),
                                 instance_id="acme-agent-1", client_id="client-1")
