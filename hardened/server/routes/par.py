"""Pushed authorization requests (RFC 9126 §2): authenticated, checked by ``verify_par_request``, stored single use."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from hardened.core.par import issue_request_uri, verify_par_request
from hardened.errors import InvalidClient
from hardened.ports.as_stores import PushedRequest
from hardened.server.attested import attest
from hardened.server.client_auth import authenticate_client
from hardened.server.context import context
from hardened.server.forms import read_form
from hardened.web.errors import NO_STORE

router = APIRouter()


@router.post("/par")
async def pushed_authorization_request(request: Request) -> JSONResponse:
    """RFC 9126 §2.1-2.2, in order: client authentication, DPoP proof (RFC 9449 §10.1), parameters, storage."""
    form = await read_form(request)
    return await run_in_threadpool(_push, request, form)  # SQLite writes off the event loop


def _push(request: Request, form: dict[str, str]) -> JSONResponse:
    ctx = context(request)
    client = authenticate_client(ctx, form, request=request)
    if client.metadata is None:
        raise InvalidClient("this client cannot make authorization requests")
    proof = ctx.dpop.check_token_request(request)
    verified = verify_par_request(
        form, client_id=client.client_id, client=client.metadata, resources=ctx.config.resources,
        scopes=ctx.config.scopes, proof_jkt=proof.jkt if proof is not None else None,
    )
    attested = attest(ctx, request, client, proof)
    if attested is not None:
        verified = replace(verified, attested_jkt=attested.instance_jkt)
    request_uri = issue_request_uri()
    expires_in = ctx.config.par.expires_in
    ctx.store.put_request(PushedRequest(request_uri, verified, expires_at=ctx.now() + expires_in))
    return JSONResponse({"request_uri": request_uri, "expires_in": expires_in}, status_code=201,
                        headers=dict(NO_STORE))
