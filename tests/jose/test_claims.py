"""Claim checks at their boundaries, against an injected now (HP-JOSE-11, -12, -13; HP-DEC-02)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import JoseError
from hardened.jose import ClaimsPolicy, check_claims, numeric_date
from hardened.testing.jose import AUDIENCE, ISSUER, NOW

BASE = {"iss": ISSUER, "aud": AUDIENCE, "sub": "agent", "iat": NOW, "exp": NOW + 300}
POLICY = ClaimsPolicy(issuer=ISSUER, audience=AUDIENCE)


def _code(claims, policy=POLICY, now=NOW) -> str | None:
    try:
        check_claims(claims, policy=policy, now=now)
    except JoseError as err:
        return err.code
    return None


@pytest.mark.requirement("HP-JOSE-12")
@pytest.mark.requirement("HP-DEC-02")
@pytest.mark.parametrize("name", ["iat", "nbf"])
def test_future_skew_boundary_by_default(name) -> None:
    assert _code({**BASE, name: NOW + 10}) is None
    assert _code({**BASE, name: NOW + 10.001}) == "ERR_JWT_NOT_YET_VALID"
    assert _code({**BASE, name: NOW + 11}) == "ERR_JWT_NOT_YET_VALID"
    assert _code({**BASE, name: NOW + 60}) == "ERR_JWT_NOT_YET_VALID"


@pytest.mark.requirement("HP-JOSE-12")
@pytest.mark.requirement("HP-DEC-02")
def test_policy_skew_is_capped_at_60_seconds() -> None:
    wide = ClaimsPolicy(issuer=ISSUER, audience=AUDIENCE, max_future_skew=60)
    assert _code({**BASE, "iat": NOW + 60}, wide) is None
    assert _code({**BASE, "iat": NOW + 61}, wide) == "ERR_JWT_NOT_YET_VALID"
    for bad in (60.001, 61, 3600, -1, math.nan, math.inf, "10", True):
        with pytest.raises(JoseError) as err:
            ClaimsPolicy(max_future_skew=bad)
        assert err.value.code == "ERR_POLICY"


@pytest.mark.requirement("HP-JOSE-12")
@pytest.mark.requirement("HP-DEC-02")
@given(skew=st.floats(0, 60), ahead=st.floats(-1000, 1000))
def test_future_skew_property(skew, ahead) -> None:
    policy = ClaimsPolicy(max_future_skew=skew)
    claims = {"iat": NOW + ahead, "exp": NOW + 2000}
    accepted = (NOW + ahead) - NOW <= skew
    assert _code(claims, policy) == (None if accepted else "ERR_JWT_NOT_YET_VALID")


@pytest.mark.requirement("HP-JOSE-12")
def test_exp_boundary() -> None:
    assert _code({**BASE, "exp": NOW + 0.001}) is None
    assert _code({**BASE, "exp": NOW}) == "ERR_JWT_EXPIRED"
    assert _code({**BASE, "exp": NOW - 1}) == "ERR_JWT_EXPIRED"
    assert _code({**BASE, "exp": NOW + 1}, now=NOW + 1) == "ERR_JWT_EXPIRED"
    assert _code({k: v for k, v in BASE.items() if k != "exp"}) == "ERR_JWT_CLAIM_MISSING"
    assert _code({k: v for k, v in BASE.items() if k != "exp"}, ClaimsPolicy(require_exp=False)) is None


@pytest.mark.requirement("HP-JOSE-12")
@pytest.mark.requirement("HP-DEC-02")
def test_max_age_and_lifetime() -> None:
    one_shot = ClaimsPolicy(max_age=60, max_lifetime=300)
    assert _code({"iat": NOW - 60, "exp": NOW + 10}, one_shot) is None
    assert _code({"iat": NOW - 61, "exp": NOW + 10}, one_shot) == "ERR_JWT_TOO_OLD"
    assert _code({"iat": NOW, "exp": NOW + 301}, one_shot) == "ERR_JWT_CLAIM_INVALID"
    assert _code({"exp": NOW + 10}, ClaimsPolicy(max_age=60, require_iat=False)) == "ERR_JWT_CLAIM_MISSING"


@pytest.mark.requirement("HP-JOSE-11")
@pytest.mark.parametrize("value", ["1767225600", True, False, None, [NOW], {"t": NOW}, -1, 253_402_300_800,
                                   math.inf, -math.inf, math.nan, 1e400, ""])
@pytest.mark.parametrize("name", ["exp", "iat", "nbf"])
def test_numeric_dates_are_finite_json_numbers(name, value) -> None:
    assert _code({**BASE, name: value}) == "ERR_JWT_CLAIM_INVALID"
    with pytest.raises(JoseError):
        numeric_date({name: value}, name, required=True)


@pytest.mark.requirement("HP-JOSE-11")
def test_numeric_date_accepts_ints_and_floats() -> None:
    assert numeric_date({"exp": 0}, "exp", required=True) == 0.0
    assert numeric_date({"exp": 1.5}, "exp", required=True) == 1.5
    assert numeric_date({}, "exp", required=False) is None


@pytest.mark.requirement("HP-JOSE-13")
def test_iss_sub_aud_are_exact_strings() -> None:
    strict = ClaimsPolicy(issuer=ISSUER, audience=AUDIENCE, subject="agent")
    assert _code(BASE, strict) is None
    assert _code({**BASE, "iss": ISSUER + "/"}, strict) == "ERR_JWT_ISSUER"
    assert _code({**BASE, "iss": ISSUER.upper()}, strict) == "ERR_JWT_ISSUER"
    assert _code({**BASE, "sub": "Agent"}, strict) == "ERR_JWT_SUBJECT"
    assert _code({**BASE, "aud": AUDIENCE + "/"}, strict) == "ERR_JWT_AUDIENCE"
    assert _code({**BASE, "aud": [AUDIENCE]}, strict) == "ERR_JWT_CLAIM_INVALID"
    assert _code({**BASE, "iss": 1}, strict) == "ERR_JWT_CLAIM_INVALID"
    assert _code({**BASE, "iss": ""}, strict) == "ERR_JWT_CLAIM_INVALID"
    assert _code({k: v for k, v in BASE.items() if k != "aud"}, strict) == "ERR_JWT_CLAIM_MISSING"


@pytest.mark.requirement("HP-JOSE-13")
def test_aud_array_only_where_allowed() -> None:
    arrays = ClaimsPolicy(audience=AUDIENCE, allow_audience_array=True)
    assert _code({**BASE, "aud": [AUDIENCE, "https://other.example"]}, arrays) is None
    assert _code({**BASE, "aud": AUDIENCE}, arrays) is None
    assert _code({**BASE, "aud": ["https://other.example"]}, arrays) == "ERR_JWT_AUDIENCE"
    assert _code({**BASE, "aud": []}, arrays) == "ERR_JWT_AUDIENCE"
    assert _code({**BASE, "aud": [AUDIENCE] * 17}, arrays) == "ERR_JWT_AUDIENCE"
    assert _code({**BASE, "aud": [AUDIENCE, 1]}, arrays) == "ERR_JWT_AUDIENCE"


@pytest.mark.requirement("HP-JOSE-13")
def test_required_claims_and_bad_inputs() -> None:
    assert _code({**BASE}, ClaimsPolicy(require=("jti",))) == "ERR_JWT_CLAIM_MISSING"
    assert _code({**BASE, "jti": None}, ClaimsPolicy(require=("jti",))) == "ERR_JWT_CLAIM_MISSING"
    assert _code([("iss", ISSUER)]) == "ERR_JSON"  # type: ignore[arg-type]
    assert _code(BASE, now=math.nan) == "ERR_POLICY"
    for bad in ({"issuer": ""}, {"audience": 1}, {"require": "jti"}, {"max_age": -1}, {"max_lifetime": math.inf}):
        with pytest.raises(JoseError) as err:
            ClaimsPolicy(**bad)
        assert err.value.code == "ERR_POLICY"
