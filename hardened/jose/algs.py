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
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

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


_ZERO = b"\x00"
# DER prefixes when neither R nor S starts with a zero octet (all but about 1 in 128 signatures): each INTEGER is
# 32 octets, or 33 with a 0x00 before a set high bit. Indexed by (R high bit, S high bit).
_SEQ_AND_R = {(hr, hs): bytes((0x30, 68 + hr + hs, 0x02, 32 + hr)) + _ZERO * hr for hr in (0, 1) for hs in (0, 1)}
_S_INT = (b"\x02\x20", b"\x02\x21\x00")


def der_signature(signature: bytes) -> bytes:
    """RFC 7518 §3.4 R || S (32 octets each) as the DER ``Ecdsa-Sig-Value`` OpenSSL verifies (RFC 3279 §2.2.3).

    Equal to ``encode_dss_signature(r, s)`` (a property test pins it): each INTEGER minimal, with a 0x00 octet
    before a set high bit; both fit a short-form length (at most 70 octets in all).
    """
    first_r, first_s = signature[0], signature[32]
    if first_r and first_s:
        hr, hs = first_r >> 7, first_s >> 7
        return _SEQ_AND_R[hr, hs] + signature[:32] + _S_INT[hs] + signature[32:]
    r = signature[:32].lstrip(_ZERO) or _ZERO
    s = signature[32:].lstrip(_ZERO) or _ZERO
    if r[0] > 127:
        r = _ZERO + r
    if s[0] > 127:
        s = _ZERO + s
    return bytes((0x30, len(r) + len(s) + 4, 0x02, len(r))) + r + bytes((0x02, len(s))) + s


def verify_bytes(alg: str, key: Any, signing_input: bytes, signature: bytes) -> None:
    """Verify ``signature`` over ``signing_input`` with a ``cryptography`` public key, or raise JoseError."""
    try:
        if alg == "ES256":
            # RFC 7518 §3.4: the JWS signature is R || S, 32 octets each.
            if len(signature) != 64:
                raise JoseError("ERR_JWS_SIGNATURE_INVALID", "signature verification failed")
            key.verify(der_signature(signature), signing_input, _ECDSA_SHA256)
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
