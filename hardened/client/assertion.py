"""Building ``private_key_jwt`` client assertions for an agent (RFC 7523 §2.2, §3; FAPI 2.0 SP §5.3.2.1).

``aud`` is the authorization server's issuer identifier, exactly (never the token endpoint URL); ``typ`` is
``client-authentication+jwt``; ``jti`` is fresh randomness; the assertion lives 60 s.

    form = {"grant_type": "authorization_code", ..., **assertion_params(key, client_id, issuer, now=time.time())}
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from hardened.core.client_assertion import JWT_BEARER
from hardened.jose import SigningKey, Typ

__all__ = ["assertion_params", "build_client_assertion"]


def build_client_assertion(key: SigningKey, client_id: str, issuer: str, *, now: float, lifetime: float = 60.0,
                           jti: str | None = None, extra: Mapping[str, Any] | None = None,
                           typ: str | None = Typ.CLIENT_ASSERTION) -> str:
    """A signed assertion: ``iss`` = ``sub`` = ``client_id``, ``aud`` = ``issuer``, ``iat``, ``exp``, ``jti``."""
    claims: dict[str, Any] = {"iss": client_id, "sub": client_id, "aud": issuer, "iat": int(now),
                              "exp": int(now + lifetime), "jti": jti or secrets.token_urlsafe(16)}
    claims.update(extra or {})
    return key.sign_jws(claims, typ=typ)


def assertion_params(key: SigningKey, client_id: str, issuer: str, *, now: float, **kwargs: Any) -> dict[str, str]:
    """The form parameters of ``private_key_jwt`` (RFC 7523 §2.2)."""
    return {"client_id": client_id, "client_assertion_type": JWT_BEARER,
            "client_assertion": build_client_assertion(key, client_id, issuer, now=now, **kwargs)}
