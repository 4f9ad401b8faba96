"""The hardened agent over mutual TLS (RFC 8705): its client certificate authenticates it and binds its tokens.

:class:`MTLSAgent` is :class:`~hardened.mcp.agent.HardenedAgent` with a :class:`ClientCertificate`:

- every HTTP request (discovery, registration, PAR, token, refresh, MCP) goes over TLS 1.2+ with the server
  checked against the agent's CA file and the agent's certificate presented (``hardened.client.mtls``);
- registration expects ``tls_client_auth`` or ``self_signed_tls_client_auth`` (RFC 8705 §2) as the statement says;
- PAR, token and refresh carry ``client_id`` alone: the certificate is the credential (RFC 8705 §2), no DPoP;
- the AS endpoints are taken from ``mtls_endpoint_aliases`` when present (RFC 8705 §5), still on the issuer's
  origin, and the AS must advertise ``tls_client_certificate_bound_access_tokens`` (§3.3);
- tokens are ``token_type: Bearer`` bound to the certificate (``cnf.x5t#S256``, §3); the MCP calls present them
  as ``Bearer`` over the same mutual TLS (:class:`MTLSAgentAuth`, :func:`mtls_mcp_session`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from hardened.client.mtls import ClientCertificate, mtls_async_client, mtls_httpx2_client, tls_client_auth_params
from hardened.errors import InvalidRequest
from hardened.mcp.agent import HardenedAgent
from hardened.mcp.agent_auth import AgentAuth

__all__ = ["MTLSAgent", "MTLSAgentAuth", "mtls_mcp_session"]

_ALIASED = ("token_endpoint", "pushed_authorization_request_endpoint", "introspection_endpoint",
            "revocation_endpoint")


class MTLSAgent(HardenedAgent):
    """A hardened agent whose client certificate is its credential and its tokens' binding (RFC 8705)."""

    auth_methods = ("tls_client_auth", "self_signed_tls_client_auth")
    token_type = "bearer"  # noqa: S105 - RFC 8705 §3: certificate-bound tokens are presented as Bearer
    binding = "certificate-bound"
    advertised = "PAR, tls_client_auth and certificate-bound tokens advertised"
    par_note = "PKCE S256, resource, client authenticated by its certificate"

    def __init__(self, mcp_url: str, credentials: Any, authorize: Any, *, certificate: ClientCertificate,
                 **options: Any) -> None:
        self.certificate = certificate
        if options.get("http") is None:
            options["http"] = mtls_async_client(certificate, timeout=15)
        super().__init__(mcp_url, credentials, authorize, **options)

    async def discover(self, www_authenticate: Iterable[str] = ()) -> None:
        """RFC 9728 / RFC 8414 as the base agent, then RFC 8705 §3.3 and §5 from the AS metadata."""
        await super().discover(www_authenticate)
        meta = dict(self.as_metadata or {})
        if meta.get("tls_client_certificate_bound_access_tokens") is not True:
            raise InvalidRequest("the authorization server does not offer certificate-bound tokens")
        aliases = meta.get("mtls_endpoint_aliases")
        if isinstance(aliases, dict):
            issuer = urlsplit(meta["issuer"])[:2]
            for name in _ALIASED:
                value = aliases.get(name)
                if isinstance(value, str) and urlsplit(value)[:2] == issuer:
                    meta[name] = value  # RFC 8705 §5: the endpoints that take the certificate
        self.as_metadata = meta
        self.on_step("certificate", f"presenting {self.certificate.certificate.subject.rfc4514_string()}, "
                     f"x5t#S256 {self.certificate.thumbprint}")

    def _assertion(self) -> dict[str, str]:
        assert self.client_id is not None
        return tls_client_auth_params(self.client_id)

    def _request_auth(self) -> httpx.Auth | None:
        return None  # the certificate, presented in the TLS handshake, is the proof of possession


class MTLSAgentAuth(AgentAuth):
    """:class:`AgentAuth` presenting a certificate-bound token as ``Bearer`` (RFC 8705 §3): no DPoP header."""

    def _sign(self, request: httpx2.Request) -> None:
        tokens = self.agent.tokens
        if tokens is not None:
            request.headers["Authorization"] = f"Bearer {tokens.access_token}"


@asynccontextmanager
async def mtls_mcp_session(agent: MTLSAgent, **client_options: Any) -> AsyncIterator[Client]:
    """An SDK ``Client`` on the agent's MCP URL over mutual TLS with the agent's certificate."""
    async with mtls_httpx2_client(agent.certificate, auth=MTLSAgentAuth(agent)) as http:
        transport = streamable_http_client(agent.mcp_url, http_client=http)
        async with Client(transport, **client_options) as client:
            yield client
