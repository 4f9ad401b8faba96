"""Strict compact JWS verification (RFC 7515 §5.2, RFC 8725 §3) with an explicit policy per JWT kind.

Steps, in order (numbered as RFC 7515 §5.2 where it applies):

1. the token is a bounded ASCII string of exactly three base64url parts (no JSON serialisation, no JWE);
2-4. the header decodes canonically to a JSON object with unique members, within its size limit;
5. header parameters: ``alg`` on the caller's allow-list; ``typ`` equal to the kind expected (as a media type);
   no ``crit`` (no extension is understood), no ``b64`` (RFC 7797), no ``jku``/``x5u`` (never fetched), no
   ``x5c``, no ``jwk`` unless the kind carries its key (DPoP), no JWE parameters;
6-8. the key: the embedded ``jwk`` (strictly imported) or a ``kid`` lookup within the one issuer's key set;
   the signature decodes canonically and verifies with ``cryptography``;
9. only then is the payload parsed: a JSON object with unique members, within its size limit.

Anything else raises :class:`~hardened.errors.JoseError`; no other exception escapes, for any input.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from hardened.errors import JoseError
from hardened.jose.algs import ALGORITHMS, verify_bytes
from hardened.jose.encoding import b64url_decode_str, loads_object_bytes
from hardened.jose.keys import MAX_KID, KeySet, PublicKey, public_key_from_jwk
from hardened.jose.kinds import media_type

__all__ = ["JWSPolicy", "VerifiedJWS", "verify_jws", "verify_jws_payload"]

#: Header parameters no hardened JWT may carry: remote key URLs are never fetched (RFC 8725 §3.10), certificate
#: chains are not trusted from the token, payload encoding options and JWE members do not belong in a signed JWT.
_FORBIDDEN = frozenset({"jku", "x5u", "x5c", "b64", "enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c"})


#: Verified headers remembered per policy (RFC 7515 §5.2 steps 2-5 depend only on the header text and the policy,
#: and so does the embedded key of step 8 when the kind carries its ``jwk``).
_HEADER_CACHE_SIZE = 256
_header_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class JWSPolicy:
    """What one JWT kind requires of its JWS. Defaults: FAPI algorithms, ``typ`` required, modest sizes."""

    typ: str | tuple[str, ...] | None
    algorithms: Collection[str] = ("PS256", "ES256", "EdDSA")
    typ_optional: bool = False
    embedded_jwk: bool = False
    max_token: int = 8192
    max_header: int = 2048
    max_payload: int = 8192
    _algs: frozenset[str] = field(init=False, repr=False, compare=False)
    _types: frozenset[str] = field(init=False, repr=False, compare=False)
    _headers: dict[str, tuple[dict[str, Any], str, PublicKey | None]] = field(init=False, repr=False, compare=False)
    _max_payload_b64: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        algs = (self.algorithms,) if isinstance(self.algorithms, str) else tuple(self.algorithms)
        bad = [a for a in algs if a not in ALGORITHMS]
        if bad or not algs:
            raise JoseError("ERR_POLICY", f"algorithms {bad} are not allowed")
        if self.typ is None and not self.typ_optional:
            raise JoseError("ERR_POLICY", "a JWS policy must name the expected typ")
        types = (self.typ,) if isinstance(self.typ, str) else tuple(self.typ or ())
        if not all(isinstance(t, str) and t for t in types):
            raise JoseError("ERR_POLICY", "typ values must be non-empty strings")
        sizes = (self.max_token, self.max_header, self.max_payload)
        if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes):
            raise JoseError("ERR_POLICY", "size limits must be positive integers")
        object.__setattr__(self, "_algs", frozenset(algs))
        object.__setattr__(self, "_types", frozenset(media_type(t) for t in types))
        object.__setattr__(self, "_headers", {})
        # The longest unpadded base64url text of at most max_payload octets.
        object.__setattr__(self, "_max_payload_b64", (self.max_payload * 4 + 2) // 3)


@dataclass(frozen=True, slots=True)
class VerifiedJWS:
    """A JWS whose signature verified under the policy; ``payload`` is the parsed JSON object."""

    header: dict[str, Any]
    payload: dict[str, Any]
    key: PublicKey


JSONObject = dict[str, Any]
_new = object.__new__
_set = object.__setattr__


def _verified(header: dict[str, Any], payload: dict[str, Any], key: PublicKey) -> VerifiedJWS:
    """A VerifiedJWS without the keyword handling of the generated ``__init__`` (same fields, still frozen)."""
    result = _new(VerifiedJWS)
    _set(result, "header", header)
    _set(result, "payload", payload)
    _set(result, "key", key)
    return result


def _split(token: Any, policy: JWSPolicy) -> list[str]:
    """RFC 7515 §7.1: the compact serialisation is exactly three base64url parts."""
    if not isinstance(token, str):
        raise JoseError("ERR_JWS_MALFORMED", "token is not a string")
    if len(token) > policy.max_token:
        raise JoseError("ERR_TOO_LARGE", f"token is longer than {policy.max_token} characters")
    if token[:1] == "{" or token.lstrip()[:1] == "{":
        raise JoseError("ERR_JWS_MALFORMED", "JWS JSON serialization is not accepted")
    parts = token.split(".")
    if len(parts) == 5:
        raise JoseError("ERR_JWS_MALFORMED", "JWE is not accepted where a JWS is expected")
    if len(parts) != 3:
        raise JoseError("ERR_JWS_MALFORMED", "token is not a compact JWS")
    return parts


def _check_header(header: dict[str, Any], policy: JWSPolicy) -> str:
    """RFC 7515 §5.2 step 5 and RFC 8725 §3.1, §3.10, §3.11: the header parameters this kind allows."""
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise JoseError("ERR_JWS_MALFORMED", "alg header is missing or not a string")
    if alg.lower() == "none":
        raise JoseError("ERR_JWS_ALG_NOT_ALLOWED", "unsigned JWTs (alg none) are not accepted")
    if alg not in policy._algs:
        raise JoseError("ERR_JWS_ALG_NOT_ALLOWED", "algorithm is not allowed")
    if "typ" not in header:
        if not policy.typ_optional:
            raise JoseError("ERR_JWS_TYP", "typ header is required")
    else:
        typ = header["typ"]
        if not isinstance(typ, str) or media_type(typ) not in policy._types:
            raise JoseError("ERR_JWS_TYP", "typ header is not the expected JWT kind")
    if "crit" in header:
        raise JoseError("ERR_JWS_CRIT", "crit header names extensions that are not understood")
    forbidden = _FORBIDDEN.intersection(header)
    if forbidden:
        raise JoseError("ERR_JWS_HEADER", f"header parameter {sorted(forbidden)[0]} is not allowed")
    if "jwk" in header and not policy.embedded_jwk:
        raise JoseError("ERR_JWS_HEADER", "header parameter jwk is not allowed for this JWT kind")
    if "kid" in header:
        kid = header["kid"]
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID:
            raise JoseError("ERR_JWS_HEADER", "kid header is not a short non-empty string")
    return alg


def _header(head_b64: str, policy: JWSPolicy) -> tuple[dict[str, Any], str]:
    """RFC 7515 §5.2 steps 2-5: the checked header and its alg."""
    if len(head_b64) > (policy.max_header * 4 + 2) // 3:
        raise JoseError("ERR_TOO_LARGE", f"header is larger than {policy.max_header} bytes")
    header = loads_object_bytes(b64url_decode_str(head_b64, "header"), "header", policy.max_header)
    return header, _check_header(header, policy)


def _flat(header: dict[str, Any]) -> bool:
    """True when every value is a string, or (``jwk`` only) an object of strings: two shallow copies copy it all."""
    for name, value in header.items():
        if type(value) is not str and not (name == "jwk" and type(value) is dict
                                           and all(type(v) is str for v in value.values())):
            return False
    return True


def _copy(header: dict[str, Any]) -> dict[str, Any]:
    """The caller's own copy of a cached header (its ``jwk`` too)."""
    copy = dict(header)
    jwk = copy.get("jwk")
    if jwk is not None:
        copy["jwk"] = dict(jwk)
    return copy


