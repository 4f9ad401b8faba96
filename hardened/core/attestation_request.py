"""The attestation request: how a registered client instance proves to the authority (acting as Client Attester)
that it holds its Client Instance Key, before it is given a Client Attestation JWT.

draft-ietf-oauth-attestation-based-client-auth-10 §1 (step 3) and §9.1 leave "how the Client Attester verifies
the Client Instance" to the deployment. hardened's authority does it with a short-lived JWT signed by the
instance key whose RFC 7638 thumbprint an operator registered, modelled on RFC 7523 §3 client assertions:

- header: ``typ`` :data:`ATTESTATION_REQUEST_TYP` (explicit typing, RFC 8725 §3.11), ``alg`` PS256, ES256 or
  EdDSA, ``kid`` = the instance key's RFC 7638 thumbprint (the only way the key is found; no ``jwk``, no ``x5c``);
- claims: ``iss`` = the instance id; ``aud`` = the attestation endpoint URL (one string); ``client_id`` = the
  client id at the authorization server, which becomes the attestation's ``sub`` (ABCA §4); ``jti`` (single use,
  the caller spends :attr:`VerifiedAttestationRequest.replay_key`); ``iat`` at most ``max_age`` old and
  ``max_future_skew`` ahead (FAPI 2.0 SP §5.3.2.1); ``exp`` optional, checked when present.

Pure: no I/O, ``now`` injected. Every defect raises :class:`~hardened.errors.InvalidClient` (RFC 6749 §5.2), the
failed check named in its private ``detail``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hardened.errors import ConfigurationError, InvalidClient, JoseError
from hardened.jose import (
    ALGORITHMS,
    ClaimsPolicy,
    JWSPolicy,
    JWTPolicy,
    PinnedKey,
    PublicKey,
    SigningKey,
    b64url_decode,
    loads_object,
    string_claim,
    verify_jwt,
)

__all__ = [
    "ATTESTATION_REQUEST_TYP",
    "AttestationRequestPolicy",
    "InstanceKeys",
    "RegisteredInstanceKey",
    "VerifiedAttestationRequest",
    "build_attestation_request",
    "check_client_id",
    "verify_attestation_request",
]

#: hardened's own JWT kind (not registered with IANA; hardened/jose/kinds.py does not list it).
ATTESTATION_REQUEST_TYP = "hardened-attestation-request+jwt"
MAX_CLIENT_ID = 255
MAX_JTI = 256
MAX_INSTANCE_ID = 128


@dataclass(frozen=True, slots=True)
class AttestationRequestPolicy:
    """Limits on attestation requests; defaults follow FAPI 2.0 SP §5.3.2.1 (60 s old, 10 s ahead)."""

    algorithms: tuple[str, ...] = ("PS256", "ES256", "EdDSA")
    max_age: float = 60.0
    max_future_skew: float = 10.0
    max_lifetime: float = 300.0
    max_size: int = 4096

    def __post_init__(self) -> None:
        if not self.algorithms or any(a not in ALGORITHMS for a in self.algorithms):
            raise ConfigurationError("attestation request algorithms must be a non-empty subset of PS256/ES256/EdDSA")
        if not 0 < self.max_age <= 300 or not 0 <= self.max_future_skew <= 60 or not 0 < self.max_lifetime <= 3600:
            raise ConfigurationError("max_age in (0, 300], max_future_skew in [0, 60], max_lifetime in (0, 3600]")


@dataclass(frozen=True, slots=True)
class RegisteredInstanceKey:
    """A registered instance's public key, found by its RFC 7638 thumbprint."""

    instance_id: str
    key: PublicKey = field(repr=False)


class InstanceKeys(Protocol):
    """Lookup of registered instance keys by thumbprint (every status: the caller checks status afterwards)."""

    def get(self, jkt: str, /) -> RegisteredInstanceKey | None: ...


