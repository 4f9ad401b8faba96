"""Start-up checks of the resource policy: mistakes fail when the server is built, never per request."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import ConfigurationError
from hardened.mcp.policy import ResourcePolicy, ToolRequirement, tier_at_least
from hardened.mcp.server import TRADE_TOOLS
from hardened.testing.mcp import authorization_values


@pytest.mark.requirement("HP-MCP-01")
@pytest.mark.parametrize("resource, servers", [
    ("http://mcp.example.com/mcp", ("https://as.example",)),  # plain http off loopback
    ("https://mcp.example.com/mcp?x=1", ("https://as.example",)),
    ("https://mcp.example.com/mcp#f", ("https://as.example",)),
    ("mcp.example.com/mcp", ("https://as.example",)),
    ("https://mcp.example.com/mcp", ()),  # RFC 9728 §2: an AS is required here
])
def test_bad_resources_fail_at_start_up(resource, servers) -> None:
    with pytest.raises(ConfigurationError):
        ResourcePolicy(resource=resource, authorization_servers=servers, tools=TRADE_TOOLS)


@pytest.mark.requirement("HP-MCP-09")
@pytest.mark.parametrize("make", [
    lambda: ToolRequirement(frozenset()),
    lambda: ToolRequirement(frozenset({"bad scope"})),
    lambda: ToolRequirement(frozenset({"a"}), tier="gold"),
    lambda: ResourcePolicy(resource="https://m.example/mcp", authorization_servers=("https://as.example",),
                           tools={"bad name!": ToolRequirement(frozenset({"a"}))}),
])
def test_bad_tool_requirements_fail_at_start_up(make) -> None:
    with pytest.raises(ConfigurationError):
        make()


@pytest.mark.requirement("HP-MCP-09")
def test_tiers_are_ordered_and_unknown_tiers_never_suffice() -> None:
    assert tier_at_least("attested", "hardened") and tier_at_least("hardened", "hardened")
    assert not tier_at_least("baseline", "hardened") and not tier_at_least("gold", "baseline")
    policy = ResourcePolicy(resource="https://m.example/mcp", authorization_servers=("https://as.example",),
                            tools=TRADE_TOOLS)
    assert policy.allowed_tools({"trades:read", "trades:write"}, "baseline") == {"list-trades"}
    assert policy.allowed_tools({"trades:read", "trades:write"}, "hardened") == {"list-trades", "place-trade"}
    assert policy.allowed_hosts == ("m.example",) and policy.allowed_origins == ("https://m.example",)
    assert policy.initial_scope() == "trades:read" and policy.schemes() == ("DPoP", "Bearer")


@pytest.mark.requirement("HP-MCP-03")
@given(st.lists(authorization_values(), max_size=3), st.binary(max_size=40))
def test_credentials_are_read_or_refused_with_our_errors(values, query) -> None:
    from hardened.errors import InvalidRequest, InvalidToken
    from hardened.mcp.guard import Credentials, credentials

    policy = ResourcePolicy(resource="https://m.example/mcp", authorization_servers=("https://as.example",),
                            tools=TRADE_TOOLS)
    headers = [(b"authorization", v.encode("latin-1", "replace")) for v in values if v is not None]
    try:
        found = credentials(policy, query, headers)
    except (InvalidRequest, InvalidToken):
        return
    assert found is None or (isinstance(found, Credentials) and found.scheme in ("DPoP", "Bearer") and found.token)
    assert len(headers) <= 1
