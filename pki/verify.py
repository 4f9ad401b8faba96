"""Certificate path validation with ``cryptography.x509.verification`` (RFC 5280 §6), and ``inspect``.

No hand-written path building: ``PolicyBuilder().store(anchors).time(now).max_chain_depth(n)`` builds a client or
server verifier that checks signatures, validity at the injected time, basic constraints, the extended key usage
(clientAuth for clients, serverAuth for servers) and the depth. Enterprise CAs plug in as extra trust anchors.

A failed client chain raises ``InvalidClient`` (RFC 8705 §2.1: PKI client authentication failed); a failed server
chain raises :class:`ChainError`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509 import verification

from hardened.core.mtls import certificate_thumbprint, check_tls_client_auth
from hardened.errors import InvalidClient
from pki.profiles import PkiError, key_type_of

__all__ = [
    "ChainError",
    "ChainPolicy",
    "TrustAnchors",
    "VerifiedChain",
    "authenticate_tls_client",
    "certificate_info",
    "verify_client_chain",
    "verify_server_chain",
]

#: At most two intermediate CAs between the leaf and the trust anchor (enterprise PKIs often have a policy CA
#: and an issuing CA); ``pki`` itself uses at most one. cryptography's ``max_chain_depth`` counts intermediates.
DEFAULT_MAX_DEPTH = 2
MAX_PRESENTED_INTERMEDIATES = 4


class ChainError(ValueError):
    """A server certificate chain did not validate (RFC 5280 §6)."""


@dataclass(frozen=True)
class TrustAnchors:
    """The CA certificates a deployment trusts (its own ``pki`` root and any enterprise CAs)."""

    certificates: tuple[x509.Certificate, ...]

    def __post_init__(self) -> None:
        if not self.certificates:
            raise PkiError("no trust anchors: give at least one CA certificate")

    @classmethod
    def from_pem(cls, *bundles: bytes) -> TrustAnchors:
        try:
            return cls(tuple(c for pem in bundles for c in x509.load_pem_x509_certificates(pem)))
        except ValueError:
            raise PkiError("a trust anchor bundle is not PEM certificates") from None

    @classmethod
    def load(cls, paths: Iterable[Path]) -> TrustAnchors:
        """Read PEM bundles from files (start-up configuration; a bad file fails here, not per request)."""
        bundles = []
        for path in paths:
            try:
                bundles.append(Path(path).read_bytes())
            except OSError as exc:
                raise PkiError(f"cannot read trust anchors from {path}: {exc.strerror}") from None
        return cls.from_pem(*bundles)

    def store(self) -> verification.Store:
        return verification.Store(list(self.certificates))


@dataclass(frozen=True)
class ChainPolicy:
    """RFC 5280 §6.1 inputs beyond the anchors: ``max_depth`` = most intermediate CAs between leaf and anchor."""

    max_depth: int = DEFAULT_MAX_DEPTH


@dataclass(frozen=True)
class VerifiedChain:
    """A validated path: ``chain[0]`` is the leaf, ``chain[-1]`` the trust anchor."""

    chain: tuple[x509.Certificate, ...]

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def anchor(self) -> x509.Certificate:
        return self.chain[-1]


def _time(now: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, dt.UTC)


def _builder(anchors: TrustAnchors, now: float, policy: ChainPolicy) -> verification.PolicyBuilder:
    return verification.PolicyBuilder().store(anchors.store()).time(_time(now)).max_chain_depth(policy.max_depth)


def verify_client_chain(leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], *,
                        anchors: TrustAnchors, now: float, policy: ChainPolicy = ChainPolicy()) -> VerifiedChain:
    """RFC 8705 §2.1 PKI method: the presented chain validates to a trust anchor at ``now`` for clientAuth."""
    if len(intermediates) > MAX_PRESENTED_INTERMEDIATES:
        raise InvalidClient("client certificate chain is too long")
    verifier = _builder(anchors, now, policy).build_client_verifier()
    try:
        verified = verifier.verify(leaf, list(intermediates))
    except verification.VerificationError as exc:
        raise InvalidClient("client certificate is not trusted", detail=f"chain: {_one_line(exc)}") from None
    return VerifiedChain(tuple(verified.chain))


def _one_line(exc: Exception, limit: int = 300) -> str:
    """An error text for one log line: it quotes the presented certificate's subject, which the client chose
    (a CN with a line break would forge log lines), so control characters are escaped and the length bounded."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(exc)[:limit])


def verify_server_chain(leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], *, server_name: str,
                        anchors: TrustAnchors, now: float, policy: ChainPolicy = ChainPolicy()) -> VerifiedChain:
    """RFC 5280 §6 / RFC 6125: the chain validates at ``now`` for serverAuth and names ``server_name``."""
    try:
        subject: verification.Subject = x509.IPAddress(ipaddress.ip_address(server_name))
    except ValueError:
        subject = x509.DNSName(server_name)
    verifier = _builder(anchors, now, policy).build_server_verifier(subject)
    try:
        return VerifiedChain(tuple(verifier.verify(leaf, list(intermediates))))
    except verification.VerificationError as exc:
        raise ChainError(f"server certificate is not trusted: {_one_line(exc)}") from None


def _sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    kinds = {x509.DNSName: "DNS", x509.UniformResourceIdentifier: "URI", x509.IPAddress: "IP",
             x509.RFC822Name: "email"}
    return [f"{kinds.get(type(n), type(n).__name__)}:{n.value}" for n in ext]


def _eku(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return []
    return [getattr(oid, "_name", None) or oid.dotted_string for oid in ext]


def certificate_info(cert: x509.Certificate) -> dict[str, object]:
    """What ``pki inspect`` shows: RFC 4514 subject and issuer, SANs, validity, EKU, key, ``x5t#S256``.

    ``cryptography`` parses names, keys and extensions only when asked: a malformed one is a ``PkiError`` here.
    """
    try:
        return _info(cert)
    except PkiError:
        raise
    except ValueError as exc:
        raise PkiError(f"malformed certificate: {' '.join(str(exc).split())[:200]}") from None


def _info(cert: x509.Certificate) -> dict[str, object]:
    try:
        key = key_type_of(cert.public_key())
    except PkiError as exc:
        key = str(exc)
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        ca = False
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "subject_alt_names": _sans(cert),
        "extended_key_usage": _eku(cert),
        "ca": ca,
        "key": key,
        "x5t#S256": certificate_thumbprint(cert),
    }


def authenticate_tls_client(cert: x509.Certificate | None, intermediates: Sequence[x509.Certificate],
                            metadata: Mapping[str, Any], *, anchors: TrustAnchors, now: float,
                            policy: ChainPolicy = ChainPolicy()) -> VerifiedChain:
    """RFC 8705 §2.1 in one call for the AS: chain to the anchors (clientAuth, validity, depth), then the
    registered subject (exactly one of the five ``tls_client_auth_*`` parameters). ``InvalidClient`` otherwise."""
    if cert is None:
        raise InvalidClient("client certificate required (tls_client_auth)")
    verified = verify_client_chain(cert, intermediates, anchors=anchors, now=now, policy=policy)
    check_tls_client_auth(metadata, cert)
    return verified
