"""Keys: strict public JWK import (RFC 7517, RFC 7518 §6, RFC 8037 §2), RFC 7638 thumbprints, key sets, signing keys.

A public JWK is accepted only when it is exactly one allowed key: EC P-256 with a point on the curve, RSA of
2048 to 8192 bits, or Ed25519; it carries no private or symmetric members; its optional ``alg``, ``use`` and
``key_ops`` agree with signature verification.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from hardened.errors import JoseError
from hardened.jose.algs import ALGORITHMS
from hardened.jose.encoding import b64url_decode, b64url_encode, canonical_json

__all__ = ["KeySet", "PinnedKey", "PublicKey", "public_key_from_jwk", "thumbprint"]

PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
MAX_KID = 256
#: Longest base64url member accepted (an 8192-bit modulus is 1366 characters).
MAX_MEMBER = 1400
_CACHE_SIZE = 4096
# RFC 8032 §5.1: edwards25519 over p = 2**255 - 19. The points of small order (1, 2, 4, 8) are exactly those with
# y in this set (the neutral element, y = -1, y = 0, and the two y of the order-8 points).
_P25519 = 2**255 - 19
_Y_ORDER_8 = 0x5FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826  # little-endian 26e8958f...fc05
_SMALL_ORDER_Y = frozenset({0, 1, _P25519 - 1, _Y_ORDER_8, _P25519 - _Y_ORDER_8})


class _ReadOnlyJWK(dict):
    """The public members of a cached key: a dict (so json.dumps and ``{**jwk}`` work) that refuses changes, as
    PublicKey objects are shared through the import cache. Copies (``dict(jwk)``, ``copy``, pickle) are plain dicts.
    """

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a PublicKey's jwk is read-only; copy it with dict(key.jwk)")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only  # type: ignore


def _bad(description: str) -> JoseError:
    return JoseError("ERR_JWK_INVALID", description)


@dataclass(frozen=True, slots=True, eq=False)
class PublicKey:
    """A verified public key bound to one algorithm, with its RFC 7638 thumbprint."""

    alg: str
    kid: str | None
    thumbprint: str
    jwk: Mapping[str, Any] = field(repr=False)
    key: Any = field(repr=False)

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK with ``kid``, ``alg`` and ``use`` (for a JWKS document)."""
        out = {k: self.jwk[k] for k in _THUMBPRINT_MEMBERS[self.jwk["kty"]]}
        out.update({"kid": self.kid or self.thumbprint, "alg": self.alg, "use": "sig"})
        return out


def _kty(jwk: Mapping[str, Any]) -> str | None:
    kty = jwk.get("kty")
    return kty if isinstance(kty, str) else None


def thumbprint(jwk: Any) -> str:
    """RFC 7638 §3: base64url(SHA-256(required members, lexicographic order, no whitespace))."""
    if not isinstance(jwk, Mapping):
        raise _bad("JWK is not a JSON object")
    members = _THUMBPRINT_MEMBERS.get(_kty(jwk) or "")
    if members is None or any(not isinstance(jwk.get(m), str) for m in members):
        raise _bad("JWK lacks the members its thumbprint needs")
    return b64url_encode(hashlib.sha256(canonical_json({m: jwk[m] for m in members})).digest())


def _member(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk[name]
    if len(value) > MAX_MEMBER:
        raise _bad(f"JWK member {name} is too long")
    try:
        return b64url_decode(value, what=f"JWK member {name}")
    except JoseError as err:
        raise _bad(err.description) from None


def _int_member(jwk: Mapping[str, Any], name: str) -> int:
    raw = _member(jwk, name)
    if not raw or (len(raw) > 1 and raw[0] == 0):
        raise _bad(f"JWK member {name} is not a minimal big-endian integer")
    return int.from_bytes(raw, "big")


def _fixed_member(jwk: Mapping[str, Any], name: str, size: int) -> bytes:
    raw = _member(jwk, name)
    if len(raw) != size:
        raise _bad(f"JWK member {name} must be {size} bytes")
    return raw


def _ed25519_point(x: bytes) -> bytes:
    """RFC 8032 §5.1.3: y must be canonical (< p); a point of small order would verify forged signatures."""
    y = int.from_bytes(x, "little") & ((1 << 255) - 1)
    if y >= _P25519:
        raise _bad("Ed25519 point is not canonically encoded")
    if y in _SMALL_ORDER_Y:
        raise _bad("Ed25519 point has small order")
    return x


def _build(jwk: Mapping[str, Any], alg: str | None) -> PublicKey:
    if not isinstance(jwk, Mapping):
        raise _bad("JWK is not a JSON object")
    kty = _kty(jwk)
    if kty == "oct":
        raise _bad("symmetric keys are not allowed")
    if kty is None or kty not in _THUMBPRINT_MEMBERS:
        raise _bad("JWK kty is not EC, RSA or OKP")
    if PRIVATE_MEMBERS.intersection(jwk):
        raise _bad("JWK contains private key members")
    for member in _THUMBPRINT_MEMBERS[kty]:
        if not isinstance(jwk.get(member), str):
            raise _bad(f"JWK member {member} is missing or not a string")
    # Which algorithm this key verifies under: its own alg member, the caller's, and its type must agree.
    key_alg = jwk.get("alg")
    if key_alg is not None and (not isinstance(key_alg, str) or key_alg not in ALGORITHMS):
        raise _bad("JWK alg is not an allowed algorithm")
    if alg is not None and key_alg is not None and alg != key_alg:
        raise _bad("JWK alg does not match the JWS alg")
    wanted = alg or key_alg
    candidates = [s for s in ALGORITHMS.values() if s.kty == kty and (s.crv is None or s.crv == jwk.get("crv"))]
    if not candidates:
        raise _bad("JWK curve is not allowed")
    spec = candidates[0]
    if wanted is not None and wanted != spec.name:
        raise _bad("JWK type does not fit the algorithm")
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise _bad("JWK use is not sig")
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or len(ops) > 8 or "verify" not in ops):
        raise _bad("JWK key_ops does not allow verify")
    kid = jwk.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > MAX_KID):
        raise _bad("JWK kid is not a short non-empty string")
    try:
        if kty == "EC":
            x, y = _fixed_member(jwk, "x", 32), _fixed_member(jwk, "y", 32)
            key: Any = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            ).public_key()
        elif kty == "OKP":
            key = ed25519.Ed25519PublicKey.from_public_bytes(_ed25519_point(_fixed_member(jwk, "x", 32)))
        else:
            n, e = _int_member(jwk, "n"), _int_member(jwk, "e")
            if not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS:
                raise _bad(f"RSA modulus must be {MIN_RSA_BITS} to {MAX_RSA_BITS} bits")
            if e < 3 or e % 2 == 0 or e.bit_length() > 64:
                raise _bad("RSA public exponent is not acceptable")
            key = rsa.RSAPublicNumbers(e, n).public_key()
    except JoseError:
        raise
    except (ValueError, TypeError, OverflowError):
        raise _bad("JWK is not a valid public key (point not on the curve or bad parameters)") from None
    public = {m: jwk[m] for m in _THUMBPRINT_MEMBERS[kty]}
    # Read-only: PublicKey objects are shared through the import cache.
    return PublicKey(alg=spec.name, kid=kid, thumbprint=thumbprint(public), jwk=_ReadOnlyJWK(public), key=key)


