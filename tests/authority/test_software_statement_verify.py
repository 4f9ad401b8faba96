"""verify_software_statement: valid statements accepted, each defect refused with its exact error (HP-SS)."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.software_statement import (
    SoftwareStatementPolicy,
    TrustedAuthority,
    VerifiedSoftwareStatement,
    verify_software_statement,
)
from hardened.errors import InvalidSoftwareStatement, UnapprovedSoftwareStatement
from hardened.jose import KeySet, SigningKey
from hardened.testing.software_statement import (
    CLAIM_DEFECTS,
    JOSE_DEFECTS,
    NOW,
    TestAuthority,
    garbage,
    valid_claims,
)

ES = TestAuthority.create("https://authority.example", "ES256")
ED = TestAuthority.create("https://authority.example", "EdDSA")
OTHER = TestAuthority.create("https://other-authority.example", "ES256")
CLIENT_JWK = SigningKey.generate("ES256").public_jwk()
POLICY = SoftwareStatementPolicy()
TRUSTED = [ES.trusted(), OTHER.trusted()]


def verify(token, *, trusted=TRUSTED, policy=POLICY, now=NOW) -> VerifiedSoftwareStatement:
    return verify_software_statement(token, trusted_authorities=trusted, policy=policy, now=now)


@pytest.mark.requirement("HP-SS-05")
@given(claims=valid_claims(ES.issuer, NOW, key_jwk=CLIENT_JWK))
def test_valid_statements_are_accepted_and_typed(claims: dict) -> None:
    verified = verify(ES.sign(claims))
    meta = verified.metadata
    assert (verified.issuer, verified.jti, verified.kid) == (ES.issuer, claims["jti"], ES.key.kid)
    assert verified.alg == "ES256"
    assert (verified.iat, verified.exp) == (float(claims["iat"]), float(claims["exp"]))
    assert meta.software_id == claims["software_id"] and meta.org_id == claims["org_id"]
    assert meta.redirect_uris == tuple(claims["redirect_uris"]) and meta.scopes == tuple(claims["scope"].split())
    assert meta.grant_types == tuple(claims["grant_types"])
    assert meta.attestation_required is claims["attestation_required"]
    assert (meta.hardened_tier, meta.sender_constraint) == (claims["hardened_tier"], claims["sender_constraint"])
    assert (meta.jwks, meta.jwks_uri) == (claims.get("jwks"), claims.get("jwks_uri"))
    assert meta.status is not None and meta.status.idx == claims["status"]["status_list"]["idx"]
    assert dataclasses.is_dataclass(verified) and verified.claims == claims


@pytest.mark.requirement("HP-SS-02")
@given(claims=valid_claims(ED.issuer, NOW))
def test_eddsa_statements_are_accepted(claims: dict) -> None:
    verify(ED.sign(claims), trusted=[ED.trusted()])


@pytest.mark.requirement("HP-SS-02")
def test_ps256_statements_are_accepted() -> None:
    ps = TestAuthority.create("https://ps.example", "PS256")
    assert verify(ps.sign(ps.base_claims()), trusted=[ps.trusted()]).alg == "PS256"


@pytest.mark.requirement("HP-SS-05")
@pytest.mark.requirement("HP-SS-07")
@pytest.mark.requirement("HP-SS-04")
@given(claims=valid_claims(ES.issuer, NOW), defect=st.sampled_from(sorted(CLAIM_DEFECTS)))
def test_each_claim_defect_is_invalid(claims: dict, defect: str) -> None:
    bad = CLAIM_DEFECTS[defect](claims, NOW)
    with pytest.raises(InvalidSoftwareStatement):
        verify(ES.sign(bad))


@pytest.mark.requirement("HP-SS-01")
@pytest.mark.requirement("HP-SS-02")
@given(claims=valid_claims(ES.issuer, NOW), defect=st.sampled_from(sorted(JOSE_DEFECTS)))
def test_each_jose_defect_is_invalid(claims: dict, defect: str) -> None:
    with pytest.raises(InvalidSoftwareStatement):
        verify(JOSE_DEFECTS[defect](ES, claims))


@pytest.mark.requirement("HP-SS-01")
@pytest.mark.parametrize("defect", sorted(JOSE_DEFECTS))
def test_every_jose_defect_is_exercised(defect: str) -> None:
    """Every defect class at least once, independent of hypothesis' sampling."""
    with pytest.raises(InvalidSoftwareStatement):
        verify(JOSE_DEFECTS[defect](ES, ES.base_claims()))


@pytest.mark.requirement("HP-SS-05")
@pytest.mark.parametrize("defect", sorted(CLAIM_DEFECTS))
def test_every_claim_defect_is_exercised(defect: str) -> None:
    with pytest.raises(InvalidSoftwareStatement):
        verify(ES.sign(CLAIM_DEFECTS[defect](ES.base_claims(), NOW)))


@pytest.mark.requirement("HP-SS-03")
@given(claims=valid_claims("https://untrusted.example", NOW))
def test_untrusted_issuer_is_invalid(claims: dict) -> None:
    rogue = TestAuthority("https://untrusted.example", ES.key)  # even with a trusted authority's key
    with pytest.raises(InvalidSoftwareStatement, match="not a trusted authority"):
        verify(rogue.sign(claims))


