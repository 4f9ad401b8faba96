"""HTTP surface of client attestation (draft-ietf-oauth-attestation-based-client-auth-10 §4, §5.1, §6, §7, §8).

- :func:`read_attestation_headers`: exactly one ``OAuth-Client-Attestation`` and at most one
  ``OAuth-Client-Attestation-PoP`` header, token68 syntax, bounded (§4, §5.1, §7.1 step 1, §7.2 step 1);
- :func:`attestation_evidence` and :class:`AttestationGuard`: run the verifier list on a request;
- :func:`with_challenge`: ``use_attestation_challenge`` always carries a fresh ``OAuth-Client-Attestation-Challenge``
  header (§7.4, §6.2);
- :func:`challenge_router`: the challenge endpoint (§6.1: POST, JSON ``attestation_challenge``, ``no-store``);
- :func:`attestation_metadata`: the RFC 8414 / RFC 9728 metadata members (§8, §7.6, §13.2-13.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from hardened.clock import Clock
from hardened.core.attestation import (
    ATTESTATION_HEADER,
    ATTESTATION_POP_JWT,
    CHALLENGE_HEADER,
    DPOP_COMBINED,
    POP_HEADER,
    AttestationPolicy,
    supported_pop_methods,
)
from hardened.core.attestation_challenge import AttestationChallenges
from hardened.errors import ConfigurationError, InvalidClientAttestation, OAuthError, UseAttestationChallenge
from hardened.ports.attestation import (
    AttestationEvidence,
    AttestationResult,
    AttestationVerifier,
    run_attestation_verifiers,
)
from hardened.web.errors import NO_STORE
from hardened.web.token68 import TOKEN68

__all__ = [
    "ATTESTATION_AUTH_METHODS",
    "ATTESTATION_HEADER",
    "CHALLENGE_HEADER",
    "POP_HEADER",
    "AttestationGuard",
    "attestation_evidence",
    "attestation_metadata",
    "challenge_router",
    "fresh_challenge_headers",
    "read_attestation_headers",
    "with_challenge",
]

#: §13.6, §13.7: token_endpoint_auth_methods_supported values.
ATTESTATION_AUTH_METHODS = ("attest_jwt_client_auth", "attest_jwt_client_auth_dpop")
MAX_ATTESTATION_HEADER = 8192
MAX_POP_HEADER = 4096


def _one(headers: Headers, name: str, max_len: int) -> str | None:
    values = headers.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidClientAttestation(f"exactly one {name} header is allowed", detail="ERR_ATT_HEADER_REPEATED")
    value = values[0].strip(" \t")
    if not value or len(value) > max_len or not TOKEN68.fullmatch(value):
        raise InvalidClientAttestation(f"the {name} header is malformed", detail="ERR_ATT_HEADER_MALFORMED")
    return value


def read_attestation_headers(headers: Headers) -> tuple[str | None, str | None]:
    """(attestation, PoP) header values, each None when absent; a PoP without an attestation is refused."""
    attestation = _one(headers, ATTESTATION_HEADER, MAX_ATTESTATION_HEADER)
    pop = _one(headers, POP_HEADER, MAX_POP_HEADER)
    if pop is not None and attestation is None:
        raise InvalidClientAttestation(f"{POP_HEADER} without {ATTESTATION_HEADER}", detail="ERR_ATT_HEADER_MISSING")
    return attestation, pop


def attestation_evidence(
    request: Request,
    *,
    audience: str,
    client_id: str | None = None,
    dpop_jkt: str | None = None,
    dpop_nonce: str | None = None,
    expected_challenge: str | None = None,
) -> AttestationEvidence:
    """The evidence of one request. ``dpop_jkt``/``dpop_nonce`` only from a DPoP proof already verified."""
    attestation, pop = read_attestation_headers(request.headers)
    return AttestationEvidence(audience=audience, attestation=attestation, pop=pop, client_id=client_id,
                               dpop_jkt=dpop_jkt, dpop_nonce=dpop_nonce, expected_challenge=expected_challenge)


def fresh_challenge_headers(challenges: AttestationChallenges, now: float) -> dict[str, str]:
    """§6.2: a fresh challenge the client uses in its next proof; any response may carry it."""
    return {CHALLENGE_HEADER: challenges.issue(now)}


def with_challenge(err: OAuthError, challenges: AttestationChallenges | None, now: float) -> OAuthError:
    """§7.4: ``use_attestation_challenge`` MUST come with the ``OAuth-Client-Attestation-Challenge`` header."""
    if isinstance(err, UseAttestationChallenge) and challenges is not None:
        err.headers.update(fresh_challenge_headers(challenges, now))
    return err


class AttestationGuard:
    """A FastAPI dependency: verifies the request's attestation with the ordered verifier list.

    ``required=False`` lets requests without an ``OAuth-Client-Attestation`` header through as ``None`` (the
    attestation is then only an additional signal, §7.6); with one, it must verify. The guard reads headers only:
    the caller compares the result's ``client_id`` with the request's authenticated client (§7.1 step 7, §7.5).
    Errors are raised as ``OAuthError`` and rendered by :func:`hardened.web.errors.install_error_handlers`.
    """

    def __init__(self, verifiers: Sequence[AttestationVerifier], *, audience: str, clock: Clock,
                 challenges: AttestationChallenges | None = None, required: bool = True) -> None:
        self.verifiers = tuple(verifiers)
        self.audience = audience
        self.clock = clock
        self.challenges = challenges
        self.required = required

    async def __call__(self, request: Request) -> AttestationResult | None:
        now = self.clock.now()
        try:
            evidence = attestation_evidence(request, audience=self.audience)
            if evidence.attestation is None and not self.required:
                return None
            return run_attestation_verifiers(self.verifiers, evidence, now=now)
        except OAuthError as err:
            raise with_challenge(err, self.challenges, now) from None


def challenge_router(challenges: AttestationChallenges, clock: Clock, *, path: str = "/attestation/challenge"
                     ) -> APIRouter:
    """§6.1 challenge endpoint: ``POST`` answers ``{"attestation_challenge": ...}`` with ``Cache-Control: no-store``."""
    router = APIRouter()

    @router.post(path, name="attestation_challenge")
    async def challenge_endpoint() -> JSONResponse:
        return JSONResponse({"attestation_challenge": challenges.issue(clock.now())}, headers=dict(NO_STORE))

    return router


def attestation_metadata(
    policy: AttestationPolicy,
    *,
    challenge_endpoint: str | None = None,
    pop_methods: Sequence[str] = (ATTESTATION_POP_JWT, DPOP_COMBINED),
    require_attestation: bool = False,
) -> dict[str, Any]:
    """Metadata members (§8, §7.6) for RFC 8414 AS metadata or RFC 9728 resource metadata.

    ``client_attestation_pop_methods_supported`` lists the accepted PoP methods; unless ``require_attestation``,
    it also lists ``none`` (§7.6: the client MAY then omit the attestation). The AS adds
    :data:`ATTESTATION_AUTH_METHODS` to ``token_endpoint_auth_methods_supported`` itself (§8).
    """
    methods = [m for m in supported_pop_methods(pop_methods) if m != "none"]
    if not methods:
        raise ConfigurationError("at least one proof-of-possession method is needed")
    document: dict[str, Any] = {
        "client_attestation_signing_alg_values_supported": list(policy.attestation_algorithms),
        "client_attestation_pop_signing_alg_values_supported": list(policy.pop_algorithms),
        "client_attestation_pop_methods_supported": methods if require_attestation else [*methods, "none"],
    }
    if challenge_endpoint is not None:
        document["challenge_endpoint"] = challenge_endpoint
    return document
