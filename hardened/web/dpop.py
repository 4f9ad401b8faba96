"""DPoP at the web edge (RFC 9449 §4.3 step 1, §5, §7, §8, §9; RFC 6750 §2-3): read, check, remember, render.

An authorization server calls ``DPoPVerifier.check_token_request`` at its token and PAR endpoints (errors render
as ``400 invalid_dpop_proof`` / ``400 use_dpop_nonce`` with ``DPoP-Nonce`` through
``hardened.web.errors.install_error_handlers``). A resource server (the MCP layer) reads the credential with
``read_authorization``, resolves the token to its ``cnf.jkt``, then calls ``check_resource_request``; errors
render with ``DPoPVerifier.resource_error_response``: ``401`` with ``WWW-Authenticate: DPoP error=...,
algs="ES256 PS256 EdDSA"`` (and ``resource_metadata``). ``DPoPTokenRequest`` and ``DPoPResourceGuard`` wrap both
as FastAPI dependencies.

Every ``DPoP`` and ``Authorization`` header value is read, not just the first; the expected ``htu`` comes from the
configured external base URL and the request path, never from ``Host`` or ``X-Forwarded-*``; an access token in
the query string is refused and one in a body is never looked at (RFC 9700 §2.4 / FAPI 2.0 SP §5.3.3).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from starlette.responses import Response

from hardened.clock import Clock
from hardened.core.dpop import DPoPPolicy, VerifiedDPoPProof, dpop_replay_key, verify_dpop_proof
from hardened.core.dpop_nonce import NonceSource
from hardened.core.htu import is_loopback_host, join_base_and_path, normalize_htu
from hardened.errors import (
    ConfigurationError,
    HardenedError,
    InvalidDPoPProof,
    InvalidRequest,
    InvalidToken,
    OAuthError,
)
from hardened.ports.replay import ReplayCache
from hardened.web.errors import resource_error_response
from hardened.web.token68 import TOKEN68

__all__ = [
    "Credential",
    "DPoPAuthorized",
    "DPoPResourceGuard",
    "DPoPTokenRequest",
    "DPoPVerifier",
    "ResourceChallenge",
    "install_resource_challenge_handler",
    "read_authorization",
    "read_dpop_header",
]

MAX_AUTHORIZATION = 8192
_SCHEME = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")


@dataclass(frozen=True, slots=True)
class Credential:
    """One ``Authorization`` header: ``scheme`` lowercased (RFC 9110 §11.1: case-insensitive) and its token."""

    scheme: str
    token: str = ""


def read_dpop_header(request: Request, *, max_size: int = 8192) -> str | None:
    """RFC 9449 §4.3 step 1: None without a ``DPoP`` header, the proof when there is exactly one, else an error."""
    values = request.headers.getlist("dpop")
    if not values:
        return None
    if len(values) > 1 or "," in values[0]:
        raise InvalidDPoPProof("exactly one DPoP header is allowed", detail="DPOP_HEADER_MULTIPLE")
    value = values[0].strip()
    if not value or len(value) > max_size:
        raise InvalidDPoPProof("DPoP header is empty or too large", detail="DPOP_HEADER_SIZE")
    return value


def read_authorization(request: Request) -> Credential | None:
    """The one ``Authorization`` credential of a request, or None; never a token from the query or the body.

    RFC 6750 §3.1: more than one credential is ``invalid_request``; a malformed token68 is ``invalid_token``.
    """
    if "access_token" in request.query_params:
        raise InvalidRequest("access tokens are not accepted in the query string", detail="TOKEN_IN_QUERY")
    values = request.headers.getlist("authorization")
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest("exactly one Authorization header is allowed", detail="AUTHORIZATION_MULTIPLE")
    value = values[0]
    if len(value) > MAX_AUTHORIZATION:
        raise InvalidToken("the access token is malformed", detail="AUTHORIZATION_SIZE")
    scheme, _, rest = value.strip(" ").partition(" ")
    if not _SCHEME.fullmatch(scheme):
        raise InvalidRequest("the Authorization header is malformed", detail="AUTHORIZATION_SCHEME")
    token = rest.strip(" ")
    if not TOKEN68.fullmatch(token):
        raise InvalidToken("the access token is malformed", detail="AUTHORIZATION_TOKEN68")
    return Credential(scheme=scheme.lower(), token=token)


def _check_base_url(url: str) -> str:
    try:
        normalized = normalize_htu(url)
    except OAuthError as err:
        raise ConfigurationError(f"external base URL is not an http(s) URL: {err.description}") from None
    if "?" in url or "#" in url:
        raise ConfigurationError("external base URL must not have a query or fragment")
    if normalized.startswith("http://"):
        authority = normalized[7:].split("/", 1)[0]
        host = authority.partition("]")[0] + "]" if authority.startswith("[") else authority.partition(":")[0]
        if not is_loopback_host(host):
            raise ConfigurationError("external base URL must use https (http only on loopback)")
    return normalized


class DPoPVerifier:
    """Runs the DPoP checks for one server (an AS or one resource server) with its ports and configuration."""

    def __init__(
        self,
        policy: DPoPPolicy,
        replay: ReplayCache,
        nonces: NonceSource | None,
        clock: Clock,
        external_base_url: str,
        *,
        resource_metadata: str | None = None,
        allow_bearer: bool = False,
    ) -> None:
        if policy.nonce_required and nonces is None:
            raise ConfigurationError("a DPoP policy that requires nonces needs a NonceSource")
        self.policy = policy
        self.replay = replay
        self.nonces = nonces
        self.clock = clock
        self.external_base_url = _check_base_url(external_base_url)
        self.resource_metadata = resource_metadata
        self.schemes = ("DPoP", "Bearer") if allow_bearer else ("DPoP",)

    def request_uri(self, request: Request) -> str:
        """The request URI as this server is reached: configured base URL + the raw request path."""
        raw = request.scope.get("raw_path")
        path = raw.decode("latin-1") if isinstance(raw, bytes | bytearray) else request.url.path
        return join_base_and_path(self.external_base_url, path.split("?", 1)[0])

    def nonce_header(self) -> dict[str, str]:
        """``{"DPoP-Nonce": ...}`` for a response (RFC 9449 §8.2: a server may send a fresh nonce any time)."""
        return {"DPoP-Nonce": self.nonces.issue(self.clock.now())} if self.nonces is not None else {}

    def fresh_nonce_header(self) -> dict[str, str]:
        """The nonce header for a successful response where nonces are required, so clients never fall behind."""
        return self.nonce_header() if self.policy.nonce_required else {}

    def _verify(self, request: Request, proof: str, access_token: str | None, jkt: str | None) -> VerifiedDPoPProof:
        return self.check_proof(proof, method=request.method, uri=self.request_uri(request),
                                access_token=access_token, jkt=jkt)

    def check_proof(self, proof: str, *, method: str, uri: str, access_token: str | None,
                    jkt: str | None) -> VerifiedDPoPProof:
        """RFC 9449 §4.3 checks, then §11.1 single use, for a proof already read from its one ``DPoP`` header and
        a ``uri`` already built from the configured external URL; errors carry a fresh ``DPoP-Nonce``."""
        now = self.clock.now()
        nonces = self.nonces
        try:
            verified = verify_dpop_proof(
                proof, method=method, uri=uri, policy=self.policy, now=now,
                access_token=access_token, expected_jkt=jkt,
                nonce_ok=(lambda n: nonces.check(n, now)) if nonces is not None else None,
            )
        except OAuthError as err:
            err.headers.update(self.nonce_header())
            raise
        # RFC 9449 §11.1: one use per (htu, jti, key) while the proof could still be accepted.
        if not self.replay.unique(dpop_replay_key(verified), self.policy.replay_ttl, now):
            raise InvalidDPoPProof("DPoP proof has already been used", detail="DPOP_REPLAY")
        return verified

    def check_token_request(self, request: Request) -> VerifiedDPoPProof | None:
        """At the AS token or PAR endpoint (RFC 9449 §5, §10.1): the verified proof, or None if none was sent.

        Whether a client must use DPoP is the AS's decision: it refuses a None where the client requires DPoP.
        """
        proof = read_dpop_header(request, max_size=self.policy.max_proof)
        return None if proof is None else self._verify(request, proof, None, None)

    def check_resource_request(self, request: Request, access_token: str, cnf_jkt: str | None) -> VerifiedDPoPProof:
        """At a resource server (RFC 9449 §7): a DPoP-bound ``access_token`` with ``cnf.jkt``, presented with the
        ``DPoP`` scheme (§7.2: never as ``Bearer``) and a proof with ``ath`` by the bound key."""
        if not cnf_jkt:
            raise InvalidToken("the access token is not DPoP-bound", detail="TOKEN_NOT_DPOP_BOUND")
        credential = read_authorization(request)
        if credential is None or credential.scheme != "dpop":
            raise InvalidToken("a DPoP-bound token must use the DPoP scheme", detail="DPOP_TOKEN_AS_BEARER")
        if not hmac.compare_digest(credential.token.encode(), access_token.encode("utf-8", "replace")):
            raise InvalidToken("the access token is not the one presented", detail="TOKEN_MISMATCH")
        proof = read_dpop_header(request, max_size=self.policy.max_proof)
        if proof is None:
            raise InvalidDPoPProof("a DPoP proof is required", detail="DPOP_HEADER_MISSING")
        return self._verify(request, proof, access_token, cnf_jkt)

    def resource_error_response(self, err: OAuthError | None, *, scope: str | None = None) -> Response:
        """RFC 9449 §7.1 / RFC 6750 §3: 401 (403 for scope) with one challenge per scheme, ``algs`` on DPoP."""
        return resource_error_response(err, schemes=self.schemes, resource_metadata=self.resource_metadata,
                                       scope=scope, algs=self.policy.algs_param)


class DPoPTokenRequest:
    """FastAPI dependency for AS endpoints: ``proof: VerifiedDPoPProof | None = Depends(DPoPTokenRequest(v))``."""

    def __init__(self, verifier: DPoPVerifier) -> None:
        self.verifier = verifier

    def __call__(self, request: Request, response: Response) -> VerifiedDPoPProof | None:
        proof = self.verifier.check_token_request(request)
        response.headers.update(self.verifier.fresh_nonce_header())
        return proof


@dataclass(frozen=True, slots=True)
class DPoPAuthorized:
    """A request that presented a DPoP-bound access token with a valid proof of its key."""

    access_token: str
    proof: VerifiedDPoPProof


class ResourceChallenge(HardenedError):
    """Carries the rendered 401/403 of a resource server out of a dependency (see the handler below)."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"resource challenge {response.status_code}")
        self.response = response


