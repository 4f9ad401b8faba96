"""Adversarial review of the layer: what must stay closed when the app behind it does not check again."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from hardened.mcp.auth import HardenedMCPMiddleware
from tests.mcp.conftest import HOST, Signer, make_guard, make_policy

ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


class BareApp:
    """Any ASGI app behind the layer, without the SDK's ``ToolAccess``: records what reaches it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:
        message = await receive()
        self.bodies.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ran"})


def post(app, body: bytes, token: str = "tok") -> httpx.Response:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://" + HOST) as client:
            return await client.post("/mcp", content=body, headers={**ACCEPT, "Authorization": f"Bearer {token}"})
    return asyncio.run(main())


@pytest.mark.requirement("HP-MCP-08")
@pytest.mark.parametrize("name", ["admin-tool", "List-Trades", "list-trades ", ""])
def test_a_tool_the_policy_does_not_name_is_refused_at_the_layer(signer: Signer, clock, name) -> None:
    signer.issue("tok", scope="trades:read trades:write", tier="baseline")
    policy = make_policy()
    inner = BareApp()
    app = HardenedMCPMiddleware(inner, guard=make_guard(signer, clock, policy))
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}}).encode()
    r = post(app, body)
    assert r.status_code == 403 and 'error="insufficient_scope"' in r.headers["www-authenticate"]
    assert inner.bodies == []
    ok = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list-trades"}}).encode()
    assert post(app, ok).status_code == 200 and inner.bodies == [ok]


@pytest.mark.requirement("HP-MCP-11")
def test_a_session_whose_binding_the_layer_no_longer_holds_is_not_taken_over(signer: Signer, clock) -> None:
    """Mallory opens sessions until Alice's binding is evicted; Alice's session id must not then work for her."""
    from hardened.mcp.server import build_app
    from tests.mcp.conftest import RecordingUpstream, mcp_client

    signer.issue("alice-tok", sub="alice")
    signer.issue("mallory-tok", sub="mallory")
    policy = make_policy()
    app = build_app(policy, make_guard(signer, clock, policy), RecordingUpstream(), json_response=True)
    app._max_sessions = 1
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    base = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}

    async def main():
        async with mcp_client(app) as c:
            alice = {**base, "Authorization": "Bearer alice-tok"}
            r = await c.post("/mcp", json=init, headers=alice)
            alice_session = r.headers["mcp-session-id"]
            mallory = {**base, "Authorization": "Bearer mallory-tok"}
            await c.post("/mcp", json=init, headers=mallory)  # evicts Alice's binding
            hijack = {**mallory, "mcp-session-id": alice_session}
            return await c.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=hijack)

    assert asyncio.run(main()).status_code == 404


@pytest.mark.requirement("HP-MCP-04")
def test_a_guard_is_never_wired_to_an_introspector_checking_another_audience(signer: Signer, clock) -> None:
    """A shared introspector (and its cache) would accept here the tokens of another MCP server."""
    from hardened.errors import ConfigurationError
    from hardened.mcp.guard import ResourceGuard
    from tests.mcp.conftest import make_introspector

    other = make_policy(resource="http://127.0.0.1:9001/other-mcp")
    with pytest.raises(ConfigurationError, match="another resource"):
        ResourceGuard(other, make_introspector(signer, clock), clock=clock)
    ResourceGuard(make_policy(), make_introspector(signer, clock), clock=clock)  # its own audience: fine


@pytest.mark.requirement("HP-MCP-14")
def test_the_upstream_api_never_defaults_to_accepting_any_client() -> None:
    """An empty allow-list accepted an at+jwt issued straight to the agent: the MCP server was bypassed."""
    from hardened.errors import ConfigurationError
    from hardened.mcp.upstream_token import UpstreamTokenPolicy

    with pytest.raises(ConfigurationError, match="clients"):
        UpstreamTokenPolicy(issuer="http://127.0.0.1:9000", audience="http://127.0.0.1:9002")
    assert UpstreamTokenPolicy(issuer="http://127.0.0.1:9000", audience="http://127.0.0.1:9002",
                               clients=frozenset({"mcp-server"})).clients == {"mcp-server"}
