"""The agent's own checks, without servers: the authorization response (RFC 9207), step-up bounds (HP-MCP-17/18)."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("hardened.client.assertion")

from hardened.clock import FixedClock
from hardened.errors import AccessDenied, InsufficientScope, InvalidRequest
from hardened.jose import SigningKey
from hardened.mcp.agent import AgentCredentials, HardenedAgent, TokenSet

REDIRECT = "http://127.0.0.1:8765/callback"
ISSUER = "http://127.0.0.1:9000"


def agent(clock=None) -> HardenedAgent:
    creds = AgentCredentials(SigningKey.generate("ES256"), SigningKey.generate("ES256"), "statement", REDIRECT)

    async def never(url: str, redirect: str) -> str:
        raise AssertionError("no authorization expected")

    a = HardenedAgent("http://127.0.0.1:9001/mcp", creds, never, clock=clock or FixedClock())
    a.as_metadata = {"issuer": ISSUER}
    return a


@pytest.mark.requirement("HP-MCP-17")
def test_authorization_response_with_our_state_and_the_issuer_gives_the_code() -> None:
    assert agent()._callback(f"{REDIRECT}?code=c1&state=s1&iss={ISSUER}", "s1") == "c1"


@pytest.mark.requirement("HP-MCP-17")
@pytest.mark.parametrize("location, error", [
    (f"{REDIRECT}?code=c1&state=s1", InvalidRequest),  # no iss (RFC 9207 §2.4)
    (f"{REDIRECT}?code=c1&state=s1&iss=http://127.0.0.1:9002", InvalidRequest),  # mix-up
    (f"{REDIRECT}?code=c1&state=s1&iss={ISSUER}/", InvalidRequest),  # not exactly the issuer
    (f"{REDIRECT}?code=c1&state=s2&iss={ISSUER}", InvalidRequest),  # another state
    (f"{REDIRECT}?state=s1&iss={ISSUER}", InvalidRequest),  # no code
    (f"{REDIRECT}?error=access_denied&state=s1&iss={ISSUER}", AccessDenied),
    (f"http://127.0.0.1:9999/callback?code=c1&state=s1&iss={ISSUER}", InvalidRequest),  # another redirect URI
])
def test_defective_authorization_responses_are_refused(location, error) -> None:
    with pytest.raises(error):
        agent()._callback(location, "s1")


@pytest.mark.requirement("HP-MCP-18")
def test_step_up_asks_for_the_union_and_is_bounded() -> None:
    a = agent()
    a.tokens = TokenSet("t", frozenset({"trades:read"}), 1e12)
    asked: list[frozenset[str]] = []

    async def authorize(scopes):
        asked.append(frozenset(scopes))
        a.tokens = TokenSet("t2", frozenset(scopes), 1e12)
        return a.tokens

    a.authorize = authorize  # type: ignore[method-assign]
    asyncio.run(a.step_up(["trades:write"]))
    assert asked == [frozenset({"trades:read", "trades:write"})]
    with pytest.raises(InsufficientScope):  # nothing new to ask for: no loop
        asyncio.run(a.step_up(["trades:write"]))
    a.tokens = TokenSet("t", frozenset({"trades:read"}), 1e12)
    asyncio.run(a.step_up(["x:1"]))
    with pytest.raises(InsufficientScope):  # max_step_ups (2) reached
        asyncio.run(a.step_up(["x:2"]))
    assert len(asked) == 2


@pytest.mark.requirement("HP-MCP-18")
def test_token_is_refreshed_only_near_expiry() -> None:
    clock = FixedClock()
    a = agent(clock)
    a.tokens = TokenSet("t", frozenset({"trades:read"}), clock.now() + 300, refresh_token="r")
    posted: list[dict] = []

    async def post(endpoint, form, what):
        posted.append(form)
        return {"access_token": "t2", "token_type": "DPoP", "expires_in": 300, "scope": "trades:read"}

    a._post = post  # type: ignore[method-assign]
    asyncio.run(a.ensure_token())
    assert posted == []
    clock.advance(271)
    assert asyncio.run(a.ensure_token()).access_token == "t2"
    assert posted == [{"grant_type": "refresh_token", "refresh_token": "r"}]


@pytest.mark.requirement("HP-MCP-17")
@pytest.mark.parametrize("body", [
    {"access_token": "t", "token_type": "Bearer", "expires_in": 60},
    {"token_type": "DPoP", "expires_in": 60},
    {"access_token": 5, "token_type": "DPoP"},
])
def test_only_dpop_bound_tokens_are_accepted(body) -> None:
    with pytest.raises(InvalidRequest):
        agent()._token_set(body, "trades:read")
