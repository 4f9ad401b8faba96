"""Agent side of the authority acting as Client Attester: fetch a Client Attestation JWT for this instance
(draft-ietf-oauth-attestation-based-client-auth-10 §1 step 3, §4), then present it with
:class:`hardened.client.attestation.ClientAttestationAuth`.

The instance proves itself with an attestation request signed by its Client Instance Key (the key whose public
JWK an operator registered: ``authority instance add``), see :mod:`hardened.core.attestation_request`::

    source = AuthorityAttestationSource(client, authority_url + "/attester/attestations", key=instance_key,
                                        instance_id="acme-agent-eu-1", client_id=client_id_at_the_as)
    httpx.post(token_endpoint, data=form, auth=source.auth(audience=as_issuer))

``AuthorityAttestationSource`` keeps the attestation until ``refresh_margin`` seconds before it expires.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import httpx

from hardened.client.attestation import ClientAttestationAuth
from hardened.clock import Clock, SystemClock
from hardened.core.attestation_request import ATTESTATION_REQUEST_TYP, build_attestation_request
from hardened.errors import InvalidClientAttestation, error_class
from hardened.jose import SigningKey

__all__ = ["ATTESTATION_REQUEST_TYP", "AuthorityAttestationSource", "FetchedAttestation", "fetch_client_attestation"]

MAX_RESPONSE = 16_384
MAX_ATTESTATION = 8192


@dataclass(frozen=True, slots=True)
class FetchedAttestation:
    """A Client Attestation JWT and when the authority said it expires (local clock)."""

    attestation: str
    expires_at: float


def _parse(response: httpx.Response, now: float) -> FetchedAttestation:
    try:
        body = json.loads(response.content[:MAX_RESPONSE]) if len(response.content) <= MAX_RESPONSE else None
    except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
        body = None
    if not isinstance(body, dict):
        raise InvalidClientAttestation("the attester answered without a JSON object",
                                       detail=f"status {response.status_code}")
    if response.status_code != 200:
        code = body.get("error")
        cls = error_class(code) if isinstance(code, str) else InvalidClientAttestation
        text = body.get("error_description")
        raise cls(f"the attester refused: {text if isinstance(text, str) else code}",
                  detail=f"status {response.status_code}")
    token, expires_in = body.get("client_attestation"), body.get("expires_in")
    if not isinstance(token, str) or not 0 < len(token) <= MAX_ATTESTATION or token.count(".") != 2 or \
            isinstance(expires_in, bool) or not isinstance(expires_in, int) or not 0 < expires_in <= 86_400:
        raise InvalidClientAttestation("the attester's answer has no usable client_attestation")
    return FetchedAttestation(token, now + expires_in)


def fetch_client_attestation(client: httpx.Client, endpoint: str, *, key: SigningKey, instance_id: str,
                             client_id: str, clock: Clock | None = None) -> FetchedAttestation:
    """POST a fresh attestation request (``aud`` = ``endpoint``) and return the Client Attestation JWT.

    A refusal raises the OAuth error the authority answered (``invalid_client``, ``unauthorized_client``, ...);
    a malformed answer raises :class:`~hardened.errors.InvalidClientAttestation`. No redirects are followed.
    """
    now = (clock or SystemClock()).now()
    request = build_attestation_request(key, instance_id=instance_id, client_id=client_id, audience=endpoint,
                                        now=now)
    response = client.post(endpoint, content=request.encode("ascii"), follow_redirects=False,
                           headers={"Content-Type": "application/jwt", "Accept": "application/json"})
    return _parse(response, now)


class AuthorityAttestationSource:
    """A cached attestation for one instance and one client id, fetched again shortly before it expires."""

    def __init__(self, client: httpx.Client, endpoint: str, *, key: SigningKey, instance_id: str, client_id: str,
                 clock: Clock | None = None, refresh_margin: float = 60.0) -> None:
        self.client, self.endpoint, self.key = client, endpoint, key
        self.instance_id, self.client_id = instance_id, client_id
        self.clock = clock or SystemClock()
        self.refresh_margin = refresh_margin
        self._current: FetchedAttestation | None = None
        self._lock = threading.Lock()

    def attestation(self) -> str:
        """The current attestation, fetched when there is none or it expires within ``refresh_margin``."""
        with self._lock:
            current = self._current
            if current is None or self.clock.now() >= current.expires_at - self.refresh_margin:
                current = fetch_client_attestation(self.client, self.endpoint, key=self.key,
                                                   instance_id=self.instance_id, client_id=self.client_id,
                                                   clock=self.clock)
                self._current = current
            return current.attestation

    def auth(self, *, audience: str, combined: bool = False, challenge: str | None = None) -> ClientAttestationAuth:
        """httpx auth presenting the current attestation with a fresh PoP per request (ABCA §5.1, §7)."""
        return ClientAttestationAuth(self.attestation(), self.key, audience=audience, clock=self.clock,
                                     challenge=challenge, combined=combined)
