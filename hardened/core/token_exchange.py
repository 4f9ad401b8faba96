"""Token exchange (RFC 8693 §2) for an MCP server calling an upstream API (hardened DESIGN §1).

``verify_token_exchange`` checks, in order:

1. ``subject_token`` present and ``subject_token_type`` is the access-token URN (RFC 8693 §2.1, §3);
   ``actor_token`` is not used (the authenticated client is the actor); ``requested_token_type`` if given is
   the access-token or JWT URN;
2. one ``audience`` or ``resource`` naming an upstream the policy allows for this MCP server (``invalid_target``);
3. the subject token is an active access token issued for this MCP server's own audience (``invalid_grant``);
4. scope narrowed: requested scopes must be held by the subject token and allowed upstream (``invalid_scope``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from hardened.core.access_token import TokenRecord
from hardened.core.scopes import parse_scope
from hardened.errors import InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget

__all__ = ["ACCESS_TOKEN_TYPE", "JWT_TYPE", "TOKEN_EXCHANGE", "ExchangeGrant", "verify_token_exchange"]

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a URN, not a secret
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a URN
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


@dataclass(frozen=True, slots=True)
class ExchangeGrant:
    subject: TokenRecord
    audience: str
    scopes: tuple[str, ...]


def verify_token_exchange(
    form: Mapping[str, str], *, subject: TokenRecord | None, own_audience: str,
    upstreams: Collection[str], upstream_scopes: Collection[str], now: float,
) -> ExchangeGrant:
    """Check an exchange by the MCP server owning ``own_audience`` (see the module doc)."""
    # 1. RFC 8693 §2.1 parameters
    if not form.get("subject_token"):
        raise InvalidRequest("subject_token is required")
    if form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
        raise InvalidRequest("subject_token_type must be the access_token type")
    if "actor_token" in form or "actor_token_type" in form:
        raise InvalidRequest("actor_token is not used; the authenticated client is the actor")
    if form.get("requested_token_type", ACCESS_TOKEN_TYPE) not in (ACCESS_TOKEN_TYPE, JWT_TYPE):
        raise InvalidRequest("requested_token_type is not supported")
    # 2. target
    targets = [form[name] for name in ("audience", "resource") if name in form]
    if len(targets) != 1 or targets[0] not in upstreams:
        raise InvalidTarget("audience must name one allowed upstream")
    # 3. subject token for this MCP server
    if subject is None or subject.kind != "access" or not subject.active(now) or subject.audience != own_audience:
        raise InvalidGrant("subject_token is not an active token for this client's audience")
    # 4. scope narrowing
    held = [s for s in subject.scopes if s in upstream_scopes]
    requested = parse_scope(form.get("scope"))
    if requested and any(s not in held for s in requested):
        raise InvalidScope("a requested scope is not held by the subject token or not allowed upstream")
    scopes = tuple(requested or held)
    if not scopes:
        raise InvalidScope("no scope of the subject token may be used upstream")
    return ExchangeGrant(subject=subject, audience=targets[0], scopes=scopes)
