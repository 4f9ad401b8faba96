"""Software statements at registration: verification against trusted authorities, then revocation status.

``statement_verifier(trusted_authorities, status=...)`` builds the ``StatementVerifier`` the server config takes:
``hardened.core.software_statement.verify_software_statement`` (RFC 7591 §2.3: signature by a trusted authority,
typ, times, claims) and then ``hardened.ports.statement_status.StatementStatus.check`` (revoked or suspended:
``unapproved_software_statement``). ``configured_statement_verifier`` does the same from a deployment file, with
the authority's signed status list fetched over HTTP (``HTTPStatusList``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hardened.core.dcr_policy import StatementFacts
from hardened.core.software_statement import (
    SoftwareStatementPolicy,
    TrustedAuthority,
    VerifiedSoftwareStatement,
    verify_software_statement,
)
from hardened.jose import KeySet
from hardened.ports.statement_status import StatementStatus
from hardened.server.config import StatementVerifier

__all__ = ["configured_statement_verifier", "facts_of", "statement_verifier"]


def facts_of(verified: VerifiedSoftwareStatement) -> StatementFacts:
    """The registration-relevant facts of a verified statement."""
    meta = verified.metadata
    return StatementFacts(
        issuer=verified.issuer, jti=verified.jti, exp=verified.exp, software_id=meta.software_id,
        client_name=meta.client_name, org_name=meta.org_name, redirect_uris=tuple(meta.redirect_uris),
        scopes=tuple(meta.scopes), token_endpoint_auth_method=meta.token_endpoint_auth_method,
        grant_types=tuple(meta.grant_types), tier=meta.hardened_tier, sender_constraint=meta.sender_constraint,
        jwks=meta.jwks, software_version=meta.software_version, attestation_required=meta.attestation_required,
        tls_client_auth=meta.tls_client_auth,
    )


def statement_verifier(trusted_authorities: Sequence[TrustedAuthority], *, status: StatementStatus,
                       policy: SoftwareStatementPolicy | None = None) -> StatementVerifier:
    """Verify, then check status; every failure is one ``invalid_``/``unapproved_software_statement``."""
    chosen = policy or SoftwareStatementPolicy()
    authorities = tuple(trusted_authorities)

    def verify(jwt: str, now: float) -> StatementFacts:
        verified = verify_software_statement(jwt, trusted_authorities=authorities, policy=chosen, now=now)
        status.check(verified)
        return facts_of(verified)

    return verify


def configured_statement_verifier(authorities: Sequence[tuple[str, Mapping[str, Any]]]) -> StatementVerifier:
    """From ``(issuer, jwks)`` pairs: pinned keys, status lists fetched from each issuer's origin over HTTP."""
    import httpx

    from hardened.adapters.authority_status import HTTPStatusList

    trusted = [TrustedAuthority(issuer, KeySet.from_jwks(jwks)) for issuer, jwks in authorities]
    status = HTTPStatusList(httpx.Client(follow_redirects=False), authorities=trusted)
    return statement_verifier(trusted, status=status)
