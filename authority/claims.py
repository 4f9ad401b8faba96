"""Software statement claims (RFC 7591 §2, §2.3; hardened HP-SS), documented in ``specs/software-statement.md``.

``build_statement_claims`` puts together the registered JWT claims (RFC 7519 §4.1), the authority's record of
the organisation and software, and the status reference (draft-ietf-oauth-status-list §6.1). Before anything is
signed, ``check_statement_claims`` runs the relying party's own parser over the result.
"""

from __future__ import annotations

from typing import Any

from authority.records import Organisation, Software
from hardened.core.statement_claims import StatementMetadata, parse_statement_metadata
from hardened.errors import InvalidClientMetadata, InvalidSoftwareStatement

__all__ = ["REGISTERED_CLAIMS", "build_statement_claims", "check_statement_claims"]

REGISTERED_CLAIMS = ("iss", "iat", "exp", "jti")


def build_statement_claims(*, issuer: str, org: Organisation, software: Software, jti: str, iat: int, exp: int,
                           idx: int, status_uri: str) -> dict[str, Any]:
    claims: dict[str, Any] = {"iss": issuer, "iat": iat, "exp": exp, "jti": jti,
                              "software_id": software.software_id, "org_id": org.org_id, "org_name": org.name}
    claims.update(software.metadata)
    claims["status"] = {"status_list": {"idx": idx, "uri": status_uri}}
    return claims


def check_statement_claims(claims: dict[str, Any]) -> StatementMetadata:
    """The relying party's parser; a failure here is the operator's input: ``invalid_client_metadata``."""
    try:
        return parse_statement_metadata(claims)
    except InvalidSoftwareStatement as exc:
        raise InvalidClientMetadata(exc.description.removeprefix("software statement: "), detail=exc.detail) from None
