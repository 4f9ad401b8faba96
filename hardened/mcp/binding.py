"""The DPoP binding check of the MCP layer and the upstream API, on ``hardened.web.dpop`` (RFC 9449 §7.1).

:func:`dpop_proof_check` builds the :class:`~hardened.mcp.guard.ProofCheck` a resource server uses: exactly one
proof, verified in RFC 9449 §4.3 order with the configured algorithms, ``htm``, ``htu`` against the configured
external URL (never ``Host``), ``ath`` of the presented token, the key's thumbprint equal to ``cnf.jkt``, and
single use through the replay cache (shared by every worker when it is the SQLite one). With nonces required, a
proof without a fresh server nonce is answered ``use_dpop_nonce`` with a ``DPoP-Nonce`` header (§9).

Per request, the common case (no query string, exactly one well-formed ``Authorization: DPoP <token>`` equal to
the token checked, exactly one ``DPoP`` header without a comma, a raw path) is read straight from the ASGI scope
and verified with the same core functions as :meth:`~hardened.web.dpop.DPoPVerifier.check_resource_request`;
anything else goes through that method itself, which raises the exact error. No request object is built twice.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from hardened.clock import Clock
from hardened.core.dpop import DPoPPolicy
from hardened.core.dpop_nonce import NonceSource
from hardened.core.htu import join_base_and_path
from hardened.ports.replay import ReplayCache
from hardened.web.dpop import MAX_AUTHORIZATION, DPoPVerifier
from hardened.web.token68 import TOKEN68

__all__ = ["DPoPProofCheck", "dpop_proof_check"]


def _one_value(headers: Any, name: bytes) -> bytes | None:
    """The value of header ``name`` (ASGI: lowercase, as Starlette reads it) when it occurs exactly once, else
    ``None`` (then the full check decides)."""
    found = None
    for key, value in headers:
        if key == name:
            if found is not None:
                return None
            found = value
    return found


class DPoPProofCheck:
    """A :class:`~hardened.mcp.guard.ProofCheck` over a :class:`~hardened.web.dpop.DPoPVerifier`."""

    def __init__(self, verifier: DPoPVerifier) -> None:
        self.verifier = verifier
        self._max_proof = verifier.policy.max_proof

    def __call__(self, scope: Mapping[str, Any], *, access_token: str, jkt: str) -> None:
        proof, path = self._plain_request(scope, access_token, jkt)
        if proof is None or path is None:  # anything unusual: the full check, with its exact errors
            self.verifier.check_resource_request(Request(scope), access_token, jkt)  # type: ignore[arg-type]
            return
        self._verify(scope["method"], join_base_and_path(self.verifier.external_base_url, path), proof,
                     access_token, jkt)

    def _plain_request(self, scope: Mapping[str, Any], access_token: str,
                       jkt: str) -> tuple[str | None, str | None]:
        """RFC 9449 §7.1 / RFC 6750 §2.1 pre-checks on the raw scope: the proof text and the raw path, or ``None``
        when the request is not the common well-formed case."""
        raw_path, headers = scope.get("raw_path"), scope["headers"]
        if not jkt or scope.get("query_string") or not isinstance(raw_path, bytes):
            return None, None
        authorization, dpop = _one_value(headers, b"authorization"), _one_value(headers, b"dpop")
        if authorization is None or dpop is None or len(authorization) > MAX_AUTHORIZATION:
            return None, None
        scheme, token = authorization[:5], authorization[5:]
        if scheme.lower() != b"dpop " or not TOKEN68.fullmatch(token.decode("latin-1")):
            return None, None
        if not hmac.compare_digest(token, access_token.encode("utf-8", "replace")):
            return None, None
        proof = dpop.decode("latin-1").strip()
        if not proof or "," in proof or len(proof) > self._max_proof:
            return None, None
        return proof, raw_path.decode("latin-1").split("?", 1)[0]

    def _verify(self, method: str, uri: str, proof: str, access_token: str, jkt: str) -> None:
        """RFC 9449 §4.3 checks and §11.1 single use: the very checks ``DPoPVerifier`` runs on its slow path."""
        self.verifier.check_proof(proof, method=method, uri=uri, access_token=access_token, jkt=jkt)

    def fresh_nonce_header(self) -> dict[str, str]:
        """RFC 9449 §8.2: where nonces are required, every answer carries a fresh one, so clients keep up."""
        return self.verifier.fresh_nonce_header()


def dpop_proof_check(external_url: str, *, replay: ReplayCache, clock: Clock, algorithms: tuple[str, ...],
                     nonces: NonceSource | None = None, nonce_required: bool = False) -> DPoPProofCheck:
    """The proof check for a server reached at ``external_url`` (scheme, host and port; the path comes from the
    request)."""
    policy = DPoPPolicy(algorithms=algorithms, nonce_required=nonce_required)
    return DPoPProofCheck(DPoPVerifier(policy, replay, nonces, clock, external_url))
