"""PKCE (RFC 7636) with S256 only (FAPI 2.0 SP §5.3.2.2 item 5; OAuth 2.1 §4.1.1).

``plain`` is refused. A ``code_verifier`` is 43-128 unreserved characters (RFC 7636 §4.1); a ``code_challenge`` is
the base64url SHA-256 of it, 43 characters (RFC 7636 §4.2). The comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from hardened.errors import InvalidGrant, InvalidRequest
from hardened.jose import b64url_encode

__all__ = ["S256", "check_code_challenge", "code_challenge_of", "verify_code_verifier"]

S256 = "S256"
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


def code_challenge_of(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))."""
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


def check_code_challenge(challenge: object, method: object) -> None:
    """RFC 7636 §4.3 at the authorization (PAR) request: a challenge is required and the method is S256."""
    if challenge is None:
        raise InvalidRequest("code_challenge is required (PKCE)")
    if method != S256:
        raise InvalidRequest("code_challenge_method must be S256")
    if not isinstance(challenge, str) or not _CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("code_challenge is not a base64url SHA-256 value")


def verify_code_verifier(verifier: object, *, challenge: str) -> None:
    """RFC 7636 §4.6 at the token endpoint: the verifier must hash to the stored challenge."""
    if not isinstance(verifier, str) or not _VERIFIER.fullmatch(verifier):
        raise InvalidGrant("code_verifier is missing or malformed")
    if not hmac.compare_digest(code_challenge_of(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
