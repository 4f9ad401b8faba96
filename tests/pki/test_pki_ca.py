"""pki.ca and pki.verify: profiles, keys, and path validation with an injected time."""

from __future__ import annotations

import datetime as dt
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from hardened.errors import InvalidClient
from hardened.testing.mtls import FIXED_NOW
from pki.ca import CertificateAuthority, SubjectAltNames, self_signed_certificate
from pki.profiles import PkiError, generate_private_key, key_type_of
from pki.verify import ChainError, ChainPolicy, TrustAnchors, certificate_info, verify_client_chain, verify_server_chain

START = dt.datetime.fromtimestamp(FIXED_NOW, dt.UTC) - dt.timedelta(days=30)

AGENT_SANS = SubjectAltNames(uri=("https://agents.example/a1",), dns=("a1.agents.example",))
SERVER_SANS = SubjectAltNames(dns=("as.example",), ip=("127.0.0.1",))
DAY = 86400.0


def _ext(cert: x509.Certificate, kind: type) -> object:
    return cert.extensions.get_extension_for_class(kind)


@pytest.mark.requirement("HP-PKI-01")
def test_root_and_intermediate_are_cas(root: CertificateAuthority, intermediate: CertificateAuthority) -> None:
    for ca, path_length in ((root, 1), (intermediate, 0)):
        bc = _ext(ca.certificate, x509.BasicConstraints)
        assert bc.critical and bc.value.ca and bc.value.path_length == path_length
        assert _ext(ca.certificate, x509.KeyUsage).value.key_cert_sign
        _ext(ca.certificate, x509.SubjectKeyIdentifier)
    assert root.certificate.issuer == root.certificate.subject
    assert intermediate.certificate.issuer == root.certificate.subject
    aki = _ext(intermediate.certificate, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == _ext(root.certificate, x509.SubjectKeyIdentifier).value.digest
    assert intermediate.root == root.certificate


@pytest.mark.requirement("HP-PKI-02")
@pytest.mark.parametrize(("profile", "sans", "ekus"), [
    ("agent", AGENT_SANS, [ExtendedKeyUsageOID.CLIENT_AUTH]),
    ("server", SERVER_SANS, [ExtendedKeyUsageOID.SERVER_AUTH]),
    ("proxy", SERVER_SANS, [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
])
def test_profiles_set_eku_and_sans(intermediate: CertificateAuthority, profile: str, sans: SubjectAltNames,
                                   ekus: list) -> None:
    cert = intermediate.issue(profile, "CN=leaf", sans=sans, not_before=START).certificate
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == ekus
    assert not _ext(cert, x509.BasicConstraints).value.ca
    assert _ext(cert, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == list(sans.dns)


@pytest.mark.requirement("HP-PKI-02")
@pytest.mark.parametrize(("profile", "sans"), [
    ("agent", SubjectAltNames(ip=("10.0.0.1",))), ("server", SubjectAltNames(uri=("https://x.example",))),
    ("proxy", SubjectAltNames()), ("nope", SERVER_SANS),
])
def test_profile_without_its_san_kind_is_refused(intermediate: CertificateAuthority, profile: str,
                                                 sans: SubjectAltNames) -> None:
    with pytest.raises(PkiError):
        intermediate.issue(profile, "CN=leaf", sans=sans, not_before=START)


@pytest.mark.requirement("HP-PKI-03")
@pytest.mark.parametrize("key_type", ["ec-p256", "rsa-2048", "ed25519"])
def test_key_types(root: CertificateAuthority, key_type: str) -> None:
    issued = root.issue("agent", "CN=k", sans=AGENT_SANS, not_before=START, key_type=key_type)
    assert key_type_of(issued.certificate.public_key()) == key_type
    assert key_type_of(issued.private_key) == key_type


@pytest.mark.requirement("HP-PKI-03")
def test_weak_keys_are_refused() -> None:
    with pytest.raises(PkiError):
        key_type_of(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(PkiError):
        key_type_of(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(PkiError):
        generate_private_key("rsa-1024")


@pytest.mark.requirement("HP-PKI-04")
@pytest.mark.requirement("HP-MTLS-07")
def test_client_chain_good_expired_not_yet_valid(root: CertificateAuthority,
                                                 intermediate: CertificateAuthority) -> None:
    anchors = TrustAnchors((root.certificate,))
    leaf = intermediate.issue("agent", "CN=a1", sans=AGENT_SANS, not_before=START, days=60).certificate
    verified = verify_client_chain(leaf, [intermediate.certificate], anchors=anchors, now=FIXED_NOW)
    assert verified.chain == (leaf, intermediate.certificate, root.certificate)
    assert verified.leaf == leaf and verified.anchor == root.certificate
    for now in (START.timestamp() - 1, START.timestamp() + 61 * DAY):  # not yet valid, expired
        with pytest.raises(InvalidClient):
            verify_client_chain(leaf, [intermediate.certificate], anchors=anchors, now=now)


@pytest.mark.requirement("HP-PKI-04")
@pytest.mark.requirement("HP-MTLS-07")
def test_client_chain_wrong_eku_untrusted_ca_missing_intermediate(root: CertificateAuthority,
                                                                  intermediate: CertificateAuthority) -> None:
    anchors = TrustAnchors((root.certificate,))
    server = intermediate.issue("server", "CN=s", sans=SERVER_SANS, not_before=START).certificate
    with pytest.raises(InvalidClient):
        verify_client_chain(server, [intermediate.certificate], anchors=anchors, now=FIXED_NOW)
    other = CertificateAuthority.create_root("CN=Test Root,O=Example", not_before=START)  # same name, other key
    forged = other.issue("agent", "CN=a1", sans=AGENT_SANS, not_before=START).certificate
    with pytest.raises(InvalidClient):
        verify_client_chain(forged, [], anchors=anchors, now=FIXED_NOW)
    leaf = intermediate.issue("agent", "CN=a1", sans=AGENT_SANS, not_before=START).certificate
    with pytest.raises(InvalidClient):
        verify_client_chain(leaf, [], anchors=anchors, now=FIXED_NOW)


@pytest.mark.requirement("HP-PKI-04")
def test_depth_is_limited(root: CertificateAuthority, intermediate: CertificateAuthority) -> None:
    leaf = intermediate.issue("agent", "CN=a1", sans=AGENT_SANS, not_before=START).certificate
    anchors = TrustAnchors((root.certificate,))
    with pytest.raises(InvalidClient):
        verify_client_chain(leaf, [intermediate.certificate], anchors=anchors, now=FIXED_NOW,
                            policy=ChainPolicy(max_depth=0))
    assert verify_client_chain(leaf, [intermediate.certificate], anchors=anchors, now=FIXED_NOW,
                               policy=ChainPolicy(max_depth=1)).leaf == leaf
    with pytest.raises(InvalidClient):
        verify_client_chain(leaf, [intermediate.certificate] * 5, anchors=anchors, now=FIXED_NOW)


@pytest.mark.requirement("HP-PKI-05")
def test_enterprise_ca_is_an_extra_anchor(root: CertificateAuthority) -> None:
    enterprise = CertificateAuthority.create_root("CN=Enterprise Root,O=Bank", not_before=START, key_type="rsa-2048")
    leaf = enterprise.issue("agent", "CN=bank-agent", sans=AGENT_SANS, not_before=START).certificate
    with pytest.raises(InvalidClient):
        verify_client_chain(leaf, [], anchors=TrustAnchors((root.certificate,)), now=FIXED_NOW)
    anchors = TrustAnchors.from_pem(root.bundle_pem(), enterprise.bundle_pem())
    assert verify_client_chain(leaf, [], anchors=anchors, now=FIXED_NOW).anchor == enterprise.certificate
    with pytest.raises(PkiError):
        TrustAnchors(())
    with pytest.raises(PkiError):
        TrustAnchors.from_pem(b"not pem")


@pytest.mark.requirement("HP-PKI-06")
def test_ed25519_is_refused_by_path_validation_but_fine_self_signed() -> None:
    ca = CertificateAuthority.create_root("CN=Ed Root", not_before=START, key_type="ed25519")
    leaf = ca.issue("agent", "CN=ed", sans=AGENT_SANS, not_before=START, key_type="ed25519").certificate
    with pytest.raises(InvalidClient):
        verify_client_chain(leaf, [], anchors=TrustAnchors((ca.certificate,)), now=FIXED_NOW)
    own = self_signed_certificate("CN=ed-self", sans=AGENT_SANS, not_before=START, key_type="ed25519")
    assert own.certificate.issuer == own.certificate.subject


@pytest.mark.requirement("HP-PKI-04")
def test_server_chain(root: CertificateAuthority, intermediate: CertificateAuthority) -> None:
    anchors = TrustAnchors((root.certificate,))
    server = intermediate.issue("server", "CN=s", sans=SERVER_SANS, not_before=START).certificate
    for name in ("as.example", "127.0.0.1"):
        assert verify_server_chain(server, [intermediate.certificate], server_name=name, anchors=anchors,
                                   now=FIXED_NOW).leaf == server
    agent = intermediate.issue("agent", "CN=a", sans=SubjectAltNames(dns=("as.example",)), not_before=START)
    for cert, name in ((server, "other.example"), (agent.certificate, "as.example")):
        with pytest.raises(ChainError):
            verify_server_chain(cert, [intermediate.certificate], server_name=name, anchors=anchors, now=FIXED_NOW)


@pytest.mark.requirement("HP-PKI-08")
def test_certificate_info(intermediate: CertificateAuthority) -> None:
    issued = intermediate.issue("agent", "CN=a\\,1+UID=u7,O=Example", sans=AGENT_SANS, not_before=START)
    info = certificate_info(issued.certificate)
    assert info["subject"] == "CN=a\\,1+UID=u7,O=Example"
    assert info["issuer"] == "CN=Test Issuing CA,O=Example"
    assert info["subject_alt_names"] == ["DNS:a1.agents.example", "URI:https://agents.example/a1"]
    assert info["not_before"] == START.isoformat() and info["extended_key_usage"] == ["clientAuth"]
    assert info["x5t#S256"] and info["key"] == "ec-p256" and info["ca"] is False


@pytest.mark.requirement("HP-PKI-09")
def test_save_load_roundtrip_and_key_mode(tmp_path, intermediate: CertificateAuthority) -> None:
    intermediate.save(tmp_path, "intermediate")
    loaded = CertificateAuthority.load(tmp_path, "intermediate")
    assert loaded.certificate == intermediate.certificate and loaded.issuers == intermediate.issuers
    assert stat.S_IMODE((tmp_path / "intermediate.key").stat().st_mode) == 0o600
    paths = intermediate.issue("agent", "CN=a", sans=AGENT_SANS, not_before=START).write(tmp_path / "out", "a")
    assert stat.S_IMODE(paths["key"].stat().st_mode) == 0o600
    assert len(x509.load_pem_x509_certificates(paths["chain"].read_bytes())) == 2
    CertificateAuthority.create_root("CN=x", not_before=START).save(tmp_path, "other")
    (tmp_path / "intermediate.key").write_bytes((tmp_path / "other.key").read_bytes())
    with pytest.raises(PkiError):
        CertificateAuthority.load(tmp_path, "intermediate")
    with pytest.raises(PkiError):
        CertificateAuthority.load(tmp_path / "missing")


@pytest.mark.requirement("HP-PKI-02")
def test_validity_window_is_explicit_and_bounded(root: CertificateAuthority) -> None:
    with pytest.raises(PkiError):
        root.issue("agent", "CN=a", sans=AGENT_SANS, not_before=START.replace(tzinfo=None))
    with pytest.raises(PkiError):
        root.issue("agent", "CN=a", sans=AGENT_SANS, not_before=START, days=10_000)
    with pytest.raises(PkiError):
        root.issue("agent", "not a dn", sans=AGENT_SANS, not_before=START)
    cert = root.issue("agent", "CN=a", sans=AGENT_SANS, not_before=START, days=1).certificate
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=1)


@pytest.mark.requirement("HP-MTLS-07")
def test_authenticate_tls_client_chain_then_subject(root: CertificateAuthority,
                                                   intermediate: CertificateAuthority) -> None:
    from pki.verify import authenticate_tls_client
    anchors = TrustAnchors((root.certificate,))
    leaf = intermediate.issue("agent", "CN=a1,O=Example", sans=AGENT_SANS, not_before=START, days=60).certificate
    metadata = {"tls_client_auth_subject_dn": "CN=a1,O=Example"}
    verified = authenticate_tls_client(leaf, [intermediate.certificate], metadata, anchors=anchors, now=FIXED_NOW)
    assert verified.leaf == leaf
    for cert, inters, meta, now in (
        (leaf, [intermediate.certificate], {"tls_client_auth_subject_dn": "O=Example,CN=a1"}, FIXED_NOW),
        (leaf, [intermediate.certificate], metadata, START.timestamp() + 61 * DAY),
        (leaf, [], metadata, FIXED_NOW),
        (None, [], metadata, FIXED_NOW),
    ):
        with pytest.raises(InvalidClient):
            authenticate_tls_client(cert, inters, meta, anchors=anchors, now=now)


@pytest.mark.requirement("HP-PKI-04")
def test_chain_error_detail_is_one_log_line(root: CertificateAuthority) -> None:
    """The detail (logged by hardened.web.errors) quotes the presented subject: a CN with line breaks must not
    forge log lines."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x\nCRITICAL forged line\r\x1b[31m")])
    start = dt.datetime.fromtimestamp(FIXED_NOW - 60, dt.UTC)
    forged = (x509.CertificateBuilder().subject_name(subject).issuer_name(root.certificate.subject)
              .public_key(key.public_key()).serial_number(9).not_valid_before(start)
              .not_valid_after(start + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    with pytest.raises(InvalidClient) as caught:
        verify_client_chain(forged, [], anchors=TrustAnchors((root.certificate,)), now=FIXED_NOW)
    detail = caught.value.detail
    assert "forged line" in detail and detail.isprintable() and len(detail) <= 320
