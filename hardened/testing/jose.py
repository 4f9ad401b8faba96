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

import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import strategies as st

from hardened.jose import (
    ClaimsPolicy,
    JWSPolicy,
    JWTPolicy,
    KeySet,
    SigningKey,
    Typ,
    VerifiedJWT,
    b64url_decode,
    b64url_encode,
    media_type,
    verify_jwt,
)
from hardened.jose.algs import sign_bytes

__all__ = [
    "ALGS", "AUDIENCE", "DEFECTS", "ISSUER", "NOW", "Defect", "SignedJWT", "defects", "issuer_keys", "json_values",
    "jwt_policy", "key_pool", "sign_raw", "signing_keys", "typ_spellings", "valid_claims", "valid_jwts",
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
def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def sign_raw(key: Any, alg: str, header: bytes | dict[str, Any], payload: bytes | dict[str, Any]) -> str:
    """A compact JWS over exactly these header and payload octets (dicts are JSON-encoded), signed by ``key``:
    a ``SigningKey`` or any ``cryptography`` private key (so that refused keys can sign too)."""
    head = b64url_encode(header if isinstance(header, bytes) else _json(header))
    body = b64url_encode(payload if isinstance(payload, bytes) else _json(payload))
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


def _defect(sample: SignedJWT, kind: str, code: str, token: Any, **changes: Any) -> Defect:
    return Defect(kind, code, token, changes.get("policy", sample.policy), changes.get("keys", sample.keys),
                  sample.now)


def _signed(sample: SignedJWT, kind: str, code: str, header: Any = None, claims: Any = None, **kw: Any) -> Defect:
    token = sign_raw(sample.key, sample.key.alg, sample.header if header is None else header,
                     sample.claims if claims is None else claims)
    return _defect(sample, kind, code, token, **kw)


# -- defect classes (issue 2 §3); each docstring names the code it must produce ---------------------------------
_OTHER_ALGS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES384", "ES512", "ES256K", "PS384", "PS512",
               "Ed25519", "Ed448", "EDDSA", "es256", "ps256", "eddsa", "ES256 ", "dir", "RSA-OAEP", "")
_KINDS = tuple(Typ.all().values())


def _base(draw: st.DrawFn, typ: str, now: float, **kw: Any) -> SignedJWT:
    return draw(valid_jwts(typ, now, **kw))