@pytest.mark.requirement("HP-SS-03")
@given(claims=valid_claims(ES.issuer, NOW), keep_kid=st.booleans())
def test_other_authoritys_key_is_invalid(claims: dict, keep_kid: bool) -> None:
    """iss names ES but OTHER (also trusted) signed it: ES's key set has no such key, or the signature fails."""
    header = {"kid": ES.key.kid} if keep_kid else None
    with pytest.raises(InvalidSoftwareStatement):
        verify(OTHER.sign(claims, header=header))


@pytest.mark.requirement("HP-SS-03")
def test_issuer_is_compared_exactly() -> None:
    for variant in ("https://authority.example/", "HTTPS://authority.example", "https://authority.example."):
        forged = TestAuthority(variant, ES.key)
        with pytest.raises(InvalidSoftwareStatement):
            verify(forged.sign(forged.base_claims()))


@pytest.mark.requirement("HP-SS-04")
def test_freshness_errors_name_their_check() -> None:
    cases = {
        "ERR_JWT_EXPIRED": ES.base_claims(exp=int(NOW)),
        "ERR_JWT_NOT_YET_VALID": ES.base_claims(iat=int(NOW) + 11),
        "ERR_JWT_TOO_OLD": ES.base_claims(iat=int(NOW) - 31 * 86_400, exp=int(NOW) + 86_400),
        "ERR_JWT_CLAIM_INVALID": ES.base_claims(iat=int(NOW), exp=int(NOW) + 40 * 86_400),
    }
    policy = dataclasses.replace(POLICY, max_age=30 * 86_400, max_lifetime=35 * 86_400)
    for code, claims in cases.items():
        with pytest.raises(InvalidSoftwareStatement) as info:
            verify(ES.sign(claims), policy=policy)
        assert info.value.detail == code
    verify(ES.sign(ES.base_claims(iat=int(NOW) + 10)))  # FAPI: up to 10 s ahead is accepted


@pytest.mark.requirement("HP-SS-06")
def test_sizes_are_bounded() -> None:
    big = ES.base_claims(redirect_uris=[f"https://a.example/{i}" for i in range(17)])
    with pytest.raises(InvalidSoftwareStatement):
        verify(ES.sign(big))
    with pytest.raises(InvalidSoftwareStatement):
        verify("a" * 20_000 + "." + "b" * 10 + ".c")
    with pytest.raises(InvalidSoftwareStatement):
        verify(ES.sign(ES.base_claims(redirect_uris=["https://a.example/" + "x" * 2100])))


@pytest.mark.requirement("HP-SS-08")
def test_not_accepted_here_is_unapproved_not_invalid() -> None:
    token = ES.sign(ES.base_claims(hardened_tier="attested", attestation_required=True))
    assert verify(token).hardened_tier == "attested"
    with pytest.raises(UnapprovedSoftwareStatement):
        verify(token, policy=dataclasses.replace(POLICY, accepted_tiers=("hardened",)))
    with pytest.raises(UnapprovedSoftwareStatement):
        verify(ES.sign(ES.base_claims(sender_constraint="mtls")),
               policy=dataclasses.replace(POLICY, accepted_sender_constraints=("dpop",)))
    with pytest.raises(UnapprovedSoftwareStatement):
        verify(ES.sign(ES.base_claims(hardened_tier="baseline")))


@pytest.mark.requirement("HP-SS-09")
@given(value=garbage())
def test_arbitrary_input_raises_only_our_errors(value) -> None:
    with pytest.raises(InvalidSoftwareStatement):
        verify(value)


@pytest.mark.requirement("HP-SS-09")
@given(claims=st.dictionaries(st.sampled_from(sorted(ES.base_claims())), st.from_type(type(None)) | st.integers()
                              | st.text(max_size=20) | st.lists(st.text(max_size=5), max_size=3) | st.booleans(),
                              max_size=20))
def test_arbitrary_claims_raise_only_our_errors(claims: dict) -> None:
    with contextlib.suppress(InvalidSoftwareStatement, UnapprovedSoftwareStatement):
        verify(ES.sign({**ES.base_claims(), **claims}))


@pytest.mark.requirement("HP-SS-01")
def test_policy_refuses_weak_settings() -> None:
    with pytest.raises(ValueError):
        SoftwareStatementPolicy(algorithms=("RS256",))
    with pytest.raises(ValueError):
        SoftwareStatementPolicy(max_future_skew=120)
    with pytest.raises(ValueError):
        SoftwareStatementPolicy(accepted_tiers=("gold",))


@pytest.mark.requirement("HP-SS-03")
def test_key_set_is_only_the_issuers() -> None:
    mixed = [TrustedAuthority(ES.issuer, KeySet([OTHER.key.public_key]))]
    with pytest.raises(InvalidSoftwareStatement):
        verify(ES.sign(ES.base_claims()), trusted=mixed)


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)


@pytest.mark.requirement("HP-SS-09")
@given(claims=st.dictionaries(st.sampled_from([*sorted(ES.base_claims()), "jwks", "contacts", "logo_uri",
                                               "response_types", "software_version"]), json_values, max_size=25))
def test_claim_parser_raises_only_invalid(claims: dict) -> None:
    from hardened.core.statement_claims import parse_statement_metadata

    with contextlib.suppress(InvalidSoftwareStatement):
        parse_statement_metadata(claims)
