"""Security headers on every response and no CORS (RFC 9700 §4.16; FAPI 2.0 SP §5.2.2; RFC 6797; OWASP secure headers).

A small ASGI middleware: it adds the headers below to every HTTP response unless a route has set its own (the
consent page widens ``form-action`` to the client's verified redirect origin), and answers no CORS preflight:
``Access-Control-*`` headers are never sent, so browsers refuse cross-origin reads.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "SECURITY_HEADERS", "SecurityHeaders"]

CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    # RFC 6797 §7.2/§8.1: sent always; browsers heed it only over https, so loopback http development is unaffected
    "strict-transport-security": "max-age=31536000",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control")]
                present = {k.lower() for k, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
