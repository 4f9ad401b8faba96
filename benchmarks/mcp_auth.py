"""What the hardened layer costs an MCP server: ``tools/list`` per second with and without it (issue 6).

Both servers are the reference MCP server on the official SDK (stateless Streamable HTTP, JSON responses), driven
in-process through ``httpx.ASGITransport`` with the same client, in one run:

- plain: the SDK app alone, no authorization at all;
- auth: the same app behind ``HardenedMCPMiddleware``: Host/Origin, credentials, the introspection cache (warm:
  the token was introspected once before timing, against a real signed RFC 9701 answer), the DPoP proof (one
  ES256 verify, ``ath``, ``jkt``, replay insert), body parse and the tool filter. Proofs are signed before timing,
  so the client's signing is not counted.

Both sides get the same requests (token and a fresh DPoP proof in each; the plain server ignores them), so the
client's work is the same on both sides. Chunks of plain requests, auth requests, raw ``cryptography`` ES256
verifies, and the same two servers called directly as ASGI apps (no HTTP client: less noise) alternate, in a
rotating order, after a ``gc.collect()``. Each figure is the best chunk of its kind (the least disturbed, on a
shared machine); medians are printed too. The added cost per request, in raw verifies, is

    (1/rps_auth - 1/rps_plain) / raw_verify_seconds

with rps = 1 / (seconds per request of the best chunk) and raw_verify_seconds the best chunk of raw verifies of
the same run. ``figure: mcp_asgi_auth_cost_per_verify`` is the same ratio for the direct ASGI calls.
Usage: ``python benchmarks/mcp_auth.py [--rounds 25] [--chunk 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import hashlib
import logging
import statistics
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Form
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse, Response

from hardened.adapters.memory import MemoryReplayCache
from hardened.clock import SystemClock
from hardened.core.dpop import build_dpop_proof
from hardened.jose import SigningKey, Typ
from hardened.mcp.auth import HardenedMCPMiddleware
from hardened.mcp.binding import dpop_proof_check
from hardened.mcp.discovery import JWKSSource
from hardened.mcp.guard import ResourceGuard
from hardened.mcp.introspection import IntrospectionPolicy, Introspector
from hardened.mcp.policy import ResourcePolicy
from hardened.mcp.server import TRADE_TOOLS, build_app, build_mcp_server

ISSUER, ORIGIN = "http://127.0.0.1:9000", "http://127.0.0.1:9001"
RESOURCE = ORIGIN + "/mcp"
TOKEN = "pQ4Yq0m0oBq8wO1xgk3T3c9h6WZr3m8bqW2sQ1nVdYs"
BODY = b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
           "MCP-Protocol-Version": "2025-11-25"}


class _NoUpstream:
    async def list_trades(self, caller: Any, *, symbol: str | None) -> list[dict[str, Any]]:
        return []

    async def place_trade(self, caller: Any, order: Any) -> dict[str, Any]:
        return {}


def _signer(agent: SigningKey) -> FastAPI:
    """A real RFC 9701 signer answering for the one benchmark token."""
    key, app = SigningKey.generate("ES256"), FastAPI()

    @app.post("/introspect")
    async def introspect(token: str = Form(...)) -> Response:
        now = int(time.time())
        active = hashlib.sha256(token.encode()).digest() == hashlib.sha256(TOKEN.encode()).digest()
        info = {"active": active, "client_id": "agent", "scope": "trades:read", "exp": now + 3600, "aud": RESOURCE,
                "sub": "alice", "cnf": {"jkt": agent.public_key.thumbprint}, "tier": "hardened"}
        jwt = key.sign_jws({"iss": ISSUER, "aud": "mcp-server", "iat": now, "token_introspection": info},
                           typ=Typ.INTROSPECTION)
        return Response(jwt, media_type="application/token-introspection+jwt")

    app.get("/jwks")(lambda: JSONResponse({"keys": [key.public_key.public_jwk()]}))
    return app


def _apps(agent: SigningKey) -> tuple[Any, Any]:
    policy = ResourcePolicy(resource=RESOURCE, authorization_servers=(ISSUER,), tools=TRADE_TOOLS)
    clock = SystemClock()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=_signer(agent)), base_url=ISSUER)
    introspector = Introspector(endpoint=ISSUER + "/introspect", http=http, client_auth=lambda e: {}, clock=clock,
                                policy=IntrospectionPolicy(issuer=ISSUER, audience="mcp-server", resource=RESOURCE),
                                keys=JWKSSource(http, ISSUER + "/jwks", clock=clock), max_ttl=3600)
    check = dpop_proof_check(ORIGIN, replay=MemoryReplayCache(max_entries=1_000_000), clock=clock,
                             algorithms=policy.dpop_algs)
    auth = build_app(policy, ResourceGuard(policy, introspector, proof_check=check, clock=clock), _NoUpstream(),
                     json_response=True, stateless=True)
    security = TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=["127.0.0.1:9001"],
                                         allowed_origins=[ORIGIN])
    plain = build_mcp_server(policy, _NoUpstream(), tool_access=False).streamable_http_app(
        streamable_http_path="/mcp", json_response=True, stateless_http=True, transport_security=security)
    return plain, auth


async def _chunk(client: httpx.AsyncClient, headers: list[dict[str, str]]) -> float:
    start = time.perf_counter()
    for h in headers:
        r = await client.post("/mcp", content=BODY, headers=h)
        if r.status_code != 200 or b'"list-trades"' not in r.content:
            raise SystemExit(f"unexpected answer {r.status_code}: {r.text[:200]}")
    return (time.perf_counter() - start) / len(headers)


def _scope(headers: dict[str, str]) -> dict[str, Any]:
    """The ASGI scope uvicorn would build for one ``POST /mcp`` with ``headers``."""
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/mcp", "raw_path": b"/mcp", "query_string": b"", "root_path": "",
            "server": ("127.0.0.1", 9001), "client": ("127.0.0.1", 50000),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]}


async def _asgi_chunk(app: Any, scopes: list[dict[str, Any]]) -> float:
    """Direct ASGI calls (no HTTP client): the server's own time per request."""
    start = time.perf_counter()
    for scope in scopes:
        sent: list[Any] = []
        done = asyncio.Event()
        messages = [{"type": "http.request", "body": BODY, "more_body": False}]

        async def receive(messages: list[Any] = messages, done: asyncio.Event = done) -> dict[str, Any]:
            if messages:
                return messages.pop()
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Any, sent: list[Any] = sent) -> None:
            sent.append(message)

        await app(scope, receive, send)
        done.set()
        if sent[0].get("status") != 200 or b'"list-trades"' not in b"".join(m.get("body", b"") for m in sent[1:]):
            raise SystemExit(f"unexpected ASGI answer {sent[:1]}")
    return (time.perf_counter() - start) / len(scopes)


