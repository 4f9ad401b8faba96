"""Building blocks of ``hardened.testing.jose``: the key pool, policies, valid signed JWTs, ``sign_raw``.

See :mod:`hardened.testing.jose` for the public facade and docs/jose.md for the catalogue.
"""


from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import strategies as st

from hardened.jose import (
    ClaimsPolicy,
    JWSPolicy,
    JWTPolicy,
    KeySet,
    SigningKey,
    Typ,
    VerifiedJWT,
    b64url_encode,
    media_type,
    verify_jwt,
)
from hardened.jose.algs import sign_bytes

__all__ = [
    "ALGS", "AUDIENCE", "ISSUER", "NOW", "Defect", "SignedJWT", "issuer_keys", "json_values", "jwt_policy", "key_pool",
    "sign_raw", "signing_keys", "typ_spellings", "valid_claims", "valid_jwts",
]

NOW = 1_767_225_600.0
ISSUER = "https://issuer.example"
AUDIENCE = "https://resource.example/mcp"
ALGS = ("ES256", "EdDSA", "PS256")
_POOL = {"ES256": 3, "EdDSA": 3, "PS256": 2}
_REGISTERED = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})


# -- keys and policies ----------------------------------------------------------------------------------------
@functools.cache
def key_pool(alg: str) -> tuple[SigningKey, ...]:
    """The pre-generated signing keys of one algorithm (RSA 2048 for PS256, to keep generation fast)."""
    if alg == "PS256":
        return tuple(SigningKey(rsa.generate_private_key(65537, 2048)) for _ in range(_POOL[alg]))
    return tuple(SigningKey.generate(alg) for _ in range(_POOL[alg]))


@functools.cache
def issuer_keys(algs: tuple[str, ...] = ALGS) -> KeySet:
    """One issuer's key set: the public keys of the whole pool (kid = RFC 7638 thumbprint)."""
    return KeySet(k.public_key for alg in algs for k in key_pool(alg))


@functools.cache
def jwt_policy(typ: str = Typ.ACCESS_TOKEN, *, embedded_jwk: bool = False, algs: tuple[str, ...] = ALGS,
               subject: str | None = None, allow_audience_array: bool = False, max_payload: int = 8192) -> JWTPolicy:
    """The policy samples verify under (cached, so the per-policy header cache is exercised too)."""
    return JWTPolicy(
        jws=JWSPolicy(typ=typ, algorithms=algs, embedded_jwk=embedded_jwk, max_payload=max_payload),
        claims=ClaimsPolicy(issuer=ISSUER, audience=AUDIENCE, subject=subject,
                            allow_audience_array=allow_audience_array),
    )


@functools.cache
def signing_keys(algs: tuple[str, ...] = ALGS) -> st.SearchStrategy[SigningKey]:
    """A key from the pool, of one of ``algs``."""
    return st.tuples(st.sampled_from(algs), st.integers(0, 1)).map(lambda t: key_pool(t[0])[t[1]])


# -- building tokens ------------------------------------------------------------------------------------------
def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def sign_raw(key: Any, alg: str, header: bytes | dict[str, Any], payload: bytes | dict[str, Any]) -> str:
    """A compact JWS over exactly these header and payload octets (dicts are JSON-encoded), signed by ``key``:
    a ``SigningKey`` or any ``cryptography`` private key (so that refused keys can sign too)."""
    head = b64url_encode(header if isinstance(header, bytes) else compact_json(header))
    body = b64url_encode(payload if isinstance(payload, bytes) else compact_json(payload))
    signing_input = f"{head}.{body}".encode("ascii")
    signature = key.sign(signing_input) if isinstance(key, SigningKey) else sign_bytes(alg, key, signing_input)
    return f"{head}.{body}.{b64url_encode(signature)}"


