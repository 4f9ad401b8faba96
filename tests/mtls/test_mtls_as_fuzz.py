"""Arbitrary client authentication input at an AS that takes forwarded certificates (RFC 9440 from a trusted
proxy): only OAuth errors come back (400/401 with an error code), never a 500, and a certificate of a registered
client does authenticate (the property can fail)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from hardened.ports.as_stores import ClientRecord
from hardened.server.mtls import MTLSConfig
from hardened.testing.mtls import client_cert_header, header_noise
from hardened.web.client_cert import ClientCertificateSource
from pki.ca import CertificateAuthority, SubjectAltNames
from pki.verify import TrustAnchors
from tests.mtls.as_world import PKI_SUBJECT
from tests.server.world import Keys, World, agent_metadata

START = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
ROOT = CertificateAuthority.create_root("CN=Root", not_before=START)
GOOD = ROOT.issue("agent", "CN=agent-1,O=Example", sans=SubjectAltNames(uri=("https://agents.example/a1",)),
                  not_before=START)
GOOD_HEADER = client_cert_header(GOOD.certificate)
KEYS = Keys()
WORLD = World(KEYS, mtls=MTLSConfig(TrustAnchors((ROOT.certificate,)), ClientCertificateSource(
    trusted_proxies=["127.0.0.1"], header_format="rfc9440")))
WORLD.store.add_client(ClientRecord("dn-agent", agent_metadata(KEYS, token_endpoint_auth_method="tls_client_auth",
                                                               sender_constraint="mtls", tls_client_auth=PKI_SUBJECT),
                                    "0" * 64, 0.0), statement_jti=None, statement_exp=0)
HTTP = TestClient(WORLD.app, base_url="http://127.0.0.1:9", client=("127.0.0.1", 40000), raise_server_exceptions=False)
PROBE = {"grant_type": "authorization_code", "code": "x", "code_verifier": "v" * 43}


def _ascii_header(value: str) -> str:
    return value.encode("ascii", "replace").decode().replace("\r", " ").replace("\n", " ")


@pytest.mark.requirement("HP-MTLS-16")
def test_forwarded_good_certificate_authenticates() -> None:
    r = HTTP.post("/token", data={**PROBE, "client_id": "dn-agent"}, headers={"Client-Cert": GOOD_HEADER})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


@pytest.mark.requirement("HP-MTLS-16", "HP-MTLS-18")
@given(header=header_noise(GOOD_HEADER), client_id=st.sampled_from(["dn-agent", "agent-1", "nobody", ""]) |
       st.text(max_size=140), chain=st.none() | header_noise(GOOD_HEADER))
def test_arbitrary_certificate_headers_and_client_ids(header: str, client_id: str, chain: str | None) -> None:
    headers = {"Client-Cert": _ascii_header(header)}
    if chain is not None:
        headers["Client-Cert-Chain"] = _ascii_header(chain)
    r = HTTP.post("/token", data={**PROBE, "client_id": client_id}, headers=headers)
    assert r.status_code in (400, 401), r.text
    assert r.json()["error"] in ("invalid_client", "invalid_request", "invalid_grant")
    if r.json()["error"] == "invalid_grant":  # authenticated: only with the good certificate, as dn-agent
        assert client_id == "dn-agent" and headers["Client-Cert"] == GOOD_HEADER
