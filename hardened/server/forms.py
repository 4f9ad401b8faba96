"""Reading request bodies and queries at the edge, bounded and strict (RFC 6749 §3.1, §3.2; RFC 7591 §3).

- Sizes are bounded before parsing; bodies are read as a stream so an oversize body is never held.
- ``application/x-www-form-urlencoded`` only for OAuth endpoints; parameters may not repeat (RFC 6749 §3.1) and
  may not be empty when sent; values are bounded.
- JSON bodies (registration) must be one object of bounded size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from hardened.errors import InvalidClientMetadata, InvalidRequest

__all__ = ["MAX_BODY", "read_body", "read_form", "read_json_object", "unique_params"]

MAX_BODY = 64 * 1024
MAX_VALUE = 8192
MAX_FIELDS = 64


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, refusing more than ``limit`` bytes whatever Content-Length says."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise InvalidRequest("the request body is too large or its length is malformed")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InvalidRequest("the request body is too large")
        chunks.append(chunk)
    return b"".join(chunks)


def unique_params(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once"; empty means absent."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:  # an empty first value counts too: "a=&a=x" is a repeat, not one "a"
            raise InvalidRequest("a parameter is repeated")
        seen.add(name)
        if len(name) > 128 or len(value) > MAX_VALUE:
            raise InvalidRequest("a parameter is too long")
        if value != "":
            out[name] = value
    if len(out) > MAX_FIELDS:
        raise InvalidRequest("too many parameters")
    return out


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (RFC 6749 §3.2) as unique, bounded parameters."""
    if _content_type(request) != "application/x-www-form-urlencoded":
        raise InvalidRequest("the body must be application/x-www-form-urlencoded")
    raw = await read_body(request)
    try:
        text = raw.decode("utf-8", "strict")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=MAX_FIELDS,
                          errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the form body is malformed") from None
    return unique_params(pairs)


def query_params(request: Request) -> dict[str, str]:
    """The query string as unique, bounded parameters (RFC 6749 §3.1)."""
    raw = request.scope.get("query_string", b"")
    if len(raw) > MAX_BODY:
        raise InvalidRequest("the query is too long")
    try:
        text = raw.decode("ascii", "strict")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=MAX_FIELDS,
                          errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the query is malformed") from None
    return unique_params(pairs)


async def read_json_object(request: Request) -> dict[str, Any]:
    """RFC 7591 §3.1: a JSON object body (``invalid_client_metadata`` otherwise)."""
    if _content_type(request) != "application/json":
        raise InvalidClientMetadata("the body must be application/json")
    raw = await read_body(request)
    try:
        value = json.loads(raw.decode("utf-8", "strict"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidClientMetadata("the body is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidClientMetadata("the body is not a JSON object")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
