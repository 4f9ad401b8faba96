"""Mutual-TLS client authentication and certificate-bound tokens (RFC 8705), pure checks.

- :func:`certificate_thumbprint`: RFC 8705 §3.1 ``x5t#S256``, base64url SHA-256 of the certificate's DER.
- :func:`check_certificate_binding`: RFC 8705 §3 / §3.2, a token's ``cnf`` against the presented certificate
  (``InvalidToken``).
- :func:`tls_client_auth_subject`: RFC 8705 §2.1.2, the one expected subject value a ``tls_client_auth`` client
  registered (``InvalidClientMetadata``); :func:`check_tls_client_auth` matches it (``InvalidClient``). The
  chain itself is validated first by the caller (``pki.verify.verify_client_chain``).
- :func:`check_self_signed_tls_client_auth`: RFC 8705 §2.2, the presented certificate is one registered in the
  client's JWKS ``x5c`` (``InvalidClient``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hardened.core.distinguished_name import DNSyntaxError, dn_of_name, parse_dn
from hardened.errors import InvalidClient, InvalidClientMetadata, InvalidToken, JoseError
from hardened.jose import public_key_from_jwk
from hardened.jose.encoding import b64url_encode

__all__ = [
    "SUBJECT_PARAMETERS",
    "TLSClientAuthSubject",
    "certificate_thumbprint",
    "check_certificate_binding",
    "check_certificate_validity",
    "check_self_signed_registration",
    "check_self_signed_tls_client_auth",
    "check_tls_client_auth",
    "der_thumbprint",
    "tls_client_auth_subject",
]

SubjectKind = Literal["subject_dn", "san_dns", "san_uri", "san_ip", "san_email"]
#: RFC 8705 §2.1.2 client metadata parameters, one of which a tls_client_auth client registers.
SUBJECT_PARAMETERS: dict[str, SubjectKind] = {
    "tls_client_auth_subject_dn": "subject_dn",
    "tls_client_auth_san_dns": "san_dns",
    "tls_client_auth_san_uri": "san_uri",
    "tls_client_auth_san_ip": "san_ip",
    "tls_client_auth_san_email": "san_email",
}
_MAX_VALUE = 2048
_MAX_X5C_DER = 16384
_MAX_JWKS_KEYS = 32
_SPKI = PublicFormat.SubjectPublicKeyInfo


def der_thumbprint(der: bytes) -> str:
    """RFC 8705 §3.1: base64url(SHA-256(DER)), no padding."""
    return b64url_encode(hashlib.sha256(der).digest())


def certificate_thumbprint(cert: x509.Certificate) -> str:
    """RFC 8705 §3.1 ``x5t#S256`` of a certificate."""
    return der_thumbprint(cert.public_bytes(Encoding.DER))


def check_certificate_binding(cnf: Any, cert: x509.Certificate | None) -> None:
    """RFC 8705 §3 / §6.2: the token's ``cnf.x5t#S256`` equals the presented certificate's thumbprint.

    A token bound this way carries ``x5t#S256`` and no ``jkt`` (one sender constraint per token).
    """
    # 1. the token is certificate-bound, and only that
    if not isinstance(cnf, Mapping) or "x5t#S256" not in cnf:
        raise InvalidToken("token is not certificate-bound")
    if "jkt" in cnf:
        raise InvalidToken("token carries two confirmation methods")
    expected = cnf["x5t#S256"]
    if not isinstance(expected, str) or len(expected) != 43:
        raise InvalidToken("token confirmation is malformed")
    # 2. a certificate was presented over mutual TLS
    if cert is None:
        raise InvalidToken("certificate-bound token presented without a client certificate")
    # 3. constant-time comparison of the thumbprints
    if not hmac.compare_digest(expected.encode("ascii", "replace"), certificate_thumbprint(cert).encode("ascii")):
        raise InvalidToken("token is bound to another certificate")


@dataclass(frozen=True)
class TLSClientAuthSubject:
    """The expected certificate subject of a ``tls_client_auth`` client (RFC 8705 §2.1.2)."""

    kind: SubjectKind
    value: str


def _check_value(kind: SubjectKind, value: str) -> None:
    if kind == "subject_dn":
        try:
            parse_dn(value)
        except DNSyntaxError as exc:
            raise InvalidClientMetadata(f"tls_client_auth_subject_dn: {exc}") from None
    elif kind == "san_ip":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise InvalidClientMetadata("tls_client_auth_san_ip is not an IP address") from None
    elif kind == "san_email" and value.count("@") != 1:
        raise InvalidClientMetadata("tls_client_auth_san_email is not an email address")


def _well_formed_text(kind: SubjectKind, value: str) -> bool:
    """SAN values are IA5String (RFC 5280 §4.2.1.6): printable ASCII. A DN may hold any Unicode but controls."""
    if kind != "subject_dn":
        return value.isascii() and value.isprintable()
    return not any(unicodedata.category(c) in ("Cc", "Cs") for c in value)


def tls_client_auth_subject(metadata: Mapping[str, Any]) -> TLSClientAuthSubject:
    """RFC 8705 §2.1.2: exactly one of the five parameters, a non-empty bounded string of its syntax."""
    present = [name for name in SUBJECT_PARAMETERS if name in metadata]
    if len(present) != 1:
        raise InvalidClientMetadata("tls_client_auth needs exactly one of " + ", ".join(SUBJECT_PARAMETERS))
    name = present[0]
    value = metadata[name]
    kind = SUBJECT_PARAMETERS[name]
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_VALUE or not _well_formed_text(kind, value):
        raise InvalidClientMetadata(f"{name} must be a non-empty printable string")
    _check_value(kind, value)
    return TLSClientAuthSubject(kind, value)


