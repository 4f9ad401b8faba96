"""RFC 8414 §3 metadata and the JWKS (RFC 7517 §5) with every current and previous signing key."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from hardened.core.attestation import AttestationPolicy
from hardened.core.metadata import build_as_metadata
from hardened.server.context import context
from hardened.server.mtls import mtls_metadata
from hardened.web.attestation import attestation_metadata

CHALLENGE_PATH = "/attestation/challenge"

router = APIRouter()


@router.get("/.well-known/oauth-authorization-server")
async def metadata(request: Request) -> JSONResponse:
    """RFC 8414 §3.2: the metadata document, the same for every caller."""
    ctx = context(request)
    algs = ctx.dpop.policy.algorithms
    body = build_as_metadata(ctx.issuer, scopes=ctx.config.scopes, algorithms=algs,
                             baseline=ctx.config.policy.baseline_enabled)
    if ctx.config.attestation_verifiers:  # draft-ietf-oauth-attestation-based-client-auth §8, as §7.6 signal
        challenge = ctx.url(CHALLENGE_PATH) if ctx.config.attestation_challenges is not None else None
        body.update(attestation_metadata(AttestationPolicy(), challenge_endpoint=challenge))
    if ctx.config.mtls is not None:  # RFC 8705 §2.1.1, §3.3, §5
        body.update(mtls_metadata(ctx.issuer, ctx.config.mtls, body))
    return JSONResponse(body, headers={"Cache-Control": "max-age=300"})


@router.get("/jwks")
async def jwks(request: Request) -> JSONResponse:
    """RFC 7517 §5: public keys only; the first signs, the rest verify what they signed before rotation."""
    return JSONResponse(context(request).public_keys.to_jwks(), headers={"Cache-Control": "max-age=300"})
