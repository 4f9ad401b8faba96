"""The claims of a hardened software statement, typed (RFC 7591 §2 metadata names, §2.3 statements; HP-SS).

Every claim, its JSON type and its allowed values are listed in ``specs/software-statement.md``. The parser is
strict: a required claim must be present with exactly its type (``true`` is not a number, ``"1"`` is not a
boolean, a scope is one space-separated string), strings and arrays are bounded, URIs are absolute ``https``
(redirect URIs may also be loopback ``http`` for native agents, RFC 8252 §7.3), and ``jwks`` must be a JWKS of
allowed public signing keys. Unknown claims are ignored (RFC 7591 §2: "ignore any metadata it does not
understand"), within the payload size limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hardened.core.mtls import SUBJECT_PARAMETERS, tls_client_auth_subject
from hardened.errors import InvalidClientMetadata, InvalidSoftwareStatement, JoseError
from hardened.jose import KeySet

__all__ = [
    "AUTH_METHODS",
    "GRANT_TYPES",
    "SENDER_CONSTRAINTS",
    "StatementMetadata",
    "StatusReference",
    "parse_statement_metadata",
]

TIERS = ("baseline", "hardened", "attested")
SENDER_CONSTRAINTS = ("dpop", "mtls")
#: FAPI 2.0 SP §5.3.2.1: confidential clients only.
AUTH_METHODS = ("private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth")
GRANT_TYPES = ("authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange")
RESPONSE_TYPES = ("code",)
MAX_ID = 128
MAX_TEXT = 256
MAX_URI = 2048
MAX_URIS = 16
MAX_SCOPE = 1024
#: RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_ID = re.compile(r"[A-Za-z0-9._~:-]{1,128}")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True, slots=True)
class StatusReference:
    """draft-ietf-oauth-status-list §6.1: ``status.status_list`` = {``idx``, ``uri``} of this statement."""

    idx: int
    uri: str


@dataclass(frozen=True, slots=True)
class StatementMetadata:
    """The statement's own claims, each with its exact type."""

    software_id: str
    org_id: str
    org_name: str
    client_name: str
    redirect_uris: tuple[str, ...]
    scope: str
    token_endpoint_auth_method: str
    grant_types: tuple[str, ...]
    hardened_tier: str
    sender_constraint: str
    attestation_required: bool
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None
    response_types: tuple[str, ...] = ("code",)
    software_version: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    policy_uri: str | None = None
    tos_uri: str | None = None
    contacts: tuple[str, ...] = ()
    status: StatusReference | None = None
    #: RFC 8705 §2.1.2: the one ``tls_client_auth_*`` parameter (name -> value) of a ``tls_client_auth`` client
    tls_client_auth: Mapping[str, str] | None = None

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.scope.split(" "))


def _bad(name: str, what: str) -> InvalidSoftwareStatement:
    return InvalidSoftwareStatement(f"software statement: {name} claim {what}", detail=f"claim {name}")


def _get(claims: Mapping[str, Any], name: str, required: bool) -> Any:
    if name not in claims:
        if required:
            raise _bad(name, "is required")
        return None
    return claims[name]


def _text(claims: Mapping[str, Any], name: str, *, required: bool = True, max_len: int = MAX_TEXT,
          choices: tuple[str, ...] | None = None, pattern: re.Pattern[str] | None = None) -> Any:
    value = _get(claims, name, required)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > max_len or not value.isprintable():
        raise _bad(name, f"is not a printable string of at most {max_len} characters")
    if choices is not None and value not in choices:
        raise _bad(name, f"is not one of {', '.join(choices)}")
    if pattern is not None and not pattern.fullmatch(value):
        raise _bad(name, "has characters that are not allowed")
    return value


def check_uri(name: str, value: Any, *, loopback_http: bool = False) -> str:
    """An absolute https URI without fragment or userinfo (loopback http where ``loopback_http``)."""
    if not isinstance(value, str) or not value or len(value) > MAX_URI or not value.isascii() or " " in value:
        raise _bad(name, "is not a URI")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise _bad(name, "is not a URI") from None
    if parts.fragment or "#" in value or "@" in parts.netloc or not host:
        raise _bad(name, "must be absolute, with a host and no fragment or user info")
    if parts.scheme == "https" or (loopback_http and parts.scheme == "http" and host in _LOOPBACK):
        return value
    raise _bad(name, "must use https" + (" (or http on a loopback address)" if loopback_http else ""))


def _uri_list(claims: Mapping[str, Any], name: str, *, required: bool, loopback_http: bool = False) -> tuple[str, ...]:
    value = _get(claims, name, required)
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not 0 < len(value) <= MAX_URIS:
        raise _bad(name, f"is not an array of 1 to {MAX_URIS} URIs")
    if len(set(map(str, value))) != len(value):
        raise _bad(name, "has duplicates")
    return tuple(check_uri(name, v, loopback_http=loopback_http) for v in value)


def _choices_list(claims: Mapping[str, Any], name: str, allowed: tuple[str, ...], *, required: bool,
                  default: tuple[str, ...] = ()) -> tuple[str, ...]:
    value = _get(claims, name, required)
    if value is None and not required:
        return default
    if not isinstance(value, list) or not 0 < len(value) <= len(allowed):
        raise _bad(name, "is not a non-empty array")
    if any(v not in allowed for v in value) or len(set(value)) != len(value):
        raise _bad(name, f"may only hold distinct values of {', '.join(allowed)}")
    return tuple(value)


