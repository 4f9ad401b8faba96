"""Pure parts of RFC 8705 at the AS: the binding choice, statement subject claims, self-signed registration,
certificate validity, exchanged-token confirmation. Property tests: valid inputs accepted, each defect refused
with its exact error, arbitrary input raises nothing but ours."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.access_token import build_at_jwt
from hardened.core.mtls import SUBJECT_PARAMETERS, check_certificate_validity, check_self_signed_registration
from hardened.core.sender_constraint import Confirmation, choose_confirmation
from hardened.core.statement_claims import parse_statement_metadata
from hardened.errors import InvalidClient, InvalidClientMetadata, InvalidRequest, InvalidSoftwareStatement
from hardened.jose import SigningKey
from hardened.testing.software_statement import TestAuthority
from pki.ca import SubjectAltNames, self_signed_certificate
from tests.mtls.as_world import x5c_jwk

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ISSUED = self_signed_certificate("CN=self-1", sans=SubjectAltNames(dns=("self.example",)), not_before=START,
                                 days=10)
THUMB = "t" * 43
AUTHORITY = TestAuthority.create()
garbage = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=4), max_leaves=12)


@pytest.mark.requirement("HP-MTLS-23")
@given(constraint=st.sampled_from(["mtls", "dpop", "none"]) | st.text(max_size=8),
       jkt=st.none() | st.just("k" * 43), x5t=st.none() | st.just(THUMB))
def test_one_binding_chosen_by_registration(constraint: str, jkt: str | None, x5t: str | None) -> None:
    try:
        chosen = choose_confirmation(constraint, jkt=jkt, x5t=x5t)
    except InvalidRequest:
        assert constraint == "mtls" and x5t is None
        return
    assert chosen.jkt is None or chosen.x5t is None
    if constraint == "mtls":
        assert chosen == Confirmation(x5t=THUMB) and chosen.cnf() == {"x5t#S256": THUMB}
    else:
        assert chosen == Confirmation(jkt=jkt)


@pytest.mark.requirement("HP-MTLS-23", "HP-MTLS-24")
def test_never_both_confirmations() -> None:
    with pytest.raises(ValueError, match="one confirmation"):
        Confirmation(jkt="k" * 43, x5t=THUMB)
    key = SigningKey.generate("ES256")
    common = dict(key=key, issuer="https://as.example", subject="u", audience="https://up.example", client_id="rs",
                  scopes=("a",), actor="rs", now=0.0, lifetime=60.0)
    for jkt, x5t in (("k" * 43, THUMB), (None, None)):
        with pytest.raises(ValueError, match="exactly one"):
            build_at_jwt(**common, jkt=jkt, x5t=x5t)


def _claims(**changes) -> dict:
    claims = AUTHORITY.base_claims()
    claims.update(changes)
    return claims


@pytest.mark.requirement("HP-MTLS-19")
@pytest.mark.parametrize(("name", "value"), [
    ("tls_client_auth_subject_dn", "CN=agent-1,O=Example"), ("tls_client_auth_san_dns", "a1.agents.example"),
    ("tls_client_auth_san_uri", "https://agents.example/a1"), ("tls_client_auth_san_ip", "10.1.2.3"),
    ("tls_client_auth_san_email", "ops@agents.example"),
])
def test_statement_subject_claims(name: str, value: str) -> None:
    meta = parse_statement_metadata(_claims(token_endpoint_auth_method="tls_client_auth", **{name: value}))
    assert meta.tls_client_auth == {name: value}
    assert parse_statement_metadata(_claims()).tls_client_auth is None


@pytest.mark.requirement("HP-MTLS-19")
@given(names=st.lists(st.sampled_from(sorted(SUBJECT_PARAMETERS)), min_size=1, max_size=3, unique=True),
       value=garbage)
def test_statement_subject_claims_arbitrary(names: list[str], value: object) -> None:
    try:
        meta = parse_statement_metadata(_claims(**dict.fromkeys(names, value)))
    except InvalidSoftwareStatement:
        return
    assert len(names) == 1 and isinstance(value, str) and meta.tls_client_auth == {names[0]: value}


@pytest.mark.requirement("HP-MTLS-19")
def test_self_signed_registration() -> None:
    check_self_signed_registration({"keys": [SigningKey.generate().public_jwk(), x5c_jwk(ISSUED)]})
    der = base64.b64encode(ISSUED.certificate.public_bytes(Encoding.DER)).decode()
    for jwks in ({"keys": []}, {"keys": [SigningKey.generate().public_jwk()]}, None,
                 {"keys": [{**SigningKey.generate().public_jwk(), "x5c": [der]}]},  # another key
                 {"keys": [{**x5c_jwk(ISSUED), "x5c": [base64.b64encode(b"not a certificate").decode()]}]}):
        with pytest.raises(InvalidClientMetadata):
            check_self_signed_registration(jwks)


@pytest.mark.requirement("HP-MTLS-19")
@given(jwks=garbage)
def test_self_signed_registration_arbitrary(jwks: object) -> None:
    with pytest.raises(InvalidClientMetadata):
        check_self_signed_registration(jwks)


@pytest.mark.requirement("HP-MTLS-17")
@given(offset=st.floats(-20 * 86400, 20 * 86400, allow_nan=False))
def test_certificate_validity_window(offset: float) -> None:
    cert = ISSUED.certificate
    now = cert.not_valid_before_utc.timestamp() + offset
    inside = cert.not_valid_before_utc.timestamp() <= now <= cert.not_valid_after_utc.timestamp()
    if inside:
        check_certificate_validity(cert, now)
    else:
        with pytest.raises(InvalidClient):
            check_certificate_validity(cert, now)
