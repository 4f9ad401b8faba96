"""Software statements at registration: verification against trusted authorities, then revocation status.

``statement_verifier(trusted_authorities, policy, status)`` builds the ``StatementVerifier`` the server config
takes: ``hardened.core.software_statement.verify_software_statement`` (RFC 7591 §2.3) and then
``hardened.ports.statement_status.StatementStatus.check`` (revoked or suspended: ``unapproved_software_statement``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hardened.core.dcr_policy import StatementFacts
from hardened.core.software_statement import (
    SoftwareStatementPolicy,
    TrustedAuthority,
    VerifiedSoftwareStatement,
    verify_software_statement,
)
from hardened.server.config import StatementVerifier

__all__ = ["facts_of", "statement_verifier"]


def facts_of(verified: VerifiedSoftwareStatement) -> StatementFacts:
    """The registration-relevant facts of a verified statement."""
    meta = verified.metadata
    return StatementFacts(
        issuer=verified.issuer, jti=verified.jti, exp=verified.exp, software_id=meta.software_id,
        client_name=meta.client_name, org_name=meta.org_name, redirect_uris=tuple(meta.redirect_uris),
        scopes=tuple(meta.scopes), token_endpoint_auth_method=meta.token_endpoint_auth_method,
        grant_types=tuple(meta.grant_types), tier=meta.hardened_tier, sender_constraint=meta.sender_constraint,
        jwks=meta.jwks, software_version=meta.software_version,
    )


def statement_verifier(
    trusted_authorities: Sequence[TrustedAuthority], *, status: Any, policy: SoftwareStatementPolicy | None = None
) -> StatementVerifier:
    """Verify, then check status; every failure is one ``invalid_/unapproved_software_statement``."""
    chosen = policy or SoftwareStatementPolicy()

    def verify(jwt: str, now: float) -> StatementFacts:
        verified = verify_software_statement(jwt, trusted_authorities=trusted_authorities, policy=chosen, now=now)
        status.check(verified)
        return facts_of(verified)

    return verify
