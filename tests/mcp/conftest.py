"""Fixtures for the MCP layer: a small real introspection signer (RFC 9701) and an in-process MCP app."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Form
from starlette.responses import JSONResponse, Response

from hardened.adapters.memory import MemoryReplayCache
from hardened.clock import FixedClock
from hardened.core.dpop_nonce import NonceSource
from hardened.jose import SigningKey, Typ
from hardened.mcp.binding import dpop_proof_check
from hardened.mcp.discovery import JWKSSource
from hardened.mcp.guard import ResourceGuard
from hardened.mcp.introspection import IntrospectionPolicy, Introspector
from hardened.mcp.policy import ResourcePolicy
from hardened.mcp.server import TRADE_TOOLS, build_app

ISSUER = "http://127.0.0.1:9000"
RESOURCE = "http://127.0.0.1:9001/mcp"
RS_CLIENT_ID = "mcp-server"
HOST = "127.0.0.1:9001"


class Signer:
    """A small real RFC 9701 signer: tokens registered by tests, answered as signed introspection JWTs."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.key = SigningKey.generate("ES256")
        self.tokens: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.audience = RS_CLIENT_ID
        self.typ = Typ.INTROSPECTION
        self.issuer = ISSUER
        self.app = FastAPI()
        self.app.post("/introspect")(self._introspect)
        self.app.get("/jwks")(lambda: JSONResponse({"keys": [self.key.public_key.public_jwk()]}))

    def issue(self, token: str, **info: Any) -> str:
        now = self.clock.now()
        base = {"active": True, "client_id": "agent-1", "scope": "trades:read", "exp": now + 300,
                "iat": now, "aud": RESOURCE, "iss": ISSUER, "sub": "alice", "tier": "baseline"}
        self.tokens[hashlib.sha256(token.encode()).hexdigest()] = {**base, **info}
        return token

    def revoke(self, token: str) -> None:
        self.tokens[hashlib.sha256(token.encode()).hexdigest()]["active"] = False

    def sign(self, info: dict[str, Any], **over: Any) -> str:
        claims = {"iss": self.issuer, "aud": self.audience, "iat": int(self.clock.now()), "token_introspection": info}
        claims.update(over)
        return self.key.sign_jws(claims, typ=self.typ)

    async def _introspect(self, token: str = Form(...)) -> Response:
        self.calls += 1
        info = self.tokens.get(hashlib.sha256(token.encode()).hexdigest(), {"active": False})
        return Response(self.sign(info), media_type="application/token-introspection+jwt")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def signer(clock: FixedClock) -> Signer:
    return Signer(clock)


def make_policy(**over: Any) -> ResourcePolicy:
    return ResourcePolicy(**{"resource": RESOURCE, "authorization_servers": (ISSUER,), "tools": TRADE_TOOLS, **over})


def make_introspector(signer: Signer, clock: FixedClock, **over: Any) -> Introspector:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=signer.app), base_url=ISSUER)
    return Introspector(
        endpoint=ISSUER + "/introspect",
        policy=IntrospectionPolicy(issuer=ISSUER, audience=RS_CLIENT_ID, resource=RESOURCE),
        keys=JWKSSource(http, ISSUER + "/jwks", clock=clock), http=http,
        client_auth=lambda endpoint: {"client_id": RS_CLIENT_ID}, clock=clock, **over)


class RecordingUpstream:
    """Upstream stand-in for layer tests: answers from memory and records who called (the real one is e2e)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    async def list_trades(self, caller, *, symbol):
        self.calls.append(("list", caller.subject))
        return [{"id": "t1", "symbol": symbol or "ACME"}]

    async def place_trade(self, caller, order):
        self.calls.append(("place", caller.subject))
        return {"id": "t2", **order}


@asynccontextmanager
async def mcp_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the wrapped SDK app, with the SDK's lifespan (session manager) running."""
    inner = app.app
    async with inner.router.lifespan_context(inner):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://" + HOST) as client:
            yield client


def make_guard(signer: Signer, clock: FixedClock, policy: ResourcePolicy, *, nonces: NonceSource | None = None,
               **over: Any) -> ResourceGuard:
    check = dpop_proof_check(policy.origin, replay=MemoryReplayCache(), clock=clock, algorithms=policy.dpop_algs,
                             nonces=nonces, nonce_required=policy.require_dpop_nonce)
    return ResourceGuard(policy, make_introspector(signer, clock, **over), proof_check=check, clock=clock)


def make_stack(signer: Signer, clock: FixedClock, **policy_over: Any):
    policy = make_policy(**policy_over)
    nonces = NonceSource(b"n" * 32, policy.resource) if policy.require_dpop_nonce else None
    guard = make_guard(signer, clock, policy, nonces=nonces)
    upstream = RecordingUpstream()
    return policy, guard, upstream, build_app(policy, guard, upstream, json_response=True)


@pytest.fixture
def stack(signer: Signer, clock: FixedClock):
    return make_stack(signer, clock)
