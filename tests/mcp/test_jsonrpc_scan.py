"""The body scan before the SDK: the fast path never skips a body that holds a tool call (HP-MCP-08, HP-MCP-12)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.mcp.jsonrpc import MalformedBody, may_call_tools, parse_messages, tool_calls
from hardened.testing.mcp import jsonrpc_bodies

names = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF), min_size=1, max_size=12)
methods = st.sampled_from(["tools/call", "tools/list", "ping", "initialize"])
messages = st.fixed_dictionaries({"jsonrpc": st.just("2.0"), "id": st.integers(0, 9), "method": methods,
                                  "params": st.fixed_dictionaries({"name": names})})


def _encode(doc, ascii_only: bool, escape_slash: bool) -> bytes:
    text = json.dumps(doc, ensure_ascii=ascii_only)
    return (text.replace("/", "\\/") if escape_slash else text).encode()


@pytest.mark.requirement("HP-MCP-08")
@given(st.one_of(messages, st.lists(messages, min_size=1, max_size=4)), st.booleans(), st.booleans())
def test_every_encoding_of_a_tool_call_is_scanned(doc, ascii_only, escape_slash) -> None:
    body = _encode(doc, ascii_only, escape_slash)
    found = tool_calls(parse_messages(body))
    expected = [m["params"]["name"] for m in (doc if isinstance(doc, list) else [doc]) if m["method"] == "tools/call"]
    assert found == expected
    if found:
        assert may_call_tools(body)


@pytest.mark.requirement("HP-MCP-12")
@given(jsonrpc_bodies())
def test_arbitrary_bodies_are_parsed_or_refused_with_our_error(body) -> None:
    with contextlib.suppress(MalformedBody):
        tool_calls(parse_messages(body))


@pytest.mark.requirement("HP-MCP-12")
@pytest.mark.parametrize("body", [
    b'{"method":"tools/call","method":"x","params":{"name":"a"}}',
    b'{"params":{"name":"a","name":"b"},"method":"tools/call"}',
    b"\xef\xbb\xbf{}",
    b"1",
    b"[" + b",".join([b"{}"] * 33) + b"]",
])
def test_ambiguous_or_oversized_documents_are_refused(body) -> None:
    with pytest.raises(MalformedBody):
        tool_calls(parse_messages(body))
