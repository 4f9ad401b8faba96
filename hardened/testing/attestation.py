"""Hypothesis strategies for client attestations and their PoPs (draft-ietf-oauth-attestation-based-client-auth-10).

A :class:`AttestationWorld` holds one trusted attester, one untrusted one, a client instance key, another key,
the client id, this server's audience, a challenge source and a fixed ``now``. From it:

- :func:`valid_cases` draws accepted (attestation, PoP) pairs: varied ``iat``/``exp``, ``jti``, optional
  challenge (fresh or from the previous time step), extra claims that must be ignored (§4 rule 1, §5.1 rule 1);
- :func:`defective_cases` draws one defect from :data:`DEFECTS`, each with the exact error class and the
  ``detail`` codes the verifier must answer with.

Use them to fuzz your own deployment::

    world = AttestationWorld.create()
    @given(defective_cases(world))
    def test_refused(case): ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import strategies as st

from hardened.core.attestation import AttestationPolicy
from hardened.core.attestation_challenge import AttestationChallenges
from hardened.errors import InvalidClientAttestation, OAuthError, UseAttestationChallenge, UseFreshAttestation
from hardened.jose import KeySet, SigningKey, Typ, b64url_encode

__all__ = ["DEFECTS", "AttestationCase", "AttestationWorld", "defective_cases", "valid_cases"]

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z, hardened.clock.FixedClock's default


@dataclass(frozen=True)
class AttestationCase:
    """One request's attestation evidence and what a verifier must answer (``error`` None = accepted)."""

    defect: str
    attestation: str
    pop: str
    policy: AttestationPolicy
    error: type[OAuthError] | None = None
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttestationWorld:
    """Keys and names for one server and one client instance, with a fixed clock.

    ``attestation(**claims)`` and ``pop(**claims)`` sign with overridden claims; ``None`` removes a claim.
    """

    attester_issuer: str
    attester_key: SigningKey
    untrusted_key: SigningKey
    instance_key: SigningKey
    other_key: SigningKey
    client_id: str
    audience: str
    challenges: AttestationChallenges
    now: float = NOW
    policy: AttestationPolicy = field(default_factory=AttestationPolicy)

    @classmethod
    def create(cls, *, alg: str = "ES256", instance_alg: str = "ES256", now: float = NOW) -> AttestationWorld:
        audience = "https://as.example.org"
        return cls(
            attester_issuer="https://attester.example.org", attester_key=SigningKey.generate(alg),
            untrusted_key=SigningKey.generate(alg), instance_key=SigningKey.generate(instance_alg),
            other_key=SigningKey.generate(instance_alg), client_id="agent-7f3a", audience=audience,
            challenges=AttestationChallenges(b"attestation-test-secret-0123456789abcdef", audience), now=now,
        )

    @property
    def attesters(self) -> dict[str, KeySet]:
        return {self.attester_issuer: KeySet([self.attester_key.public_key])}

    def attestation_claims(self, **overrides: Any) -> dict[str, Any]:
        claims: dict[str, Any] = {"iss": self.attester_issuer, "sub": self.client_id, "iat": int(self.now) - 60,
                                  "exp": int(self.now) + 3600, "cnf": {"jwk": self.instance_key.public_jwk()}}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def attestation(self, *, signer: SigningKey | None = None, typ: str = Typ.CLIENT_ATTESTATION,
                    **overrides: Any) -> str:
        return (signer or self.attester_key).sign_jws(self.attestation_claims(**overrides), typ=typ)

    def pop(self, *, signer: SigningKey | None = None, typ: str = Typ.CLIENT_ATTESTATION_POP, **overrides: Any) -> str:
        claims: dict[str, Any] = {"aud": self.audience, "jti": "jti-0", "iat": int(self.now)}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return (signer or self.instance_key).sign_jws(claims, typ=typ, include_kid=False)

    def private_instance_jwk(self) -> dict[str, Any]:
        """The instance key's public JWK plus its private ``d`` (EC/OKP): what a careless attester might embed."""
        private: Any = serialization.load_pem_private_key(self.instance_key.private_pem(), password=None)
        if isinstance(private, ec.EllipticCurvePrivateKey):
            d = private.private_numbers().private_value.to_bytes(32, "big")
        elif isinstance(private, rsa.RSAPrivateKey):
            value = private.private_numbers().d
            d = value.to_bytes((value.bit_length() + 7) // 8, "big")
        else:
            d = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())
        return {**self.instance_key.public_jwk(), "d": b64url_encode(d)}

    def dpop_proof(self) -> str:
        """A DPoP proof (RFC 9449 §4.2) signed by the instance key: a JWT of another kind."""
        claims = {"htm": "POST", "htu": self.audience + "/token", "iat": int(self.now), "jti": "dpop-1"}
        return self.instance_key.sign_jws(claims, typ=Typ.DPOP, include_kid=False,
                                          header={"jwk": self.instance_key.public_jwk()})


