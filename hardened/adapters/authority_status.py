"""StatementStatus adapters: the authority's signed status list, fetched and cached (HP-SS; RFC 7591 §3.2.2).

The AS calls ``check(statement)`` at registration and on a schedule. The list a statement names
(``status.status_list.uri``, draft-ietf-oauth-status-list §6.1) is fetched only if it lies at its issuer's origin
(no SSRF through a statement), verified with that authority's keys (``statuslist+jwt``), and cached until the
earliest of: the list's ``exp``, its ``ttl``, the response's ``Cache-Control: max-age`` and this adapter's own
``max_age``. Time comes from an injected clock. Any failure to obtain a fresh, valid list refuses the statement
(fail closed).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import httpx

from hardened.clock import Clock, SystemClock
from hardened.core.software_statement import TrustedAuthority, VerifiedSoftwareStatement
from hardened.core.status_list import StatusListPolicy, VerifiedStatusList, check_statement_status, verify_status_list
from hardened.errors import JoseError, UnapprovedSoftwareStatement
from hardened.jose import loads_object

__all__ = [
    "HTTPStatementStatus", "HTTPStatusList", "StatusListChecker", "StatusListFetch", "bounded_get", "same_origin",
]

#: ``source(uri) -> (token, max_age or None)``: how a checker obtains a status list token.
StatusListFetch = Callable[[str], tuple[str, float | None]]
_JTI = re.compile(r"[A-Za-z0-9_-]{16,128}")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d{1,9})\s*(?:,|$)", re.IGNORECASE)


def same_origin(a: str, b: str) -> bool:
    """RFC 6454 §4 origin equality (scheme, host, port)."""
    try:
        pa, pb = urlsplit(a), urlsplit(b)
        return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port) and pa.scheme in ("https", "http")
    except ValueError:
        return False


def bounded_get(client: httpx.Client, url: str, *, limit: int, timeout: float = 5.0,
                accept: str = "application/json") -> tuple[int, httpx.Headers, bytes]:
    """GET without redirects, reading at most ``limit`` bytes of body (ValueError beyond)."""
    with client.stream("GET", url, headers={"Accept": accept}, follow_redirects=False, timeout=timeout) as response:
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise ValueError(f"response from {url} is larger than {limit} bytes")
        return response.status_code, response.headers, body


def _unapproved(detail: str) -> UnapprovedSoftwareStatement:
    return UnapprovedSoftwareStatement("the status of the software statement could not be established", detail=detail)


class StatusListChecker:
    """A :class:`~hardened.ports.statement_status.StatementStatus` over any source of status list tokens."""

    def __init__(self, source: StatusListFetch, *, authorities: Sequence[TrustedAuthority] | Callable[[], Sequence[
            TrustedAuthority]], clock: Clock, max_age: float = 300.0,
                 policy: StatusListPolicy = StatusListPolicy()) -> None:
        if not 0 < max_age <= policy.max_age:
            raise ValueError("max_age must be positive and within the status list policy's max_age")
        self._source = source
        self._authorities = authorities
        self._clock = clock
        self.max_age = max_age
        self._policy = policy
        self._cache: dict[str, tuple[VerifiedStatusList, float]] = {}
        self._lock = threading.Lock()

    def _authority(self, issuer: str) -> TrustedAuthority:
        listed = self._authorities() if callable(self._authorities) else self._authorities
        for authority in listed:
            if authority.issuer == issuer:
                return authority
        raise _unapproved("issuer is not a trusted authority")

    def status_list(self, authority: TrustedAuthority, uri: str) -> VerifiedStatusList:
        """The cached list at ``uri`` while fresh, else a newly fetched and verified one."""
        now = self._clock.now()
        with self._lock:
            cached = self._cache.get(uri)
            if cached is not None and now < cached[1] and cached[0].issuer == authority.issuer:
                return cached[0]
        try:
            token, http_max_age = self._source(uri)
        except Exception as exc:  # any transport failure: fail closed, reason to logs
            raise _unapproved(f"status list fetch failed: {type(exc).__name__}") from None
        verified = verify_status_list(token, authority=authority, uri=uri, policy=self._policy, now=now)
        if cached is not None and verified.iat < cached[0].iat:
            raise _unapproved("status list is older than one already seen (replay)")
        max_age = self.max_age if http_max_age is None else min(self.max_age, http_max_age)
        with self._lock:
            self._cache[uri] = (verified, verified.fresh_until(now, max_age))
        return verified

    def check(self, statement: VerifiedSoftwareStatement) -> None:
        """None while the statement's entry is VALID; else ``unapproved_software_statement``."""
        ref = statement.metadata.status
        if ref is None:
            raise _unapproved("statement has no status reference")
        if not same_origin(ref.uri, statement.issuer):
            raise _unapproved("status list is not at the issuer's origin")
        authority = self._authority(statement.issuer)
        check_statement_status(statement, self.status_list(authority, ref.uri))

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


