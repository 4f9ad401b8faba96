"""The worked example in docs/attester.md runs as written; between its steps the registered instance obtains an
attestation that the AS-side check accepts, and after the revocation it obtains none."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from authority.attester import AuthorityAttester
from authority.cli import main
from authority.service import Authority
from hardened.adapters.attesters import AttesterRegistry
from hardened.core.attestation import AttestationPolicy, verify_client_attestation
from hardened.core.attestation_request import build_attestation_request
from hardened.errors import InvalidClient
from hardened.jose import KeySet, SigningKey

DOC = Path(__file__).resolve().parents[2] / "docs" / "attester.md"


def example_commands() -> list[list[str]]:
    block = re.search(r"## Worked example.*?```sh\n(.*?)```", DOC.read_text(), re.S)
    assert block, "docs/attester.md has no worked example"
    return [shlex.split(line)[1:] for line in block.group(1).splitlines() if line.startswith("authority ")]


def issue(data: Path, key: SigningKey) -> str:
    authority = Authority(data)
    attester = AuthorityAttester(authority)
    token = build_attestation_request(key, instance_id="acme-agent-eu-1", client_id="client-1",
                                      audience=attester.attestation_endpoint, now=authority.clock.now())
    return attester.issue(token)["client_attestation"]


@pytest.mark.requirement("HP-ATT-20", "HP-ATT-23")
def test_worked_example_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTHORITY_DATA_DIR", str(tmp_path / "authority-data"))
    monkeypatch.delenv("AUTHORITY_URL", raising=False)
    key = SigningKey.generate("ES256")
    (tmp_path / "eu-1.public.jwk.json").write_text(json.dumps(key.public_jwk()))
    commands = example_commands()
    assert ["instance", "add", "acme-agent", "--id", "acme-agent-eu-1", "--jwk-file", "eu-1.public.jwk.json"] in \
        commands
    for argv in commands:
        if argv[:2] == ["instance", "revoke"]:
            attestation = issue(tmp_path / "authority-data", key)
        assert main(argv) == 0, (argv, capsys.readouterr().err)
    authority = Authority(tmp_path / "authority-data")
    registry = AttesterRegistry({authority.issuer: KeySet.from_jwks(AuthorityAttester(authority).jwks())})
    verified = verify_client_attestation(attestation, client_id="client-1", attesters=registry,
                                         policy=AttestationPolicy(), now=authority.clock.now())
    assert verified.cnf_jkt == key.thumbprint and verified.claims["software_id"] == "acme-agent"
    with pytest.raises(InvalidClient):
        issue(tmp_path / "authority-data", key)
    audit = capsys.readouterr().out
    assert "\tinstance.revoke\tacme-agent-eu-1\t" in audit and "\tattestation.issue\tclient-1\t" in audit
