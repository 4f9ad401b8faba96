"""The checks an MCP server runs on every HTTP request, in order (MCP Authorization 2025-11-25, RFC 6750, RFC 9449).

1. ``check_transport``: ``Host`` and ``Origin`` on the allow-list (DNS rebinding; MCP 2025-11-25 Transports
   §Security Warning);
2. ``credentials``: no token in the query string (RFC 6750 §2.3, MCP "Token Requirements"), exactly one
   ``Authorization`` header, scheme ``DPoP`` or (baseline tier on) ``Bearer``, token68 syntax, bounded length;
3. the token resolved by introspection (phantom token, RFC 7662 / RFC 9701): active, this audience, not expired;
4. the binding: a ``cnf.jkt`` token only with the ``DPoP`` scheme and a valid proof (RFC 9449 §7.1, with ``ath``),
   an unbound token only as ``Bearer`` and only in the baseline tier (HP-DEC-03); a ``cnf.x5t#S256`` token only as
   ``Bearer`` over mutual TLS with that certificate (RFC 8705 §3), and only where a certificate source is
   configured (fail closed).

The result is an :class:`~hardened.mcp.identity.AccessIdentity` or one ``OAuthError`` (or
:class:`TransportRefused` for step 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl

from hardened.clock import Clock, SystemClock
from hardened.core.mtls import check_certificate_binding
from hardened.errors import ConfigurationError, HardenedError, InvalidClient, InvalidRequest, InvalidToken
from hardened.mcp.identity import AccessIdentity
from hardened.mcp.introspection import IntrospectedToken
from hardened.mcp.policy import ResourcePolicy
from hardened.web.client_cert import ClientCertificateSource

__all__ = ["Credentials", "ProofCheck", "ResourceGuard", "TokenResolver", "TransportRefused", "credentials"]

#: RFC 6750 §2.1 b64token / RFC 9449 §7.1 token68.
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
MAX_TOKEN = 4096
MAX_HEADER = 8192


class TransportRefused(HardenedError):
    """A request refused before any OAuth processing (foreign ``Host`` or ``Origin``)."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code, self.reason = status_code, reason


@dataclass(frozen=True, slots=True)
class Credentials:
    scheme: str  # "DPoP" or "Bearer"
    token: str = ""


class TokenResolver(Protocol):
    async def introspect(self, token: str) -> IntrospectedToken: ...


class ProofCheck(Protocol):
    """RFC 9449 §7.1: the resource-server DPoP check of one request (its ASGI ``scope``): one proof, ``htm``,
    ``htu`` against the configured URL, ``ath`` of ``access_token``, key = ``jkt``, single use. Raises or returns."""

    def __call__(self, scope: Mapping[str, Any], *, access_token: str, jkt: str) -> None: ...


_WANTED = frozenset({b"host", b"origin", b"authorization"})


def _collect(headers: Sequence[tuple[bytes, bytes]]) -> dict[bytes, list[str]]:
    """One pass over the headers: every value of Host, Origin and Authorization (ASGI names are lowercase)."""
    found: dict[bytes, list[str]] = {b"host": [], b"origin": [], b"authorization": []}
    for key, value in headers:
        if key in _WANTED or key.lower() in _WANTED:
            found[key.lower()].append(value.decode("latin-1"))
    return found


def check_transport(policy: ResourcePolicy, headers: Sequence[tuple[bytes, bytes]],
                    found: dict[bytes, list[str]] | None = None) -> None:
    found = found if found is not None else _collect(headers)
    hosts, origins = found[b"host"], found[b"origin"]
    if len(hosts) != 1 or hosts[0].lower() not in policy.allowed_hosts:
        raise TransportRefused(421, "Host is not this server")
    if len(origins) > 1 or (origins and origins[0].lower() not in policy.allowed_origins):
        raise TransportRefused(403, "Origin is not allowed")


