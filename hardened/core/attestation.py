"""Client attestation checks (draft-ietf-oauth-attestation-based-client-auth-10), pure: no I/O, ``now`` injected.

Three proofs, each one function, each returning a frozen result or raising exactly one ``OAuthError``:

- :func:`verify_client_attestation`: the Client Attestation JWT (§4, §7.1), signed by a trusted Client Attester;
- :func:`verify_client_attestation_pop`: the Client Attestation PoP JWT (§5.1, §7.2), signed by the ``cnf`` key;
- :func:`verify_dpop_combined_pop`: DPoP combined mode (§5.2, §7.3) on an already verified DPoP proof.

Errors (§7.4): ``use_fresh_attestation`` when the attestation is expired or older than policy allows;
``use_attestation_challenge`` when the proof does not carry an expected server-provided challenge (the web layer
adds a fresh ``OAuth-Client-Attestation-Challenge``); ``invalid_client_attestation`` for everything else.

Hardened profile choices (see specs/requirements/attestation.toml): the attestation must name its attester in
``iss`` (-08 dropped ``iss``; §9.8 leaves key resolution open, and hardened never fetches ``jku`` nor trusts ``x5c``,
so the pinned attester registry is looked up by ``iss`` and ``kid`` only within that attester's keys); MACs are
refused although §4 rule 2 allows them (FAPI 2.0 SP §5.4.1: PS256, ES256, EdDSA only).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hardened.errors import (
    ConfigurationError,
    InvalidClientAttestation,
    JoseError,
    OAuthError,
    UseAttestationChallenge,
    UseFreshAttestation,
)
from hardened.jose import (
    ALGORITHMS,
    ClaimsPolicy,
    JWSPolicy,
    JWTPolicy,
    KeySet,
    PinnedKey,
    PublicKey,
    Typ,
    b64url_decode,
    b64url_encode,
    loads_object,
    media_type,
    public_key_from_jwk,
    string_claim,
    verify_jwt,
)

__all__ = [
    "ATTESTATION_HEADER",
    "ATTESTATION_POP_JWT",
    "CHALLENGE_HEADER",
    "DPOP_COMBINED",
    "POP_HEADER",
    "AttestationPolicy",
    "AttesterKeys",
    "ChallengeCheck",
    "VerifiedAttestationPoP",
    "VerifiedClientAttestation",
    "attestation_pop_replay_key",
    "supported_pop_methods",
    "verify_client_attestation",
    "verify_client_attestation_pop",
    "verify_dpop_combined_pop",
]

#: §4, §5.1, §6.2 (§13.1): the HTTP header fields.
ATTESTATION_HEADER = "OAuth-Client-Attestation"
POP_HEADER = "OAuth-Client-Attestation-PoP"
CHALLENGE_HEADER = "OAuth-Client-Attestation-Challenge"
#: §7.6 / §13.5.2: the registered Proof-of-Possession method names.
ATTESTATION_POP_JWT = "attestation_pop_jwt"
DPOP_COMBINED = "dpop_combined"
FAPI_ALGORITHMS: tuple[str, ...] = ("PS256", "ES256", "EdDSA")
MAX_JTI = 256
MAX_CHALLENGE = 512
MAX_CLIENT_ID = 2048


class AttesterKeys(Protocol):
    """The trusted Client Attesters (§7.1 step 4, §9.8): ``get(issuer)`` is that attester's pinned KeySet or None.

    A plain ``Mapping[str, KeySet]`` fits, and so does :class:`hardened.adapters.attesters.AttesterRegistry`.
    """

    def get(self, issuer: str, /) -> KeySet | None: ...


class ChallengeCheck(Protocol):
    """A source of server-provided challenges (§6): stateless ones answer ``check(challenge, now)``."""

    def check(self, challenge: str, now: float) -> bool: ...


@dataclass(frozen=True, slots=True)
class AttestationPolicy:
    """Local policy for attestations and their proofs (§7.1 step 3 and 6, §7.2 step 3 and 6, §11.1).

    ``max_attestation_age`` (seconds since ``iat``) makes ``iat`` required and older attestations answer
    ``use_fresh_attestation``; ``max_attestation_lifetime`` bounds ``exp - iat``. A PoP may be at most
    ``pop_max_age`` old and ``max_future_skew`` ahead (FAPI 2.0 SP §5.3.2.1). ``require_challenge`` makes a
    server-provided challenge mandatory in every proof.
    """

    attestation_algorithms: tuple[str, ...] = FAPI_ALGORITHMS
    pop_algorithms: tuple[str, ...] = FAPI_ALGORITHMS
    max_attestation_age: float | None = None
    max_attestation_lifetime: float | None = 24 * 3600.0
    pop_max_age: float = 60.0
    max_future_skew: float = 10.0
    require_challenge: bool = False
    max_attestation_size: int = 8192
    max_pop_size: int = 4096

    def __post_init__(self) -> None:
        for algs in (self.attestation_algorithms, self.pop_algorithms):
            if not algs or any(a not in ALGORITHMS for a in algs):
                raise ConfigurationError(f"attestation algorithms must be a non-empty subset of {FAPI_ALGORITHMS}")
        if not 0 < self.pop_max_age <= 3600 or not 0 <= self.max_future_skew <= 60:
            raise ConfigurationError("pop_max_age must be in (0, 3600] and max_future_skew in [0, 60]")


@dataclass(frozen=True, slots=True)
class VerifiedClientAttestation:
    """A Client Attestation JWT that passed §7.1: who attested which client instance key, until when."""

    attester: str
    client_id: str
    cnf_key: PublicKey = field(repr=False)
    cnf_jkt: str
    exp: float
    iat: float | None
    claims: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class VerifiedAttestationPoP:
    """A proof of possession of the attested key (§7.2 or §7.3).

    For ``attestation_pop_jwt`` the caller MUST spend ``replay_key`` once through its replay port
    (``unique(replay_key, replay_ttl, now)``, §11.1); in DPoP combined mode the DPoP proof's own ``jti`` replay
    check covers it and ``replay_key`` is None.
    """

    method: str
    jti: str | None
    iat: float | None
    challenge: str | None
    replay_key: str | None
    replay_ttl: float


def _fail(description: str, code: str) -> InvalidClientAttestation:
    return InvalidClientAttestation(description, detail=code)


def _same(a: str, b: str) -> bool:
    """Constant-time string comparison that never raises (lone surrogates included)."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def _unverified_parts(token: Any, max_size: int, what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload, read before any key is chosen; only to find ``typ`` and ``iss`` (RFC 8725 §3.11)."""
    if not isinstance(token, str) or not token or len(token) > max_size:
        raise _fail(f"the {what} is missing or too large", "ERR_ATT_MALFORMED")
    parts = token.split(".")
    if len(parts) != 3:
        raise _fail(f"the {what} is not a compact JWS", "ERR_ATT_MALFORMED")
    try:
        header = loads_object(b64url_decode(parts[0], what="header"), what="header", max_bytes=2048)
        payload = loads_object(b64url_decode(parts[1], what="payload"), what="payload", max_bytes=max_size)
    except JoseError as err:
        raise InvalidClientAttestation.from_jose(err, f"{what}: ") from None
    return header, payload


