"""The worked example in docs/authority.md runs as written and ends in a statement the verifier accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from authority.cli import main
from authority.service import Authority
from hardened.core.software_statement import SoftwareStatementPolicy, TrustedAuthority, verify_software_statement
from hardened.jose import KeySet

DOC = Path(__file__).resolve().parents[2] / "docs" / "authority.md"


def example_commands() -> list[list[str]]:
    text = DOC.read_text()
    block = re.search(r"## Worked example.*?```sh\n(.*?)```", text, re.S)
    assert block, "docs/authority.md has no worked example"
    return [shlex.split(line)[1:] for line in block.group(1).splitlines() if line.startswith("authority ")]


@pytest.mark.requirement("HP-AUTH-12")
def test_worked_example_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AUTHORITY_DATA_DIR", str(tmp_path / "authority-data"))
    monkeypatch.delenv("AUTHORITY_URL", raising=False)
    commands = example_commands()
    assert commands[0][0] == "init" and ["sign", "acme-agent", "--ttl", "2592000"] in commands
    statement = ""
    for argv in commands:
        assert main(argv) == 0, (argv, capsys.readouterr().err)
        out = capsys.readouterr().out
        if argv[0] == "sign":
            statement = out.strip()
    authority = Authority(tmp_path / "authority-data")
    trusted = [TrustedAuthority(authority.issuer, KeySet.from_jwks(authority.jwks()))]
    verified = verify_software_statement(statement, trusted_authorities=trusted, policy=SoftwareStatementPolicy(),
                                         now=authority.clock.now())
    assert (verified.software_id, verified.metadata.client_name) == ("acme-agent", "Acme Agent")
    assert verified.exp - verified.iat == 2592000
