"""Reading the JSON-RPC body of an MCP request before the SDK does (JSON-RPC 2.0 §4, MCP 2025-11-25 Transports).

The layer needs the tool names of ``tools/call`` requests to answer ``403 insufficient_scope`` at the HTTP level
(MCP 2025-11-25 Authorization §Scope Challenge Handling). To leave no room for a parser differential with the SDK,
the body must be UTF-8 JSON without duplicate member names; anything else is refused here, never passed on.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Message, Receive

__all__ = [
    "BodyTooLarge", "MalformedBody", "may_call_tools", "parse_messages", "read_body", "replay", "tool_calls",
]

MAX_BATCH = 32


class BodyTooLarge(Exception):
    pass


class MalformedBody(Exception):
    pass


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, at most ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise MalformedBody("client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A ``receive`` that yields the body already read, then whatever the server sends next (disconnect)."""
    sent = False

    async def _receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return _receive


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedBody("duplicate member name")
        out[key] = value
    return out


def parse_messages(body: bytes) -> list[dict[str, Any]]:
    """One JSON-RPC message or a batch (older protocol versions) as a list of objects."""
    try:
        doc = json.loads(body.decode("utf-8"), object_pairs_hook=_unique)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedBody("not UTF-8 JSON") from None
    messages = doc if isinstance(doc, list) else [doc]
    if not messages or len(messages) > MAX_BATCH or not all(isinstance(m, dict) for m in messages):
        raise MalformedBody("not a JSON-RPC message")
    return messages


def may_call_tools(body: bytes) -> bool:
    """False only when no JSON parser can find a ``tools/call`` in ``body``: the literal is absent and nothing is
    escaped (``\\u0074ools/call`` and ``tools\\/call`` need a backslash). Lets plain requests skip the strict parse."""
    return b"tools/call" in body or b"\\" in body


def tool_calls(messages: list[dict[str, Any]]) -> list[str]:
    """The tool names of every ``tools/call`` request; a malformed one is refused (the SDK would refuse it too)."""
    names = []
    for message in messages:
        if message.get("method") != "tools/call":
            continue
        params = message.get("params")
        name = params.get("name") if isinstance(params, dict) else None
        if not isinstance(name, str):
            raise MalformedBody("tools/call without a tool name")
        names.append(name)
    return names
