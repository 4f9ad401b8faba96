"""The ordered verifier list (hardened.ports.attestation), the built-in trusted-attester verifier and the registry."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.adapters.attesters import AttesterRegistry, TrustedAttesterVerifier
from hardened.adapters.memory import MemoryReplayCache
from hardened.core.attestation import ATTESTATION_POP_JWT, DPOP_COMBINED, AttestationPolicy
from hardened.errors import ConfigurationError, InvalidClientAttestation, InvalidGrant, UseAttestationChallenge
from hardened.jose import KeySet, SigningKey
from hardened.ports.attestation import (
    AttestationEvidence,
    AttestationResult,
    AttestationVerifier,
    run_attestation_verifiers,
)
from hardened.testing.attestation import AttestationWorld, defective_cases, valid_cases

from .conftest import MemoryReplay
from .reference_platform import EVIDENCE_FORMAT, EVIDENCE_TYP, PLATFORM_ISSUER, ReferencePlatformVerifier


def trusted(world: AttestationWorld, replay: MemoryReplay, **kwargs) -> TrustedAttesterVerifier:
    return TrustedAttesterVerifier(AttesterRegistry(world.attesters), replay=replay, challenges=world.challenges,
                                   **kwargs)


def evidence(world: AttestationWorld, attestation: str | None, pop: str | None = None, **kw) -> AttestationEvidence:
    return AttestationEvidence(audience=world.audience, attestation=attestation, pop=pop,
                               client_id=kw.pop("client_id", world.client_id), **kw)


@pytest.mark.requirement("HP-ATT-10")
@given(data=st.data())
def test_valid_pop_is_accepted_once_and_its_replay_refused(world: AttestationWorld, data: st.DataObject) -> None:
    case = data.draw(valid_cases(world))
    verifier = trusted(world, MemoryReplay(), policy=case.policy)
    ev = evidence(world, case.attestation, case.pop)
    result = run_attestation_verifiers([verifier], ev, now=world.now)
    assert (result.client_id, result.method, result.instance_jkt) == (
        world.client_id, ATTESTATION_POP_JWT, world.instance_key.thumbprint)
    with pytest.raises(InvalidClientAttestation) as caught:
        run_attestation_verifiers([verifier], ev, now=world.now)
    assert caught.value.detail == "ERR_ATT_REPLAY"


@pytest.mark.requirement("HP-ATT-10")
def test_replay_window_outlives_the_pop(world: AttestationWorld, replay: MemoryReplay) -> None:
    """The jti is remembered for as long as the PoP itself would be accepted (§9.7)."""
    verifier = trusted(world, replay)
    ev = evidence(world, world.attestation(), world.pop(jti="once", iat=int(world.now)))
    run_attestation_verifiers([verifier], ev, now=world.now)
    last_accepting = world.now + world.policy.pop_max_age
    with pytest.raises(InvalidClientAttestation) as caught:
        run_attestation_verifiers([verifier], ev, now=last_accepting)
    assert caught.value.detail == "ERR_ATT_REPLAY"


@pytest.mark.requirement("HP-ATT-10")
def test_a_refused_pop_does_not_spend_its_jti(world: AttestationWorld, replay: MemoryReplay) -> None:
    verifier = trusted(world, replay)
    bad = evidence(world, world.attestation(), world.pop(jti="j", aud="https://elsewhere.example"))
    with pytest.raises(InvalidClientAttestation):
        run_attestation_verifiers([verifier], bad, now=world.now)
    good = evidence(world, world.attestation(), world.pop(jti="j"))
    assert run_attestation_verifiers([verifier], good, now=world.now).method == ATTESTATION_POP_JWT


@pytest.mark.requirement("HP-ATT-16", "HP-ATT-19")
@given(data=st.data())
def test_defects_come_out_of_the_runner_unchanged(world: AttestationWorld, data: st.DataObject) -> None:
    case = data.draw(defective_cases(world))
    verifier = trusted(world, MemoryReplay(), policy=case.policy)
    with pytest.raises(case.error) as caught:
        run_attestation_verifiers([verifier], evidence(world, case.attestation, case.pop), now=world.now)
    assert caught.value.detail in case.details


@pytest.mark.requirement("HP-ATT-14")
def test_combined_mode_is_chosen_without_a_pop_header(world: AttestationWorld, replay: MemoryReplay) -> None:
    verifier = trusted(world, replay)
    ok = evidence(world, world.attestation(), dpop_jkt=world.instance_key.thumbprint)
    assert run_attestation_verifiers([verifier], ok, now=world.now).method == DPOP_COMBINED
    wrong = evidence(world, world.attestation(), dpop_jkt=world.other_key.thumbprint)
    with pytest.raises(InvalidClientAttestation):
        run_attestation_verifiers([verifier], wrong, now=world.now)
    neither = evidence(world, world.attestation())
    with pytest.raises(InvalidClientAttestation) as caught:
        run_attestation_verifiers([verifier], neither, now=world.now)
    assert caught.value.detail == "ERR_ATT_NO_POP"
    pop_only = trusted(world, replay, methods=(ATTESTATION_POP_JWT,))
    with pytest.raises(InvalidClientAttestation):
        run_attestation_verifiers([pop_only], ok, now=world.now)


@pytest.mark.requirement("HP-ATT-14")
def test_with_a_pop_header_the_dpop_key_need_not_match(world: AttestationWorld, replay: MemoryReplay) -> None:
    """ABCA §7: a PoP header selects §7.2; a DPoP proof beside it is checked independently (RFC 9449)."""
    ev = evidence(world, world.attestation(), world.pop(jti="both"), dpop_jkt=world.other_key.thumbprint)
    assert run_attestation_verifiers([trusted(world, replay)], ev, now=world.now).method == ATTESTATION_POP_JWT


@pytest.mark.requirement("HP-ATT-12", "HP-ATT-14")
def test_required_challenge_applies_to_both_modes(world: AttestationWorld, replay: MemoryReplay) -> None:
    verifier = trusted(world, replay, policy=AttestationPolicy(require_challenge=True))
    with pytest.raises(UseAttestationChallenge):
        run_attestation_verifiers([verifier], evidence(world, world.attestation(), world.pop()), now=world.now)
    combined = evidence(world, world.attestation(), dpop_jkt=world.instance_key.thumbprint, dpop_nonce="stale")
    with pytest.raises(UseAttestationChallenge):
        run_attestation_verifiers([verifier], combined, now=world.now)
    fresh = replace(combined, dpop_nonce=world.challenges.issue(world.now))
    assert run_attestation_verifiers([verifier], fresh, now=world.now).method == DPOP_COMBINED
    with pytest.raises(ConfigurationError):
        TrustedAttesterVerifier(world.attesters, replay=replay, policy=AttestationPolicy(require_challenge=True))


class _Recorder:
    def __init__(self, name: str, recognise: bool, outcome: object) -> None:
        self.name, self.recognise, self.outcome, self.calls = name, recognise, outcome, 0

    def recognises(self, evidence: AttestationEvidence) -> bool:
        return self.recognise

    def verify(self, evidence: AttestationEvidence, *, now: float) -> AttestationResult:
        self.calls += 1
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome  # type: ignore[return-value]


def _result(name: str, client_id: str = "agent-7f3a") -> AttestationResult:
    return AttestationResult(verifier=name, method="m", client_id=client_id, attester="a", instance_jkt="k",
                             expires_at=0.0)


@pytest.mark.requirement("HP-ATT-16")
def test_deny_by_default_and_first_recognising_verifier_decides(world: AttestationWorld) -> None:
    ev = evidence(world, None)
    with pytest.raises(InvalidClientAttestation) as caught:
        run_attestation_verifiers([], ev, now=world.now)
    assert caught.value.detail == "ERR_ATT_NOT_RECOGNISED"
    skip, first, second = _Recorder("skip", False, _result("skip")), _Recorder("first", True, _result("first")), \
        _Recorder("second", True, _result("second"))
    assert run_attestation_verifiers([skip, first, second], ev, now=world.now).verifier == "first"
    assert (skip.calls, first.calls, second.calls) == (0, 1, 0)
    refusing = _Recorder("refusing", True, InvalidClientAttestation("no"))
    with pytest.raises(InvalidClientAttestation):  # a refusal is final: later verifiers are not asked
        run_attestation_verifiers([refusing, second], ev, now=world.now)
    assert second.calls == 0
    assert isinstance(first, AttestationVerifier)


@pytest.mark.requirement("HP-ATT-16", "HP-ATT-04")
@pytest.mark.parametrize("outcome", [RuntimeError("bug"), InvalidGrant("other"), None, _result("x", "intruder")])
def test_misbehaving_verifiers_fail_closed(world: AttestationWorld, outcome: object) -> None:
    with pytest.raises(InvalidClientAttestation):
        run_attestation_verifiers([_Recorder("bad", True, outcome)], evidence(world, None), now=world.now)


@pytest.mark.requirement("HP-ATT-16")
def test_reference_platform_verifier_plugs_into_the_list(world: AttestationWorld, replay: MemoryReplay) -> None:
    root = SigningKey.generate("ES256")
    platform = ReferencePlatformVerifier(KeySet([root.public_key]), replay=replay)
    chain = [platform, trusted(world, replay)]
    claims = {"iss": PLATFORM_ISSUER, "sub": world.client_id, "iat": int(world.now), "exp": int(world.now) + 60,
              "cnf": {"jwk": world.instance_key.public_jwk()}}
    ev = evidence(world, None, world.pop(jti="p1"), platform={EVIDENCE_FORMAT: root.sign_jws(claims, typ=EVIDENCE_TYP)})
    assert run_attestation_verifiers(chain, ev, now=world.now).verifier == platform.name
    forged = replace(ev, pop=world.pop(jti="p2"),
                     platform={EVIDENCE_FORMAT: world.untrusted_key.sign_jws(claims, typ=EVIDENCE_TYP)})
    with pytest.raises(InvalidClientAttestation):
        run_attestation_verifiers(chain, forged, now=world.now)
    jwt_evidence = evidence(world, world.attestation(), world.pop(jti="p3"))
    assert run_attestation_verifiers(chain, jwt_evidence, now=world.now).verifier == "trusted_attester_jwt"


@pytest.mark.requirement("HP-ATT-02")
def test_registry_loads_a_pinned_jwks_file(world: AttestationWorld, replay: MemoryReplay, tmp_path: Path) -> None:
    path = tmp_path / "attesters.json"
    path.write_text(json.dumps(AttesterRegistry(world.attesters).to_document()))
    registry = AttesterRegistry.from_json_file(path)
    assert list(registry) == [world.attester_issuer]
    verifier = TrustedAttesterVerifier(registry, replay=replay)
    assert run_attestation_verifiers([verifier], evidence(world, world.attestation(), world.pop()),
                                     now=world.now).attester == world.attester_issuer


@pytest.mark.requirement("HP-ATT-02", "HP-ATT-06")
@pytest.mark.parametrize("document", [
    "not json", "[]", '{"attesters": {}}', '{"attesters": [{"issuer": "http://attester.example", "jwks": null}]}',
    '{"attesters": [{"issuer": "https://a.example", "jwks": {"keys": []}}]}',
    '{"attesters": [{"issuer": "https://a.example", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}]}',
    '{"attesters": [{"issuer": "https://a.example", "jwks": {"keys": [{"kty": "EC"}]}, "extra": 1}]}',
])
def test_registry_mistakes_fail_at_start_up(tmp_path: Path, document: str) -> None:
    path = tmp_path / "attesters.json"
    path.write_text(document)
    with pytest.raises(ConfigurationError):
        AttesterRegistry.from_json_file(path)


@pytest.mark.requirement("HP-ATT-02")
def test_registry_refuses_duplicates_and_missing_files(world: AttestationWorld, tmp_path: Path) -> None:
    keys = world.attesters[world.attester_issuer]
    with pytest.raises(ConfigurationError):
        AttesterRegistry([(world.attester_issuer, keys), (world.attester_issuer, keys)])
    with pytest.raises(ConfigurationError):
        AttesterRegistry.from_json_file(tmp_path / "missing.json")
    assert AttesterRegistry({"http://127.0.0.1:8123": keys}).get("http://127.0.0.1:8123") is keys
    assert AttesterRegistry({}).get(world.attester_issuer) is None


@pytest.mark.requirement("HP-ATT-10")
def test_pop_replay_refused_up_to_the_last_instant_it_is_acceptable(world: AttestationWorld) -> None:
    """A PoP dated max_future_skew ahead is acceptable until iat + pop_max_age inclusive; its jti must outlive it."""
    verifier = trusted(world, MemoryReplayCache())
    policy = verifier.policy
    iat = int(world.now + policy.max_future_skew)
    pop = world.pop(jti="edge", iat=iat)
    assert run_attestation_verifiers([verifier], evidence(world, world.attestation(), pop), now=world.now)
    with pytest.raises(InvalidClientAttestation) as caught:
        run_attestation_verifiers([verifier], evidence(world, world.attestation(), pop), now=iat + policy.pop_max_age)
    assert caught.value.detail == "ERR_ATT_REPLAY"
