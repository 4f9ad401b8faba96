"""The client JWKS the authority signs into a statement, with ``x5c`` kept for self-signed mTLS clients.

RFC 8705 §2.2: a ``self_signed_tls_client_auth`` client is authenticated by presenting a certificate equal to
one registered in its JWKS (the ``x5c`` member, RFC 7517 §4.7). The authority therefore keeps ``x5c`` by value
for that method, after checking it strictly:

- ``jwks`` by value (not ``jwks_uri``): the certificates are what the statement vouches for;
- every key carries ``x5c``: a list of 1 to ``MAX_X5C_CERTS`` strings of standard base64 (RFC 4648 §4, with
  ``+``/``/`` and ``=`` padding; NOT base64url), each the DER of a parseable X.509 certificate of at most
  ``MAX_CERT_DER`` bytes, in canonical encoding (no whitespace, no line breaks);
- the first certificate's public key equals the JWK's key (RFC 7517 §4.7: "MUST match").

For the other methods ``x5c`` is refused: ``private_key_jwt`` and ``tls_client_auth`` (RFC 8705 §2.1, which
matches a CA-issued certificate's subject) give it no role, and the authority does not sign certificates it
has no reason to vouch for. Every other member is normalised to the canonical public JWK (kid, alg, use).
Failures are ``InvalidClientMetadata`` with one operator-readable line.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hardened.errors import InvalidClientMetadata, JoseError
from hardened.jose import KeySet, public_key_from_jwk

__all__ = ["MAX_CERT_DER", "MAX_JWKS_KEYS", "MAX_X5C_CERTS", "SELF_SIGNED", "canonical_client_jwks", "checked_x5c"]

SELF_SIGNED = "self_signed_tls_client_auth"
MAX_JWKS_KEYS = 8
MAX_X5C_CERTS = 4
MAX_CERT_DER = 8192
_MAX_B64 = 4 * ((MAX_CERT_DER + 2) // 3)
_STANDARD_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _bad(text: str) -> InvalidClientMetadata:
    return InvalidClientMetadata(f"jwks: {text}")


def _certificate_der(value: Any, where: str) -> bytes:
    """RFC 7517 §4.7: one x5c entry, standard base64 (canonical) of a DER certificate."""
    if not isinstance(value, str) or not value:
        raise _bad(f"{where} must be a non-empty base64 string")
    if len(value) > _MAX_B64:
        raise _bad(f"{where} is larger than {MAX_CERT_DER} bytes of DER")
    if not _STANDARD_B64.fullmatch(value):
        if re.fullmatch(r"[A-Za-z0-9_-]+=*", value):
            raise _bad(f"{where} is base64url; x5c needs standard base64 with + / and = padding (RFC 7517 section 4.7)")
        raise _bad(f"{where} is not standard base64 (no whitespace or line breaks; RFC 7517 section 4.7)")
    try:
        der = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{where} is not standard base64 (check its = padding; RFC 7517 section 4.7)") from None
    if base64.b64encode(der).decode() != value:
        raise _bad(f"{where} is not canonical base64")
    return der


def _certificate(der: bytes, where: str) -> x509.Certificate:
    try:
        cert = x509.load_der_x509_certificate(der)
        cert.public_key()
    except (ValueError, TypeError):
        raise _bad(f"{where} is not a DER X.509 certificate") from None
    return cert


def _spki(key: Any) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def checked_x5c(jwk: dict[str, Any], index: int) -> list[str]:
    """The key's ``x5c`` (RFC 7517 §4.7), checked: bounded, parseable, first certificate holds the JWK's key."""
    x5c = jwk.get("x5c")
    where = f"keys[{index}].x5c"
    if not isinstance(x5c, list) or not 0 < len(x5c) <= MAX_X5C_CERTS:
        raise _bad(f"{where} must be a list of 1 to {MAX_X5C_CERTS} certificates")
    certs = [_certificate(_certificate_der(v, f"{where}[{i}]"), f"{where}[{i}]") for i, v in enumerate(x5c)]
    try:
        jwk_key = public_key_from_jwk({k: v for k, v in jwk.items() if k != "x5c"}).key
        cert_key = _spki(certs[0].public_key())
    except JoseError as exc:
        raise _bad(f"keys[{index}]: {exc.description}") from None
    except (ValueError, TypeError):
        raise _bad(f"{where}[0] holds an unusable public key") from None
    if not hmac.compare_digest(cert_key, _spki(jwk_key)):
        raise _bad(f"{where}[0] certifies another key than keys[{index}] (RFC 7517 section 4.7: they must match)")
    return list(x5c)


def canonical_client_jwks(jwks: Any, auth_method: str) -> dict[str, Any]:
    """The JWKS to sign: canonical public JWKs, plus the checked ``x5c`` for ``self_signed_tls_client_auth``."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not 0 < len(keys) <= MAX_JWKS_KEYS:
        raise _bad(f"must be an object with a keys array of 1 to {MAX_JWKS_KEYS} keys")
    if not all(isinstance(k, dict) for k in keys):
        raise _bad("every key must be a JSON object")
    with_x5c = [i for i, k in enumerate(keys) if "x5c" in k]
    if auth_method != SELF_SIGNED and with_x5c:
        raise _bad(f"keys[{with_x5c[0]}].x5c is only accepted with {SELF_SIGNED} (RFC 8705 section 2.2)")
    try:
        stripped = {"keys": [{k: v for k, v in key.items() if k != "x5c"} for key in keys]}
        canonical = KeySet.from_jwks(stripped, max_keys=MAX_JWKS_KEYS).to_jwks()
    except JoseError as exc:
        raise _bad(exc.description) from None
    if auth_method == SELF_SIGNED:
        missing = [i for i, k in enumerate(keys) if "x5c" not in k]
        if missing:
            raise _bad(f"keys[{missing[0]}] has no x5c; {SELF_SIGNED} needs a certificate on every key")
        for i, (key, out) in enumerate(zip(keys, canonical["keys"], strict=True)):
            out["x5c"] = checked_x5c(key, i)
    return canonical
