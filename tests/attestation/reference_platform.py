"""A REFERENCE implementation of the AttestationVerifier protocol, for tests only. It checks no real platform.

It shows how platform evidence (Android key attestation, Apple App Attest, TPM quotes) plugs into the ordered
verifier list: a verifier recognises its own evidence format, really verifies it, and returns an
``AttestationResult``. Here the "platform" is a made-up one: its evidence is a JWS of type
``reference-platform-evidence+jwt`` signed by a test "platform root" key, naming the client and the instance key,
and the instance key's possession is proven with the usual Client Attestation PoP JWT (ABCA §5.1). A production
verifier for a real platform must check that platform's real evidence (certificate chains to the vendor's roots,
counters, app identifiers); nothing here does, and nothing here may be shipped under hardened/.
"""

from __future__ import annotations

from hardened.core.attestation import (
    AttestationPolicy,
    VerifiedClientAttestation,
    verify_client_attestation_pop,
)
from hardened.errors import InvalidClientAttestation, JoseError
from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, KeySet, public_key_from_jwk, verify_jwt
from hardened.ports.attestation import AttestationEvidence, AttestationResult, ReplayGuard

EVIDENCE_FORMAT = "reference-platform"
EVIDENCE_TYP = "reference-platform-evidence+jwt"
PLATFORM_ISSUER = "https://platform-root.test"


class ReferencePlatformVerifier:
    """Test-only: verifies the made-up ``reference-platform`` evidence format (see module doc)."""

    name = "reference_platform_TEST_ONLY"

    def __init__(self, platform_root: KeySet, *, replay: ReplayGuard, policy: AttestationPolicy | None = None):
        self.root = platform_root
        self.replay = replay
        self.policy = policy or AttestationPolicy()

    def recognises(self, evidence: AttestationEvidence) -> bool:
        return EVIDENCE_FORMAT in evidence.platform

    def verify(self, evidence: AttestationEvidence, *, now: float) -> AttestationResult:
        policy = JWTPolicy(jws=JWSPolicy(typ=EVIDENCE_TYP),
                           claims=ClaimsPolicy(issuer=PLATFORM_ISSUER, subject=evidence.client_id, require=("sub",)))
        try:
            claims = verify_jwt(evidence.platform[EVIDENCE_FORMAT], policy=policy, now=now, keys=self.root).claims
            key = public_key_from_jwk(claims["cnf"]["jwk"])
        except (JoseError, KeyError, TypeError):
            raise InvalidClientAttestation("the platform evidence is invalid", detail="ERR_REF_PLATFORM") from None
        att = VerifiedClientAttestation(attester=PLATFORM_ISSUER, client_id=claims["sub"], cnf_key=key,
                                        cnf_jkt=key.thumbprint, exp=float(claims["exp"]), iat=None, claims=claims)
        pop = verify_client_attestation_pop(evidence.pop, attestation=att, audience=evidence.audience,
                                            policy=self.policy, now=now)
        assert pop.replay_key is not None
        if not self.replay.unique(pop.replay_key, pop.replay_ttl, now):
            raise InvalidClientAttestation("the PoP was already used", detail="ERR_ATT_REPLAY")
        return AttestationResult(verifier=self.name, method=pop.method, client_id=att.client_id,
                                 attester=PLATFORM_ISSUER, instance_jkt=key.thumbprint, expires_at=att.exp)
