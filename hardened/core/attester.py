"""The Client Attester's side (draft-ietf-oauth-attestation-based-client-auth-10 §1 step 3, §4): issue attestations.

An attester (an agent back end, or the authority vouching for software instances it registered) has verified
the client instance and its key by its own means; it then signs a short-lived Client Attestation JWT binding the
client id to the instance key. Pure: signing with an in-memory key, ``now`` injected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hardened.errors import ConfigurationError, JoseError
from hardened.jose import PublicKey, SigningKey, Typ, public_key_from_jwk

__all__ = ["build_client_attestation"]

#: Claims the attester sets itself; extra claims may not override them.
_RESERVED = frozenset({"iss", "sub", "iat", "exp", "cnf"})
MAX_LIFETIME = 24 * 3600


def build_client_attestation(
    key: SigningKey,
    *,
    issuer: str,
    client_id: str,
    instance_key: PublicKey | Mapping[str, Any],
    now: float,
    lifetime: float = 3600,
    claims: Mapping[str, Any] | None = None,
) -> str:
    """A Client Attestation JWT (§4): ``typ`` oauth-client-attestation+jwt, ``iss`` (hardened profile, HP-ATT-03),
    ``sub`` = client id, ``iat``, ``exp`` = ``iat + lifetime``, ``cnf.jwk`` = the instance's public key.

    ``instance_key`` is imported strictly, so a private or symmetric key can never be attested (§7.1 step 5).
    """
    if not issuer or not client_id:
        raise ConfigurationError("an attestation needs the attester's issuer and the client id")
    if not 0 < lifetime <= MAX_LIFETIME:
        raise ConfigurationError(f"attestation lifetime must be in (0, {MAX_LIFETIME}] seconds")
    try:
        public = instance_key if isinstance(instance_key, PublicKey) else public_key_from_jwk(instance_key)
    except JoseError as err:
        raise ConfigurationError(f"the instance key cannot be attested: {err.description}") from None
    extra = dict(claims or {})
    if _RESERVED.intersection(extra):
        raise ConfigurationError(f"claims may not override {sorted(_RESERVED.intersection(extra))}")
    iat = int(now)
    body = {**extra, "iss": issuer, "sub": client_id, "iat": iat, "exp": iat + int(lifetime),
            "cnf": {"jwk": public.public_jwk()}}
    return key.sign_jws(body, typ=Typ.CLIENT_ATTESTATION)
