"""What every route of one authorization server shares: configuration, records, replay cache, clock, keys, DPoP."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from hardened.clock import Clock
from hardened.jose import KeySet, SigningKey
from hardened.ports.as_stores import ASStore
from hardened.ports.replay import ReplayCache
from hardened.server.config import ServerConfig
from hardened.web.dpop import DPoPVerifier

__all__ = ["ASContext", "context", "spend_once"]


def spend_once(replay: ReplayCache, key: str, ttl: float, now: float) -> bool:
    """RFC 7523 §3 item 7: record a client assertion ``jti`` in the shared replay cache; True on first use."""
    return replay.unique(key, ttl, now)


@dataclass(frozen=True)
class ASContext:
    config: ServerConfig
    store: ASStore
    replay: ReplayCache
    clock: Clock
    dpop: DPoPVerifier

    def now(self) -> float:
        return self.clock.now()

    @property
    def issuer(self) -> str:
        return self.config.issuer

    @property
    def signing_key(self) -> SigningKey:
        """The current key (the first); the others stay published for verification during rotation."""
        return self.config.signing_keys[0]

    @property
    def public_keys(self) -> KeySet:
        return KeySet(k.public_key for k in self.config.signing_keys)

    def url(self, path: str) -> str:
        return self.config.issuer.rstrip("/") + path


def context(request: Request) -> ASContext:
    return request.app.state.hardened
