"""A test authority for registration tests: signs statements for the World's agent and serves a status list."""

from __future__ import annotations

import secrets
from typing import Any

from hardened.adapters.authority_status import StatusListChecker
from hardened.clock import Clock
from hardened.core.status_list import encode_status_list
from hardened.jose import Typ
from hardened.server.statements import statement_verifier
from hardened.testing.software_statement import TestAuthority
from tests.server.world import REDIRECT, Keys


class StatementAuthority:
    """Statements for the agent of ``keys``; ``revoked`` holds status-list indexes marked revoked."""

    def __init__(self, keys: Keys, clock: Clock, issuer: str = "https://authority.example") -> None:
        self.auth = TestAuthority.create(issuer)
        self.keys = keys
        self.clock = clock
        self.revoked: set[int] = set()
        self.uri = issuer + "/statements/status-list"

    def statement(self, **overrides: Any) -> str:
        claims = self.auth.base_claims(
            self.clock.now(), jti=secrets.token_urlsafe(24), redirect_uris=[REDIRECT], software_id="sw-trading",
            client_name="Trading Agent", scope="trades:read trades:write",
            grant_types=["authorization_code", "refresh_token"], jwks={"keys": [self.keys.agent.public_jwk()]},
            status={"status_list": {"idx": 7, "uri": self.uri}})
        claims.pop("jwks_uri")
        claims.update(overrides)
        return self.auth.sign({k: v for k, v in claims.items() if v is not None})

    def status_list(self, uri: str) -> tuple[str, float | None]:
        now = int(self.clock.now())
        token = self.auth.sign({"iss": self.auth.issuer, "sub": self.uri, "iat": now, "exp": now + 3600, "ttl": 300,
                                "status_list": encode_status_list(dict.fromkeys(self.revoked, 1), size=1024)},
                               typ=Typ.STATUS_LIST)
        return token, None

    def verifier(self):
        status = StatusListChecker(self.status_list, authorities=[self.auth.trusted()], clock=self.clock, max_age=1)
        return statement_verifier([self.auth.trusted()], status=status)
