"""Strict base64url (RFC 7515 §2, RFC 4648 §5) and strict JSON (RFC 8259, RFC 7515 §5.2 step 4, RFC 7493).

Only the canonical form decodes: no padding, no standard-alphabet characters, no whitespace or BOM, no
non-zero trailing bits. JSON objects must have unique member names; numbers must be I-JSON numbers (RFC 7493
§2.2: no NaN/Infinity, no ``1e400``, integers within ±(2**53 - 1)); strings valid Unicode (no lone surrogates);
nesting and size bounded.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from hardened.errors import JoseError

__all__ = ["MAX_DEPTH", "b64url_decode", "b64url_encode", "canonical_json", "loads_object"]

#: RFC 7493 §2.2: integers beyond this magnitude cannot be exchanged exactly.
MAX_SAFE_INTEGER = 2**53 - 1
#: Deepest nesting of arrays and objects accepted in a header or payload.
MAX_DEPTH = 32

# base64url -> standard alphabet for binascii; '+', '/' and '=' (not base64url) map to '*', which strict decoding
# refuses, so that only the URL-safe alphabet is ever accepted.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/***")
_PADDING = (b"", b"", b"==", b"=")
# A base64url string of length 4k+r has r in {0, 2, 3}; the last character's unused bits must be zero.
_LAST_CHAR_OK = (None, None, frozenset("AQgw"), frozenset("AEIMQUYcgkosw048"))
_a2b = binascii.a2b_base64
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: Any, *, what: str = "value") -> bytes:
    """Decode canonical unpadded base64url (RFC 7515 §2, RFC 4648 §3.5) or raise ``ERR_B64``."""
    if not isinstance(text, str):
        raise JoseError("ERR_B64", f"{what} is not a string")
    return b64url_decode_str(text, what)


def b64url_decode_str(text: str, what: str) -> bytes:
    """``b64url_decode`` for a value already known to be a ``str`` (the JWS segments of a split token)."""
    remainder = len(text) % 4
    if remainder == 1:
        raise JoseError("ERR_B64", f"{what} has an impossible base64url length")
    if remainder and text[-1] not in _LAST_CHAR_OK[remainder]:  # type: ignore[operator]
        raise JoseError("ERR_B64", f"{what} is not canonical base64url (non-zero trailing bits or bad character)")
    try:
        return _a2b(text.encode("ascii").translate(_TO_STANDARD) + _PADDING[remainder], strict_mode=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise JoseError("ERR_B64", f"{what} is not unpadded base64url") from None


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """RFC 7515 §5.2 step 4 / RFC 7519 §4: member names must be unique."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise JoseError("ERR_JSON_DUPLICATE", "duplicate member name in JSON object")
    return obj


def _no_constant(name: str) -> Any:
    raise JoseError("ERR_JSON", f"JSON constant {name} is not allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JoseError("ERR_JSON", "JSON number is out of range")
    return value


def _safe_int(text: str) -> int:
    # At most 16 digits (plus sign) before converting: no quadratic work on huge literals.
    if len(text) > 17:
        raise JoseError("ERR_JSON", "JSON integer is out of range")
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise JoseError("ERR_JSON", "JSON integer is out of range")
    return value


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_object, parse_constant=_no_constant,
                            parse_float=_finite_float, parse_int=_safe_int)
_scan = _DECODER.scan_once


def _parse(text: str) -> Any:
    """RFC 8259 parse; an object without surrounding whitespace takes the scanner directly (the common case)."""
    if text[:1] == "{":
        try:
            value, end = _scan(text, 0)
        except StopIteration:
            value, end = None, -1
        if end == len(text):
            return value
    return _DECODER.decode(text)  # whitespace around the value, or an error to report


def _check_tree(value: Any, *, surrogates: bool) -> None:
    """Bound the nesting depth and (when an escape could hide one) refuse lone surrogates."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise JoseError("ERR_JSON", f"JSON is nested deeper than {MAX_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif surrogates and isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise JoseError("ERR_JSON", "JSON string is not valid Unicode") from None


def loads_object(data: Any, *, what: str, max_bytes: int) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be one object with unique member names, at most ``max_bytes`` long."""
    if type(data) is not bytes and not isinstance(data, bytes | bytearray):
        raise JoseError("ERR_JSON", f"{what} is not bytes")
    return loads_object_bytes(data, what, max_bytes)


def loads_object_bytes(data: bytes | bytearray, what: str, max_bytes: int) -> dict[str, Any]:
    """``loads_object`` for a value already known to be bytes (a decoded JWS segment)."""
    if len(data) > max_bytes:
        raise JoseError("ERR_TOO_LARGE", f"{what} is larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise JoseError("ERR_JSON", f"{what} is not UTF-8") from None
    if text[:1] == "\ufeff":
        raise JoseError("ERR_JSON", f"{what} starts with a byte order mark")
    try:
        value = _parse(text)
    except JoseError:
        raise
    except (ValueError, RecursionError, TypeError):
        raise JoseError("ERR_JSON", f"{what} is not valid JSON") from None
    if value.__class__ is not dict and not isinstance(value, dict):
        raise JoseError("ERR_JSON", f"{what} is not a JSON object")
    surrogates = "\\" in text and _SURROGATE_ESCAPE.search(text) is not None
    # Depth can only exceed MAX_DEPTH when there are that many brackets: skip the walk for ordinary tokens.
    if surrogates or text.count("{") + text.count("[") > MAX_DEPTH:
        _check_tree(value, surrogates=surrogates)
    return value


def canonical_json(value: Any) -> bytes:
    """Compact, sorted JSON as UTF-8 (RFC 7638 §3 member encoding; stable for hashing)."""
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                          allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError):
        raise JoseError("ERR_JSON", "value cannot be encoded as canonical JSON") from None
