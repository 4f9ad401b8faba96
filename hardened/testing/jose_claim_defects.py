"""Defect classes of JWT claims and key lookup (issue 2 §3): NumericDates, the clock window, iss/sub/aud, the
wrong key. Each strategy's docstring names the ``JoseError.code`` it must produce.
"""

from __future__ import annotations

from hypothesis import strategies as st

from hardened.jose import Typ
from hardened.testing.jose_defects import base_sample
from hardened.testing.jose_tokens import (
    AUDIENCE,
    ISSUER,
    NOW,
    Defect,
    compact_json,
    defect_of,
    jwt_policy,
    key_pool,
    sign_raw,
    signed_defect,
)

#: Values of exp/nbf/iat that are not a NumericDate, with the code each must produce.
_BAD_TIMES: tuple[tuple[bytes, str], ...] = (
    (b'"1767225600"', "ERR_JWT_CLAIM_INVALID"), (b"true", "ERR_JWT_CLAIM_INVALID"),
    (b"false", "ERR_JWT_CLAIM_INVALID"), (b"null", "ERR_JWT_CLAIM_INVALID"), (b"[1767225600]", "ERR_JWT_CLAIM_INVALID"),
    (b'{"t":1}', "ERR_JWT_CLAIM_INVALID"), (b"-1", "ERR_JWT_CLAIM_INVALID"), (b"253402300800", "ERR_JWT_CLAIM_INVALID"),
    (b'""', "ERR_JWT_CLAIM_INVALID"), (b"1e400", "ERR_JSON"), (b"-1e400", "ERR_JSON"), (b"NaN", "ERR_JSON"),
    (b"Infinity", "ERR_JSON"), (b"-Infinity", "ERR_JSON"), (b"1" + b"0" * 30, "ERR_JSON"), (b"1767225600.", "ERR_JSON"),
)


@st.composite
def bad_time_claim(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``exp``/``nbf``/``iat`` as a string, boolean, null, list, object, negative, past year 9999
    (``ERR_JWT_CLAIM_INVALID``), or as ``1e400``, ``NaN``, ``Infinity`` or a huge integer (``ERR_JSON``: not an
    I-JSON number, RFC 7493 §2.2)."""
    s = base_sample(draw, typ, now)
    name = draw(st.sampled_from(["exp", "nbf", "iat"]))
    literal, code = draw(st.sampled_from(_BAD_TIMES))
    rest = {k: v for k, v in s.claims.items() if k != name}
    claims = compact_json(rest)[:-1] + b"," + compact_json(name) + b":" + literal + b"}"
    return signed_defect(s, "bad_time_claim", code, claims=claims)


@st.composite
def future_claim(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``iat`` or ``nbf`` more than the policy's skew (10 s) ahead of ``now``: ``ERR_JWT_NOT_YET_VALID``."""
    s = base_sample(draw, typ, now)
    ahead = now + 10 + draw(st.integers(1, 10**6) | st.floats(0.001, 10**6))
    name = draw(st.sampled_from(["iat", "nbf"]))
    claims = {**s.claims, name: ahead, "exp": max(s.claims["exp"], ahead + 60)}
    return signed_defect(s, "future_claim", "ERR_JWT_NOT_YET_VALID", claims=claims)


@st.composite
def expired(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``exp`` at or before ``now`` (RFC 7519 §4.1.4: now must be before exp): ``ERR_JWT_EXPIRED``."""
    s = base_sample(draw, typ, now)
    exp = now - draw(st.integers(0, 10**6) | st.floats(0, 10**6))
    claims = {k: v for k, v in {**s.claims, "exp": exp, "iat": exp - 60}.items() if k != "nbf"}
    return signed_defect(s, "expired", "ERR_JWT_EXPIRED", claims=claims)


def _near_misses(value: str) -> list[str]:
    return [value + "/", value.upper(), value.replace("https://", "http://"), value + " ", " " + value,
            value[:-1], value + "#", value + "?", value.replace("example", "examp1e"), value + "\u0000"]


@st.composite
def claim_mismatch(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``iss``/``sub``/``aud`` other than expected, even by one character (``ERR_JWT_ISSUER``, ``ERR_JWT_SUBJECT``,
    ``ERR_JWT_AUDIENCE``); not a string, or an ``aud`` array where none is allowed (``ERR_JWT_CLAIM_INVALID``); an
    allowed ``aud`` array without us (``ERR_JWT_AUDIENCE``); ``iss``/``aud`` missing (``ERR_JWT_CLAIM_MISSING``)."""
    s = base_sample(draw, typ, now)
    how = draw(st.sampled_from(["iss", "sub", "aud", "aud_array", "aud_array_allowed", "mistyped", "missing"]))
    if how == "iss":
        value = draw(st.sampled_from(_near_misses(ISSUER)) | st.text(max_size=30).filter(lambda v: v != ISSUER))
        return signed_defect(s, "claim_mismatch", "ERR_JWT_ISSUER" if value else "ERR_JWT_CLAIM_INVALID",
                       claims={**s.claims, "iss": value})
    if how == "sub":
        expected = s.claims["sub"]
        value = draw(st.text(min_size=1, max_size=30).filter(lambda v: v != expected))
        return signed_defect(s, "claim_mismatch", "ERR_JWT_SUBJECT", claims={**s.claims, "sub": value},
                       policy=jwt_policy(typ, subject=expected))
    if how == "aud":
        value = draw(st.sampled_from(_near_misses(AUDIENCE)) | st.text(max_size=30).filter(lambda v: v != AUDIENCE))
        return signed_defect(s, "claim_mismatch", "ERR_JWT_AUDIENCE", claims={**s.claims, "aud": value})
    if how == "aud_array":
        value = draw(st.lists(st.text(max_size=20), max_size=3).map(lambda v: [AUDIENCE, *v]))
        return signed_defect(s, "claim_mismatch", "ERR_JWT_CLAIM_INVALID", claims={**s.claims, "aud": value})
    if how == "aud_array_allowed":
        value = draw(st.lists(st.sampled_from(_near_misses(AUDIENCE)), max_size=3))
        return signed_defect(s, "claim_mismatch", "ERR_JWT_AUDIENCE", claims={**s.claims, "aud": value},
                       policy=jwt_policy(typ, allow_audience_array=True))
    name = draw(st.sampled_from(["iss", "aud"]))
    if how == "missing":
        claims = {k: v for k, v in s.claims.items() if k != name}
        return signed_defect(s, "claim_mismatch", "ERR_JWT_CLAIM_MISSING", claims=claims)
    value = draw(st.sampled_from([None, 1, True, {"iss": ISSUER}, [ISSUER]] if name == "iss" else [None, 1, {}]))
    return signed_defect(s, "claim_mismatch", "ERR_JWT_CLAIM_INVALID", claims={**s.claims, name: value})


@st.composite
def wrong_key(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """Signed by another key of the same alg under this key's ``kid`` (``ERR_JWS_SIGNATURE_INVALID``), or a
    ``kid`` not in the issuer's set (``ERR_JWK_NOT_FOUND``)."""
    s = base_sample(draw, typ, now)
    if draw(st.booleans()):
        token = sign_raw(s.key, s.key.alg, {**s.header, "kid": "x" + s.key.kid}, s.claims)
        return defect_of(s, "wrong_key", "ERR_JWK_NOT_FOUND", token)
    other = next(k for k in key_pool(s.key.alg) if k.kid != s.key.kid)
    return defect_of(s, "wrong_key", "ERR_JWS_SIGNATURE_INVALID", sign_raw(other, other.alg, s.header, s.claims))
