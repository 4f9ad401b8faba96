"""The verified caller, as the authorization layer hands it to MCP tool handlers and FastAPI routes.

The layer stores it in the ASGI scope under :data:`SCOPE_KEY`; the official SDK passes the Starlette request of
every JSON-RPC message to handlers (``ctx.request_context.request``), so :func:`identity_of` finds it there.
The raw access token is kept (``token``, never in ``repr``) only so that the server can exchange it (RFC 8693);
it is never logged and never sent upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hardened.errors import InvalidToken

__all__ = ["SCOPE_KEY", "AccessIdentity", "identity_from_scope", "identity_of"]

SCOPE_KEY = "hardened.mcp.identity"


@dataclass(frozen=True, slots=True)
class AccessIdentity:
    """Who is calling: the user (``subject``), the agent (``client_id``, ``tier``), what they may do (``scopes``),
    how the token is bound (``jkt`` / ``x5t``) and the user's claims (tenant, country, role, ...)."""

    subject: str | None
    client_id: str
    scopes: frozenset[str]
    tier: str
    scheme: str
    expires_at: float
    jkt: str | None = None
    x5t: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)
    token: str = field(default="", repr=False)

    @property
    def principal(self) -> tuple[str, str]:
        """What an MCP session is bound to (MCP 2025-11-25 Security Best Practices, session hijacking)."""
        return (self.client_id, self.subject or "")


def identity_from_scope(scope: Mapping[str, Any]) -> AccessIdentity:
    identity = scope.get(SCOPE_KEY)
    if not isinstance(identity, AccessIdentity):
        raise InvalidToken("no verified caller", detail="the hardened layer did not run for this request")
    return identity


def identity_of(ctx: Any) -> AccessIdentity:
    """The verified caller of a tool: pass the SDK's ``Context`` (or ``ServerRequestContext``) of the handler."""
    request_context = getattr(ctx, "request_context", ctx)
    request = getattr(request_context, "request", None)
    scope = getattr(request, "scope", None)
    if not isinstance(scope, Mapping):
        raise InvalidToken("no verified caller", detail="the request carries no ASGI scope")
    return identity_from_scope(scope)
