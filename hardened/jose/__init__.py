"""hardened.jose: the only package that imports jwcrypto. Strict JWS/JWK/JWT for PS256, ES256 and EdDSA.

Public facade::

    from hardened.jose import SigningKey, KeySet, JWSPolicy, ClaimsPolicy, JWTPolicy, Typ, verify_jwt

    key = SigningKey.generate("ES256")
    token = key.sign_jws({"iss": "https://as.example", "exp": now + 60, "iat": now}, typ=Typ.ACCESS_TOKEN)
    policy = JWTPolicy(jws=JWSPolicy(typ=Typ.ACCESS_TOKEN), claims=ClaimsPolicy(issuer="https://as.example"))
    verified = verify_jwt(token, policy=policy, keys=KeySet([key.public_key]), now=now)
"""

from hardened.jose.algs import ALGORITHMS
from hardened.jose.claims import (
    ClaimsPolicy,
    JWTPolicy,
    VerifiedJWT,
    check_claims,
    numeric_date,
    string_claim,
    verify_jwt,
)
from hardened.jose.encoding import b64url_decode, b64url_encode, canonical_json, loads_object
from hardened.jose.jws import JWSPolicy, VerifiedJWS, verify_jws
from hardened.jose.keys import KeySet, PinnedKey, PublicKey, public_key_from_jwk, thumbprint
from hardened.jose.kinds import Typ, media_type
from hardened.jose.signing import SigningKey

__all__ = [
    "ALGORITHMS",
    "ClaimsPolicy",
    "JWSPolicy",
    "JWTPolicy",
    "KeySet",
    "PinnedKey",
    "PublicKey",
    "SigningKey",
    "Typ",
    "VerifiedJWS",
    "VerifiedJWT",
    "b64url_decode",
    "b64url_encode",
    "canonical_json",
    "check_claims",
    "loads_object",
    "media_type",
    "numeric_date",
    "public_key_from_jwk",
    "string_claim",
    "thumbprint",
    "verify_jws",
    "verify_jwt",
]
