"""Introspection (RFC 7662) for authenticated resource servers, answered as RFC 9701 signed JWT on request.

A resource server learns only about access tokens of its own audience; anything else is ``{"active": false}``.
With ``Accept: application/token-introspection+jwt`` the answer is a ``token-introspection+jwt`` (RFC 9701 §4-5)
signed by the AS: the phantom token the MCP server consumes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from hardened.core.access_token import build_introspection_jwt, introspection_object, token_hash
from hardened.errors import InvalidClient, InvalidRequest
from hardened.server.client_auth import authenticate_client
from hardened.server.context import context
from hardened.server.forms import read_form
from hardened.web.errors import NO_STORE

router = APIRouter()
JWT_MEDIA_TYPE = "application/token-introspection+jwt"


@router.post("/introspect")
async def introspect(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_introspect, request, form)  # SQLite writes (assertion jti) off the loop


def _introspect(request: Request, form: dict[str, str]) -> Response:
    ctx = context(request)
    client = authenticate_client(ctx, form, allow_public=False, request=request)
    rs = client.resource_server
    if rs is None:
        raise InvalidClient("only resource servers may introspect tokens")
    presented = form.get("token")
    if presented is None:
        raise InvalidRequest("token is required")
    now = ctx.now()
    record = ctx.store.get_token(token_hash(presented)) if len(presented) <= 128 else None
    obj = introspection_object(record, issuer=ctx.issuer, audience=rs.audience, now=now)
    if JWT_MEDIA_TYPE in request.headers.get("accept", ""):
        jwt = build_introspection_jwt(obj, key=ctx.signing_key, issuer=ctx.issuer, audience=rs.client_id, now=now)
        return Response(jwt, media_type=JWT_MEDIA_TYPE, headers=dict(NO_STORE))
    return JSONResponse(obj, headers=dict(NO_STORE))
