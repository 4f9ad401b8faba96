"""RFC 8705 registration through software statements, metadata and configuration at the AS (in-process)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from hardened.adapters.sqlite_as import SQLiteASStore
from hardened.clock import FixedClock
from hardened.core.access_token import TokenRecord
from hardened.errors import ConfigurationError
from hardened.ports.as_stores import ClientRecord
from hardened.server.mtls import MTLSConfig, ResourceServerMTLS
from pki.ca import CertificateAuthority, SubjectAltNames, self_signed_certificate
from pki.verify import TrustAnchors
from tests.mtls.as_world import PKI_SUBJECT, x5c_jwk
from tests.server.statements import StatementAuthority
from tests.server.world import ISSUER, Keys, World, agent_metadata, make_config

START = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
SELF_SIGNED = self_signed_certificate("CN=self-1", sans=SubjectAltNames(dns=("self.example",)), not_before=START)
ANCHORS = TrustAnchors((CertificateAuthority.create_root("CN=Root", not_before=START).certificate,))


def _mtls(**changes) -> MTLSConfig:
    return MTLSConfig(ANCHORS, **changes)


class Setup:
    def __init__(self, keys: Keys, mtls: MTLSConfig | None) -> None:
        clock = FixedClock()
        self.keys = keys
        self.authority = StatementAuthority(keys, clock)
        self.world = World(keys, clock, statement_verifier=self.authority.verifier(), baseline=False, mtls=mtls)

    def register(self, body: dict | None = None, **claims):
        return self.world.http.post("/register", json={"software_statement": self.authority.statement(**claims),
                                                       **(body or {})})


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
def setup(keys: Keys) -> Setup:
    return Setup(keys, _mtls())


TLS = {"token_endpoint_auth_method": "tls_client_auth", "sender_constraint": "mtls", **PKI_SUBJECT}


@pytest.mark.requirement("HP-MTLS-19")
def test_statement_registers_a_tls_client_auth_client(setup: Setup) -> None:
    r = setup.register({"tls_client_auth_subject_dn": PKI_SUBJECT["tls_client_auth_subject_dn"]}, **TLS)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token_endpoint_auth_method"] == "tls_client_auth" and body["dpop_bound_access_tokens"] is False
    assert body["tls_client_auth_subject_dn"] == "CN=agent-1,O=Example"
    assert body["tls_client_certificate_bound_access_tokens"] is True
    record = setup.world.store.get_client(body["client_id"])
    assert record.metadata.tls_client_auth == PKI_SUBJECT and record.metadata.sender_constraint == "mtls"


@pytest.mark.requirement("HP-MTLS-19")
def test_statement_registers_a_self_signed_client(setup: Setup) -> None:
    jwks = {"keys": [x5c_jwk(SELF_SIGNED)]}
    r = setup.register(token_endpoint_auth_method="self_signed_tls_client_auth", sender_constraint="mtls", jwks=jwks)
    assert r.status_code == 201, r.text
    assert r.json()["token_endpoint_auth_method"] == "self_signed_tls_client_auth"


@pytest.mark.requirement("HP-MTLS-19")
@pytest.mark.parametrize(("body", "claims"), [
    ({"tls_client_auth_subject_dn": "CN=someone-else"}, TLS),                     # contradicts the statement
    ({"tls_client_auth_san_dns": "a1.agents.example"}, TLS),                      # a second subject
    ({}, {"token_endpoint_auth_method": "tls_client_auth"}),                      # no subject
    ({}, {**PKI_SUBJECT}),                                                        # a subject for private_key_jwt
    ({}, {"token_endpoint_auth_method": "self_signed_tls_client_auth"}),          # jwks without x5c
])
def test_inconsistent_mtls_registration_refused(setup: Setup, body: dict, claims: dict) -> None:
    r = setup.register(body, **claims)
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata", r.text


@pytest.mark.requirement("HP-MTLS-19")
def test_x5c_must_hold_the_jwk_key(setup: Setup, keys: Keys) -> None:
    der = base64.b64encode(SELF_SIGNED.certificate.public_bytes(Encoding.DER)).decode()
    jwks = {"keys": [{**keys.agent.public_jwk(), "x5c": [der]}]}  # another key than the certificate's
    r = setup.register(token_endpoint_auth_method="self_signed_tls_client_auth", jwks=jwks)
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"


@pytest.mark.requirement("HP-MTLS-19")
@pytest.mark.parametrize("claims", [TLS, {"sender_constraint": "mtls"}])
def test_mtls_registration_refused_without_mtls_configured(keys: Keys, claims: dict) -> None:
    r = Setup(keys, None).register(**claims)
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"


@pytest.mark.requirement("HP-MTLS-20")
def test_metadata_with_and_without_mtls(keys: Keys) -> None:
    body = World(keys, mtls=_mtls()).http.get("/.well-known/oauth-authorization-server").json()
    for name in ("token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported",
                 "revocation_endpoint_auth_methods_supported"):
        assert body[name][-2:] == ["tls_client_auth", "self_signed_tls_client_auth"]
    assert body["tls_client_certificate_bound_access_tokens"] is True
    assert body["mtls_endpoint_aliases"]["token_endpoint"] == ISSUER + "/token"
    aliased = World(keys, mtls=_mtls(endpoint_base="https://mtls.as.example")).http.get(
        "/.well-known/oauth-authorization-server").json()["mtls_endpoint_aliases"]
    assert aliased == {"token_endpoint": "https://mtls.as.example/token",
                       "pushed_authorization_request_endpoint": "https://mtls.as.example/par",
                       "introspection_endpoint": "https://mtls.as.example/introspect",
                       "revocation_endpoint": "https://mtls.as.example/revoke"}
    plain = World(keys).http.get("/.well-known/oauth-authorization-server").json()
    assert "mtls_endpoint_aliases" not in plain
    assert "tls_client_auth" not in plain["token_endpoint_auth_methods_supported"]


@pytest.mark.requirement("HP-MTLS-18")
def test_certificate_client_without_mtls_configured_is_invalid_client(keys: Keys) -> None:
    world = World(keys)
    world.store.add_client(ClientRecord("tls-1", agent_metadata(keys, token_endpoint_auth_method="tls_client_auth",
                                                                tls_client_auth=PKI_SUBJECT), "0" * 64, 0.0),
                           statement_jti=None, statement_exp=0)
    r = world.http.post("/token", data={"grant_type": "authorization_code", "code": "x", "client_id": "tls-1"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


@pytest.mark.requirement("HP-MTLS-14")
@pytest.mark.parametrize("settings", [
    {"nobody": ResourceServerMTLS()},
    {"mcp-server": ResourceServerMTLS("tls_client_auth", {})},
    {"mcp-server": ResourceServerMTLS("self_signed_tls_client_auth")},  # its jwks has no x5c
    {"mcp-server": ResourceServerMTLS("client_secret_basic")},
    {"mcp-server": ResourceServerMTLS(sender_constraint="bearer")},
])
def test_resource_server_mtls_settings_checked_at_start_up(keys: Keys, settings: dict) -> None:
    with pytest.raises(ConfigurationError):
        make_config(keys, mtls=_mtls(resource_servers=settings))


@pytest.mark.requirement("HP-MTLS-14")
def test_from_files_fails_at_start_up(tmp_path) -> None:
    with pytest.raises(ConfigurationError):
        MTLSConfig.from_files([tmp_path / "missing.pem"])
    (tmp_path / "root.pem").write_bytes(ANCHORS.certificates[0].public_bytes(Encoding.PEM))
    with pytest.raises(ConfigurationError):
        MTLSConfig.from_files([tmp_path / "root.pem"], trusted_proxies=["not-an-address"], header_format="rfc9440")
    config = MTLSConfig.from_files([tmp_path / "root.pem"], trusted_proxies=["127.0.0.1"], header_format="rfc9440")
    assert config.trust_anchors == ANCHORS and config.source.header_format == "rfc9440"


@pytest.mark.requirement("HP-MTLS-19", "HP-MTLS-21")
def test_sqlite_keeps_the_registration_and_the_binding(tmp_path, keys: Keys) -> None:
    store = SQLiteASStore(tmp_path / "as.db")
    metadata = agent_metadata(keys, token_endpoint_auth_method="tls_client_auth", sender_constraint="mtls",
                              tls_client_auth=PKI_SUBJECT)
    store.add_client(ClientRecord("tls-1", metadata, "0" * 64, 0.0), statement_jti=None, statement_exp=0)
    assert store.get_client("tls-1").metadata == metadata
    record = TokenRecord(token_hash="h" * 64, kind="access", client_id="tls-1", subject="u", scopes=("a",),
                         audience="https://mcp.example/mcp", jkt=None, issued_at=0.0, expires_at=10.0, grant_id="g",
                         x5t="x" * 43)
    assert store.put_tokens([record]) and store.get_token("h" * 64) == record


@pytest.mark.requirement("HP-MTLS-24")
def test_dpop_resource_server_exchanges_a_certificate_bound_token(keys: Keys) -> None:
    """The MCP server binds the exchanged token to its DPoP key; the agent's certificate stays in ``act.act``."""
    from hardened.core.access_token import token_hash
    from hardened.core.token_exchange import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE
    from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, KeySet, Typ, verify_jwt
    from tests.server.world import MCP, UPSTREAM

    world = World(keys, mtls=_mtls())
    now = world.clock.now()
    world.store.put_tokens([TokenRecord(
        token_hash=token_hash("subject-token"), kind="access", client_id="dn-agent", subject="user-alice",
        scopes=("trades:read",), audience=MCP, jkt=None, issued_at=now, expires_at=now + 300, grant_id="g",
        x5t="x" * 43)])
    r = world.http.post("/token", data={
        "grant_type": TOKEN_EXCHANGE, "subject_token": "subject-token", "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": UPSTREAM, **world.rs_auth()}, headers=world.proof("/token", world.keys.rs_dpop))
    assert r.status_code == 200, r.text
    policy = JWTPolicy(jws=JWSPolicy(typ=Typ.ACCESS_TOKEN), claims=ClaimsPolicy(issuer=ISSUER, audience=UPSTREAM))
    at = verify_jwt(r.json()["access_token"], policy=policy, keys=KeySet.from_jwks(world.http.get("/jwks").json()),
                    now=now).claims
    assert at["cnf"] == {"jkt": keys.rs_dpop.thumbprint}
    assert at["act"] == {"sub": "mcp-server", "act": {"sub": "dn-agent", "cnf": {"x5t#S256": "x" * 43}}}