class DPoPResourceGuard:
    """FastAPI dependency for a resource server. ``resolve_jkt(token)`` returns the token's ``cnf.jkt`` (None when
    unbound) or raises ``InvalidToken``; failures become ``ResourceChallenge`` (install the handler)."""

    def __init__(self, verifier: DPoPVerifier, resolve_jkt: Callable[[str], str | None]) -> None:
        self.verifier = verifier
        self.resolve_jkt = resolve_jkt

    def __call__(self, request: Request, response: Response) -> DPoPAuthorized:
        try:
            credential = read_authorization(request)
            if credential is None or credential.scheme not in ("dpop", "bearer"):
                raise ResourceChallenge(self.verifier.resource_error_response(None))
            proof = self.verifier.check_resource_request(request, credential.token, self.resolve_jkt(credential.token))
        except OAuthError as err:
            raise ResourceChallenge(self.verifier.resource_error_response(err)) from None
        response.headers.update(self.verifier.fresh_nonce_header())
        return DPoPAuthorized(access_token=credential.token, proof=proof)


def install_resource_challenge_handler(app: FastAPI) -> None:
    """Render ``ResourceChallenge`` as its response (add next to ``install_error_handlers``)."""

    async def on_challenge(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ResourceChallenge)
        return exc.response

    app.add_exception_handler(ResourceChallenge, on_challenge)
