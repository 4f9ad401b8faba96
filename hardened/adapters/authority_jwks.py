"""Trusted authorities with fetched keys: metadata and JWKS over HTTP, cached (HP-SS; RFC 7591 §2.3).

``hardened.core`` only ever takes a :class:`~hardened.jose.KeySet`; this adapter is the I/O around it. For each
configured issuer it reads ``{issuer}/.well-known/authority-configuration``, requires its ``issuer`` to be exactly
the configured one (as RFC 8414 §3.3 does for AS metadata) and its ``jwks_uri`` to be at the issuer's origin, and
fetches that JWKS. Results are cached for ``max_age`` seconds of the injected clock; a statement signed by a key
not yet in the cache triggers one early refresh (key rotation), at most once per ``min_refresh`` seconds.
Pinned authorities (a KeySet given in configuration) are never fetched.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import httpx

from hardened.adapters.authority_status import bounded_get, same_origin
from hardened.clock import Clock, SystemClock
from hardened.core.software_statement import (
    SoftwareStatementPolicy,
    TrustedAuthority,
    VerifiedSoftwareStatement,
    verify_software_statement,
)
from hardened.errors import ConfigurationError, InvalidSoftwareStatement, JoseError
from hardened.jose import KeySet, loads_object

__all__ = ["AUTHORITY_METADATA_PATH", "AuthorityDirectory"]

AUTHORITY_METADATA_PATH = "/.well-known/authority-configuration"
_MAX_DOC = 65_536


class AuthorityDirectory:
    """The AS's trusted authorities: pinned key sets, plus issuers whose JWKS is fetched and cached."""

    def __init__(self, *, pinned: Sequence[TrustedAuthority] = (), fetched: Sequence[str] = (),
                 client: httpx.Client | None = None, clock: Clock | None = None, max_age: float = 3600.0,
                 min_refresh: float = 60.0) -> None:
        if fetched and client is None:
            raise ConfigurationError("fetched authorities need an HTTP client")
        self._pinned = {a.issuer: a for a in pinned}
        self._fetched = tuple(fetched)
        self._client = client
        self._clock = clock or SystemClock()
        self.max_age = max_age
        self.min_refresh = min_refresh
        self._cache: dict[str, tuple[TrustedAuthority, float]] = {}
        self._lock = threading.Lock()

    def _get_json(self, url: str) -> Any:
        """GET a JSON object: no redirects, at most 64 KiB read, strict JSON (unique members)."""
        assert self._client is not None
        status, _, body = bounded_get(self._client, url, limit=_MAX_DOC)
        if status != 200:
            raise ValueError(f"{url} answered {status}")
        return loads_object(body, what="authority document", max_bytes=_MAX_DOC)

    def _fetch(self, issuer: str) -> TrustedAuthority:
        meta = self._get_json(issuer.rstrip("/") + AUTHORITY_METADATA_PATH)
        if not isinstance(meta, dict) or meta.get("issuer") != issuer:
            raise ValueError("authority metadata issuer does not match")
        jwks_uri = meta.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not same_origin(jwks_uri, issuer):
            raise ValueError("authority jwks_uri is not at the issuer's origin")
        return TrustedAuthority(issuer=issuer, keys=KeySet.from_jwks(self._get_json(jwks_uri)))

    def _refresh(self, issuer: str, *, force: bool) -> None:
        now = self._clock.now()
        with self._lock:
            cached = self._cache.get(issuer)
            if cached is not None and (now < cached[1] if not force else now < cached[1] - self.max_age
                                       + self.min_refresh):
                return
        try:
            authority = self._fetch(issuer)
        except (httpx.HTTPError, ValueError, JoseError):
            if cached is not None and now < cached[1]:
                return  # keep the fresh copy; a failed early refresh changes nothing
            with self._lock:
                self._cache.pop(issuer, None)
            return
        with self._lock:
            self._cache[issuer] = (authority, now + self.max_age)

    def trusted_authorities(self) -> list[TrustedAuthority]:
        """Pinned authorities and every fetched one whose keys are fresh (an unreachable one is left out)."""
        for issuer in self._fetched:
            self._refresh(issuer, force=False)
        with self._lock:
            return [*self._pinned.values(), *(a for a, _ in self._cache.values())]

    def verify(self, jwt: Any, *, policy: SoftwareStatementPolicy) -> VerifiedSoftwareStatement:
        """``verify_software_statement`` with these authorities; an unknown ``kid`` refreshes the keys once."""
        try:
            return verify_software_statement(jwt, trusted_authorities=self.trusted_authorities(), policy=policy,
                                             now=self._clock.now())
        except InvalidSoftwareStatement as exc:
            if exc.detail != "ERR_JWK_NOT_FOUND" or not self._fetched:
                raise
        for issuer in self._fetched:
            self._refresh(issuer, force=True)
        return verify_software_statement(jwt, trusted_authorities=self.trusted_authorities(), policy=policy,
                                         now=self._clock.now())
