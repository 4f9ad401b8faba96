"""Configuration of the authorization server, checked at start-up (DESIGN §4: configuration mistakes fail early).

FAPI 2.0 Security Profile defaults: codes live 60 s (§5.3.2.1 item 4), PAR request URIs 60 s (< 600 s,
§5.3.2.2 item 12), access tokens 5 minutes, DPoP proofs and client assertions at most 60 s old.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from hardened.core.dcr_policy import RegistrationPolicy, StatementFacts
from hardened.core.par import PARPolicy
from hardened.core.scopes import ScopePolicy
from hardened.errors import ConfigurationError
from hardened.jose import KeySet, SigningKey
from hardened.ports.as_stores import ASStore
from hardened.ports.replay import ReplayCache
from hardened.server.mtls import MTLSConfig

__all__ = ["ResourceServer", "ServerConfig", "ServerStores", "StatementVerifier"]

#: Verifies a software statement (signature, trust, status) and returns its facts, or raises
#: ``invalid_software_statement`` / ``unapproved_software_statement``. Built by ``hardened.server.statements``.
StatementVerifier = Callable[[str, float], StatementFacts]


#: upper bounds (seconds): access tokens short-lived (DESIGN §1: minutes; RFC 9700 §2.2.1), refresh tokens bounded,
#: a sign-in of at most an hour, client assertions within their own 5-minute lifetime bound (RFC 7523 §3 item 4)
LIFETIME_BOUNDS = {
    "access_token_lifetime": 3600.0, "exchanged_token_lifetime": 3600.0, "refresh_token_lifetime": 30 * 86400.0,
    "interaction_lifetime": 3600.0, "assertion_max_age": 300.0,
}


@dataclass(frozen=True)
class ResourceServer:
    """A resource server (an MCP server): its RFC 8707 identifier, its client credentials, its upstreams."""

    client_id: str
    audience: str
    jwks: Mapping[str, Any]
    upstreams: tuple[str, ...] = ()
    upstream_scopes: tuple[str, ...] = ()
    keys: KeySet = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "keys", KeySet.from_jwks(self.jwks))
        except Exception as exc:
            raise ConfigurationError(f"resource server {self.client_id}: jwks is not a valid key set") from exc


@dataclass(frozen=True)
class ServerConfig:
    issuer: str
    signing_keys: tuple[SigningKey, ...]
    scopes: ScopePolicy
    resource_servers: tuple[ResourceServer, ...] = ()
    registration: RegistrationPolicy | None = None
    statement_verifier: StatementVerifier | None = None
    par: PARPolicy = field(default_factory=PARPolicy)
    code_lifetime: float = 60.0
    access_token_lifetime: float = 300.0
    refresh_token_lifetime: float = 8 * 3600.0
    exchanged_token_lifetime: float = 300.0
    interaction_lifetime: float = 600.0
    assertion_max_age: float = 60.0
    scope_descriptions: Mapping[str, str] = field(default_factory=dict)
    #: the attested tier: ordered attestation verifiers (hardened.ports.attestation) and optional challenges
    attestation_verifiers: tuple[Any, ...] = ()
    attestation_challenges: Any = None
    #: RFC 8705 mutual TLS (client certificates, certificate-bound tokens); see hardened.server.mtls
    mtls: MTLSConfig | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.issuer)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ConfigurationError("issuer must be an https URL (http only on loopback)")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigurationError("issuer must have no path, query or fragment")
        if not self.signing_keys:
            raise ConfigurationError("at least one signing key is required")
        if not 0 < self.code_lifetime <= 60:
            raise ConfigurationError("authorization codes live at most 60 seconds (FAPI 2.0 SP)")
        for name, bound in LIFETIME_BOUNDS.items():
            if not 0 < getattr(self, name) <= bound:  # NaN and infinity fail too
                raise ConfigurationError(f"{name} must be more than 0 and at most {bound:g} seconds")
        ids = [rs.client_id for rs in self.resource_servers]
        if len(set(ids)) != len(ids) or len({rs.audience for rs in self.resource_servers}) != len(ids):
            raise ConfigurationError("resource server client ids and audiences must be unique")
        registration = self.registration or RegistrationPolicy(scopes=self.scopes)
        object.__setattr__(self, "registration", replace(registration, attestation=bool(self.attestation_verifiers),
                                                         mtls=self.mtls is not None))
        if self.mtls is not None:
            self.mtls.check_resource_servers({rs.client_id: rs.jwks for rs in self.resource_servers})

    @property
    def policy(self) -> RegistrationPolicy:
        assert self.registration is not None
        return self.registration

    @property
    def resources(self) -> tuple[str, ...]:
        return tuple(rs.audience for rs in self.resource_servers)

    def resource_server(self, client_id: str) -> ResourceServer | None:
        return next((rs for rs in self.resource_servers if rs.client_id == client_id), None)

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")


@dataclass(frozen=True)
class ServerStores:
    """The AS records and the replay cache shared by every worker (client assertion and DPoP ``jti``)."""

    records: ASStore
    replay: ReplayCache
