"""User passwords as ``hashlib.scrypt`` hashes (RFC 7914), compared in constant time (NIST SP 800-63B §5.1.1.2).

Format: ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``. An unknown user is checked against a dummy hash so the
answer takes the same time either way.

``check_password`` runs the check in a worker thread (scrypt releases the GIL), at most
``MAX_CONCURRENT_HASHES`` at a time per event loop: each check holds 16 MiB and a core for a while, so a flood of
sign-ins waits for its turn instead of taking every thread of the pool (which the token endpoint needs) and memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import weakref

import anyio
import anyio.to_thread

__all__ = ["MAX_CONCURRENT_HASHES", "check_password", "hash_password", "password_limiter", "verify_password"]

N, R, P, DKLEN = 2**14, 8, 1, 32
MAX_PASSWORD = 1024
MAX_CONCURRENT_HASHES = 2
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=DKLEN, maxmem=64 * 1024 * 1024)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


_DUMMY = hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str | None) -> bool:
    """True only for the right password; a malformed stored hash or an oversize password is False."""
    try:
        scheme, n, r, p, salt, digest = (stored or _DUMMY).split("$")
        if scheme != "scrypt" or len(password) > MAX_PASSWORD:
            return False
        actual = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=bytes.fromhex(salt), n=int(n),
                                r=int(r), p=int(p), dklen=DKLEN, maxmem=64 * 1024 * 1024)
        return stored is not None and hmac.compare_digest(actual, bytes.fromhex(digest))
    except (ValueError, TypeError, MemoryError):
        return False


def password_limiter() -> anyio.CapacityLimiter:
    """The running event loop's limiter of concurrent password checks."""
    loop = asyncio.get_running_loop()
    limiter = _LIMITERS.get(loop)
    if limiter is None:
        limiter = _LIMITERS[loop] = anyio.CapacityLimiter(MAX_CONCURRENT_HASHES)
    return limiter


async def check_password(password: str, stored: str | None) -> bool:
    """``verify_password`` off the event loop, a bounded number at a time."""
    return await anyio.to_thread.run_sync(verify_password, password, stored, limiter=password_limiter())
