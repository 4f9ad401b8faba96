"""One sender constraint per token (RFC 9449 §6, RFC 8705 §3), chosen by the client's registration.

A token carries ``cnf.jkt`` (DPoP) or ``cnf.x5t#S256`` (mutual TLS), never both. When a request offers both (a
DPoP proof over a mutual-TLS connection), the registration decides, never the request:

- ``sender_constraint: mtls``: bound to the presented certificate; a DPoP proof, if sent, is checked but binds
  nothing; no certificate is ``invalid_request``.
- ``sender_constraint: dpop``: bound to the proof's key (the proof is required by the grant); a certificate, if
  presented, binds nothing.
- ``none`` (baseline public clients): DPoP-bound when a proof is sent, else a bearer token; never
  certificate-bound (a public client has no registered certificate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hardened.errors import InvalidRequest

__all__ = ["Confirmation", "choose_confirmation"]


@dataclass(frozen=True, slots=True)
class Confirmation:
    """RFC 7800 §3.1 ``cnf`` of a token: at most one of ``jkt`` and ``x5t#S256``."""

    jkt: str | None = None
    x5t: str | None = None

    def __post_init__(self) -> None:
        if self.jkt is not None and self.x5t is not None:
            raise ValueError("a token carries one confirmation method")

    def cnf(self) -> dict[str, Any] | None:
        if self.jkt is not None:
            return {"jkt": self.jkt}
        if self.x5t is not None:
            return {"x5t#S256": self.x5t}
        return None


def choose_confirmation(sender_constraint: str, *, jkt: str | None, x5t: str | None) -> Confirmation:
    """The binding of a new token for a client registered with ``sender_constraint`` (module docstring)."""
    if sender_constraint == "mtls":
        if x5t is None:
            raise InvalidRequest("a client certificate is required: this client's tokens are certificate-bound")
        return Confirmation(x5t=x5t)
    return Confirmation(jkt=jkt)
