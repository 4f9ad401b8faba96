"""The token endpoint: PKCE, code lifetime and single use, reuse revocation, private_key_jwt, DPoP, refresh."""

from __future__ import annotations

import pytest

from hardened.core.access_token import token_hash
from hardened.jose import Typ
from tests.server.world import ISSUER, World


def _error(r) -> str:
    return r.json()["error"]


@pytest.mark.requirement("HP-TOK-01")
def test_wrong_or_missing_code_verifier_refused(world: World) -> None:
    r = world.token(world.code(), verifier="w" * 43)
    assert r.status_code == 400 and _error(r) == "invalid_grant"
    r = world.token(world.code(), verifier=None)
    assert r.status_code == 400 and _error(r) == "invalid_grant"


@pytest.mark.requirement("HP-TOK-02")
def test_code_expires_after_60s(world: World) -> None:
    code = world.code()
    world.clock.advance(60)
    r = world.token(code)
    assert r.status_code == 400 and _error(r) == "invalid_grant"


@pytest.mark.requirement("HP-TOK-02")
def test_code_lifetime_over_60s_refused_at_configuration(keys) -> None:
    from hardened.errors import ConfigurationError
    from tests.server.world import make_config
    with pytest.raises(ConfigurationError):
        make_config(keys, code_lifetime=61)


@pytest.mark.requirement("HP-TOK-03", "HP-TOK-02")
def test_reused_code_revokes_what_it_issued(world: World) -> None:
    code = world.code()
    first = world.token(code).json()
    r = world.token(code)
    assert r.status_code == 400 and _error(r) == "invalid_grant"
    assert world.introspect(first["access_token"]).json() == {"active": False}
    assert world.store.get_token(token_hash(first["refresh_token"])).revoked


@pytest.mark.requirement("HP-TOK-12")
def test_redirect_uri_must_match_and_code_bound_to_client(world: World) -> None:
    r = world.token(world.code(), redirect_uri="https://agent.example/other")
    assert r.status_code == 400 and _error(r) == "invalid_grant"
    r = world.token(world.code(), auth={"client_id": "public-1"}, proof=False)
    assert r.status_code == 400 and _error(r) == "invalid_grant"


@pytest.mark.requirement("HP-TOK-04")
@pytest.mark.parametrize("aud", [ISSUER + "/token", ISSUER + "/", [ISSUER], "https://other.example"])
def test_assertion_audience_exactly_the_issuer(world: World, aud) -> None:
    r = world.token(world.code(), auth=world.auth(extra={"aud": aud}))
    assert r.status_code == 401 and _error(r) == "invalid_client"


@pytest.mark.requirement("HP-TOK-05")
def test_assertion_jti_single_use(world: World) -> None:
    auth = world.auth(jti="fixed-jti")
    assert world.token(world.code(), auth=auth).status_code == 200
    r = world.token(world.code(), auth=auth)
    assert r.status_code == 401 and _error(r) == "invalid_client"


@pytest.mark.requirement("HP-TOK-06")
@pytest.mark.parametrize("typ", [Typ.DPOP, Typ.ACCESS_TOKEN, Typ.SOFTWARE_STATEMENT, "secevent+jwt"])
def test_assertion_of_another_kind_refused(world: World, typ) -> None:
    r = world.token(world.code(), auth=world.auth(typ=typ))
    assert r.status_code == 401 and _error(r) == "invalid_client"


@pytest.mark.requirement("HP-TOK-06")
@pytest.mark.parametrize("typ", [Typ.CLIENT_ASSERTION, "JWT", None])
def test_assertion_typ_explicit_generic_or_absent_accepted(world: World, typ) -> None:
    assert world.token(world.code(), auth=world.auth(typ=typ)).status_code == 200


@pytest.mark.requirement("HP-TOK-07")
@pytest.mark.parametrize("extra", [{"iss": "agent-2"}, {"sub": "agent-2"}, {"exp": None}, {"jti": None},
                                   {"iat": 1_767_225_600 - 120}, {"iat": 1_767_225_600 + 30},
                                   {"exp": 1_767_225_600 - 1}])
