"""Errors of the hardened toolkit (RFC 6749 §5.2, RFC 6750 §3.1, RFC 9449 §7.1, RFC 7591 §3.2.2, ...).

Every check in ``hardened`` fails with exactly one exception from this tree; nothing else escapes a
verifier, whatever its input::

    HardenedError                       base of everything we raise on purpose
    ├── ConfigurationError              a deployment mistake, raised at start-up, never per request
    ├── JoseError                       hardened.jose: a JWS/JWK/JWT defect, with a stable ``code``
    └── OAuthError                      a registered OAuth error code, rendered by hardened.web
        ├── InvalidRequest              invalid_request            400  RFC 6749 §5.2
        ├── InvalidClient               invalid_client             401  RFC 6749 §5.2
        ├── InvalidGrant                invalid_grant              400  RFC 6749 §5.2
        ├── UnauthorizedClient          unauthorized_client        400  RFC 6749 §5.2
        ├── UnsupportedGrantType        unsupported_grant_type     400  RFC 6749 §5.2
        ├── UnsupportedResponseType     unsupported_response_type  400  RFC 6749 §4.1.2.1
        ├── InvalidScope                invalid_scope              400  RFC 6749 §5.2
        ├── AccessDenied                access_denied              403  RFC 6749 §4.1.2.1
        ├── ServerError                 server_error               500  RFC 6749 §4.1.2.1
        ├── TemporarilyUnavailable      temporarily_unavailable    503  RFC 6749 §4.1.2.1
        ├── InvalidToken                invalid_token              401  RFC 6750 §3.1
        ├── InsufficientScope           insufficient_scope         403  RFC 6750 §3.1
        ├── InvalidDPoPProof            invalid_dpop_proof         400  RFC 9449 §5, §7.1 (401 at a resource)
        ├── UseDPoPNonce                use_dpop_nonce             400  RFC 9449 §8, §9 (401 at a resource)
        ├── InvalidSoftwareStatement    invalid_software_statement 400  RFC 7591 §3.2.2
        ├── UnapprovedSoftwareStatement unapproved_software_statement 400 RFC 7591 §3.2.2
        ├── InvalidClientMetadata       invalid_client_metadata    400  RFC 7591 §3.2.2
        ├── InvalidRedirectURI          invalid_redirect_uri       400  RFC 7591 §3.2.2
        ├── InvalidRequestURI           invalid_request_uri        400  RFC 9126 §2.2 / OIDC Core §6.2
        ├── InvalidRequestObject        invalid_request_object     400  RFC 9101 §6.3
        ├── InvalidTarget               invalid_target             400  RFC 8707 §2 / RFC 8693 §2.2.2
        ├── UnsupportedTokenType        unsupported_token_type     400  RFC 7009 §2.2.1
        ├── InvalidClientAttestation    invalid_client_attestation 401  draft-ietf-oauth-attestation-...-10 §7.4
        ├── UseAttestationChallenge     use_attestation_challenge  400  draft-ietf-oauth-attestation-...-10 §7.4
        └── UseFreshAttestation         use_fresh_attestation      400  draft-ietf-oauth-attestation-...-10 §7.4

``description`` is public (it goes to the client in ``error_description``); ``detail`` is private and only
ever reaches logs. Neither may contain a secret or a token.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDenied",
    "ConfigurationError",
    "HardenedError",
    "InsufficientScope",
    "InvalidClient",
    "InvalidClientAttestation",
    "InvalidClientMetadata",
    "InvalidDPoPProof",
    "InvalidGrant",
    "InvalidRedirectURI",
    "InvalidRequest",
    "InvalidRequestObject",
    "InvalidRequestURI",
    "InvalidScope",
    "InvalidSoftwareStatement",
    "InvalidTarget",
    "InvalidToken",
    "JoseError",
    "OAuthError",
    "ServerError",
    "TemporarilyUnavailable",
    "UnapprovedSoftwareStatement",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "UnsupportedTokenType",
    "UseAttestationChallenge",
    "UseDPoPNonce",
    "UseFreshAttestation",
    "error_class",
]

_MAX_DESCRIPTION = 300


def _safe_text(text: str) -> str:
    """RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E; keep it so and short."""
    cleaned = "".join(c if (" " <= c <= "~" and c not in '"\\') else "?" for c in text)
    return cleaned[:_MAX_DESCRIPTION]


class HardenedError(Exception):
    """Base of every exception the toolkit raises on purpose."""


class ConfigurationError(HardenedError):
    """A deployment mistake (missing key, hook or trust anchor). Raised at start-up, never per request."""


class JoseError(HardenedError):
    """A defect in a JWS, JWK or JWT, with a stable machine ``code`` such as ``ERR_JWS_ALG_NOT_ALLOWED``.

    ``hardened.jose`` raises only this; callers in ``hardened.core`` translate it into the OAuth error of
    their context (``invalid_dpop_proof``, ``invalid_client``, ``invalid_software_statement``, ...).
    """

    def __init__(self, code: str, description: str, *, claim: str | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = _safe_text(description)
        self.claim = claim


class OAuthError(HardenedError):
    """An OAuth error with its registered code, HTTP status, public description and private detail."""

    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400

    def __init__(self, description: str = "", *, detail: str = "", headers: dict[str, str] | None = None) -> None:
        self.description = _safe_text(description)
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"{self.error}: {self.description}" + (f" ({detail})" if detail else ""))

    @classmethod
    def from_jose(cls, err: JoseError, prefix: str = "") -> OAuthError:
        """Wrap a JOSE defect: its description goes public (it names only the failed check), its code to logs."""
        description = f"{prefix}{err.description}" if prefix else err.description
        return cls(description, detail=err.code)

    def to_json(self) -> dict[str, str]:
        """RFC 6749 §5.2 body: ``error`` and, when there is one, ``error_description``. Never ``detail``."""
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequest(OAuthError):
    """RFC 6749 §5.2 ``invalid_request``: a malformed, missing or repeated parameter."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2 ``invalid_client``: client authentication failed."""

    error = "invalid_client"
    status_code = 401


