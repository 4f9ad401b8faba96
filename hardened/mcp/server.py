"""The reference MCP server: trades tools on the official ``mcp`` SDK (Streamable HTTP), behind the hardened layer.

Tools and what they need (DESIGN §2):

- ``list-trades``: scope ``trades:read``, any tier (stock MCP clients included);
- ``place-trade``: scope ``trades:write``, hardened tier only.

Each tool calls the upstream trades API through an :class:`Upstream`; the real one (``hardened.mcp.exchange``)
obtains a token by RFC 8693 token exchange, bound to this server's own DPoP key. The agent's token never goes
upstream. Handlers receive the verified caller through :func:`~hardened.mcp.identity.identity_of`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from mcp.server.caching import CacheHint
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import ToolAnnotations
from starlette.types import ASGIApp

from hardened.errors import OAuthError
from hardened.mcp.auth import HardenedMCPMiddleware, ToolAccess
from hardened.mcp.guard import ResourceGuard
from hardened.mcp.identity import AccessIdentity, identity_of
from hardened.mcp.policy import ResourcePolicy, ToolRequirement

__all__ = ["TRADE_TOOLS", "Upstream", "UpstreamError", "build_app", "build_mcp_server"]

TRADE_TOOLS: Mapping[str, ToolRequirement] = {
    "list-trades": ToolRequirement(frozenset({"trades:read"}), tier="baseline"),
    "place-trade": ToolRequirement(frozenset({"trades:write"}), tier="hardened"),
}


class UpstreamError(Exception):
    """The upstream call failed; its message is safe to show to the caller."""


class Upstream(Protocol):
    """The trades API as the tools see it, always on behalf of one verified caller."""

    async def list_trades(self, caller: AccessIdentity, *, symbol: str | None) -> list[dict[str, Any]]: ...

    async def place_trade(self, caller: AccessIdentity, order: Mapping[str, Any]) -> dict[str, Any]: ...


def build_mcp_server(policy: ResourcePolicy, upstream: Upstream, *, tool_access: bool = True) -> MCPServer:
    """The SDK server with the two tools and the ``tools/list`` filter of the policy (``tool_access=False`` only
    for measuring the unprotected server, as ``benchmarks/mcp_auth.py`` does)."""
    server: MCPServer = MCPServer(
        "hardened-trades",
        instructions="Trades of your organisation. place-trade needs a hardened (sender-constrained) agent.",
        middleware=[ToolAccess(policy)] if tool_access else [],
        cache_hints={"tools/list": CacheHint(ttl_ms=0, scope="private")},
    )

    @server.tool(name="list-trades", description="List the trades you may see (scope trades:read).",
                 annotations=ToolAnnotations(read_only_hint=True))
    async def list_trades(ctx: Context, symbol: str | None = None) -> dict[str, Any]:
        caller = identity_of(ctx)
        try:
            trades = await upstream.list_trades(caller, symbol=symbol)
        except (UpstreamError, OAuthError) as err:
            raise ToolError(f"upstream refused: {err}") from None
        return {"trades": trades}

    @server.tool(name="place-trade", description="Place a trade (scope trades:write, hardened agents only).",
                 annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    async def place_trade(ctx: Context, symbol: str, side: Literal["buy", "sell"], quantity: int,
                          price: float) -> dict[str, Any]:
        caller = identity_of(ctx)
        order = {"symbol": symbol, "side": side, "quantity": quantity, "price": price}
        try:
            return await upstream.place_trade(caller, order)
        except (UpstreamError, OAuthError) as err:
            raise ToolError(f"upstream refused: {err}") from None

    declared = {t.name for t in server._tool_manager.list_tools()}
    missing = declared - set(policy.tools)
    if missing:  # a tool with no requirement would be unreachable (fail closed); say so at start-up
        raise ValueError(f"tools without an authorization requirement: {sorted(missing)}")
    return server


def build_app(policy: ResourcePolicy, guard: ResourceGuard, upstream: Upstream, *,
              json_response: bool = False, stateless: bool = False) -> ASGIApp:
    """The ASGI app to serve: the SDK's Streamable HTTP app at the policy's path, wrapped by the hardened layer."""
    security = TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                         allowed_hosts=list(policy.allowed_hosts),
                                         allowed_origins=list(policy.allowed_origins))
    sdk_app = build_mcp_server(policy, upstream).streamable_http_app(
        streamable_http_path=policy.path, json_response=json_response, stateless_http=stateless,
        transport_security=security,
        max_request_body_size=policy.max_body)
    return HardenedMCPMiddleware(sdk_app, guard=guard)
