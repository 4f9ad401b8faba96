"""Trusted attesters published by authorities (draft-ietf-oauth-attestation-based-client-auth-10 §7.1 step 4, §9.8):
the authority acting as Client Attester publishes ``attester_issuer`` and ``attester_jwks_uri`` in its
``/.well-known/authority-configuration``; an AS that decides to trust it as attester loads that JWKS.

- :func:`fetch_attester_registry`: once, at start-up: an :class:`~hardened.adapters.attesters.AttesterRegistry`
  (pinned from then on); any defect is a :class:`~hardened.errors.ConfigurationError`.
- :class:`AuthorityAttesters`: the ``AttesterKeys`` lookup (``get(issuer)``) with keys refreshed every ``max_age``
  seconds (attester key rotation); an authority that cannot be fetched once its cached keys expired is left out:
  its attestations are refused as untrusted (fail closed), and it is not asked again for ``retry_after`` seconds.

Checks, as for statement keys (``hardened.adapters.authority_jwks``): the configuration's ``issuer`` and
``attester_issuer`` are exactly the configured issuer (RFC 8414 §3.3), ``attester_jwks_uri`` is at the issuer's
origin, every GET is bounded (64 KiB), strict JSON, without redirects.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from hardened.adapters.attesters import AttesterRegistry
from hardened.adapters.authority_jwks import AUTHORITY_METADATA_PATH
from hardened.adapters.authority_status import bounded_get, same_origin
from hardened.clock import Clock, SystemClock
from hardened.errors import ConfigurationError, JoseError
from hardened.jose import KeySet, loads_object

__all__ = ["AuthorityAttesters", "fetch_attester_keys", "fetch_attester_registry"]

_MAX_DOC = 65_536


def _check_issuer(issuer: Any) -> str:
    try:
        parts = urlsplit(issuer) if isinstance(issuer, str) else None
    except ValueError:
        parts = None
    loopback = parts is not None and parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts is None or not (parts.scheme == "https" or loopback) or not parts.hostname:
        raise ConfigurationError(f"authority {issuer!r} must be an https URL (http only on loopback)")
    return issuer


def _get_json(client: httpx.Client, url: str) -> Any:
    status, _, body = bounded_get(client, url, limit=_MAX_DOC)
    if status != 200:
        raise ValueError(f"{url} answered {status}")
    return loads_object(body, what="authority document", max_bytes=_MAX_DOC)


def fetch_attester_keys(client: httpx.Client, issuer: str) -> KeySet:
    """The authority's attester keys, read through its configuration (module doc); ValueError or JoseError."""
    meta = _get_json(client, issuer.rstrip("/") + AUTHORITY_METADATA_PATH)
    if meta.get("issuer") != issuer or meta.get("attester_issuer") != issuer:
        raise ValueError("authority configuration does not name this issuer as attester")
    jwks_uri = meta.get("attester_jwks_uri")
    if not isinstance(jwks_uri, str) or not same_origin(jwks_uri, issuer):
        raise ValueError("attester_jwks_uri is not at the issuer's origin")
    return KeySet.from_jwks(_get_json(client, jwks_uri))


def fetch_attester_registry(client: httpx.Client, issuers: Sequence[str],
                            pinned: AttesterRegistry | None = None) -> AttesterRegistry:
    """Start-up: every authority's attester keys plus ``pinned`` ones, as one registry (ConfigurationError)."""
    pairs = list((pinned or AttesterRegistry()).items())
    for issuer in issuers:
        _check_issuer(issuer)
        try:
            pairs.append((issuer, fetch_attester_keys(client, issuer)))
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            raise ConfigurationError(f"cannot load the attester keys of {issuer}: {type(exc).__name__}") from None
    return AttesterRegistry(pairs)


class AuthorityAttesters:
    """``AttesterKeys`` over authorities' published attester keys, cached ``max_age`` seconds (module doc)."""

    def __init__(self, client: httpx.Client, issuers: Sequence[str], *, clock: Clock | None = None,
                 max_age: float = 300.0, retry_after: float = 10.0) -> None:
        for issuer in issuers:
            _check_issuer(issuer)
        if not 0 < max_age <= 86_400:
            raise ConfigurationError("max_age must be in (0, 86400] seconds")
        self._client, self._issuers = client, frozenset(issuers)
        self._clock = clock or SystemClock()
        self.max_age, self.retry_after = max_age, retry_after
        self._failed_until: dict[str, float] = {}
        self._cache: dict[str, tuple[KeySet, float]] = {}
        self._lock = threading.Lock()

    def get(self, issuer: str, /) -> KeySet | None:
        """The attester keys of ``issuer`` if it is a configured authority and its keys could be had."""
        if issuer not in self._issuers:
            return None
        now = self._clock.now()
        with self._lock:
            cached = self._cache.get(issuer)
        if cached is not None and now < cached[1]:
            return cached[0]
        with self._lock:
            if now < self._failed_until.get(issuer, 0.0):
                return None  # failed recently: do not let every request wait on an unreachable authority
        try:
            keys = fetch_attester_keys(self._client, issuer)
        except (httpx.HTTPError, ValueError, JoseError):
            with self._lock:
                self._cache.pop(issuer, None)
                self._failed_until[issuer] = now + self.retry_after
            return None
        with self._lock:
            self._cache[issuer] = (keys, now + self.max_age)
        return keys
