"""The authority's signing keys: PEM files with mode 0600 in ``<data>/keys/``, state in the registry.

Rotation (HP-AUTH): a new key becomes ``active`` and signs everything from then on; the previous active key
becomes ``retiring`` and stays in the published JWKS, so statements it signed keep verifying; an operator
``retire``s it once those statements have expired or been re-issued, and it leaves the JWKS. Private keys never
leave the data folder and are never logged.
"""

from __future__ import annotations

import os
from pathlib import Path

from hardened.jose import SigningKey

__all__ = ["generate_key", "load_key", "write_key"]


def _path(keys_dir: Path, kid: str) -> Path:
    if not kid or "/" in kid or "\\" in kid or kid.startswith("."):
        raise ValueError("unsafe kid for a file name")
    return keys_dir / f"{kid}.pem"


def write_key(keys_dir: Path, key: SigningKey) -> Path:
    """Write the private key as PKCS#8 PEM, created with mode 0600 (never readable by others), atomically."""
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    final = _path(keys_dir, key.kid)
    tmp = final.with_suffix(".pem.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, key.private_pem())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    return final


def load_key(keys_dir: Path, kid: str) -> SigningKey:
    return SigningKey.from_pem(_path(keys_dir, kid).read_bytes(), kid=kid)


def generate_key(alg: str) -> SigningKey:
    """A fresh key; its ``kid`` is the RFC 7638 thumbprint of the public key, never starting with '-' (so that
    operators can pass it to the CLI as an argument)."""
    key = SigningKey.generate(alg)
    while key.kid.startswith("-"):
        key = SigningKey.generate(alg)
    return key
