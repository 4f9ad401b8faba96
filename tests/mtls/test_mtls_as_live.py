"""RFC 8705 at the authorization server over real mutual TLS (uvicorn on 127.0.0.1, pki-issued certificates).

Client authentication is probed at the token endpoint with a grant that cannot succeed: an authenticated client
gets ``invalid_grant`` (400), a refused one ``invalid_client`` (401), because authentication comes first.
Certificates that the TLS handshake itself refuses (expired, not yet valid, wrong EKU, untrusted CA) are judged by
the AS when a trusted proxy forwards them (RFC 9440 from 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from hardened.core.mtls import certificate_thumbprint
from hardened.core.token_exchange import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE
from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, Typ, verify_jwt
from tests.mtls.as_world import MTLSAS, proxied_as, tls_as
from tests.server.world import UPSTREAM, Keys

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="module")
def tls(live_pki, keys: Keys) -> Iterator[MTLSAS]:
    with tls_as(live_pki, keys) as server:
        yield server


@pytest.fixture(scope="module")
def proxied(live_pki, keys: Keys) -> Iterator[MTLSAS]:
    with proxied_as(live_pki, keys) as server:
        yield server


def _probe(server: MTLSAS, http: httpx.Client, client_id: str) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": "no-such-code", "code_verifier": "v" * 43,
            "redirect_uri": "https://agent.example/cb", **server.auth(client_id)}
    return http.post(server.base + "/token", data=form)


def _refused(response: httpx.Response) -> bool:
    return response.status_code == 401 and response.json()["error"] == "invalid_client"


def _thumbprint(live_pki, name: str) -> str:
    return certificate_thumbprint(live_pki.certs[name].certificate)


@pytest.mark.requirement("HP-MTLS-16", "HP-MTLS-21", "HP-MTLS-25")
@pytest.mark.parametrize("client_id", ["dn-agent", "uri-agent"])
def test_good_client_gets_a_certificate_bound_token(tls: MTLSAS, live_pki, client_id: str) -> None:
    tokens = tls.tokens("good", client_id)
    assert tokens["token_type"] == "Bearer" and "refresh_token" in tokens
    with tls.http("good") as http:
        info = tls.introspect(http, tokens["access_token"])
    assert info["active"] is True and info["client_id"] == client_id
    assert info["cnf"] == {"x5t#S256": _thumbprint(live_pki, "good")} and info["token_type"] == "Bearer"


@pytest.mark.requirement("HP-MTLS-16")
@pytest.mark.parametrize(("cert", "client_id"), [
    ("reordered", "dn-agent"),      # RDNs in another order: another subject (RFC 4514 structure)
    ("other_san", "uri-agent"),     # SAN URI mismatch
    ("self_signed", "dn-agent"),    # no chain to the anchors
    (None, "dn-agent"),             # no certificate at all
])
def test_pki_client_refused(tls: MTLSAS, cert: str | None, client_id: str) -> None:
    with tls.http(cert) as http:
        assert _refused(_probe(tls, http, client_id))


@pytest.mark.requirement("HP-MTLS-16")
@pytest.mark.parametrize("cert", ["expired", "future", "wrong_eku", "untrusted"])
def test_certificates_the_handshake_refuses_are_refused_by_the_as(proxied: MTLSAS, tls: MTLSAS, cert: str) -> None:
    with tls.http(cert) as http, pytest.raises(httpx.TransportError):  # direct TLS: OpenSSL refuses
        _probe(tls, http, "dn-agent")
    with proxied.forwarding(cert) as http:  # through a trusted proxy: the AS refuses, invalid_client
        assert _refused(_probe(proxied, http, "dn-agent"))
    with proxied.forwarding("good") as http:  # the same path accepts a good certificate
        assert _probe(proxied, http, "dn-agent").json()["error"] == "invalid_grant"


@pytest.mark.requirement("HP-MTLS-17", "HP-MTLS-21")
def test_self_signed_registered_and_unregistered(tls: MTLSAS, live_pki) -> None:
    tokens = tls.tokens("self_signed", "self-agent")
    with tls.http("self_signed") as http:
        assert tls.introspect(http, tokens["access_token"])["cnf"] == {
            "x5t#S256": _thumbprint(live_pki, "self_signed")}
    for cert in ("self_signed_other", "good", None):
        with tls.http(cert) as http:
            assert _refused(_probe(tls, http, "self-agent"))


@pytest.mark.requirement("HP-MTLS-18")
def test_only_the_registered_method(tls: MTLSAS, keys: Keys) -> None:
    from hardened.client.assertion import assertion_params

    with tls.http("good") as http:
        form = {"grant_type": "authorization_code", "code": "x", "code_verifier": "v" * 43,
                **assertion_params(keys.agent, "dn-agent", tls.base, now=tls.clock.now())}
        assert _refused(http.post(tls.base + "/token", data=form))  # an assertion from a certificate client
        form = {"grant_type": "authorization_code", "code": "x", "client_id": "jwt-bound-agent"}
        assert _refused(http.post(tls.base + "/token", data=form))  # client_id alone from a private_key_jwt one


@pytest.mark.requirement("HP-MTLS-22")
def test_refresh_only_with_the_same_certificate(tls: MTLSAS, live_pki) -> None:
    tokens = tls.tokens("good", "uri-agent")
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "uri-agent"}
    with tls.http("reordered") as http:  # authenticates (same SAN URI), but is another certificate
        r = http.post(tls.base + "/token", data=form)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    with tls.http("good") as http:
        r = http.post(tls.base + "/token", data=form)
        assert r.status_code == 200, r.text
        info = tls.introspect(http, r.json()["access_token"])
    assert info["cnf"] == {"x5t#S256": _thumbprint(live_pki, "good")}


@pytest.mark.requirement("HP-MTLS-23")
def test_registration_chooses_the_binding_when_both_are_offered(tls: MTLSAS, live_pki, keys: Keys) -> None:
    mtls_bound = tls.tokens("good", "dn-agent", dpop=True)  # a DPoP proof too: the certificate binds
    dpop_bound = tls.tokens("good", "dpop-over-mtls", dpop=True)  # a certificate too: the proof binds
    assert mtls_bound["token_type"] == "Bearer" and dpop_bound["token_type"] == "DPoP"
    with tls.http("good") as http:
        assert tls.introspect(http, mtls_bound["access_token"])["cnf"] == {
            "x5t#S256": _thumbprint(live_pki, "good")}
        assert tls.introspect(http, dpop_bound["access_token"])["cnf"] == {"jkt": keys.agent_dpop.thumbprint}
        code = tls.code(http, "dpop-over-mtls", dpop=True)
        r = tls.token(http, "dpop-over-mtls", code)  # a DPoP client without a proof
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"


@pytest.mark.requirement("HP-MTLS-21")
def test_certificate_binding_without_a_certificate(tls: MTLSAS) -> None:
    with tls.http(None) as http:  # private_key_jwt client registered for certificate-bound tokens
        code = tls.code(http, "jwt-bound-agent")
        r = tls.token(http, "jwt-bound-agent", code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert tls.tokens("good", "jwt-bound-agent")["token_type"] == "Bearer"


def _exchange(server: MTLSAS, http: httpx.Client, subject_token: str, auth: dict[str, str],
              headers: dict[str, str] | None = None) -> dict:
    r = http.post(server.base + "/token", data={
        "grant_type": TOKEN_EXCHANGE, "subject_token": subject_token, "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": UPSTREAM, **auth}, headers=headers or {})
    assert r.status_code == 200, r.text
    policy = JWTPolicy(jws=JWSPolicy(typ=Typ.ACCESS_TOKEN), claims=ClaimsPolicy(issuer=server.base, audience=UPSTREAM))
    return verify_jwt(r.json()["access_token"], policy=policy, keys=server.jwks(http), now=server.clock.now()).claims


@pytest.mark.requirement("HP-MTLS-24", "HP-MTLS-16")
def test_exchange_keeps_the_chain_of_custody(tls: MTLSAS, live_pki) -> None:
    tokens = tls.tokens("good", "dn-agent")
    agent = {"sub": "dn-agent", "cnf": {"x5t#S256": _thumbprint(live_pki, "good")}}
    with tls.http("rs") as http:  # the MCP server: tls_client_auth, its own certificate binds
        at = _exchange(tls, http, tokens["access_token"], {"client_id": "mcp-server"})
    assert at["cnf"] == {"x5t#S256": _thumbprint(live_pki, "rs")}
    assert at["act"] == {"sub": "mcp-server", "act": agent} and at["sub"] == "user-alice"
    with tls.http("good") as http:  # the agent's certificate does not authenticate the MCP server
        r = http.post(tls.base + "/token", data={"grant_type": TOKEN_EXCHANGE, "client_id": "mcp-server"})
    assert _refused(r)


@pytest.mark.requirement("HP-MTLS-16")
def test_revocation_and_par_authenticate_by_certificate(tls: MTLSAS) -> None:
    tokens = tls.tokens("good", "dn-agent")
    with tls.http("reordered") as http:
        assert _refused(http.post(tls.base + "/revoke", data={"token": tokens["access_token"],
                                                              "client_id": "dn-agent"}))
        assert _refused(http.post(tls.base + "/par", data={"client_id": "dn-agent"}))
    with tls.http("good") as http:
        r = http.post(tls.base + "/revoke", data={"token": tokens["access_token"], "client_id": "dn-agent"})
        assert r.status_code == 200
        assert tls.introspect(http, tokens["access_token"]) == {"active": False}


@pytest.mark.requirement("HP-MTLS-25")
def test_agent_httpx2_client_for_the_mcp_sdk(tls: MTLSAS, live_pki) -> None:
    import asyncio
    import ssl

    from hardened.client.mtls import ClientCertificate, mtls_httpx2_client, tls_client_auth_params

    paths = live_pki.paths["good"]
    cert = ClientCertificate(paths["chain"], paths["key"], live_pki.anchors_file)
    assert cert.thumbprint == _thumbprint(live_pki, "good")
    context = cert.ssl_context()
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2 and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname and all(
        c["protocol"] == "TLSv1.3" or "GCM" in c["name"] for c in context.get_ciphers())

    async def probe() -> tuple[int, str]:
        async with mtls_httpx2_client(cert) as http:
            r = await http.post(tls.base + "/token", data={"grant_type": "authorization_code", "code": "x",
                                                           **tls_client_auth_params("dn-agent")})
            return r.status_code, r.json()["error"]

    assert asyncio.run(probe()) == (400, "invalid_grant")  # authenticated by its certificate; the code is bogus


@pytest.mark.requirement("HP-MTLS-25")
def test_agent_certificate_files_checked_when_used(live_pki, tmp_path) -> None:
    from hardened.client.mtls import ClientCertificate
    from hardened.errors import ConfigurationError

    paths = live_pki.paths["good"]
    for cert in (ClientCertificate(tmp_path / "missing.pem", paths["key"], live_pki.anchors_file),
                 ClientCertificate(paths["chain"], live_pki.paths["other_san"]["key"], live_pki.anchors_file)):
        with pytest.raises(ConfigurationError):
            cert.ssl_context()


@pytest.mark.requirement("HP-MTLS-19", "HP-MTLS-21", "HP-MTLS-25")
def test_registered_through_the_statement_then_bound_over_tls(live_pki, keys: Keys) -> None:
    """The worked example of docs/mtls.md: statement -> registration -> PAR, code, token over mutual TLS."""
    import time

    from hardened.clock import FixedClock
    from tests.mtls.as_world import PKI_SUBJECT
    from tests.server.statements import StatementAuthority

    clock = FixedClock(time.time())
    authority = StatementAuthority(keys, clock)
    with tls_as(live_pki, keys, clock, statement_verifier=authority.verifier()) as server:
        statement = authority.statement(token_endpoint_auth_method="tls_client_auth", sender_constraint="mtls",
                                        **PKI_SUBJECT)
        with server.http(None) as http:  # registration needs no certificate
            r = http.post(server.base + "/register", json={"software_statement": statement})
        assert r.status_code == 201, r.text
        client_id = r.json()["client_id"]
        tokens = server.tokens("good", client_id)
        with server.http("good") as http:
            assert server.introspect(http, tokens["access_token"])["cnf"] == {
                "x5t#S256": _thumbprint(live_pki, "good")}


@pytest.mark.requirement("HP-MTLS-16", "HP-MTLS-10")
def test_forged_forwarding_header_at_the_tls_as(tls: MTLSAS, live_pki) -> None:
    """Direct TLS: a ``Client-Cert`` header can only be a forgery, even beside a good TLS certificate."""
    from hardened.testing.mtls import client_cert_header

    forged = {"Client-Cert": client_cert_header(live_pki.certs["good"].certificate)}
    for cert in ("good", None):
        with tls.http(cert) as http:
            http.headers.update(forged)
            assert _refused(_probe(tls, http, "dn-agent"))
