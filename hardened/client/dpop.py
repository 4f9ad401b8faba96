"""DPoP for the agent (RFC 9449 §4-§9): an ``httpx.Auth`` that proves possession of its key on every request.

- a fresh proof per request (new ``jti``, ``iat`` from the clock), ``htu`` without query and fragment;
- with an access token: ``Authorization: DPoP <token>`` and ``ath`` in the proof (§7.1), sent only to the origin
  of the resource the token is for (``set_access_token(token, resource=url)``), never to another origin;
- the last ``DPoP-Nonce`` of each origin is remembered and put in the next proof (§8.2, §9);
- on ``use_dpop_nonce`` (400 with a JSON body at an AS, §8; 401 with ``WWW-Authenticate: DPoP
  error="use_dpop_nonce"`` at a resource server, §9) the request is signed again with the new nonce, once.

``DPoPAuth`` is for ``httpx``; ``DPoPAuth.as_httpx2()`` gives the same flow (same key, token and nonces) for the
``httpx2`` package that the official MCP SDK uses: its ``Auth`` protocol is the same generator interface.

Keys: ES256 by default (``SigningKey.generate("ES256")``); PS256 and EdDSA keys work the same way.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx

from hardened.client.origin import credential_origin, origin_of
from hardened.clock import Clock, SystemClock
from hardened.core.dpop import build_dpop_proof
from hardened.jose import SigningKey

__all__ = ["DPoPAuth", "challenges", "is_use_dpop_nonce"]

_MAX_ORIGINS = 64
_MAX_NONCE = 512
_PARAM = re.compile(r"""([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?:[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^\s,]*))?""")


def challenges(values: list[str]) -> list[tuple[str, dict[str, str]]]:
    """Parse ``WWW-Authenticate`` values (RFC 9110 §11.6.1) into ``(scheme lowercased, params)`` pairs."""
    out: list[tuple[str, dict[str, str]]] = []
    for value in values:
        for match in _PARAM.finditer(value[:8192]):
            name, raw = match.group(1), match.group(2)
            if raw is None:
                out.append((name.lower(), {}))
            elif out:
                out[-1][1][name.lower()] = raw[1:-1] if raw.startswith('"') else raw
    return out


def is_use_dpop_nonce(response: Any) -> bool:
    """True for an RFC 9449 §8 (400 + JSON ``error``) or §9 (401 + DPoP challenge) ``use_dpop_nonce`` answer.

    The body of a 400 must have been read already (``response.read()`` / ``await response.aread()``).
    """
    if response.status_code == 401:
        found = challenges(response.headers.get_list("www-authenticate"))
        return any(s == "dpop" and p.get("error") == "use_dpop_nonce" for s, p in found)
    if response.status_code == 400:
        try:
            body = json.loads(response.content[:65536])
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return False
        return isinstance(body, dict) and body.get("error") == "use_dpop_nonce"
    return False


class _DPoPFlow:
    """The flow itself, independent of which httpx package drives it."""

    requires_request_body = True  # a retried request must be re-sent with the same body
    requires_response_body = False  # only a 400 carrying DPoP-Nonce is read (never a streamed MCP response)

    def __init__(
        self,
        key: SigningKey | None = None,
        *,
        access_token: str | None = None,
        resource: str | None = None,
        clock: Clock | None = None,
        jti: Callable[[], str] | None = None,
        _nonces: OrderedDict[str, str] | None = None,
        _lock: threading.Lock | None = None,
    ) -> None:
        self.key = key or SigningKey.generate("ES256")
        self.access_token: str | None = None
        self._token_origin: str | None = None
        if access_token is not None:
            self.set_access_token(access_token, resource=resource or "")
        self.clock = clock or SystemClock()
        self._jti = jti or (lambda: secrets.token_urlsafe(16))
        self._nonces: OrderedDict[str, str] = _nonces if _nonces is not None else OrderedDict()
        self._lock = _lock or threading.Lock()  # shared with an as_httpx2() twin, as the nonces are

    @property
    def jkt(self) -> str:
        """The RFC 7638 thumbprint of the key (the ``dpop_jkt`` authorization request parameter, §10)."""
        return self.key.thumbprint

    def set_access_token(self, access_token: str | None, *, resource: str) -> None:
        """Use ``access_token`` for requests to the origin (scheme, host, port) of ``resource`` only, never
        elsewhere: not to the AS, not to another server, not after a redirect to another origin; and only over
        https (http only on loopback)."""
        if access_token is None:
            self.access_token, self._token_origin = None, None
            return
        self.access_token, self._token_origin = access_token, credential_origin(resource, "the access token")

    def nonce_for(self, url: Any) -> str | None:
        return self._nonces.get(origin_of(url))

    def _remember(self, request: Any, response: Any) -> str | None:
        nonce = response.headers.get("dpop-nonce")
        if nonce and len(nonce) <= _MAX_NONCE and nonce.isascii() and nonce.isprintable():
            origin = origin_of(request.url)
            with self._lock:
                self._nonces[origin] = nonce
                self._nonces.move_to_end(origin)
                while len(self._nonces) > _MAX_ORIGINS:
                    self._nonces.popitem(last=False)
            return nonce
        return None

    def _sign(self, request: Any) -> str | None:
        nonce = self.nonce_for(request.url)
        # RFC 9449 §4.2: htu without query and fragment; and without user information (RFC 9110 §4.2.4), which
        # would put a password into a header that proxies may log, and which servers refuse anyway.
        htu = str(request.url.copy_with(query=None, fragment=None, userinfo=b""))
        token = self.access_token if origin_of(request.url) == self._token_origin else None
        request.headers["DPoP"] = build_dpop_proof(
            self.key, htm=request.method, htu=htu, iat=self.clock.now(), jti=self._jti(), nonce=nonce,
            access_token=token,
        )
        if token is not None:
            request.headers["Authorization"] = f"DPoP {token}"
        return nonce

    def _retry_nonce(self, request: Any, response: Any, used: str | None) -> str | None:
        """The new nonce to retry with, when the answer is ``use_dpop_nonce`` with a nonce we did not just use."""
        fresh = self._remember(request, response)
        if fresh is not None and fresh != used and is_use_dpop_nonce(response):
            return fresh
        return None

    @staticmethod
    def _needs_body(response: Any) -> bool:
        return response.status_code == 400 and "dpop-nonce" in response.headers

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        request.read()
        used = self._sign(request)
        response = yield request
        if self._needs_body(response):
            response.read()
        if self._retry_nonce(request, response, used) is not None:
            self._sign(request)
            response = yield request
            self._remember(request, response)

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        await request.aread()
        used = self._sign(request)
        response = yield request
        if self._needs_body(response):
            await response.aread()
        if self._retry_nonce(request, response, used) is not None:
            self._sign(request)
            response = yield request
            self._remember(request, response)

    def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        """The generic flow: like ``sync_auth_flow``, for callers that read bodies themselves."""
        yield from self.sync_auth_flow(request)


class DPoPAuth(_DPoPFlow, httpx.Auth):
    """``httpx.Client(auth=DPoPAuth(key))`` / ``httpx.AsyncClient(auth=...)``; ``set_access_token(token,
    resource=url)`` once a token is issued."""

    def as_httpx2(self) -> Any:
        """The same flow (sharing key, token and nonces at creation) as an ``httpx2.Auth`` for the MCP SDK."""
        import httpx2  # the MCP SDK's HTTP client; imported only when asked for

        class DPoPAuthHttpx2(_DPoPFlow, httpx2.Auth):
            pass

        twin = DPoPAuthHttpx2(self.key, clock=self.clock, jti=self._jti, _nonces=self._nonces, _lock=self._lock)
        twin.access_token, twin._token_origin = self.access_token, self._token_origin
        return twin
