"""Software statements (RFC 7591 §2.3) signed by a trusted authority, verified for registration (hardened HP-SS).

``verify_software_statement`` runs, in order:

1. bounds: the statement is a string of at most ``policy.max_token`` characters;
2. the unverified ``iss`` picks the authority from the allow-list (exact string match, RFC 7591 §2.3: "the
   authorization server MUST reject statements from issuers it does not trust"); nothing else is read before
   the signature verifies;
3. the JWS: ``typ`` ``software-statement+jwt``, ``alg`` on the policy list (PS256, ES256, EdDSA), ``kid`` looked
   up only in that authority's pinned :class:`~hardened.jose.KeySet`, signature (RFC 7515 §5.2 via hardened.jose);
4. time: ``exp`` in the future, ``iat`` not more than the skew ahead and at most ``policy.max_age`` old, lifetime
   ``exp - iat`` at most ``policy.max_lifetime`` (RFC 7519 §4.1.4, §4.1.6; FAPI 2.0 SP §5.3.2.1);
5. claims: every required claim present with its exact JSON type and an allowed value (see ``specs/software-
   statement.md``); RFC 7591 §2 metadata names for the client metadata;
6. acceptance: the tier and sender constraint must be ones this deployment accepts.

Steps 1-5 fail with ``invalid_software_statement`` (malformed, unsigned, badly signed, expired, untrusted); step 6
with ``unapproved_software_statement`` (valid, but not approved here). Revocation is a port the AS calls next:
:mod:`hardened.ports.statement_status`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from hardened.core.statement_claims import StatementMetadata, parse_statement_metadata
from hardened.errors import InvalidSoftwareStatement, JoseError, UnapprovedSoftwareStatement
from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, KeySet, Typ, b64url_decode, loads_object, verify_jwt

__all__ = [
    "TIERS",
    "SoftwareStatementPolicy",
    "TrustedAuthority",
    "VerifiedSoftwareStatement",
    "unverified_issuer",
    "verify_software_statement",
]

TIERS = ("baseline", "hardened", "attested")
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class TrustedAuthority:
    """An authority this AS trusts: its exact issuer identifier and its pinned (or freshly fetched) JWKS."""

    issuer: str
    keys: KeySet


@dataclass(frozen=True, slots=True)
class SoftwareStatementPolicy:
    """What this AS accepts. Defaults: FAPI 2.0 algorithms, 10 s future skew, statements at most 366 days long."""

    algorithms: tuple[str, ...] = ("PS256", "ES256", "EdDSA")
    max_lifetime: float = 366 * DAY
    max_age: float = 366 * DAY
    max_future_skew: float = 10.0
    max_token: int = 16_384
    max_payload: int = 12_288
    accepted_tiers: Collection[str] = ("hardened", "attested")
    accepted_sender_constraints: Collection[str] = ("dpop", "mtls")
    require_status: bool = True

    def __post_init__(self) -> None:
        try:
            JWSPolicy(typ=Typ.SOFTWARE_STATEMENT, algorithms=self.algorithms)
            ClaimsPolicy(max_future_skew=self.max_future_skew)
        except JoseError as exc:
            raise ValueError(exc.description) from None
        if self.max_lifetime <= 0 or self.max_age <= 0 or not 0 < self.max_payload <= self.max_token:
            raise ValueError("statement lifetime, age and size limits must be positive")
        if not set(self.accepted_tiers) <= set(TIERS):
            raise ValueError(f"accepted_tiers must be drawn from {TIERS}")


@dataclass(frozen=True, slots=True)
class VerifiedSoftwareStatement:
    """A statement whose signature, freshness and claims verified; claims typed (specs/software-statement.md)."""

    issuer: str
    jti: str
    iat: float
    exp: float
    kid: str
    alg: str
    metadata: StatementMetadata
    claims: Mapping[str, Any] = field(repr=False)

    # Shortcuts to the fields an AS reads most.
    @property
    def software_id(self) -> str:
        return self.metadata.software_id

    @property
    def org_id(self) -> str:
        return self.metadata.org_id

    @property
    def hardened_tier(self) -> str:
        return self.metadata.hardened_tier

    @property
    def sender_constraint(self) -> str:
        return self.metadata.sender_constraint

    @property
    def attestation_required(self) -> bool:
        return self.metadata.attestation_required


def _invalid(description: str, detail: str = "") -> InvalidSoftwareStatement:
    return InvalidSoftwareStatement(description, detail=detail)


def unverified_issuer(jwt: Any, *, max_token: int = 16_384, max_payload: int = 12_288) -> str:
    """The ``iss`` of a compact JWS read *before* verification, only to choose which keys to verify with."""
    if not isinstance(jwt, str) or len(jwt) > max_token:
        raise _invalid("software statement is not a string of bounded length")
    parts = jwt.split(".")
    if len(parts) != 3:
        raise _invalid("software statement is not a compact JWS")
    try:
        payload = loads_object(b64url_decode(parts[1], what="payload"), what="payload", max_bytes=max_payload)
    except JoseError as exc:
        raise InvalidSoftwareStatement.from_jose(exc, "software statement: ") from None
    iss = payload.get("iss")
    if not isinstance(iss, str) or not iss or len(iss) > 2048:
        raise _invalid("software statement has no iss claim")
    return iss


def _authority(issuer: str, trusted: Sequence[TrustedAuthority]) -> TrustedAuthority:
    for authority in trusted:
        if authority.issuer == issuer:
            return authority
    raise _invalid("software statement issuer is not a trusted authority", detail="untrusted issuer")


def _jwt_policy(issuer: str, policy: SoftwareStatementPolicy) -> JWTPolicy:
    jws = JWSPolicy(typ=Typ.SOFTWARE_STATEMENT, algorithms=policy.algorithms, max_token=policy.max_token,
                    max_payload=policy.max_payload)
    claims = ClaimsPolicy(issuer=issuer, require=("jti",), max_age=policy.max_age, max_lifetime=policy.max_lifetime,
                          max_future_skew=policy.max_future_skew)
    return JWTPolicy(jws=jws, claims=claims)


def _check_acceptance(meta: StatementMetadata, policy: SoftwareStatementPolicy) -> None:
    """Step 6: a valid statement for a tier or binding this AS does not accept is not approved here."""
    if meta.hardened_tier not in policy.accepted_tiers:
        raise UnapprovedSoftwareStatement("software statement tier is not accepted here")
    if meta.sender_constraint not in policy.accepted_sender_constraints:
        raise UnapprovedSoftwareStatement("software statement sender constraint is not accepted here")


def verify_software_statement(
    jwt: Any, *, trusted_authorities: Sequence[TrustedAuthority], policy: SoftwareStatementPolicy, now: float
) -> VerifiedSoftwareStatement:
    """Verify a software statement (RFC 7591 §2.3, §3.1.1) under the hardened profile; see the module doc."""
    # 1-2. bounded input; the issuer picks the authority and its keys.
    issuer = unverified_issuer(jwt, max_token=policy.max_token, max_payload=policy.max_payload)
    authority = _authority(issuer, trusted_authorities)
    # 3-4. JWS and registered claims against the injected clock.
    try:
        verified = verify_jwt(jwt, policy=_jwt_policy(issuer, policy), now=now, keys=authority.keys)
        jti = verified.claims["jti"]
        if not isinstance(jti, str) or not 16 <= len(jti) <= 128:
            raise JoseError("ERR_JWT_CLAIM_INVALID", "jti claim is not a string of 16 to 128 characters", claim="jti")
    except JoseError as exc:
        raise InvalidSoftwareStatement.from_jose(exc, "software statement: ") from None
    # 5. the statement's own claims, typed.
    meta = parse_statement_metadata(verified.claims)
    if policy.require_status and meta.status is None:
        raise _invalid("software statement has no status claim")
    # 6. acceptance here.
    _check_acceptance(meta, policy)
    return VerifiedSoftwareStatement(
        issuer=issuer, jti=jti, iat=float(verified.claims["iat"]), exp=float(verified.claims["exp"]),
        kid=verified.jws.key.kid or verified.jws.key.thumbprint, alg=verified.jws.key.alg, metadata=meta,
        claims=MappingProxyType(verified.claims),
    )
