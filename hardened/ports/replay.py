"""The replay-cache port (RFC 9449 §11.1; RFC 7523 §3 item 7 for client assertions).

A ``ReplayCache`` remembers keys for a while and says, atomically, whether a key is new. Callers pass a key that
is already a hash of what identifies the one-shot artefact (for DPoP: ``htu``, ``jti`` and the key thumbprint;
see ``hardened.core.dpop.dpop_replay_key``), never the token text itself: the same proof re-encoded (other
base64url padding bits, another ECDSA signature of the same claims) must hit the same entry.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["ReplayCache"]


@runtime_checkable
class ReplayCache(Protocol):
    """Atomic first-use detection over every worker that shares the store."""

    def unique(self, key: str, ttl: float, now: float) -> bool:
        """Record ``key`` until ``now + ttl``. True if it was not already recorded (and unexpired), else False.

        Exactly one of any number of concurrent calls with the same key returns True. A store that cannot
        record a key (full, unavailable) returns False or raises: it fails closed, never open.
        """
        ...
