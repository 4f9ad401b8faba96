"""Hypothesis strategies for ``hardened.jose``: valid signed JWTs and every defect class a verifier must refuse.

Reuse them against any JWT verifier (``hardened``'s or your own)::

    from hypothesis import given
    from hardened.testing.jose import valid_jwts, defects

    @given(valid_jwts(typ="at+jwt"))
    def test_accepts(sample):
        sample.verify()                      # verify_jwt(sample.token, policy=sample.policy, keys=sample.keys, ...)

    @given(defects())
    def test_refuses(defect):
        with pytest.raises(JoseError) as err:
            defect.verify()
        assert err.value.code == defect.code

Keys come from a small pool generated once per process (lazily: RSA generation is slow), so a ``KeySet`` of the
whole pool (:func:`issuer_keys`) verifies every sample. Times are relative to :data:`NOW` (2026-01-01T00:00:00Z,
``hardened.clock.FixedClock``'s default). Each defect strategy is listed in :data:`DEFECTS` with the
``JoseError.code`` it must produce (docs/jose.md has the table).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from hardened.jose import Typ
from hardened.testing.jose_claim_defects import bad_time_claim, claim_mismatch, expired, future_claim, wrong_key
from hardened.testing.jose_defects import (
    alg_none,
    alg_not_allowed,
    b64_header,
    crit,
    duplicate_members,
    ec_bad_point,
    forbidden_header,
    json_bom,
    json_serialization,
    key_mismatch,
    non_canonical_b64,
    non_object_payload,
    not_compact_jws,
    okp_bad_point,
    oversize,
    private_members,
    rsa_too_small,
    wrong_typ,
)
from hardened.testing.jose_tokens import (
    ALGS,
    AUDIENCE,
    ISSUER,
    NOW,
    Defect,
    SignedJWT,
    issuer_keys,
    json_values,
    jwt_policy,
    key_pool,
    sign_raw,
    signing_keys,
    typ_spellings,
    valid_claims,
    valid_jwts,
)

__all__ = [
    "ALGS", "AUDIENCE", "DEFECTS", "ISSUER", "NOW", "Defect", "SignedJWT", "alg_none", "alg_not_allowed",
    "b64_header", "bad_time_claim", "claim_mismatch", "crit", "defects", "duplicate_members", "ec_bad_point",
    "expired", "forbidden_header", "future_claim", "issuer_keys", "json_bom", "json_serialization", "json_values",
    "jwt_policy", "key_mismatch", "key_pool", "non_canonical_b64", "non_object_payload", "not_compact_jws",
    "okp_bad_point", "oversize", "private_members", "rsa_too_small", "sign_raw", "signing_keys", "typ_spellings",
    "valid_claims", "valid_jwts", "wrong_key", "wrong_typ",
]

#: Every defect class of issue 2 §3: name -> (strategy factory taking ``typ`` and ``now``, the code it must raise).
DEFECTS: dict[str, tuple[Any, str]] = {
    "alg_none": (alg_none, "ERR_JWS_ALG_NOT_ALLOWED"),
    "alg_not_allowed": (alg_not_allowed, "ERR_JWS_ALG_NOT_ALLOWED"),
    "key_mismatch": (key_mismatch, "ERR_JWK_NOT_FOUND | ERR_JWK_INVALID"),
    "wrong_typ": (wrong_typ, "ERR_JWS_TYP"),
    "oversize": (oversize, "ERR_TOO_LARGE"),
    "forbidden_header": (forbidden_header, "ERR_JWS_HEADER"),
    "crit": (crit, "ERR_JWS_CRIT"),
    "b64": (b64_header, "ERR_JWS_HEADER | ERR_JWS_CRIT"),
    "duplicate_members": (duplicate_members, "ERR_JSON_DUPLICATE"),
    "non_canonical_b64": (non_canonical_b64, "ERR_B64"),
    "json_bom": (json_bom, "ERR_JSON"),
    "json_serialization": (json_serialization, "ERR_JWS_MALFORMED"),
    "not_compact_jws": (not_compact_jws, "ERR_JWS_MALFORMED"),
    "non_object_payload": (non_object_payload, "ERR_JSON"),
    "rsa_too_small": (rsa_too_small, "ERR_JWK_INVALID"),
    "ec_bad_point": (ec_bad_point, "ERR_JWK_INVALID"),
    "okp_bad_point": (okp_bad_point, "ERR_JWK_INVALID"),
    "private_members": (private_members, "ERR_JWK_INVALID"),
    "bad_time_claim": (bad_time_claim, "ERR_JWT_CLAIM_INVALID | ERR_JSON"),
    "future_claim": (future_claim, "ERR_JWT_NOT_YET_VALID"),
    "expired": (expired, "ERR_JWT_EXPIRED"),
    "claim_mismatch": (claim_mismatch, "ERR_JWT_ISSUER | ERR_JWT_SUBJECT | ERR_JWT_AUDIENCE | ERR_JWT_CLAIM_*"),
    "wrong_key": (wrong_key, "ERR_JWS_SIGNATURE_INVALID | ERR_JWK_NOT_FOUND"),
}


def defects(typ: str = Typ.ACCESS_TOKEN, now: float = NOW, *, kinds: tuple[str, ...] | None = None
            ) -> st.SearchStrategy[Defect]:
    """Any defect of ``kinds`` (default: all of :data:`DEFECTS`) in a JWT of kind ``typ``."""
    names = kinds or tuple(DEFECTS)
    return st.one_of(*(DEFECTS[name][0](typ, now) for name in names))
