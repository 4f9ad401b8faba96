"""Storage port of the authorization server (DESIGN §5). Adapters: ``memory_as`` (tests) and ``sqlite_as`` (default).

Every method is atomic. Secrets are never stored in the clear: tokens, codes and registration access tokens are
kept by SHA-256 hash; passwords as ``hashlib.scrypt`` hashes. Single-use values (request URIs, codes, statement
``jti``) are spent in one atomic step, so two workers can never both succeed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from hardened.core.access_token import TokenRecord
from hardened.core.dcr_policy import ClientMetadata
from hardened.core.par import VerifiedPARRequest

__all__ = [
    "CODE_RETENTION",
    "ASStore",
    "AuthorizationCode",
    "ClientRecord",
    "CodeRedemption",
    "Interaction",
    "PushedRequest",
    "TokenRecord",
    "User",
]


#: how long a spent or expired code is remembered for reuse detection (seconds past its expiry)
CODE_RETENTION = 86400.0


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A registered client (RFC 7591 §3.2.1) with the hash of its registration access token (RFC 7592 §3)."""

    client_id: str
    metadata: ClientMetadata
    registration_token_hash: str
    issued_at: float


@dataclass(frozen=True, slots=True)
class PushedRequest:
    """A pushed authorization request (RFC 9126 §2.2), single use, bound to its client."""

    request_uri: str
    request: VerifiedPARRequest
    expires_at: float


@dataclass(frozen=True, slots=True)
class Interaction:
    """A front-channel login/consent in progress, created when the request URI is spent at /authorize."""

    interaction_id: str
    request: VerifiedPARRequest
    browser_hash: str
    csrf: str
    expires_at: float
    subject: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    """An authorization code (RFC 6749 §4.1.2), stored by hash, with everything the token request is checked against."""

    code_hash: str
    grant_id: str
    request: VerifiedPARRequest
    subject: str
    claims: Mapping[str, Any]
    expires_at: float


@dataclass(frozen=True, slots=True)
class CodeRedemption:
    """A stored code and whether it is still unused (``first_use``)."""

    code: AuthorizationCode
    first_use: bool


@dataclass(frozen=True, slots=True)
class User:
    """A user of the login page; ``password_hash`` is ``scrypt$n$r$p$salt$hash`` (hex)."""

    username: str
    password_hash: str
    subject: str
    role: str
    tenant: str
    country: str

    def claims(self) -> dict[str, str]:
        return {"role": self.role, "tenant": self.tenant, "country": self.country}


@runtime_checkable
class ASStore(Protocol):
    """Clients, statement uses, pushed requests, interactions, codes, tokens, consents and users."""

    # clients (RFC 7591/7592); a statement jti is spent with the registration, atomically
    def add_client(self, record: ClientRecord, *, statement_jti: str | None, statement_exp: float) -> bool: ...
    def get_client(self, client_id: str) -> ClientRecord | None: ...
    def replace_client(self, record: ClientRecord, *, statement_jti: str | None, statement_exp: float) -> bool: ...
    def delete_client(self, client_id: str) -> bool: ...

    # pushed authorization requests (RFC 9126)
    def put_request(self, pushed: PushedRequest) -> None: ...
    def take_request(self, request_uri: str, client_id: str, now: float) -> VerifiedPARRequest | None: ...

    # login and consent interactions
    def put_interaction(self, interaction: Interaction) -> None: ...
    def get_interaction(self, interaction_id: str, now: float) -> Interaction | None: ...
    def set_interaction_subject(self, interaction_id: str, subject: str, claims: Mapping[str, Any]) -> bool: ...
    def take_interaction(self, interaction_id: str, now: float) -> Interaction | None: ...
    def count_login_failure(self, interaction_id: str) -> int: ...

    # failed sign-ins per account (NIST SP 800-63B §5.2.2 rate limiting), across interactions and workers;
    # ``account`` is a hash of the username, known or not, so the count tells nothing about who exists
    def record_account_failure(self, account: str, now: float, window: float) -> int: ...
    def account_failures(self, account: str, now: float) -> int: ...
    def clear_account_failures(self, account: str) -> None: ...

    # authorization codes: read, then spent once together with the tokens they issue (one transaction)
    def put_code(self, code: AuthorizationCode) -> None: ...
    def get_code(self, code_hash: str) -> CodeRedemption | None: ...
    def redeem_code(self, code_hash: str, tokens: Sequence[TokenRecord]) -> bool: ...

    # tokens by hash; a revoked grant accepts no more tokens
    def put_tokens(self, records: Sequence[TokenRecord]) -> bool: ...
    def get_token(self, token_hash: str) -> TokenRecord | None: ...
    def revoke_token(self, token_hash: str) -> bool: ...
    def revoke_grant(self, grant_id: str) -> int: ...

    # housekeeping: expired requests, interactions, sign-in counts and tokens go; codes and statement uses are kept
    # a day past expiry, so a late code reuse still revokes what it issued (RFC 6749 §4.1.2) and a statement
    # accepted within clock skew of its exp is still spent
    def purge_expired(self, now: float) -> int: ...

    # consents and users
    def put_consent(self, subject: str, client_id: str, scopes: Sequence[str]) -> None: ...
    def get_consent(self, subject: str, client_id: str) -> tuple[str, ...]: ...
    def put_user(self, user: User) -> None: ...
    def get_user(self, username: str) -> User | None: ...
