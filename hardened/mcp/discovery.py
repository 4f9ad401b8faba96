"""Fetching metadata: RFC 8414 authorization server metadata and RFC 9728 protected resource metadata.

Both checks that make discovery safe are exact string comparisons: the AS metadata's ``issuer`` must equal the
issuer it was fetched for (RFC 8414 §3.3), and the resource metadata's ``resource`` must equal the resource it was
fetched for (RFC 9728 §3.3). Documents are bounded in size and must be JSON objects.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from hardened.clock import Clock
from hardened.errors import InvalidRequest, JoseError
from hardened.jose import KeySet
from hardened.mcp.prm import metadata_url

__all__ = [
    "MAX_DOCUMENT", "JWKSSource", "as_metadata_url", "fetch_as_metadata", "fetch_json", "fetch_resource_metadata",
]

MAX_DOCUMENT = 65_536


async def fetch_json(http: httpx.AsyncClient, url: str, *, what: str) -> dict[str, Any]:
    """GET a JSON object of bounded size; any failure is one ``InvalidRequest`` naming ``what``."""
    try:
        response = await http.get(url, headers={"Accept": "application/json"}, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise InvalidRequest(f"{what} could not be fetched", detail=type(exc).__name__) from None
    if response.status_code != 200 or len(response.content) > MAX_DOCUMENT:
        raise InvalidRequest(f"{what} could not be fetched", detail=f"HTTP {response.status_code}")
    try:
        doc = json.loads(response.content)
    except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
        raise InvalidRequest(f"{what} is not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidRequest(f"{what} is not a JSON object")
    return doc


def as_metadata_url(issuer: str) -> str:
    """RFC 8414 §3.1: ``/.well-known/oauth-authorization-server`` inserted before the issuer's path."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{path}"


async def fetch_as_metadata(http: httpx.AsyncClient, issuer: str) -> dict[str, Any]:
    """RFC 8414 §3.3: the ``issuer`` in the document must be identical to the one the URL was made from."""
    doc = await fetch_json(http, as_metadata_url(issuer), what="authorization server metadata")
    if doc.get("issuer") != issuer:
        raise InvalidRequest("authorization server metadata names another issuer")
    return doc


async def fetch_resource_metadata(http: httpx.AsyncClient, resource: str, url: str | None = None) -> dict[str, Any]:
    """RFC 9728 §3.3: ``resource`` in the document must be identical to the resource the client is calling.

    ``url`` is the ``resource_metadata`` from a challenge; it must lie on the resource's own origin, so that a
    challenge cannot send the client to another party's metadata.
    """
    url = url or metadata_url(resource)
    if urlsplit(url)[:2] != urlsplit(resource)[:2]:
        raise InvalidRequest("resource_metadata is not on the resource's origin")
    doc = await fetch_json(http, url, what="protected resource metadata")
    if doc.get("resource") != resource:
        raise InvalidRequest("protected resource metadata names another resource")
    servers = doc.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) for s in servers):
        raise InvalidRequest("protected resource metadata names no authorization server")
    return doc


class JWKSSource:
    """An issuer's JWKS (RFC 7517 §5) fetched from its ``jwks_uri``, refetched at most once per ``min_interval``."""

    def __init__(self, http: httpx.AsyncClient, jwks_uri: str, *, clock: Clock, min_interval: float = 30.0) -> None:
        self._http, self.jwks_uri, self._clock, self._min_interval = http, jwks_uri, clock, min_interval
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")

    async def get(self) -> KeySet:
        if self._keys is None:
            await self.refresh()
        if self._keys is None:
            raise InvalidRequest("the issuer's keys could not be fetched")
        return self._keys

    async def refresh(self) -> bool:
        now = self._clock.now()
        if now - self._fetched_at < self._min_interval:
            return False
        self._fetched_at = now
        doc = await fetch_json(self._http, self.jwks_uri, what="JWKS")
        try:
            self._keys = KeySet.from_jwks(doc)
        except JoseError as err:
            raise InvalidRequest("the issuer's JWKS is not valid", detail=err.code) from None
        return True
