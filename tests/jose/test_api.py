"""The public API of hardened.jose is pinned: other components code against it (docs/CONTRACTS.md)."""

from __future__ import annotations

import hardened.jose
import hardened.testing.jose

PINNED = [
    "ALGORITHMS", "ClaimsPolicy", "JWSPolicy", "JWTPolicy", "KeySet", "PinnedKey", "PublicKey", "SigningKey", "Typ",
    "VerifiedJWS",
    "VerifiedJWT", "b64url_decode", "b64url_encode", "canonical_json", "check_claims", "loads_object", "media_type",
    "numeric_date", "public_key_from_jwk", "string_claim", "thumbprint", "verify_jws", "verify_jwt",
]


def test_jose_all_is_pinned() -> None:
    assert sorted(hardened.jose.__all__) == sorted(PINNED)
    for name in hardened.jose.__all__:
        assert getattr(hardened.jose, name) is not None


def test_testing_exports_exist() -> None:
    for name in hardened.testing.jose.__all__:
        assert hasattr(hardened.testing.jose, name), name


def test_only_the_three_fapi_algorithms() -> None:
    assert sorted(hardened.jose.ALGORITHMS) == ["ES256", "EdDSA", "PS256"]
