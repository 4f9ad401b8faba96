"""Scopes and assurance tiers (hardened DESIGN §2; RFC 6749 §3.3 scope syntax).

Every scope names the lowest tier that may hold it. Tiers are ordered ``baseline < hardened < attested``; a client
holds a scope only if its tier is at least the scope's. A request above the client's tier, or for a scope the
deployment does not know, is ``invalid_scope`` (RFC 6749 §4.1.2.1, §5.2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hardened.errors import InvalidScope

__all__ = ["TIERS", "ScopePolicy", "check_scopes", "parse_scope", "tier_at_least"]

TIERS: tuple[str, ...] = ("baseline", "hardened", "attested")
#: RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]{1,128}")
MAX_SCOPES = 32


def tier_at_least(tier: str, minimum: str) -> bool:
    """True when ``tier`` is ``minimum`` or above it; an unknown tier is never enough (fail closed)."""
    if tier not in TIERS or minimum not in TIERS:
        return False
    return TIERS.index(tier) >= TIERS.index(minimum)


def parse_scope(value: object) -> tuple[str, ...]:
    """RFC 6749 §3.3: a space-delimited list of scope tokens, no repeats; order kept, duplicates refused."""
    if value is None or value == "":
        return ()
    if not isinstance(value, str) or len(value) > 4096:
        raise InvalidScope("scope is not a string of at most 4096 characters")
    tokens = value.split(" ")
    if len(tokens) > MAX_SCOPES:
        raise InvalidScope(f"at most {MAX_SCOPES} scopes may be requested")
    if any(not _SCOPE_TOKEN.fullmatch(t) for t in tokens):
        raise InvalidScope("scope is not a space-delimited list of scope tokens")
    if len(set(tokens)) != len(tokens):
        raise InvalidScope("scope repeats a value")
    return tuple(tokens)


@dataclass(frozen=True, slots=True)
class ScopePolicy:
    """The deployment's scopes, each with the lowest tier that may hold it."""

    scopes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, tier in self.scopes.items():
            if tier not in TIERS or not _SCOPE_TOKEN.fullmatch(name):
                raise ValueError(f"scope {name!r} has an unknown tier {tier!r} or a bad name")

    def allowed_for(self, tier: str) -> tuple[str, ...]:
        """Every scope a client of ``tier`` may hold."""
        return tuple(s for s, minimum in self.scopes.items() if tier_at_least(tier, minimum))


def check_scopes(requested: Iterable[str], *, tier: str, client_scopes: Iterable[str], policy: ScopePolicy) -> None:
    """Each requested scope must be known, within the client's tier and registered for the client."""
    registered = set(client_scopes)
    for scope in requested:
        minimum = policy.scopes.get(scope)
        if minimum is None:
            raise InvalidScope("a requested scope is unknown", detail=f"unknown scope {scope[:64]}")
        if not tier_at_least(tier, minimum):
            raise InvalidScope("a requested scope is above the client's assurance tier",
                               detail=f"{scope} needs {minimum}")
        if scope not in registered:
            raise InvalidScope("a requested scope is not registered for this client", detail=scope[:64])
