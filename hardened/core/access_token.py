"""Access and refresh tokens: opaque tokens stored by hash, the phantom token (RFC 7662, RFC 9701) and RFC 9068 JWTs.

- Agents receive **opaque** tokens: 256 random bits (RFC 6749 §10.10, RFC 6750 §5.2), stored only as SHA-256 hash,
  with subject, client, scope, audience, ``cnf`` (RFC 9449 §6.1 / RFC 7800), expiry and the user claims.
- A resource server learns about a token through introspection (RFC 7662 §2.2); an inactive, unknown, expired,
  revoked or other-audience token is exactly ``{"active": false}`` (RFC 7662 §2.2: no more is said).
- The answer is signed as ``token-introspection+jwt`` (RFC 9701 §5).
- Token exchange mints RFC 9068 ``at+jwt`` access tokens (RFC 9068 §2.2, RFC 8693 §4.1 ``act``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hardened.jose import SigningKey, Typ

__all__ = [
    "INACTIVE",
    "TokenRecord",
    "build_at_jwt",
    "build_introspection_jwt",
    "introspection_object",
    "issue_opaque_token",
    "token_hash",
]

INACTIVE: dict[str, Any] = {"active": False}
USER_CLAIMS = ("role", "tenant", "country")


def issue_opaque_token() -> str:
    """256 bits from the OS CSPRNG, base64url (43 characters)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The only form in which a token is stored: hex SHA-256 of its ASCII text."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """One issued token (``kind`` access or refresh), keyed by the hash of its value."""

    token_hash: str
    kind: str
    client_id: str
    subject: str
    scopes: tuple[str, ...]
    audience: str
    jkt: str | None
    issued_at: float
    expires_at: float
    grant_id: str
    claims: Mapping[str, Any] = field(default_factory=dict)
    revoked: bool = False
    tier: str = "baseline"
    instance_jkt: str | None = None  #: the attested client instance, for the attested tier
    x5t: str | None = None  #: RFC 8705 §3.1 ``x5t#S256`` of the client certificate (never together with jkt)

    def active(self, now: float) -> bool:
        return not self.revoked and now < self.expires_at


def introspection_object(record: TokenRecord | None, *, issuer: str, audience: str, now: float) -> dict[str, Any]:
    """RFC 7662 §2.2 for the resource server of ``audience``: active access tokens for that audience, else inactive."""
    if record is None or record.kind != "access" or not record.active(now) or record.audience != audience:
        return dict(INACTIVE)
    obj: dict[str, Any] = {
        "active": True, "iss": issuer, "sub": record.subject, "client_id": record.client_id,
        "scope": " ".join(record.scopes), "aud": record.audience, "iat": int(record.issued_at),
        "exp": int(record.expires_at), "token_type": "DPoP" if record.jkt else "Bearer", "tier": record.tier,
    }
    if record.jkt:
        obj["cnf"] = {"jkt": record.jkt}
    elif record.x5t:  # RFC 8705 §3.2: the certificate binding, for the resource server to compare
        obj["cnf"] = {"x5t#S256": record.x5t}
    obj.update({k: record.claims[k] for k in USER_CLAIMS if k in record.claims})
    return obj


def build_introspection_jwt(obj: Mapping[str, Any], *, key: SigningKey, issuer: str, audience: str, now: float) -> str:
    """RFC 9701 §5: ``iss``, ``aud`` (the resource server), ``iat`` and ``token_introspection``."""
    claims = {"iss": issuer, "aud": audience, "iat": int(now), "token_introspection": dict(obj)}
    return key.sign_jws(claims, typ=Typ.INTROSPECTION)


def build_at_jwt(
    *, key: SigningKey, issuer: str, subject: str, audience: str, client_id: str, scopes: tuple[str, ...],
    jkt: str | None, actor: str, now: float, lifetime: float, claims: Mapping[str, Any] | None = None,
    x5t: str | None = None, prior_actor: Mapping[str, Any] | None = None,
) -> str:
    """RFC 9068 §2.2 claims, RFC 8693 §4.1 ``act``, RFC 9449 §6.1 ``cnf.jkt`` or RFC 8705 §3.1
    ``cnf.x5t#S256`` (exactly one); typ ``at+jwt`` (RFC 9068 §2.1). ``prior_actor`` nests as ``act.act``."""
    if (jkt is None) == (x5t is None):
        raise ValueError("an exchanged token is bound by exactly one of jkt and x5t#S256")
    act: dict[str, Any] = {"sub": actor, **({"act": dict(prior_actor)} if prior_actor else {})}
    body: dict[str, Any] = {
        "iss": issuer, "sub": subject, "aud": audience, "client_id": client_id, "iat": int(now),
        "exp": int(now + lifetime), "jti": secrets.token_urlsafe(16), "scope": " ".join(scopes),
        "act": act, "cnf": {"jkt": jkt} if jkt is not None else {"x5t#S256": x5t},
    }
    body.update({k: v for k, v in (claims or {}).items() if k in USER_CLAIMS})
    return key.sign_jws(body, typ=Typ.ACCESS_TOKEN)
