"""Signature algorithms (RFC 7518 §3.4, §3.5; RFC 8037 §3.1), limited to FAPI 2.0 SP §5.4.1: PS256, ES256, EdDSA.

Each algorithm is bound to exactly one key type and curve, so a key can only ever verify under the algorithm
its type implies. Verification calls ``cryptography`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from hardened.errors import JoseError

__all__ = ["ALGORITHMS", "AlgSpec", "sign_bytes", "verify_bytes"]


@dataclass(frozen=True, slots=True)
class AlgSpec:
    """One allowed algorithm: its JWK key type and curve (``None`` for RSA)."""

    name: str
    kty: str
    crv: str | None


#: The only algorithms ``hardened`` ever verifies or signs. Symmetric algorithms, RS256 and ``none`` are absent
#: on purpose (FAPI 2.0 SP §5.4.1; RFC 8725 §3.1-3.2).
ALGORITHMS: dict[str, AlgSpec] = {
    "PS256": AlgSpec("PS256", "RSA", None),
    "ES256": AlgSpec("ES256", "EC", "P-256"),
    "EdDSA": AlgSpec("EdDSA", "OKP", "Ed25519"),
}

_SHA256 = hashes.SHA256()
_ECDSA_SHA256 = ec.ECDSA(_SHA256)
# RFC 7518 §3.5: the PSS salt is as long as the hash output (32 bytes for SHA-256).
_PSS = padding.PSS(mgf=padding.MGF1(_SHA256), salt_length=32)


def verify_bytes(alg: str, key: Any, signing_input: bytes, signature: bytes) -> None:
    """Verify ``signature`` over ``signing_input`` with a ``cryptography`` public key, or raise JoseError."""
    try:
        if alg == "ES256":
            # RFC 7518 §3.4: the JWS signature is R || S, 32 octets each.
            if len(signature) != 64:
                raise JoseError("ERR_JWS_SIGNATURE_INVALID", "signature verification failed")
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key.verify(der, signing_input, _ECDSA_SHA256)
        elif alg == "EdDSA":
            key.verify(signature, signing_input)
        elif alg == "PS256":
            key.verify(signature, signing_input, _PSS, _SHA256)
        else:
            raise JoseError("ERR_JWS_ALG_NOT_ALLOWED", "algorithm is not allowed")
    except InvalidSignature:
        raise JoseError("ERR_JWS_SIGNATURE_INVALID", "signature verification failed") from None
    except (ValueError, TypeError, AttributeError):
        raise JoseError("ERR_JWS_SIGNATURE_INVALID", "signature verification failed") from None


def sign_bytes(alg: str, key: Any, signing_input: bytes) -> bytes:
    """Sign with a ``cryptography`` private key; the ES256 result is R || S (RFC 7518 §3.4)."""
    if alg == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, _ECDSA_SHA256))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(signing_input)
    if alg == "PS256" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(signing_input, _PSS, _SHA256)
    raise JoseError("ERR_JWK_INVALID", f"key does not fit algorithm {alg}")