def _check_typ(header: Mapping[str, Any], typ: str, what: str) -> None:
    got = header.get("typ")
    if not isinstance(got, str) or media_type(got) != media_type(typ):
        raise _fail(f"the {what} is not a JWT of type {typ}", "ERR_JWS_TYP")


def _cnf_key(claims: Mapping[str, Any], policy: AttestationPolicy) -> PublicKey:
    """§4 ``cnf``: an RFC 7800 ``jwk``; §7.1 step 5: never a private key (nor, in hardened, a symmetric one)."""
    cnf = claims.get("cnf")
    if not isinstance(cnf, Mapping) or not isinstance(cnf.get("jwk"), Mapping):
        raise _fail("cnf claim with a jwk is required", "ERR_ATT_CNF")
    try:
        key = public_key_from_jwk(cnf["jwk"])
    except JoseError as err:
        raise _fail(f"cnf.jwk is not an acceptable public key: {err.description}", "ERR_ATT_CNF_KEY") from None
    if key.alg not in policy.pop_algorithms:
        raise _fail("cnf.jwk is for an algorithm this server does not accept", "ERR_ATT_CNF_KEY")
    return key


def _attestation_error(err: JoseError) -> OAuthError:
    """§7.4: staleness asks for a fresh attestation; any other defect is an invalid attestation."""
    if err.code in ("ERR_JWT_EXPIRED", "ERR_JWT_TOO_OLD"):
        return UseFreshAttestation("the client attestation is not fresh enough", detail=err.code)
    return InvalidClientAttestation.from_jose(err, "client attestation: ")


