"""Dynamic client registration policy (RFC 7591 §2, §3.1.1, §3.2.2; RFC 7592) for the hardened tiers (DESIGN §2).

Two paths:

- **hardened** (a verified software statement): RFC 7591 §2.3 "the values in the software statement take
  precedence"; a request value that contradicts one is an error, ``invalid_redirect_uri`` for redirect URIs and
  ``invalid_client_metadata`` otherwise. Redirect URIs, scopes, keys and auth method come from the statement; the
  method is ``private_key_jwt``; tokens are sender-constrained (DPoP).
- **baseline** (a setting): stock MCP clients register as public clients (``token_endpoint_auth_method: none``,
  PKCE), and can only hold the scopes marked baseline.

Everything else (PKCE S256, lifetimes, refresh tokens, grant types) the AS dictates by policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from hardened.core.mtls import SUBJECT_PARAMETERS, check_self_signed_registration, tls_client_auth_subject
from hardened.core.scopes import ScopePolicy, parse_scope, tier_at_least
from hardened.errors import InvalidClientMetadata, InvalidRedirectURI, InvalidSoftwareStatement, JoseError
from hardened.jose import KeySet

__all__ = [
    "ClientMetadata", "RegistrationPolicy", "StatementFacts", "check_redirect_uri", "verify_registration_request",
]

MAX_REDIRECT_URIS = 8
MAX_URI = 512
_LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
#: RFC 8705 §2.1, §2.2
MTLS_AUTH_METHODS = ("tls_client_auth", "self_signed_tls_client_auth")


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    """What the AS registered for a client (RFC 7591 §2), after policy."""

    client_name: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    token_endpoint_auth_method: str
    tier: str
    sender_constraint: str
    grant_types: tuple[str, ...] = ("authorization_code",)
    jwks: Mapping[str, Any] | None = None
    software_id: str | None = None
    software_version: str | None = None
    org_name: str | None = None
    authority: str | None = None
    #: RFC 8705 §2.1.2: the one ``tls_client_auth_*`` parameter (name -> value) of a tls_client_auth client
    tls_client_auth: Mapping[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        """RFC 7591 §3.2.1 metadata members (without ``client_id`` and credentials)."""
        out: dict[str, Any] = {
            "client_name": self.client_name, "redirect_uris": list(self.redirect_uris),
            "scope": " ".join(self.scopes), "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": list(self.grant_types), "response_types": ["code"], "hardened_tier": self.tier,
            "dpop_bound_access_tokens": self.sender_constraint == "dpop",
        }
        for name in ("jwks", "software_id", "software_version"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out.update(self.tls_client_auth or {})
        if self.sender_constraint == "mtls":  # RFC 8705 §3.4
            out["tls_client_certificate_bound_access_tokens"] = True
        return out


@dataclass(frozen=True, slots=True)
class StatementFacts:
    """The claims of a software statement that registration uses, after the statement verified (RFC 7591 §2.3)."""

    issuer: str
    jti: str
    exp: float
    software_id: str
    client_name: str
    org_name: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    token_endpoint_auth_method: str
    grant_types: tuple[str, ...]
    tier: str
    sender_constraint: str
    jwks: Mapping[str, Any] | None
    software_version: str | None = None
    attestation_required: bool = False
    tls_client_auth: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RegistrationPolicy:
    """FAPI 2.0 defaults: baseline tier off, refresh tokens on, one registration per statement ``jti``."""

    scopes: ScopePolicy = field(default_factory=ScopePolicy)
    baseline_enabled: bool = False
    refresh_tokens: bool = True
    statement_reuse: bool = False
    attestation: bool = False  #: the AS verifies client attestation (the attested tier is offered)
    mtls: bool = False  #: the AS takes client certificates (RFC 8705 auth methods and binding are offered)


def check_redirect_uri(uri: object, *, allow_loopback_http: bool) -> str:
    """An absolute https URI (or loopback http for native apps, RFC 8252 §7.3) without a fragment (RFC 6749 §3.1.2)."""
    # RFC 3986 §2: a URI is printable ASCII; anything else (spaces, controls, raw Unicode) would also break the
    # Location and Content-Security-Policy headers it ends up in.
    if not isinstance(uri, str) or not 0 < len(uri) <= MAX_URI or any(not "\x21" <= c <= "\x7e" for c in uri):
        raise InvalidRedirectURI("a redirect URI is not a printable ASCII string of at most 512 characters")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        raise InvalidRedirectURI("a redirect URI is not a URI") from None
    if parts.fragment or "#" in uri or not host:
        raise InvalidRedirectURI("a redirect URI must be absolute and have no fragment")
    if parts.scheme == "https" or (parts.scheme == "http" and allow_loopback_http and host in _LOOPBACK):
        return uri
    raise InvalidRedirectURI("a redirect URI must use https (http only on loopback for public clients)")


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _contradicts(name: str, requested: Any, stated: Any) -> bool:
    if name in ("redirect_uris", "grant_types"):
        return not _string_list(requested) or set(requested) != set(stated)
    if name == "scope":
        try:
            return set(parse_scope(requested)) != set(stated)
        except Exception:
            return True
    return requested != stated


def _hardened(body: Mapping[str, Any], facts: StatementFacts, policy: RegistrationPolicy) -> ClientMetadata:
    stated = {"redirect_uris": list(facts.redirect_uris), "scope": facts.scopes, "jwks": facts.jwks,
              "token_endpoint_auth_method": facts.token_endpoint_auth_method, "grant_types": list(facts.grant_types),
              "client_name": facts.client_name, "software_id": facts.software_id}
    # RFC 7591 §2.3: statement values win; a contradicting request value is an error.
    for name, value in stated.items():
        if name in body and _contradicts(name, body[name], value):
            if name == "redirect_uris":
                raise InvalidRedirectURI("redirect_uris contradict the software statement")
            raise InvalidClientMetadata(f"{name} contradicts the software statement")
    if "jwks_uri" in body:
        raise InvalidClientMetadata("jwks_uri is not accepted; keys come from the software statement")
    _check_auth_method(body, facts, policy)
    if not tier_at_least(facts.tier, "hardened"):
        raise InvalidClientMetadata("a software statement registers the hardened tier or above")
    _check_keys(facts.jwks)
    for uri in facts.redirect_uris:  # the authority vetted them; loopback http only for native agents (RFC 8252)
        check_redirect_uri(uri, allow_loopback_http=True)
    # The attested tier needs client attestation at this AS; without it an "attested" statement holds the
    # hardened tier, but a statement that *requires* attestation is refused (never silently weakened).
    if facts.attestation_required and not policy.attestation:
        raise InvalidClientMetadata("the software statement requires client attestation, which is not offered here")
    tier = "attested" if policy.attestation and (facts.tier == "attested" or facts.attestation_required) \
        else "hardened"
    _check_registered_scopes(facts.scopes, tier, policy)
    allowed_grants = {"authorization_code"} | ({"refresh_token"} if policy.refresh_tokens else set())
    return ClientMetadata(
        client_name=facts.client_name, redirect_uris=facts.redirect_uris, scopes=facts.scopes,
        token_endpoint_auth_method=facts.token_endpoint_auth_method, tier=tier,
        sender_constraint=facts.sender_constraint, tls_client_auth=facts.tls_client_auth,
        grant_types=tuple(g for g in ("authorization_code", "refresh_token") if g in facts.grant_types
                          and g in allowed_grants) or ("authorization_code",),
        jwks=facts.jwks, software_id=facts.software_id, software_version=facts.software_version,
        org_name=facts.org_name, authority=facts.issuer,
    )


def _check_auth_method(body: Mapping[str, Any], facts: StatementFacts, policy: RegistrationPolicy) -> None:
    """FAPI 2.0 SP §5.3.2.1 methods; RFC 8705 §2 methods and §3 binding only where the AS takes certificates.
    The ``tls_client_auth_*`` subject comes from the statement; a request value that differs contradicts it."""
    method = facts.token_endpoint_auth_method
    if method != "private_key_jwt" and not (policy.mtls and method in MTLS_AUTH_METHODS):
        methods = "private_key_jwt" + (", tls_client_auth or self_signed_tls_client_auth" if policy.mtls else "")
        raise InvalidClientMetadata(f"token_endpoint_auth_method must be {methods}")
    if facts.sender_constraint != "dpop" and not (policy.mtls and facts.sender_constraint == "mtls"):
        raise InvalidClientMetadata("only DPoP sender-constrained tokens are offered here" if not policy.mtls
                                    else "sender_constraint must be dpop or mtls")
    stated = facts.tls_client_auth or {}
    for name in SUBJECT_PARAMETERS:
        if name in body and body[name] != stated.get(name):
            raise InvalidClientMetadata(f"{name} contradicts the software statement")
    if (method == "tls_client_auth") != bool(stated):
        raise InvalidClientMetadata("a tls_client_auth_* subject is required with tls_client_auth, and only with it")
    if method == "tls_client_auth":
        tls_client_auth_subject(stated)
    elif method == "self_signed_tls_client_auth":
        check_self_signed_registration(facts.jwks)


def _check_keys(jwks: Mapping[str, Any] | None) -> None:
    """HP-DCR-10: the client's keys come by value, as the authority vetted and signed them. A ``jwks_uri`` would
    let the key set change after vetting, and would make this AS fetch from an address a client chose."""
    if jwks is None:
        raise InvalidClientMetadata("this authorization server needs the client's keys by value: the software "
                                    "statement carries jwks_uri, not jwks")
    try:
        KeySet.from_jwks(jwks)
    except JoseError as err:
        raise InvalidSoftwareStatement("the software statement's jwks is not a valid public key set",
                                       detail=err.code) from None


def _check_registered_scopes(scopes: tuple[str, ...], tier: str, policy: RegistrationPolicy) -> None:
    allowed = set(policy.scopes.allowed_for(tier))
    if not scopes or any(s not in allowed for s in scopes):
        raise InvalidClientMetadata(f"scopes must be known scopes of the {tier} tier")


def _string(body: Mapping[str, Any], name: str, default: str) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or not 0 < len(value) <= 200:
        raise InvalidClientMetadata(f"{name} must be a string of 1 to 200 characters")
    return value


def _baseline(body: Mapping[str, Any], policy: RegistrationPolicy) -> ClientMetadata:
    if not policy.baseline_enabled:
        raise InvalidSoftwareStatement("a software statement is required to register here")
    if body.get("token_endpoint_auth_method", "none") != "none":
        raise InvalidClientMetadata("without a software statement only public clients (none) may register")
    if "jwks" in body or "jwks_uri" in body:
        raise InvalidClientMetadata("public clients do not register keys")
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not 0 < len(uris) <= MAX_REDIRECT_URIS:
        raise InvalidRedirectURI(f"redirect_uris must be a list of 1 to {MAX_REDIRECT_URIS} URIs")
    checked = tuple(dict.fromkeys(check_redirect_uri(u, allow_loopback_http=True) for u in uris))
    baseline = policy.scopes.allowed_for("baseline")
    try:
        scopes = parse_scope(body["scope"]) if "scope" in body else baseline
    except Exception:
        raise InvalidClientMetadata("scope is malformed") from None
    _check_registered_scopes(tuple(scopes), "baseline", policy)
    grants = body.get("grant_types", ["authorization_code"])
    if not _string_list(grants) or not set(grants) <= {"authorization_code", "refresh_token"}:
        raise InvalidClientMetadata("grant_types may only be authorization_code and refresh_token")
    if "refresh_token" in grants and not policy.refresh_tokens:
        grants = [g for g in grants if g != "refresh_token"]
    return ClientMetadata(
        client_name=_string(body, "client_name", "MCP client"), redirect_uris=checked, scopes=tuple(scopes),
        token_endpoint_auth_method="none", tier="baseline", sender_constraint="none",  # noqa: S106 - an auth method name
        grant_types=tuple(dict.fromkeys(["authorization_code", *grants])),
    )


def verify_registration_request(
    body: Mapping[str, Any], *, statement: StatementFacts | None, policy: RegistrationPolicy
) -> ClientMetadata:
    """RFC 7591 §3.1: turn a registration request (and its verified statement, if any) into client metadata."""
    if statement is not None:
        return _hardened(body, statement, policy)
    return _baseline(body, policy)
