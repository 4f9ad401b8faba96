"""``private_key_jwt`` client authentication (RFC 7523 §2.2, §3; OIDC Core §9; FAPI 2.0 SP §5.3.2.1).

``verify_client_assertion`` checks, in order:

1. ``client_assertion_type`` is ``urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` (RFC 7523 §2.2);
2. the JWS: alg PS256/ES256/EdDSA, ``kid`` looked up only in this client's registered keys, ``typ``
   ``client-authentication+jwt`` (draft-ietf-oauth-rfc7523bis §4), the generic ``JWT`` or absent, never another
   JWT kind's (a DPoP proof or a software statement is refused);
3. claims (RFC 7523 §3): ``iss`` and ``sub`` both exactly the ``client_id``; ``aud`` exactly the issuer string,
   a single string, not the token endpoint URL (FAPI 2.0 SP §5.3.2.1 item 8, rfc7523bis); ``exp`` in the future;
   ``iat`` at most ``max_age`` old and not beyond the skew ahead; lifetime bounded; ``jti`` present.

Single use of ``jti`` is state: the caller records :func:`assertion_replay_key` in a replay cache until ``exp``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hardened.errors import InvalidClient, JoseError
from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, KeySet, Typ, b64url_decode, loads_object, verify_jwt

__all__ = [
    "JWT_BEARER",
    "ClientAssertionPolicy",
    "VerifiedClientAssertion",
    "assertion_replay_key",
    "unverified_client_id",
    "verify_client_assertion",
]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: The generic type is no JWT kind of its own; every registered kind (DPoP, statement, ...) stays refused.
ACCEPTED_TYPES = (Typ.CLIENT_ASSERTION, "JWT")


@dataclass(frozen=True, slots=True)
class ClientAssertionPolicy:
    """FAPI 2.0 defaults: assertions at most 60 s old, living at most 5 minutes, 10 s future skew."""

    issuer: str
    max_age: float = 60.0
    max_lifetime: float = 300.0
    max_future_skew: float = 10.0
    max_token: int = 4096


@dataclass(frozen=True, slots=True)
class VerifiedClientAssertion:
    client_id: str
    jti: str
    exp: float


def unverified_client_id(assertion: Any) -> str | None:
    """RFC 7523 §3 item 2: the ``sub`` names the client when no ``client_id`` is sent; read only to find keys."""
    try:
        if not isinstance(assertion, str) or len(assertion) > 4096 or assertion.count(".") != 2:
            return None
        payload = loads_object(b64url_decode(assertion.split(".")[1], what="payload"), what="payload", max_bytes=4096)
    except JoseError:
        return None
    sub = payload.get("sub")
    return sub if isinstance(sub, str) and 0 < len(sub) <= 256 else None


def assertion_replay_key(client_id: str, jti: str) -> str:
    """The replay-cache key of one assertion: its ``jti`` is unique per client (RFC 7523 §3 item 7)."""
    return "ca:" + hashlib.sha256(f"{client_id}\x00{jti}".encode()).hexdigest()


def _policy(client_id: str, policy: ClientAssertionPolicy) -> JWTPolicy:
    return JWTPolicy(
        jws=JWSPolicy(typ=ACCEPTED_TYPES, typ_optional=True, max_token=policy.max_token, max_payload=2048),
        claims=ClaimsPolicy(
            issuer=client_id, subject=client_id, audience=policy.issuer, allow_audience_array=False,
            require=("jti",), max_age=policy.max_age, max_lifetime=policy.max_lifetime,
            max_future_skew=policy.max_future_skew,
        ),
    )


def verify_client_assertion(
    form: Mapping[str, str], *, client_id: str, keys: KeySet, policy: ClientAssertionPolicy, now: float
) -> VerifiedClientAssertion:
    """Verify a ``private_key_jwt`` assertion from a token, PAR, introspection or revocation request body."""
    # 1. the assertion type (RFC 7523 §2.2)
    if form.get("client_assertion_type") != JWT_BEARER:
        raise InvalidClient("client_assertion_type must be jwt-bearer")
    # 2-3. signature with this client's keys only, then the claims
    try:
        verified = verify_jwt(form.get("client_assertion"), policy=_policy(client_id, policy), keys=keys, now=now)
    except JoseError as err:
        raise InvalidClient.from_jose(err, "client assertion: ") from None
    jti = verified.claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise InvalidClient("client assertion: jti claim is not a short non-empty string")
    return VerifiedClientAssertion(client_id=client_id, jti=jti, exp=float(verified.claims["exp"]))
