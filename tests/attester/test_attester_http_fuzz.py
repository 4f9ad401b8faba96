"""Bad input at the attester's HTTP surface never yields a 500 (HP-ATT-27), against a real uvicorn authority."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardened.jose import SigningKey
from tests.attester.conftest import Live

BODIES = st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8", "replace")),
                   st.builds(lambda a, b, c: f"{a}.{b}.{c}".encode(), st.text("abcXYZ-_=", max_size=60),
                             st.text("abcXYZ-_=", max_size=60), st.text("abcXYZ-_=", max_size=60)),
                   st.just(b"x" * 5000))
TYPES = st.sampled_from(["application/jwt", "application/JWT; charset=utf-8", "application/json", "text/plain", ""])


@pytest.mark.requirement("HP-ATT-27")
def test_attestation_endpoint_never_fails_with_500(live: Live) -> None:
    url = live.url + "/attester/attestations"
    with httpx.Client(timeout=10) as client:

        @settings(max_examples=60)
        @given(body=BODIES, content_type=TYPES)
        def probe(body: bytes, content_type: str) -> None:
            answer = client.post(url, content=body, headers={"Content-Type": content_type})
            assert answer.status_code in (400, 401, 413), answer.text
            assert answer.json()["error"] in ("invalid_request", "invalid_client")

        probe()
        assert client.get(url).status_code == 405


JSONS = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
                     lambda inner: st.one_of(st.lists(inner, max_size=3),
                                             st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)


@pytest.mark.requirement("HP-ATT-27")
def test_instance_admin_api_never_fails_with_500(live: Live) -> None:
    headers = {"Authorization": f"Bearer {live.token}"}
    jwk = SigningKey.generate("ES256").public_jwk()
    with httpx.Client(base_url=live.url, headers=headers, timeout=10) as client:

        @settings(max_examples=25)
        @given(body=st.one_of(JSONS, st.fixed_dictionaries({"jwk": JSONS}),
                              st.fixed_dictionaries({"jwk": st.just(jwk), "instance_id": JSONS})),
               software=st.sampled_from(["acme-agent", "nobody", "bad id", "-x", "a" * 200]))
        def probe(body: object, software: str) -> None:
            answer = client.post(f"/admin/software/{software}/instances", json=body)
            assert answer.status_code in (201, 400, 404, 409), answer.text
            listing = client.get(f"/admin/software/{software}/instances")
            assert listing.status_code in (200, 400, 404)
            revoke = client.post(f"/admin/software/{software}/instances/x/revoke", json=body)
            assert revoke.status_code in (400, 404)

        probe()
        assert httpx.get(live.url + "/admin/software/acme-agent/instances").status_code == 401
        assert httpx.get(live.url + "/admin/attester/keys").status_code == 401