def _remember(head_b64: str, header: dict[str, Any], alg: str, key: PublicKey | None, policy: JWSPolicy) -> None:
    """Cache a header (and its embedded key) only after its JWS verified, and only when it is flat (``_flat``).

    Lookups are single ``dict.get`` calls (atomic under the GIL); inserts and the bounded eviction take a lock.
    """
    if not _flat(header):
        return
    entry = (_copy(header), alg, key)
    with _header_lock:
        cache = policy._headers
        if head_b64 in cache:
            return
        if len(cache) >= _HEADER_CACHE_SIZE:
            del cache[next(iter(cache))]  # the oldest entry
        cache[head_b64] = entry


def _key(header: dict[str, Any], alg: str, policy: JWSPolicy, keys: KeySet | None) -> PublicKey:
    """RFC 7515 §5.2 step 8, RFC 8725 §3.10: the embedded key (DPoP only) or a kid lookup in one key set."""
    if policy.embedded_jwk:
        if "jwk" not in header:
            raise JoseError("ERR_JWS_HEADER", "jwk header is required for this JWT kind")
        key = public_key_from_jwk(header["jwk"], alg=alg)
    elif keys is None:
        raise JoseError("ERR_JWK_NOT_FOUND", "no keys to verify with")
    else:
        key = keys.find(alg, header.get("kid"))
    if key.alg != alg:
        raise JoseError("ERR_JWK_INVALID", "key does not fit the JWS alg")
    return key


