"""User passwords as ``hashlib.scrypt`` hashes (RFC 7914), compared in constant time (NIST SP 800-63B §5.1.1.2).

Format: ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``. An unknown user is checked against a dummy hash so the
answer takes the same time either way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["hash_password", "verify_password"]

N, R, P, DKLEN = 2**14, 8, 1, 32
MAX_PASSWORD = 1024


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
