"""Rendering OAuth errors at the edges (DESIGN §4).

- At an authorization server: an RFC 6749 §5.2 JSON body with ``Cache-Control: no-store``.
- At a resource server: RFC 6750 §3 / RFC 9449 §7.1 ``WWW-Authenticate`` challenges, one header per scheme,
  with ``resource_metadata`` (RFC 9728 §5.1) where the server has it.

``install_error_handlers`` makes sure no request ever sees a traceback: validation failures become
``invalid_request`` and anything unexpected becomes a bare ``server_error`` (details go to the log only).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from hardened.errors import InvalidRequest, OAuthError, ServerError

__all__ = [
    "NO_STORE",
    "challenge",
    "install_error_handlers",
    "oauth_error_response",
    "resource_error_response",
]

log = logging.getLogger("hardened.web")

#: RFC 6749 §5.1 / RFC 9126 §2.2: responses carrying or about credentials are never cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _quote(value: str) -> str:
    """RFC 9110 §5.6.4 quoted-string; our values are already limited to printable ASCII without '"' and '\\'."""
    return '"' + value.replace("\\", "").replace('"', "") + '"'


def challenge(scheme: str, params: Mapping[str, str | None]) -> str:
    """One ``WWW-Authenticate`` challenge: ``scheme`` followed by its auth-params, ``None`` values left out."""
    rendered = ", ".join(f"{k}={_quote(v)}" for k, v in params.items() if v is not None)
    return f"{scheme} {rendered}" if rendered else scheme


def oauth_error_response(err: OAuthError, *, status_code: int | None = None) -> JSONResponse:
    """RFC 6749 §5.2 error body at an authorization server; ``detail`` is logged, never sent."""
    if err.detail:
        log.info("oauth error %s: %s", err.error, err.detail)
    headers = {**NO_STORE, **err.headers}
    if err.error == "invalid_client" and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = challenge("Basic", {"realm": "token"})  # RFC 6749 §5.2 invalid_client
    return JSONResponse(err.to_json(), status_code=status_code or err.status_code, headers=headers)


def resource_error_response(
    err: OAuthError | None,
    *,
    schemes: Iterable[str],
    resource_metadata: str | None = None,
    scope: str | None = None,
    algs: str | None = None,
    status_code: int | None = None,
) -> Response:
    """A 401/403 from a resource server with one challenge per accepted scheme (RFC 6750 §3, RFC 9449 §7.1).

    With ``err`` None the request carried no credentials: RFC 6750 §3.1 says the challenge then has no
    ``error``. ``algs`` goes only on the DPoP challenge.
    """
    # RFC 6750 §3.1 / RFC 9449 §7.1: invalid_request 400, insufficient_scope 403, every other challenge 401
    # (invalid_token, invalid_dpop_proof, use_dpop_nonce, and no credentials at all).
    status = status_code or {"invalid_request": 400, "insufficient_scope": 403}.get(err.error if err else "", 401)
    response = Response(status_code=status, headers=dict(NO_STORE))
    if err is not None and err.detail:
        log.info("resource error %s: %s", err.error, err.detail)
    for scheme in schemes:
        params: dict[str, str | None] = {
            "error": err.error if err is not None else None,
            "error_description": (err.description or None) if err is not None else None,
            "scope": scope,
            "resource_metadata": resource_metadata,
            "algs": algs if scheme.lower() == "dpop" else None,
        }
        response.headers.append("WWW-Authenticate", challenge(scheme, params))
    if err is not None:
        for name, value in err.headers.items():
            if name.lower() != "www-authenticate":
                response.headers[name] = value
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Render our errors as OAuth JSON and make sure nothing else leaks a traceback or a 500 with details."""

    async def on_oauth(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, OAuthError)
        return oauth_error_response(exc)

    async def on_validation(_: Request, exc: Exception) -> Response:
        return oauth_error_response(InvalidRequest("the request is malformed", detail=type(exc).__name__))

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code >= 500:
            return oauth_error_response(ServerError())
        body = {"error": "invalid_request"}
        if exc.status_code == 404:
            body = {"error": "not_found"}
        elif exc.status_code == 405:
            body = {"error": "method_not_allowed"}
        return JSONResponse(body, status_code=exc.status_code, headers={**NO_STORE, **(exc.headers or {})})

    async def on_anything(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return oauth_error_response(ServerError())

    app.add_exception_handler(OAuthError, on_oauth)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_anything)
