"""Explicit typing (RFC 8725 §3.11): typ compared as an RFC 7515 §4.1.9 media type; no kind passes as another."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import JoseError
from hardened.jose import JWSPolicy, KeySet, Typ, media_type, verify_jws
from hardened.testing import jose as tj

KINDS = sorted(Typ.all().values())


@pytest.mark.requirement("HP-JOSE-03")
def test_every_typ_is_a_distinct_media_type() -> None:
    types = [media_type(t) for t in KINDS]
    assert len(types) == len(set(types)) == len(Typ.all())
    for a, b in itertools.combinations(KINDS, 2):
        assert media_type(a) != media_type(b), (a, b)
        assert media_type(a) != media_type("application/" + b)


@pytest.mark.requirement("HP-JOSE-03")
def test_media_type_rules() -> None:
    assert media_type("at+jwt") == media_type("AT+JWT") == media_type("application/at+jwt")
    assert media_type("Application/At+Jwt") == "application/at+jwt"
    assert media_type("at+jwt") != media_type("text/at+jwt")
    assert media_type("at+jwt ") != media_type("at+jwt")
    assert media_type("at+jwt;q=1") != media_type("at+jwt")
    with pytest.raises(JoseError):
        media_type(None)  # type: ignore[arg-type]


@pytest.mark.requirement("HP-JOSE-03")
@given(st.data())
def test_any_spelling_of_the_expected_typ_is_accepted(data) -> None:
    typ = data.draw(st.sampled_from(KINDS))
    sample = data.draw(tj.valid_jwts(typ=typ))
    spelled = data.draw(tj.typ_spellings(typ))
    token = tj.sign_raw(sample.key, sample.key.alg, {**sample.header, "typ": spelled}, sample.claims)
    assert verify_jws(token, policy=sample.policy.jws, keys=sample.keys).header["typ"] == spelled


@pytest.mark.requirement("HP-JOSE-03")
@pytest.mark.parametrize(("signed_as", "expected"), [(a, b) for a in KINDS for b in KINDS if a != b])
def test_no_kind_passes_as_another(signed_as, expected) -> None:
    key = tj.key_pool("ES256")[0]
    for spelling in (signed_as, signed_as.upper(), "application/" + signed_as):
        token = key.sign_jws({"iss": "x"}, typ=spelling)
        with pytest.raises(JoseError) as err:
            verify_jws(token, policy=JWSPolicy(typ=expected), keys=KeySet([key.public_key]))
        assert err.value.code == "ERR_JWS_TYP"


@pytest.mark.requirement("HP-JOSE-03")
def test_policy_may_name_several_typs_and_typ_is_required_unless_optional() -> None:
    key = tj.key_pool("EdDSA")[0]
    keys = KeySet([key.public_key])
    policy = JWSPolicy(typ=(Typ.CLIENT_ATTESTATION, Typ.CLIENT_ATTESTATION_POP))
    for typ in (Typ.CLIENT_ATTESTATION, Typ.CLIENT_ATTESTATION_POP):
        assert verify_jws(key.sign_jws({}, typ=typ), policy=policy, keys=keys).payload == {}
    untyped = key.sign_jws({}, typ=None)
    with pytest.raises(JoseError) as err:
        verify_jws(untyped, policy=policy, keys=keys)
    assert err.value.code == "ERR_JWS_TYP"
    assert verify_jws(untyped, policy=JWSPolicy(typ=None, typ_optional=True), keys=keys).payload == {}
    with pytest.raises(JoseError) as err:  # a typ present where none is named is still checked
        verify_jws(key.sign_jws({}, typ="at+jwt"), policy=JWSPolicy(typ=None, typ_optional=True), keys=keys)
    assert err.value.code == "ERR_JWS_TYP"


@pytest.mark.requirement("HP-JOSE-03")
def test_policy_must_name_a_typ() -> None:
    for bad in ({"typ": None}, {"typ": ""}, {"typ": ("at+jwt", 1)}, {"typ": "x", "algorithms": ("RS256",)},
                {"typ": "x", "algorithms": ()}, {"typ": "x", "max_token": 0}, {"typ": "x", "max_header": True}):
        with pytest.raises(JoseError) as err:
            JWSPolicy(**bad)
        assert err.value.code == "ERR_POLICY"


@pytest.mark.requirement("HP-JOSE-03")
def test_non_ascii_typ_never_case_maps_to_a_kind() -> None:
    kelvin = Typ.INTROSPECTION.replace("k", "\u212a")  # KELVIN SIGN lower-cases to "k"
    assert kelvin.lower() == Typ.INTROSPECTION
    with pytest.raises(JoseError) as err:
        media_type(kelvin)
    assert err.value.code == "ERR_JWS_TYP"
    key = tj.key_pool("ES256")[0]
    with pytest.raises(JoseError) as err:
        verify_jws(key.sign_jws({}, typ=kelvin), policy=JWSPolicy(typ=Typ.INTROSPECTION),
                   keys=KeySet([key.public_key]))
    assert err.value.code == "ERR_JWS_TYP"
