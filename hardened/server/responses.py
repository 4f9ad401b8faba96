"""Authorization responses (RFC 6749 §4.1.2) to a verified redirect URI: 303 (FAPI 2.0 SP §5.3.2.2 item 15), with
``iss`` on every one, errors included (RFC 9207 §2), and ``state`` when the request had one."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.responses import RedirectResponse

from hardened.errors import OAuthError
from hardened.web.errors import NO_STORE

__all__ = ["RedirectableError", "authorization_redirect", "origin_of"]


class RedirectableError(Exception):
    """An OAuth error found after the redirect URI was verified: it goes back to the client."""

    def __init__(self, err: OAuthError, redirect_uri: str, state: str | None) -> None:
        super().__init__(err.error)
        self.err, self.redirect_uri, self.state = err, redirect_uri, state


def authorization_redirect(redirect_uri: str, params: dict[str, str], *, issuer: str,
                           state: str | None) -> RedirectResponse:
    values = {**params, **({"state": state} if state is not None else {}), "iss": issuer}
    parts = urlsplit(redirect_uri)
    query = "&".join(q for q in (parts.query, urlencode(values)) if q)
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=303, headers=dict(NO_STORE))


def error_redirect(exc: RedirectableError, *, issuer: str) -> RedirectResponse:
    params = {"error": exc.err.error}
    if exc.err.description:
        params["error_description"] = exc.err.description
    return authorization_redirect(exc.redirect_uri, params, issuer=issuer, state=exc.state)


def origin_of(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"
