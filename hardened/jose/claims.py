"""JWT claim checks (RFC 7519 §4.1) against an injected ``now``, with the FAPI 2.0 SP §5.3.2.1 clock rules.

Asking for a check makes its claim required: an expected ``issuer`` requires ``iss``, a ``max_age`` requires
``iat``. Times must be finite JSON numbers (never strings, booleans or ``1e400``); ``iss``/``sub``/``aud`` are
compared as exact strings; an ``aud`` array is accepted only where the policy allows it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from hardened.errors import JoseError
from hardened.jose.jws import JWSPolicy, VerifiedJWS, verify_jws
from hardened.jose.keys import KeySet

__all__ = ["ClaimsPolicy", "JWTPolicy", "VerifiedJWT", "check_claims", "numeric_date", "string_claim", "verify_jwt"]

#: 9999-12-31T23:59:59Z: a NumericDate beyond this is treated as malformed.
MAX_NUMERIC_DATE = 253_402_300_799
FAPI_MAX_FUTURE_SKEW = 60.0
_new = object.__new__
_set = object.__setattr__


def _is_number(value: Any) -> bool:
    kind = type(value)
    return (kind is int or kind is float) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class ClaimsPolicy:
    """Claim rules for one JWT kind. ``max_future_skew`` is capped at FAPI's 60 s."""

    issuer: str | None = None
    audience: str | None = None
    allow_audience_array: bool = False
    subject: str | None = None
    require: Collection[str] = ()
    require_exp: bool = True
    require_iat: bool = True
    max_age: float | None = None
    max_future_skew: float = 10.0
    max_lifetime: float | None = None

    def __post_init__(self) -> None:
        if not _is_number(self.max_future_skew) or not 0 <= self.max_future_skew <= FAPI_MAX_FUTURE_SKEW:
            raise JoseError("ERR_POLICY", "max_future_skew must be between 0 and 60 seconds")
        for name in ("max_age", "max_lifetime"):
            value = getattr(self, name)
            if value is not None and (not _is_number(value) or value < 0):
                raise JoseError("ERR_POLICY", f"{name} must be a non-negative number")
        for name in ("issuer", "audience", "subject"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise JoseError("ERR_POLICY", f"{name} must be a non-empty string")
        if isinstance(self.require, str) or not all(isinstance(n, str) for n in self.require):
            raise JoseError("ERR_POLICY", "require must be a collection of claim names")


@dataclass(frozen=True, slots=True)
class JWTPolicy:
    """A JWT kind: how its JWS is verified and which claims it must carry."""

    jws: JWSPolicy
    claims: ClaimsPolicy = ClaimsPolicy()


@dataclass(frozen=True, slots=True)
class VerifiedJWT:
    """A JWT whose signature (``jws``) and claims verified; ``header`` and ``claims`` are the caller's own copies."""

    header: dict[str, Any]
    claims: dict[str, Any]
    jws: VerifiedJWS


def _claim_error(name: str, description: str, code: str = "ERR_JWT_CLAIM_INVALID") -> JoseError:
    return JoseError(code, description, claim=name)


def numeric_date(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    """RFC 7519 §2 NumericDate: a finite JSON number between 0 and year 9999. Booleans are not numbers."""
    if name not in claims:
        if required:
            raise _claim_error(name, f"{name} claim is required", "ERR_JWT_CLAIM_MISSING")
        return None
    value = claims[name]
    kind = type(value)
    if kind is not int and kind is not float:  # exactly a JSON number: bool (an int subclass) is refused here
        raise _claim_error(name, f"{name} claim is not a number")
    if not 0 <= value <= MAX_NUMERIC_DATE:  # NaN compares false and infinities are out of range: both refused
        raise _claim_error(name, f"{name} claim is not a finite number in range")
    return float(value)


def string_claim(claims: Mapping[str, Any], name: str, *, required: bool, max_len: int = 2048) -> str | None:
    """A claim that must be a non-empty string of bounded length."""
    if name not in claims:
        if required:
            raise _claim_error(name, f"{name} claim is required", "ERR_JWT_CLAIM_MISSING")
        return None
    value = claims[name]
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise _claim_error(name, f"{name} claim is not a non-empty string of at most {max_len} characters")
    return value


def _check_audience(claims: Mapping[str, Any], policy: ClaimsPolicy) -> None:
    if "aud" not in claims:
        raise _claim_error("aud", "aud claim is required", "ERR_JWT_CLAIM_MISSING")
    aud = claims["aud"]
    if isinstance(aud, str):
        ok = aud == policy.audience
    elif isinstance(aud, list) and policy.allow_audience_array:
        ok = 0 < len(aud) <= 16 and all(isinstance(a, str) for a in aud) and policy.audience in aud
    else:
        raise _claim_error("aud", "aud claim must be a single string")
    if not ok:
        raise _claim_error("aud", "aud claim does not name this recipient", "ERR_JWT_AUDIENCE")


def check_claims(claims: Mapping[str, Any], *, policy: ClaimsPolicy, now: float) -> None:
    """Check registered claims under ``policy`` at time ``now``; raise JoseError naming the failed claim."""
    if type(claims) is not dict and not isinstance(claims, Mapping):
        raise JoseError("ERR_JSON", "claims are not a JSON object")
    if not _is_number(now):
        raise JoseError("ERR_POLICY", "now must be a finite number")
    for name in policy.require:
        if name not in claims or claims[name] is None:
            raise _claim_error(name, f"{name} claim is required", "ERR_JWT_CLAIM_MISSING")
    exp = numeric_date(claims, "exp", required=policy.require_exp)
    iat = numeric_date(claims, "iat", required=policy.require_iat or policy.max_age is not None)
    nbf = numeric_date(claims, "nbf", required=False)
    if exp is not None and now >= exp:
        raise _claim_error("exp", "token has expired", "ERR_JWT_EXPIRED")
    # FAPI 2.0 SP §5.3.2.1: up to 10 s (policy) in the future is accepted, beyond is refused.
    if iat is not None and iat - now > policy.max_future_skew:
        raise _claim_error("iat", "iat claim is in the future", "ERR_JWT_NOT_YET_VALID")
    if nbf is not None and nbf - now > policy.max_future_skew:
        raise _claim_error("nbf", "nbf claim is in the future", "ERR_JWT_NOT_YET_VALID")
    if policy.max_age is not None and iat is not None and now - iat > policy.max_age:
        raise _claim_error("iat", "token is too old", "ERR_JWT_TOO_OLD")
    if policy.max_lifetime is not None and exp is not None and iat is not None and exp - iat > policy.max_lifetime:
        raise _claim_error("exp", "token lifetime is too long", "ERR_JWT_CLAIM_INVALID")
    if policy.issuer is not None and string_claim(claims, "iss", required=True) != policy.issuer:
        raise _claim_error("iss", "iss claim is not the expected issuer", "ERR_JWT_ISSUER")
    if policy.subject is not None and string_claim(claims, "sub", required=True) != policy.subject:
        raise _claim_error("sub", "sub claim is not the expected subject", "ERR_JWT_SUBJECT")
    if policy.audience is not None:
        _check_audience(claims, policy)


def verify_jwt(token: Any, *, policy: JWTPolicy, now: float, keys: KeySet | None = None) -> VerifiedJWT:
    """Verify a JWT's signature (``verify_jws``) and then its claims (``check_claims``)."""
    if not isinstance(policy, JWTPolicy):
        raise JoseError("ERR_POLICY", "policy is not a JWTPolicy")
    verified = verify_jws(token, policy=policy.jws, keys=keys)
    check_claims(verified.payload, policy=policy.claims, now=now)
    result = _new(VerifiedJWT)  # the generated __init__ without its keyword handling: same fields, still frozen
    _set(result, "header", verified.header)
    _set(result, "claims", verified.payload)
    _set(result, "jws", verified)
    return result