class HTTPStatusList(StatusListChecker):
    """Fetch status lists over HTTP(S) with ``client`` (no redirects, bounded body, short timeout)."""

    def __init__(self, client: httpx.Client, *, authorities: Sequence[TrustedAuthority] | Callable[[], Sequence[
            TrustedAuthority]], clock: Clock | None = None, max_age: float = 300.0,
                 policy: StatusListPolicy = StatusListPolicy(), timeout: float = 5.0) -> None:
        self._client = client
        self._timeout = timeout
        super().__init__(self._fetch, authorities=authorities, clock=clock or SystemClock(), max_age=max_age,
                         policy=policy)

    def _fetch(self, uri: str) -> tuple[str, float | None]:
        status, headers, body = bounded_get(self._client, uri, limit=self._policy.max_token, timeout=self._timeout,
                                            accept="application/statuslist+jwt")
        if status != 200:
            raise ValueError(f"status list answered {status}")
        match = _MAX_AGE.search(headers.get("cache-control", ""))
        return body.decode("ascii", "replace").strip(), float(match.group(1)) if match else None


class HTTPStatementStatus:
    """The authority's per-statement status endpoint, asked afresh on every call (for registration time).

    ``GET {issuer}/statements/{jti}/status`` (the ``statement_status_endpoint`` of the authority configuration):
    only at the issuer's origin, without redirects, bounded; anything but ``"status": "valid"`` for this very
    statement refuses it. The answer is not signed: it relies on TLS to the issuer. For checks on a schedule,
    :class:`HTTPStatusList` (signed, cacheable) is the better source.
    """

    def __init__(self, client: httpx.Client, *, template: str = "{issuer}/statements/{jti}/status",
                 timeout: float = 5.0) -> None:
        self._client, self._template, self._timeout = client, template, timeout

    def check(self, statement: VerifiedSoftwareStatement) -> None:
        if not _JTI.fullmatch(statement.jti):
            raise _unapproved("statement jti cannot name a status resource")
        url = self._template.format(issuer=statement.issuer, jti=statement.jti)
        if not same_origin(url, statement.issuer):
            raise _unapproved("status endpoint is not at the issuer's origin")
        try:
            status, _, raw = bounded_get(self._client, url, limit=16_384, timeout=self._timeout)
            body = loads_object(raw, what="status", max_bytes=16_384) if status == 200 else None
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            raise _unapproved(f"status endpoint failed: {type(exc).__name__}") from None
        if not isinstance(body, dict) or body.get("jti") != statement.jti or body.get("iss") != statement.issuer:
            raise _unapproved("status endpoint gave no answer for this statement")
        if body.get("status") != "valid":
            word = body.get("status") if body.get("status") in ("revoked", "suspended") else "not valid"
            raise UnapprovedSoftwareStatement(f"the software statement is {word}", detail="status endpoint")
