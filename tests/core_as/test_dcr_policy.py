"""Registration policy (RFC 7591 §2.3): statement values win; contradictions are errors; baseline limits."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.dcr_policy import RegistrationPolicy, StatementFacts, verify_registration_request
from hardened.core.scopes import ScopePolicy
from hardened.errors import InvalidClientMetadata, InvalidRedirectURI, InvalidSoftwareStatement, OAuthError
from hardened.jose import SigningKey

SCOPES = ScopePolicy({"tools:read": "baseline", "trades:read": "hardened", "admin": "attested"})
POLICY = RegistrationPolicy(scopes=SCOPES, baseline_enabled=True)
KEY = SigningKey.generate("ES256")
FACTS = StatementFacts(
    issuer="https://authority.example", jti="j1", exp=2e9, software_id="sw", client_name="Agent", org_name="Org",
    redirect_uris=("https://agent.example/cb",), scopes=("trades:read",), token_endpoint_auth_method="private_key_jwt",
    grant_types=("authorization_code", "refresh_token"), tier="hardened", sender_constraint="dpop",
    jwks={"keys": [KEY.public_jwk()]},
)


def _hardened(body=None, **changes):
    return verify_registration_request(body or {}, statement=replace(FACTS, **changes), policy=POLICY)


@pytest.mark.requirement("HP-DCR-03", "HP-DCR-05")
def test_statement_values_win() -> None:
    meta = _hardened({"client_name": "Agent", "redirect_uris": ["https://agent.example/cb"]})
    assert meta.redirect_uris == FACTS.redirect_uris and meta.token_endpoint_auth_method == "private_key_jwt"
    assert meta.sender_constraint == "dpop" and meta.tier == "hardened" and meta.authority == FACTS.issuer


@pytest.mark.requirement("HP-DCR-03")
def test_contradicting_redirect_uris_is_invalid_redirect_uri() -> None:
    with pytest.raises(InvalidRedirectURI):
        _hardened({"redirect_uris": ["https://evil.example/cb"]})


@pytest.mark.requirement("HP-DCR-04")
@pytest.mark.parametrize("body", [{"scope": "trades:read admin"}, {"token_endpoint_auth_method": "none"},
                                  {"jwks": {"keys": []}}, {"client_name": "Other"}, {"software_id": "x"},
                                  {"jwks_uri": "https://agent.example/jwks"}, {"grant_types": ["client_credentials"]}])
def test_contradicting_metadata_is_invalid_client_metadata(body) -> None:
    with pytest.raises(InvalidClientMetadata):
        _hardened(body)


@pytest.mark.requirement("HP-DCR-05")
@pytest.mark.parametrize("changes", [{"token_endpoint_auth_method": "client_secret_basic"},
                                     {"sender_constraint": "none"}, {"tier": "baseline"}, {"scopes": ("admin",)},
                                     {"redirect_uris": ("http://agent.example/cb",)},
                                     {"redirect_uris": ("https://agent.example/cb#f",)}])
def test_statement_itself_must_fit_the_hardened_tier(changes) -> None:
    with pytest.raises((InvalidClientMetadata, InvalidRedirectURI)):
        _hardened(**changes)


def test_statement_with_bad_keys_refused() -> None:
    with pytest.raises(InvalidSoftwareStatement):
        _hardened(jwks={"keys": [{"kty": "oct", "k": "AAAA"}]})


@pytest.mark.requirement("HP-DCR-10")
def test_statement_with_jwks_uri_only_is_refused_clearly() -> None:
    """Keys come by value, as the authority vetted them; jwks_uri alone is a clear metadata error."""
    with pytest.raises(InvalidClientMetadata) as info:
        _hardened(jwks=None)
    assert "by value" in info.value.description


@pytest.mark.requirement("HP-DCR-07")
def test_baseline_policy() -> None:
    meta = verify_registration_request({"redirect_uris": ["http://localhost:3000/cb"]}, statement=None, policy=POLICY)
    assert meta.tier == "baseline" and meta.scopes == ("tools:read",) and meta.sender_constraint == "none"
    with pytest.raises(InvalidSoftwareStatement):
        verify_registration_request({"redirect_uris": ["https://a.example/cb"]}, statement=None,
                                    policy=replace(POLICY, baseline_enabled=False))
    for uri in ("http://a.example/cb", "https://a.example/cb#frag", "ftp://a.example", "/relative"):
        with pytest.raises(InvalidRedirectURI):
            verify_registration_request({"redirect_uris": [uri]}, statement=None, policy=POLICY)


@given(body=st.dictionaries(st.sampled_from(["redirect_uris", "scope", "token_endpoint_auth_method", "jwks",
                                             "grant_types", "client_name", "jwks_uri"]),
                            st.one_of(st.text(max_size=30), st.lists(st.text(max_size=30), max_size=3), st.none(),
                                      st.integers(), st.dictionaries(st.text(max_size=5), st.text(max_size=5))),
                            max_size=6),
       with_statement=st.booleans())
def test_arbitrary_metadata_only_oauth_errors(body, with_statement) -> None:
    with contextlib.suppress(OAuthError):
        verify_registration_request(body, statement=FACTS if with_statement else None, policy=POLICY)


@pytest.mark.requirement("HP-AS-17")
def test_attestation_requirement_is_never_dropped() -> None:
    with pytest.raises(InvalidClientMetadata):
        _hardened(attestation_required=True)
    assert _hardened(tier="attested").tier == "hardened"  # no attestation here: holds the hardened tier
    attesting = replace(POLICY, attestation=True)
    for changes in ({"tier": "attested"}, {"attestation_required": True}):
        meta = verify_registration_request({}, statement=replace(FACTS, **changes), policy=attesting)
        assert meta.tier == "attested"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@pytest.mark.requirement("HP-AS-11")
@pytest.mark.parametrize("body", [{"grant_types": [{}]}, {"grant_types": [["x"]]}, {"redirect_uris": [{}]}])
@pytest.mark.parametrize("with_statement", [False, True])
def test_unhashable_list_members_are_metadata_errors_not_crashes(body, with_statement) -> None:
    """RFC 7591 §3.2.2: a list member that is not a string is invalid metadata (it used to raise TypeError)."""
    body = {"redirect_uris": ["https://agent.example/cb"], **body}
    with pytest.raises((InvalidClientMetadata, InvalidRedirectURI)):
        verify_registration_request(body, statement=FACTS if with_statement else None, policy=POLICY)


@pytest.mark.requirement("HP-AS-11")
@given(body=st.dictionaries(st.sampled_from(["redirect_uris", "scope", "grant_types", "client_name", "jwks",
                                             "token_endpoint_auth_method", "software_id"]), JSON_VALUES, max_size=6),
       with_statement=st.booleans())
def test_arbitrary_json_metadata_only_oauth_errors(body, with_statement) -> None:
    with contextlib.suppress(OAuthError):
        verify_registration_request(body, statement=FACTS if with_statement else None, policy=POLICY)


@pytest.mark.requirement("HP-PAR-07")
@pytest.mark.parametrize("uri", ["https://ex\u00e4mple.test/cb", "https://a.example/\u4e00", "https://a.example/c\x0bb",
                                 "https://a.example/c\x7fb", "https://a.example/c\x00b"])
def test_redirect_uris_are_printable_ascii(uri) -> None:
    """RFC 3986 §2: non-ASCII or control characters are refused (they broke the consent page's CSP header)."""
    with pytest.raises(InvalidRedirectURI):
        verify_registration_request({"redirect_uris": [uri]}, statement=None, policy=POLICY)
    with pytest.raises(InvalidRedirectURI):
        _hardened(redirect_uris=(uri,))
