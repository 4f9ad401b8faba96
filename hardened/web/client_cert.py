"""Client certificate intake (RFC 8705 §6.5): from our own TLS termination or from a trusted proxy.

One call for the AS and the MCP layer::

    source = ClientCertificateSource(trusted_proxies=["127.0.0.1/32"], header_format="rfc9440")
    presented = source.extract(request)        # PresentedCertificate | None

Rules, in order:

1. A forwarded-certificate header (RFC 9440 ``Client-Cert``/``Client-Cert-Chain``, the nginx header, Envoy
   ``x-forwarded-client-cert``) is read only when the TCP peer is in ``trusted_proxies`` (exact addresses or
   networks) and only in the one ``header_format`` configured. From any other peer, or in another format, such
   a header is refused with ``InvalidClient``: it can only be a forgery (RFC 9440 §4, §6). The peer is
   ``scope["client"]``, which a server may have rewritten from ``X-Forwarded-For`` (uvicorn ``--proxy-headers``
   with ``--forwarded-allow-ips``, on by default for 127.0.0.1); when that address is one the request's own
   ``X-Forwarded-For`` or ``Forwarded: for=`` names, it may come from the header, so it is not trusted.
2. A header appearing more than once, or malformed, is refused with ``InvalidRequest``.
3. Without a proxy, the certificate comes from the ASGI TLS extension (``scope["extensions"]["tls"]
   ["client_cert_chain"]``), which ``hardened.web.tls_server`` adds when uvicorn terminates TLS itself.

The chain is *presented*, not validated: callers validate with ``pki.verify.verify_client_chain`` (PKI method)
or ``hardened.core.mtls.check_self_signed_tls_client_auth`` (self-signed method).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography import x509

from hardened.core.mtls import certificate_thumbprint
from hardened.errors import ConfigurationError, InvalidClient, InvalidRequest
from hardened.web.client_cert_headers import (
    MAX_CHAIN,
    parse_client_cert,
    parse_client_cert_chain,
    parse_escaped_pem,
    parse_pem_certificates,
    parse_xfcc,
)

__all__ = ["ClientCertificateSource", "HeaderFormat", "PresentedCertificate"]

HeaderFormat = Literal["rfc9440", "nginx", "xfcc"]
Source = Literal["tls", "rfc9440", "nginx", "xfcc"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_RFC9440 = (b"client-cert", b"client-cert-chain")
_XFCC = b"x-forwarded-client-cert"


@dataclass(frozen=True)
class PresentedCertificate:
    """The certificate a client presented (leaf first) and how it reached us."""

    certificate: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]
    source: Source

    @property
    def thumbprint(self) -> str:
        """RFC 8705 §3.1 ``x5t#S256`` of the leaf."""
        return certificate_thumbprint(self.certificate)