def verify_client_attestation(
    jwt: Any, *, client_id: str | None, attesters: AttesterKeys, policy: AttestationPolicy, now: float
) -> VerifiedClientAttestation:
    """Verify a Client Attestation JWT (§4, §7.1 steps 2-7).

    ``client_id`` is the request's ``client_id`` when it has one (§7.1 step 7, §7.5): ``sub`` must equal it.
    """
    header, payload = _unverified_parts(jwt, policy.max_attestation_size, "client attestation")
    # §4 typ: oauth-client-attestation+jwt; a DPoP proof, PoP or any other JWT kind stops here.
    _check_typ(header, Typ.CLIENT_ATTESTATION, "client attestation")
    # §7.1 step 4, §9.8 (hardened): iss names the attester; its pinned keys are the only candidates.
    try:
        issuer = string_claim(payload, "iss", required=True)
    except JoseError:
        raise _fail("the client attestation must name its attester in iss", "ERR_ATT_ISS") from None
    assert issuer is not None
    keys = attesters.get(issuer)
    if keys is None:
        raise _fail("the client attestation is not from a trusted attester", "ERR_ATT_UNTRUSTED_ATTESTER")
    claims_policy = ClaimsPolicy(
        issuer=issuer, subject=client_id, require=("sub", "cnf"), require_exp=True,
        require_iat=policy.max_attestation_age is not None, max_age=policy.max_attestation_age,
        max_future_skew=policy.max_future_skew, max_lifetime=policy.max_attestation_lifetime,
    )
    jws_policy = JWSPolicy(typ=Typ.CLIENT_ATTESTATION, algorithms=policy.attestation_algorithms,
                           max_token=policy.max_attestation_size, max_payload=policy.max_attestation_size)
    try:
        verified = verify_jwt(jwt, policy=JWTPolicy(jws=jws_policy, claims=claims_policy), now=now, keys=keys)
        subject = string_claim(verified.claims, "sub", required=True, max_len=MAX_CLIENT_ID)
    except JoseError as err:
        raise _attestation_error(err) from None
    assert subject is not None
    key = _cnf_key(verified.claims, policy)
    iat, exp = verified.claims.get("iat"), float(verified.claims["exp"])
    # Without iat, the lifetime bound still holds from now: an attestation cannot outlive it by omitting iat.
    if iat is None and policy.max_attestation_lifetime is not None and exp - now > policy.max_attestation_lifetime:
        raise _fail("the client attestation is valid for too long", "ERR_ATT_LIFETIME")
    return VerifiedClientAttestation(
        attester=issuer, client_id=subject, cnf_key=key, cnf_jkt=key.thumbprint,
        exp=exp, iat=None if iat is None else float(iat), claims=verified.claims,
    )


def _check_challenge(
    presented: Any, *, expected: str | None, challenges: ChallengeCheck | None, required: bool, now: float
) -> str | None:
    """§7.2 steps 5 and 8, §7.3 step 5: a server-provided challenge must be present and match."""
    if presented is not None and (not isinstance(presented, str) or not presented or len(presented) > MAX_CHALLENGE):
        raise UseAttestationChallenge("the challenge is malformed", detail="ERR_ATT_CHALLENGE")
    if expected is not None:
        ok = presented is not None and _same(presented, expected)
    elif presented is not None and challenges is not None:
        ok = challenges.check(presented, now)
    else:
        ok = not required
    if not ok:
        raise UseAttestationChallenge("use the server-provided attestation challenge", detail="ERR_ATT_CHALLENGE")
    return presented


def attestation_pop_replay_key(attestation: VerifiedClientAttestation, jti: str) -> str:
    """The single-use key of a PoP (§11.1, §9.7): attester, client instance key and ``jti``, hashed."""
    material = "\x00".join(("oauth-client-attestation-pop", attestation.attester, attestation.cnf_jkt, jti))
    return b64url_encode(hashlib.sha256(material.encode()).digest())


