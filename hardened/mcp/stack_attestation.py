"""The demo stack's attested tier: the AS trusts the authority as Client Attester (docs/attester.md).

- :data:`ATTESTED_SCOPES`: ``trades:audit``, the one scope marked ``attested`` (DESIGN §2): only a client that
  presented valid client attestation in that flow holds it (draft-ietf-oauth-attestation-based-client-auth-10,
  "ABCA", §7.6). No tool needs it yet; it shows the tier.
- :func:`attestation_config`: the ``ServerConfig`` members: a :class:`TrustedAttesterVerifier` over the authority's
  published attester keys (:class:`AuthorityAttesters`, refreshed), a SQLite replay cache for PoP ``jti`` s, and
  stateless challenges that every proof must carry (``require_challenge``, ABCA §6, §7.4).
- :func:`ensure_attester_key`: the authority's first attester key, made at start so the AS can load it.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx

from authority.attester import AuthorityAttester
from authority.service import Authority
from hardened.adapters.attesters import TrustedAttesterVerifier
from hardened.adapters.authority_attesters import AuthorityAttesters
from hardened.adapters.sqlite_replay import SQLiteReplayCache
from hardened.clock import SystemClock
from hardened.core.attestation import AttestationPolicy
from hardened.core.attestation_challenge import AttestationChallenges

__all__ = ["ATTESTED_DESCRIPTIONS", "ATTESTED_SCOPES", "attestation_config", "ensure_attester_key"]

ATTESTED_SCOPES = {"trades:audit": "attested"}
ATTESTED_DESCRIPTIONS = {"trades:audit": "audit your organisation's trades (attested agent instances only)"}


def ensure_attester_key(authority: Authority) -> None:
    """The authority's first attester key (audited as ``attester_key.create``), if it has none yet."""
    AuthorityAttester(authority).ensure_key(actor="stack")


def attestation_config(folder: Path, *, issuer: str, authority_url: str) -> dict[str, Any]:
    """``attestation_verifiers`` and ``attestation_challenges`` for the AS at ``issuer`` (module doc)."""
    clock = SystemClock()
    folder.mkdir(parents=True, exist_ok=True)
    challenges = AttestationChallenges(secrets.token_bytes(32), audience=issuer)
    attesters = AuthorityAttesters(httpx.Client(timeout=10), [authority_url], clock=clock, max_age=60.0,
                                   retry_after=1.0)
    verifier = TrustedAttesterVerifier(attesters, replay=SQLiteReplayCache(folder / "attestation-replay.db"),
                                       policy=AttestationPolicy(require_challenge=True), challenges=challenges)
    return {"attestation_verifiers": (verifier,), "attestation_challenges": challenges}
