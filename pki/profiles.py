"""Key types and certificate profiles of the development CA (RFC 5280 §4.2, RFC 8705 §2.1).

A profile fixes what a certificate may be used for: its extended key usage (RFC 5280 §4.2.1.12), its key usage
(§4.2.1.3), whether it is a CA (§4.2.1.9) and which subject alternative names it must carry (§4.2.1.6).

==========  ==========================  ===============================
profile     extended key usage          subject alternative names
==========  ==========================  ===============================
agent       clientAuth                  at least one URI or DNS name
server      serverAuth                  at least one DNS name or IP
proxy       clientAuth + serverAuth     at least one DNS name or IP
==========  ==========================  ===============================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

__all__ = [
    "KEY_TYPES",
    "PROFILES",
    "KeyType",
    "PkiError",
    "PrivateKey",
    "Profile",
    "generate_private_key",
    "key_type_of",
    "signature_hash",
]

KeyType = Literal["ec-p256", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"]
KEY_TYPES: tuple[str, ...] = get_args(KeyType)
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

#: RSA keys below this size are refused (FAPI 2.0 Security Profile §5.4.1: RSA keys of at least 2048 bits).
MIN_RSA_BITS = 2048


class PkiError(ValueError):
    """A bad request to the CA (unknown profile, missing SAN, weak key, unreadable file): the CLI prints it."""


@dataclass(frozen=True)
class Profile:
    """What a leaf certificate may do (RFC 5280 §4.2.1.3, §4.2.1.12) and which SAN kinds it needs."""

    name: str
    extended_key_usage: tuple[x509.ObjectIdentifier, ...]
    san_kinds: frozenset[str]
    description: str


PROFILES: dict[str, Profile] = {
    "agent": Profile(
        "agent", (ExtendedKeyUsageOID.CLIENT_AUTH,), frozenset({"uri", "dns"}),
        "an MCP agent's client certificate for mutual TLS (RFC 8705 §2)",
    ),
    "server": Profile(
        "server", (ExtendedKeyUsageOID.SERVER_AUTH,), frozenset({"dns", "ip"}),
        "a TLS server certificate (authorization server, MCP server)",
    ),
    "proxy": Profile(
        "proxy", (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH), frozenset({"dns", "ip"}),
        "a TLS-terminating proxy: server to agents, client to the backends",
    ),
}


def generate_private_key(key_type: str) -> PrivateKey:
    """A fresh private key: EC P-256, RSA (>= 2048 bits, e = 65537) or Ed25519."""
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type in ("rsa-2048", "rsa-3072", "rsa-4096"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    raise PkiError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")


def key_type_of(key: object) -> str:
    """The key type name of a private or public key; refuses curves and sizes the CA does not issue."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return "ec-p256"
        raise PkiError(f"EC curve {key.curve.name} is not supported (P-256 only)")
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise PkiError(f"RSA key of {key.key_size} bits is too small (minimum {MIN_RSA_BITS})")
        return f"rsa-{key.key_size}"
    raise PkiError(f"unsupported key type {type(key).__name__}")


def signature_hash(key: PrivateKey) -> hashes.HashAlgorithm | None:
    """The hash a CA key signs with: SHA-256 for EC P-256 and RSA, none for Ed25519 (RFC 8410 §6)."""
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
