"""Strict parsers of client certificates forwarded by a TLS-terminating proxy (RFC 9440, nginx, Envoy XFCC).

- RFC 9440 §2.2 ``Client-Cert``: an RFC 8941 §3.3.5 Byte Sequence (``:base64(DER):``), no parameters.
- RFC 9440 §2.3 ``Client-Cert-Chain``: an RFC 8941 §3.1 List of Byte Sequences (intermediates, no leaf).
- nginx ``$ssl_client_escaped_cert``: the URL-escaped PEM of the leaf.
- Envoy ``x-forwarded-client-cert``: one element of ``;``-separated ``Key=Value`` pairs; ``Cert`` and ``Chain``
  are URL-escaped PEM, ``Hash`` the hex SHA-256 of the leaf's DER. More than one element (several proxies) is
  refused: the trusted proxy must sanitise and set the header (Envoy ``SANITIZE_SET``).

Every function returns certificates or raises ``InvalidRequest``; sizes are bounded before any decoding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from hardened.errors import InvalidRequest

__all__ = [
    "MAX_CERT_DER",
    "MAX_CHAIN",
    "MAX_HEADER",
    "parse_client_cert",
    "parse_client_cert_chain",
    "parse_escaped_pem",
    "parse_pem_certificates",
    "parse_xfcc",
]

MAX_CERT_DER = 8192  #: bytes of DER in one certificate
MAX_CHAIN = 4  #: intermediates in a forwarded chain
MAX_HEADER = 4 * 3 * MAX_CERT_DER  #: characters of one header value (URL-escaped PEM is about 3x DER)

_SF_BINARY = re.compile(r":([A-Za-z0-9+/]*={0,2}):")
_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]{1,16384}?)-----END CERTIFICATE-----")
_ESCAPED = re.compile(r"[A-Za-z0-9%._~+/=\-]*")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _bad(what: str, detail: str = "") -> InvalidRequest:
    return InvalidRequest(f"malformed {what}", detail=detail or what)


def _bounded(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_HEADER or not value.isascii():
        raise _bad(what, "empty, too long or not ASCII")
    return value


def _certificate(der: bytes, what: str) -> x509.Certificate:
    if not 0 < len(der) <= MAX_CERT_DER:
        raise _bad(what, "certificate size")
    try:
        cert = x509.load_der_x509_certificate(der)
        canonical = cert.public_bytes(Encoding.DER)
    except ValueError:
        raise _bad(what, "not a DER certificate") from None
    if canonical != der:
        raise _bad(what, "not DER")
    return cert


def _b64(text: str, what: str) -> bytes:
    if len(text) % 4:
        raise _bad(what, "base64 length")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(what, "base64") from None


def _sf_binary(text: str, what: str) -> x509.Certificate:
    match = _SF_BINARY.fullmatch(text)
    if match is None:
        raise _bad(what, "not a structured-field byte sequence without parameters")
    return _certificate(_b64(match.group(1), what), what)


def parse_client_cert(value: str) -> x509.Certificate:
    """RFC 9440 §2.2: ``Client-Cert: :MIIB...:`` (RFC 8941 §4.2: surrounding spaces are discarded)."""
    return _sf_binary(_bounded(value, "Client-Cert").strip(" "), "Client-Cert")


def parse_client_cert_chain(value: str) -> tuple[x509.Certificate, ...]:
    """RFC 9440 §2.3: ``Client-Cert-Chain: :MIIB...:, :MIIC...:`` (RFC 8941 §4.2.1, list members with OWS)."""
    members = _bounded(value, "Client-Cert-Chain").strip(" ").split(",")
    if len(members) > MAX_CHAIN:
        raise _bad("Client-Cert-Chain", "too many certificates")
    return tuple(_sf_binary(m.strip(" \t"), "Client-Cert-Chain") for m in members)


def parse_pem_certificates(text: str, what: str = "PEM certificates") -> tuple[x509.Certificate, ...]:
    """Only PEM ``CERTIFICATE`` blocks separated by line breaks; nothing else, not even a private key."""
    if not isinstance(text, str) or len(text) > MAX_HEADER:
        raise _bad(what, "not a string or too long")
    stripped = text.strip("\r\n")
    certs, pos = [], 0
    for match in _PEM_BLOCK.finditer(stripped):
        if stripped[pos:match.start()].strip("\r\n"):
            raise _bad(what, "text outside PEM blocks")
        certs.append(_certificate(_b64(re.sub(r"[\r\n]", "", match.group(1)), what), what))
        pos = match.end()
        if len(certs) > MAX_CHAIN + 1:
            raise _bad(what, "too many certificates")
    if not certs or stripped[pos:].strip("\r\n"):
        raise _bad(what, "not PEM certificates")
    return tuple(certs)


def parse_escaped_pem(value: str, what: str = "client certificate header") -> tuple[x509.Certificate, ...]:
    """nginx ``$ssl_client_escaped_cert`` / Envoy ``Cert``: URL-escaped PEM (``+`` is a literal plus)."""
    if not _ESCAPED.fullmatch(_bounded(value, what)):
        raise _bad(what, "characters outside URL escaping")
    try:
        return parse_pem_certificates(unquote(value, errors="strict"), what)
    except UnicodeDecodeError:
        raise _bad(what, "escaped bytes are not UTF-8") from None


def _xfcc_pairs(element: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in _split_outside_quotes(element, ";"):
        key, eq, raw = part.partition("=")
        if not eq or not key or (key.lower() in pairs and key.lower() not in ("uri", "dns")):
            raise _bad("x-forwarded-client-cert", "pair syntax or repeated key")
        if raw.startswith('"'):
            if len(raw) < 2 or not raw.endswith('"'):
                raise _bad("x-forwarded-client-cert", "quoting")
            raw = re.sub(r'\\(.)', r"\1", raw[1:-1])
        pairs.setdefault(key.lower(), raw)
    return pairs


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, current, quoted, escaped = [], [], False, False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    if quoted or escaped:
        raise _bad("x-forwarded-client-cert", "unterminated quote")
    parts.append("".join(current))
    return parts


def parse_xfcc(value: str) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    """Envoy XFCC: exactly one element with ``Cert`` (and optional ``Chain``, ``Hash``): (leaf, intermediates)."""
    elements = _split_outside_quotes(_bounded(value, "x-forwarded-client-cert"), ",")
    if len(elements) != 1:
        raise _bad("x-forwarded-client-cert", "more than one element")
    pairs = _xfcc_pairs(elements[0])
    if "cert" not in pairs:
        raise _bad("x-forwarded-client-cert", "no Cert")
    (leaf,) = _single(parse_escaped_pem(pairs["cert"], "x-forwarded-client-cert"))
    intermediates: tuple[x509.Certificate, ...] = ()
    if "chain" in pairs:
        chain = parse_escaped_pem(pairs["chain"], "x-forwarded-client-cert")
        if chain[0] != leaf:
            raise _bad("x-forwarded-client-cert", "Chain does not start with Cert")
        intermediates = chain[1:]
    if "hash" in pairs:
        digest = hashlib.sha256(leaf.public_bytes(Encoding.DER)).hexdigest()
        if not _HEX64.fullmatch(pairs["hash"]) or not hmac.compare_digest(pairs["hash"].lower(), digest):
            raise _bad("x-forwarded-client-cert", "Hash does not match Cert")
    return leaf, intermediates


def _single(certs: tuple[x509.Certificate, ...]) -> tuple[x509.Certificate]:
    if len(certs) != 1:
        raise _bad("client certificate header", "more than one certificate where one is expected")
    return (certs[0],)
