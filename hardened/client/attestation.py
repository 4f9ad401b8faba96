"""Agent side of client attestation (draft-ietf-oauth-attestation-based-client-auth-10 §5.1, §6, §7.4).

The agent holds a Client Attestation JWT from its attester and the Client Instance Key it attests. For every
request it signs a fresh PoP (new ``jti``, current ``iat``, one ``aud``: the AS issuer or the resource id) and
sends both headers. It remembers the latest ``OAuth-Client-Attestation-Challenge`` a server gave (§6.2) and puts
it in the next PoP; a ``use_attestation_challenge`` answer is retried once with the new challenge (§7.4)::

    auth = ClientAttestationAuth(attestation_jwt, instance_key, audience=as_issuer)
    httpx.post(token_endpoint, data=form, auth=auth)

The headers go only to the origin of ``audience`` (or to the ``origins`` given, e.g. an AS whose endpoints live on
another host): a PoP is not bound to the request, only to its ``aud``, so any other server that received one could
present it, with the attestation, to the real audience while it is fresh (§11.1, §12). Requests to other origins
are sent without both headers, and challenges are learnt only from the audience's origins. Note that httpx copies
request headers when it follows a redirect itself (``follow_redirects=True``) without running the auth flow again:
keep redirects off (the httpx default) for requests to the token and PAR endpoints.

In DPoP combined mode (§5.2) pass ``combined=True``: only the attestation header is sent, and the DPoP proof,
signed with the same instance key, carries :attr:`ClientAttestationAuth.challenge` as its ``nonce``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncGenerator, Generator, Sequence

import httpx

from hardened.client.origin import credential_origin, origin_of
from hardened.clock import Clock, SystemClock
from hardened.core.attestation import ATTESTATION_HEADER, CHALLENGE_HEADER, MAX_CHALLENGE, POP_HEADER
from hardened.errors import ConfigurationError, InvalidClientAttestation
from hardened.jose import SigningKey, Typ

__all__ = [
    "ClientAttestationAuth",
    "afetch_attestation_challenge",
    "build_client_attestation_pop",
    "fetch_attestation_challenge",
]

MAX_ERROR_BODY = 4096


def build_client_attestation_pop(key: SigningKey, *, audience: str, now: float, challenge: str | None = None,
                                 jti: str | None = None) -> str:
    """A Client Attestation PoP JWT (§5.1): ``typ`` oauth-client-attestation-pop+jwt, ``aud``, ``jti``, ``iat``,
    and the server's ``challenge`` when there is one; signed with the Client Instance Key."""
    claims: dict[str, object] = {"aud": audience, "jti": jti or secrets.token_urlsafe(24), "iat": int(now)}
    if challenge is not None:
        claims["challenge"] = challenge
    return key.sign_jws(claims, typ=Typ.CLIENT_ATTESTATION_POP, include_kid=False)


def _challenge_from_body(response: httpx.Response) -> str:
    try:
        body = json.loads(response.content[:MAX_ERROR_BODY]) if response.status_code == 200 else None
    except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
        body = None
    value = body.get("attestation_challenge") if isinstance(body, dict) else None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CHALLENGE:
        raise InvalidClientAttestation("the challenge endpoint gave no attestation_challenge",
                                       detail=f"status {response.status_code}")
    return value


def fetch_attestation_challenge(client: httpx.Client, challenge_endpoint: str) -> str:
    """§6.1: POST to the ``challenge_endpoint`` from metadata; the JSON ``attestation_challenge``."""
    return _challenge_from_body(client.post(challenge_endpoint, headers={"Accept": "application/json"}))


async def afetch_attestation_challenge(client: httpx.AsyncClient, challenge_endpoint: str) -> str:
    """Async :func:`fetch_attestation_challenge`."""
    return _challenge_from_body(await client.post(challenge_endpoint, headers={"Accept": "application/json"}))


def _error_code(response: httpx.Response) -> str | None:
    if response.status_code not in (400, 401):
        return None
    try:
        body = json.loads(response.content[:MAX_ERROR_BODY])
    except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
        return None
    return body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None


class ClientAttestationAuth(httpx.Auth):
    """httpx auth that attaches the attestation and a fresh PoP to every request to the audience's origin (or to
    ``origins``), and answers challenges once; other origins get neither header."""

    requires_request_body = True  # a retried request is re-sent with the same body
    requires_response_body = False  # only a 400/401 with a new challenge is read, never a streamed MCP response

    def __init__(self, attestation: str, key: SigningKey, *, audience: str, clock: Clock | None = None,
                 challenge: str | None = None, combined: bool = False, origins: Sequence[str] | None = None) -> None:
        targets = [audience] if origins is None else list(origins)
        if not targets:
            raise ConfigurationError("the client attestation needs at least one origin to be sent to")
        self.origins = frozenset(credential_origin(url, "the client attestation") for url in targets)
        self.attestation = attestation
        self.key = key
        self.audience = audience
        self.clock = clock or SystemClock()
        self.challenge = challenge
        self.combined = combined

    def _sign(self, request: httpx.Request) -> None:
        request.headers[ATTESTATION_HEADER] = self.attestation
        if not self.combined:
            request.headers[POP_HEADER] = build_client_attestation_pop(
                self.key, audience=self.audience, now=self.clock.now(), challenge=self.challenge)

    def _learn(self, response: httpx.Response) -> bool:
        """§6.2: keep a server-provided challenge for the next proof. True if it is a new one."""
        values = response.headers.get_list(CHALLENGE_HEADER)
        if len(values) != 1 or not 0 < len(values[0]) <= MAX_CHALLENGE or values[0] == self.challenge:
            return False
        self.challenge = values[0]
        return True

    def _attach(self, request: httpx.Request) -> bool:
        """Sign ``request`` if it goes to one of our origins; otherwise strip both headers (see module doc)."""
        if origin_of(request.url) not in self.origins:
            for name in (ATTESTATION_HEADER, POP_HEADER):
                request.headers.pop(name, None)
            return False
        self._sign(request)
        return True

    def _challenged(self, response: httpx.Response) -> bool:
        """§7.4: a 400/401 bringing a new challenge (kept for the next proof); its body says whether to retry."""
        return self._learn(response) and not self.combined and response.status_code in (400, 401)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._attach(request):
            yield request
            return
        request.read()
        response = yield request
        if self._challenged(response):
            response.read()
            if _error_code(response) == "use_attestation_challenge":  # retry once, never loop
                self._sign(request)
                self._learn((yield request))

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._attach(request):
            yield request
            return
        await request.aread()
        response = yield request
        if self._challenged(response):
            await response.aread()
            if _error_code(response) == "use_attestation_challenge":
                self._sign(request)
                self._learn((yield request))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The generic flow: like ``sync_auth_flow``, for callers that drive it themselves."""
        yield from self.sync_auth_flow(request)
