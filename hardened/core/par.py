"""Pushed authorization requests (RFC 9126) under FAPI 2.0 SP §5.3.2.2, with RFC 8707 resources and DPoP binding.

``verify_par_request`` checks the pushed parameters of an authenticated client, in order:

1. RFC 9126 §2.1: no ``request_uri`` inside a pushed request; no ``request`` object (not offered here);
   a ``client_id`` parameter, if sent, is the authenticated client;
2. RFC 6749 §4.1.1: ``response_type`` is ``code`` (FAPI 2.0 SP §5.3.2.2 item 1);
3. ``redirect_uri`` is required and exactly one of the registered URIs (FAPI 2.0 SP §5.3.2.2 item 13; simple
   string comparison, RFC 6749 §3.1.2.3 / OAuth 2.1 §4.1.3);
4. PKCE with S256 (RFC 7636 §4.3; FAPI 2.0 SP §5.3.2.2 item 5);
5. scopes known, within the client's tier and registered (hardened DESIGN §2);
6. RFC 8707 §2: exactly one ``resource``, an absolute URI the deployment knows (``invalid_target``);
7. RFC 9449 §10: ``dpop_jkt`` and the thumbprint of a DPoP proof on the PAR request must agree; a client that
   must use DPoP binds its code with one of them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from hardened.core.dcr_policy import ClientMetadata
from hardened.core.pkce import check_code_challenge
from hardened.core.scopes import ScopePolicy, check_scopes, parse_scope
from hardened.errors import InvalidDPoPProof, InvalidRequest, InvalidTarget, UnsupportedResponseType

__all__ = ["REQUEST_URI_PREFIX", "PARPolicy", "VerifiedPARRequest", "issue_request_uri", "verify_par_request"]

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
_JKT = re.compile(r"[A-Za-z0-9_-]{43}")
_SHORT = 512


@dataclass(frozen=True, slots=True)
class PARPolicy:
    """``expires_in`` below 600 s (FAPI 2.0 SP §5.3.2.2 item 12); 60 s by default."""

    expires_in: int = 60

    def __post_init__(self) -> None:
        if not 0 < self.expires_in < 600:
            raise ValueError("PAR expires_in must be between 1 and 599 seconds")


@dataclass(frozen=True, slots=True)
class VerifiedPARRequest:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    resource: str
    code_challenge: str
    state: str | None
    dpop_jkt: str | None
    #: the attested client instance (draft-ietf-oauth-attestation-based-client-auth §9.3) the flow is bound to
    attested_jkt: str | None = None


def issue_request_uri() -> str:
    """RFC 9126 §2.2: an unguessable, single-use reference (256 bits)."""
    return REQUEST_URI_PREFIX + secrets.token_urlsafe(32)


def _optional_short(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is not None and (not value or len(value) > _SHORT):
        raise InvalidRequest(f"{name} must be 1 to {_SHORT} characters")
    return value


def _binding(params: Mapping[str, str], proof_jkt: str | None, client: ClientMetadata) -> str | None:
    dpop_jkt = params.get("dpop_jkt")
    if dpop_jkt is not None and not _JKT.fullmatch(dpop_jkt):
        raise InvalidRequest("dpop_jkt is not a SHA-256 JWK thumbprint")
    if dpop_jkt is not None and proof_jkt is not None and dpop_jkt != proof_jkt:
        raise InvalidDPoPProof("dpop_jkt does not match the DPoP proof key")
    jkt = dpop_jkt or proof_jkt
    if jkt is None and client.sender_constraint == "dpop":
        raise InvalidRequest("a DPoP proof or dpop_jkt is required to bind the authorization code")
    return jkt


def verify_par_request(
    params: Mapping[str, str],
    *,
    client_id: str,
    client: ClientMetadata,
    resources: Collection[str],
    scopes: ScopePolicy,
    proof_jkt: str | None = None,
) -> VerifiedPARRequest:
    """Check a pushed authorization request (see the module doc for the order)."""
    # 1. RFC 9126 §2.1
    if "request_uri" in params:
        raise InvalidRequest("request_uri is not allowed in a pushed authorization request")
    if "request" in params:
        raise InvalidRequest("request objects are not supported; push the parameters")
    if params.get("client_id", client_id) != client_id:
        raise InvalidRequest("client_id does not match the authenticated client")
    # 2. response type
    if params.get("response_type") != "code":
        raise UnsupportedResponseType("response_type must be code")
    # 3. exact redirect URI
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None:
        raise InvalidRequest("redirect_uri is required")
    if redirect_uri not in client.redirect_uris:
        raise InvalidRequest("redirect_uri is not registered for this client")
    # 4. PKCE
    check_code_challenge(params.get("code_challenge"), params.get("code_challenge_method"))
    # 5. scopes
    requested = parse_scope(params.get("scope"))
    check_scopes(requested, tier=client.tier, client_scopes=client.scopes, policy=scopes)
    # 6. RFC 8707 resource
    resource = params.get("resource")
    if resource is None:
        raise InvalidTarget("resource is required (RFC 8707)")
    if resource not in resources:
        raise InvalidTarget("resource is not a known resource server")
    # 7. DPoP binding
    jkt = _binding(params, proof_jkt, client)
    return VerifiedPARRequest(
        client_id=client_id, redirect_uri=redirect_uri, scopes=requested, resource=resource,
        code_challenge=params["code_challenge"], state=_optional_short(params, "state"), dpop_jkt=jkt,
    )
