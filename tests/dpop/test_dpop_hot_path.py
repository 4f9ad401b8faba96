"""The resource-server hot path computes exactly what the plain definitions say: ``ath`` via binascii, normal forms
of ``htu`` remembered per URI text (bounded), the proof checked through ``verify_jws_payload``."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core import htu as htu_module
from hardened.core.dpop import DPoPPolicy, access_token_hash, build_dpop_proof, verify_dpop_proof
from hardened.core.htu import normalize_htu
from hardened.errors import ConfigurationError, InvalidDPoPProof, InvalidToken
from hardened.jose import SigningKey
from hardened.testing.dpop import equivalent_uris, request_uris

NOW = 1_767_225_600.0


@pytest.mark.requirement("HP-DPOP-11")
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=300))
def test_ath_is_base64url_sha256_of_the_token(token: str) -> None:
    reference = base64.urlsafe_b64encode(hashlib.sha256(token.encode("ascii")).digest()).rstrip(b"=").decode()
    assert access_token_hash(token) == reference


@pytest.mark.requirement("HP-DPOP-08")
@given(request_uris() | equivalent_uris().map(lambda pair: pair[1]))
def test_remembered_normal_forms_equal_computed_ones(uri: str) -> None:
    computed = htu_module._normalize(uri)
    assert normalize_htu(uri) == computed
    assert normalize_htu(uri) == computed  # from the cache
    assert normalize_htu(computed) == computed


@pytest.mark.requirement("HP-DPOP-08")
@pytest.mark.parametrize("bad", [None, 7, b"https://s.example/", ["https://s.example/"], {"u": 1}, "ftp://s.example/"])
def test_non_uris_are_refused_before_and_after_a_cache_hit(bad: object) -> None:
    normalize_htu("https://s.example/")
    for _ in range(2):
        with pytest.raises(InvalidDPoPProof):
            normalize_htu(bad)


@pytest.mark.requirement("HP-DPOP-08")
def test_the_normal_form_cache_is_bounded() -> None:
    for i in range(htu_module._NORMAL_SIZE + 50):
        assert normalize_htu(f"HTTPS://s.example/p{i}") == f"https://s.example/p{i}"
    assert len(htu_module._NORMAL) <= htu_module._NORMAL_SIZE


@pytest.mark.requirement("HP-DPOP-12")
def test_a_second_proof_with_the_same_header_is_checked_in_full() -> None:
    """The second proof hits the header cache; its claims, ath and binding are still checked."""
    key, policy = SigningKey.generate("ES256"), DPoPPolicy()
    token, uri = "tok-1", "https://rs.example/mcp"

    def check(proof: str, *, access_token: str = token, expected_jkt: str = key.thumbprint):
        return verify_dpop_proof(proof, method="POST", uri=uri, policy=policy, now=NOW,
                                 access_token=access_token, expected_jkt=expected_jkt)

    first = build_dpop_proof(key, htm="POST", htu=uri, iat=NOW, jti="a", access_token=token)
    assert check(first).jkt == key.thumbprint
    second = build_dpop_proof(key, htm="POST", htu=uri, iat=NOW, jti="b", access_token="other")
    assert second.split(".")[0] == first.split(".")[0]
    with pytest.raises(InvalidDPoPProof) as err:
        check(second)
    assert err.value.detail == "DPOP_ATH_MISMATCH"
    with pytest.raises(InvalidToken) as err:
        check(first, expected_jkt=SigningKey.generate("ES256").thumbprint)
    assert err.value.detail == "DPOP_JKT_MISMATCH"
    late = build_dpop_proof(key, htm="POST", htu=uri, iat=NOW - 61, jti="c", access_token=token)
    with pytest.raises(InvalidDPoPProof) as err:
        check(late)
    assert err.value.detail == "DPOP_IAT_TOO_OLD"


@pytest.mark.requirement("HP-DPOP-10")
def test_a_clock_that_is_not_a_number_fails_closed() -> None:
    key, uri = SigningKey.generate("EdDSA"), "https://rs.example/mcp"
    proof = build_dpop_proof(key, htm="GET", htu=uri, iat=NOW, jti="n")
    with pytest.raises(ConfigurationError):
        verify_dpop_proof(proof, method="GET", uri=uri, policy=DPoPPolicy(), now=float("nan"))
    with pytest.raises(InvalidDPoPProof) as err:
        verify_dpop_proof(proof, method="GET", uri=uri, policy=DPoPPolicy(), now=float("inf"))
    assert err.value.detail == "DPOP_IAT_TOO_OLD"
