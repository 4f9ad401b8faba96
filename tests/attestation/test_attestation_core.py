"""Pure attestation checks (hardened.core.attestation): valid evidence accepted, each defect refused exactly."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.attestation import (
    ATTESTATION_POP_JWT,
    DPOP_COMBINED,
    AttestationPolicy,
    VerifiedClientAttestation,
    verify_client_attestation,
    verify_client_attestation_pop,
    verify_dpop_combined_pop,
)
from hardened.errors import (
    ConfigurationError,
    InvalidClientAttestation,
    UseAttestationChallenge,
    UseFreshAttestation,
)
from hardened.jose import SigningKey, b64url_encode
from hardened.testing.attestation import DEFECTS, AttestationCase, AttestationWorld, defective_cases, valid_cases

ATTESTATION_ERRORS = (InvalidClientAttestation, UseAttestationChallenge, UseFreshAttestation)


def check(world: AttestationWorld, case: AttestationCase, *, client_id: str | None = "default"):
    """The two pure checks in the order §7 gives them: attestation first, then its PoP."""
    cid = world.client_id if client_id == "default" else client_id
    att = verify_client_attestation(case.attestation, client_id=cid, attesters=world.attesters,
                                    policy=case.policy, now=world.now)
    pop = verify_client_attestation_pop(case.pop, attestation=att, audience=world.audience, policy=case.policy,
                                        now=world.now, challenges=world.challenges)
    return att, pop


@pytest.mark.requirement("HP-ATT-01", "HP-ATT-02", "HP-ATT-08", "HP-ATT-09", "HP-ATT-10", "HP-ATT-11")
@given(data=st.data())
def test_valid_attestation_and_pop_are_accepted(world: AttestationWorld, data: st.DataObject) -> None:
    case = data.draw(valid_cases(world))
    att, pop = check(world, case)
    assert att.client_id == world.client_id and att.attester == world.attester_issuer
    assert att.cnf_jkt == world.instance_key.thumbprint
    assert pop.method == ATTESTATION_POP_JWT and pop.jti and pop.replay_key
    assert pop.replay_ttl >= case.policy.pop_max_age
    assert (pop.challenge is not None) == case.policy.require_challenge


@pytest.mark.requirement("HP-ATT-01", "HP-ATT-02", "HP-ATT-08")
@given(data=st.data())
def test_other_algorithms_are_accepted(world_mixed: AttestationWorld, data: st.DataObject) -> None:
    case = data.draw(valid_cases(world_mixed))
    att, _ = check(world_mixed, case)
    assert att.cnf_key.alg == "EdDSA"


@pytest.mark.requirement(
    "HP-ATT-01", "HP-ATT-02", "HP-ATT-03", "HP-ATT-04", "HP-ATT-05", "HP-ATT-06", "HP-ATT-07", "HP-ATT-08",
    "HP-ATT-09", "HP-ATT-11", "HP-ATT-12",
)
@given(data=st.data())
def test_each_defect_is_refused_with_its_exact_error(world: AttestationWorld, data: st.DataObject) -> None:
    case = data.draw(defective_cases(world))
    with pytest.raises(ATTESTATION_ERRORS) as caught:
        check(world, case)
    assert type(caught.value) is case.error, (case.defect, caught.value)
    assert caught.value.detail in case.details, (case.defect, caught.value.detail)


@pytest.mark.parametrize("defect", sorted(DEFECTS))
@pytest.mark.requirement("HP-ATT-01", "HP-ATT-06", "HP-ATT-09", "HP-ATT-12")
def test_every_defect_class_is_exercised(world: AttestationWorld, defect: str) -> None:
    """Each defect once, so that none is left to the luck of the draw."""

    @given(defective_cases(world, defects=(defect,)))
    def inner(case: AttestationCase) -> None:
        with pytest.raises(case.error) as caught:
            check(world, case)
        assert caught.value.detail in case.details

    inner()


@pytest.mark.requirement("HP-ATT-04")
def test_without_a_client_id_sub_is_returned(world: AttestationWorld) -> None:
    att = verify_client_attestation(world.attestation(sub="another-client"), client_id=None,
                                    attesters=world.attesters, policy=world.policy, now=world.now)
    assert att.client_id == "another-client"


@pytest.mark.requirement("HP-ATT-05")
def test_attestation_older_than_policy_asks_for_a_fresh_one(world: AttestationWorld) -> None:
    policy = AttestationPolicy(max_attestation_age=3600)
    old = world.attestation(iat=int(world.now) - 3601)
    with pytest.raises(UseFreshAttestation):
        verify_client_attestation(old, client_id=world.client_id, attesters=world.attesters, policy=policy,
                                  now=world.now)
    without_iat = world.attestation(iat=None)
    with pytest.raises(InvalidClientAttestation):
        verify_client_attestation(without_iat, client_id=world.client_id, attesters=world.attesters,
                                  policy=policy, now=world.now)
    long_lived = world.attestation(iat=int(world.now), exp=int(world.now) + 24 * 3600 + 1)
    with pytest.raises(InvalidClientAttestation):
        verify_client_attestation(long_lived, client_id=world.client_id, attesters=world.attesters,
                                  policy=world.policy, now=world.now)
    no_iat_long = world.attestation(iat=None, exp=int(world.now) + 24 * 3600 + 1)
    with pytest.raises(InvalidClientAttestation) as caught:
        verify_client_attestation(no_iat_long, client_id=world.client_id, attesters=world.attesters,
                                  policy=world.policy, now=world.now)
    assert caught.value.detail == "ERR_ATT_LIFETIME"
    no_iat = world.attestation(iat=None, exp=int(world.now) + 3600)
    assert verify_client_attestation(no_iat, client_id=world.client_id, attesters=world.attesters,
                                     policy=world.policy, now=world.now).iat is None


@pytest.mark.requirement("HP-ATT-07")
def test_policy_allows_only_fapi_algorithms() -> None:
    for bad in (("RS256",), ("HS256",), ()):
        with pytest.raises(ConfigurationError):
            AttestationPolicy(attestation_algorithms=bad)
        with pytest.raises(ConfigurationError):
            AttestationPolicy(pop_algorithms=bad)


@pytest.mark.requirement("HP-ATT-07")
def test_hmac_attestation_is_refused(world: AttestationWorld) -> None:
    header = b64url_encode(json.dumps({"alg": "HS256", "typ": "oauth-client-attestation+jwt"}).encode())
    body = b64url_encode(json.dumps(world.attestation_claims()).encode())
    with pytest.raises(InvalidClientAttestation) as caught:
        verify_client_attestation(f"{header}.{body}.{b64url_encode(b'x' * 32)}", client_id=world.client_id,
                                  attesters=world.attesters, policy=world.policy, now=world.now)
    assert caught.value.detail == "ERR_JWS_ALG_NOT_ALLOWED"


@pytest.mark.requirement("HP-ATT-08")
def test_pop_with_embedded_jwk_or_foreign_kid_is_judged_by_cnf_key_only(world: AttestationWorld) -> None:
    att = verify_client_attestation(world.attestation(), client_id=world.client_id, attesters=world.attesters,
                                    policy=world.policy, now=world.now)
    claims = {"aud": world.audience, "jti": "j1", "iat": int(world.now)}
    with_jwk = world.other_key.sign_jws(claims, typ="oauth-client-attestation-pop+jwt",
                                        header={"jwk": world.other_key.public_jwk()})
    with pytest.raises(InvalidClientAttestation):
        verify_client_attestation_pop(with_jwk, attestation=att, audience=world.audience, policy=world.policy,
                                      now=world.now)
    # A kid in the PoP header selects nothing: the cnf key verifies, whatever kid says.
    with_kid = world.instance_key.sign_jws(claims, typ="oauth-client-attestation-pop+jwt",
                                           header={"kid": "someone-else"})
    pop = verify_client_attestation_pop(with_kid, attestation=att, audience=world.audience, policy=world.policy,
                                        now=world.now)
    assert pop.jti == "j1"


@pytest.mark.requirement("HP-ATT-12")
def test_session_bound_challenge_must_match_exactly(world: AttestationWorld) -> None:
    att = verify_client_attestation(world.attestation(), client_id=world.client_id, attesters=world.attesters,
                                    policy=world.policy, now=world.now)
    pop = world.pop(challenge="session-challenge-1")
    ok = verify_client_attestation_pop(pop, attestation=att, audience=world.audience, policy=world.policy,
                                       now=world.now, expected_challenge="session-challenge-1")
    assert ok.challenge == "session-challenge-1"
    for expected in ("session-challenge-2", "session-challenge-"):
        with pytest.raises(UseAttestationChallenge):
            verify_client_attestation_pop(pop, attestation=att, audience=world.audience, policy=world.policy,
                                          now=world.now, expected_challenge=expected)
    with pytest.raises(UseAttestationChallenge):  # required, but no source to check it against: fail closed
        verify_client_attestation_pop(pop, attestation=att, audience=world.audience,
                                      policy=replace(world.policy, require_challenge=True), now=world.now)


def _attestation(world: AttestationWorld) -> VerifiedClientAttestation:
    return verify_client_attestation(world.attestation(), client_id=world.client_id, attesters=world.attesters,
                                     policy=world.policy, now=world.now)


@pytest.mark.requirement("HP-ATT-14")
def test_dpop_combined_mode_accepts_the_attested_key_only(world: AttestationWorld) -> None:
    att = _attestation(world)
    ok = verify_dpop_combined_pop(attestation=att, dpop_jkt=world.instance_key.thumbprint, dpop_nonce=None,
                                  policy=world.policy, now=world.now)
    assert ok.method == DPOP_COMBINED and ok.replay_key is None
    for jkt in (world.other_key.thumbprint, "", "\ud800", att.cnf_jkt[:-1]):
        with pytest.raises(InvalidClientAttestation) as caught:
            verify_dpop_combined_pop(attestation=att, dpop_jkt=jkt, dpop_nonce=None, policy=world.policy,
                                     now=world.now)
        assert caught.value.detail == "ERR_ATT_DPOP_KEY"


@pytest.mark.requirement("HP-ATT-12", "HP-ATT-14")
@given(nonce=st.one_of(st.none(), st.just("\udc00x"), st.text(st.characters(), max_size=80)))
def test_dpop_combined_mode_takes_the_challenge_from_the_nonce(world: AttestationWorld, nonce: str | None) -> None:
    att = _attestation(world)
    policy = replace(world.policy, require_challenge=True)
    fresh = world.challenges.issue(world.now)
    ok = verify_dpop_combined_pop(attestation=att, dpop_jkt=att.cnf_jkt, dpop_nonce=fresh, policy=policy,
                                  now=world.now, challenges=world.challenges)
    assert ok.challenge == fresh
    with pytest.raises(UseAttestationChallenge):
        verify_dpop_combined_pop(attestation=att, dpop_jkt=att.cnf_jkt, dpop_nonce=nonce, policy=policy,
                                 now=world.now, challenges=world.challenges)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _jws_like(header: object, payload: object, sig: bytes) -> str:
    enc = lambda v: b64url_encode(json.dumps(v).encode())  # noqa: E731
    return f"{enc(header)}.{enc(payload)}.{b64url_encode(sig)}"


@pytest.mark.requirement("HP-ATT-19")
@given(
    token=st.one_of(
        st.text(max_size=300),
        st.builds(_jws_like, _json_values, _json_values, st.binary(max_size=80)),
        st.builds(_jws_like, st.fixed_dictionaries({"alg": st.sampled_from(["ES256", "none", "EdDSA"]),
                                                    "typ": st.sampled_from(["oauth-client-attestation+jwt",
                                                                            "oauth-client-attestation-pop+jwt"])}),
                  st.dictionaries(st.sampled_from(["iss", "sub", "exp", "iat", "cnf", "aud", "jti", "challenge"]),
                                  _json_values), st.binary(max_size=80)),
        st.none(), st.integers(), st.binary(max_size=50),
    ),
    client_id=st.one_of(st.none(), st.text(max_size=10)),
)
def test_arbitrary_input_raises_only_attestation_errors(world: AttestationWorld, token: object,
                                                        client_id: str | None) -> None:
    with pytest.raises(ATTESTATION_ERRORS):
        verify_client_attestation(token, client_id=client_id, attesters=world.attesters, policy=world.policy,
                                  now=world.now)
    att = _attestation(world)
    with pytest.raises(ATTESTATION_ERRORS):
        verify_client_attestation_pop(token, attestation=att, audience=world.audience, policy=world.policy,
                                      now=world.now, challenges=world.challenges)


@pytest.mark.requirement("HP-ATT-02")
def test_attester_keys_are_resolved_by_iss_only(world: AttestationWorld) -> None:
    """A second trusted attester cannot sign in the name of the first, even with a matching kid."""
    second = SigningKey.generate("ES256", kid=world.attester_key.kid)
    attesters = {**world.attesters, "https://second.example.org": type(world.attesters[world.attester_issuer])(
        [second.public_key])}
    forged = world.attestation(signer=second)  # iss names the first attester
    with pytest.raises(InvalidClientAttestation) as caught:
        verify_client_attestation(forged, client_id=world.client_id, attesters=attesters, policy=world.policy,
                                  now=world.now)
    assert caught.value.detail == "ERR_JWS_SIGNATURE_INVALID"