@st.composite
def alg_none(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``alg`` none in any letter case, with an empty or a copied signature: ``ERR_JWS_ALG_NOT_ALLOWED``."""
    s = _base(draw, typ, now)
    alg = "".join(c.upper() if up else c for c, up in zip("none", draw(st.lists(st.booleans(), min_size=4,
                                                                                 max_size=4)), strict=True))
    head, body, sig = sign_raw(s.key, s.key.alg, {**s.header, "alg": alg}, s.claims).split(".")
    return _defect(s, "alg_none", "ERR_JWS_ALG_NOT_ALLOWED", f"{head}.{body}.{draw(st.sampled_from(['', sig]))}")


@st.composite
def alg_not_allowed(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """HMAC (keyed with the public key, the classic confusion), RS256, any other JWA name or text, or an allowed
    alg outside this policy's list: ``ERR_JWS_ALG_NOT_ALLOWED``."""
    s = _base(draw, typ, now)
    if draw(st.booleans()):  # allowed in general, not by this policy
        others = tuple(a for a in ALGS if a != s.key.alg)
        return _defect(s, "alg_not_allowed", "ERR_JWS_ALG_NOT_ALLOWED", s.token, policy=jwt_policy(typ, algs=others))
    alg = draw(st.sampled_from(_OTHER_ALGS) | st.text(max_size=12).filter(lambda a: a not in ALGS))
    head = b64url_encode(_json({**s.header, "alg": alg}))
    body = s.token.split(".")[1]
    secret = _json(dict(s.key.public_key.jwk))
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return _defect(s, "alg_not_allowed", "ERR_JWS_ALG_NOT_ALLOWED", f"{head}.{body}.{b64url_encode(mac)}")


@st.composite
def key_mismatch(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """An allowed ``alg`` that the key's type or curve does not fit: the ``kid`` names a key of another type
    (``ERR_JWK_NOT_FOUND``), or the embedded ``jwk`` is of another type (``ERR_JWK_INVALID``)."""
    embedded = draw(st.booleans())
    s = _base(draw, typ, now, embedded_jwk=embedded)
    alg = draw(st.sampled_from([a for a in ALGS if a != s.key.alg]))
    code = "ERR_JWK_INVALID" if embedded else "ERR_JWK_NOT_FOUND"
    return _signed(s, "key_mismatch", code, {**s.header, "alg": alg})


@st.composite
def wrong_typ(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """Another JWT kind's ``typ``, ``JWT``, a near miss, no ``typ`` or a non-string one: ``ERR_JWS_TYP``."""
    s = _base(draw, typ, now)
    expected = media_type(typ)
    near = [typ + " ", " " + typ, typ + ";v=1", "jwt", "JWT", "application/jwt", "application/json",
            "text/" + typ, typ.replace("+jwt", ""), typ + "+jwt"]
    other = draw(st.sampled_from(_KINDS + tuple(near)) | st.text(max_size=20) | st.none()
                 | st.integers(-(2**53) + 1, 2**53 - 1) | st.lists(st.just(typ), max_size=2))
    if isinstance(other, str) and other.isascii() and media_type(other) == expected:
        other = None
    header = {k: v for k, v in s.header.items() if k != "typ"}
    if other is not None or draw(st.booleans()):
        header["typ"] = other
    return _signed(s, "wrong_typ", "ERR_JWS_TYP", header)


@st.composite
def oversize(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """A token over 8192 characters, a header over 2048 bytes, or a payload over the policy's limit:
    ``ERR_TOO_LARGE``."""
    s = _base(draw, typ, now)
    which = draw(st.sampled_from(["token", "header", "payload"]))
    if which == "token":
        return _signed(s, "oversize", "ERR_TOO_LARGE", claims={**s.claims, "pad": "x" * draw(st.integers(6200, 9000))})
    if which == "header":
        return _signed(s, "oversize", "ERR_TOO_LARGE", {**s.header, "pad": "x" * draw(st.integers(2049, 4000))})
    limit = draw(st.integers(64, 1024))
    claims = {**s.claims, "pad": "x" * (limit + 1)}
    return _signed(s, "oversize", "ERR_TOO_LARGE", claims=claims, policy=jwt_policy(typ, max_payload=limit))


@st.composite
def forbidden_header(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``jku``/``x5u`` (never fetched), ``x5c`` (never trusted from a token), ``jwk`` where the kind does not embed
    its key, or a JWE member: ``ERR_JWS_HEADER``."""
    s = _base(draw, typ, now)
    name = draw(st.sampled_from(["jku", "x5u", "x5c", "jwk", "enc", "zip", "epk", "p2s"]))
    value = {"jku": "https://attacker.example/jwks.json", "x5u": "https://attacker.example/cert.pem",
             "x5c": [b64url_encode(b"\x30\x82")], "jwk": dict(s.key.public_key.jwk), "enc": "A256GCM",
             "zip": "DEF", "epk": {}, "p2s": "AAAA"}[name]
    return _signed(s, "forbidden_header", "ERR_JWS_HEADER", {**s.header, name: value})


@st.composite
def crit(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``crit`` empty, naming unknown or registered parameters, or not a list: ``ERR_JWS_CRIT``."""
    s = _base(draw, typ, now)
    value = draw(st.lists(st.text(max_size=10), max_size=3) | st.sampled_from([["b64"], ["exp"], "b64", None, {}]))
    return _signed(s, "crit", "ERR_JWS_CRIT", {**s.header, "crit": value})


@st.composite
def b64_header(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """RFC 7797 ``b64`` (true or false): ``ERR_JWS_HEADER`` (``ERR_JWS_CRIT`` when also listed in ``crit``)."""
    s = _base(draw, typ, now)
    header = {**s.header, "b64": draw(st.booleans())}
    if draw(st.booleans()):
        return _signed(s, "b64", "ERR_JWS_CRIT", {**header, "crit": ["b64"]})
    return _signed(s, "b64", "ERR_JWS_HEADER", header)


def _with_duplicate(obj: dict[str, Any], name: str, value: Any) -> bytes:
    return _json(obj)[:-1] + b"," + _json(name) + b":" + _json(value) + b"}"


@st.composite
def duplicate_members(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """A member name repeated in the header, the payload, or an object nested in it (same or another value):
    ``ERR_JSON_DUPLICATE``."""
    s = _base(draw, typ, now)
    where = draw(st.sampled_from(["header", "payload", "nested"]))
    if where == "header":
        name = draw(st.sampled_from(sorted(s.header)))
        value = draw(st.sampled_from([s.header[name], "ES256", "none"]))
        return _signed(s, "duplicate_members", "ERR_JSON_DUPLICATE", _with_duplicate(s.header, name, value))
    if where == "payload":
        name = draw(st.sampled_from(sorted(s.claims)))
        value = draw(st.sampled_from([s.claims[name], "https://attacker.example", 0]))
        return _signed(s, "duplicate_members", "ERR_JSON_DUPLICATE", claims=_with_duplicate(s.claims, name, value))
    claims = _json({k: v for k, v in s.claims.items() if k != "cnf"})[:-1] + b',"cnf":{"jkt":"a","jkt":"b"}}'
    return _signed(s, "duplicate_members", "ERR_JSON_DUPLICATE", claims=claims)


_TRAILING = {2: "AQgw", 3: "AEIMQUYcgkosw048"}
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _trailing_bits(part: str) -> str:
    """The same part with non-zero unused bits in its last character (the part's length is 4k+2 or 4k+3)."""
    last = part[-1]
    group = 16 if len(part) % 4 == 2 else 4
    index = _ALPHABET.index(last)
    return part[:-1] + _ALPHABET[index - index % group + 1]


@st.composite
def non_canonical_b64(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """Padding, the standard alphabet, non-zero trailing bits, whitespace or a BOM in any part: ``ERR_B64``."""
    s = _base(draw, typ, now)
    parts = s.token.split(".")
    how = draw(st.sampled_from(["padding", "standard", "trailing_bits", "whitespace", "bom"]))
    i = 2 if how == "trailing_bits" else draw(st.integers(0, 2))  # a signature is always 4k+2 characters long
    part = parts[i]
    if how == "padding":
        part += "=" * draw(st.integers(1, 2))
    elif how == "standard":
        changed = part.translate(str.maketrans("-_", "+/"))
        at = draw(st.integers(0, len(part) - 1))
        part = changed if changed != part else part[:at] + draw(st.sampled_from("+/")) + part[at + 1:]
    elif how == "trailing_bits":
        part = _trailing_bits(part)
    else:
        char = "\ufeff" if how == "bom" else draw(st.sampled_from([" ", "\t", "\n", "\r", "\u00a0", "\u2028"]))
        at = draw(st.integers(0, len(part)))
        part = part[:at] + char + part[at:]
    parts[i] = part
    return _defect(s, "non_canonical_b64", "ERR_B64", ".".join(parts))


@st.composite
def json_bom(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """A UTF-8 byte order mark before the header or payload JSON (RFC 8259 §8.1): ``ERR_JSON``."""
    s = _base(draw, typ, now)
    if draw(st.booleans()):
        return _signed(s, "json_bom", "ERR_JSON", b"\xef\xbb\xbf" + _json(s.header))
    return _signed(s, "json_bom", "ERR_JSON", claims=b"\xef\xbb\xbf" + _json(s.claims))


@st.composite
def json_serialization(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """The flattened or general JWS JSON serialisation (RFC 7515 §7.2): ``ERR_JWS_MALFORMED``."""
    s = _base(draw, typ, now)
    head, body, sig = s.token.split(".")
    flat = {"protected": head, "payload": body, "signature": sig}
    doc = flat if draw(st.booleans()) else {"payload": body, "signatures": [{"protected": head, "signature": sig}]}
    return _defect(s, "json_serialization", "ERR_JWS_MALFORMED", draw(st.sampled_from(["", " ", "\n"]))
                   + json.dumps(doc))


@st.composite
def not_compact_jws(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """A JWE (5 parts, RFC 7516 §7.1) or any other number of parts: ``ERR_JWS_MALFORMED``."""
    s = _base(draw, typ, now)
    head, body, sig = s.token.split(".")
    if draw(st.booleans()):
        jwe_head = b64url_encode(_json({"alg": "RSA-OAEP-256", "enc": "A256GCM", "typ": typ}))
        parts = [jwe_head, *(b64url_encode(draw(st.binary(min_size=1, max_size=32))) for _ in range(4))]
    else:
        parts = draw(st.sampled_from([[head, body], [head, body, sig, sig], [head], [head, body, sig, "", ""],
                                      [head, body, sig, "", "", ""]]))
    return _defect(s, "not_compact_jws", "ERR_JWS_MALFORMED", ".".join(parts))


@st.composite
def non_object_payload(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """A properly signed payload that is a JSON array, string, number, literal, or not JSON at all: ``ERR_JSON``."""
    s = _base(draw, typ, now)
    value = draw(json_values().filter(lambda v: not isinstance(v, dict)))
    raw = _json(value) if draw(st.booleans()) else draw(st.binary(max_size=64))
    if raw.lstrip()[:1] == b"{":
        raw = b"[" + raw
    return _signed(s, "non_object_payload", "ERR_JSON", claims=raw)


@functools.cache
def _weak_rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, bits)


def _embedded(s: SignedJWT, typ: str, alg: str, private: Any, jwk: dict[str, Any], kind: str) -> Defect:
    header = {"alg": alg, "typ": s.header["typ"], "jwk": jwk}
    policy = jwt_policy(typ, embedded_jwk=True)
    return _defect(s, kind, "ERR_JWK_INVALID", sign_raw(private, alg, header, s.claims), policy=policy, keys=None)


def _int_b64(n: int) -> str:
    return b64url_encode(n.to_bytes((n.bit_length() + 7) // 8, "big"))


@st.composite
def rsa_too_small(draw: st.DrawFn, typ: str = Typ.DPOP, now: float = NOW) -> Defect:
    """An embedded RSA key of 1024 or 1536 bits signing PS256 (FAPI 2.0 §5.4.1 needs 2048): ``ERR_JWK_INVALID``."""
    s = _base(draw, typ, now)
    private = _weak_rsa(draw(st.sampled_from([1024, 1536])))
    nums = private.public_key().public_numbers()
    return _embedded(s, typ, "PS256", private, {"kty": "RSA", "n": _int_b64(nums.n), "e": _int_b64(nums.e)},
                     "rsa_too_small")


@functools.cache
def _ec_key(curve: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key({"P-384": ec.SECP384R1(), "secp256k1": ec.SECP256K1()}[curve])


@st.composite
def ec_bad_point(draw: st.DrawFn, typ: str = Typ.DPOP, now: float = NOW) -> Defect:
    """An embedded EC key whose point is off P-256, on P-384 or secp256k1, or of the wrong length:
    ``ERR_JWK_INVALID``."""
    s = _base(draw, typ, now, algs=("ES256",))
    jwk = dict(s.key.public_key.jwk)
    how = draw(st.sampled_from(["off_curve", "P-384", "secp256k1", "short"]))
    if how == "off_curve":
        jwk["y"] = _shift_y(jwk["y"], draw(st.integers(1, 255)))
    elif how == "short":
        jwk["x"] = jwk["x"][:-4]
    else:
        nums = _ec_key(how).public_key().public_numbers()
        size = 48 if how == "P-384" else 32
        jwk = {"kty": "EC", "crv": how, "x": b64url_encode(nums.x.to_bytes(size, "big")),
               "y": b64url_encode(nums.y.to_bytes(size, "big"))}
    return _embedded(s, typ, "ES256", s.key, jwk, "ec_bad_point")


def _shift_y(y_b64: str, delta: int) -> str:
    """y + delta: for a given x at most two y are on the curve (y and p - y), so this point is off it."""
    y = int.from_bytes(b64url_decode(y_b64), "big")
    return b64url_encode(((y + delta) % 2**256).to_bytes(32, "big"))


@st.composite
def private_members(draw: st.DrawFn, typ: str = Typ.DPOP, now: float = NOW) -> Defect:
    """An embedded public JWK carrying private (``d``, ``p``, ``q``, ...) or symmetric (``k``) members:
    ``ERR_JWK_INVALID``."""
    s = _base(draw, typ, now, embedded_jwk=True)
    name = draw(st.sampled_from(["d", "p", "q", "dp", "dq", "qi", "oth", "k"]))
    header = {**s.header, "jwk": {**s.header["jwk"], name: b64url_encode(draw(st.binary(min_size=1, max_size=32)))}}
    return _signed(s, "private_members", "ERR_JWK_INVALID", header)


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
    s = _base(draw, typ, now)
    name = draw(st.sampled_from(["exp", "nbf", "iat"]))
    literal, code = draw(st.sampled_from(_BAD_TIMES))
    rest = {k: v for k, v in s.claims.items() if k != name}
    claims = _json(rest)[:-1] + b"," + _json(name) + b":" + literal + b"}"
    return _signed(s, "bad_time_claim", code, claims=claims)


@st.composite
def future_claim(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``iat`` or ``nbf`` more than the policy's skew (10 s) ahead of ``now``: ``ERR_JWT_NOT_YET_VALID``."""
    s = _base(draw, typ, now)
    ahead = now + 10 + draw(st.integers(1, 10**6) | st.floats(0.001, 10**6))
    name = draw(st.sampled_from(["iat", "nbf"]))
    claims = {**s.claims, name: ahead, "exp": max(s.claims["exp"], ahead + 60)}
    return _signed(s, "future_claim", "ERR_JWT_NOT_YET_VALID", claims=claims)


@st.composite
def expired(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``exp`` at or before ``now`` (RFC 7519 §4.1.4: now must be before exp): ``ERR_JWT_EXPIRED``."""
    s = _base(draw, typ, now)
    exp = now - draw(st.integers(0, 10**6) | st.floats(0, 10**6))
    claims = {k: v for k, v in {**s.claims, "exp": exp, "iat": exp - 60}.items() if k != "nbf"}
    return _signed(s, "expired", "ERR_JWT_EXPIRED", claims=claims)


def _near_misses(value: str) -> list[str]:
    return [value + "/", value.upper(), value.replace("https://", "http://"), value + " ", " " + value,
            value[:-1], value + "#", value + "?", value.replace("example", "examp1e"), value + "\u0000"]


@st.composite
def claim_mismatch(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``iss``/``sub``/``aud`` other than expected, even by one character (``ERR_JWT_ISSUER``, ``ERR_JWT_SUBJECT``,
    ``ERR_JWT_AUDIENCE``); not a string, or an ``aud`` array where none is allowed (``ERR_JWT_CLAIM_INVALID``); an
    allowed ``aud`` array without us (``ERR_JWT_AUDIENCE``); ``iss``/``aud`` missing (``ERR_JWT_CLAIM_MISSING``)."""
    s = _base(draw, typ, now)
    how = draw(st.sampled_from(["iss", "sub", "aud", "aud_array", "aud_array_allowed", "mistyped", "missing"]))
    if how == "iss":
        value = draw(st.sampled_from(_near_misses(ISSUER)) | st.text(max_size=30).filter(lambda v: v != ISSUER))
        return _signed(s, "claim_mismatch", "ERR_JWT_ISSUER" if value else "ERR_JWT_CLAIM_INVALID",
                       claims={**s.claims, "iss": value})
    if how == "sub":
        expected = s.claims["sub"]
        value = draw(st.text(min_size=1, max_size=30).filter(lambda v: v != expected))
        return _signed(s, "claim_mismatch", "ERR_JWT_SUBJECT", claims={**s.claims, "sub": value},
                       policy=jwt_policy(typ, subject=expected))
    if how == "aud":
        value = draw(st.sampled_from(_near_misses(AUDIENCE)) | st.text(max_size=30).filter(lambda v: v != AUDIENCE))
        return _signed(s, "claim_mismatch", "ERR_JWT_AUDIENCE", claims={**s.claims, "aud": value})
    if how == "aud_array":
        value = draw(st.lists(st.text(max_size=20), max_size=3).map(lambda v: [AUDIENCE, *v]))
        return _signed(s, "claim_mismatch", "ERR_JWT_CLAIM_INVALID", claims={**s.claims, "aud": value})
    if how == "aud_array_allowed":
        value = draw(st.lists(st.sampled_from(_near_misses(AUDIENCE)), max_size=3))
        return _signed(s, "claim_mismatch", "ERR_JWT_AUDIENCE", claims={**s.claims, "aud": value},
                       policy=jwt_policy(typ, allow_audience_array=True))
    name = draw(st.sampled_from(["iss", "aud"]))
    if how == "missing":
        claims = {k: v for k, v in s.claims.items() if k != name}
        return _signed(s, "claim_mismatch", "ERR_JWT_CLAIM_MISSING", claims=claims)
    value = draw(st.sampled_from([None, 1, True, {"iss": ISSUER}, [ISSUER]] if name == "iss" else [None, 1, {}]))
    return _signed(s, "claim_mismatch", "ERR_JWT_CLAIM_INVALID", claims={**s.claims, name: value})


@st.composite
def wrong_key(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """Signed by another key of the same alg under this key's ``kid`` (``ERR_JWS_SIGNATURE_INVALID``), or a
    ``kid`` not in the issuer's set (``ERR_JWK_NOT_FOUND``)."""
    s = _base(draw, typ, now)
    if draw(st.booleans()):
        token = sign_raw(s.key, s.key.alg, {**s.header, "kid": "x" + s.key.kid}, s.claims)
        return _defect(s, "wrong_key", "ERR_JWK_NOT_FOUND", token)
    other = next(k for k in key_pool(s.key.alg) if k.kid != s.key.kid)
    return _defect(s, "wrong_key", "ERR_JWS_SIGNATURE_INVALID", sign_raw(other, other.alg, s.header, s.claims))


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