def test_assertion_claims_checked(world: World, extra) -> None:
    auth = world.auth(extra=extra)
    if None in extra.values():
        from hardened.client.assertion import build_client_assertion
        claims = {"iss": "agent-1", "sub": "agent-1", "aud": ISSUER, "iat": int(world.clock.now()),
                  "exp": int(world.clock.now()) + 60, "jti": "j"}
        claims = {k: v for k, v in {**claims, **extra}.items() if v is not None}
        auth["client_assertion"] = world.keys.agent.sign_jws(claims, typ=Typ.CLIENT_ASSERTION)
        assert build_client_assertion  # the helper always sets every claim; this test removes some
    r = world.token(world.code(), auth=auth)
    assert r.status_code == 401 and _error(r) == "invalid_client"


@pytest.mark.requirement("HP-TOK-08", "HP-DCR-05")
def test_dpop_client_needs_proof_and_the_bound_key(world: World) -> None:
    r = world.token(world.code(), proof=False)
    assert r.status_code == 400 and _error(r) == "invalid_dpop_proof"
    r = world.token(world.code(), dpop_key=world.keys.rs_dpop)
    assert r.status_code == 400 and _error(r) == "invalid_grant"


@pytest.mark.requirement("HP-TOK-10")
def test_access_token_opaque_256_bit_stored_by_hash(world: World) -> None:
    tokens = world.tokens()
    access = tokens["access_token"]
    assert len(access) == 43 and access.count(".") == 0
    record = world.store.get_token(token_hash(access))
    assert record.subject == "user-alice" and record.client_id == "agent-1" and record.scopes == ("trades:read",)
    assert record.audience == "https://mcp.example/mcp" and record.jkt == world.keys.agent_dpop.thumbprint
    assert record.claims == {"role": "trader", "tenant": "acme", "country": "DE"}
    assert record.expires_at - record.issued_at == world.config.access_token_lifetime
    assert access not in repr(world.store._tokens)


@pytest.mark.requirement("HP-TOK-11")
def test_token_responses_not_cacheable(world: World) -> None:
    r = world.token(world.code())
    assert r.headers["cache-control"] == "no-store"
    r = world.token("nope")
    assert r.headers["cache-control"] == "no-store" and r.status_code == 400


def _refresh(world: World, refresh: str, *, key=None, auth=None, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh, **(auth or world.auth()), **extra}
    return world.http.post("/token", data=data, headers=world.proof("/token", key))


@pytest.mark.requirement("HP-TOK-09")
def test_refresh_bound_to_client_and_key_without_rotation(world: World) -> None:
    refresh = world.tokens()["refresh_token"]
    r = _refresh(world, refresh)
    assert r.status_code == 200 and "refresh_token" not in r.json() and r.json()["token_type"] == "DPoP"
    assert _refresh(world, refresh).status_code == 200  # not rotated: still valid
    r = _refresh(world, refresh, key=world.keys.rs_dpop)
    assert r.status_code == 400 and _error(r) == "invalid_grant"
    r = _refresh(world, refresh, auth=world.rs_auth())
    assert r.status_code == 400 and _error(r) == "unauthorized_client"
    r = _refresh(world, refresh, scope="trades:write")
    assert r.status_code == 400 and _error(r) == "invalid_scope"


def test_unknown_grant_type(world: World) -> None:
    r = world.http.post("/token", data={"grant_type": "password", **world.auth()})
    assert r.status_code == 400 and _error(r) == "unsupported_grant_type"


def test_baseline_public_client_flow_with_bearer_and_rotation(world: World) -> None:
    from hardened.core.pkce import code_challenge_of
    verifier = "p" * 50
    params = {"client_id": "public-1", "response_type": "code", "redirect_uri": "http://127.0.0.1:5555/cb",
              "code_challenge": code_challenge_of(verifier), "code_challenge_method": "S256",
              "resource": "https://mcp.example/mcp", "scope": "tools:read"}
    code = world.login_and_consent(params)["code"][0]
    r = world.http.post("/token", data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                                        "redirect_uri": "http://127.0.0.1:5555/cb", "client_id": "public-1"})
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer"
    info = world.introspect(r.json()["access_token"]).json()
    assert info["tier"] == "baseline" and info["token_type"] == "Bearer" and "cnf" not in info
    refresh = r.json()["refresh_token"]
    r = world.http.post("/token", data={"grant_type": "refresh_token", "refresh_token": refresh,
                                        "client_id": "public-1"})
    assert r.status_code == 200 and r.json()["refresh_token"] != refresh
    r = world.http.post("/token", data={"grant_type": "refresh_token", "refresh_token": refresh,
                                        "client_id": "public-1"})
    assert r.status_code == 400