_text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)
_jti = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=8, max_size=64)
_extras = st.dictionaries(st.sampled_from(["x-build", "platform", "aal", "note"]),
                          st.one_of(st.integers(-5, 5), _text, st.booleans()), max_size=3)


@st.composite
def valid_cases(draw: st.DrawFn, world: AttestationWorld) -> AttestationCase:
    """Accepted attestation + PoP pairs, with or without a (fresh) server challenge."""
    now = int(world.now)
    policy = world.policy
    lifetime = int(policy.max_attestation_lifetime or 86400)
    iat = now - draw(st.integers(0, lifetime - 1))
    att = world.attestation(iat=iat, exp=draw(st.integers(now + 1, iat + lifetime)), **draw(_extras))
    use_challenge = draw(st.booleans())
    challenge = None
    if use_challenge:
        issued_at = world.now - draw(st.sampled_from([0.0, world.challenges.step]))
        challenge = world.challenges.issue(issued_at)
    pop_iat = now + draw(st.integers(-int(policy.pop_max_age) + 1, int(policy.max_future_skew)))
    extras = {"challenge": challenge} if challenge else {}
    pop = world.pop(jti=draw(_jti), iat=pop_iat, **extras, **draw(_extras))
    return AttestationCase("valid", att, pop, replace(policy, require_challenge=use_challenge))


def _b64json(value: Any) -> str:
    return b64url_encode(json.dumps(value).encode())


def _unsigned(world: AttestationWorld) -> str:
    header = {"alg": "none", "typ": Typ.CLIENT_ATTESTATION}
    return f"{_b64json(header)}.{_b64json(world.attestation_claims())}."


_BAD = InvalidClientAttestation
#: Each defect: (error class, acceptable ``detail`` codes).
DEFECTS: dict[str, tuple[type[OAuthError], tuple[str, ...]]] = {
    "untrusted_attester": (_BAD, ("ERR_ATT_UNTRUSTED_ATTESTER",)),
    "forged_by_other_key": (_BAD, ("ERR_JWK_NOT_FOUND", "ERR_JWS_SIGNATURE_INVALID")),
    "unsigned_attestation": (_BAD, ("ERR_JWS_ALG_NOT_ALLOWED",)),
    "no_iss": (_BAD, ("ERR_ATT_ISS",)),
    "expired": (UseFreshAttestation, ("ERR_JWT_EXPIRED",)),
    "no_exp": (_BAD, ("ERR_JWT_CLAIM_MISSING",)),
    "sub_not_client": (_BAD, ("ERR_JWT_SUBJECT",)),
    "private_cnf_key": (_BAD, ("ERR_ATT_CNF_KEY",)),
    "symmetric_cnf_key": (_BAD, ("ERR_ATT_CNF_KEY",)),
    "no_cnf": (_BAD, ("ERR_JWT_CLAIM_MISSING", "ERR_ATT_CNF")),
    "pop_other_key": (_BAD, ("ERR_JWS_SIGNATURE_INVALID",)),
    "wrong_aud": (_BAD, ("ERR_JWT_AUDIENCE",)),
    "array_aud": (_BAD, ("ERR_JWT_CLAIM_INVALID",)),
    "no_jti": (_BAD, ("ERR_JWT_CLAIM_MISSING",)),
    "stale_iat": (_BAD, ("ERR_JWT_TOO_OLD",)),
    "future_iat": (_BAD, ("ERR_JWT_NOT_YET_VALID",)),
    "wrong_challenge": (UseAttestationChallenge, ("ERR_ATT_CHALLENGE",)),
    "missing_challenge": (UseAttestationChallenge, ("ERR_ATT_CHALLENGE",)),
    "dpop_proof_as_attestation": (_BAD, ("ERR_JWS_TYP",)),
    "pop_as_attestation": (_BAD, ("ERR_JWS_TYP",)),
    "attestation_as_pop": (_BAD, ("ERR_JWS_TYP",)),
    "dpop_proof_as_pop": (_BAD, ("ERR_JWS_TYP",)),
}


