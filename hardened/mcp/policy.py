"""What an MCP server protected by hardened requires (MCP Authorization 2025-11-25, RFC 9728 §2, RFC 6750 §3).

A :class:`ResourcePolicy` is built once at start-up; every mistake in it is a ``ConfigurationError`` then, never a
failure at request time. Each tool names the scopes it needs and the lowest assurance tier that may call it
(DESIGN §2); tools a caller may not use are left out of ``tools/list`` and a call to one is answered with
``403 insufficient_scope`` so that the client can step up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hardened.errors import ConfigurationError

__all__ = ["TIERS", "ResourcePolicy", "ToolRequirement", "tier_at_least"]

#: DESIGN §2: assurance tiers, lowest first.
TIERS: tuple[str, ...] = ("baseline", "hardened", "attested")
#: RFC 6749 §3.3 scope-token.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]{1,128}")
_TOOL_NAME = re.compile(r"[A-Za-z0-9_.\-/]{1,128}")


def tier_at_least(tier: str, minimum: str) -> bool:
    """``tier`` is ``minimum`` or above; an unknown tier is never enough (fail closed)."""
    return tier in TIERS and minimum in TIERS and TIERS.index(tier) >= TIERS.index(minimum)


@dataclass(frozen=True, slots=True)
class ToolRequirement:
    """The scopes a tool needs (all of them) and the lowest tier that may call it."""

    scopes: frozenset[str]
    tier: str = "baseline"

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ConfigurationError(f"unknown tier {self.tier!r}")
        if not self.scopes or any(not _SCOPE_TOKEN.fullmatch(s) for s in self.scopes):
            raise ConfigurationError("a tool must name at least one valid scope")

    def allows(self, scopes: Iterable[str], tier: str) -> bool:
        return self.scopes.issubset(scopes) and tier_at_least(tier, self.tier)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class ResourcePolicy:
    """One protected MCP server (the RFC 9728 "protected resource").

    - ``resource``: the canonical MCP endpoint URL (RFC 8707 §2, MCP 2025-11-25 "Canonical Server URI"); it is
      also the external URL every DPoP ``htu`` is checked against, never the request's ``Host``.
    - ``audience``: the identifier the AS puts in ``aud`` of tokens for this server (default: ``resource``).
    - ``baseline``: whether stock clients (Bearer tokens, baseline tier) are accepted at all.
    - ``allowed_hosts`` / ``allowed_origins``: DNS-rebinding defence; by default only the resource's own.
    """

    resource: str
    authorization_servers: tuple[str, ...]
    tools: Mapping[str, ToolRequirement]
    audience: str = ""
    baseline: bool = True
    resource_name: str = "hardened MCP server"
    dpop_algs: tuple[str, ...] = ("ES256", "EdDSA", "PS256")
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_body: int = 1_048_576
    require_dpop_nonce: bool = False
    mtls: bool = False  # certificate-bound tokens (RFC 8705) accepted: the guard then needs a certificate source
    _scopes: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.resource)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigurationError("resource must be an absolute http(s) URL without query or fragment")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigurationError("plain http is allowed for loopback resources only")
        if not self.authorization_servers:
            raise ConfigurationError("at least one authorization server is required (RFC 9728 §2)")
        for name in self.tools:
            if not _TOOL_NAME.fullmatch(name):
                raise ConfigurationError(f"tool name {name!r} is not allowed")
        if not self.audience:
            object.__setattr__(self, "audience", self.resource)
        if not self.allowed_hosts:
            object.__setattr__(self, "allowed_hosts", (parts.netloc.lower(),))
        if not self.allowed_origins:
            object.__setattr__(self, "allowed_origins", (_origin(self.resource).lower(),))
        scopes = sorted({s for req in self.tools.values() for s in req.scopes})
        object.__setattr__(self, "_scopes", tuple(scopes))

    @property
    def scopes_supported(self) -> tuple[str, ...]:
        return self._scopes

    @property
    def path(self) -> str:
        """The path of the MCP endpoint (where the layer asks for tokens)."""
        return urlsplit(self.resource).path or "/"

    @property
    def origin(self) -> str:
        return _origin(self.resource)

    def schemes(self) -> tuple[str, ...]:
        """Challenge schemes in order of preference: DPoP always; Bearer where the baseline tier is on, or for
        certificate-bound tokens (RFC 8705 §3 presents them as Bearer over mutual TLS)."""
        return ("DPoP", "Bearer") if self.baseline or self.mtls else ("DPoP",)

    def initial_scope(self) -> str:
        """MCP 2025-11-25 §Protected Resource Metadata Discovery: the scope a first 401 asks for (baseline tools)."""
        return " ".join(sorted({s for r in self.tools.values() if r.tier == "baseline" for s in r.scopes}))

    def allowed_tools(self, scopes: Iterable[str], tier: str) -> frozenset[str]:
        granted = frozenset(scopes)
        return frozenset(name for name, req in self.tools.items() if req.allows(granted, tier))