def _networks(entries: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    out = []
    for entry in entries:
        try:
            out.append(entry if isinstance(entry, IPNetwork) else ipaddress.ip_network(entry, strict=True))
        except (TypeError, ValueError):
            raise ConfigurationError(f"trusted proxy {entry!r} is not an IP address or network") from None
    return tuple(out)


def _scope_of(request_or_scope: Any) -> Mapping[str, Any]:
    scope = getattr(request_or_scope, "scope", request_or_scope)
    if not isinstance(scope, Mapping) or scope.get("type") not in ("http", "websocket"):
        raise TypeError("extract() takes a Starlette request or an ASGI http/websocket scope")
    return scope


def _header_values(scope: Mapping[str, Any], names: Iterable[bytes]) -> dict[bytes, list[bytes]]:
    wanted = set(names)
    found: dict[bytes, list[bytes]] = {}
    for name, value in scope.get("headers", ()):
        lowered = bytes(name).lower()
        if lowered in wanted:
            found.setdefault(lowered, []).append(bytes(value))
    return found


_FORWARDED_FOR = re.compile(r'(?:^|[;,\s])for\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)


def _forwarded_host(entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of one ``X-Forwarded-For`` entry or RFC 7239 §6 ``for=`` node (``[v6]:port``, ``v4:port``)."""
    entry = entry.strip().strip('"')
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return ipaddress.ip_address(entry)
    except ValueError:
        return None


def _forwarded_for(scope: Mapping[str, Any]) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address the request's ``X-Forwarded-For`` and ``Forwarded`` headers name (bounded by the server's
    header limits)."""
    found = _header_values(scope, (b"x-forwarded-for", b"forwarded"))
    entries = [e for v in found.get(b"x-forwarded-for", []) for e in v.decode("latin-1").split(",")]
    for value in found.get(b"forwarded", []):
        entries += _FORWARDED_FOR.findall(value.decode("latin-1"))
    return {a for a in map(_forwarded_host, entries) if a is not None}


def _one(found: dict[bytes, list[bytes]], name: bytes) -> str | None:
    values = found.get(name)
    if not values:
        return None
    if len(values) != 1:
        raise InvalidRequest("client certificate header repeated", detail=name.decode())
    try:
        return values[0].decode("ascii")
    except UnicodeDecodeError:
        raise InvalidRequest("malformed client certificate header", detail=name.decode()) from None


@dataclass(frozen=True, init=False)
class ClientCertificateSource:
    """Where this deployment reads client certificates from; built once at start-up (bad config fails there)."""

    trusted_proxies: tuple[IPNetwork, ...]
    header_format: HeaderFormat | None
    nginx_header: bytes
    use_tls_extension: bool

    def __init__(self, *, trusted_proxies: Iterable[str | IPNetwork] = (), header_format: HeaderFormat | None = None,
                 nginx_header: str = "x-ssl-client-cert", use_tls_extension: bool = True) -> None:
        proxies = _networks(trusted_proxies)
        if header_format not in (None, "rfc9440", "nginx", "xfcc"):
            raise ConfigurationError(f"unknown client certificate header format {header_format!r}")
        if bool(proxies) != (header_format is not None):
            raise ConfigurationError("trusted_proxies and header_format are configured together or not at all")
        name = nginx_header.strip().lower().encode("ascii")
        if not name or name in (*_RFC9440, _XFCC):
            raise ConfigurationError("nginx_header must be its own header name")
        object.__setattr__(self, "trusted_proxies", proxies)
        object.__setattr__(self, "header_format", header_format)
        object.__setattr__(self, "nginx_header", name)
        object.__setattr__(self, "use_tls_extension", use_tls_extension)

    def _trusted(self, scope: Mapping[str, Any]) -> bool:
        client = scope.get("client")
        if not client:
            return False
        try:
            address = ipaddress.ip_address(str(client[0]))
        except ValueError:
            return False
        if not any(address in network for network in self.trusted_proxies):
            return False
        # RFC 9440 §4: the proxy is the TCP peer itself, never an address a front end copied from a header.
        return address not in _forwarded_for(scope)

    def _format_headers(self) -> tuple[bytes, ...]:
        return {"rfc9440": _RFC9440, "nginx": (self.nginx_header,), "xfcc": (_XFCC,), None: ()}[self.header_format]

    def extract(self, request_or_scope: Any) -> PresentedCertificate | None:
        """The presented certificate, None if there is none; ``InvalidClient``/``InvalidRequest`` if forged/bad."""
        scope = _scope_of(request_or_scope)
        found = _header_values(scope, (*_RFC9440, _XFCC, self.nginx_header))
        accepted = self._format_headers() if self._trusted(scope) else ()
        forged = sorted(name.decode() for name in found if name not in accepted)
        if forged:
            raise InvalidClient("client certificate headers are accepted only from a trusted proxy",
                                detail=f"untrusted or unexpected header {', '.join(forged)}")
        if accepted:
            return self._from_headers(found)
        return self._from_tls(scope) if self.use_tls_extension else None

    def _from_headers(self, found: dict[bytes, list[bytes]]) -> PresentedCertificate | None:
        if self.header_format == "rfc9440":
            leaf, chain = _one(found, b"client-cert"), _one(found, b"client-cert-chain")
            if leaf is None:
                if chain is not None:  # RFC 9440 §2.3: Client-Cert-Chain only together with Client-Cert
                    raise InvalidRequest("Client-Cert-Chain without Client-Cert")
                return None
            intermediates = parse_client_cert_chain(chain) if chain is not None else ()
            return PresentedCertificate(parse_client_cert(leaf), intermediates, "rfc9440")
        if self.header_format == "nginx":
            value = _one(found, self.nginx_header)
            if not value:  # nginx sends nothing (or an empty value) when the client presented no certificate
                return None
            certs = parse_escaped_pem(value, "nginx client certificate header")
            return PresentedCertificate(certs[0], certs[1:], "nginx")
        value = _one(found, _XFCC)
        if value is None:
            return None
        leaf_cert, intermediates = parse_xfcc(value)
        return PresentedCertificate(leaf_cert, intermediates, "xfcc")

    def _from_tls(self, scope: Mapping[str, Any]) -> PresentedCertificate | None:
        tls = (scope.get("extensions") or {}).get("tls")
        if not isinstance(tls, Mapping):
            return None
        chain = list(tls.get("client_cert_chain") or ())
        if not chain:
            return None
        if len(chain) > MAX_CHAIN + 1 or not all(isinstance(pem, str) for pem in chain):
            raise InvalidRequest("client certificate chain from TLS is unusable")
        certs = [_single_pem(pem) for pem in chain]
        return PresentedCertificate(certs[0], tuple(certs[1:]), "tls")


def _single_pem(pem: str) -> x509.Certificate:
    certs = parse_pem_certificates(pem, "TLS client certificate")
    if len(certs) != 1:
        raise InvalidRequest("client certificate chain from TLS is unusable")
    return certs[0]