_cache: OrderedDict[tuple[tuple[str, str], ...], PublicKey] = OrderedDict()
_cache_lock = threading.Lock()


def public_key_from_jwk(jwk: Any, *, alg: str | None = None) -> PublicKey:
    """Import a public JWK strictly (see module doc). Results are cached by the JWK's members, bounded LRU."""
    if not isinstance(jwk, Mapping):
        raise _bad("JWK is not a JSON object")
    if alg is not None and not isinstance(alg, str):
        raise _bad("alg is not a string")
    cache_key: tuple[tuple[str, str], ...] | None = None
    if len(jwk) <= 16 and all(type(k) is str and type(v) is str for k, v in jwk.items()):
        cache_key = (("", alg or ""), *sorted(jwk.items()))
        with _cache_lock:
            hit = _cache.get(cache_key)
            if hit is not None:
                _cache.move_to_end(cache_key)
                return hit
    key = _build(jwk, alg)
    if cache_key is not None:
        with _cache_lock:
            _cache[cache_key] = key
            if len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return key


class KeySet:
    """One issuer's public keys (a JWKS, RFC 7517 §5). ``kid`` is only ever a lookup key within this set."""

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        self._keys = tuple(keys)
        if not all(isinstance(k, PublicKey) for k in self._keys):
            raise _bad("a key set holds PublicKey objects only")
        self._by_kid = {k.kid: k for k in self._keys if k.kid is not None}
        if len(self._by_kid) != sum(1 for k in self._keys if k.kid is not None):
            raise _bad("JWKS has duplicate kid values")
        self._by_alg = {alg: tuple(k for k in self._keys if k.alg == alg) for alg in ALGORITHMS}

    @classmethod
    def from_jwks(cls, jwks: Any, *, max_keys: int = 32) -> KeySet:
        """Import a JWKS document; every key must be an allowed public signing key."""
        if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list | tuple):
            raise _bad("JWKS is not an object with a keys array")
        if not 0 < len(jwks["keys"]) <= max_keys:
            raise _bad(f"JWKS must hold 1 to {max_keys} keys")
        return cls(public_key_from_jwk(k) for k in jwks["keys"])

    @property
    def keys(self) -> tuple[PublicKey, ...]:
        return self._keys

    def find(self, alg: str, kid: str | None) -> PublicKey:
        """The key for a JWS header: by ``kid`` when given, else the only key of that algorithm."""
        if kid is not None:
            key = self._by_kid.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise JoseError("ERR_JWK_NOT_FOUND", "no key with that kid")
            if key.alg != alg:
                raise JoseError("ERR_JWK_NOT_FOUND", "key does not fit the JWS alg")
            return key
        matching = self._by_alg.get(alg, ()) if isinstance(alg, str) else ()
        if len(matching) != 1:
            raise JoseError("ERR_JWK_NOT_FOUND", "kid is required to choose a key")
        return matching[0]

    def to_jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self._keys]}


class PinnedKey(KeySet):
    """Exactly one key, fixed by the caller (a PoP's attested ``cnf`` key, an instance's registered key).

    The JWS header's ``kid`` never selects anything here: whatever it says, only this key verifies, and only
    under its own algorithm (RFC 8725 §3.1).
    """

    def __init__(self, key: PublicKey) -> None:
        super().__init__([key])
        self._pinned = key

    def find(self, alg: str, kid: str | None) -> PublicKey:
        if alg != self._pinned.alg:
            raise JoseError("ERR_JWK_NOT_FOUND", "the JWS is not signed with the pinned key's algorithm")
        return self._pinned
