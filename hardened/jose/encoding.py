"""Strict base64url (RFC 7515 §2, RFC 4648 §5) and strict JSON (RFC 8259, RFC 7515 §5.2 step 4).

Only the canonical form decodes: no padding, no standard-alphabet characters, no whitespace or BOM, no
non-zero trailing bits. JSON objects must have unique member names, no NaN/Infinity, valid Unicode (no lone
surrogates), and a bounded size.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from hardened.errors import JoseError

__all__ = ["b64url_decode", "b64url_encode", "canonical_json", "loads_object"]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# A base64url string of length 4k+r has r in {0, 2, 3}; the last character's unused bits must be zero.
_LAST_CHAR_OK = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, what: str = "value") -> bytes:
    """Decode canonical unpadded base64url or raise ``ERR_B64``."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text):
        raise JoseError("ERR_B64", f"{what} is not unpadded base64url")
    remainder = len(text) % 4
    if remainder == 1:
        raise JoseError("ERR_B64", f"{what} has an impossible base64url length")
    if remainder and text[-1] not in _LAST_CHAR_OK[remainder]:
        raise JoseError("ERR_B64", f"{what} is not canonical base64url (non-zero trailing bits)")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - excluded by the checks above
        raise JoseError("ERR_B64", f"{what} is not base64url") from exc


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise JoseError("ERR_JSON_DUPLICATE", "duplicate member name in JSON object")
    return obj


def _no_constant(name: str) -> Any:
    raise JoseError("ERR_JSON", f"JSON constant {name} is not allowed")


def _check_strings(value: Any) -> None:
    """Refuse lone surrogates anywhere in a decoded JSON value (they cannot be re-encoded as UTF-8)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise JoseError("ERR_JSON", "JSON string is not valid Unicode") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads_object(data: bytes, *, what: str, max_bytes: int) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be one object with unique member names, at most ``max_bytes`` long."""
    if len(data) > max_bytes:
        raise JoseError("ERR_TOO_LARGE", f"{what} is larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise JoseError("ERR_JSON", f"{what} is not UTF-8") from None
    if text[:1] == "\ufeff":
        raise JoseError("ERR_JSON", f"{what} starts with a byte order mark")
    try:
        value = json.loads(text, object_pairs_hook=_unique_object, parse_constant=_no_constant)
    except JoseError:
        raise
    except (ValueError, RecursionError, TypeError):
        raise JoseError("ERR_JSON", f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise JoseError("ERR_JSON", f"{what} is not a JSON object")
    if _SURROGATE_ESCAPE.search(text):
        _check_strings(value)
    return value


def canonical_json(value: Any) -> bytes:
    """Compact, sorted JSON as UTF-8 (RFC 7638 §3 member encoding; stable for hashing)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False).encode()
