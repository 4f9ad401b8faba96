"""The ``authority`` command offline on a data folder: in-process ``main(argv)`` and a real subprocess (HP-AUTH-12)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from authority.cli import main
from authority.service import Authority
from hardened.core.software_statement import SoftwareStatementPolicy, TrustedAuthority, verify_software_statement
from hardened.jose import KeySet

ISSUER = "https://authority.example"
EVERY_COMMAND = [[], ["init"], ["org"], ["org", "add"], ["org", "list"], ["org", "suspend"], ["org", "reinstate"],
                 ["software"], ["software", "add"], ["software", "list"], ["software", "show"], ["sign"], ["revoke"],
                 ["status"], ["keys"], ["keys", "rotate"], ["keys", "list"], ["keys", "retire"], ["audit"], ["serve"],
                 ["token"]]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def ok(capsys, *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return out


def verify(data: Path, token: str):
    authority = Authority(data)
    trusted = [TrustedAuthority(authority.issuer, KeySet.from_jwks(authority.jwks()))]
    return verify_software_statement(token, trusted_authorities=trusted, policy=SoftwareStatementPolicy(),
                                     now=authority.clock.now())


@pytest.fixture
def data(tmp_path: Path, capsys) -> Path:
    folder = tmp_path / "data"
    out = ok(capsys, "--data-dir", str(folder), "init", "--issuer", ISSUER)
    assert "admin token" in out and ISSUER in out
    return folder


@pytest.mark.requirement("HP-AUTH-12")
@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: " ".join(c) or "authority")
def test_every_command_has_help(capsys, command: list[str]) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and out.startswith("usage: authority")


@pytest.mark.requirement("HP-AUTH-12")
def test_offline_flow_init_to_verified_statement(data: Path, capsys) -> None:
    d = ["--data-dir", str(data)]
    ok(capsys, *d, "org", "add", "--id", "acme", "--name", "Acme Trading Ltd", "--contact", "sec@acme.example")
    jwks_file = data.parent / "client-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519",
                                               "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}))
    ok(capsys, "software", "add", *d, "--id", "acme-agent", "--org", "acme", "--name", "Acme Agent",
       "--redirect-uri", "https://agent.acme.example/cb", "--redirect-uri", "http://127.0.0.1:8123/cb",
       "--jwks-file", str(jwks_file), "--scope", "trade:read trade:write", "--tier", "attested",
       "--attestation-required", "--sender-constraint", "mtls", "--auth-method", "tls_client_auth",
       "--grant-type", "authorization_code", "--grant-type", "refresh_token", "--version", "1.2",
       "--logo-uri", "https://acme.example/logo.png", "--policy-uri", "https://acme.example/privacy",
       "--tos-uri", "https://acme.example/tos")
    assert "acme-agent\tacme\tattested\tAcme Agent" in ok(capsys, *d, "software", "list", "--org", "acme")
    assert json.loads(ok(capsys, *d, "software", "show", "acme-agent"))["metadata"]["software_version"] == "1.2"
    token = ok(capsys, *d, "sign", "acme-agent", "--ttl", "86400").strip()
    verified = verify(data, token)
    meta = verified.metadata
    assert (meta.hardened_tier, meta.sender_constraint, meta.attestation_required) == ("attested", "mtls", True)
    assert meta.grant_types == ("authorization_code", "refresh_token") and meta.jwks["keys"][0]["kty"] == "OKP"
    assert verified.exp - verified.iat == 86400
    record = json.loads(ok(capsys, *d, "sign", "acme-agent", "--json"))
    assert record["software_id"] == "acme-agent" and record["software_statement"].count(".") == 2
    assert json.loads(ok(capsys, *d, "status", verified.jti))["status"] == "valid"
    ok(capsys, *d, "revoke", "statement", verified.jti, "--reason", "rotated client key")
    shown = json.loads(ok(capsys, *d, "status", verified.jti))
    assert (shown["status"], shown["revoked"]["kind"], shown["software_id"]) == ("revoked", "statement", "acme-agent")
    ok(capsys, *d, "org", "suspend", "acme")
    assert "acme\tsuspended\tAcme Trading Ltd" in ok(capsys, *d, "org", "list")
    assert Authority(data).statement_status(record["jti"])["status"] == "suspended"
    ok(capsys, *d, "org", "reinstate", "acme")
    assert Authority(data).statement_status(record["jti"])["status"] == "valid"
    rotated = json.loads(ok(capsys, *d, "keys", "rotate", "--alg", "EdDSA"))
    assert rotated["alg"] == "EdDSA" and rotated["state"] == "active"
    assert verify(data, ok(capsys, *d, "sign", "acme-agent").strip()).kid == rotated["kid"]
    assert ok(capsys, *d, "audit", "--verify").startswith("audit log OK: 11 entries, head ")
    assert "revoke.statement" in ok(capsys, *d, "audit", "--after", "5", "--limit", "3")
    new_token = ok(capsys, *d, "token", "reset").strip()
    assert Authority(data).check_admin_token(new_token)


BAD_INPUTS = [
    ["org", "add"],  # missing --name
    ["org", "add", "--name", "X", "--id", "bad id"],
    ["org", "add", "--name", "X", "--jurisdiction", "Narnia"],
    ["org", "add", "--name", "\x00"],
    ["org", "suspend", "ghost"],
    ["org", "suspend", "../etc"],
    ["software", "add", "--org", "acme"],
    ["software", "add", "--org", "ghost", "--name", "n", "--redirect-uri", "https://a.example/cb",
     "--jwks-uri", "https://a.example/j", "--scope", "s"],
    ["software", "add", "--org", "acme", "--name", "n", "--redirect-uri", "http://a.example/cb",
     "--jwks-uri", "https://a.example/j", "--scope", "s"],
    ["software", "add", "--from-json", "/nonexistent.json"],
    ["software", "add", "--org", "acme", "--name", "n", "--redirect-uri", "https://a.example/cb",
     "--jwks-file", "/etc/hostname", "--scope", "s"],
    ["software", "show", "ghost"],
    ["sign", "ghost"],
    ["sign", "acme-agent", "--ttl", "-5"],
    ["sign", "acme-agent", "--ttl", "ten"],
    ["sign", "acme-agent", "--ttl", "999999999"],
    ["revoke", "statement", "nope-nope-nope-nope"],
    ["revoke", "galaxy", "x"],
    ["status", "s" + "x" * 32],
    ["status", "bad jti!"],
    ["keys", "retire", "nokey"],
    ["keys", "rotate", "--alg", "RS256"],
    ["audit", "--limit", "x"],
    ["init", "--issuer", "https://other.example"],
    ["frobnicate"],
]


@pytest.mark.requirement("HP-AUTH-12")
@pytest.mark.parametrize("argv", BAD_INPUTS, ids=lambda a: " ".join(a)[:40])
def test_bad_input_is_one_clear_line(data: Path, capsys, argv: list[str]) -> None:
    ok(capsys, "--data-dir", str(data), "org", "add", "--id", "acme", "--name", "Acme")
    code, _, err = run(capsys, "--data-dir", str(data), *argv)
    assert code in (1, 2)
    assert "error:" in err and len(err.strip().splitlines()) <= 3


@pytest.mark.requirement("HP-AUTH-12")
@given(argv=st.lists(st.one_of(st.sampled_from(["org", "software", "sign", "keys", "revoke", "audit", "add",
                                                  "list", "show", "--ttl", "--name", "--id", "--org", "suspend",
                                                  "rotate", "--reason", "statement", "--scope", "--json"]),
                               st.text(max_size=12)), max_size=7).filter(lambda a: "serve" not in a))
def test_arbitrary_argv_never_tracebacks(tmp_path_factory, argv: list[str]) -> None:
    folder = tmp_path_factory.getbasetemp() / "fuzz-data"
    if not folder.exists():
        Authority.init(folder, issuer=ISSUER)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--data-dir", str(folder), *[a.replace("\x00", "") for a in argv]])
    assert code in (0, 1, 2) and "Traceback" not in err.getvalue()


@pytest.mark.requirement("HP-AUTH-12")
def test_real_subprocess_run(tmp_path: Path) -> None:
    env = {**os.environ, "AUTHORITY_DATA_DIR": str(tmp_path / "sub")}
    env.pop("AUTHORITY_URL", None)

    def authority(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "authority.cli", *argv], env=env, capture_output=True,
                              text=True, timeout=60, check=False)

    assert authority("init", "--issuer", ISSUER, "--alg", "EdDSA").returncode == 0
    assert authority("org", "add", "--id", "acme", "--name", "Acme").returncode == 0
    assert authority("software", "add", "--id", "agent", "--org", "acme", "--name", "Agent", "--redirect-uri",
                     "https://a.example/cb", "--jwks-uri", "https://a.example/jwks", "--scope", "read").returncode == 0
    signed = authority("sign", "agent", "--ttl", "600")
    assert signed.returncode == 0 and verify(tmp_path / "sub", signed.stdout.strip()).alg == "EdDSA"
    bad = authority("sign", "ghost")
    assert bad.returncode == 1 and bad.stderr.strip() == "authority: error: no software ghost"
    assert "Traceback" not in bad.stderr


@pytest.mark.requirement("HP-AUTH-12")
def test_serve_subprocess_publishes_and_stops(tmp_path: Path) -> None:
    """`authority serve` in a real process on an ephemeral loopback port; readiness read from its log line."""
    Authority.init(tmp_path / "srv", issuer=ISSUER)
    proc = subprocess.Popen([sys.executable, "-m", "authority.cli", "--data-dir", str(tmp_path / "srv"), "serve",
                             "--port", "0"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        url = ""
        for _ in range(50):
            line = proc.stderr.readline()
            match = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if match:
                url = match.group(1)
                break
        assert url, "server did not report its address"
        jwks = httpx.get(f"{url}/.well-known/jwks.json", timeout=10).json()
        assert len(jwks["keys"]) == 1 and "d" not in jwks["keys"][0]
        assert httpx.get(f"{url}/admin/keys", timeout=10).status_code == 401
    finally:
        proc.terminate()
        proc.wait(15)
        proc.stderr.close()