class InvalidGrant(OAuthError):
    """RFC 6749 §5.2 ``invalid_grant``: the grant (code, refresh token, subject token) is invalid or spent."""

    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    """RFC 6749 §5.2 ``unauthorized_client``: this client may not use this grant type."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    """RFC 6749 §5.2 ``unsupported_grant_type``."""

    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    """RFC 6749 §4.1.2.1 ``unsupported_response_type``."""

    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    """RFC 6749 §5.2 ``invalid_scope``: unknown scope, or above the client's assurance tier."""

    error = "invalid_scope"


class AccessDenied(OAuthError):
    """RFC 6749 §4.1.2.1 ``access_denied``: the user or the policy refused."""

    error = "access_denied"
    status_code = 403


class ServerError(OAuthError):
    """RFC 6749 §4.1.2.1 ``server_error``: an unexpected failure, details in logs only."""

    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuthError):
    """RFC 6749 §4.1.2.1 ``temporarily_unavailable``."""

    error = "temporarily_unavailable"
    status_code = 503


class InvalidToken(OAuthError):
    """RFC 6750 §3.1 ``invalid_token``: expired, revoked, malformed or for another audience."""

    error = "invalid_token"
    status_code = 401


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1 ``insufficient_scope``: the token lacks a scope the request needs."""

    error = "insufficient_scope"
    status_code = 403


class InvalidDPoPProof(OAuthError):
    """RFC 9449 §5 / §7.1 ``invalid_dpop_proof`` (400 at an AS; 401 with WWW-Authenticate at a resource)."""

    error = "invalid_dpop_proof"


class UseDPoPNonce(OAuthError):
    """RFC 9449 §8 / §9 ``use_dpop_nonce``: retry with the nonce given in the ``DPoP-Nonce`` header."""

    error = "use_dpop_nonce"


class InvalidSoftwareStatement(OAuthError):
    """RFC 7591 §3.2.2 ``invalid_software_statement``: malformed, badly signed, expired or untrusted."""

    error = "invalid_software_statement"


class UnapprovedSoftwareStatement(OAuthError):
    """RFC 7591 §3.2.2 ``unapproved_software_statement``: valid but not approved here (revoked, suspended)."""

    error = "unapproved_software_statement"


class InvalidClientMetadata(OAuthError):
    """RFC 7591 §3.2.2 ``invalid_client_metadata``."""

    error = "invalid_client_metadata"


class InvalidRedirectURI(OAuthError):
    """RFC 7591 §3.2.2 ``invalid_redirect_uri``."""

    error = "invalid_redirect_uri"


class InvalidRequestURI(OAuthError):
    """RFC 9126 §2.2 / OIDC Core §6.2 ``invalid_request_uri``: unknown, expired, spent or another client's."""

    error = "invalid_request_uri"


class InvalidRequestObject(OAuthError):
    """RFC 9101 §6.3 ``invalid_request_object``."""

    error = "invalid_request_object"


class InvalidTarget(OAuthError):
    """RFC 8707 §2 / RFC 8693 §2.2.2 ``invalid_target``: unknown or disallowed resource or audience."""

    error = "invalid_target"


class UnsupportedTokenType(OAuthError):
    """RFC 7009 §2.2.1 ``unsupported_token_type``."""

    error = "unsupported_token_type"


class InvalidClientAttestation(OAuthError):
    """draft-ietf-oauth-attestation-based-client-auth-10 §7.4 ``invalid_client_attestation``."""

    error = "invalid_client_attestation"
    status_code = 401


class UseAttestationChallenge(OAuthError):
    """draft-ietf-oauth-attestation-based-client-auth-10 §7.4 ``use_attestation_challenge``."""

    error = "use_attestation_challenge"


class UseFreshAttestation(OAuthError):
    """draft-ietf-oauth-attestation-based-client-auth-10 §7.4 ``use_fresh_attestation``."""

    error = "use_fresh_attestation"


_BY_CODE: dict[str, type[OAuthError]] = {
    cls.error: cls
    for cls in (
        InvalidRequest, InvalidClient, InvalidGrant, UnauthorizedClient, UnsupportedGrantType,
        UnsupportedResponseType, InvalidScope, AccessDenied, ServerError, TemporarilyUnavailable, InvalidToken,
        InsufficientScope, InvalidDPoPProof, UseDPoPNonce, InvalidSoftwareStatement, UnapprovedSoftwareStatement,
        InvalidClientMetadata, InvalidRedirectURI, InvalidRequestURI, InvalidRequestObject, InvalidTarget,
        UnsupportedTokenType, InvalidClientAttestation, UseAttestationChallenge, UseFreshAttestation,
    )
}


def error_class(code: str) -> type[OAuthError]:
    """The exception class of a registered error code (clients use it to raise what a server answered)."""
    return _BY_CODE.get(code, InvalidRequest)