def _scope(claims: Mapping[str, Any]) -> str:
    value = _get(claims, "scope", True)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_SCOPE:
        raise _bad("scope", "is not a space-separated string")
    tokens = value.split(" ")
    if not all(_SCOPE_TOKEN.fullmatch(t) for t in tokens) or len(set(tokens)) != len(tokens):
        raise _bad("scope", "is not a list of distinct RFC 6749 §3.3 scope tokens")
    return value


def _key_material(claims: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, str | None]:
    """RFC 7591 §2: ``jwks`` and ``jwks_uri`` MUST NOT both be present; hardened requires exactly one."""
    jwks, jwks_uri = claims.get("jwks"), claims.get("jwks_uri")
    if ("jwks" in claims) == ("jwks_uri" in claims):
        raise _bad("jwks", "or jwks_uri is required, and not both")
    if jwks_uri is not None or "jwks_uri" in claims:
        return None, check_uri("jwks_uri", jwks_uri)
    try:
        KeySet.from_jwks(jwks, max_keys=8)
    except JoseError:
        raise _bad("jwks", "is not a JWKS of allowed public signing keys") from None
    return jwks, None


def _status(claims: Mapping[str, Any]) -> StatusReference | None:
    value = _get(claims, "status", False)
    if value is None:
        return None
    inner = value.get("status_list") if isinstance(value, dict) else None
    if not isinstance(inner, dict) or set(inner) != {"idx", "uri"}:
        raise _bad("status", "is not {status_list: {idx, uri}}")
    idx = inner["idx"]
    if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < 2**31:
        raise _bad("status", "idx is not a non-negative integer")
    return StatusReference(idx=idx, uri=check_uri("status", inner["uri"], loopback_http=True))


def _tls_client_auth(claims: Mapping[str, Any]) -> Mapping[str, str] | None:
    """RFC 8705 §2.1.2: exactly one subject parameter, when any is present (checked by ``hardened.core.mtls``)."""
    if not any(name in claims for name in SUBJECT_PARAMETERS):
        return None
    try:
        subject = tls_client_auth_subject(claims)
    except InvalidClientMetadata as exc:
        raise _bad("tls_client_auth_*", exc.description) from None
    name = next(n for n, kind in SUBJECT_PARAMETERS.items() if kind == subject.kind)
    return {name: subject.value}


def _check_coherence(meta: StatementMetadata) -> None:
    """The tier's demands hold together: an attested statement requires attestation (DESIGN §2); a
    ``tls_client_auth`` subject is checked against the auth method at registration (``dcr_policy``)."""
    if meta.hardened_tier == "attested" and not meta.attestation_required:
        raise _bad("attestation_required", "must be true for the attested tier")


def parse_statement_metadata(claims: Mapping[str, Any]) -> StatementMetadata:
    """Check and type every statement claim except the registered JWT claims (already checked by hardened.jose)."""
    attestation = _get(claims, "attestation_required", True)
    if not isinstance(attestation, bool):
        raise _bad("attestation_required", "is not a boolean")
    jwks, jwks_uri = _key_material(claims)
    contacts = _get(claims, "contacts", False) or []
    if not isinstance(contacts, list) or len(contacts) > 8 or not all(
            isinstance(c, str) and 0 < len(c) <= MAX_TEXT and c.isprintable() for c in contacts):
        raise _bad("contacts", "is not an array of at most 8 short strings")
    meta = StatementMetadata(
        software_id=_text(claims, "software_id", max_len=MAX_ID, pattern=_ID),
        org_id=_text(claims, "org_id", max_len=MAX_ID, pattern=_ID),
        org_name=_text(claims, "org_name"),
        client_name=_text(claims, "client_name"),
        redirect_uris=_uri_list(claims, "redirect_uris", required=True, loopback_http=True),
        scope=_scope(claims),
        token_endpoint_auth_method=_text(claims, "token_endpoint_auth_method", choices=AUTH_METHODS),
        grant_types=_choices_list(claims, "grant_types", GRANT_TYPES, required=True),
        hardened_tier=_text(claims, "hardened_tier", choices=TIERS),
        sender_constraint=_text(claims, "sender_constraint", choices=SENDER_CONSTRAINTS),
        attestation_required=attestation,
        jwks=jwks,
        jwks_uri=jwks_uri,
        response_types=_choices_list(claims, "response_types", RESPONSE_TYPES, required=False, default=("code",)),
        software_version=_text(claims, "software_version", required=False, max_len=64),
        client_uri=_opt_uri(claims, "client_uri"),
        logo_uri=_opt_uri(claims, "logo_uri"),
        policy_uri=_opt_uri(claims, "policy_uri"),
        tos_uri=_opt_uri(claims, "tos_uri"),
        contacts=tuple(contacts),
        status=_status(claims),
        tls_client_auth=_tls_client_auth(claims),
    )
    _check_coherence(meta)
    return meta


def _opt_uri(claims: Mapping[str, Any], name: str) -> str | None:
    return check_uri(name, claims[name]) if name in claims else None
