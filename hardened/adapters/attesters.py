"""Trusted Client Attesters (draft-ietf-oauth-attestation-based-client-auth-10 §7.1 step 4, §9.8) and the built-in
verifier of Client Attestation JWTs.

:class:`AttesterRegistry` pins each attester's JWKS by issuer, from code or a JSON file read at start-up::

    {"attesters": [{"issuer": "https://attester.example", "jwks": {"keys": [{"kty": "EC", ...}]}}]}

Keys are never fetched at request time (no ``jku``, no ``x5c``: RFC 8725 §3.10); a mistake in the file is a
:class:`~hardened.errors.ConfigurationError` when it is loaded, never a per-request failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hardened.core.attestation import (
    ATTESTATION_POP_JWT,
    DPOP_COMBINED,
    AttestationPolicy,
    AttesterKeys,
    ChallengeCheck,
    VerifiedAttestationPoP,
    VerifiedClientAttestation,
    verify_client_attestation,
    verify_client_attestation_pop,
    verify_dpop_combined_pop,
)
from hardened.errors import ConfigurationError, InvalidClientAttestation, JoseError
from hardened.jose import KeySet
from hardened.ports.attestation import AttestationEvidence, AttestationResult, ReplayGuard

__all__ = ["AttesterRegistry", "TrustedAttesterVerifier"]

MAX_FILE_BYTES = 1 << 20
MAX_ATTESTERS = 256
_LOOPBACK = ("http://127.0.0.1", "http://localhost", "http://[::1]")


def _check_issuer(issuer: Any) -> str:
    if not isinstance(issuer, str) or not 0 < len(issuer) <= 2048 or any(c.isspace() for c in issuer):
        raise ConfigurationError("an attester issuer must be a short string without whitespace")
    loopback = any(issuer == p or issuer.startswith((p + ":", p + "/")) for p in _LOOPBACK)
    if not issuer.startswith("https://") and not loopback:
        raise ConfigurationError(f"attester issuer {issuer!r} must be an https URL (http only on loopback)")
    return issuer


class AttesterRegistry(Mapping[str, KeySet]):
    """Issuer -> pinned KeySet of every trusted Client Attester. Issuers are compared as exact strings."""

    def __init__(self, attesters: Mapping[str, KeySet] | Iterable[tuple[str, KeySet]] = ()) -> None:
        items = attesters.items() if isinstance(attesters, Mapping) else attesters
        self._by_issuer: dict[str, KeySet] = {}
        for issuer, keys in items:
            if _check_issuer(issuer) in self._by_issuer:
                raise ConfigurationError(f"attester {issuer!r} is listed twice")
            if not isinstance(keys, KeySet) or not keys.keys:
                raise ConfigurationError(f"attester {issuer!r} needs a non-empty KeySet")
            self._by_issuer[issuer] = keys
        if len(self._by_issuer) > MAX_ATTESTERS:
            raise ConfigurationError(f"at most {MAX_ATTESTERS} attesters")

    @classmethod
    def from_document(cls, document: Any) -> AttesterRegistry:
        """Build from ``{"attesters": [{"issuer": ..., "jwks": {...}}]}``; any defect is a ConfigurationError."""
        if not isinstance(document, Mapping) or not isinstance(document.get("attesters"), list):
            raise ConfigurationError('attester registry must be an object with an "attesters" array')
        pairs: list[tuple[str, KeySet]] = []
        for entry in document["attesters"]:
            if not isinstance(entry, Mapping) or set(entry) - {"issuer", "jwks", "name"}:
                raise ConfigurationError('each attester is {"issuer": ..., "jwks": {...}} (and an optional "name")')
            issuer = _check_issuer(entry.get("issuer"))
            try:
                pairs.append((issuer, KeySet.from_jwks(entry.get("jwks"))))
            except JoseError as err:
                raise ConfigurationError(f"attester {issuer!r}: {err.description}") from None
        return cls(pairs)

    @classmethod
    def from_json_file(cls, path: str | Path) -> AttesterRegistry:
        """Load a pinned registry from a JSON file at start-up."""
        file = Path(path)
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read attester registry {file}: {exc.strerror}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigurationError(f"attester registry {file} is larger than {MAX_FILE_BYTES} bytes")
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):
            raise ConfigurationError(f"attester registry {file} is not valid JSON") from None
        return cls.from_document(document)

    def to_document(self) -> dict[str, Any]:
        return {"attesters": [{"issuer": i, "jwks": k.to_jwks()} for i, k in self._by_issuer.items()]}

    def __getitem__(self, issuer: str) -> KeySet:
        return self._by_issuer[issuer]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_issuer)

    def __len__(self) -> int:
        return len(self._by_issuer)


class TrustedAttesterVerifier:
    """Built-in verifier (a): a Client Attestation JWT from a pinned attester plus its proof of possession.

    Recognises any request carrying an ``OAuth-Client-Attestation`` header. The proof is the PoP JWT (§7.2,
    its ``jti`` spent once through ``replay``) when the PoP header is present, else DPoP combined mode (§7.3)
    when the caller verified a DPoP proof, else the request is refused (§7 first rules).
    """

    name = "trusted_attester_jwt"

    def __init__(
        self,
        attesters: AttesterKeys,
        *,
        replay: ReplayGuard,
        policy: AttestationPolicy | None = None,
        challenges: ChallengeCheck | None = None,
        methods: Sequence[str] = (ATTESTATION_POP_JWT, DPOP_COMBINED),
    ) -> None:
        self.policy = policy or AttestationPolicy()
        if self.policy.require_challenge and challenges is None:
            raise ConfigurationError("require_challenge needs a challenge source (AttestationChallenges)")
        if not methods or set(methods) - {ATTESTATION_POP_JWT, DPOP_COMBINED}:
            raise ConfigurationError("methods must be attestation_pop_jwt and/or dpop_combined")
        if not callable(getattr(replay, "unique", None)):
            raise ConfigurationError("a replay cache with unique(key, ttl, now) is required")
        self._attesters = attesters
        self._replay = replay
        self._challenges = challenges
        self.methods = tuple(methods)

    def recognises(self, evidence: AttestationEvidence) -> bool:
        return evidence.attestation is not None

    def _proof(self, evidence: AttestationEvidence, att: VerifiedClientAttestation, now: float
               ) -> VerifiedAttestationPoP:
        if evidence.pop is not None and ATTESTATION_POP_JWT in self.methods:
            pop = verify_client_attestation_pop(
                evidence.pop, attestation=att, audience=evidence.audience, policy=self.policy, now=now,
                expected_challenge=evidence.expected_challenge, challenges=self._challenges)
            # §9.7: the jti is recorded only once every other check passed; a second use is a replay (§11.1).
            assert pop.replay_key is not None
            if not self._replay.unique(pop.replay_key, pop.replay_ttl, now):
                raise InvalidClientAttestation("the client attestation PoP was already used", detail="ERR_ATT_REPLAY")
            return pop
        if evidence.pop is None and evidence.dpop_jkt is not None and DPOP_COMBINED in self.methods:
            return verify_dpop_combined_pop(
                attestation=att, dpop_jkt=evidence.dpop_jkt, dpop_nonce=evidence.dpop_nonce, policy=self.policy,
                now=now, expected_challenge=evidence.expected_challenge, challenges=self._challenges)
        raise InvalidClientAttestation("a supported proof of possession of the attested key is required",
                                       detail="ERR_ATT_NO_POP")

    def verify(self, evidence: AttestationEvidence, *, now: float) -> AttestationResult:
        att = verify_client_attestation(evidence.attestation, client_id=evidence.client_id,
                                        attesters=self._attesters, policy=self.policy, now=now)
        pop = self._proof(evidence, att, now)
        return AttestationResult(verifier=self.name, method=pop.method, client_id=att.client_id,
                                 attester=att.attester, instance_jkt=att.cnf_jkt, expires_at=att.exp,
                                 claims=att.claims)
