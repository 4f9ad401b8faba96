"""The token endpoint (RFC 6749 §3.2): client authentication, the DPoP proof, then one grant; ``no-store``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from hardened.core.token_exchange import TOKEN_EXCHANGE
from hardened.errors import UnsupportedGrantType
from hardened.server.attested import attest
from hardened.server.client_auth import authenticate_client
from hardened.server.context import context
from hardened.server.exchange import token_exchange_grant
from hardened.server.forms import read_form
from hardened.server.grants import authorization_code_grant, refresh_token_grant
from hardened.web.errors import NO_STORE

router = APIRouter()
GRANTS = {
    "authorization_code": authorization_code_grant,
    "refresh_token": refresh_token_grant,
    TOKEN_EXCHANGE: token_exchange_grant,
}


@router.post("/token")
async def token(request: Request) -> JSONResponse:
    """RFC 6749 §5.1 success or §5.2 error; RFC 9449 §5: DPoP-bound tokens answer ``token_type: DPoP``."""
    context(request)
    form = await read_form(request)
    grant = GRANTS.get(form.get("grant_type", ""))
    if grant is None:
        raise UnsupportedGrantType("grant_type is missing or not supported")
    # The checks write to SQLite (replay cache, code, tokens): off the event loop, so one request's commit
    # does not stall the others.
    return JSONResponse(await run_in_threadpool(_grant, request, form, grant), headers=dict(NO_STORE))


def _grant(request: Request, form: Mapping[str, str], grant: Any) -> dict[str, Any]:
    ctx = context(request)
    client = authenticate_client(ctx, form, request=request)
    proof = ctx.dpop.check_token_request(request)
    attested = attest(ctx, request, client, proof) if grant is not token_exchange_grant else None
    return grant(ctx, form, client, proof, attested)
