"""Every defect class of issue 2 §3 (hardened.testing.jose.DEFECTS) is refused with JoseError and its exact code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import JoseError
from hardened.jose import Typ
from hardened.testing import jose as tj


def _refused_with_its_code(defect: tj.Defect) -> None:
    with pytest.raises(JoseError) as err:
        defect.verify()
    assert err.value.code == defect.code, (defect.kind, err.value)


def _expected(kind: str, defect: tj.Defect) -> None:
    assert defect.kind == kind
    assert defect.code in tj.DEFECTS[kind][1].replace("ERR_JWT_CLAIM_*", "ERR_JWT_CLAIM_INVALID | "
                                                      "ERR_JWT_CLAIM_MISSING").split(" | ")
    _refused_with_its_code(defect)


@pytest.mark.requirement("HP-JOSE-01")
@pytest.mark.requirement("HP-DEC-01")
@given(tj.alg_none())
def test_alg_none_in_any_case(defect) -> None:
    _expected("alg_none", defect)


@pytest.mark.requirement("HP-JOSE-01")
@pytest.mark.requirement("HP-DEC-01")
@given(tj.alg_not_allowed())
def test_hmac_rs256_and_other_algs(defect) -> None:
    _expected("alg_not_allowed", defect)


@pytest.mark.requirement("HP-JOSE-02")
@given(tj.key_mismatch())
def test_key_type_or_curve_mismatch(defect) -> None:
    _expected("key_mismatch", defect)


@pytest.mark.requirement("HP-JOSE-03")
@given(tj.wrong_typ(typ=Typ.ACCESS_TOKEN) | tj.wrong_typ(typ=Typ.DPOP) | tj.wrong_typ(typ=Typ.SOFTWARE_STATEMENT))
def test_wrong_or_missing_typ(defect) -> None:
    _expected("wrong_typ", defect)


@pytest.mark.requirement("HP-JOSE-04")
@given(tj.oversize())
def test_oversize_token_header_payload(defect) -> None:
    _expected("oversize", defect)


@pytest.mark.requirement("HP-JOSE-05")
@given(tj.forbidden_header())
def test_jku_x5u_x5c_jwk_headers(defect) -> None:
    _expected("forbidden_header", defect)


@pytest.mark.requirement("HP-JOSE-06")
@given(tj.crit())
def test_crit(defect) -> None:
    _expected("crit", defect)


@pytest.mark.requirement("HP-JOSE-06")
@given(tj.b64_header())
def test_b64(defect) -> None:
    _expected("b64", defect)


@pytest.mark.requirement("HP-JOSE-07")
@given(tj.duplicate_members())
def test_duplicate_member_names(defect) -> None:
    _expected("duplicate_members", defect)


@pytest.mark.requirement("HP-JOSE-08")
@given(tj.non_canonical_b64())
def test_non_canonical_base64url(defect) -> None:
    _expected("non_canonical_b64", defect)


@pytest.mark.requirement("HP-JOSE-08")
@pytest.mark.requirement("HP-JOSE-16")
@given(tj.json_bom())
def test_bom_before_json(defect) -> None:
    _expected("json_bom", defect)


@pytest.mark.requirement("HP-JOSE-09")
@given(tj.json_serialization())
def test_json_serialization(defect) -> None:
    _expected("json_serialization", defect)


@pytest.mark.requirement("HP-JOSE-09")
@given(tj.not_compact_jws())
def test_jwe_and_wrong_part_counts(defect) -> None:
    _expected("not_compact_jws", defect)


@pytest.mark.requirement("HP-JOSE-09")
@given(tj.non_object_payload())
def test_non_object_payload(defect) -> None:
    _expected("non_object_payload", defect)


@pytest.mark.requirement("HP-JOSE-10")
@given(tj.rsa_too_small())
def test_rsa_under_2048_bits(defect) -> None:
    _expected("rsa_too_small", defect)


@pytest.mark.requirement("HP-JOSE-10")
@given(tj.ec_bad_point())
def test_ec_point_off_curve_or_other_curve(defect) -> None:
    _expected("ec_bad_point", defect)


@pytest.mark.requirement("HP-JOSE-10")
@given(tj.okp_bad_point())
def test_ed25519_small_order_or_non_canonical(defect) -> None:
    _expected("okp_bad_point", defect)


@pytest.mark.requirement("HP-JOSE-10")
@given(tj.private_members())
def test_private_members_in_public_jwk(defect) -> None:
    _expected("private_members", defect)


@pytest.mark.requirement("HP-JOSE-11")
@given(tj.bad_time_claim())
def test_non_finite_or_mistyped_times(defect) -> None:
    _expected("bad_time_claim", defect)


@pytest.mark.requirement("HP-JOSE-12")
@pytest.mark.requirement("HP-DEC-02")
@given(tj.future_claim())
def test_future_iat_nbf_beyond_skew(defect) -> None:
    _expected("future_claim", defect)


@pytest.mark.requirement("HP-JOSE-12")
@given(tj.expired())
def test_expired(defect) -> None:
    _expected("expired", defect)


@pytest.mark.requirement("HP-JOSE-13")
@given(tj.claim_mismatch())
def test_iss_sub_aud_mismatch_and_aud_arrays(defect) -> None:
    _expected("claim_mismatch", defect)


@pytest.mark.requirement("HP-JOSE-05")
@given(tj.wrong_key())
def test_wrong_key_or_unknown_kid(defect) -> None:
    _expected("wrong_key", defect)


@pytest.mark.requirement("HP-JOSE-14")
@given(st.data())
def test_defect_catalogue_mixed(data) -> None:
    """The combined strategy a security team would use: any defect, any kind, always our error with its code."""
    typ = data.draw(st.sampled_from(sorted(Typ.all().values())))
    _refused_with_its_code(data.draw(tj.defects(typ)))


def test_catalogue_covers_issue_2() -> None:
    assert set(tj.DEFECTS) == {
        "alg_none", "alg_not_allowed", "key_mismatch", "wrong_typ", "oversize", "forbidden_header", "crit", "b64",
        "duplicate_members", "non_canonical_b64", "json_bom", "json_serialization", "not_compact_jws",
        "non_object_payload", "rsa_too_small", "ec_bad_point", "okp_bad_point", "private_members", "bad_time_claim",
        "future_claim", "expired", "claim_mismatch", "wrong_key",
    }
