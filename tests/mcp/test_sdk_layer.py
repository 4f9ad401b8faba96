"""The official SDK client against the layer on real uvicorn servers (bearer, baseline) — both protocol eras."""

from __future__ import annotations

import asyncio

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from hardened.clock import SystemClock
from hardened.mcp.discovery import JWKSSource
from hardened.mcp.guard import ResourceGuard
from hardened.mcp.introspection import IntrospectionPolicy, Introspector
from hardened.mcp.policy import ResourcePolicy
from hardened.mcp.server import TRADE_TOOLS, build_app
from hardened.mcp.servers import RunningServer, reserve
from tests.mcp.conftest import RS_CLIENT_ID, RecordingUpstream, Signer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def servers():
    clock = SystemClock()
    signer = Signer(clock)  # type: ignore[arg-type]
    as_listener, mcp_listener = reserve(), reserve()
    signer.issuer = as_listener.url
    resource = mcp_listener.url + "/mcp"
    policy = ResourcePolicy(resource=resource, authorization_servers=(as_listener.url,), tools=TRADE_TOOLS)
    http = httpx.AsyncClient()
    introspector = Introspector(
        endpoint=as_listener.url + "/introspect", http=http, client_auth=lambda endpoint: {}, clock=clock,
        policy=IntrospectionPolicy(issuer=as_listener.url, audience=RS_CLIENT_ID, resource=resource),
        keys=JWKSSource(http, as_listener.url + "/jwks", clock=clock))
    upstream = RecordingUpstream()
    running = [RunningServer(signer.app, as_listener, name="signer"),
               RunningServer(build_app(policy, ResourceGuard(policy, introspector), upstream), mcp_listener,
                             name="mcp")]
    yield signer, resource, upstream
    for server in running:
        server.stop()


@pytest.mark.requirement("HP-MCP-08")
@pytest.mark.requirement("HP-MCP-09")
@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_sdk_client_sees_only_its_tools_and_is_refused_the_write_tool(servers, mode) -> None:
    signer, resource, upstream = servers
    signer.issue(f"tok-{mode}", aud=resource, iss=signer.issuer)

    async def main():
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer tok-{mode}"})
        async with http, Client(streamable_http_client(resource, http_client=http), mode=mode) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            read = await client.call_tool("list-trades", {"symbol": "VOD.L"})
            with pytest.raises(MCPError):
                await client.call_tool("place-trade", {"symbol": "X", "side": "buy", "quantity": 1, "price": 1})
            return tools, read

    tools, read = asyncio.run(asyncio.wait_for(main(), 30))
    assert tools == ["list-trades"]
    assert read.structured_content == {"trades": [{"id": "t1", "symbol": "VOD.L"}]}
    assert ("place", "alice") not in upstream.calls
