"""htu normalisation (RFC 3986 §6.2.2-6.2.3, RFC 9449 §4.3 step 9)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.htu import join_base_and_path, normalize_htu
from hardened.errors import InvalidDPoPProof
from hardened.testing.dpop import canonical_uri_parts, equivalent_uris, render_uri, request_uris

pytestmark = pytest.mark.requirement("HP-DPOP-08")


@pytest.mark.parametrize(
    ("given_uri", "normal"),
    [
        ("HTTPS://Server.Example.COM/token", "https://server.example.com/token"),
        ("https://server.example.com:443/token", "https://server.example.com/token"),
        ("http://server.example.com:80", "http://server.example.com/"),
        ("https://server.example.com", "https://server.example.com/"),
        ("https://server.example.com:/", "https://server.example.com/"),
        ("https://s.example/%7Euser/%61b", "https://s.example/~user/ab"),
        ("https://s.example/a%2fb", "https://s.example/a%2Fb"),
        ("https://s.example/a/./b/../c", "https://s.example/a/c"),
        ("https://s.example/p?query=1#frag", "https://s.example/p"),
        ("https://[::1]:8443/x", "https://[::1]:8443/x"),
        ("https://S%41.example/", "https://sa.example/"),
        ("https://s.example:8443/x", "https://s.example:8443/x"),
    ],
)
def test_examples(given_uri: str, normal: str) -> None:
    assert normalize_htu(given_uri) == normal


@pytest.mark.parametrize(
    "bad",
    ["", "/token", "token", "ftp://s.example/", "https:///p", "https://user@s.example/", "https://s.example/a b",
     "https://s.example/\u00e9", "https://s.example:99999/", "https://s.example:8a/", "https://s.example/%zz",
     "https://[::1/", "https://s_ex ample/", "x" * 3000, "https://s.example/\x00", 42, None, b"https://s.example/"],
)
def test_refused(bad: object) -> None:
    with pytest.raises(InvalidDPoPProof) as info:
        normalize_htu(bad)
    assert info.value.detail == "DPOP_HTU_INVALID"


@given(request_uris())
def test_idempotent(uri: str) -> None:
    once = normalize_htu(uri)
    assert normalize_htu(once) == once


@given(equivalent_uris())
def test_equivalent_spellings_match(pair: tuple[str, str]) -> None:
    normal, variant = pair
    assert normalize_htu(variant) == normalize_htu(normal) == normal


@given(canonical_uri_parts(), canonical_uri_parts())
def test_any_difference_never_matches(a: tuple, b: tuple) -> None:
    if a != b:
        assert normalize_htu(render_uri(a)) != normalize_htu(render_uri(b))


@given(st.text(max_size=300))
def test_arbitrary_text_only_our_error(text: str) -> None:
    try:
        result = normalize_htu(text)
    except InvalidDPoPProof:
        return
    assert normalize_htu(result) == result


@pytest.mark.requirement("HP-DPOP-09")
def test_join_base_and_path() -> None:
    assert join_base_and_path("https://mcp.example.com/prefix/", "/mcp") == "https://mcp.example.com/prefix/mcp"
    assert join_base_and_path("HTTPS://MCP.example.com:443", "/a/%7e") == "https://mcp.example.com/a/~"