@functools.cache
def typ_spellings(typ: str) -> st.SearchStrategy[str]:
    """Spellings of ``typ`` that are the same media type (RFC 7515 §4.1.9): any case, ``application/`` or not."""
    bare = media_type(typ).removeprefix("application/")
    forms = st.sampled_from([bare, "application/" + bare])
    return st.tuples(forms, st.randoms(use_true_random=False)).map(
        lambda t: "".join(c.upper() if t[1].random() < 0.3 else c for c in t[0]))


@functools.cache
def json_values(max_leaves: int = 4) -> st.SearchStrategy[Any]:
    """I-JSON values (RFC 7493): what a well-formed claim may hold (small, so that tokens stay under 8 KiB)."""
    leaves = (st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
              | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=12), inner, max_size=3), max_leaves=max_leaves)


@functools.cache
@st.composite
def valid_claims(draw: st.DrawFn, now: float = NOW) -> dict[str, Any]:
    """Claims a default :func:`jwt_policy` accepts at ``now``: iat up to 300 s old or 10 s ahead, exp ahead."""
    offset = st.integers(-300, 10) | st.floats(-300, 10)
    claims: dict[str, Any] = {
        "iss": ISSUER, "aud": AUDIENCE, "iat": now + draw(offset), "exp": now + draw(st.integers(1, 3600)),
        "sub": draw(st.text(min_size=1, max_size=40)), "jti": draw(st.text(min_size=1, max_size=40)),
    }
    if draw(st.booleans()):
        claims["nbf"] = now + draw(offset)
    names = st.text(min_size=1, max_size=12).filter(lambda n: n not in _REGISTERED)
    claims.update(draw(st.dictionaries(names, json_values(), max_size=3)))
    return claims


@dataclass(frozen=True)
class SignedJWT:
    """A valid signed JWT with what verifies it: ``policy``, ``keys`` (or an embedded ``jwk``) and ``now``."""

    token: str
    header: dict[str, Any]
    claims: dict[str, Any]
    key: SigningKey
    policy: JWTPolicy
    keys: KeySet | None
    now: float

    def verify(self) -> VerifiedJWT:
        return verify_jwt(self.token, policy=self.policy, keys=self.keys, now=self.now)


@dataclass(frozen=True)
class Defect:
    """A token with one defect, the ``JoseError.code`` it must be refused with, and how to verify it."""

    kind: str
    code: str
    token: Any
    policy: JWTPolicy
    keys: KeySet | None
    now: float

    def verify(self) -> VerifiedJWT:
        return verify_jwt(self.token, policy=self.policy, keys=self.keys, now=self.now)


@functools.cache
@st.composite
def valid_jwts(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW, *, algs: tuple[str, ...] = ALGS,
               embedded_jwk: bool = False) -> SignedJWT:
    """A JWT of kind ``typ`` with random valid claims, signed by a pool key; ``embedded_jwk`` puts the public key
    in the header (as DPoP does, RFC 9449 §4.2) instead of a ``kid``."""
    key = draw(signing_keys(algs))
    header: dict[str, Any] = {"alg": key.alg, "typ": draw(typ_spellings(typ))}
    if embedded_jwk:
        header["jwk"] = dict(key.public_key.jwk)
    else:
        header["kid"] = key.kid
    claims = draw(valid_claims(now))
    policy = jwt_policy(typ, embedded_jwk=embedded_jwk, algs=algs)
    token = sign_raw(key, key.alg, header, claims)
    return SignedJWT(token, header, claims, key, policy, None if embedded_jwk else issuer_keys(algs), now)


def defect_of(sample: SignedJWT, kind: str, code: str, token: Any, **changes: Any) -> Defect:
    return Defect(kind, code, token, changes.get("policy", sample.policy), changes.get("keys", sample.keys),
                  sample.now)


def signed_defect(sample: SignedJWT, kind: str, code: str, header: Any = None, claims: Any = None, **kw: Any) -> Defect:
    token = sign_raw(sample.key, sample.key.alg, sample.header if header is None else header,
                     sample.claims if claims is None else claims)
    return defect_of(sample, kind, code, token, **kw)
