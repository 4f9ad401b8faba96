"""A small X.509 certificate authority for development, tests and small deployments (RFC 5280).

A root, an optional intermediate and leaf certificates by profile (``pki.profiles``). Every certificate carries
subject and authority key identifiers (RFC 5280 §4.2.1.1, §4.2.1.2) and basic constraints (§4.2.1.9) so that
``cryptography``'s RFC 5280 / CA-B path validation (``pki.verify``) accepts the chains it builds.

Validity is always given explicitly (``not_before``): tests build expired and not-yet-valid certificates by
choosing the window, never by waiting.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from pki.profiles import PROFILES, PkiError, PrivateKey, generate_private_key, key_type_of, signature_hash

__all__ = ["CertificateAuthority", "IssuedCertificate", "SubjectAltNames", "parse_name", "self_signed_certificate"]

_MAX_LEAF_DAYS = 825
_MAX_CA_DAYS = 3650


@dataclass(frozen=True)
class SubjectAltNames:
    """RFC 5280 §4.2.1.6 subject alternative names, by kind."""

    dns: tuple[str, ...] = ()
    uri: tuple[str, ...] = ()
    ip: tuple[str, ...] = ()
    email: tuple[str, ...] = ()

    def kinds(self) -> frozenset[str]:
        return frozenset(k for k in ("dns", "uri", "ip", "email") if getattr(self, k))

    def general_names(self) -> list[x509.GeneralName]:
        try:
            return [
                *(x509.DNSName(v) for v in self.dns),
                *(x509.UniformResourceIdentifier(v) for v in self.uri),
                *(x509.IPAddress(ipaddress.ip_address(v)) for v in self.ip),
                *(x509.RFC822Name(v) for v in self.email),
            ]
        except ValueError as exc:
            raise PkiError(f"bad subject alternative name: {exc}") from None


def parse_name(subject: str | x509.Name) -> x509.Name:
    """An ``x509.Name`` from an RFC 4514 string such as ``CN=agent-1,O=Example``."""
    if isinstance(subject, x509.Name):
        return subject
    try:
        name = x509.Name.from_rfc4514_string(subject)
    except ValueError:
        raise PkiError(f"not an RFC 4514 distinguished name: {subject!r}") from None
    if not name.rdns:
        raise PkiError("the subject name is empty")
    return name


def _window(not_before: dt.datetime, days: float, limit: int) -> tuple[dt.datetime, dt.datetime]:
    if not_before.tzinfo is None:
        raise PkiError("not_before must be timezone-aware (UTC)")
    if not 0 < days <= limit:
        raise PkiError(f"validity must be between 0 and {limit} days")
    return not_before, not_before + dt.timedelta(days=days)


def _builder(subject: x509.Name, issuer: x509.Name, public_key: object, window: tuple[dt.datetime, dt.datetime],
             issuer_key_id: x509.AuthorityKeyIdentifier | None) -> x509.CertificateBuilder:
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)  # type: ignore[arg-type]
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)  # type: ignore[arg-type]
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1 or 1)
        .not_valid_before(window[0]).not_valid_after(window[1])
        .add_extension(ski, critical=False)
    )
    aki = issuer_key_id or x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    return builder.add_extension(aki, critical=False)


def _ca_extensions(builder: x509.CertificateBuilder, path_length: int | None) -> x509.CertificateBuilder:
    return builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True).add_extension(
        x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                      data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                      encipher_only=False, decipher_only=False), critical=True)


def _leaf_key_usage(key: object) -> x509.KeyUsage:
    rsa = key_type_of(key).startswith("rsa")  # RSA key transport in TLS 1.2 needs keyEncipherment (RFC 5246 §7.4.7.1)
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=rsa,
                         data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                         encipher_only=False, decipher_only=False)


def _pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate, its private key and the issuing chain above it (intermediates, then the root)."""

    certificate: x509.Certificate
    private_key: PrivateKey
    issuers: tuple[x509.Certificate, ...] = ()

    def certificate_pem(self) -> bytes:
        return _pem(self.certificate)

    def chain_pem(self) -> bytes:
        """The leaf followed by its intermediates (what a TLS peer sends; RFC 8446 §4.4.2), no root."""
        return _pem(self.certificate, *self.issuers[:-1])

    def private_key_pem(self) -> bytes:
        return _key_pem(self.private_key)

    def write(self, directory: Path, name: str) -> dict[str, Path]:
        """``<name>.pem`` (leaf), ``<name>-chain.pem`` (leaf + intermediates), ``<name>.key`` (mode 0600)."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = {"certificate": directory / f"{name}.pem", "chain": directory / f"{name}-chain.pem",
                 "key": directory / f"{name}.key"}
        paths["certificate"].write_bytes(self.certificate_pem())
        paths["chain"].write_bytes(self.chain_pem())
        _write_private(paths["key"], self.private_key_pem())
        return paths


def _write_private(path: Path, data: bytes) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate with its key; ``issuers`` is the chain above it (empty for a root)."""

    certificate: x509.Certificate
    private_key: PrivateKey
    issuers: tuple[x509.Certificate, ...] = field(default=())

    @property
    def root(self) -> x509.Certificate:
        return self.issuers[-1] if self.issuers else self.certificate

    @classmethod
    def create_root(cls, subject: str | x509.Name, *, not_before: dt.datetime, days: float = 3650,
                    key_type: str = "ec-p256") -> CertificateAuthority:
        """A self-signed root CA (RFC 5280 §4.2.1.9: cA true, keyCertSign)."""
        name, key = parse_name(subject), generate_private_key(key_type)
        builder = _ca_extensions(_builder(name, name, key.public_key(), _window(not_before, days, _MAX_CA_DAYS),
                                          None), path_length=1)
        return cls(builder.sign(key, signature_hash(key)), key)  # type: ignore[arg-type]

    def _aki(self) -> x509.AuthorityKeyIdentifier:
        ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)

    def create_intermediate(self, subject: str | x509.Name, *, not_before: dt.datetime, days: float = 1825,
                            key_type: str = "ec-p256") -> CertificateAuthority:
        """An intermediate CA below this one (path length 0: it issues only leaves)."""
        name, key = parse_name(subject), generate_private_key(key_type)
        window = _window(not_before, days, _MAX_CA_DAYS)
        builder = _ca_extensions(_builder(name, self.certificate.subject, key.public_key(), window, self._aki()), 0)
        cert = builder.sign(self.private_key, signature_hash(self.private_key))  # type: ignore[arg-type]
        return CertificateAuthority(cert, key, (self.certificate, *self.issuers))

    def issue(self, profile: str, subject: str | x509.Name, *, sans: SubjectAltNames, not_before: dt.datetime,
              days: float = 90, key_type: str = "ec-p256", private_key: PrivateKey | None = None,
              extended_key_usage: Sequence[x509.ObjectIdentifier] | None = None) -> IssuedCertificate:
        """A leaf certificate by profile; ``extended_key_usage`` overrides the profile's (tests of wrong EKU)."""
        chosen = PROFILES.get(profile)
        if chosen is None:
            raise PkiError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
        if not sans.kinds() & chosen.san_kinds:
            raise PkiError(f"profile {profile} needs a subject alternative name of kind "
                           f"{' or '.join(sorted(chosen.san_kinds))}")
        key = private_key or generate_private_key(key_type)
        name = parse_name(subject)
        builder = (
            _builder(name, self.certificate.subject, key.public_key(), _window(not_before, days, _MAX_LEAF_DAYS),
                     self._aki())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_leaf_key_usage(key), critical=True)
            .add_extension(x509.ExtendedKeyUsage(list(extended_key_usage or chosen.extended_key_usage)),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(sans.general_names()), critical=not name.rdns)
        )
        cert = builder.sign(self.private_key, signature_hash(self.private_key))  # type: ignore[arg-type]
        return IssuedCertificate(cert, key, (self.certificate, *self.issuers))

    def bundle_pem(self) -> bytes:
        """This CA and the chain above it, as one PEM bundle."""
        return _pem(self.certificate, *self.issuers)

    def save(self, directory: Path, name: str = "ca") -> None:
        """``<name>.pem`` (this CA certificate), ``<name>.key`` (0600), ``<name>-chain.pem`` (issuers above)."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.pem").write_bytes(_pem(self.certificate))
        (directory / f"{name}-chain.pem").write_bytes(_pem(*self.issuers))
        _write_private(directory / f"{name}.key", _key_pem(self.private_key))

    @classmethod
    def load(cls, directory: Path, name: str = "ca") -> CertificateAuthority:
        """Read what :meth:`save` wrote; the key must match the certificate."""
        try:
            cert = x509.load_pem_x509_certificate((directory / f"{name}.pem").read_bytes())
            key = serialization.load_pem_private_key((directory / f"{name}.key").read_bytes(), password=None)
            chain_path = directory / f"{name}-chain.pem"
            issuers = tuple(x509.load_pem_x509_certificates(chain_path.read_bytes())) if (
                chain_path.exists() and chain_path.stat().st_size) else ()
        except (OSError, ValueError, TypeError) as exc:
            raise PkiError(f"cannot load the CA {name!r} from {directory}: {exc}") from None
        key_type_of(key)
        if cert.public_key() != key.public_key():
            raise PkiError(f"{name}.key does not match {name}.pem")
        return cls(cert, key, issuers)  # type: ignore[arg-type]


def self_signed_certificate(subject: str | x509.Name, *, sans: SubjectAltNames, not_before: dt.datetime,
                            days: float = 90, key_type: str = "ec-p256") -> IssuedCertificate:
    """A self-signed client certificate for RFC 8705 §2.2 ``self_signed_tls_client_auth`` (not a CA)."""
    name, key = parse_name(subject), generate_private_key(key_type)
    builder = (
        _builder(name, name, key.public_key(), _window(not_before, days, _MAX_LEAF_DAYS), None)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_key_usage(key), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    if sans.kinds():
        builder = builder.add_extension(x509.SubjectAlternativeName(sans.general_names()), critical=False)
    return IssuedCertificate(builder.sign(key, signature_hash(key)), key)  # type: ignore[arg-type]


def common_name(value: str) -> x509.Name:
    """``CN=value`` as a name."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])
