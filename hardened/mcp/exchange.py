"""How the reference MCP server's tools reach the upstream API: RFC 8693 token exchange, then a DPoP-bound call.

For each call on behalf of a verified caller:

1. the server exchanges the caller's access token (``subject_token``) at the AS token endpoint for an RFC 9068
   ``at+jwt`` with the upstream as ``audience`` and only the scope the call needs (RFC 8693 §2.1), authenticating
   with ``private_key_jwt`` (RFC 7523 §2.2) and proving its own DPoP key (RFC 9449 §5): the new token is bound
   to the server's key and names the server in ``act`` (RFC 8693 §4.1);
2. it calls the upstream with ``Authorization: DPoP <at+jwt>`` and a fresh proof by that key.

The agent's token never leaves the MCP server except to its own AS (MCP Security Best Practices §Token
Passthrough). Exchanged tokens are cached per (caller token hash, scope) until shortly before they expire.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from hardened.client.assertion import assertion_params
from hardened.client.dpop import DPoPAuth
from hardened.clock import Clock, SystemClock
from hardened.jose import SigningKey
from hardened.mcp.identity import AccessIdentity
from hardened.mcp.introspection import token_hash
from hardened.mcp.server import UpstreamError

__all__ = [
    "ACCESS_TOKEN_TYPE", "MAX_CACHE_SECONDS", "TOKEN_EXCHANGE", "ExchangingUpstream", "ServerCredentials",
    "cache_lifetime",
]

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a URN, not a secret
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a URN
#: an exchanged token is never reused longer than this, whatever its expires_in
MAX_CACHE_SECONDS = 300.0


def cache_lifetime(expires_in: Any) -> float:
    """How long an exchanged token is reused (RFC 8693 §2.2.1 ``expires_in``): 10 s short of its lifetime, never
    more than MAX_CACHE_SECONDS, whatever the AS answered (``Infinity``, ``NaN``, a string or a boolean)."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or not math.isfinite(expires_in):
        expires_in = 60.0
    return min(MAX_CACHE_SECONDS, max(0.0, float(expires_in) - 10))


@dataclass(frozen=True)
class ServerCredentials:
    """The MCP server as a client of its AS: its client id, assertion key and DPoP key."""

    client_id: str
    issuer: str
    token_endpoint: str
    assertion_key: SigningKey
    dpop_key: SigningKey


class ExchangingUpstream:
    """The :class:`~hardened.mcp.server.Upstream` of the reference server, over HTTP."""

    def __init__(self, *, url: str, credentials: ServerCredentials, http: httpx.AsyncClient,
                 clock: Clock | None = None, cache_size: int = 1024) -> None:
        self.url, self.credentials, self._http = url.rstrip("/"), credentials, http
        self.clock = clock or SystemClock()
        self._cache: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._cache_size = cache_size
        self.exchanges = 0

    async def exchange(self, caller: AccessIdentity, scope: str) -> str:
        """RFC 8693 §2.1-2.2: an upstream token for ``scope`` on behalf of ``caller``."""
        key = (token_hash(caller.token), scope)
        hit = self._cache.get(key)
        if hit is not None and self.clock.now() < hit[1]:
            return hit[0]
        creds, now = self.credentials, self.clock.now()
        form = {"grant_type": TOKEN_EXCHANGE, "subject_token": caller.token, "subject_token_type": ACCESS_TOKEN_TYPE,
                "audience": self.url, "scope": scope,
                **assertion_params(creds.assertion_key, creds.client_id, creds.issuer, now=now)}
        self.exchanges += 1
        try:
            response = await self._http.post(creds.token_endpoint, data=form,
                                             auth=DPoPAuth(creds.dpop_key, clock=self.clock))
        except httpx.HTTPError as exc:
            raise UpstreamError("the authorization server could not be reached") from exc
        body = _json(response)
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or body.get("token_type") != "DPoP":
            raise UpstreamError(f"token exchange refused: {str(body.get('error', response.status_code))[:60]}")
        self._cache[key] = (token, now + cache_lifetime(body.get("expires_in")))
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return token

    async def _call(self, caller: AccessIdentity, scope: str, method: str, path: str, **kwargs: Any) -> Any:
        token = await self.exchange(caller, scope)
        auth = DPoPAuth(self.credentials.dpop_key, access_token=token, resource=self.url, clock=self.clock)
        try:
            response = await self._http.request(method, self.url + path, auth=auth, **kwargs)
        except httpx.HTTPError as exc:
            raise UpstreamError("the upstream API could not be reached") from exc
        body = _json(response)
        if response.status_code not in (200, 201):
            raise UpstreamError(f"upstream answered {response.status_code} {str(body.get('error', ''))[:60]}")
        return body

    async def list_trades(self, caller: AccessIdentity, *, symbol: str | None) -> list[dict[str, Any]]:
        body = await self._call(caller, "trades:read", "GET", "/trades",
                                params={"symbol": symbol} if symbol else None)
        trades = body.get("trades")
        return trades if isinstance(trades, list) else []

    async def place_trade(self, caller: AccessIdentity, order: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call(caller, "trades:write", "POST", "/trades", json=dict(order))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
        return {}
    return body if isinstance(body, dict) else {}
