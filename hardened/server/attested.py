"""The attested tier at the AS (DESIGN §2; draft-ietf-oauth-attestation-based-client-auth §7, §7.6, §9.3).

Client attestation is an additional signal beside ``private_key_jwt``: an attested client presents, at PAR and at
the token endpoint (including refresh), an ``OAuth-Client-Attestation`` for its ``client_id`` with a proof of
possession (PoP header, or DPoP combined mode). The verified instance key thumbprint is recorded with the pushed
request, the code and the tokens; every later step must present the same instance.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from hardened.core.dpop import VerifiedDPoPProof
from hardened.errors import InvalidClientAttestation, InvalidGrant, OAuthError
from hardened.ports.attestation import AttestationResult, run_attestation_verifiers
from hardened.server.client_auth import AuthenticatedClient
from hardened.server.context import ASContext
from hardened.web.attestation import POP_HEADER, attestation_evidence, with_challenge

__all__ = ["attest", "check_instance"]


def attest(ctx: ASContext, request: Request, client: AuthenticatedClient,
           proof: VerifiedDPoPProof | None) -> AttestationResult | None:
    """The verified attestation of an attested client's request (None for other tiers); ABCA §7 mode choice."""
    if client.metadata is None or client.metadata.tier != "attested":
        return None
    verifiers = ctx.config.attestation_verifiers
    if not verifiers:
        raise InvalidClientAttestation("client attestation is not configured at this server")
    now = ctx.now()
    combined = proof is not None and POP_HEADER.lower() not in request.headers
    try:
        evidence = attestation_evidence(request, audience=ctx.issuer, client_id=client.client_id,
                                        dpop_jkt=proof.jkt if combined and proof else None,
                                        dpop_nonce=proof.nonce if combined and proof else None)
        return run_attestation_verifiers(verifiers, evidence, now=now)
    except OAuthError as err:
        raise with_challenge(err, ctx.config.attestation_challenges, now) from None


def check_instance(bound: str | None, attested: AttestationResult | None) -> None:
    """ABCA §9.3: a code or refresh token bound to an attested instance is used only by that instance."""
    if bound is None:
        return
    if attested is None or not hmac.compare_digest(bound, attested.instance_jkt):
        raise InvalidGrant("the grant is bound to another attested client instance")