def _raw_es256(n: int) -> tuple[Any, Any]:
    """A chunk of ``n`` raw ``cryptography`` ES256 verifications (key object and DER signature prepared), and one
    such verify as a stand-in proof check (to see what a verify costs inside the request path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    data, algo = b"x" * 300, ec.ECDSA(hashes.SHA256())
    sig, public = key.sign(data, algo), key.public_key()

    async def chunk() -> float:
        start = time.perf_counter()
        for _ in range(n):
            public.verify(sig, data, algo)
        return (time.perf_counter() - start) / n

    def one_verify(scope: Any, *, access_token: str, jkt: str) -> None:
        public.verify(sig, data, algo)

    return chunk, one_verify


def _with_check(auth: Any, check: Any) -> Any:
    """The same layer and SDK app with another proof check (diagnostics only: never a real configuration)."""
    guard = copy.copy(auth.guard)
    guard.proof_check = check
    return HardenedMCPMiddleware(auth.app, guard=guard)


async def _layer_alone(agent: SigningKey, auth: Any, n: int) -> tuple[float, float]:
    """The layer around a trivial app, and the DPoP check by itself: where the added cost goes (best of 10)."""

    async def trivial(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    layer = HardenedMCPMiddleware(trivial, guard=auth.guard)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: Any) -> None:
        return None

    def scopes(tag: str) -> list[dict[str, Any]]:
        now = time.time()
        return [{"type": "http", "method": "POST", "path": "/mcp", "raw_path": b"/mcp", "query_string": b"",
                 "headers": [(b"host", b"127.0.0.1:9001"), (b"authorization", f"DPoP {TOKEN}".encode()),
                             (b"content-type", b"application/json"), (b"dpop", build_dpop_proof(
                                 agent, htm="POST", htu=RESOURCE, iat=now, jti=f"{tag}{i}",
                                 access_token=TOKEN).encode())]} for i in range(n)]

    best_layer = best_check = float("inf")
    for r in range(10):
        batch = scopes(f"l{r}-")
        start = time.perf_counter()
        for scope in batch:
            await layer(scope, receive, send)
        best_layer = min(best_layer, (time.perf_counter() - start) / n)
        batch, check = scopes(f"c{r}-"), auth.guard.proof_check
        start = time.perf_counter()
        for scope in batch:
            check(scope, access_token=TOKEN, jkt=agent.public_key.thumbprint)
        best_check = min(best_check, (time.perf_counter() - start) / n)
    return best_layer, best_check


def _cost(times: dict[str, list[float]], pick: Any, plain: str, auth: str) -> float:
    """(1/rps_auth - 1/rps_plain) / raw_verify_seconds, each term the ``pick`` (min or median) of its chunks."""
    return (pick(times[auth]) - pick(times[plain])) / pick(times["raw"])


async def main(rounds: int, chunk: int) -> None:
    agent = SigningKey.generate("ES256")
    plain, auth = _apps(agent)
    inner = auth.app
    async with plain.router.lifespan_context(plain), inner.router.lifespan_context(inner):
        clients = {name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN)
                   for name, app in (("plain", plain), ("auth", auth))}
        raw, one_verify = _raw_es256(chunk)
        asgi_apps = {"asgi_plain": plain, "asgi_auth": auth, "asgi_nocheck": _with_check(auth, lambda *a, **k: None),
                     "asgi_rawcheck": _with_check(auth, one_verify)}

        def proofs(n: int) -> list[dict[str, str]]:
            now = time.time()
            return [{**HEADERS, "Authorization": f"DPoP {TOKEN}", "DPoP": build_dpop_proof(
                agent, htm="POST", htu=RESOURCE, iat=now, jti=f"j{time.perf_counter_ns()}-{i}", access_token=TOKEN)}
                for i in range(n)]

        await _chunk(clients["auth"], proofs(5))  # warm: introspection cache, JWKS, key import
        await _chunk(clients["plain"], [HEADERS] * 5)
        names = ["plain", "auth", "raw", "asgi_plain", "asgi_auth", "asgi_nocheck", "asgi_rawcheck"]
        times: dict[str, list[float]] = {name: [] for name in names}
        for i in range(rounds):
            # Signed before timing: the client's cost is not the server's. Both sides get the same requests,
            # token and proof included (the plain server ignores them), so the client's work is the same too.
            batch, direct = proofs(chunk), proofs(chunk)
            scopes = {name: [_scope({"Host": "127.0.0.1:9001", **h}) for h in direct] for name in asgi_apps}
            for name in names[i % len(names):] + names[:i % len(names)]:  # rotating: no kind always follows another
                gc.collect()
                if name == "raw":
                    took = await raw()
                elif name in asgi_apps:
                    took = await _asgi_chunk(asgi_apps[name], scopes[name])
                else:
                    took = await _chunk(clients[name], batch)
                times[name].append(took)
    layer, check = await _layer_alone(agent, auth, chunk)
    best, med = {k: min(v) for k, v in times.items()}, {k: statistics.median(v) for k, v in times.items()}
    verify = best["raw"]
    print(f"breakdown: the layer around a trivial app {layer * 1e6:.0f} us ({layer / verify:.2f} raw verifies), "
          f"of which the DPoP check {check * 1e6:.0f} us ({check / verify:.2f})")
    for label, pick in (("best", best), ("median", med)):
        print(f"{label} of {rounds} chunks of {chunk}: HTTP client plain {pick['plain'] * 1e6:.0f} us/request, "
              f"auth {pick['auth'] * 1e6:.0f}; direct ASGI plain {pick['asgi_plain'] * 1e6:.0f}, "
              f"auth {pick['asgi_auth'] * 1e6:.0f}; raw ES256 verify {pick['raw'] * 1e6:.1f} us")
    nocheck, rawcheck = best["asgi_nocheck"] - best["asgi_plain"], best["asgi_rawcheck"] - best["asgi_nocheck"]
    print(f"in the full app (direct ASGI, best): the layer with a no-op proof check adds {nocheck * 1e6:.0f} us "
          f"({nocheck / verify:.2f} raw verifies); one raw verify as the check adds {rawcheck * 1e6:.0f} us more "
          f"({rawcheck / verify:.2f}); the real DPoP check {(best['asgi_auth'] - best['asgi_nocheck']) * 1e6:.0f} us "
          f"({(best['asgi_auth'] - best['asgi_nocheck']) / verify:.2f})")
    print("added cost per verify = (1/rps_auth - 1/rps_plain) / raw_verify_seconds "
          f"(best: {_cost(times, min, 'plain', 'auth'):.2f}, "
          f"median: {_cost(times, statistics.median, 'plain', 'auth'):.2f}; "
          f"direct ASGI best: {_cost(times, min, 'asgi_plain', 'asgi_auth'):.2f}, "
          f"median: {_cost(times, statistics.median, 'asgi_plain', 'asgi_auth'):.2f})")
    print(f"figure: mcp_asgi_auth_cost_per_verify {_cost(times, min, 'asgi_plain', 'asgi_auth'):.2f}")
    print(f"figure: mcp_rps_plain {1 / best['plain']:.0f}")
    print(f"figure: mcp_rps_auth {1 / best['auth']:.0f}")
    print(f"figure: mcp_auth_cost_per_verify {_cost(times, min, 'plain', 'auth'):.2f}")


if __name__ == "__main__":
    logging.disable(logging.INFO)  # request logs of the SDK and httpx would time the console, not the servers
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--chunk", type=int, default=100)
    ns = parser.parse_args()
    asyncio.run(main(ns.rounds, ns.chunk))
