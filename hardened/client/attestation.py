"""Agent side of client attestation (draft-ietf-oauth-attestation-based-client-auth-10 §5.1, §6, §7.4).

The agent holds a Client Attestation JWT from its attester and the Client Instance Key it attests. For every
request it signs a fresh PoP (new ``jti``, current ``iat``, one ``aud``: the AS issuer or the resource id) and
sends both headers. It remembers the latest ``OAuth-Client-Attestation-Challenge`` a server gave (§6.2) and puts
it in the next PoP; a ``use_attestation_challenge`` answer is retried once with the new challenge (§7.4)::

    auth = ClientAttestationAuth(attestation_jwt, instance_key, audience=as_issuer)
    httpx.post(token_endpoint, data=form, auth=auth)

In DPoP combined mode (§5.2) pass ``combined=True``: only the attestation header is sent, and the DPoP proof,
signed with the same instance key, carries :attr:`ClientAttestationAuth.challenge` as its ``nonce``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Generator

import httpx

from hardened.clock import Clock, SystemClock
from hardened.errors import InvalidClientAttestation
from hardened.jose import SigningKey, Typ

__all__ = [
    "ClientAttestationAuth",
    "afetch_attestation_challenge",
    "build_client_attestation_pop",
    "fetch_attestation_challenge",
]

ATTESTATION_HEADER = "OAuth-Client-Attestation"
POP_HEADER = "OAuth-Client-Attestation-PoP"
CHALLENGE_HEADER = "OAuth-Client-Attestation-Challenge"
MAX_CHALLENGE = 512
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
    except ValueError:
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
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None


class ClientAttestationAuth(httpx.Auth):
    """httpx auth that attaches the attestation and a fresh PoP to every request and answers challenges once."""

    requires_response_body = True

    def __init__(self, attestation: str, key: SigningKey, *, audience: str, clock: Clock | None = None,
                 challenge: str | None = None, combined: bool = False) -> None:
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

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._sign(request)
        response = yield request
        fresh = self._learn(response)
        # §7.4: use_attestation_challenge comes with a new challenge; retry once, never loop.
        if fresh and not self.combined and _error_code(response) == "use_attestation_challenge":
            self._sign(request)
            retried = yield request
            self._learn(retried)
