"""Login and consent (hardened DESIGN §6): plain forms, CSRF token plus browser-binding cookie (RFC 9700 §4.7).

Each step checks, in constant time, that the interaction exists and is unexpired, that the browser holds the
cookie set at ``/authorize`` and that the form carries the interaction's CSRF token. Consent spends the
interaction once and answers the client by 303 with ``code`` or ``access_denied``, ``state`` and ``iss``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from hardened.core.access_token import token_hash
from hardened.errors import AccessDenied, InvalidRequest, OAuthError
from hardened.ports.as_stores import AuthorizationCode, Interaction
from hardened.server.context import ASContext, context
from hardened.server.forms import query_params, read_form
from hardened.server.pages import consent_page, error_page, login_page
from hardened.server.passwords import check_password
from hardened.server.responses import RedirectableError, authorization_redirect, error_redirect, origin_of
from hardened.server.routes.authorize import cookie_name
from hardened.web.errors import NO_STORE

router = APIRouter()
MAX_LOGIN_FAILURES = 5
#: NIST SP 800-63B §5.2.2: failed sign-ins per account are limited (at most 100); across interactions, a window
#: of 15 minutes starting at the first failure. Unknown usernames count alike, so nothing tells who exists.
MAX_ACCOUNT_FAILURES = 20
ACCOUNT_WINDOW = 900.0


def _interaction(ctx: ASContext, request: Request, values: dict[str, str], *, form: bool) -> Interaction:
    found = ctx.store.get_interaction(values.get("interaction", "")[:64], ctx.now())
    if found is None:
        raise InvalidRequest("the sign-in has expired or is unknown; start again")
    cookie = request.cookies.get(cookie_name(ctx, found.interaction_id), "")
    browser_ok = hmac.compare_digest(hashlib.sha256(cookie.encode()).hexdigest(), found.browser_hash)
    csrf_ok = not form or hmac.compare_digest(values.get("csrf", "").encode(), found.csrf.encode())
    if not (browser_ok and csrf_ok):
        raise InvalidRequest("the form is not from this browser's sign-in (CSRF check failed)")
    return found


def _page_error(err: OAuthError) -> Response:
    return error_page(err.error, err.description, 403 if "CSRF" in err.description else 400)


@router.get("/login")
async def login_form(request: Request) -> Response:
    ctx = context(request)
    try:
        found = _interaction(ctx, request, query_params(request), form=False)
    except OAuthError as err:
        return _page_error(err)
    return login_page(found.interaction_id, found.csrf)


@router.post("/login")
async def login(request: Request) -> Response:
    ctx = context(request)
    try:
        values = await read_form(request)
        found = _interaction(ctx, request, values, form=True)
    except OAuthError as err:
        return _page_error(err)
    username = values.get("username", "")[:128]
    account = token_hash("login\x00" + username)
    if ctx.store.account_failures(account, ctx.now()) >= MAX_ACCOUNT_FAILURES:
        return error_page("access_denied", "too many failed sign-in attempts for this account; try later", 429)
    user = ctx.store.get_user(username)
    # scrypt is deliberately slow: off the event loop, so a burst of sign-ins does not stall every other request
    valid = await check_password(values.get("password", ""), user.password_hash if user else None)
    if not valid or user is None:
        ctx.store.record_account_failure(account, ctx.now(), ACCOUNT_WINDOW)
        # a few guesses per authorization request, then the whole request is void (the client starts again)
        if ctx.store.count_login_failure(found.interaction_id) >= MAX_LOGIN_FAILURES:
            ctx.store.take_interaction(found.interaction_id, ctx.now())
            return error_page("access_denied", "too many failed sign-in attempts; start again", 403)
        return login_page(found.interaction_id, found.csrf, failed=True)
    ctx.store.clear_account_failures(account)
    ctx.store.set_interaction_subject(found.interaction_id, user.subject, user.claims())
    return RedirectResponse(f"/consent?interaction={found.interaction_id}", status_code=303, headers=dict(NO_STORE))


@router.get("/consent")
async def consent_form(request: Request) -> Response:
    ctx = context(request)
    try:
        found = _interaction(ctx, request, query_params(request), form=False)
        record = ctx.store.get_client(found.request.client_id)
        if found.subject is None or record is None:
            raise InvalidRequest("sign in first")
    except OAuthError as err:
        return _page_error(err)
    return consent_page(found.interaction_id, found.csrf, client=record.metadata, scopes=found.request.scopes,
                        resource=found.request.resource, descriptions=ctx.config.scope_descriptions,
                        form_action=origin_of(found.request.redirect_uri))


def _issue_code(ctx: ASContext, found: Interaction) -> str:
    code = secrets.token_urlsafe(32)
    assert found.subject is not None
    ctx.store.put_code(AuthorizationCode(
        code_hash=token_hash(code), grant_id=secrets.token_urlsafe(16), request=found.request,
        subject=found.subject, claims=dict(found.claims), expires_at=ctx.now() + ctx.config.code_lifetime))
    ctx.store.put_consent(found.subject, found.request.client_id, found.request.scopes)
    return code


@router.post("/consent")
async def consent(request: Request) -> Response:
    ctx = context(request)
    try:
        values = await read_form(request)
        found = _interaction(ctx, request, values, form=True)
        if found.subject is None or values.get("decision") not in ("approve", "deny"):
            raise InvalidRequest("sign in first, then approve or deny")
        if ctx.store.take_interaction(found.interaction_id, ctx.now()) is None:
            raise InvalidRequest("this consent has already been answered")
    except OAuthError as err:
        return _page_error(err)
    req = found.request
    if values["decision"] == "deny":
        denied = RedirectableError(AccessDenied("the user denied access"), req.redirect_uri, req.state)
        return error_redirect(denied, issuer=ctx.issuer)
    return authorization_redirect(req.redirect_uri, {"code": _issue_code(ctx, found)}, issuer=ctx.issuer,
                                  state=req.state)
