"""The hardened authorization layer any MCP server mounts (MCP Authorization 2025-11-25, RFC 9728, RFC 6750 §3).

Three pieces, one policy:

- :class:`HardenedMCPMiddleware` (ASGI): serves the RFC 9728 metadata at its path-aware well-known URL, runs the
  :class:`~hardened.mcp.guard.ResourceGuard` on every other request, answers failures with ``WWW-Authenticate``
  challenges carrying ``resource_metadata``, answers a ``tools/call`` the token does not cover with
  ``403 insufficient_scope`` and the scopes needed, binds MCP sessions to the caller that opened them, and puts
  the verified :class:`~hardened.mcp.identity.AccessIdentity` in the ASGI scope;
- :class:`ToolAccess` (an SDK ``ServerMiddleware``): filters ``tools/list`` to what the caller may use and
  refuses other tool calls again inside the SDK (defence in depth);
- :func:`require_access` (a FastAPI dependency) for plain HTTP routes next to the MCP endpoint.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hardened.errors import HardenedError, InsufficientScope, InvalidToken, OAuthError
from hardened.mcp.guard import ResourceGuard, TransportRefused
from hardened.mcp.identity import SCOPE_KEY, AccessIdentity, identity_of
from hardened.mcp.jsonrpc import (
    BodyTooLarge,
    MalformedBody,
    may_call_tools,
    parse_messages,
    read_body,
    replay,
    tool_calls,
)
from hardened.mcp.policy import ResourcePolicy
from hardened.mcp.prm import metadata_path, metadata_response, metadata_url
from hardened.web.errors import NO_STORE, resource_error_response

__all__ = ["HardenedMCPMiddleware", "ResourceChallenge", "ToolAccess", "challenge_response", "require_access"]

log = logging.getLogger("hardened.mcp")
SESSION_HEADER = b"mcp-session-id"


def challenge_response(policy: ResourcePolicy, err: OAuthError | None, *, scheme: str | None = None,
                       scope: str | None = None) -> Response:
    """RFC 6750 §3 / RFC 9449 §7.1 challenge, one per accepted scheme (or only the scheme the client used)."""
    schemes = (scheme,) if scheme else policy.schemes()
    algs = " ".join(policy.dpop_algs)
    rm = metadata_url(policy.resource)
    return resource_error_response(err, schemes=schemes, resource_metadata=rm, scope=scope, algs=algs)


def _jsonrpc_error(status: int, code: int, message: str) -> Response:
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=dict(NO_STORE))


class HardenedMCPMiddleware:
    """ASGI layer in front of a Streamable HTTP MCP app (the SDK's ``streamable_http_app()`` or any ASGI app)."""

    def __init__(self, app: ASGIApp, *, guard: ResourceGuard, sessions: int = 10_000) -> None:
        self.app, self.guard, self.policy = app, guard, guard.policy
        self._metadata_path = metadata_path(self.policy.resource)
        self._sessions: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._max_sessions = sessions
        self._fresh_nonce = getattr(guard.proof_check, "fresh_nonce_header", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets on an MCP endpoint: the connection is closed unanswered
        try:
            response, receive = await self._admit(scope, receive)
        except HardenedError as err:  # anything of ours not mapped above: refuse, never a traceback
            log.info("refused: %s", type(err).__name__)
            response = challenge_response(self.policy, InvalidToken("the request could not be authorized"))
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, self._session_recorder(scope, send))

    async def _admit(self, scope: Scope, receive: Receive) -> tuple[Response | None, Receive]:
        method, path = scope["method"], scope["path"]
        if path == self._metadata_path and method in ("GET", "HEAD"):
            return metadata_response(self.policy), receive
        try:
            identity = await self.guard.authenticate(scope)
        except TransportRefused as err:
            return JSONResponse({"error": "forbidden", "error_description": err.reason},
                                status_code=err.status_code, headers=dict(NO_STORE)), receive
        except OAuthError as err:
            return challenge_response(self.policy, err), receive
        if identity is None:
            return challenge_response(self.policy, None, scope=self.policy.initial_scope() or None), receive
        if not self._session_allowed(scope, identity):
            return _jsonrpc_error(404, -32001, "Session not found"), receive
        scope[SCOPE_KEY] = identity
        if method != "POST":
            return None, receive
        try:
            body = await read_body(receive, self.policy.max_body)
            names = tool_calls(parse_messages(body)) if may_call_tools(body) else []
        except BodyTooLarge:
            return _jsonrpc_error(413, -32600, "Request body too large"), receive
        except MalformedBody:
            return _jsonrpc_error(400, -32700, "Parse error"), receive
        for name in names:
            requirement = self.policy.tools.get(name)
            if requirement is None:  # a tool the policy does not name is covered by no token (fail closed)
                err = InsufficientScope("this tool is not offered to any caller")
                return challenge_response(self.policy, err, scheme=identity.scheme), receive
            if not requirement.allows(identity.scopes, identity.tier):
                err = InsufficientScope(f"the tool {name} needs more authorization")
                return challenge_response(self.policy, err, scheme=identity.scheme,
                                          scope=" ".join(sorted(requirement.scopes))), receive
        return None, replay(body, receive)

    # -- MCP sessions belong to the caller that opened them (MCP 2025-11-25 Security Best Practices) -----------
    def _session_allowed(self, scope: Scope, identity: AccessIdentity) -> bool:
        ids = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == SESSION_HEADER]
        if not ids:
            return True
        # A session the layer did not see opened (or whose binding it evicted) has no known owner: refused
        # (404 makes the client start a new session), never handed to whoever presents its id.
        return len(ids) == 1 and self._sessions.get(ids[0]) == identity.principal

    def _session_recorder(self, scope: Scope, send: Send) -> Callable[[Message], Awaitable[None]]:
        identity: AccessIdentity = scope[SCOPE_KEY]

        fresh = self._fresh_nonce
        nonce = fresh() if fresh is not None and identity.jkt is not None else {}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                if nonce:
                    message = {**message, "headers": [*message.get("headers", []),
                                                      *((k.lower().encode(), v.encode()) for k, v in nonce.items())]}
                for key, value in message.get("headers", []):
                    if key.lower() == SESSION_HEADER:
                        self._sessions.setdefault(value.decode("latin-1"), identity.principal)
                        while len(self._sessions) > self._max_sessions:
                            self._sessions.popitem(last=False)
            await send(message)

        return _send


