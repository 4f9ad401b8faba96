"""The `pki` console script: the worked example of docs/pki.md, --help, and clear errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509

from hardened.core.mtls import certificate_thumbprint
from hardened.errors import InvalidClient
from pki.cli import main
from pki.verify import TrustAnchors, verify_client_chain


def _certificate_with_malformed_san() -> bytes:
    """A well-formed certificate whose subjectAltName value is truncated DER (parsed lazily by cryptography)."""
    import datetime as dt

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtensionOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "malformed")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(start).not_valid_after(start + dt.timedelta(days=1))
            .add_extension(x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x30\x03\x82\x01"),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.requirement("HP-PKI-07")
@pytest.mark.requirement("HP-PKI-08")
def test_worked_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ca = tmp_path / "ca"
    code, out, _ = _run(capsys, "init", str(ca), "--subject", "CN=Example Dev Root,O=Example", "--intermediate")
    assert code == 0 and "trust-anchors.pem" in out
    code, out, _ = _run(capsys, "issue", "--ca", str(ca), "--profile", "agent", "--subject", "CN=agent-1,O=Example",
                        "--san-uri", "https://agents.example/1", "--out", str(tmp_path / "out"))
    assert code == 0
    chain = x509.load_pem_x509_certificates((tmp_path / "out" / "agent-1-chain.pem").read_bytes())
    assert f"x5t#S256     {certificate_thumbprint(chain[0])}" in out
    # the issued chain validates against the written trust anchors, now (the CLI uses the wall clock)
    anchors = TrustAnchors.load([ca / "trust-anchors.pem"])
    assert verify_client_chain(chain[0], chain[1:], anchors=anchors, now=time.time()).anchor.subject == \
        x509.Name.from_rfc4514_string("CN=Example Dev Root,O=Example")
    code, out, _ = _run(capsys, "inspect", str(tmp_path / "out" / "agent-1.pem"), "--json")
    info = json.loads(out)
    assert code == 0 and info["subject"] == "CN=agent-1,O=Example"
    assert info["subject_alt_names"] == ["URI:https://agents.example/1"]
    assert info["x5t#S256"] == certificate_thumbprint(chain[0])
    code, out, _ = _run(capsys, "inspect", str(tmp_path / "out" / "agent-1-chain.pem"))
    assert code == 0 and out.count("subject ") == 2 and "CN=hardened development issuing CA" in out


@pytest.mark.requirement("HP-PKI-07")
def test_future_and_self_signed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = _run(capsys, "issue", "--self-signed", "--subject", "CN=self", "--san-dns", "self.example",
                      "--key-type", "ed25519", "--not-before", "2030-01-01T00:00:00", "--out", str(tmp_path))
    cert = x509.load_pem_x509_certificate((tmp_path / "self.pem").read_bytes())
    assert code == 0 and cert.issuer == cert.subject and cert.not_valid_before_utc.year == 2030
    _run(capsys, "init", str(tmp_path / "ca"))
    with pytest.raises(InvalidClient):  # not yet valid when used now
        anchors = TrustAnchors.load([tmp_path / "ca" / "root.pem"])
        _run(capsys, "issue", "--ca", str(tmp_path / "ca"), "--subject", "CN=f", "--san-dns", "f.example",
             "--not-before", "2031-01-01T00:00:00+00:00", "--out", str(tmp_path), "--name", "future")
        future = x509.load_pem_x509_certificate((tmp_path / "future.pem").read_bytes())
        verify_client_chain(future, [], anchors=anchors, now=time.time())


@pytest.mark.requirement("HP-PKI-07")
@pytest.mark.requirement("HP-PKI-09")
@pytest.mark.parametrize("argv", [
    ["issue", "--subject", "CN=x", "--san-dns", "x"],
    ["issue", "--ca", "{tmp}/missing", "--subject", "CN=x", "--san-dns", "x"],
    ["issue", "--ca", "{tmp}/ca", "--subject", "garbage", "--san-dns", "x"],
    ["issue", "--ca", "{tmp}/ca", "--subject", "CN=x", "--san-ip", "999.1.1.1", "--profile", "server"],
    ["issue", "--ca", "{tmp}/ca", "--subject", "CN=x", "--profile", "server", "--san-uri", "https://x"],
    ["issue", "--ca", "{tmp}/ca", "--subject", "CN=x", "--san-dns", "x", "--not-before", "yesterday"],
    ["issue", "--ca", "{tmp}/ca", "--subject", "CN=x", "--san-dns", "x", "--days", "100000"],
    ["issue", "--ca", "{tmp}/ca", "--self-signed", "--subject", "CN=x", "--san-dns", "x"],
    ["inspect", "{tmp}/ca/root.key"],
    ["inspect", "{tmp}/nothing.pem"],
    ["inspect", "{tmp}/malformed-extension.pem"],
    ["init", "{tmp}/ca"],
])
def test_bad_input_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(["init", str(tmp_path / "ca")]) == 0
    (tmp_path / "malformed-extension.pem").write_bytes(_certificate_with_malformed_san())
    capsys.readouterr()
    code, _out, err = _run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == 1
    assert err.startswith("pki: error: ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.requirement("HP-PKI-07")
def test_help_and_usage_errors_through_the_console_script(tmp_path: Path) -> None:
    for argv, code in ((["--help"], 0), (["issue", "--help"], 0), (["frobnicate"], 2), (["issue"], 2)):
        done = subprocess.run([sys.executable, "-m", "pki.cli", *argv], capture_output=True, text=True, timeout=60,
                              cwd=Path(__file__).resolve().parents[2])
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr
        if code == 0:
            assert "usage: pki" in done.stdout


@pytest.mark.requirement("HP-PKI-09")
def test_force_replaces_the_ca_and_drops_a_stale_intermediate(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    ca = tmp_path / "ca"
    assert main(["init", str(ca), "--intermediate"]) == 0
    old_root = (ca / "root.pem").read_bytes()
    assert main(["init", str(ca)]) == 1
    assert (ca / "root.pem").read_bytes() == old_root
    assert main(["init", str(ca), "--force", "--subject", "CN=New Root"]) == 0
    assert (ca / "root.pem").read_bytes() != old_root and not (ca / "intermediate.pem").exists()
    assert not (ca / "intermediate.key").exists()
    assert main(["issue", "--ca", str(ca), "--subject", "CN=a", "--san-dns", "a.example", "--out", str(tmp_path)]) == 0
    issued = x509.load_pem_x509_certificate((tmp_path / "a.pem").read_bytes())
    assert issued.issuer == x509.Name.from_rfc4514_string("CN=New Root")
    capsys.readouterr()
