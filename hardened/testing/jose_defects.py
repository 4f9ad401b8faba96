"""Defect classes of the JOSE layer (issue 2 §3): algorithm, typ, size, header, JSON, base64url, serialisation
and key defects. Each strategy's docstring names the ``JoseError.code`` it must produce.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import strategies as st

from hardened.jose import Typ, b64url_decode, b64url_encode, media_type
from hardened.testing.jose_tokens import (
    ALGS,
    NOW,
    Defect,
    SignedJWT,
    compact_json,
    defect_of,
    json_values,
    jwt_policy,
    sign_raw,
    signed_defect,
    valid_jwts,
)

# -- defect classes (issue 2 §3); each docstring names the code it must produce ---------------------------------
_OTHER_ALGS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES384", "ES512", "ES256K", "PS384", "PS512",
               "Ed25519", "Ed448", "EDDSA", "es256", "ps256", "eddsa", "ES256 ", "dir", "RSA-OAEP", "")
_KINDS = tuple(Typ.all().values())


def base_sample(draw: st.DrawFn, typ: str, now: float, **kw: Any) -> SignedJWT:
    return draw(valid_jwts(typ, now, **kw))


@st.composite
def alg_none(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``alg`` none in any letter case, with an empty or a copied signature: ``ERR_JWS_ALG_NOT_ALLOWED``."""
    s = base_sample(draw, typ, now)
    alg = "".join(c.upper() if up else c for c, up in zip("none", draw(st.lists(st.booleans(), min_size=4,
                                                                                 max_size=4)), strict=True))
    head, body, sig = sign_raw(s.key, s.key.alg, {**s.header, "alg": alg}, s.claims).split(".")
    return defect_of(s, "alg_none", "ERR_JWS_ALG_NOT_ALLOWED", f"{head}.{body}.{draw(st.sampled_from(['', sig]))}")


