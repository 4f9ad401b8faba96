"""uvicorn terminating mutual TLS itself and handing the peer certificate to the app (ASGI TLS extension 0.2).

uvicorn 0.54 requests and verifies client certificates (``ssl_cert_reqs``, ``ssl_ca_certs``) but does not put
them in the ASGI scope. :class:`H11TLSProtocol` is its h11 protocol plus the ASGI TLS extension: on
``connection_made`` it reads the peer certificate from the transport's ``ssl_object`` and adds
``scope["extensions"]["tls"]`` (``client_cert_chain``, ``client_cert_name``, ``tls_version``, ``cipher_suite``)
to every request of that connection. :func:`mtls_server_config` builds the ``uvicorn.Config``.

``client_cert_chain`` is the chain as the client sent it (leaf first): ``SSLObject.get_unverified_chain()``
(public from Python 3.13, present but private in 3.10-3.12 as ``_sslobj.get_unverified_chain``); where neither
exists it falls back to the leaf alone (``getpeercert(binary_form=True)``).

OpenSSL verifies the chain during the handshake against ``client_ca_files`` at the wall-clock time; the app
verifies again with ``pki.verify`` (EKU, depth, its own clock) and matches the client's registration. For
RFC 8705 §2.2 self-signed clients, their registered certificates are loaded as handshake trust anchors
(``self_signed_client_certs``, with partial-chain verification) so that OpenSSL accepts exactly those.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import uvicorn
from cryptography import x509
from uvicorn.protocols.http.h11_impl import H11Protocol

from hardened.errors import ConfigurationError

__all__ = ["H11TLSProtocol", "TLSExtensionApp", "client_tls_context", "mtls_server_config", "tls_extension"]

_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
_CIPHER_SUITES = {"TLS_AES_128_GCM_SHA256": 0x1301, "TLS_AES_256_GCM_SHA384": 0x1302,
                  "TLS_CHACHA20_POLY1305_SHA256": 0x1303}
ClientCertMode = Literal["required", "optional"]
#: FAPI 2.0 SP §5.2.1: with TLS 1.2, only the cipher suites BCP 195 (RFC 9325 §4.2) recommends: ECDHE with
#: AES-GCM (ECDSA or RSA certificates); no CBC, no static RSA key exchange, no finite-field DHE.
TLS12_CIPHERS = "ECDHE+AESGCM"


def tls_extension(transport: asyncio.BaseTransport) -> dict[str, Any] | None:
    """The ASGI TLS extension dict for a connection, None when the connection is not TLS."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    chain = _peer_chain(ssl_object) if der else []
    name = None
    if der:
        try:
            name = x509.load_der_x509_certificate(der).subject.rfc4514_string()
        except ValueError:
            name = None
    cipher = ssl_object.cipher()
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": _CIPHER_SUITES.get(cipher[0]) if cipher else None,
    }


def _peer_chain(ssl_object: ssl.SSLObject) -> list[str]:
    """The certificates the peer sent, as PEM strings, leaf first."""
    leaf = ssl.DER_cert_to_PEM_cert(ssl_object.getpeercert(binary_form=True))
    getter = getattr(ssl_object, "get_unverified_chain", None) or getattr(
        getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
    if getter is None:
        return [leaf]
    try:
        sent = [ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(c.public_bytes())) for c in getter() or []]
    except (AttributeError, TypeError, ValueError, ssl.SSLError):
        return [leaf]
    return sent if sent and sent[0] == leaf else [leaf]


class TLSExtensionApp:
    """Wraps the app for one connection and adds that connection's TLS extension to each scope."""

    def __init__(self, app: Any, tls: dict[str, Any]) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket"):
            extensions = scope.setdefault("extensions", {})
            extensions["tls"] = {**self.tls, "client_cert_chain": list(self.tls["client_cert_chain"])}
        await self.app(scope, receive, send)


class H11TLSProtocol(H11Protocol):
    """uvicorn's h11 protocol with the ASGI TLS extension."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        tls = tls_extension(transport)
        if tls is not None:
            self.app = TLSExtensionApp(self.app, tls)


def _server_context(certfile: Path, keyfile: Path, client_ca_files: Sequence[Path], client_cert: ClientCertMode,
                    self_signed_client_certs: Sequence[Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # FAPI 2.0 Security Profile §5.2.1: TLS 1.2 or later
    context.set_ciphers(TLS12_CIPHERS)  # TLS 1.3 suites are all AEAD and are not affected
    context.load_cert_chain(str(certfile), str(keyfile))
    for path in (*client_ca_files, *self_signed_client_certs):
        context.load_verify_locations(cafile=str(path))
    if self_signed_client_certs:
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.verify_mode = ssl.CERT_REQUIRED if client_cert == "required" else ssl.CERT_OPTIONAL
    return context


def mtls_server_config(app: Any, *, certfile: Path, keyfile: Path, client_ca_files: Sequence[Path] = (),
                       self_signed_client_certs: Sequence[Path] = (), client_cert: ClientCertMode = "optional",
                       host: str = "127.0.0.1", port: int = 0, **uvicorn_options: Any) -> uvicorn.Config:
    """A ``uvicorn.Config`` that terminates TLS, asks for a client certificate and exposes it to the app.

    Fails here (``ConfigurationError``), at start-up, when a file is missing or no client trust is given.
    """
    if client_cert not in ("required", "optional"):
        raise ConfigurationError("client_cert is 'required' or 'optional'")
    if not client_ca_files and not self_signed_client_certs:
        raise ConfigurationError("mutual TLS needs client_ca_files or self_signed_client_certs")
    try:
        context = _server_context(Path(certfile), Path(keyfile), [Path(p) for p in client_ca_files], client_cert,
                                  [Path(p) for p in self_signed_client_certs])
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"cannot set up the TLS server: {exc}") from None
    return uvicorn.Config(app, host=host, port=port, http=H11TLSProtocol, ws="none",
                          ssl_context_factory=lambda _config, _default: context, **uvicorn_options)


def client_tls_context(*, ca_file: Path, certfile: Path | None = None, keyfile: Path | None = None) -> ssl.SSLContext:
    """An agent's TLS context: trusts ``ca_file`` for the server and presents a client certificate if given."""
    context = ssl.create_default_context(cafile=str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if certfile is not None:
        context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
    return context