def verify_client_attestation_pop(
    jwt: Any,
    *,
    attestation: VerifiedClientAttestation,
    audience: str,
    policy: AttestationPolicy,
    now: float,
    expected_challenge: str | None = None,
    challenges: ChallengeCheck | None = None,
) -> VerifiedAttestationPoP:
    """Verify a Client Attestation PoP JWT (§5.1, §7.2 steps 2-8) against an attestation verified first (§4).

    ``audience`` is this AS's RFC 8414 issuer or this resource's RFC 9728 identifier, one string (§7.2 step 7).
    ``expected_challenge`` is a challenge bound to this client's session (§11.1); ``challenges`` checks
    stateless challenges (§6.1). The caller spends the returned ``replay_key`` (§11.1).
    """
    header, _ = _unverified_parts(jwt, policy.max_pop_size, "client attestation PoP")
    _check_typ(header, Typ.CLIENT_ATTESTATION_POP, "client attestation PoP")
    claims_policy = ClaimsPolicy(
        audience=audience, allow_audience_array=False, require=("jti",), require_exp=False, require_iat=True,
        max_age=policy.pop_max_age, max_future_skew=policy.max_future_skew,
    )
    jws_policy = JWSPolicy(typ=Typ.CLIENT_ATTESTATION_POP, algorithms=policy.pop_algorithms,
                           max_token=policy.max_pop_size, max_payload=policy.max_pop_size)
    try:
        verified = verify_jwt(jwt, policy=JWTPolicy(jws=jws_policy, claims=claims_policy), now=now,
                              keys=PinnedKey(attestation.cnf_key))
        jti = string_claim(verified.claims, "jti", required=True, max_len=MAX_JTI)
    except JoseError as err:
        raise InvalidClientAttestation.from_jose(err, "client attestation PoP: ") from None
    assert jti is not None
    challenge = _check_challenge(verified.claims.get("challenge"), expected=expected_challenge,
                                 challenges=challenges, required=policy.require_challenge, now=now)
    return VerifiedAttestationPoP(
        method=ATTESTATION_POP_JWT, jti=jti, iat=float(verified.claims["iat"]), challenge=challenge,
        replay_key=attestation_pop_replay_key(attestation, jti),
        # accepted up to and including iat + pop_max_age, iat up to max_future_skew ahead: one second more
        replay_ttl=policy.pop_max_age + policy.max_future_skew + 1.0,
    )


def verify_dpop_combined_pop(
    *,
    attestation: VerifiedClientAttestation,
    dpop_jkt: str,
    dpop_nonce: str | None,
    policy: AttestationPolicy,
    now: float,
    expected_challenge: str | None = None,
    challenges: ChallengeCheck | None = None,
) -> VerifiedAttestationPoP:
    """DPoP combined mode (§5.2, §7.3 steps 4-5) on a DPoP proof the caller already verified (RFC 9449 §4.3).

    The proof's key must be the attested key (RFC 7638 thumbprints compared in constant time), and a
    server-provided challenge travels as the DPoP ``nonce``. Steps 1-3 (no PoP header, one DPoP header, RFC 9449
    validation) are the caller's.
    """
    if not isinstance(dpop_jkt, str) or not _same(dpop_jkt, attestation.cnf_jkt):
        raise _fail("the DPoP proof is not signed with the attested key", "ERR_ATT_DPOP_KEY")
    challenge = _check_challenge(dpop_nonce, expected=expected_challenge, challenges=challenges,
                                 required=policy.require_challenge, now=now)
    return VerifiedAttestationPoP(method=DPOP_COMBINED, jti=None, iat=None, challenge=challenge,
                                  replay_key=None, replay_ttl=0.0)


def supported_pop_methods(methods: Collection[str]) -> list[str]:
    """§7.6: the registered PoP method names a server may list; unknown names are a configuration mistake."""
    known = (ATTESTATION_POP_JWT, DPOP_COMBINED, "none")
    bad = [m for m in methods if m not in known]
    if bad or not methods:
        raise ConfigurationError(f"PoP methods must be a non-empty subset of {known}")
    return list(dict.fromkeys(methods))
