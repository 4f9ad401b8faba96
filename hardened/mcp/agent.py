"""The hardened agent: from an MCP URL and its own credentials to DPoP-bound tool calls (DESIGN §1).

Every step is found from metadata, none is configured by hand:

1. a ``401`` from the MCP server names ``resource_metadata`` (RFC 9728 §5.1) -> the metadata's ``resource`` must
   be the MCP URL (§3.3) -> its AS's RFC 8414 metadata, whose ``issuer`` must be exactly the advertised one;
2. registration with the software statement (RFC 7591 §2.3), kept per issuer and reused;
3. PAR (RFC 9126) with PKCE S256 (RFC 7636), ``resource`` (RFC 8707) and a DPoP proof binding the code
   (RFC 9449 §10), authenticated with ``private_key_jwt`` (RFC 7523);
4. the user's part (``authorize``: a browser, or :class:`~hardened.mcp.browser.HeadlessBrowser`), then ``state``
   and ``iss`` checked (RFC 9207 §2.4);
5. the token request with ``private_key_jwt`` and DPoP; the token must be ``token_type: DPoP``;
6. MCP through the SDK transport with :class:`~hardened.mcp.agent_auth.AgentAuth`: proofs, nonce retries,
   refresh near expiry, step-up on ``403 insufficient_scope`` with the union of scopes (bounded).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from hardened.client.assertion import assertion_params
from hardened.client.dpop import DPoPAuth, challenges
from hardened.client.origin import credential_origin
from hardened.clock import Clock, SystemClock
from hardened.errors import ConfigurationError, InsufficientScope, InvalidGrant, InvalidRequest, OAuthError, error_class
from hardened.jose import SigningKey
from hardened.mcp.agent_attestation import AgentAttestation
from hardened.mcp.discovery import fetch_as_metadata, fetch_resource_metadata

__all__ = ["AgentCredentials", "HardenedAgent", "Registrations", "TokenSet"]

Authorize = Callable[[str, str], Awaitable[str]]  # (authorization URL, redirect_uri) -> redirect URL with the code
Step = Callable[[str, str], None]  # (step name, what happened) for the demo and logs; never a secret


@dataclass(frozen=True)
class AgentCredentials:
    """What an agent holds: its client-authentication key, its DPoP key, its statement and redirect URI."""

    assertion_key: SigningKey
    dpop_key: SigningKey
    software_statement: str
    redirect_uri: str


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    scopes: frozenset[str]
    expires_at: float
    refresh_token: str | None = None


class Registrations:
    """Client registrations per AS issuer (a statement is spent once per AS): in memory, or a JSON file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._data: dict[str, str] = json.loads(path.read_text()) if path and path.exists() else {}

    def get(self, issuer: str) -> str | None:
        return self._data.get(issuer)

    def put(self, issuer: str, client_id: str) -> None:
        self._data[issuer] = client_id
        if self.path is not None:
            self.path.write_text(json.dumps(self._data, indent=2))


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _error(response: httpx.Response, what: str) -> OAuthError:
    try:
        body = response.json()
    except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
        body = {}
    code = body.get("error") if isinstance(body, dict) else None
    description = body.get("error_description", "") if isinstance(body, dict) else ""
    cls = error_class(code) if isinstance(code, str) else InvalidRequest
    return cls(f"{what}: {code or response.status_code} {str(description)[:120]}".strip())


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """A success answer's JSON object (RFC 6749 §5.1, RFC 7591 §3.2.1), or our ``InvalidRequest`` for any other."""
    try:
        body = response.json()
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or deeply nested
        body = None
    if not isinstance(body, dict):
        raise InvalidRequest(f"{what}: the answer is not a JSON object")
    return body


