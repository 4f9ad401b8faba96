"""The login, consent and error pages: plain HTML forms with documented field names (DESIGN §6).

Login form (``POST /login``): ``interaction``, ``csrf``, ``username``, ``password``.
Consent form (``POST /consent``): ``interaction``, ``csrf``, ``decision`` = ``approve`` | ``deny``.
Every value is HTML-escaped; no script, no style, no external resource (CSP ``default-src 'none'``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from starlette.responses import HTMLResponse

from hardened.core.dcr_policy import ClientMetadata
from hardened.web.errors import NO_STORE

__all__ = ["consent_page", "error_page", "login_page"]


def _page(title: str, body: str, status: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body><h1>{escape(title)}</h1>{body}</body></html>")
    return HTMLResponse(html, status_code=status, headers={**NO_STORE, **(headers or {})})


def _hidden(interaction: str, csrf: str) -> str:
    return (f'<input type="hidden" name="interaction" value="{escape(interaction)}">'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">')


def login_page(interaction: str, csrf: str, *, failed: bool = False) -> HTMLResponse:
    note = '<p role="alert">The username or password is wrong.</p>' if failed else ""
    form = (f'{note}<form method="post" action="/login">{_hidden(interaction, csrf)}'
            '<label>Username <input name="username" autocomplete="username" required></label>'
            '<label>Password <input name="password" type="password" autocomplete="current-password" required>'
            '</label><button type="submit">Sign in</button></form>')
    return _page("Sign in", form, status=401 if failed else 200)


def consent_page(interaction: str, csrf: str, *, client: ClientMetadata, scopes: Sequence[str], resource: str,
                 descriptions: Mapping[str, str], form_action: str) -> HTMLResponse:
    """The agent's verified identity (software, organisation, authority, tier) and each scope, then the choice."""
    identity = (f"<dl><dt>Software</dt><dd>{escape(client.client_name)}</dd>"
                f"<dt>Software id</dt><dd>{escape(client.software_id or 'none (unverified)')}</dd>"
                f"<dt>Organisation</dt><dd>{escape(client.org_name or 'unverified')}</dd>"
                f"<dt>Authority</dt><dd>{escape(client.authority or 'none')}</dd>"
                f"<dt>Tier</dt><dd>{escape(client.tier)}</dd>"
                f"<dt>Resource</dt><dd>{escape(resource)}</dd>"
                # RFC 6749 §10.2: an unverified (baseline) client's name proves nothing; where it returns does
                f"<dt>Returns to</dt><dd>{escape(form_action)}</dd></dl>")
    items = "".join(f"<li><code>{escape(s)}</code> {escape(descriptions.get(s, ''))}</li>" for s in scopes)
    form = (f'<form method="post" action="/consent">{_hidden(interaction, csrf)}'
            '<button type="submit" name="decision" value="approve">Allow</button>'
            '<button type="submit" name="decision" value="deny">Deny</button></form>')
    csp = f"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' {form_action}"
    return _page("Allow access?", f"{identity}<h2>Scopes</h2><ul>{items}</ul>{form}",
                 headers={"Content-Security-Policy": csp})


def error_page(error: str, description: str, status: int = 400) -> HTMLResponse:
    """An error the AS cannot send to a redirect URI it has not verified (RFC 6749 §4.1.2.1)."""
    return _page("Authorization error", f"<p><code>{escape(error)}</code></p><p>{escape(description)}</p>", status)
