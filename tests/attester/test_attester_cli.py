"""``authority instance add|list|revoke`` and ``authority attester-keys``, offline and against the running service
(HP-ATT-26): every change audited, bad input one error line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from authority.cli import main
from hardened.jose import SigningKey
from tests.attester.conftest import Live

ISSUER = "https://authority.example"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def ok(capsys, *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return out


def jwk_file(tmp_path: Path, name: str = "instance.jwk.json", jwk: dict | None = None) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(jwk or SigningKey.generate("ES256").public_jwk()))
    return str(path)


@pytest.fixture
def data(tmp_path: Path, capsys) -> str:
    folder = str(tmp_path / "data")
    ok(capsys, "--data-dir", folder, "init", "--issuer", ISSUER)
    ok(capsys, "--data-dir", folder, "org", "add", "--id", "acme", "--name", "Acme")
    ok(capsys, "--data-dir", folder, "software", "add", "--id", "acme-agent", "--org", "acme", "--name", "Agent",
       "--redirect-uri", "https://a.example/cb", "--jwks-uri", "https://a.example/jwks", "--scope", "read")
    return folder


@pytest.mark.requirement("HP-ATT-26")
def test_instance_commands_offline(data: str, tmp_path: Path, capsys) -> None:
    added = json.loads(ok(capsys, "--data-dir", data, "instance", "add", "acme-agent", "--id", "eu-1",
                          "--jwk-file", jwk_file(tmp_path)))
    assert added["instance_id"] == "eu-1" and added["status"] == "active" and "d" not in added["jwk"]
    generated = json.loads(ok(capsys, "--data-dir", data, "instance", "add", "acme-agent",
                              "--jwk-file", jwk_file(tmp_path, "two.json")))
    assert generated["instance_id"].startswith("inst-")
    listing = ok(capsys, "--data-dir", data, "instance", "list", "acme-agent")
    assert f"eu-1\tactive\t{added['jkt']}" in listing and generated["instance_id"] in listing
    revoked = json.loads(ok(capsys, "--data-dir", data, "instance", "revoke", "acme-agent", "eu-1",
                            "--reason", "decommissioned"))
    assert revoked["status"] == "revoked" and revoked["reason"] == "decommissioned"
    assert "eu-1\trevoked" in ok(capsys, "--data-dir", data, "instance", "list", "acme-agent")
    keys = ok(capsys, "--data-dir", data, "attester-keys", "list").splitlines()
    assert len(keys) == 1 and keys[0].endswith("\tactive")
    rotated = json.loads(ok(capsys, "--data-dir", data, "attester-keys", "rotate", "--alg", "EdDSA"))
    ok(capsys, "--data-dir", data, "attester-keys", "retire", keys[0].split("\t")[0])
    assert f"{rotated['kid']}\tEdDSA\tactive" in ok(capsys, "--data-dir", data, "attester-keys", "list")
    audit = ok(capsys, "--data-dir", data, "audit")
    for action in ("attester_key.create", "instance.register", "instance.revoke", "attester_key.rotate",
                   "attester_key.retire"):
        assert f"\t{action}\t" in audit
    assert "\tcli:" in audit
    assert "audit log OK" in ok(capsys, "--data-dir", data, "audit", "--verify")


@pytest.mark.requirement("HP-ATT-27")
@pytest.mark.parametrize("argv", [
    ["instance", "add", "acme-agent", "--jwk-file", "/nonexistent.json"],
    ["instance", "add", "nobody", "--jwk-file", "JWK"],
    ["instance", "add", "bad id", "--jwk-file", "JWK"],
    ["instance", "add", "acme-agent", "--jwk-file", "PRIVATE"],
    ["instance", "add", "acme-agent", "--jwk-file", "JWK", "--id", "bad id"],
    ["instance", "revoke", "acme-agent", "nobody"],
    ["instance", "list", "nobody"],
    ["attester-keys", "retire", "nokey"],
])
def test_bad_instance_commands_print_one_error_line(data: str, tmp_path: Path, capsys, argv: list[str]) -> None:
    key = SigningKey.generate("ES256")
    files = {"JWK": jwk_file(tmp_path), "PRIVATE": jwk_file(tmp_path, "p.json", {**key.public_jwk(), "d": "AAAA"})}
    code, _, err = run(capsys, "--data-dir", data, *[files.get(a, a) for a in argv])
    assert code == 1 and err.startswith("authority: error: ") and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("argv", [["instance"], ["instance", "add"], ["instance", "add", "x"], ["instance", "revoke",
                                  "x"], ["attester-keys"], ["attester-keys", "rotate", "--alg", "HS256"]])
def test_usage_errors_exit_2(data: str, capsys, argv: list[str]) -> None:
    code, _, err = run(capsys, "--data-dir", data, *argv)
    assert code == 2 and "error" in err


@pytest.mark.requirement("HP-ATT-26")
def test_instance_commands_remote(live: Live, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("AUTHORITY_ADMIN_TOKEN", live.token)
    url = ["--url", live.url]
    added = json.loads(ok(capsys, *url, "instance", "add", "acme-agent", "--id", "eu-1",
                          "--jwk-file", jwk_file(tmp_path)))
    assert "eu-1\tactive" in ok(capsys, *url, "instance", "list", "acme-agent")
    ok(capsys, *url, "instance", "revoke", "acme-agent", "eu-1")
    code, _, err = run(capsys, *url, "instance", "revoke", "acme-agent", "eu-1")
    assert code == 1 and "409" in err
    assert ok(capsys, *url, "attester-keys", "list").count("\tactive") == 1
    ok(capsys, *url, "attester-keys", "rotate")
    audit = ok(capsys, *url, "audit")
    assert f"operator:admin-token\tinstance.register\t{added['instance_id']}" in audit
    assert "operator:admin-token\tinstance.revoke\teu-1" in audit
    assert "operator:admin-token\tattester_key.rotate" in audit
