"""The DPoP binding check of the MCP layer and the upstream API, on ``hardened.web.dpop`` (RFC 9449 §7.1).

:func:`dpop_proof_check` builds the :class:`~hardened.mcp.guard.ProofCheck` a resource server uses: exactly one
proof, verified in RFC 9449 §4.3 order with the configured algorithms, ``htm``, ``htu`` against the configured
external URL (never ``Host``), ``ath`` of the presented token, the key's thumbprint equal to ``cnf.jkt``, and
single use through the replay cache (shared by every worker when it is the SQLite one). With nonces required, a
proof without a fresh server nonce is answered ``use_dpop_nonce`` with a ``DPoP-Nonce`` header (§9).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from hardened.clock import Clock
from hardened.core.dpop import DPoPPolicy
from hardened.core.dpop_nonce import NonceSource
from hardened.ports.replay import ReplayCache
from hardened.web.dpop import DPoPVerifier

__all__ = ["DPoPProofCheck", "dpop_proof_check"]


class DPoPProofCheck:
    """A :class:`~hardened.mcp.guard.ProofCheck` over a :class:`~hardened.web.dpop.DPoPVerifier`."""

    def __init__(self, verifier: DPoPVerifier) -> None:
        self.verifier = verifier

    def __call__(self, scope: Mapping[str, Any], *, access_token: str, jkt: str) -> None:
        self.verifier.check_resource_request(Request(scope), access_token, jkt)  # type: ignore[arg-type]

    def fresh_nonce_header(self) -> dict[str, str]:
        """RFC 9449 §8.2: where nonces are required, every answer carries a fresh one, so clients keep up."""
        return self.verifier.fresh_nonce_header()


def dpop_proof_check(external_url: str, *, replay: ReplayCache, clock: Clock, algorithms: tuple[str, ...],
                     nonces: NonceSource | None = None, nonce_required: bool = False) -> DPoPProofCheck:
    """The proof check for a server reached at ``external_url`` (scheme, host and port; the path comes from the
    request)."""
    policy = DPoPPolicy(algorithms=algorithms, nonce_required=nonce_required)
    return DPoPProofCheck(DPoPVerifier(policy, replay, nonces, clock, external_url))