@dataclass(frozen=True, slots=True)
class VerifiedAttestationRequest:
    """A request whose signature and claims verified. The caller MUST spend ``replay_key`` once
    (``unique(replay_key, replay_ttl, now)``) and check the instance's status before issuing anything."""

    instance_id: str
    jkt: str
    client_id: str
    jti: str
    iat: float
    replay_key: str
    replay_ttl: float


def _fail(description: str, detail: str) -> InvalidClient:
    return InvalidClient(description, detail=detail)


def check_client_id(value: Any) -> str:
    """RFC 6749 Appendix A.1: ``client-id = *VSCHAR``; hardened also refuses spaces and the empty string."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CLIENT_ID or \
            any(not "\x21" <= c <= "\x7e" for c in value):
        raise _fail(f"client_id must be 1 to {MAX_CLIENT_ID} visible ASCII characters", "ERR_ATTREQ_CLIENT_ID")
    return value


def _header(token: Any, policy: AttestationRequestPolicy) -> Mapping[str, Any]:
    if not isinstance(token, str) or not token or len(token) > policy.max_size:
        raise _fail("the attestation request is missing or too large", "ERR_ATTREQ_MALFORMED")
    head = token.split(".", 1)[0]
    try:
        return loads_object(b64url_decode(head, what="header"), what="header", max_bytes=2048)
    except JoseError as err:
        raise InvalidClient.from_jose(err, "attestation request: ") from None


def verify_attestation_request(token: Any, *, instances: InstanceKeys, audience: str,
                               policy: AttestationRequestPolicy, now: float) -> VerifiedAttestationRequest:
    """Verify an attestation request (module doc): the instance key, then ``iss``, ``aud``, ``iat``, ``jti``."""
    # 1. kid names a registered key (thumbprint); an unknown one stops here, before any signature work.
    kid = _header(token, policy).get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= 128:
        raise _fail("the attestation request must name its instance key's thumbprint in kid", "ERR_ATTREQ_KID")
    registered = instances.get(kid)
    if registered is None or registered.key.thumbprint != kid:
        raise _fail("the attestation request is not signed by a registered instance key", "ERR_ATTREQ_UNKNOWN_KEY")
    # 2. typ, alg allow-list and the signature by that key alone; 3. iss, aud (one string), iat window, exp.
    jws = JWSPolicy(typ=ATTESTATION_REQUEST_TYP, algorithms=policy.algorithms, max_token=policy.max_size,
                    max_payload=policy.max_size)
    claims = ClaimsPolicy(issuer=registered.instance_id, audience=audience, require=("jti", "client_id"),
                          require_exp=False, require_iat=True, max_age=policy.max_age,
                          max_future_skew=policy.max_future_skew, max_lifetime=policy.max_lifetime)
    try:
        verified = verify_jwt(token, policy=JWTPolicy(jws=jws, claims=claims), now=now, keys=PinnedKey(registered.key))
        jti = string_claim(verified.claims, "jti", required=True, max_len=MAX_JTI)
    except JoseError as err:
        raise InvalidClient.from_jose(err, "attestation request: ") from None
    assert jti is not None
    client_id = check_client_id(verified.claims["client_id"])
    digest = hashlib.sha256(f"attestation-request\x00{kid}\x00{jti}".encode("utf-8", "surrogatepass")).hexdigest()
    return VerifiedAttestationRequest(
        instance_id=registered.instance_id, jkt=kid, client_id=client_id, jti=jti,
        iat=float(verified.claims["iat"]), replay_key=digest, replay_ttl=policy.max_age + policy.max_future_skew)


def build_attestation_request(key: SigningKey, *, instance_id: str, client_id: str, audience: str, now: float,
                              jti: str | None = None, lifetime: int = 60) -> str:
    """The instance's signed attestation request (module doc); ``kid`` is the key's RFC 7638 thumbprint."""
    iat = int(now)
    claims = {"iss": instance_id, "aud": audience, "client_id": client_id,
              "jti": jti or secrets.token_urlsafe(24), "iat": iat, "exp": iat + lifetime}
    return key.sign_jws(claims, typ=ATTESTATION_REQUEST_TYP, header={"kid": key.thumbprint}, include_kid=False)