class ToolAccess:
    """SDK ``ServerMiddleware``: ``tools/list`` shows only usable tools; ``tools/call`` re-checked in the SDK."""

    def __init__(self, policy: ResourcePolicy, *, cache: int = 256) -> None:
        self.policy = policy
        self._allowed: dict[tuple[frozenset[str], str], frozenset[str]] = {}
        self._cache = cache

    def allowed_tools(self, identity: AccessIdentity) -> frozenset[str]:
        """``policy.allowed_tools`` for the caller, remembered per (scopes, tier): the policy is immutable."""
        key = (frozenset(identity.scopes), identity.tier)
        allowed = self._allowed.get(key)
        if allowed is None:
            allowed = self.policy.allowed_tools(identity.scopes, identity.tier)
            if len(self._allowed) >= self._cache:
                self._allowed.clear()
            self._allowed[key] = allowed
        return allowed

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if ctx.method not in ("tools/list", "tools/call"):
            return await call_next(ctx)
        try:
            identity = identity_of(ctx)
        except InvalidToken:  # the layer did not run: refuse without saying more (fail closed)
            raise MCPError(code=INVALID_PARAMS, message="unauthorized") from None
        allowed = self.allowed_tools(identity)
        if ctx.method == "tools/call":
            name = (ctx.params or {}).get("name")
            if name not in allowed:
                raise MCPError(code=INVALID_PARAMS, message="insufficient_scope: the token does not cover this tool")
            return await call_next(ctx)
        result = await call_next(ctx)
        if isinstance(result, dict):
            return {**result, "tools": [t for t in result.get("tools", []) if t.get("name") in allowed]}
        tools = [t for t in result.tools if t.name in allowed]
        return result.model_copy(update={"tools": tools, "cache_scope": "private"})


class ResourceChallenge(Exception):
    """Raised by :func:`require_access`; render it with ``app.add_exception_handler(ResourceChallenge, ...)``."""

    def __init__(self, response: Response) -> None:
        super().__init__("resource challenge")
        self.response = response

    @staticmethod
    async def handler(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ResourceChallenge)
        return exc.response


def require_access(guard: ResourceGuard, *scopes: str) -> Callable[[Request], Awaitable[AccessIdentity]]:
    """FastAPI dependency: the verified caller holding every scope in ``scopes``, or a challenge response."""
    needed = frozenset(scopes)

    async def dependency(request: Request) -> AccessIdentity:
        try:
            identity = await guard.authenticate(request.scope)
        except TransportRefused as err:
            raise ResourceChallenge(JSONResponse({"error": "forbidden"}, status_code=err.status_code)) from None
        except OAuthError as err:
            raise ResourceChallenge(challenge_response(guard.policy, err)) from None
        if identity is None:
            raise ResourceChallenge(challenge_response(guard.policy, None))
        if not needed.issubset(identity.scopes):
            err = InsufficientScope("the token lacks a scope this request needs")
            raise ResourceChallenge(challenge_response(guard.policy, err, scheme=identity.scheme,
                                                       scope=" ".join(sorted(needed))))
        return identity

    return dependency
