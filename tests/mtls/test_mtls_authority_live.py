"""End to end over real mutual TLS: the ``authority`` CLI signs the statements, a hardened AS on 127.0.0.1
registers them and issues certificate-bound tokens (RFC 8705 §2.1.2, §2.2, §3) to the certificate they name."""

from __future__ import annotations

import time

import pytest

from hardened.clock import FixedClock
from hardened.core.mtls import certificate_thumbprint
from tests.mtls.as_world import MTLSAS, PKI_SUBJECT, tls_as, x5c_jwk
from tests.mtls.test_mtls_authority_statement import SELF_SIGNED, Operator
from tests.server.world import Keys

pytestmark = pytest.mark.slow


@pytest.fixture
def operator(tmp_path, capsys) -> Operator:
    return Operator(tmp_path, capsys)


def _register(server: MTLSAS, operator: Operator, software_id: str) -> str:
    statement = operator.ok("sign", software_id).strip()
    with server.http(None) as http:  # registration needs no certificate
        r = http.post(server.base + "/register", json={"software_statement": statement})
    assert r.status_code == 201, r.text
    return r.json()["client_id"]


def _bound_to(server: MTLSAS, cert: str, client_id: str) -> dict:
    tokens = server.tokens(cert, client_id)
    assert tokens["token_type"] == "Bearer"
    with server.http(cert) as http:
        return server.introspect(http, tokens["access_token"])["cnf"]


@pytest.mark.requirement("HP-MTLS-28", "HP-MTLS-29")
def test_authority_signed_mtls_clients_get_certificate_bound_tokens(live_pki, operator: Operator) -> None:
    keys = Keys()
    operator.add(*SELF_SIGNED, jwks={"keys": [x5c_jwk(live_pki.certs["self_signed"])]})
    jwks_file = operator.jwks_file({"keys": [keys.agent.public_jwk()]})
    code, _, err = operator.run(
        "software", "add", "--id", "pki-agent", "--org", "acme", "--name", "PKI Agent", "--redirect-uri",
        "https://agent.example/cb", "--scope", "trades:read", "--jwks-file", jwks_file,
        "--auth-method", "tls_client_auth", "--sender-constraint", "mtls",
        "--tls-client-auth-subject-dn", PKI_SUBJECT["tls_client_auth_subject_dn"])
    assert code == 0, err
    clock = FixedClock(time.time())
    with tls_as(live_pki, keys, clock, statement_verifier=operator.verifier(clock)) as server:
        self_client = _register(server, operator, "acme-agent")
        assert _bound_to(server, "self_signed", self_client) == {
            "x5t#S256": certificate_thumbprint(live_pki.certs["self_signed"].certificate)}
        pki_client = _register(server, operator, "pki-agent")
        assert _bound_to(server, "good", pki_client) == {
            "x5t#S256": certificate_thumbprint(live_pki.certs["good"].certificate)}
        with server.http("self_signed_other") as http:  # another self-signed certificate: not this client
            r = server.token(http, self_client, "no-such-code")
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
