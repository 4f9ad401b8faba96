"""Attestation verifiers: an ordered list, deny by default (draft-ietf-oauth-attestation-based-client-auth-10 §5, §7).

A request's evidence (the ``OAuth-Client-Attestation`` and ``OAuth-Client-Attestation-PoP`` headers, an already
verified DPoP proof, and any platform evidence a deployment's edge collects) goes to
:func:`run_attestation_verifiers`. Each :class:`AttestationVerifier` says whether it *recognises* the evidence;
the first one that does decides, returning an :class:`AttestationResult` or raising one of
``InvalidClientAttestation``, ``UseAttestationChallenge``, ``UseFreshAttestation``. If none recognises the
evidence, it is refused. Nothing is accepted by falling through.

Built in: :class:`hardened.adapters.attesters.TrustedAttesterVerifier` (Client Attestation JWTs from a pinned
registry of attesters). Platform evidence (Android key attestation, Apple App Attest, TPM quotes) plugs in as
another verifier that really checks that platform's evidence, usually at the Client Attester (§1 steps 1-3), which
then issues a Client Attestation JWT; ``tests/attestation/reference_platform.py`` shows the protocol with a
test-only evidence format and checks no real platform.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from hardened.core.attestation import AttesterKeys, ChallengeCheck
from hardened.errors import InvalidClientAttestation, OAuthError, UseAttestationChallenge, UseFreshAttestation
from hardened.ports.replay import ReplayCache

__all__ = [
    "AttestationEvidence",
    "AttestationResult",
    "AttestationVerifier",
    "AttesterKeys",
    "ChallengeCheck",
    "ReplayGuard",
    "run_attestation_verifiers",
]

#: The only errors a verifier may raise (§7.4); anything else is turned into invalid_client_attestation.
ATTESTATION_ERRORS: tuple[type[OAuthError], ...] = (InvalidClientAttestation, UseAttestationChallenge,
                                                    UseFreshAttestation)


#: Single use of a PoP ``jti`` (§11.1): the one replay port, ``hardened.ports.replay.ReplayCache``, under the name
#: this module has always exported.
ReplayGuard = ReplayCache


@dataclass(frozen=True, slots=True)
class AttestationEvidence:
    """What one request presented, read by the web edge; no field is trusted yet.

    ``dpop_jkt`` and ``dpop_nonce`` come from a DPoP proof the caller has already verified (RFC 9449 §4.3), for
    DPoP combined mode (§5.2). ``client_id`` is the request's ``client_id`` parameter, when it has one (§7.5).
    ``platform`` holds deployment-specific evidence by format name (see module doc).
    """

    audience: str
    attestation: str | None = None
    pop: str | None = None
    client_id: str | None = None
    dpop_jkt: str | None = None
    dpop_nonce: str | None = None
    platform: Mapping[str, str] = field(default_factory=dict)
    #: A challenge bound to this client's session (§11.1), when the server keeps one.
    expected_challenge: str | None = None


@dataclass(frozen=True, slots=True)
class AttestationResult:
    """A verified client instance: what the AS records with codes and tokens (§9.3, §9.4)."""

    verifier: str
    method: str
    client_id: str
    attester: str
    instance_jkt: str
    expires_at: float
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False)


@runtime_checkable
class AttestationVerifier(Protocol):
    """One kind of attestation evidence. ``recognises`` only looks at the shape; ``verify`` decides."""

    name: str

    def recognises(self, evidence: AttestationEvidence) -> bool: ...

    def verify(self, evidence: AttestationEvidence, *, now: float) -> AttestationResult: ...


def run_attestation_verifiers(
    verifiers: Sequence[AttestationVerifier], evidence: AttestationEvidence, *, now: float
) -> AttestationResult:
    """Try ``verifiers`` in order; the first that recognises the evidence decides. None = refused (deny by default).

    Only the three §7.4 errors leave this function: an unexpected exception in a verifier (a bug, or another
    OAuth error) becomes ``invalid_client_attestation``, so that a faulty verifier fails closed.
    """
    for verifier in verifiers:
        try:
            if not verifier.recognises(evidence):
                continue
            result = verifier.verify(evidence, now=now)
        except ATTESTATION_ERRORS:
            raise
        except Exception as exc:  # fail closed, never a 500, never "accepted"
            raise InvalidClientAttestation("the client attestation could not be verified",
                                           detail=f"verifier {verifier.name}: {type(exc).__name__}") from None
        if not isinstance(result, AttestationResult):
            raise InvalidClientAttestation("the client attestation could not be verified",
                                           detail=f"verifier {verifier.name} returned no result")
        # §7.1 step 7 / §7.5, checked again here so that no verifier can forget it.
        if evidence.client_id is not None and result.client_id != evidence.client_id:
            raise InvalidClientAttestation("the client attestation is for another client",
                                           detail=f"verifier {verifier.name}: client_id mismatch")
        return result
    raise InvalidClientAttestation("no accepted client attestation was presented", detail="ERR_ATT_NOT_RECOGNISED")
