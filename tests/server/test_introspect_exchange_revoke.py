"""Introspection (RFC 7662/9701), token exchange (RFC 8693) and revocation (RFC 7009)."""

from __future__ import annotations

import pytest

from hardened.core.token_exchange import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE
from tests.server.world import UPSTREAM, World


def _error(r) -> str:
    return r.json()["error"]


@pytest.mark.requirement("HP-AS-12")
def test_introspection_needs_an_authenticated_resource_server(world: World) -> None:
    access = world.tokens()["access_token"]
    r = world.http.post("/introspect", data={"token": access, **world.auth()})  # the agent, not a resource server
    assert r.status_code == 401 and _error(r) == "invalid_client"
    r = world.http.post("/introspect", data={"token": access, "client_id": "mcp-server"})
    assert r.status_code == 401 and _error(r) == "invalid_client"


@pytest.mark.requirement("HP-AS-14")
def test_other_audience_and_inactive_tokens_are_exactly_active_false(world: World) -> None:
    tokens = world.tokens()
    other = world.introspect(tokens["access_token"], auth=world.auth("other-rs", world.keys.other_rs))
    assert other.json() == {"active": False}
    assert world.introspect("unknown-token").json() == {"active": False}
    assert world.introspect(tokens["refresh_token"]).json() == {"active": False}
    world.clock.advance(world.config.access_token_lifetime)
    assert world.introspect(tokens["access_token"]).json() == {"active": False}


@pytest.mark.requirement("HP-AS-13")
def test_signed_introspection_of_inactive_token_holds_only_active_false(world: World) -> None:
    from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, KeySet, Typ, verify_jwt
    r = world.introspect("unknown", jwt=True)
    policy = JWTPolicy(jws=JWSPolicy(typ=Typ.INTROSPECTION), claims=ClaimsPolicy(require_exp=False))
    claims = verify_jwt(r.text, policy=policy, keys=KeySet([world.keys.as_key.public_key]), now=world.clock.now())
    assert claims.claims["token_introspection"] == {"active": False} and claims.claims["aud"] == "mcp-server"


def _exchange(world: World, subject: str, *, key=None, auth=None, **changes):
    data = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject, "subject_token_type": ACCESS_TOKEN_TYPE,
            "audience": UPSTREAM, **(auth or world.rs_auth()), **changes}
    headers = world.proof("/token", key or world.keys.rs_dpop) if key is not False else {}
    return world.http.post("/token", data={k: v for k, v in data.items() if v is not None}, headers=headers)


@pytest.mark.requirement("HP-TE-01")
def test_exchange_only_for_resource_server_with_its_audience(world: World) -> None:
    access = world.tokens()["access_token"]
    r = _exchange(world, access, auth=world.auth(), key=world.keys.agent_dpop)
    assert r.status_code == 400 and _error(r) == "unauthorized_client"
    r = _exchange(world, access, auth=world.auth("other-rs", world.keys.other_rs))
    assert r.status_code == 400 and _error(r) == "invalid_target"  # other-rs has no upstreams
    r = _exchange(world, "not-a-token")
    assert r.status_code == 400 and _error(r) == "invalid_grant"


@pytest.mark.requirement("HP-TE-02")
@pytest.mark.parametrize("changes", [{"audience": "https://evil.example"}, {"audience": None},
                                     {"resource": UPSTREAM}])
def test_exchange_audience_allow_listed(world: World, changes) -> None:
    r = _exchange(world, world.tokens()["access_token"], **changes)
    assert r.status_code == 400 and _error(r) == "invalid_target"


@pytest.mark.requirement("HP-TE-03")
def test_exchange_scope_narrowed(world: World) -> None:
    r = _exchange(world, world.tokens()["access_token"], scope="trades:write")
    assert r.status_code == 400 and _error(r) == "invalid_scope"
    r = _exchange(world, world.tokens()["access_token"], scope="trades:read")
    assert r.status_code == 200 and r.json()["scope"] == "trades:read"


@pytest.mark.requirement("HP-TE-04")
def test_exchange_needs_the_resource_servers_dpop_proof(world: World) -> None:
    r = _exchange(world, world.tokens()["access_token"], key=False)
    assert r.status_code == 400 and _error(r) == "invalid_dpop_proof"


@pytest.mark.requirement("HP-TE-05")
@pytest.mark.parametrize("changes", [{"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"},
                                     {"actor_token": "x", "actor_token_type": ACCESS_TOKEN_TYPE},
                                     {"requested_token_type": "urn:ietf:params:oauth:token-type:saml2"},
                                     {"subject_token_type": None}])
def test_exchange_malformed_parameters(world: World, changes) -> None:
    r = _exchange(world, world.tokens()["access_token"], **changes)
    assert r.status_code == 400 and _error(r) == "invalid_request"


@pytest.mark.requirement("HP-AS-15")
def test_revocation(world: World) -> None:
    tokens = world.tokens()
    r = world.http.post("/revoke", data={"token": tokens["access_token"], **world.rs_auth()})
    assert r.status_code == 200  # another client's token: 200, but nothing happens
    assert world.introspect(tokens["access_token"]).json()["active"] is True
    r = world.http.post("/revoke", data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token",
                                         **world.auth()})
    assert r.status_code == 200
    assert world.introspect(tokens["access_token"]).json() == {"active": False}
    assert world.http.post("/revoke", data={"token": "unknown", **world.auth()}).status_code == 200
    r = world.http.post("/revoke", data={"token": "x", "token_type_hint": "id_token", **world.auth()})
    assert r.status_code == 400 and _error(r) == "unsupported_token_type"
    r = world.http.post("/revoke", data={"token": "x"})
    assert r.status_code == 401
