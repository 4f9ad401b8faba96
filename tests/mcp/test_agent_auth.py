"""The agent's auth inside the SDK transport, against the layer in-process: nonce retry and step-up (HP-MCP-18)."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

pytest.importorskip("hardened.client.assertion")

from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from hardened.jose import SigningKey
from hardened.mcp.agent import AgentCredentials, HardenedAgent, TokenSet
from hardened.mcp.agent_auth import AgentAuth
from tests.mcp.conftest import HOST, RESOURCE, make_stack

ORDER = {"symbol": "VOD.L", "side": "buy", "quantity": 1, "price": 1.0}


@pytest.mark.requirement("HP-MCP-18")
def test_nonce_retry_and_step_up_inside_the_sdk_transport(signer, clock) -> None:
    _, _, upstream, app = make_stack(signer, clock, require_dpop_nonce=True)
    dpop = SigningKey.generate("ES256")
    creds = AgentCredentials(SigningKey.generate("ES256"), dpop, "statement", "http://127.0.0.1:8765/cb")

    async def never(url: str, redirect: str) -> str:
        raise AssertionError("the token is preset")

    agent = HardenedAgent(RESOURCE, creds, never, clock=clock)
    agent.as_metadata = {"issuer": "http://127.0.0.1:9000"}
    bound = {"cnf": {"jkt": dpop.public_key.thumbprint}, "tier": "hardened"}
    agent.tokens = TokenSet(signer.issue("read-tok", **bound), frozenset({"trades:read"}), clock.now() + 3600)
    asked: list[frozenset[str]] = []

    async def authorize(scopes):  # what the AS would do: a new token with the union of scopes
        asked.append(frozenset(scopes))
        token = signer.issue("write-tok", scope=" ".join(sorted(scopes)), **bound)
        agent.tokens = TokenSet(token, frozenset(scopes), clock.now() + 3600)
        return agent.tokens

    agent.authorize = authorize  # type: ignore[method-assign]
    auth = AgentAuth(agent)

    async def main():
        inner = app.app
        async with inner.router.lifespan_context(inner):
            http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), auth=auth, base_url="http://" + HOST)
            async with http, Client(streamable_http_client(RESOURCE, http_client=http), mode="legacy") as client:
                tools = [t.name for t in (await client.list_tools()).tools]
                write = await client.call_tool("place-trade", ORDER)
                return tools, write

    tools, write = asyncio.run(asyncio.wait_for(main(), 30))
    assert tools == ["list-trades"]
    assert auth._nonce is not None  # learnt from use_dpop_nonce and kept fresh from every answer
    assert asked == [frozenset({"trades:read", "trades:write"})] and agent.step_ups == 1
    assert not write.is_error and upstream.calls == [("place", "alice")]
