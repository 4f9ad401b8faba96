"""The agent's auth inside the official MCP SDK client transport (``httpx2``), and an MCP session helper.

:class:`AgentAuth` is an ``httpx2.Auth`` generator flow (the SDK's ``streamable_http_client`` takes any
``httpx2.AsyncClient``). On every MCP HTTP request it puts ``Authorization: DPoP <token>`` and a fresh proof with
``ath`` (RFC 9449 §7.1); then, bounded:

- ``401`` with ``use_dpop_nonce``: sign again with the new nonce, once (RFC 9449 §9);
- ``401`` otherwise: discover from the challenge and authorize (first contact, or a token the server refused);
- ``403 insufficient_scope``: step up with the union of held and challenged scopes (MCP 2025-11-25 §Step-Up).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from hardened.client.dpop import challenges
from hardened.client.origin import credential_origin, origin_of
from hardened.core.dpop import build_dpop_proof
from hardened.mcp.agent import HardenedAgent

__all__ = ["AgentAuth", "mcp_session"]

MAX_NONCE = 512


class AgentAuth(httpx2.Auth):
    requires_request_body = True
    requires_response_body = False

    def __init__(self, agent: HardenedAgent, *, max_rounds: int = 4) -> None:
        self.agent, self.max_rounds = agent, max_rounds
        self._nonce: str | None = None
        #: the token and its proofs go to the MCP server's origin only (https, or http on loopback)
        self._origin = credential_origin(agent.mcp_url, "the MCP access token")

    def _sign(self, request: httpx2.Request) -> None:
        tokens = self.agent.tokens
        if tokens is None:
            return
        htu = str(request.url.copy_with(query=None, fragment=None))
        request.headers["Authorization"] = f"DPoP {tokens.access_token}"
        request.headers["DPoP"] = build_dpop_proof(
            self.agent.credentials.dpop_key, htm=request.method, htu=htu, iat=self.agent.clock.now(),
            jti=secrets.token_urlsafe(16), nonce=self._nonce, access_token=tokens.access_token)

    def _remember_nonce(self, response: httpx2.Response) -> bool:
        nonce = response.headers.get("dpop-nonce")
        if nonce and len(nonce) <= MAX_NONCE and nonce.isascii() and nonce.isprintable() and nonce != self._nonce:
            self._nonce = nonce
            return True
        return False

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        if origin_of(request.url) != self._origin:
            yield request  # not the MCP server: sent without the token, and nothing in its answer is acted on
            return
        nonce_retried = False
        for _ in range(self.max_rounds):
            await self.agent.ensure_token()
            self._sign(request)
            response = yield request
            fresh = self._remember_nonce(response)
            found = challenges(response.headers.get_list("www-authenticate"))
            error = next((p.get("error") for _, p in found if p.get("error")), None)
            if response.status_code == 401 and error == "use_dpop_nonce" and fresh and not nonce_retried:
                nonce_retried = True
                continue
            if response.status_code == 401:
                if self.agent.as_metadata is None:
                    await self.agent.discover(response.headers.get_list("www-authenticate"))
                scope = next((p["scope"] for _, p in found if "scope" in p), "")
                held, wanted = self.agent.tokens.scopes if self.agent.tokens else None, frozenset(scope.split())
                if held is not None and not wanted <= held:  # widening a held grant is a step-up (bounded)
                    await self.agent.step_up(wanted)
                else:
                    await self.agent.authorize((held or frozenset()) | wanted)
                continue
            if response.status_code == 403 and error == "insufficient_scope":
                scope = next((p["scope"] for _, p in found if "scope" in p), "")
                await self.agent.step_up(scope.split())
                continue
            return


@asynccontextmanager
async def mcp_session(agent: HardenedAgent, **client_options: Any) -> AsyncIterator[Client]:
    """An SDK ``Client`` on the agent's MCP URL, every HTTP request authorized by :class:`AgentAuth`."""
    async with httpx2.AsyncClient(auth=AgentAuth(agent), timeout=httpx2.Timeout(30, read=300)) as http:
        transport = streamable_http_client(agent.mcp_url, http_client=http)
        async with Client(transport, **client_options) as client:
            yield client
