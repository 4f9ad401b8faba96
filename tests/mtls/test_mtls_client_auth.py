"""RFC 8705 §2.1 (tls_client_auth) and §2.2 (self_signed_tls_client_auth), as pure checks."""

from __future__ import annotations

import base64
import contextlib

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.distinguished_name import dn_of_name
from hardened.core.mtls import (
    SUBJECT_PARAMETERS,
    check_self_signed_tls_client_auth,
    check_tls_client_auth,
    tls_client_auth_subject,
)
from hardened.errors import InvalidClient, InvalidClientMetadata
from hardened.testing.mtls import certificates


def _x5c(*certs) -> dict:
    return {"keys": [{"kty": "EC", "x5c": [base64.b64encode(c.public_bytes(Encoding.DER)).decode()]} for c in certs]}


@pytest.mark.requirement("HP-MTLS-04")
@pytest.mark.parametrize("metadata", [
    {}, {"tls_client_auth_subject_dn": "CN=a", "tls_client_auth_san_dns": "a.example"},
    {"tls_client_auth_subject_dn": ""}, {"tls_client_auth_subject_dn": 5}, {"tls_client_auth_san_uri": "a\nb"},
    {"tls_client_auth_subject_dn": "not a dn"}, {"tls_client_auth_san_ip": "10.0.0.256"},
    {"tls_client_auth_san_email": "no-at-sign"}, {"tls_client_auth_san_dns": "x" * 3000},
])
def test_registration_needs_exactly_one_well_formed_subject(metadata: dict) -> None:
    with pytest.raises(InvalidClientMetadata):
        tls_client_auth_subject(metadata)


@pytest.mark.requirement("HP-MTLS-04")
def test_each_subject_parameter_is_recognised() -> None:
    values = {"tls_client_auth_subject_dn": "CN=a", "tls_client_auth_san_dns": "a.example",
              "tls_client_auth_san_uri": "https://a.example/x", "tls_client_auth_san_ip": "::1",
              "tls_client_auth_san_email": "a@example.com"}
    for name, value in values.items():
        assert tls_client_auth_subject({name: value, "client_name": "x"}).kind == SUBJECT_PARAMETERS[name]


@pytest.mark.requirement("HP-MTLS-05")
@pytest.mark.requirement("HP-MTLS-06")
@pytest.mark.parametrize(("name", "value", "accepted"), [
    ("tls_client_auth_subject_dn", "CN=agent-1,O=Example", True),
    ("tls_client_auth_subject_dn", "cn=Agent-1,o=EXAMPLE", True),
    ("tls_client_auth_subject_dn", "O=Example,CN=agent-1", False),  # reordered
    ("tls_client_auth_subject_dn", "CN=agent-1", False),  # substring of the subject
    ("tls_client_auth_san_dns", "A1.Agents.Example", True),
    ("tls_client_auth_san_dns", "agents.example", False),
    ("tls_client_auth_san_uri", "https://agents.example/a1", True),
    ("tls_client_auth_san_uri", "https://agents.example/A1", False),
    ("tls_client_auth_san_uri", "https://agents.example/a", False),
    ("tls_client_auth_san_ip", "10.1.2.3", True),
    ("tls_client_auth_san_ip", "::ffff:10.1.2.3", False),
    ("tls_client_auth_san_ip", "10.1.2.30", False),
    ("tls_client_auth_san_email", "Ops@agents.example", True),  # domain ignores case
    ("tls_client_auth_san_email", "ops@Agents.Example", False),  # local part does not
    ("tls_client_auth_san_email", "a1.agents.example@x", False),
])
def test_subject_matching(live_pki, name: str, value: str, accepted: bool) -> None:
    cert = live_pki.certs["good"].certificate
    if accepted:
        check_tls_client_auth({name: value}, cert)
    else:
        with pytest.raises(InvalidClient):
            check_tls_client_auth({name: value}, cert)