def credentials(policy: ResourcePolicy, query: bytes, headers: Sequence[tuple[bytes, bytes]],
                found: dict[bytes, list[str]] | None = None) -> Credentials | None:
    """Step 2: the presented credentials, ``None`` when there are none (RFC 6750 §3.1: then no ``error``)."""
    if query:
        try:
            params = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        except ValueError:
            raise InvalidRequest("the query string is malformed") from None
        if any(name == "access_token" for name, _ in params):
            raise InvalidRequest("access tokens are accepted in the Authorization header only")
    values = (found if found is not None else _collect(headers))[b"authorization"]
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest("several Authorization headers")
    scheme, _, token = values[0].strip().partition(" ")
    token = token.strip()
    if len(values[0]) > MAX_HEADER or len(token) > MAX_TOKEN or not _TOKEN68.fullmatch(token):
        raise InvalidToken("the access token is malformed")
    if scheme.lower() == "dpop":
        return Credentials("DPoP", token)
    if scheme.lower() == "bearer":
        if not (policy.baseline or policy.mtls):
            raise InvalidToken("bearer tokens are not accepted here; use a DPoP-bound token")
        return Credentials("Bearer", token)
    return None  # another scheme: this server's challenges tell the client what it accepts


class ResourceGuard:
    """Runs steps 1-4 for one protected MCP server."""

    def __init__(self, policy: ResourcePolicy, resolver: TokenResolver, *, proof_check: ProofCheck | None = None,
                 certificates: ClientCertificateSource | None = None, clock: Clock | None = None) -> None:
        if policy.mtls != (certificates is not None):
            raise ConfigurationError("policy.mtls and a ClientCertificateSource go together")
        # RFC 8707 §2 / MCP 2025-11-25 §Token Audience Binding: the resolver must check the audience of THIS server.
        resolved_for = getattr(getattr(resolver, "policy", None), "resource", None)
        if resolved_for is not None and resolved_for != policy.audience:
            raise ConfigurationError("the token resolver checks the audience of another resource")
        self.policy, self.resolver, self.proof_check, self.certificates = policy, resolver, proof_check, certificates
        self.clock = clock or SystemClock()

    async def authenticate(self, scope: Mapping[str, Any]) -> AccessIdentity | None:
        """The verified caller of one HTTP request (ASGI ``scope``), ``None`` without credentials, or one error."""
        headers = scope["headers"]
        found = _collect(headers)
        check_transport(self.policy, headers, found)
        creds = credentials(self.policy, scope.get("query_string", b""), headers, found)
        if creds is None:
            return None
        token = await self.resolver.introspect(creds.token)
        if self.clock.now() >= token.expires_at:
            raise InvalidToken("the access token has expired", detail="expired")
        self._check_binding(creds, token, scope)
        return AccessIdentity(
            subject=token.subject, client_id=token.client_id, scopes=token.scopes, tier=token.tier,
            scheme=creds.scheme, expires_at=token.expires_at, jkt=token.jkt, x5t=token.x5t,
            claims=token.claims, token=creds.token,
        )

    def _check_binding(self, creds: Credentials, token: IntrospectedToken, scope: Mapping[str, Any]) -> None:
        if token.x5t is not None:
            self._check_certificate(creds, token.x5t, scope)
            return
        if token.jkt is not None:
            if creds.scheme != "DPoP":
                # RFC 9449 §7.2 / HP-DEC-03: a DPoP-bound token presented as Bearer is a downgrade.
                raise InvalidToken("a DPoP-bound token must be presented with the DPoP scheme", detail="downgrade")
            if self.proof_check is None:
                raise InvalidToken("DPoP-bound tokens are not accepted here", detail="DPoP check not configured")
            # The htu is the configured external URL, never one built from the request's Host header.
            self.proof_check(scope, access_token=creds.token, jkt=token.jkt)
            return
        if creds.scheme != "Bearer":
            raise InvalidToken("the access token is not DPoP-bound", detail="DPoP scheme with an unbound token")
        if token.tier != "baseline" or not self.policy.baseline:
            raise InvalidToken("unbound tokens are accepted for the baseline tier only", detail=f"tier {token.tier}")

    def _check_certificate(self, creds: Credentials, x5t: str, scope: Mapping[str, Any]) -> None:
        """RFC 8705 §3: a certificate-bound token, as Bearer, over mutual TLS with the certificate it is bound to."""
        if self.certificates is None:
            raise InvalidToken("certificate-bound tokens are not accepted here", detail="mTLS check not configured")
        if creds.scheme != "Bearer":
            raise InvalidToken("a certificate-bound token is presented as Bearer over mutual TLS", detail="scheme")
        try:
            presented = self.certificates.extract(scope)
        except (InvalidClient, InvalidRequest) as err:
            raise InvalidToken("the client certificate could not be used", detail=err.detail) from None
        check_certificate_binding({"x5t#S256": x5t}, presented.certificate if presented is not None else None)
