"""The authorization endpoint (RFC 6749 §3.1, §4.1.1; RFC 9126 §4; FAPI 2.0 SP §5.3.2.2).

1. Hardened clients (and any request with ``request_uri``) send only ``client_id`` and ``request_uri``; the
   request URI is spent here, once, by the client it was pushed for.
2. Baseline (public) clients may send the parameters in the query; the redirect URI is checked first, exactly.
3. Errors before a redirect URI is verified are shown as a page, never redirected (RFC 6749 §4.1.2.1); later
   errors go back with ``iss`` and ``state`` by 303.
4. A login/consent interaction starts: a random interaction id, a CSRF token, and a browser-binding cookie.
"""

from __future__ import annotations

import hashlib
import secrets

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from hardened.core.par import VerifiedPARRequest, verify_par_request
from hardened.errors import InvalidRequest, InvalidRequestURI, OAuthError, UnauthorizedClient
from hardened.ports.as_stores import ClientRecord, Interaction
from hardened.server.context import ASContext, context
from hardened.server.forms import query_params
from hardened.server.pages import error_page
from hardened.server.responses import RedirectableError, error_redirect
from hardened.web.errors import NO_STORE

router = APIRouter()
COOKIE_PREFIX = "hardened_ix_"


def cookie_name(ctx: ASContext, interaction_id: str) -> str:
    """The browser-binding cookie of one interaction; over https a ``__Host-`` cookie (RFC 6265bis §4.1.3.2:
    Secure, Path=/, no Domain), so a sibling subdomain cannot plant or overwrite it (RFC 9700 §4.7)."""
    return ("__Host-" if ctx.config.secure_cookies else "") + COOKIE_PREFIX + interaction_id[:16]


def _allowed_client(ctx: ASContext, client_id: str) -> ClientRecord:
    """The client still exists, and a baseline client only while the deployment offers the baseline tier (DESIGN
    §2: "hardened only" switches it off entirely, for clients registered before the switch too)."""
    record = ctx.store.get_client(client_id)
    if record is None:
        raise InvalidRequest("client_id is missing or unknown")
    if record.metadata.tier == "baseline" and not ctx.config.policy.baseline_enabled:
        raise UnauthorizedClient("the baseline tier is not offered by this server")
    return record


def _pushed(ctx: ASContext, params: dict[str, str]) -> VerifiedPARRequest:
    if set(params) - {"client_id", "request_uri"}:
        raise InvalidRequest("with request_uri only client_id may be sent (FAPI 2.0)")
    client_id = params.get("client_id")
    if client_id is None:
        raise InvalidRequest("client_id is required")
    pushed = ctx.store.take_request(params["request_uri"], client_id, ctx.now())
    if pushed is None:
        raise InvalidRequestURI("request_uri is unknown, expired, used or not this client's")
    _allowed_client(ctx, client_id)
    return pushed


def _front_channel(ctx: ASContext, params: dict[str, str]) -> VerifiedPARRequest:
    record = _allowed_client(ctx, params.get("client_id") or "")
    if record.metadata.tier != "baseline":
        raise UnauthorizedClient("this client must use pushed authorization requests")
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None or redirect_uri not in record.metadata.redirect_uris:
        raise InvalidRequest("redirect_uri is missing or not registered")
    try:
        return verify_par_request(params, client_id=record.client_id, client=record.metadata,
                                  resources=ctx.config.resources, scopes=ctx.config.scopes)
    except OAuthError as err:
        state = params.get("state")
        raise RedirectableError(err, redirect_uri, state if state and len(state) <= 512 else None) from None


def _start_interaction(ctx: ASContext, verified: VerifiedPARRequest) -> Response:
    # housekeeping at a human pace: unauthenticated callers (baseline PAR, front channel) must not fill the store
    ctx.store.purge_expired(ctx.now())
    interaction_id, browser = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    ctx.store.put_interaction(Interaction(
        interaction_id=interaction_id, request=verified, browser_hash=hashlib.sha256(browser.encode()).hexdigest(),
        csrf=secrets.token_urlsafe(32), expires_at=ctx.now() + ctx.config.interaction_lifetime))
    response = RedirectResponse(f"/login?interaction={interaction_id}", status_code=303, headers=dict(NO_STORE))
    response.set_cookie(cookie_name(ctx, interaction_id), browser, max_age=int(ctx.config.interaction_lifetime),
                        path="/", secure=ctx.config.secure_cookies, httponly=True, samesite="lax")
    return response


@router.get("/authorize")
async def authorize(request: Request) -> Response:
    """The request URI is spent, the interaction stored, expired records purged: SQLite writes, off the loop."""
    return await run_in_threadpool(_authorize, context(request), request)


def _authorize(ctx: ASContext, request: Request) -> Response:
    try:
        params = query_params(request)
        verified = _pushed(ctx, params) if "request_uri" in params else _front_channel(ctx, params)
    except RedirectableError as exc:
        return error_redirect(exc, issuer=ctx.issuer)
    except OAuthError as err:
        return error_page(err.error, err.description)
    return _start_interaction(ctx, verified)