def _verify(token: Any, policy: JWSPolicy, keys: KeySet | None) -> tuple[JSONObject, bool, JSONObject, PublicKey]:
    """RFC 7515 §5.2 steps 1-9: the header (and whether it is the cache's shared copy), the payload and the key."""
    if not isinstance(policy, JWSPolicy):
        raise JoseError("ERR_POLICY", "policy is not a JWSPolicy")
    if keys is not None and not isinstance(keys, KeySet):
        raise JoseError("ERR_POLICY", "keys is not a KeySet")
    head_b64, payload_b64, sig_b64 = _split(token, policy)
    cached = policy._headers.get(head_b64)
    if cached is None:
        header, alg = _header(head_b64, policy)
        key = _key(header, alg, policy, keys)
    else:
        header, alg = cached[0], cached[1]  # read only here; verify_jws hands out a copy
        # The embedded key is a pure function of the header; a kid is looked up in the caller's key set each time.
        key = cached[2] if cached[2] is not None else _key(header, alg, policy, keys)
    if len(payload_b64) > policy._max_payload_b64:
        raise JoseError("ERR_TOO_LARGE", f"payload is larger than {policy.max_payload} bytes")
    signature = b64url_decode_str(sig_b64, "signature")
    payload_raw = b64url_decode_str(payload_b64, "payload")
    verify_bytes(alg, key.key, token[: len(head_b64) + 1 + len(payload_b64)].encode("ascii"), signature)
    payload = loads_object_bytes(payload_raw, "payload", policy.max_payload)
    if cached is None:
        _remember(head_b64, header, alg, key if policy.embedded_jwk else None, policy)
    return header, cached is not None, payload, key


def verify_jws(token: Any, *, policy: JWSPolicy, keys: KeySet | None = None) -> VerifiedJWS:
    """Verify a compact JWS under ``policy`` with the embedded ``jwk`` (if the policy says so) or ``keys``."""
    header, shared, payload, key = _verify(token, policy, keys)
    return _verified(_copy(header) if shared else header, payload, key)


def verify_jws_payload(token: Any, *, policy: JWSPolicy, keys: KeySet | None = None) -> tuple[JSONObject, PublicKey]:
    """``verify_jws`` (every check the same) for callers that never read the header: the payload and the key."""
    _, _, payload, key = _verify(token, policy, keys)
    return payload, key
