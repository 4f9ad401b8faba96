"""RFC 8705 §3: x5t#S256 thumbprints and the certificate binding of tokens."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.mtls import certificate_thumbprint, check_certificate_binding, der_thumbprint
from hardened.errors import InvalidToken
from hardened.testing.mtls import certificates
from pki.ca import IssuedCertificate


@pytest.mark.requirement("HP-MTLS-01")
@given(certificates(key_types=("ec-p256", "ed25519", "rsa-2048")))
def test_thumbprint_is_sha256_of_der(issued: IssuedCertificate) -> None:
    der = issued.certificate.public_bytes(Encoding.DER)
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    assert certificate_thumbprint(issued.certificate) == der_thumbprint(der) == expected
    assert len(expected) == 43 and "=" not in expected


@pytest.mark.requirement("HP-MTLS-01")
def test_thumbprint_known_value() -> None:
    # RFC 8705 §3.1: base64url of the SHA-256 digest of the DER bytes; a fixed input pins the encoding.
    assert der_thumbprint(b"") == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"


@pytest.mark.requirement("HP-MTLS-02")
@given(certificates(), certificates())
def test_binding_accepts_only_the_bound_certificate(bound: IssuedCertificate, other: IssuedCertificate) -> None:
    cnf = {"x5t#S256": certificate_thumbprint(bound.certificate)}
    check_certificate_binding(cnf, bound.certificate)
    if other.certificate != bound.certificate:
        with pytest.raises(InvalidToken):
            check_certificate_binding(cnf, other.certificate)
    with pytest.raises(InvalidToken):
        check_certificate_binding(cnf, None)


@pytest.mark.requirement("HP-MTLS-02")
@pytest.mark.requirement("HP-MTLS-03")
@pytest.mark.parametrize("cnf", [
    None, {}, {"jkt": "x" * 43}, {"x5t#S256": 7}, {"x5t#S256": "short"}, {"x5t#S256": "é" * 43}, "x5t#S256",
])
def test_malformed_or_dual_confirmation_is_refused(cnf: object) -> None:
    from hardened.testing.mtls import sample_ca
    cert = sample_ca().certificate
    with pytest.raises(InvalidToken):
        check_certificate_binding(cnf, cert)
    if isinstance(cnf, dict):
        with pytest.raises(InvalidToken):  # a genuine thumbprint together with jkt is still refused
            check_certificate_binding({**cnf, "x5t#S256": certificate_thumbprint(cert), "jkt": "k"}, cert)


@pytest.mark.requirement("HP-MTLS-02")
@given(st.dictionaries(st.sampled_from(["x5t#S256", "jkt", "other"]),
                       st.one_of(st.text(max_size=50), st.integers(), st.none())))
def test_arbitrary_cnf_raises_only_invalid_token(cnf: dict) -> None:
    from hardened.testing.mtls import sample_ca
    with pytest.raises(InvalidToken):
        check_certificate_binding(cnf, sample_ca().certificate)
