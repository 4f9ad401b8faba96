"""The agent side of mutual TLS (RFC 8705): HTTP clients that present a client certificate, and the form of
``tls_client_auth`` / ``self_signed_tls_client_auth`` client authentication.

    cert = ClientCertificate(certfile="agent-chain.pem", keyfile="agent.key", ca_file="root.pem")
    with mtls_client(cert) as http:                               # registration, PAR, token (httpx)
        http.post(token_endpoint, data={"grant_type": ..., **tls_client_auth_params(client_id)})
    async with streamable_http_client(url, http_client=mtls_httpx2_client(cert, auth=dpop.as_httpx2())): ...

- TLS 1.2 or later; under TLS 1.2 only ECDHE with AES-GCM (FAPI 2.0 SP §5.2.1, BCP 195), the server checked
  against ``ca_file`` with host name verification (RFC 6125).
- RFC 8705 §2: with certificate client authentication the form carries ``client_id`` and nothing that
  authenticates: no ``client_assertion``, no ``client_secret``; the certificate is the credential.
- ``ClientCertificate.thumbprint`` is the ``x5t#S256`` a certificate-bound token of this agent carries.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from hardened.core.mtls import certificate_thumbprint
from hardened.errors import ConfigurationError
from hardened.web.tls_server import TLS12_CIPHERS, client_tls_context

__all__ = ["ClientCertificate", "mtls_async_client", "mtls_client", "mtls_httpx2_client", "tls_client_auth_params"]

#: the MCP SDK's defaults (mcp.shared._httpx_utils): 30 s to connect/write, 300 s to read a held-open stream
MCP_TIMEOUT, MCP_SSE_READ_TIMEOUT = 30.0, 300.0


@dataclass(frozen=True)
class ClientCertificate:
    """An agent's client certificate: ``certfile`` (leaf first, then intermediates), its ``keyfile``, and the
    CA file that the agent trusts for the servers it calls."""

    certfile: Path
    keyfile: Path
    ca_file: Path

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS 1.2+ client context presenting this certificate; a bad file is ``ConfigurationError`` here."""
        try:
            context = client_tls_context(ca_file=Path(self.ca_file), certfile=Path(self.certfile),
                                         keyfile=Path(self.keyfile))
            context.set_ciphers(TLS12_CIPHERS)  # TLS 1.3 suites are all AEAD and stay as they are
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot use the client certificate: {exc}") from None
        return context

    @property
    def certificate(self) -> x509.Certificate:
        try:
            return x509.load_pem_x509_certificates(Path(self.certfile).read_bytes())[0]
        except (OSError, ValueError, IndexError) as exc:
            raise ConfigurationError(f"cannot read the client certificate: {exc}") from None

    @property
    def thumbprint(self) -> str:
        """RFC 8705 §3.1 ``x5t#S256`` of the leaf: what ``cnf`` of this agent's bound tokens says."""
        return certificate_thumbprint(self.certificate)


def tls_client_auth_params(client_id: str) -> dict[str, str]:
    """RFC 8705 §2: the form parameters of certificate client authentication: ``client_id`` only."""
    return {"client_id": client_id}


def mtls_client(cert: ClientCertificate, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` presenting ``cert``; ``kwargs`` go to httpx (``auth=DPoPAuth(...)``, ``timeout``)."""
    kwargs.setdefault("timeout", 10.0)
    return httpx.Client(verify=cert.ssl_context(), follow_redirects=False, **kwargs)


def mtls_async_client(cert: ClientCertificate, **kwargs: Any) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` twin of :func:`mtls_client`."""
    kwargs.setdefault("timeout", 10.0)
    return httpx.AsyncClient(verify=cert.ssl_context(), follow_redirects=False, **kwargs)


def mtls_httpx2_client(cert: ClientCertificate, *, headers: dict[str, str] | None = None, timeout: Any = None,
                       auth: Any = None) -> Any:
    """An ``httpx2.AsyncClient`` (the MCP SDK's transport client) presenting ``cert``: pass it as
    ``streamable_http_client(url, http_client=...)``; with the SDK's timeouts and redirects off, as
    ``mcp.shared._httpx_utils.create_mcp_http_client`` makes them (its signature, so it also serves as an
    ``McpHttpClientFactory`` through ``functools.partial(mtls_httpx2_client, cert)``)."""
    import httpx2  # the MCP SDK's HTTP client; imported only when asked for

    chosen = timeout if timeout is not None else httpx2.Timeout(MCP_TIMEOUT, read=MCP_SSE_READ_TIMEOUT)
    options: dict[str, Any] = {"timeout": chosen, "verify": cert.ssl_context(), "follow_redirects": False}
    if headers is not None:
        options["headers"] = headers
    if auth is not None:
        options["auth"] = auth
    return httpx2.AsyncClient(**options)
