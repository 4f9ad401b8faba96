"""Revocation (RFC 7009 §2): a client revokes its own tokens; revoking a refresh token revokes its grant."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from hardened.core.access_token import token_hash
from hardened.errors import InvalidRequest, UnsupportedTokenType
from hardened.server.client_auth import authenticate_client
from hardened.server.context import context
from hardened.server.forms import read_form
from hardened.web.errors import NO_STORE

router = APIRouter()
HINTS = ("access_token", "refresh_token")


@router.post("/revoke")
async def revoke(request: Request) -> Response:
    """RFC 7009 §2.2: 200 whether or not the token was known; never reveal another client's tokens."""
    form = await read_form(request)
    return await run_in_threadpool(_revoke, request, form)  # SQLite writes (assertion jti, tokens) off the loop


def _revoke(request: Request, form: dict[str, str]) -> Response:
    ctx = context(request)
    client = authenticate_client(ctx, form, request=request)
    presented = form.get("token")
    if presented is None:
        raise InvalidRequest("token is required")
    if form.get("token_type_hint", "access_token") not in HINTS:
        raise UnsupportedTokenType("token_type_hint must be access_token or refresh_token")
    record = ctx.store.get_token(token_hash(presented)) if len(presented) <= 128 else None
    if record is not None and hmac.compare_digest(record.client_id, client.client_id):
        if record.kind == "refresh":
            ctx.store.revoke_grant(record.grant_id)  # RFC 7009 §2.1: and the access tokens of that grant
        else:
            ctx.store.revoke_token(record.token_hash)
    return Response(status_code=200, headers=dict(NO_STORE))
