"""Authorization code binding to a DPoP key (RFC 9449 §10, §10.1)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.dpop import DPoPPolicy, bind_dpop_jkt, build_dpop_proof, check_dpop_jkt, verify_dpop_proof
from hardened.errors import InvalidDPoPProof, InvalidGrant, InvalidRequest, OAuthError
from hardened.testing.dpop import FIXED_NOW, key_pool

pytestmark = pytest.mark.requirement("HP-DPOP-21")


def _proof(index: int):
    key = key_pool()[index]
    token = build_dpop_proof(key, htm="POST", htu="https://as.example/par", iat=FIXED_NOW, jti=f"j{index}")
    return verify_dpop_proof(token, method="POST", uri="https://as.example/par", policy=DPoPPolicy(), now=FIXED_NOW)


def test_binding_at_par_and_authorization() -> None:
    a, b = _proof(0), _proof(1)
    assert bind_dpop_jkt(None, None) is None
    assert bind_dpop_jkt(None, a) == a.jkt  # PAR with a DPoP header binds the code to that key
    assert bind_dpop_jkt(a.jkt, None) == a.jkt  # dpop_jkt alone (authorization request or PAR)
    assert bind_dpop_jkt(a.jkt, a) == a.jkt
    with pytest.raises(InvalidDPoPProof) as info:
        bind_dpop_jkt(a.jkt, b)
    assert info.value.detail == "DPOP_JKT_PAR_MISMATCH"


@pytest.mark.parametrize("bad", ["", "short", "A" * 42, "A" * 44, "A" * 42 + "=", "A" * 42 + "+", 7, ["x"]])
def test_malformed_dpop_jkt(bad: object) -> None:
    with pytest.raises(InvalidRequest):
        bind_dpop_jkt(bad, None)


def test_token_endpoint_checks_the_bound_key() -> None:
    a, b = _proof(0), _proof(1)
    check_dpop_jkt(None, None)
    check_dpop_jkt(None, a)
    check_dpop_jkt(a.jkt, a)
    with pytest.raises(InvalidGrant) as info:
        check_dpop_jkt(a.jkt, None)
    assert info.value.detail == "DPOP_JKT_PROOF_MISSING"
    with pytest.raises(InvalidGrant) as info:
        check_dpop_jkt(a.jkt, b)
    assert info.value.detail == "DPOP_JKT_MISMATCH"


@given(st.one_of(st.none(), st.text(max_size=60), st.integers(), st.binary(max_size=60)))
def test_arbitrary_dpop_jkt_only_our_error(value: object) -> None:
    with contextlib.suppress(OAuthError):
        bind_dpop_jkt(value, _proof(0))
