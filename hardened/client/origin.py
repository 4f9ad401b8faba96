"""Origins (RFC 6454 §4) on the agent side: which server a credential may be sent to.

A credential (an access token, a client attestation and its PoP) is for one server; the agent attaches it only to
requests whose origin (scheme, host, port) is that server's, and only over TLS, except on loopback (RFC 8252 §8.3,
FAPI 2.0 SP §5.2.1).
"""

from __future__ import annotations

from typing import Any

import httpx

from hardened.core.htu import is_loopback_host
from hardened.errors import ConfigurationError

__all__ = ["credential_origin", "origin_of"]


def origin_of(url: Any) -> str:
    """The RFC 6454 origin of an ``httpx.URL`` (or of an ``httpx2.URL``: same attributes), default port omitted."""
    return f"{url.scheme}://{url.host}:{url.port or ''}"


def credential_origin(url: str, what: str) -> str:
    """The origin a credential may go to: ``url`` must be absolute ``https`` (``http`` only on loopback)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise ConfigurationError(f"{what} needs the absolute URL of the server it is for") from None
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise ConfigurationError(f"{what} needs the absolute URL of the server it is for")
    if parsed.scheme == "http" and not is_loopback_host(parsed.host):
        raise ConfigurationError(f"{what} is sent only over https (http only on loopback)")
    return origin_of(parsed)
