"""The user's part of an authorization, driven headlessly (for the demo, tests and unattended agents).

The AS login and consent pages are plain HTML forms with documented field names (DESIGN §6): login posts
``interaction``, ``csrf``, ``username``, ``password``; consent posts ``interaction``, ``csrf`` and
``decision=approve``. :class:`HeadlessBrowser` follows the AS's redirects on the AS's own origin only, fills the
forms, and returns the final redirect to the client's ``redirect_uri`` without following it.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

from hardened.errors import AccessDenied, InvalidRequest

__all__ = ["HeadlessBrowser", "parse_forms"]

MAX_PAGE = 65_536
MAX_STEPS = 8


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}, "buttons": []})
        elif self.forms and tag == "input" and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")  # type: ignore[index]
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))  # type: ignore[union-attr]


def parse_forms(html: str) -> list[dict[str, object]]:
    """Every form: its ``action``, its named inputs with their values, its named buttons."""
    parser = _Forms()
    parser.feed(html[:MAX_PAGE])
    return parser.forms


class HeadlessBrowser:
    """Signs in as one user and approves consent; returns the redirect URL carrying ``code``, ``state``, ``iss``."""

    def __init__(self, username: str, password: str, *, approve: bool = True,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.username, self.password, self.approve, self._transport = username, password, approve, transport
        self.pages: list[str] = []  # titles of the pages seen (the demo shows them)

    async def __call__(self, authorization_url: str, redirect_uri: str) -> str:
        origin = urlsplit(authorization_url)[:2]
        async with httpx.AsyncClient(transport=self._transport, follow_redirects=False, timeout=10) as http:
            response = await http.get(authorization_url)
            for _ in range(MAX_STEPS):
                if response.status_code in (302, 303):
                    location = urljoin(str(response.url), response.headers.get("location", ""))
                    if location.startswith(redirect_uri):
                        return location
                    if urlsplit(location)[:2] != origin:
                        raise InvalidRequest("the authorization server redirected elsewhere")
                    response = await http.get(location)
                    continue
                response = await self._submit(http, response, origin)
        raise InvalidRequest("the authorization did not finish")

    async def _submit(self, http: httpx.AsyncClient, page: httpx.Response,
                      origin: tuple[str, str]) -> httpx.Response:
        forms = parse_forms(page.text) if len(page.content) <= MAX_PAGE else []
        if page.status_code >= 400 and not forms:
            raise InvalidRequest(f"the authorization server showed an error page ({page.status_code})")
        if not forms:
            raise InvalidRequest("the authorization server page has no form")
        form = forms[0]
        fields = dict(form["fields"])  # type: ignore[call-overload]
        if "username" in fields or "password" in fields:
            if page.status_code == 401:
                raise AccessDenied("the username or password was refused")
            self.pages.append("login")
            fields.update(username=self.username, password=self.password)
        elif ("decision", "approve") in form["buttons"]:  # type: ignore[operator]
            self.pages.append("consent")
            fields["decision"] = "approve" if self.approve else "deny"
        else:
            raise InvalidRequest("the authorization server page is not a login or consent form")
        action = urljoin(str(page.url), str(form["action"]))
        if urlsplit(action)[:2] != origin:  # the password goes to the authorization server's origin only
            raise InvalidRequest("the authorization server's form posts to another origin")
        return await http.post(action, data=fields)
