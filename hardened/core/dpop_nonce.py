"""Stateless DPoP nonces (RFC 9449 §8 at the authorization server, §9 at a resource server).

A nonce is ``base64url(HMAC-SHA256(secret, label || audience || time step))``. Any replica holding the secret
issues and checks the same nonces without shared state; the ``audience`` (the server's own identifier) is part of
the MAC input, so the nonces of the authorization server and of each resource server differ even under one
secret. A nonce is accepted during its own time step and the ``window`` steps after it, compared in constant time
(``hmac.compare_digest``). Replicas need synchronised clocks (NTP), as for every other time check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from hardened.errors import ConfigurationError

__all__ = ["MAX_NONCE", "NonceSource"]

#: The longest ``nonce`` claim looked at; ours are 43 characters.
MAX_NONCE = 256
_LABEL = b"hardened/dpop-nonce/v1\x00"


class NonceSource:
    """Issues and checks the nonces of one server (one ``audience``) under one secret."""

    __slots__ = ("_audience", "_cache", "_secret", "step", "window")

    def __init__(self, secret: bytes, audience: str, *, step: int = 60, window: int = 1) -> None:
        if not isinstance(secret, bytes) or len(secret) < 32:
            raise ConfigurationError("the DPoP nonce secret must be at least 32 random bytes")
        if not isinstance(audience, str) or not audience:
            raise ConfigurationError("the DPoP nonce audience (this server's identifier) is required")
        if not 1 <= step <= 3600 or not 0 <= window <= 5:
            raise ConfigurationError("DPoP nonce step must be 1..3600 s and window 0..5 steps")
        self._secret = secret
        self._audience = audience.encode("utf-8")
        self.step = int(step)
        self.window = int(window)
        self._cache: tuple[int, str] = (-1, "")

    def _nonce_for(self, counter: int) -> str:
        cached_counter, cached = self._cache
        if counter == cached_counter:
            return cached
        message = _LABEL + self._audience + b"\x00" + counter.to_bytes(8, "big", signed=True)
        mac = hmac.new(self._secret, message, hashlib.sha256).digest()
        nonce = base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
        if counter > cached_counter:
            self._cache = (counter, nonce)
        return nonce

    def _counter(self, now: float) -> int:
        return int(now // self.step)

    def issue(self, now: float) -> str:
        """The nonce of the current time step (RFC 9449 §8: sent in the ``DPoP-Nonce`` header)."""
        return self._nonce_for(self._counter(now))

    def check(self, nonce: object, now: float) -> bool:
        """True if ``nonce`` is the nonce of the current step or of one of the ``window`` steps before it."""
        if not isinstance(nonce, str) or not nonce or len(nonce) > MAX_NONCE:
            return False
        given = nonce.encode("ascii", "replace")
        current = self._counter(now)
        ok = False
        for counter in range(current - self.window, current + 1):
            # No early exit: every candidate is compared, in constant time.
            ok |= hmac.compare_digest(given, self._nonce_for(counter).encode("ascii"))
        return ok