@st.composite
def alg_not_allowed(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """HMAC (keyed with the public key, the classic confusion), RS256, any other JWA name or text, or an allowed
    alg outside this policy's list: ``ERR_JWS_ALG_NOT_ALLOWED``."""
    s = base_sample(draw, typ, now)
    if draw(st.booleans()):  # allowed in general, not by this policy
        others = tuple(a for a in ALGS if a != s.key.alg)
        return defect_of(s, "alg_not_allowed", "ERR_JWS_ALG_NOT_ALLOWED", s.token, policy=jwt_policy(typ, algs=others))
    alg = draw(st.sampled_from(_OTHER_ALGS) | st.text(max_size=12).filter(lambda a: a not in ALGS))
    head = b64url_encode(compact_json({**s.header, "alg": alg}))
    body = s.token.split(".")[1]
    secret = compact_json(dict(s.key.public_key.jwk))
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return defect_of(s, "alg_not_allowed", "ERR_JWS_ALG_NOT_ALLOWED", f"{head}.{body}.{b64url_encode(mac)}")


@st.composite
def key_mismatch(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """An allowed ``alg`` that the key's type or curve does not fit: the ``kid`` names a key of another type
    (``ERR_JWK_NOT_FOUND``), or the embedded ``jwk`` is of another type (``ERR_JWK_INVALID``)."""
    embedded = draw(st.booleans())
    s = base_sample(draw, typ, now, embedded_jwk=embedded)
    alg = draw(st.sampled_from([a for a in ALGS if a != s.key.alg]))
    code = "ERR_JWK_INVALID" if embedded else "ERR_JWK_NOT_FOUND"
    return signed_defect(s, "key_mismatch", code, {**s.header, "alg": alg})


@st.composite
def wrong_typ(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """Another JWT kind's ``typ``, ``JWT``, a near miss, no ``typ`` or a non-string one: ``ERR_JWS_TYP``."""
    s = base_sample(draw, typ, now)
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
    return signed_defect(s, "wrong_typ", "ERR_JWS_TYP", header)


@st.composite
def oversize(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """A token over 8192 characters, a header over 2048 bytes, or a payload over the policy's limit:
    ``ERR_TOO_LARGE``."""
    s = base_sample(draw, typ, now)
    which = draw(st.sampled_from(["token", "header", "payload"]))
    if which == "token":
        pad = "x" * draw(st.integers(6200, 9000))
        return signed_defect(s, "oversize", "ERR_TOO_LARGE", claims={**s.claims, "pad": pad})
    if which == "header":
        return signed_defect(s, "oversize", "ERR_TOO_LARGE", {**s.header, "pad": "x" * draw(st.integers(2049, 4000))})
    limit = draw(st.integers(64, 1024))
    claims = {**s.claims, "pad": "x" * (limit + 1)}
    return signed_defect(s, "oversize", "ERR_TOO_LARGE", claims=claims, policy=jwt_policy(typ, max_payload=limit))


@st.composite
def forbidden_header(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``jku``/``x5u`` (never fetched), ``x5c`` (never trusted from a token), ``jwk`` where the kind does not embed
    its key, or a JWE member: ``ERR_JWS_HEADER``."""
    s = base_sample(draw, typ, now)
    name = draw(st.sampled_from(["jku", "x5u", "x5c", "jwk", "enc", "zip", "epk", "p2s"]))
    value = {"jku": "https://attacker.example/jwks.json", "x5u": "https://attacker.example/cert.pem",
             "x5c": [b64url_encode(b"\x30\x82")], "jwk": dict(s.key.public_key.jwk), "enc": "A256GCM",
             "zip": "DEF", "epk": {}, "p2s": "AAAA"}[name]
    return signed_defect(s, "forbidden_header", "ERR_JWS_HEADER", {**s.header, name: value})


@st.composite
def crit(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """``crit`` empty, naming unknown or registered parameters, or not a list: ``ERR_JWS_CRIT``."""
    s = base_sample(draw, typ, now)
    value = draw(st.lists(st.text(max_size=10), max_size=3) | st.sampled_from([["b64"], ["exp"], "b64", None, {}]))
    return signed_defect(s, "crit", "ERR_JWS_CRIT", {**s.header, "crit": value})


@st.composite
def b64_header(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """RFC 7797 ``b64`` (true or false): ``ERR_JWS_HEADER`` (``ERR_JWS_CRIT`` when also listed in ``crit``)."""
    s = base_sample(draw, typ, now)
    header = {**s.header, "b64": draw(st.booleans())}
    if draw(st.booleans()):
        return signed_defect(s, "b64", "ERR_JWS_CRIT", {**header, "crit": ["b64"]})
    return signed_defect(s, "b64", "ERR_JWS_HEADER", header)


def _with_duplicate(obj: dict[str, Any], name: str, value: Any) -> bytes:
    return compact_json(obj)[:-1] + b"," + compact_json(name) + b":" + compact_json(value) + b"}"


@st.composite
def duplicate_members(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """A member name repeated in the header, the payload, or an object nested in it (same or another value):
    ``ERR_JSON_DUPLICATE``."""
    s = base_sample(draw, typ, now)
    where = draw(st.sampled_from(["header", "payload", "nested"]))
    if where == "header":
        name = draw(st.sampled_from(sorted(s.header)))
        value = draw(st.sampled_from([s.header[name], "ES256", "none"]))
        return signed_defect(s, "duplicate_members", "ERR_JSON_DUPLICATE", _with_duplicate(s.header, name, value))
    if where == "payload":
        name = draw(st.sampled_from(sorted(s.claims)))
        value = draw(st.sampled_from([s.claims[name], "https://attacker.example", 0]))
        claims = _with_duplicate(s.claims, name, value)
        return signed_defect(s, "duplicate_members", "ERR_JSON_DUPLICATE", claims=claims)
    claims = compact_json({k: v for k, v in s.claims.items() if k != "cnf"})[:-1] + b',"cnf":{"jkt":"a","jkt":"b"}}'
    return signed_defect(s, "duplicate_members", "ERR_JSON_DUPLICATE", claims=claims)


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
    s = base_sample(draw, typ, now)
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
    return defect_of(s, "non_canonical_b64", "ERR_B64", ".".join(parts))


@st.composite
def json_bom(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """A UTF-8 byte order mark before the header or payload JSON (RFC 8259 §8.1): ``ERR_JSON``."""
    s = base_sample(draw, typ, now)
    if draw(st.booleans()):
        return signed_defect(s, "json_bom", "ERR_JSON", b"\xef\xbb\xbf" + compact_json(s.header))
    return signed_defect(s, "json_bom", "ERR_JSON", claims=b"\xef\xbb\xbf" + compact_json(s.claims))


@st.composite
def json_serialization(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """The flattened or general JWS JSON serialisation (RFC 7515 §7.2): ``ERR_JWS_MALFORMED``."""
    s = base_sample(draw, typ, now)
    head, body, sig = s.token.split(".")
    flat: dict[str, Any] = {"protected": head, "payload": body, "signature": sig}
    if draw(st.booleans()):  # an unprotected header whose dots would split the text into three "parts"
        flat["header"] = {"x5u": "https://a.example/k.pem"}
    doc = flat if draw(st.booleans()) else {"payload": body, "signatures": [{k: v for k, v in flat.items()
                                                                               if k != "payload"}]}
    prefix = draw(st.sampled_from(["", " ", "\n", "\t "]))
    return defect_of(s, "json_serialization", "ERR_JWS_MALFORMED", prefix + json.dumps(doc))


@st.composite
def not_compact_jws(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """A JWE (5 parts, RFC 7516 §7.1) or any other number of parts: ``ERR_JWS_MALFORMED``."""
    s = base_sample(draw, typ, now)
    head, body, sig = s.token.split(".")
    if draw(st.booleans()):
        jwe_head = b64url_encode(compact_json({"alg": "RSA-OAEP-256", "enc": "A256GCM", "typ": typ}))
        parts = [jwe_head, *(b64url_encode(draw(st.binary(min_size=1, max_size=32))) for _ in range(4))]
    else:
        parts = draw(st.sampled_from([[head, body], [head, body, sig, sig], [head], [head, body, sig, "", ""],
                                      [head, body, sig, "", "", ""]]))
    return defect_of(s, "not_compact_jws", "ERR_JWS_MALFORMED", ".".join(parts))


@st.composite
def non_object_payload(draw: st.DrawFn, typ: str = Typ.ACCESS_TOKEN, now: float = NOW) -> Defect:
    """A properly signed payload that is a JSON array, string, number, literal, or not JSON at all: ``ERR_JSON``."""
    s = base_sample(draw, typ, now)
    value = draw(json_values().filter(lambda v: not isinstance(v, dict)))
    raw = compact_json(value) if draw(st.booleans()) else draw(st.binary(max_size=64))
    if raw.lstrip()[:1] == b"{":
        raw = b"[" + raw
    return signed_defect(s, "non_object_payload", "ERR_JSON", claims=raw)


@functools.cache
def _weak_rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, bits)


def _embedded(s: SignedJWT, typ: str, alg: str, private: Any, jwk: dict[str, Any], kind: str) -> Defect:
    header = {"alg": alg, "typ": s.header["typ"], "jwk": jwk}
    policy = jwt_policy(typ, embedded_jwk=True)
    return defect_of(s, kind, "ERR_JWK_INVALID", sign_raw(private, alg, header, s.claims), policy=policy, keys=None)


def _int_b64(n: int) -> str:
    return b64url_encode(n.to_bytes((n.bit_length() + 7) // 8, "big"))


@st.composite
def rsa_too_small(draw: st.DrawFn, typ: str = Typ.DPOP, now: float = NOW) -> Defect:
    """An embedded RSA key of 1024 or 1536 bits signing PS256 (FAPI 2.0 §5.4.1 needs 2048): ``ERR_JWK_INVALID``."""
    s = base_sample(draw, typ, now)
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
    s = base_sample(draw, typ, now, algs=("ES256",))
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


_P25519 = 2**255 - 19
_Y8 = int.from_bytes(bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little")
#: Encodings (y, x sign bit) of the eight Ed25519 points of small order, and non-canonical encodings (y >= p).
_WEAK_ED25519 = ((0, 0), (0, 1), (1, 0), (_P25519 - 1, 0), (_Y8, 0), (_Y8, 1), (_P25519 - _Y8, 0),
                 (_P25519 - _Y8, 1), (_P25519, 0), (_P25519 + 1, 0), (2**255 - 1, 1))


@st.composite
def okp_bad_point(draw: st.DrawFn, typ: str = Typ.DPOP, now: float = NOW) -> Defect:
    """An embedded Ed25519 key of small order (it would verify forged signatures) or with a non-canonical y
    (RFC 8032 §5.1.3): ``ERR_JWK_INVALID``."""
    s = base_sample(draw, typ, now, algs=("EdDSA",))
    y, sign = draw(st.sampled_from(_WEAK_ED25519))
    x = b64url_encode(((y % 2**255) | (sign << 255)).to_bytes(32, "little"))
    return _embedded(s, typ, "EdDSA", s.key, {"kty": "OKP", "crv": "Ed25519", "x": x}, "okp_bad_point")


def _shift_y(y_b64: str, delta: int) -> str:
    """y + delta: for a given x at most two y are on the curve (y and p - y), so this point is off it."""
    y = int.from_bytes(b64url_decode(y_b64), "big")
    return b64url_encode(((y + delta) % 2**256).to_bytes(32, "big"))


@st.composite
def private_members(draw: st.DrawFn, typ: str = Typ.DPOP, now: float = NOW) -> Defect:
    """An embedded public JWK carrying private (``d``, ``p``, ``q``, ...) or symmetric (``k``) members:
    ``ERR_JWK_INVALID``."""
    s = base_sample(draw, typ, now, embedded_jwk=True)
    name = draw(st.sampled_from(["d", "p", "q", "dp", "dq", "qi", "oth", "k"]))
    header = {**s.header, "jwk": {**s.header["jwk"], name: b64url_encode(draw(st.binary(min_size=1, max_size=32)))}}
    return signed_defect(s, "private_members", "ERR_JWK_INVALID", header)
