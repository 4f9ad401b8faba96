"""Validating the exchanged JWT access tokens an upstream API receives (RFC 9068 §4, RFC 8693 §4.1, RFC 9449 §6.1).

``verify_upstream_token`` is pure: ``typ: at+jwt`` (RFC 9068 §2.1, §4 step 1), a signature by the AS's keys with
PS256/ES256/EdDSA only (HP-DEC-01), ``iss`` exactly the AS, ``aud`` naming this API, ``exp``/``iat`` under the
FAPI clock rules, the RFC 9068 §2.2 required claims (``sub``, ``client_id``, ``jti``), a ``cnf.jkt`` binding
(the caller must prove the key, RFC 9449 §7), and only the allow-listed clients (the MCP servers, a required
setting) as the requesting party. Every failure is ``InvalidToken``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hardened.errors import ConfigurationError, InvalidToken, JoseError
from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, KeySet, Typ, verify_jwt

__all__ = ["UpstreamTokenPolicy", "VerifiedUpstreamToken", "verify_upstream_token"]


@dataclass(frozen=True, slots=True)
class UpstreamTokenPolicy:
    issuer: str
    audience: str
    clients: frozenset[str] = frozenset()  # allowed client_id (the MCP servers); required, never "any"
    max_lifetime: float = 3600.0
    algorithms: tuple[str, ...] = ("PS256", "ES256", "EdDSA")

    def __post_init__(self) -> None:
        # MCP Security Best Practices §Token Passthrough: only tokens the MCP servers obtained (bound to their keys)
        # reach this API; an empty allow-list would accept any client's token for this audience (fail closed).
        if not self.clients:
            raise ConfigurationError("name the clients (the MCP servers) allowed to call this API")


@dataclass(frozen=True, slots=True)
class VerifiedUpstreamToken:
    subject: str
    client_id: str
    scopes: frozenset[str]
    jkt: str
    expires_at: float
    actor: str | None
    claims: Mapping[str, Any] = field(default_factory=dict)


def _invalid(detail: str) -> InvalidToken:
    return InvalidToken("the access token is not valid for this API", detail=detail)


def verify_upstream_token(
    token: Any, *, policy: UpstreamTokenPolicy, keys: KeySet, now: float
) -> VerifiedUpstreamToken:
    jwt_policy = JWTPolicy(
        jws=JWSPolicy(typ=Typ.ACCESS_TOKEN, algorithms=policy.algorithms),
        claims=ClaimsPolicy(issuer=policy.issuer, audience=policy.audience, allow_audience_array=True,
                            require=("sub", "client_id", "jti"), max_lifetime=policy.max_lifetime),
    )
    try:
        claims = verify_jwt(token, policy=jwt_policy, keys=keys, now=now).claims
    except JoseError as err:
        raise _invalid(err.code) from None
    subject, client_id, scope = claims["sub"], claims["client_id"], claims.get("scope", "")
    if not isinstance(subject, str) or not isinstance(client_id, str) or not isinstance(scope, str):
        raise _invalid("sub, client_id and scope must be strings")
    if policy.clients and client_id not in policy.clients:
        raise _invalid("client_id is not an allowed caller")
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if not isinstance(jkt, str) or "x5t#S256" in cnf:  # type: ignore[operator]
        raise _invalid("the token is not DPoP-bound (cnf.jkt)")
    act = claims.get("act")
    actor = act.get("sub") if isinstance(act, dict) and isinstance(act.get("sub"), str) else None
    return VerifiedUpstreamToken(subject=subject, client_id=client_id, scopes=frozenset(scope.split()), jkt=jkt,
                                 expires_at=float(claims["exp"]), actor=actor, claims=claims)