def _san(cert: x509.Certificate, kind: type[x509.GeneralName]) -> list[Any]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return ext.get_values_for_type(kind)  # type: ignore[arg-type]


def _email_equal(a: str, b: str) -> bool:
    """RFC 5280 §4.2.1.6 / RFC 5321 §2.4: local part exact, domain case-insensitive."""
    la, _, da = a.rpartition("@")
    lb, _, db = b.rpartition("@")
    return la == lb and da.lower() == db.lower()


def _subject_matches(expected: TLSClientAuthSubject, cert: x509.Certificate) -> bool:
    value = expected.value
    if expected.kind == "subject_dn":
        try:  # cryptography parses the subject lazily: a malformed one raises here, and matches nothing
            subject = dn_of_name(cert.subject)
        except ValueError:
            return False
        return subject == parse_dn(value)
    if expected.kind == "san_dns":  # RFC 4343: DNS names compare case-insensitively (ASCII)
        return any(v.isascii() and v.lower() == value.lower() for v in _san(cert, x509.DNSName))
    if expected.kind == "san_uri":  # exact string comparison (RFC 3986 §6.2.1)
        return value in _san(cert, x509.UniformResourceIdentifier)
    if expected.kind == "san_ip":
        return ipaddress.ip_address(value) in _san(cert, x509.IPAddress)
    return any(_email_equal(v, value) for v in _san(cert, x509.RFC822Name))


def check_tls_client_auth(metadata: Mapping[str, Any], cert: x509.Certificate | None) -> None:
    """RFC 8705 §2.1: the (already chain-validated) certificate carries the registered subject value."""
    if cert is None:
        raise InvalidClient("client certificate required (tls_client_auth)")
    try:
        expected = tls_client_auth_subject(metadata)
    except InvalidClientMetadata as exc:
        raise InvalidClient("client registration has no usable certificate subject", detail=exc.description) from None
    if not _subject_matches(expected, cert):
        raise InvalidClient("client certificate does not match the registered subject",
                            detail=f"tls_client_auth {expected.kind} mismatch")


def _x5c_leaf(jwk: Any) -> bytes | None:
    """RFC 7517 §4.7: x5c[0] is standard base64 DER of the certificate holding the key."""
    if not isinstance(jwk, Mapping):
        return None
    x5c = jwk.get("x5c")
    if not isinstance(x5c, list) or not x5c or not isinstance(x5c[0], str) or len(x5c[0]) > _MAX_X5C_DER * 2:
        return None
    try:
        return base64.b64decode(x5c[0], validate=True)
    except (binascii.Error, ValueError):
        return None


def check_self_signed_tls_client_auth(jwks: Any, cert: x509.Certificate | None) -> None:
    """RFC 8705 §2.2: the presented certificate equals (DER) the ``x5c[0]`` of a key in the registered JWKS.

    §2.2 makes the match itself the authentication (no PKI, no chain is built); it is on the whole DER
    encoding, compared in constant time.
    """
    if cert is None:
        raise InvalidClient("client certificate required (self_signed_tls_client_auth)")
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list) or len(keys) > _MAX_JWKS_KEYS:
        raise InvalidClient("client registration has no usable JWKS")
    presented = cert.public_bytes(Encoding.DER)
    found = False
    for jwk in keys:
        registered = _x5c_leaf(jwk)
        if registered is not None and hmac.compare_digest(registered, presented):
            found = True
    if not found:
        raise InvalidClient("client certificate is not registered for this client")


def check_self_signed_registration(jwks: Any) -> None:
    """RFC 8705 §2.2: a ``self_signed_tls_client_auth`` client registers its certificate(s) as ``x5c`` in its
    JWKS; at least one key must carry a parseable certificate (``InvalidClientMetadata``)."""
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list) or len(keys) > _MAX_JWKS_KEYS:
        raise InvalidClientMetadata("self_signed_tls_client_auth needs a jwks")
    for jwk in keys:
        der = _x5c_leaf(jwk)
        if der is None:
            continue
        try:
            cert_key = x509.load_der_x509_certificate(der).public_key().public_bytes(Encoding.DER, _SPKI)
            jwk_key = public_key_from_jwk({k: v for k, v in jwk.items() if k != "x5c"}).key
        except (ValueError, JoseError):
            raise InvalidClientMetadata("a jwks x5c certificate is malformed or its key unusable") from None
        # RFC 7517 §4.7: the key in the first certificate MUST match the JWK's public key
        if not hmac.compare_digest(cert_key, jwk_key.public_bytes(Encoding.DER, _SPKI)):
            raise InvalidClientMetadata("a jwks x5c certificate holds another key than its JWK")
        return
    raise InvalidClientMetadata("self_signed_tls_client_auth needs a jwks key with an x5c certificate")


def check_certificate_validity(cert: x509.Certificate, now: float) -> None:
    """RFC 5280 §4.1.2.5: ``notBefore`` <= now <= ``notAfter`` (for self-signed certificates, which no chain
    validation checks); ``InvalidClient`` otherwise."""
    if not cert.not_valid_before_utc.timestamp() <= now <= cert.not_valid_after_utc.timestamp():
        raise InvalidClient("client certificate is expired or not yet valid")
