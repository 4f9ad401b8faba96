"""The upstream trades API over HTTP (in-process): token, DPoP binding, scope, user claims (HP-MCP-14, HP-MCP-15)."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest

from hardened.adapters.memory import MemoryReplayCache
from hardened.clock import FixedClock
from hardened.core.dpop import build_dpop_proof
from hardened.jose import KeySet, SigningKey, Typ
from hardened.mcp.binding import dpop_proof_check
from hardened.mcp.trades import TradeStore
from hardened.mcp.upstream import UpstreamConfig, build_upstream_app
from hardened.mcp.upstream_token import UpstreamTokenPolicy

ISSUER, API = "http://127.0.0.1:9000", "http://127.0.0.1:9003"
AS_KEY, SERVER_KEY = SigningKey.generate("ES256"), SigningKey.generate("ES256")
_jti = itertools.count()


@pytest.fixture
def api(tmp_path):
    clock = FixedClock()
    store = TradeStore(tmp_path / "trades.db")
    store.seed(clock.now())

    async def keys() -> KeySet:
        return KeySet([AS_KEY.public_key])

    config = UpstreamConfig(
        url=API, store=store, keys=keys, clock=clock,
        token_policy=UpstreamTokenPolicy(issuer=ISSUER, audience=API, clients=frozenset({"mcp-server"})),
        proof_check=dpop_proof_check(API, replay=MemoryReplayCache(), clock=clock, algorithms=("ES256",)))
    return build_upstream_app(config), clock


def at(clock, **over) -> str:
    claims = {"iss": ISSUER, "aud": API, "exp": clock.now() + 120, "iat": clock.now(), "sub": "user-alice",
              "client_id": "mcp-server", "jti": f"at-{next(_jti)}", "scope": "trades:read",
              "cnf": {"jkt": SERVER_KEY.public_key.thumbprint}, "act": {"sub": "mcp-server"},
              "tenant": "acme", "country": "GB", "role": "trader", **over}
    return AS_KEY.sign_jws({k: v for k, v in claims.items() if v is not None}, typ=Typ.ACCESS_TOKEN)


def headers(clock, token, method="GET", path="/trades", key=SERVER_KEY, scheme="DPoP") -> dict[str, str]:
    proof = build_dpop_proof(key, htm=method, htu=API + path, iat=clock.now(), jti=f"p-{next(_jti)}",
                             access_token=token)
    return {"Authorization": f"{scheme} {token}", "DPoP": proof}


def call(app, method, path, hdrs, **kw) -> httpx.Response:
    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=API) as client:
            return await client.request(method, path, headers=hdrs, **kw)
    return asyncio.run(main())


@pytest.mark.requirement("HP-MCP-14")
@pytest.mark.requirement("HP-MCP-15")
def test_read_with_a_bound_exchanged_token(api) -> None:
    app, clock = api
    token = at(clock)
    r = call(app, "GET", "/trades?symbol=VOD.L", headers(clock, token))
    assert r.status_code == 200, r.text
    assert [(t["trader"], t["symbol"]) for t in r.json()["trades"]] == [("user-alice", "VOD.L")]


@pytest.mark.requirement("HP-MCP-15")
def test_write_needs_scope_and_role_and_lands_in_the_users_tenant(api) -> None:
    app, clock = api
    order = {"symbol": "VOD.L", "side": "buy", "quantity": 5, "price": 70.0}
    read_only = at(clock)
    r = call(app, "POST", "/trades", headers(clock, read_only, "POST"), json=order)
    assert r.status_code == 403 and 'error="insufficient_scope"' in r.headers["www-authenticate"]
    viewer = at(clock, scope="trades:read trades:write", role="viewer")
    assert call(app, "POST", "/trades", headers(clock, viewer, "POST"), json=order).status_code == 403
    trader = at(clock, scope="trades:read trades:write")
    r = call(app, "POST", "/trades", headers(clock, trader, "POST"), json=order)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["trade"]["tenant"] == "acme" and body["trade"]["trader"] == "user-alice"
    assert body["actor"] == "mcp-server"


@pytest.mark.requirement("HP-MCP-14")
@pytest.mark.parametrize("case", ["no token", "bearer", "no proof", "other key", "replayed proof", "wrong aud",
                                  "agent token", "no user claims", "two tokens"])
def test_refusals(api, case) -> None:
    app, clock = api
    token = at(clock)
    h = headers(clock, token)
    if case == "no token":
        h = {}
    elif case == "bearer":
        h = {"Authorization": f"Bearer {token}"}
    elif case == "no proof":
        h = {"Authorization": f"DPoP {token}"}
    elif case == "other key":
        h = headers(clock, token, key=SigningKey.generate("ES256"))
    elif case == "replayed proof":
        assert call(app, "GET", "/trades", h).status_code == 200
    elif case == "wrong aud":
        h = headers(clock, at(clock, aud="http://127.0.0.1:9001/mcp"))
    elif case == "agent token":  # an agent's own token: not from an allowed client
        h = headers(clock, at(clock, client_id="agent-1"))
    elif case == "no user claims":
        h = headers(clock, at(clock, tenant=None))
    elif case == "two tokens":
        h = [("Authorization", f"DPoP {token}"), ("Authorization", f"DPoP {token}"), ("DPoP", h["DPoP"])]
    r = call(app, "GET", "/trades", h)
    assert r.status_code in (401, 403), (case, r.status_code, r.text)
    assert "trades" not in r.text
