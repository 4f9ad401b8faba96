"""The whole authorization flow in-process: PAR with DPoP, authorize, login, consent, token, introspect, exchange."""

from __future__ import annotations

import pytest

from hardened.core.token_exchange import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE
from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, KeySet, Typ, verify_jwt
from tests.server.world import ISSUER, MCP, UPSTREAM, World


def _introspection(world: World, token: str) -> dict:
    r = world.introspect(token, jwt=True)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/token-introspection+jwt")
    policy = JWTPolicy(jws=JWSPolicy(typ=Typ.INTROSPECTION),
                       claims=ClaimsPolicy(issuer=ISSUER, audience="mcp-server", require_exp=False))
    keys = KeySet.from_jwks(world.http.get("/jwks").json())
    return verify_jwt(r.text, policy=policy, keys=keys, now=world.clock.now()).claims["token_introspection"]


@pytest.mark.requirement("HP-TOK-08", "HP-AS-13", "HP-TE-04")
def test_full_flow_in_process(world: World) -> None:
    tokens = world.tokens()
    assert tokens["token_type"] == "DPoP" and tokens["scope"] == "trades:read" and "refresh_token" in tokens
    info = _introspection(world, tokens["access_token"])
    assert info["active"] is True and info["cnf"] == {"jkt": world.keys.agent_dpop.thumbprint}
    assert info["aud"] == MCP and info["sub"] == "user-alice" and info["role"] == "trader"
    assert info["tier"] == "hardened"
    r = world.http.post("/token", data={
        "grant_type": TOKEN_EXCHANGE, "subject_token": tokens["access_token"], "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": UPSTREAM, **world.rs_auth()}, headers=world.proof("/token", world.keys.rs_dpop))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE and body["token_type"] == "DPoP"
    policy = JWTPolicy(jws=JWSPolicy(typ=Typ.ACCESS_TOKEN), claims=ClaimsPolicy(issuer=ISSUER, audience=UPSTREAM))
    at = verify_jwt(body["access_token"], policy=policy, keys=KeySet.from_jwks(world.http.get("/jwks").json()),
                    now=world.clock.now()).claims
    assert at["act"] == {"sub": "mcp-server"} and at["cnf"] == {"jkt": world.keys.rs_dpop.thumbprint}
    assert at["sub"] == "user-alice" and at["scope"] == "trades:read"
