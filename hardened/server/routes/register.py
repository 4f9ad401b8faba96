"""Dynamic client registration (RFC 7591 §3) and management (RFC 7592 §2) under ``dcr_policy``.

The registration access token (RFC 7592 §3) is 256 random bits, returned once and stored only as SHA-256; it is
presented as ``Authorization: Bearer`` and compared in constant time. A wrong token and an unknown client get the
same ``401 invalid_token`` (RFC 7592 §2.1).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from hardened.core.access_token import token_hash
from hardened.core.dcr_policy import ClientMetadata, StatementFacts, verify_registration_request
from hardened.errors import InvalidClientMetadata, InvalidSoftwareStatement, InvalidToken
from hardened.ports.as_stores import ClientRecord
from hardened.server.context import ASContext, context
from hardened.server.forms import read_json_object
from hardened.web.errors import NO_STORE

router = APIRouter()


def _statement(ctx: ASContext, body: dict[str, Any]) -> StatementFacts | None:
    jwt = body.get("software_statement")
    if jwt is None:
        return None
    if not isinstance(jwt, str):
        raise InvalidSoftwareStatement("software_statement must be a JWT string")
    if ctx.config.statement_verifier is None:
        raise InvalidSoftwareStatement("no trusted software statement authority is configured")
    return ctx.config.statement_verifier(jwt, ctx.now())


def _response(ctx: ASContext, record: ClientRecord, registration_token: str | None, status: int) -> JSONResponse:
    body = {"client_id": record.client_id, "client_id_issued_at": int(record.issued_at),
            "registration_client_uri": ctx.url(f"/register/{record.client_id}"), **record.metadata.to_json()}
    if registration_token is not None:
        body["registration_access_token"] = registration_token
    return JSONResponse(body, status_code=status, headers=dict(NO_STORE))


def _spent_jti(ctx: ASContext, facts: StatementFacts | None) -> str | None:
    if facts is None or ctx.config.policy.statement_reuse:
        return None
    return f"{facts.issuer}\x00{facts.jti}"


@router.post("/register")
async def register(request: Request) -> JSONResponse:
    """RFC 7591 §3.1-3.2: verify the statement, apply policy, spend the statement ``jti`` with the new client.

    The statement's status may be fetched over HTTP and the record is a SQLite write: both off the event loop."""
    body = await read_json_object(request)
    return await run_in_threadpool(_register, context(request), body)


def _register(ctx: ASContext, body: dict[str, Any]) -> JSONResponse:
    facts = _statement(ctx, body)
    metadata = verify_registration_request(body, statement=facts, policy=ctx.config.policy)
    registration_token = secrets.token_urlsafe(32)
    record = ClientRecord(client_id=secrets.token_urlsafe(16), metadata=metadata,
                          registration_token_hash=token_hash(registration_token), issued_at=ctx.now())
    if not ctx.store.add_client(record, statement_jti=_spent_jti(ctx, facts),
                                statement_exp=facts.exp if facts else 0.0):
        raise InvalidSoftwareStatement("this software statement has already been used to register")
    return _response(ctx, record, registration_token, 201)


def _managed(request: Request, client_id: str) -> tuple[ASContext, ClientRecord]:
    """RFC 7592 §3: the registration access token authorizes management of its one client."""
    ctx = context(request)
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    record = ctx.store.get_client(client_id) if len(client_id) <= 64 else None
    expected = record.registration_token_hash if record is not None else "0" * 64
    ok = scheme.lower() == "bearer" and 0 < len(presented) <= 256
    ok = hmac.compare_digest(token_hash(presented), expected) and ok
    if record is None or not ok:
        raise InvalidToken("the registration access token is not valid for this client",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return ctx, record


@router.get("/register/{client_id}")
async def read_client(request: Request, client_id: str) -> JSONResponse:
    """RFC 7592 §2.1."""
    ctx, record = _managed(request, client_id)
    return _response(ctx, record, None, 200)


def _updated(ctx: ASContext, record: ClientRecord,
             body: dict[str, Any]) -> tuple[ClientMetadata, StatementFacts | None]:
    if body.get("client_id") != record.client_id:
        raise InvalidClientMetadata("client_id must be the registered client's")
    for name in ("registration_access_token", "registration_client_uri", "client_secret"):
        if name in body:
            raise InvalidClientMetadata(f"{name} must not be sent (RFC 7592 §2.2)")
    facts = _statement(ctx, body)
    if record.metadata.tier != "baseline" and facts is None:
        raise InvalidSoftwareStatement("a fresh software statement is required to update this client")
    if record.metadata.tier == "baseline" and facts is not None:
        raise InvalidClientMetadata("a public client cannot change tier; register anew")
    # the software is named by its authority: another trusted authority's statement for the same software_id
    # does not speak for this client (RFC 7591 §2.3: the statement's issuer vouches for its values)
    if facts is not None and (facts.software_id != record.metadata.software_id
                              or facts.issuer != record.metadata.authority):
        raise InvalidClientMetadata("the software statement is for other software or from another authority")
    rest = {k: v for k, v in body.items() if k != "client_id"}
    return verify_registration_request(rest, statement=facts, policy=ctx.config.policy), facts


@router.put("/register/{client_id}")
async def update_client(request: Request, client_id: str) -> JSONResponse:
    """RFC 7592 §2.2: the whole metadata again; the hardened tier needs a fresh, unspent statement."""
    ctx, record = _managed(request, client_id)
    body = await read_json_object(request)
    return await run_in_threadpool(_update, ctx, record, body)


def _update(ctx: ASContext, record: ClientRecord, body: dict[str, Any]) -> JSONResponse:
    metadata, facts = _updated(ctx, record, body)
    registration_token = secrets.token_urlsafe(32)
    new = ClientRecord(client_id=record.client_id, metadata=metadata,
                       registration_token_hash=token_hash(registration_token), issued_at=record.issued_at)
    if not ctx.store.replace_client(new, statement_jti=_spent_jti(ctx, facts),
                                    statement_exp=facts.exp if facts else 0.0):
        raise InvalidSoftwareStatement("this software statement has already been used")
    return _response(ctx, new, registration_token, 200)


@router.delete("/register/{client_id}")
async def delete_client(request: Request, client_id: str) -> Response:
    """RFC 7592 §2.3: the client goes, with its grants, codes, consents and tokens."""
    ctx, record = _managed(request, client_id)
    await run_in_threadpool(ctx.store.delete_client, record.client_id)
    return Response(status_code=204, headers=dict(NO_STORE))
