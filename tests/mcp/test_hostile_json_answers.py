"""Answers from a hostile or broken server never crash an agent-side parser: deeply nested JSON included."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from hardened.errors import HardenedError

NESTED = b"[" * 100_000 + b"]" * 100_000


def _response(status: int, body: bytes) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"Content-Type": "application/json"},
                          request=httpx.Request("POST", "https://as.example/token"))


def _only_ours(call) -> None:
    with contextlib.suppress(HardenedError):  # ours is fine; anything else fails the test
        call()


@pytest.mark.requirement("HP-MCP-21")
@pytest.mark.parametrize("status", [200, 400, 401])
def test_deeply_nested_json_is_a_clean_error_everywhere(status: int) -> None:
    from hardened.client import attestation, attester, dpop
    from hardened.mcp import agent, exchange

    response = _response(status, NESTED)
    _only_ours(lambda: attestation._challenge_from_body(response))
    _only_ours(lambda: attestation._error_code(response))
    _only_ours(lambda: agent._error(response, "token"))
    _only_ours(lambda: attester._parse(response, 0.0))
    _only_ours(lambda: exchange._json(response))
    _only_ours(lambda: dpop.is_use_dpop_nonce(response))


@pytest.mark.requirement("HP-MCP-21")
def test_discovery_of_deeply_nested_metadata_is_a_clean_error() -> None:
    from hardened.mcp.discovery import fetch_json

    async def run() -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, content=NESTED))
        async with httpx.AsyncClient(transport=transport) as http:
            with pytest.raises(HardenedError):
                await fetch_json(http, "https://as.example/.well-known/oauth-authorization-server", what="metadata")

    asyncio.run(run())
