"""Stateless attestation challenges (draft-ietf-oauth-attestation-based-client-auth-10 §6, §11.1).

A challenge is ``base64url(step || salt || HMAC-SHA256(secret, label || audience || step || salt))``: the server's
own time step (§11.1: "server-provided challenge values containing the time at the server", so freshness does
not depend on the client's clock), 16 random bytes, and a MAC under a server secret. Any replica holding the
secret checks it without storage, in constant time, for ``window`` time steps. Several secrets allow rotation:
the first issues, all check. Like DPoP nonces (RFC 9449 §8), but with a different label, so that neither is
ever accepted as the other.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Sequence

from hardened.errors import ConfigurationError, JoseError
from hardened.jose import b64url_decode, b64url_encode

__all__ = ["AttestationChallenges"]

_LABEL = b"hardened/oauth-client-attestation-challenge/v1\x00"
_STEP_BYTES = 8
_SALT_BYTES = 16
_MAC_BYTES = 32
_RAW = _STEP_BYTES + _SALT_BYTES + _MAC_BYTES
#: Length of an issued challenge (base64url of 56 bytes, unpadded).
CHALLENGE_LENGTH = math.ceil(_RAW * 4 / 3)


class AttestationChallenges:
    """Issue and check challenges for one audience (this AS's issuer or this resource's identifier).

    ``step`` seconds per time step; a challenge is accepted during ``window`` steps (the one it was issued in
    and ``window - 1`` after), so it lives between ``(window - 1) * step`` and ``window * step`` seconds.
    """

    def __init__(self, secret: bytes | Sequence[bytes], audience: str, *, step: float = 60.0, window: int = 2) -> None:
        keys = [secret] if isinstance(secret, bytes) else list(secret)
        if not keys or any(not isinstance(k, bytes) or len(k) < 32 for k in keys):
            raise ConfigurationError("attestation challenge secrets must be at least 32 random bytes")
        if not isinstance(audience, str) or not audience:
            raise ConfigurationError("attestation challenges need the audience they are for")
        if not 1 <= step <= 3600 or not 1 <= window <= 10:
            raise ConfigurationError("challenge step must be 1-3600 s and window 1-10 steps")
        self._keys = tuple(keys)
        self._audience = audience.encode()
        self.step = float(step)
        self.window = int(window)

    @property
    def lifetime(self) -> float:
        """The longest time a challenge is accepted (for replay caches keyed by challenge)."""
        return self.step * self.window

    def _mac(self, key: bytes, step_bytes: bytes, salt: bytes) -> bytes:
        message = _LABEL + self._audience + b"\x00" + step_bytes + salt
        return hmac.new(key, message, hashlib.sha256).digest()

    def _step(self, now: float) -> int:
        return int(now // self.step)

    def issue(self, now: float, *, salt: bytes | None = None) -> str:
        """A fresh challenge for time ``now`` (§6.1 ``attestation_challenge``, §6.2 header value)."""
        salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
        if len(salt) != _SALT_BYTES:
            raise ConfigurationError("challenge salt must be 16 bytes")
        step_bytes = self._step(now).to_bytes(_STEP_BYTES, "big", signed=False)
        return b64url_encode(step_bytes + salt + self._mac(self._keys[0], step_bytes, salt))

    def check(self, challenge: object, now: float) -> bool:
        """True only for a challenge this audience's secret issued within the window; constant-time MAC check."""
        if not isinstance(challenge, str) or len(challenge) != CHALLENGE_LENGTH:
            return False
        try:
            raw = b64url_decode(challenge, what="challenge")
        except JoseError:
            return False
        if len(raw) != _RAW:
            return False
        step_bytes, salt, mac = raw[:_STEP_BYTES], raw[_STEP_BYTES:-_MAC_BYTES], raw[-_MAC_BYTES:]
        issued = int.from_bytes(step_bytes, "big")
        current = self._step(now)
        if not current - self.window < issued <= current:
            return False
        ok = False
        for key in self._keys:  # every key is tried, so timing does not tell which one matched
            ok |= hmac.compare_digest(self._mac(key, step_bytes, salt), mac)
        return ok