def _defect(draw: st.DrawFn, world: AttestationWorld, name: str) -> tuple[str, str, bool]:
    """(attestation, pop, require_challenge) carrying exactly the named defect."""
    now, w = int(world.now), world
    att, pop, require = w.attestation(), w.pop(jti=draw(_jti)), False
    other = draw(_text.filter(lambda s: s not in (w.client_id, w.audience, w.attester_issuer)))
    if name == "untrusted_attester":
        att = w.attestation(signer=w.untrusted_key, iss="https://" + other.replace("/", "") + ".invalid")
    elif name == "forged_by_other_key":
        att = w.attestation(signer=w.untrusted_key)
    elif name == "unsigned_attestation":
        att = _unsigned(w)
    elif name == "no_iss":
        att = w.attestation(iss=None)
    elif name == "expired":
        att = w.attestation(iat=now - 7200, exp=now - draw(st.integers(0, 3600)))
    elif name == "no_exp":
        att = w.attestation(exp=None)
    elif name == "sub_not_client":
        att = w.attestation(sub=other)
    elif name == "private_cnf_key":
        att = w.attestation(cnf={"jwk": w.private_instance_jwk()})
    elif name == "symmetric_cnf_key":
        att = w.attestation(cnf={"jwk": {"kty": "oct", "k": b64url_encode(draw(st.binary(min_size=16, max_size=64)))}})
    elif name == "no_cnf":
        att = w.attestation(cnf=None)
    elif name == "pop_other_key":
        pop = w.pop(signer=w.other_key, jti=draw(_jti))
    elif name == "wrong_aud":
        pop = w.pop(aud=other, jti=draw(_jti))
    elif name == "array_aud":
        pop = w.pop(aud=[w.audience, *draw(st.lists(_text, max_size=2))], jti=draw(_jti))
    elif name == "no_jti":
        pop = w.pop(jti=None)
    elif name == "stale_iat":
        pop = w.pop(iat=now - int(w.policy.pop_max_age) - draw(st.integers(1, 10**6)), jti=draw(_jti))
    elif name == "future_iat":
        pop = w.pop(iat=now + int(w.policy.max_future_skew) + draw(st.integers(1, 10**6)), jti=draw(_jti))
    elif name == "wrong_challenge":
        stale = w.challenges.issue(w.now - w.challenges.lifetime - draw(st.integers(0, 10**5)))
        pop, require = w.pop(challenge=draw(st.sampled_from([other, stale])), jti=draw(_jti)), True
    elif name == "missing_challenge":
        require = True
    elif name == "dpop_proof_as_attestation":
        att = w.dpop_proof()
    elif name == "pop_as_attestation":
        att = w.pop(iss=w.attester_issuer, sub=w.client_id, exp=now + 60, cnf={"jwk": w.instance_key.public_jwk()})
    elif name == "attestation_as_pop":
        pop = w.attestation(signer=w.instance_key, aud=w.audience, jti=draw(_jti))
    elif name == "dpop_proof_as_pop":
        pop = w.dpop_proof()
    return att, pop, require


@st.composite
def defective_cases(draw: st.DrawFn, world: AttestationWorld, defects: tuple[str, ...] = tuple(DEFECTS)
                    ) -> AttestationCase:
    """One attestation + PoP with exactly one defect from ``defects``, and the answer it must get."""
    name = draw(st.sampled_from(defects))
    att, pop, require = _defect(draw, world, name)
    error, details = DEFECTS[name]
    return AttestationCase(name, att, pop, replace(world.policy, require_challenge=require), error, details)
