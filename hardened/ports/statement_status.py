"""The revocation-status port an authorization server calls after ``verify_software_statement`` (HP-SS).

RFC 7591 §3.2.2 ``unapproved_software_statement``: a statement that verifies can still be refused because its
authority revoked it, revoked its software or organisation, or suspended the organisation. The AS calls
``check`` at registration and again on a schedule; adapters:

- :class:`hardened.adapters.authority_status.HTTPStatusList`: the authority's signed status list over HTTP, cached
  for an explicit max age, with an injected clock;
- :class:`hardened.adapters.authority_status.HTTPStatementStatus`: the per-statement status endpoint, asked afresh
  (registration time; unsigned, relies on TLS to the issuer);
- :class:`hardened.adapters.authority_status.StatusListChecker`: the same check over any source of status list
  tokens (in-process, for tests and for an AS embedded with its authority).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from hardened.core.software_statement import VerifiedSoftwareStatement

__all__ = ["StatementStatus"]


@runtime_checkable
class StatementStatus(Protocol):
    """Returns ``None`` when the statement is still approved by its authority.

    Raises :class:`hardened.errors.UnapprovedSoftwareStatement` when it is revoked or suspended, or when its status
    cannot be established (fail closed: an unreachable authority with no fresh cached list refuses).
    """

    def check(self, statement: VerifiedSoftwareStatement) -> None: ...
