"""The hardened agent's client attestation at the AS (draft-ietf-oauth-attestation-based-client-auth-10, "ABCA").

An agent of the attested tier presents, beside ``private_key_jwt`` and its DPoP proof, a Client Attestation JWT
(ABCA §4) from its attester (here the authority, ``hardened.client.attester``) and a fresh Client Attestation PoP JWT
(§5.1) at PAR and at every token request, refresh included (§7, §9.3). In DPoP combined mode (§5.2) the DPoP proof,
signed with the instance key, stands for the PoP and carries the server's challenge as its ``nonce``.

Challenges (§6, §7.4): the latest ``OAuth-Client-Attestation-Challenge`` the AS sent is put in the next PoP. A
``use_attestation_challenge`` answer is retried once *as a whole new request*: the AS spent the first request's
client assertion ``jti`` (RFC 7523 §3 item 7), PoP ``jti`` and DPoP ``jti``, so all three are signed again.
:meth:`AgentAttestation.fetch_challenge` gets one up front from the ``challenge_endpoint`` (§6.1).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

import httpx

from hardened.client.attestation import afetch_attestation_challenge, build_client_attestation_pop
from hardened.client.attester import AuthorityAttestationSource
from hardened.client.dpop import DPoPAuth
from hardened.client.origin import origin_of
from hardened.clock import Clock, SystemClock
from hardened.core.attestation import ATTESTATION_HEADER, CHALLENGE_HEADER, MAX_CHALLENGE, POP_HEADER
from hardened.core.dpop import build_dpop_proof
from hardened.errors import ConfigurationError, InvalidRequest
from hardened.jose import SigningKey

__all__ = ["AgentAttestation", "AttestationHeaders", "attestation_error"]

MAX_ERROR_BODY = 4096
USE_CHALLENGE = "use_attestation_challenge"


def attestation_error(response: httpx.Response) -> str | None:
    """The OAuth ``error`` of a 400/401 JSON answer (RFC 6749 §5.2), or None."""
    if response.status_code not in (400, 401):
        return None
    try:
        body = json.loads(response.content[:MAX_ERROR_BODY])
    except (ValueError, RecursionError):  # deeply nested JSON raises RecursionError
        return None
    return body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None


class AttestationHeaders(httpx.Auth):
    """One request's attestation headers plus its DPoP proof (ABCA §7): no retry of its own (module doc).

    PoP mode: ``OAuth-Client-Attestation`` + a fresh ``OAuth-Client-Attestation-PoP``, then ``dpop`` (the agent's
    DPoP flow) signs its proof. Combined mode: only the attestation header, and a DPoP proof signed with the
    instance key whose ``nonce`` is the challenge (§5.2). Both headers go only to ``origin``.
    """

    requires_request_body = True

    def __init__(self, attestation: str, key: SigningKey, *, audience: str, origin: str, clock: Clock,
                 dpop: httpx.Auth, challenge: str | None = None, combined: bool = False) -> None:
        self.attestation, self.key, self.audience, self.origin = attestation, key, audience, origin
        self.clock, self.dpop, self.challenge, self.combined = clock, dpop, challenge, combined

    def _combined_proof(self, request: httpx.Request) -> None:
        htu = str(request.url.copy_with(query=None, fragment=None))
        request.headers["DPoP"] = build_dpop_proof(self.key, htm=request.method, htu=htu, iat=self.clock.now(),
                                                   jti=secrets.token_urlsafe(16), nonce=self.challenge)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if origin_of(request.url) != self.origin:
            raise InvalidRequest("client attestation is sent only to the authorization server's origin")
        request.headers[ATTESTATION_HEADER] = self.attestation
        if self.combined:
            self._combined_proof(request)
            yield request
            return
        request.headers[POP_HEADER] = build_client_attestation_pop(
            self.key, audience=self.audience, now=self.clock.now(), challenge=self.challenge)
        flow = self.dpop.async_auth_flow(request)  # the DPoP nonce retry stays the DPoP flow's (RFC 9449 §8)
        outgoing = await flow.__anext__()
        while True:
            response = yield outgoing
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                return


@dataclass
class AgentAttestation:
    """An attested agent instance: its Client Instance Key, its id at the authority and the attestation endpoint.

    ``combined=True`` selects DPoP combined mode: then the agent's DPoP key must be ``instance_key`` (the code and
    tokens are bound to the DPoP key, which §5.2 makes the instance key).
    """

    instance_key: SigningKey
    instance_id: str
    endpoint: str  # the authority's attestation endpoint (``attestation_endpoint`` in its configuration)
    combined: bool = False
    clock: Clock = field(default_factory=SystemClock)
    challenge: str | None = None
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=15, follow_redirects=False))
    _source: AuthorityAttestationSource | None = field(default=None, repr=False)

    def source(self, client_id: str) -> AuthorityAttestationSource:
        """The cached attestation source for ``client_id`` (the attestation's ``sub``, ABCA §4)."""
        if self._source is None or self._source.client_id != client_id:
            self._source = AuthorityAttestationSource(self.http, self.endpoint, key=self.instance_key,
                                                      instance_id=self.instance_id, client_id=client_id,
                                                      clock=self.clock)
        return self._source

    async def attestation(self, client_id: str) -> str:
        """The current Client Attestation JWT (fetched, or refreshed before it expires, off the event loop)."""
        return await asyncio.to_thread(self.source(client_id).attestation)

    def learn(self, response: httpx.Response) -> bool:
        """ABCA §6.2: keep the challenge the server sent for the next proof; True if it is a new one."""
        values = response.headers.get_list(CHALLENGE_HEADER)
        if len(values) != 1 or not 0 < len(values[0]) <= MAX_CHALLENGE or values[0] == self.challenge:
            return False
        self.challenge = values[0]
        return True

    async def fetch_challenge(self, http: httpx.AsyncClient, challenge_endpoint: str) -> str:
        """ABCA §6.1: a challenge from the AS's ``challenge_endpoint``, used in the next proof."""
        self.challenge = await afetch_attestation_challenge(http, challenge_endpoint)
        return self.challenge

    async def post(self, http: httpx.AsyncClient, url: str, form: Callable[[], dict[str, str]], *, client_id: str,
                   issuer: str, dpop_key: SigningKey, on_step: Callable[[str, str], None]) -> httpx.Response:
        """POST ``form()`` to the AS with attestation (module doc); one whole retry on ``use_attestation_challenge``."""
        if self.combined and dpop_key.thumbprint != self.instance_key.thumbprint:
            raise ConfigurationError("DPoP combined mode needs the DPoP key to be the instance key (ABCA §5.2)")
        attestation = await self.attestation(client_id)
        response: httpx.Response | None = None
        origin = origin_of(httpx.URL(issuer))
        for attempt in range(2):
            auth = AttestationHeaders(attestation, self.instance_key, audience=issuer, origin=origin,
                                      clock=self.clock, dpop=DPoPAuth(dpop_key, clock=self.clock),
                                      challenge=self.challenge, combined=self.combined)
            response = await http.post(url, data=form(), auth=auth)
            fresh = self.learn(response)
            if attempt == 0 and fresh and attestation_error(response) == USE_CHALLENGE:
                on_step("attestation challenge", "the AS answered use_attestation_challenge; retried with it")
                continue
            break
        assert response is not None
        return response
