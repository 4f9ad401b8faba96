"""Hypothesis strategies for mutual TLS (RFC 8705) and forwarded client certificates (RFC 9440, nginx, XFCC).

Reuse them to fuzz your own deployment::

    from hardened.testing.mtls import certificates, forwarded_certificate_headers, header_noise

    @given(certificates())
    def test_thumbprint(cert): ...

- :func:`certificates`: leaf certificates with random subjects, SANs, validity and EC P-256 / Ed25519 / RSA keys,
  issued by a per-process test CA (:func:`sample_ca`).
- :func:`names`: ``x509.Name`` values with awkward characters (escapes, spaces, ``#``, Unicode, multi-valued RDNs).
- :func:`forwarded_certificate_headers`: well-formed headers in each proxy format for a generated certificate.
- :func:`header_noise`: arbitrary header values, including near misses of the well-formed ones.
- :func:`serve`: run a ``uvicorn.Config`` on a pre-bound loopback socket in a thread (no polling, no sleeping).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import strategies as st

from pki.ca import CertificateAuthority, IssuedCertificate, SubjectAltNames
from pki.profiles import PrivateKey, generate_private_key

__all__ = [
    "FIXED_NOW",
    "certificates",
    "client_cert_header",
    "forwarded_certificate_headers",
    "header_noise",
    "loopback_socket",
    "names",
    "sample_ca",
    "serve",
    "xfcc_header",
]

#: 2026-01-01T00:00:00Z, the default of ``hardened.clock.FixedClock``.
FIXED_NOW = 1_767_225_600.0
_START = dt.datetime.fromtimestamp(FIXED_NOW, dt.UTC)
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=24)
_ATTRS = (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.LOCALITY_NAME,
          NameOID.STATE_OR_PROVINCE_NAME, NameOID.DOMAIN_COMPONENT, NameOID.SERIAL_NUMBER)


@functools.cache
def sample_ca() -> CertificateAuthority:
    """One root + intermediate per process, valid from 2025 to 2035 (so ``FIXED_NOW`` is inside)."""
    root = CertificateAuthority.create_root("CN=hardened test root", not_before=_START - dt.timedelta(days=365))
    return root.create_intermediate("CN=hardened test issuing CA", not_before=_START - dt.timedelta(days=365))


@functools.cache
def _key(key_type: str, index: int) -> PrivateKey:
    return generate_private_key(key_type)


@st.composite
def names(draw: st.DrawFn, *, max_rdns: int = 4) -> x509.Name:
    """Names of 1..max_rdns RDNs; sometimes a multi-valued RDN; values with escapes, spaces and Unicode."""
    rdns = []
    for _ in range(draw(st.integers(1, max_rdns))):
        oids = draw(st.lists(st.sampled_from(_ATTRS), min_size=1, max_size=2, unique=True))
        attrs = [x509.NameAttribute(oid, draw(_value_for(oid))) for oid in oids]
        rdns.append(x509.RelativeDistinguishedName(attrs))
    return x509.Name(rdns)


def _value_for(oid: x509.ObjectIdentifier) -> st.SearchStrategy[str]:
    if oid in (NameOID.DOMAIN_COMPONENT, NameOID.SERIAL_NUMBER):  # IA5 / PrintableString
        return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 .-]{0,10}[A-Za-z0-9]", fullmatch=True)
    tricky = st.sampled_from(["#lead", " lead", "trail ", "a,b", "a+b", 'q"t', "x;y", "<>", "back\\slash", "=eq"])
    return st.one_of(_TEXT, tricky)


@functools.lru_cache(maxsize=2048)
def _issue(profile: str, name: x509.Name, sans: SubjectAltNames, start: dt.datetime, days: int, key_type: str,
           key_index: int) -> IssuedCertificate:
    """Memoised so that hypothesis replays of the same draw see the same (randomly signed) certificate."""
    return sample_ca().issue(profile, name, sans=sans, not_before=start, days=days,
                             private_key=_key(key_type, key_index))


@st.composite
def certificates(draw: st.DrawFn, *, profile: str = "agent", key_types: tuple[str, ...] = ("ec-p256", "ed25519"),
                 ) -> IssuedCertificate:
    """A leaf issued by :func:`sample_ca` with a random name, SANs and a validity window around ``FIXED_NOW``."""
    key_type, key_index = draw(st.sampled_from(key_types)), draw(st.integers(0, 3))
    sans = SubjectAltNames(
        dns=tuple(draw(st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,8}(\.[a-z]{2,5}){1,2}", fullmatch=True),
                                min_size=1, max_size=2))),
        uri=tuple(draw(st.lists(st.from_regex(r"https://[a-z]{1,8}\.example/[a-z0-9]{0,8}", fullmatch=True),
                                max_size=2))),
        ip=tuple(draw(st.lists(st.ip_addresses().map(str), max_size=2))),
    )
    start = _START - dt.timedelta(days=draw(st.integers(1, 60)))
    return _issue(profile, draw(names()), sans, start, draw(st.integers(61, 400)), key_type, key_index)


def der_of(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def client_cert_header(cert: x509.Certificate) -> str:
    """RFC 9440 §2.2 ``Client-Cert`` value."""
    return ":" + base64.b64encode(der_of(cert)).decode() + ":"


def xfcc_header(cert: x509.Certificate, chain: tuple[x509.Certificate, ...] = ()) -> str:
    """An Envoy XFCC element with Hash, Cert and (if given) Chain."""
    pem = quote(cert.public_bytes(Encoding.PEM).decode(), safe="")
    value = f'By=spiffe://proxy.example;Hash={hashlib.sha256(der_of(cert)).hexdigest()};Cert="{pem}"'
    if chain:
        chain_pem = quote(b"".join(c.public_bytes(Encoding.PEM) for c in (cert, *chain)).decode(), safe="")
        value += f';Chain="{chain_pem}"'
    return value + ';Subject="CN=x";URI=spiffe://agent.example'


def forwarded_certificate_headers(issued: IssuedCertificate, header_format: str) -> list[tuple[bytes, bytes]]:
    """Well-formed ASGI headers carrying ``issued`` (leaf + intermediates) in one proxy format."""
    intermediates = issued.issuers[:-1]
    if header_format == "rfc9440":
        headers = [(b"client-cert", client_cert_header(issued.certificate).encode())]
        if intermediates:
            headers.append((b"client-cert-chain", ", ".join(client_cert_header(c) for c in intermediates).encode()))
        return headers
    if header_format == "nginx":
        return [(b"x-ssl-client-cert", quote(issued.certificate_pem().decode(), safe="").encode())]
    return [(b"x-forwarded-client-cert", xfcc_header(issued.certificate, intermediates).encode())]


def header_noise(valid: str) -> st.SearchStrategy[str]:
    """Arbitrary text, and near misses of ``valid``: truncations, insertions, replaced characters."""

    @st.composite
    def near_miss(draw: st.DrawFn) -> str:
        pos = draw(st.integers(0, len(valid)))
        return valid[:pos] + draw(st.text(max_size=3)) + valid[pos + draw(st.integers(0, 3)):]

    return st.one_of(st.text(max_size=200), near_miss(), st.just(valid[: len(valid) // 2]))


def loopback_socket() -> socket.socket:
    """A listening TCP socket on 127.0.0.1 with an ephemeral port (connections wait in the backlog)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@contextmanager
def serve(config: uvicorn.Config, sock: socket.socket | None = None) -> Iterator[int]:
    """Run ``config`` in a thread on a loopback socket bound before start; yields the port, stops on exit.

    Pass ``sock`` (from :func:`loopback_socket`) when the app must know its port before it is built (an issuer).
    """
    sock = sock or loopback_socket()
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