@pytest.mark.requirement("HP-MTLS-06")
def test_no_certificate_or_unusable_registration_is_invalid_client(live_pki) -> None:
    with pytest.raises(InvalidClient):
        check_tls_client_auth({"tls_client_auth_san_dns": "a1.agents.example"}, None)
    with pytest.raises(InvalidClient):
        check_tls_client_auth({}, live_pki.certs["good"].certificate)
    with pytest.raises(InvalidClient):  # a certificate without SANs matches no SAN parameter
        check_tls_client_auth({"tls_client_auth_san_dns": "x.example"}, live_pki.root.certificate)


@pytest.mark.requirement("HP-MTLS-08")
def test_self_signed_registered_and_unregistered(live_pki) -> None:
    mine, other = live_pki.certs["self_signed"].certificate, live_pki.certs["self_signed_other"].certificate
    check_self_signed_tls_client_auth(_x5c(other, mine), mine)
    with pytest.raises(InvalidClient):
        check_self_signed_tls_client_auth(_x5c(other), mine)
    with pytest.raises(InvalidClient):
        check_self_signed_tls_client_auth(_x5c(mine), None)
    chain_not_leaf = {"keys": [{"x5c": [base64.b64encode(other.public_bytes(Encoding.DER)).decode(),
                                        base64.b64encode(mine.public_bytes(Encoding.DER)).decode()]}]}
    with pytest.raises(InvalidClient):  # only x5c[0] is the key's certificate (RFC 7517 §4.7)
        check_self_signed_tls_client_auth(chain_not_leaf, mine)


@pytest.mark.requirement("HP-MTLS-08")
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(["keys", "x5c", "kty"]), inner, max_size=3), max_leaves=10))
def test_arbitrary_jwks_raise_only_invalid_client(jwks: object) -> None:
    from hardened.testing.mtls import sample_ca
    with pytest.raises(InvalidClient):
        check_self_signed_tls_client_auth(jwks, sample_ca().certificate)


@pytest.mark.requirement("HP-MTLS-04")
@given(st.dictionaries(st.sampled_from([*SUBJECT_PARAMETERS, "client_name"]),
                       st.one_of(st.text(max_size=40), st.integers(), st.none()), max_size=3))
def test_arbitrary_metadata_raises_only_ours(metadata: dict) -> None:
    from hardened.testing.mtls import sample_ca
    with contextlib.suppress(InvalidClientMetadata):
        tls_client_auth_subject(metadata)
    with contextlib.suppress(InvalidClient):
        check_tls_client_auth(metadata, sample_ca().certificate)


@pytest.mark.requirement("HP-MTLS-05")
@pytest.mark.requirement("HP-MTLS-06")
@given(certificates(), certificates())
def test_any_certificate_matches_its_own_subject_and_sans(issued, other) -> None:
    from cryptography import x509
    cert = issued.certificate
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    registrations = [{"tls_client_auth_subject_dn": cert.subject.rfc4514_string()}]
    registrations += [{"tls_client_auth_san_dns": v.upper()} for v in san.get_values_for_type(x509.DNSName)]
    registrations += [{"tls_client_auth_san_uri": v} for v in san.get_values_for_type(x509.UniformResourceIdentifier)]
    registrations += [{"tls_client_auth_san_ip": str(v)} for v in san.get_values_for_type(x509.IPAddress)]
    for metadata in registrations:
        check_tls_client_auth(metadata, cert)
    if dn_of_name(other.certificate.subject) != dn_of_name(cert.subject):
        with pytest.raises(InvalidClient):
            check_tls_client_auth(registrations[0], other.certificate)


@pytest.mark.requirement("HP-MTLS-06")
def test_malformed_subject_is_invalid_client_not_a_500(live_pki) -> None:
    """cryptography parses a subject only when asked; a malformed one (invalid UTF8String) matches nothing."""
    from cryptography import x509

    good = live_pki.certs["good"].certificate
    der = good.public_bytes(Encoding.DER)
    cn = good.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value.encode()
    broken = x509.load_der_x509_certificate(der.replace(cn, b"\xff" * len(cn), 1))
    with pytest.raises(InvalidClient):
        check_tls_client_auth({"tls_client_auth_subject_dn": "CN=agent-1,O=Example"}, broken)
