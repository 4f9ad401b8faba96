"""Pure checks of the AS (hardened/core): PKCE, scopes, PAR, client assertions, exchange. Valid inputs pass; each
defect class fails with its exact error; arbitrary input raises only ours."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.client.assertion import build_client_assertion
from hardened.core.access_token import introspection_object
from hardened.core.client_assertion import (
    JWT_BEARER,
    ClientAssertionPolicy,
    unverified_client_id,
    verify_client_assertion,
)
from hardened.core.par import verify_par_request
from hardened.core.pkce import check_code_challenge, code_challenge_of, verify_code_verifier
from hardened.core.scopes import ScopePolicy, check_scopes, parse_scope, tier_at_least
from hardened.core.token_exchange import ACCESS_TOKEN_TYPE, verify_token_exchange
from hardened.errors import InvalidClient, InvalidGrant, InvalidRequest, InvalidScope, OAuthError
from hardened.jose import KeySet, SigningKey
from hardened.testing.as_records import client_metadata, token_record

NOW = 1_767_225_600.0
ISS = "https://as.example"
KEY = SigningKey.generate("ES256")
KEYS = KeySet([KEY.public_key])
POLICY = ClientAssertionPolicy(issuer=ISS)
SCOPES = ScopePolicy({"tools:read": "baseline", "trades:read": "hardened", "admin": "attested"})
verifiers = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~", min_size=43,
                    max_size=128)


@pytest.mark.requirement("HP-TOK-01")
@given(verifier=verifiers, other=verifiers)
def test_pkce_verifier_matches_only_its_challenge(verifier, other) -> None:
    verify_code_verifier(verifier, challenge=code_challenge_of(verifier))
    if other != verifier:
        with pytest.raises(InvalidGrant):
            verify_code_verifier(other, challenge=code_challenge_of(verifier))


@pytest.mark.requirement("HP-PAR-08")
@given(value=st.one_of(st.none(), st.text(max_size=50), st.integers()),
       method=st.one_of(st.none(), st.text(max_size=8)))
def test_pkce_challenge_arbitrary_input_only_invalid_request(value, method) -> None:
    try:
        check_code_challenge(value, method)
    except InvalidRequest:
        return
    assert method == "S256" and isinstance(value, str) and len(value) == 43


@pytest.mark.requirement("HP-AS-16")
def test_tiers_and_scopes() -> None:
    assert tier_at_least("attested", "hardened") and not tier_at_least("baseline", "hardened")
    assert not tier_at_least("unknown", "baseline")
    check_scopes(("trades:read",), tier="hardened", client_scopes=("trades:read",), policy=SCOPES)
    for scope, tier, registered in (("admin", "hardened", ("admin",)), ("nope", "attested", ("nope",)),
                                    ("tools:read", "hardened", ())):
        with pytest.raises(InvalidScope):
            check_scopes((scope,), tier=tier, client_scopes=registered, policy=SCOPES)
    assert SCOPES.allowed_for("baseline") == ("tools:read",)


@given(value=st.one_of(st.text(max_size=200), st.none(), st.integers()))
def test_parse_scope_arbitrary_input_only_invalid_scope(value) -> None:
    with contextlib.suppress(InvalidScope):
        assert isinstance(parse_scope(value), tuple)


PAR = {"response_type": "code", "redirect_uri": "https://agent.example/cb", "scope": "trades:read",
       "resource": "https://mcp.example/mcp", "code_challenge": code_challenge_of("v" * 43),
       "code_challenge_method": "S256", "dpop_jkt": KEY.thumbprint}


def _par(**changes):
    params = {k: v for k, v in {**PAR, **changes}.items() if v is not None}
    return verify_par_request(params, client_id="c1", client=client_metadata(), resources=("https://mcp.example/mcp",),
                              scopes=ScopePolicy({"trades:read": "hardened", "trades:write": "hardened"}))


@pytest.mark.requirement("HP-PAR-05", "HP-PAR-07")
def test_par_core_accepts_valid_and_binds_jkt() -> None:
    assert _par().dpop_jkt == KEY.thumbprint and _par().redirect_uri == "https://agent.example/cb"
    assert _par(scope=None).scopes == ()
    with pytest.raises(InvalidRequest):
        _par(dpop_jkt=None)


@pytest.mark.requirement("HP-PAR-05")
def test_par_core_rejects_malformed_dpop_jkt() -> None:
    with pytest.raises(InvalidRequest):
        _par(dpop_jkt="short")


@given(params=st.dictionaries(st.sampled_from([*list(PAR), "client_id", "request_uri", "state"]),
                              st.text(max_size=60), max_size=9))
def test_par_core_arbitrary_params_only_oauth_errors(params) -> None:
    with contextlib.suppress(OAuthError):
        verify_par_request(params, client_id="c1", client=client_metadata(), resources=("https://mcp.example/mcp",),
                           scopes=SCOPES)


def _form(**changes):
    return {"client_assertion_type": JWT_BEARER,
            "client_assertion": build_client_assertion(KEY, "c1", ISS, now=NOW, **changes)}


@pytest.mark.requirement("HP-TOK-07")
def test_client_assertion_valid_and_defects() -> None:
    verified = verify_client_assertion(_form(jti="j1"), client_id="c1", keys=KEYS, policy=POLICY, now=NOW)
    assert verified.jti == "j1" and verified.client_id == "c1"
    assert unverified_client_id(_form()["client_assertion"]) == "c1"
    defects = [
        ({**_form(), "client_assertion_type": "urn:other"}, "c1", NOW),
        (_form(), "c2", NOW),                                   # iss/sub are another client
        (_form(lifetime=3600), "c1", NOW),                      # lifetime too long
        (_form(), "c1", NOW + 61),                              # expired / too old
        (_form(extra={"iat": NOW + 30}), "c1", NOW),            # from the future
        (_form(extra={"jti": 5}), "c1", NOW),
    ]
    for form, client_id, now in defects:
        with pytest.raises(InvalidClient):
            verify_client_assertion(form, client_id=client_id, keys=KEYS, policy=POLICY, now=now)


@pytest.mark.requirement("HP-TOK-04")
@given(aud=st.one_of(st.text(max_size=30), st.lists(st.text(max_size=30), max_size=3)))
def test_client_assertion_aud_only_the_exact_issuer(aud) -> None:
    form = _form(extra={"aud": aud})
    if aud == ISS:
        verify_client_assertion(form, client_id="c1", keys=KEYS, policy=POLICY, now=NOW)
    else:
        with pytest.raises(InvalidClient):
            verify_client_assertion(form, client_id="c1", keys=KEYS, policy=POLICY, now=NOW)


@given(assertion=st.one_of(st.text(max_size=200), st.binary(max_size=50), st.none(), st.integers()),
       atype=st.one_of(st.just(JWT_BEARER), st.text(max_size=20)))
def test_client_assertion_arbitrary_input_only_invalid_client(assertion, atype) -> None:
    with pytest.raises(InvalidClient):
        verify_client_assertion({"client_assertion": assertion, "client_assertion_type": atype}, client_id="c1",
                                keys=KEYS, policy=POLICY, now=NOW)
    unverified_client_id(assertion)


EX = {"subject_token": "t", "subject_token_type": ACCESS_TOKEN_TYPE, "audience": "https://up.example"}


def _exchange(form=None, subject=None, **kw):
    return verify_token_exchange(form or EX, subject=subject if subject is not None else token_record(),
                                 own_audience="https://mcp.example/mcp", upstreams=("https://up.example",),
                                 upstream_scopes=("trades:read",), now=kw.get("now", 1100.0))


@pytest.mark.requirement("HP-TE-01", "HP-TE-03")
def test_exchange_core() -> None:
    assert _exchange().scopes == ("trades:read",)
    with pytest.raises(InvalidGrant):
        _exchange(subject=token_record(audience="https://other.example"))
    with pytest.raises(InvalidGrant):
        _exchange(now=2000.0)
    with pytest.raises(InvalidScope):
        _exchange(subject=token_record(scopes=("trades:write",)))


@pytest.mark.requirement("HP-AS-14")
def test_introspection_object_inactive_is_exactly_active_false() -> None:
    record = token_record()
    assert introspection_object(record, issuer=ISS, audience=record.audience, now=1100.0)["active"] is True
    for rec, aud, now in ((record, "https://x", 1100.0), (record, record.audience, 1300.0), (None, "a", 0.0),
                          (token_record(kind="refresh"), record.audience, 1100.0),
                          (token_record(revoked=True), record.audience, 1100.0)):
        assert introspection_object(rec, issuer=ISS, audience=aud, now=now) == {"active": False}