class HardenedAgent:
    """One agent talking to one MCP server (its ``mcp_url``) on behalf of one user."""

    #: what the AS must register and issue (a subclass such as the mutual-TLS agent changes these)
    auth_methods: tuple[str, ...] = ("private_key_jwt",)
    token_type = "dpop"  # noqa: S105 - a token type name
    binding = "DPoP-bound"
    advertised = "PAR, DPoP and private_key_jwt advertised"
    par_note = "PKCE S256, resource, DPoP-bound code"

    def __init__(self, mcp_url: str, credentials: AgentCredentials, authorize: Authorize, *,
                 http: httpx.AsyncClient | None = None, clock: Clock | None = None,
                 registrations: Registrations | None = None, on_step: Step | None = None,
                 max_step_ups: int = 2, refresh_margin: float = 30.0,
                 attestation: AgentAttestation | None = None) -> None:
        self.mcp_url, self.credentials, self._authorize = mcp_url, credentials, authorize
        #: an attested instance: Client Attestation + PoP at PAR and every token request (ABCA §7, §9.3)
        self.attestation = attestation
        self.http = http or httpx.AsyncClient(timeout=15, follow_redirects=False)
        self.clock = clock or SystemClock()
        self.registrations = registrations or Registrations()
        self.on_step = on_step or (lambda name, detail: None)
        self.max_step_ups, self.refresh_margin = max_step_ups, refresh_margin
        self.resource_metadata: dict[str, Any] | None = None
        self.as_metadata: dict[str, Any] | None = None
        self.client_id: str | None = None
        self.tokens: TokenSet | None = None
        self.step_ups = 0

    # -- 1. discovery --------------------------------------------------------------------------------------------
    async def discover(self, www_authenticate: Iterable[str] = ()) -> None:
        """RFC 9728 then RFC 8414, from the challenge's ``resource_metadata`` (or the well-known default)."""
        url = next((p["resource_metadata"] for _, p in challenges(list(www_authenticate))
                    if "resource_metadata" in p), None)
        prm = await fetch_resource_metadata(self.http, self.mcp_url, url)
        issuer = prm["authorization_servers"][0]
        try:  # RFC 8414 §2: an https issuer (http only on loopback), before anything is sent to it
            credential_origin(issuer, "the authorization server")
        except ConfigurationError:
            raise InvalidRequest("protected resource metadata names an authorization server without TLS") from None
        self.on_step("discovery", f"protected resource metadata names {issuer}")
        meta = await fetch_as_metadata(self.http, issuer)
        for name in ("pushed_authorization_request_endpoint", "token_endpoint", "authorization_endpoint",
                     "registration_endpoint"):
            if not isinstance(meta.get(name), str) or urlsplit(meta[name])[:2] != urlsplit(issuer)[:2]:
                raise InvalidRequest(f"authorization server metadata lacks a usable {name}")
        self.resource_metadata, self.as_metadata = prm, meta
        self.on_step("metadata", f"issuer {issuer} matches exactly; {self.advertised}")

    @property
    def issuer(self) -> str:
        assert self.as_metadata is not None, "discover first"
        return self.as_metadata["issuer"]

    def _assertion(self) -> dict[str, str]:
        assert self.client_id is not None
        return assertion_params(self.credentials.assertion_key, self.client_id, self.issuer, now=self.clock.now())

    def _request_auth(self) -> httpx.Auth | None:
        """The proof-of-possession of AS requests: DPoP (RFC 9449)."""
        return DPoPAuth(self.credentials.dpop_key, clock=self.clock)

    async def _post(self, endpoint: str, form: dict[str, str], what: str) -> dict[str, Any]:
        """A form POST to the AS with ``private_key_jwt`` and a DPoP proof (nonce retry inside ``DPoPAuth``)."""
        assert self.as_metadata is not None
        if self.attestation is not None:  # ABCA §7: fresh assertion, PoP and DPoP proof on every try
            response = await self.attestation.post(
                self.http, self.as_metadata[endpoint], lambda: {**form, **self._assertion()},
                client_id=self.client_id or "", issuer=self.issuer, dpop_key=self.credentials.dpop_key,
                on_step=self.on_step)
        else:
            response = await self.http.post(self.as_metadata[endpoint], data={**form, **self._assertion()},
                                            auth=self._request_auth())
        if response.status_code not in (200, 201):
            raise _error(response, what)
        return _json_object(response, what)

    # -- 2. registration -----------------------------------------------------------------------------------------
    async def register(self) -> str:
        """RFC 7591 §3.1 with the software statement, once per issuer."""
        cached = self.registrations.get(self.issuer)
        if cached is not None:
            self.client_id = cached
            self.on_step("registration", f"reusing client {cached[:8]}... registered at {self.issuer}")
            return cached
        assert self.as_metadata is not None
        body = {"software_statement": self.credentials.software_statement,
                "redirect_uris": [self.credentials.redirect_uri]}
        response = await self.http.post(self.as_metadata["registration_endpoint"], json=body)
        if response.status_code != 201:
            raise _error(response, "registration refused")
        client = _json_object(response, "registration")
        if client.get("token_endpoint_auth_method") not in self.auth_methods or not client.get("client_id"):
            raise InvalidRequest(f"registration: the AS did not register a {self.auth_methods[0]} client")
        self.client_id = client["client_id"]
        self.registrations.put(self.issuer, self.client_id)
        self.on_step("registration", f"client {self.client_id[:8]}... tier {client.get('hardened_tier')}")
        return self.client_id

    # -- 3-5. authorization ----------------------------------------------------------------------------------------
    async def authorize(self, scopes: Iterable[str]) -> TokenSet:
        if self.as_metadata is None:
            await self.discover()
        if self.client_id is None:
            await self.register()
        wanted = " ".join(sorted(set(scopes)))
        verifier, challenge = _pkce()
        state = secrets.token_urlsafe(24)
        par = await self._post("pushed_authorization_request_endpoint", {
            "response_type": "code", "client_id": self.client_id or "", "redirect_uri": self.credentials.redirect_uri,
            "scope": wanted, "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
            "resource": self.mcp_url}, "pushed authorization request refused")
        request_uri = par.get("request_uri")
        if not isinstance(request_uri, str):
            raise InvalidRequest("PAR: no request_uri")
        self.on_step("PAR", f"request_uri issued for scope '{wanted}' ({self.par_note})")
        url = self.as_metadata["authorization_endpoint"] + "?" + urlencode(  # type: ignore[index]
            {"client_id": self.client_id, "request_uri": request_uri})
        code = self._callback(await self._authorize(url, self.credentials.redirect_uri), state)
        self.on_step("consent", "user signed in and approved; iss and state checked (RFC 9207)")
        body = await self._post("token_endpoint", {
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.credentials.redirect_uri,
            "code_verifier": verifier}, "token request refused")
        self.tokens = self._token_set(body, wanted)
        self.on_step("token", f"{self.binding} access token, scope '{' '.join(sorted(self.tokens.scopes))}'")
        return self.tokens

    def _callback(self, location: str, state: str) -> str:
        """RFC 9207 §2.4: ``iss`` must be the AS's issuer exactly; ``state`` must be ours; then the code."""
        if not location.startswith(self.credentials.redirect_uri):
            raise InvalidRequest("the authorization response went to another redirect URI")
        params = dict(parse_qsl(urlsplit(location).query))
        if params.get("iss") != self.issuer:
            raise InvalidRequest("authorization response iss is missing or not the expected issuer")
        if not hmac.compare_digest(params.get("state", "").encode(), state.encode()):
            raise InvalidRequest("authorization response state does not match")
        if "error" in params:
            raise error_class(params["error"])(params.get("error_description", "authorization refused")[:200])
        if not params.get("code"):
            raise InvalidRequest("authorization response has no code")
        return params["code"]

    def _token_set(self, body: dict[str, Any], requested: str) -> TokenSet:
        token, kind = body.get("access_token"), body.get("token_type")
        if not isinstance(token, str) or not isinstance(kind, str) or kind.lower() != self.token_type:
            raise InvalidRequest(f"the token response is not a {self.binding} access token")
        expires_in = body.get("expires_in", 60)
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 60.0
        scope = body.get("scope", requested)
        refresh = body.get("refresh_token")
        return TokenSet(token, frozenset(str(scope).split()), self.clock.now() + lifetime,
                        refresh if isinstance(refresh, str) else None)

    # -- 6. keeping the token useful -------------------------------------------------------------------------------
    async def ensure_token(self) -> TokenSet | None:
        """Refresh (RFC 6749 §6, with DPoP and private_key_jwt) when the token is within ``refresh_margin``."""
        tokens = self.tokens
        if tokens is None or self.clock.now() < tokens.expires_at - self.refresh_margin:
            return tokens
        if tokens.refresh_token is None:
            return await self.authorize(tokens.scopes)
        try:
            body = await self._post("token_endpoint", {"grant_type": "refresh_token",
                                                       "refresh_token": tokens.refresh_token}, "refresh refused")
        except (InvalidGrant, InvalidRequest):
            return await self.authorize(tokens.scopes)
        self.tokens = self._token_set(body, " ".join(sorted(tokens.scopes)))
        self.on_step("refresh", "access token refreshed before expiry")
        return self.tokens

    async def step_up(self, challenged: Iterable[str]) -> TokenSet:
        """MCP 2025-11-25 §Step-Up: authorize for held | challenged scopes, at most ``max_step_ups`` times."""
        held = self.tokens.scopes if self.tokens else frozenset()
        wanted = held | frozenset(challenged)
        if self.step_ups >= self.max_step_ups or wanted == held:
            raise InsufficientScope("step-up limit reached or the challenge asks for nothing new")
        self.step_ups += 1
        self.on_step("step-up", f"403 insufficient_scope; asking for '{' '.join(sorted(wanted))}'")
        return await self.authorize(wanted)
