"""The pure proof check (RFC 9449 §4.3): valid proofs pass, each defect class fails with its exact error."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.dpop import (
    DPoPPolicy,
    access_token_hash,
    build_dpop_proof,
    dpop_replay_key,
    verify_dpop_proof,
)
from hardened.errors import ConfigurationError, InvalidDPoPProof, OAuthError
from hardened.jose import SigningKey, b64url_encode
from hardened.testing.dpop import DEFECTS, FIXED_NOW, defective_proofs, key_pool, valid_proofs

NOW = FIXED_NOW
REQ = {
    "malformed": "HP-DPOP-02", "typ_wrong": "HP-DPOP-03", "typ_missing": "HP-DPOP-03", "alg_none": "HP-DPOP-04",
    "alg_symmetric": "HP-DPOP-04", "alg_rs256": "HP-DPOP-04", "jwk_missing": "HP-DPOP-05",
    "jwk_private": "HP-DPOP-05", "jwk_symmetric": "HP-DPOP-05", "jwk_curve": "HP-DPOP-05",
    "signature_tampered": "HP-DPOP-05", "signature_other_key": "HP-DPOP-05", "jti_missing": "HP-DPOP-06",
    "jti_not_string": "HP-DPOP-06", "jti_too_long": "HP-DPOP-06", "htm_missing": "HP-DPOP-06",
    "htm_case": "HP-DPOP-07", "htm_other": "HP-DPOP-07", "htu_missing": "HP-DPOP-06", "htu_not_uri": "HP-DPOP-08",
    "htu_other_scheme": "HP-DPOP-08", "htu_other_path": "HP-DPOP-08", "iat_missing": "HP-DPOP-06",
    "iat_string": "HP-DPOP-06", "iat_bool": "HP-DPOP-06", "iat_too_old": "HP-DPOP-10", "iat_future": "HP-DPOP-10",
    "nonce_missing": "HP-DPOP-14", "nonce_wrong": "HP-DPOP-14", "ath_missing": "HP-DPOP-11",
    "ath_wrong": "HP-DPOP-11", "jkt_mismatch": "HP-DPOP-12",
}


def test_every_defect_is_traced() -> None:
    assert set(REQ) == set(DEFECTS)


@pytest.mark.requirement("HP-DPOP-02", "HP-DPOP-06", "HP-DPOP-07", "HP-DPOP-08", "HP-DPOP-10", "HP-DPOP-11",
                         "HP-DPOP-12", "HP-DPOP-14")
@given(valid_proofs())
def test_valid_proofs_are_accepted(case) -> None:
    verified = verify_dpop_proof(case.proof, **case.context())
    assert verified.jkt == case.key.thumbprint
    assert verified.htm == case.method
    assert verified.htu == case.uri


@pytest.mark.requirement("HP-DPOP-02", "HP-DPOP-03", "HP-DPOP-04", "HP-DPOP-05", "HP-DPOP-06", "HP-DPOP-07",
                         "HP-DPOP-08", "HP-DPOP-10", "HP-DPOP-11", "HP-DPOP-12", "HP-DPOP-14")
@given(defective_proofs())
def test_each_defect_gets_its_exact_error(pair) -> None:
    case, defect = pair
    with pytest.raises(OAuthError) as info:
        verify_dpop_proof(case.proof, **case.context())
    assert type(info.value) is defect.error, defect.name
    assert info.value.detail == defect.detail, defect.name


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_each_defect_class_once(name: str) -> None:
    """Every defect class with a fixed valid case and every key type, so none is left to chance."""
    make, defect = DEFECTS[name]
    for key in key_pool():
        proof = build_dpop_proof(key, htm="POST", htu="https://as.example/token", iat=NOW, jti="fixed-jti")
        from hardened.testing.dpop import ProofCase

        case = make(ProofCase(proof=proof, method="POST", uri="https://as.example/token", key=key,
                              expected_jkt=key.thumbprint, nonce_ok=lambda n: False))
        with pytest.raises(OAuthError) as info:
            verify_dpop_proof(case.proof, **case.context())
        assert (type(info.value), info.value.detail) == (defect.error, defect.detail), (name, key.alg)


@pytest.mark.requirement("HP-DPOP-23")
@given(st.one_of(st.text(max_size=400), st.binary(max_size=200), st.integers(), st.none(),
                 st.lists(st.text(alphabet="abcXYZ-_.", max_size=30), max_size=4).map(".".join)))
def test_arbitrary_input_only_our_error(proof) -> None:
    with pytest.raises(InvalidDPoPProof):
        verify_dpop_proof(proof, method="GET", uri="https://rs.example/", policy=DPoPPolicy(), now=NOW)


@pytest.mark.requirement("HP-DPOP-23")
@given(st.dictionaries(st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce", "x"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3),
                                                                                       st.integers(), max_size=2))))
def test_arbitrary_claims_only_our_error(claims) -> None:
    key = key_pool()[0]
    payload = json.dumps(claims, separators=(",", ":")).encode()  # as an attacker would send it (NaN included)
    proof = key.sign_jws(payload, typ="dpop+jwt", header={"jwk": dict(key.public_key.jwk)}, include_kid=False)
    with contextlib.suppress(OAuthError):
        verify_dpop_proof(proof, method="GET", uri="https://rs.example/", policy=DPoPPolicy(), now=NOW,
                          access_token="tok", expected_jkt=key.thumbprint)


@pytest.mark.requirement("HP-DPOP-10", "HP-DEC-02")
def test_window_edges() -> None:
    key = key_pool()[0]
    policy = DPoPPolicy(max_age=30, max_future_skew=5)
    for iat, ok in [(NOW - 30, True), (NOW - 31, False), (NOW + 5, True), (NOW + 6, False)]:
        proof = build_dpop_proof(key, htm="GET", htu="https://rs.example/", iat=iat, jti="j")
        if ok:
            verify_dpop_proof(proof, method="GET", uri="https://rs.example/", policy=policy, now=NOW)
        else:
            with pytest.raises(InvalidDPoPProof):
                verify_dpop_proof(proof, method="GET", uri="https://rs.example/", policy=policy, now=NOW)


@pytest.mark.requirement("HP-DPOP-10")
@pytest.mark.parametrize("kwargs", [{"max_future_skew": 61}, {"max_age": 0}, {"algorithms": ("RS256",)},
                                    {"algorithms": ("HS256", "ES256")}, {"algorithms": ()}, {"max_jti": 0}])
def test_policy_refuses_weakening(kwargs) -> None:
    with pytest.raises(ConfigurationError):
        DPoPPolicy(**kwargs)


def test_modes_need_their_inputs() -> None:
    key = key_pool()[0]
    proof = build_dpop_proof(key, htm="GET", htu="https://rs.example/", iat=NOW, jti="j")
    with pytest.raises(ConfigurationError):
        verify_dpop_proof(proof, method="GET", uri="https://rs.example/", policy=DPoPPolicy(), now=NOW,
                          access_token="tok")
    with pytest.raises(ConfigurationError):
        verify_dpop_proof(proof, method="GET", uri="https://rs.example/", policy=DPoPPolicy(nonce_required=True),
                          now=NOW)


@pytest.mark.requirement("HP-DPOP-04")
def test_policy_algorithm_subset() -> None:
    ed = next(k for k in key_pool() if k.alg == "EdDSA")
    proof = build_dpop_proof(ed, htm="GET", htu="https://rs.example/", iat=NOW, jti="j")
    with pytest.raises(InvalidDPoPProof) as info:
        verify_dpop_proof(proof, method="GET", uri="https://rs.example/", policy=DPoPPolicy(algorithms=("ES256",)),
                          now=NOW)
    assert info.value.detail == "ERR_JWS_ALG_NOT_ALLOWED"


@pytest.mark.requirement("HP-DPOP-15")
def test_replay_key_ignores_the_encoding() -> None:
    """Two signatures over the same claims (ECDSA is randomised) give one replay key; another jti or htu another."""
    key = key_pool()[0]
    a = build_dpop_proof(key, htm="GET", htu="https://rs.example/x", iat=NOW, jti="same")
    b = build_dpop_proof(key, htm="GET", htu="HTTPS://RS.example:443/x?q", iat=NOW, jti="same")
    assert a != b
    va, vb = (verify_dpop_proof(p, method="GET", uri="https://rs.example/x", policy=DPoPPolicy(), now=NOW)
              for p in (a, b))
    assert dpop_replay_key(va) == dpop_replay_key(vb)
    c = build_dpop_proof(key, htm="GET", htu="https://rs.example/x", iat=NOW, jti="other")
    vc = verify_dpop_proof(c, method="GET", uri="https://rs.example/x", policy=DPoPPolicy(), now=NOW)
    assert dpop_replay_key(vc) != dpop_replay_key(va)
    assert "same" not in dpop_replay_key(va) and a not in dpop_replay_key(va)


@pytest.mark.requirement("HP-DPOP-11")
def test_ath_is_sha256_of_the_token() -> None:
    # RFC 9449 §7.1 example: token and its ath.
    assert access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU") == \
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


@pytest.mark.requirement("HP-DPOP-05")
def test_alg_and_key_type_must_agree() -> None:
    """A proof that says ES256 but carries an Ed25519 key is refused before any signature check."""
    from hardened.testing.dpop import sign_jws_raw

    ed = next(k for k in key_pool() if k.alg == "EdDSA")
    claims = {"jti": "j", "htm": "GET", "htu": "https://rs.example/", "iat": NOW}
    proof = sign_jws_raw(ed, {"typ": "dpop+jwt", "alg": "ES256", "jwk": dict(ed.public_key.jwk)}, claims)
    with pytest.raises(InvalidDPoPProof) as info:
        verify_dpop_proof(proof, method="GET", uri="https://rs.example/", policy=DPoPPolicy(), now=NOW)
    assert info.value.detail == "ERR_JWK_INVALID"


@pytest.mark.requirement("HP-DPOP-02")
def test_oversized_proof_refused() -> None:
    key = key_pool()[0]
    proof = build_dpop_proof(key, htm="GET", htu="https://rs.example/" + "a" * 1900, iat=NOW, jti="j" * 200)
    head = b64url_encode(json.dumps({"typ": "dpop+jwt", "alg": "ES256", "pad": "x" * 9000}).encode())
    with pytest.raises(InvalidDPoPProof) as info:
        verify_dpop_proof(head + "." + proof.split(".", 1)[1], method="GET", uri="https://rs.example/",
                          policy=DPoPPolicy(), now=NOW)
    assert info.value.detail == "ERR_TOO_LARGE"


def test_build_strips_query_and_fragment() -> None:
    key = SigningKey.generate("EdDSA")
    proof = build_dpop_proof(key, htm="GET", htu="https://rs.example/a?b=c#d", iat=NOW, jti="j")
    assert verify_dpop_proof(proof, method="GET", uri="https://rs.example/a", policy=DPoPPolicy(), now=NOW).htu == \
        "https://rs.example/a"


@pytest.mark.requirement("HP-DPOP-06", "HP-DPOP-23")
@pytest.mark.parametrize("iat", [10**400, -1, 1e308, 253_402_300_800, 0.5 - 1])
def test_iat_out_of_range_is_malformed(iat) -> None:
    key = key_pool()[0]
    claims = {"jti": "j", "htm": "GET", "htu": "https://rs.example/", "iat": iat}
    payload = json.dumps(claims, separators=(",", ":")).encode()  # as an attacker would send it (NaN included)
    proof = key.sign_jws(payload, typ="dpop+jwt", header={"jwk": dict(key.public_key.jwk)}, include_kid=False)
    with pytest.raises(InvalidDPoPProof) as info:
        verify_dpop_proof(proof, method="GET", uri="https://rs.example/", policy=DPoPPolicy(), now=NOW)
    # Integers beyond I-JSON's range (RFC 7493 §2.2) are refused by the JOSE layer's parser already.
    expected = "ERR_JSON" if isinstance(iat, int) and abs(iat) > 2**53 - 1 else "DPOP_CLAIM_INVALID"
    assert info.value.detail == expected
