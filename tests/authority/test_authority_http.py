"""End to end over real HTTP (uvicorn on 127.0.0.1): the operator CLI against the service, and an AS checking
statements with the fetched JWKS and the signed status list (issue 4, "What must be shown")."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from authority.cli import main
from hardened.adapters.authority_jwks import AuthorityDirectory
from hardened.adapters.authority_status import HTTPStatementStatus, HTTPStatusList
from hardened.clock import FixedClock
from hardened.core.software_statement import SoftwareStatementPolicy
from hardened.errors import InvalidSoftwareStatement, UnapprovedSoftwareStatement
from hardened.jose import b64url_decode

POLICY = SoftwareStatementPolicy()


def cli(live, capsys, *argv: str) -> str:
    code = main(["--url", live.url, *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    return out


def kid_of(token: str) -> str:
    return json.loads(b64url_decode(token.split(".")[0]))["kid"]


@pytest.fixture
def operator(live, monkeypatch):
    monkeypatch.setenv("AUTHORITY_ADMIN_TOKEN", live.token)
    return live


def setup_registry(live, capsys) -> tuple[str, str]:
    cli(live, capsys, "org", "add", "--id", "acme", "--name", "Acme Trading Ltd", "--jurisdiction", "GB")
    for sw in ("acme-agent", "acme-bot"):
        cli(live, capsys, "software", "add", "--id", sw, "--org", "acme", "--name", sw,
            "--redirect-uri", "https://agent.acme.example/cb", "--jwks-uri", "https://agent.acme.example/jwks",
            "--scope", "trade:read")
    first = cli(live, capsys, "sign", "acme-agent", "--ttl", "3600").strip()
    second = cli(live, capsys, "sign", "acme-bot").strip()
    return first, second


@pytest.mark.requirement("HP-AUTH-12")
@pytest.mark.requirement("HP-SS-10")
@pytest.mark.requirement("HP-AUTH-07")
def test_init_org_software_sign_verify_revoke_suspend(operator, capsys) -> None:
    live = operator
    first, second = setup_registry(live, capsys)
    with httpx.Client() as client:
        directory = AuthorityDirectory(fetched=[live.authority.issuer], client=client)
        status = HTTPStatusList(client, authorities=directory.trusted_authorities, max_age=300)
        a, b = directory.verify(first, policy=POLICY), directory.verify(second, policy=POLICY)
        assert (a.software_id, a.org_id, a.metadata.org_name) == ("acme-agent", "acme", "Acme Trading Ltd")
        status.check(a)
        status.check(b)
        fresh = HTTPStatementStatus(client)  # the per-statement endpoint, asked afresh
        fresh.check(a)
        # revoke one statement: its status endpoint says so, and the AS's status port refuses it
        cli(live, capsys, "revoke", "statement", a.jti, "--reason", "key compromise")
        assert json.loads(cli(live, capsys, "status", a.jti))["status"] == "revoked"
        answer = client.get(f"{live.url}/statements/{a.jti}/status")
        assert answer.json()["status"] == "revoked" and answer.headers["cache-control"] == "public, max-age=300"
        status.clear()
        with pytest.raises(UnapprovedSoftwareStatement, match="revoked"):
            status.check(a)
        status.check(b)
        with pytest.raises(UnapprovedSoftwareStatement, match="revoked"):
            fresh.check(a)
        fresh.check(b)
        # suspend the organisation: every statement of it is refused
        cli(live, capsys, "org", "suspend", "acme", "--reason", "investigation")
        status.clear()
        for statement in (a, b):
            with pytest.raises(UnapprovedSoftwareStatement):
                status.check(statement)
        assert client.get(f"{live.url}/statements/{b.jti}/status").json()["status"] == "suspended"
        with pytest.raises(UnapprovedSoftwareStatement, match="suspended"):
            fresh.check(b)
        assert main(["--url", live.url, "sign", "acme-bot"]) == 1
        assert "suspended" in capsys.readouterr().err


@pytest.mark.requirement("HP-AUTH-05")
@pytest.mark.requirement("HP-SS-12")
def test_rotation_over_http(operator, capsys) -> None:
    live = operator
    old, _ = setup_registry(live, capsys)
    old_kid = kid_of(old)
    clock = FixedClock(time.time())
    with httpx.Client() as client:
        directory = AuthorityDirectory(fetched=[live.authority.issuer], client=client, clock=clock, max_age=600,
                                       min_refresh=60)
        directory.verify(old, policy=POLICY)
        rotated = json.loads(cli(live, capsys, "keys", "rotate"))
        new = cli(live, capsys, "sign", "acme-agent").strip()
        assert kid_of(new) == rotated["kid"] != old_kid
        jwks = client.get(f"{live.url}/.well-known/jwks.json")
        assert {k["kid"] for k in jwks.json()["keys"]} == {old_kid, rotated["kid"]}
        assert jwks.headers["content-type"].startswith("application/jwk-set+json")
        clock.advance(61)
        directory.verify(new, policy=POLICY)  # unknown kid: one early refresh picks up the new key
        directory.verify(old, policy=POLICY)  # retiring keys are still published
        cli(live, capsys, "keys", "retire", old_kid)
        clock.advance(600)  # the cached JWKS expires
        with pytest.raises(InvalidSoftwareStatement):
            directory.verify(old, policy=POLICY)
        directory.verify(new, policy=POLICY)
        assert f"{rotated['kid']}\tES256\tactive" in cli(live, capsys, "keys", "list")


@pytest.mark.requirement("HP-AUTH-06")
def test_publication_documents(live) -> None:
    with httpx.Client() as client:
        config = client.get(f"{live.url}/.well-known/authority-configuration", headers={"Host": "evil.example"})
        meta = config.json()
        assert meta["issuer"] == live.authority.issuer and "evil" not in json.dumps(meta)
        assert meta["jwks_uri"] == f"{live.url}/.well-known/jwks.json"
        assert meta["status_list_uri"] == f"{live.url}/statements/status-list"
        assert config.headers["cache-control"] == "public, max-age=300"
        listed = client.get(meta["status_list_uri"])
        assert listed.headers["content-type"] == "application/statuslist+jwt"
        assert listed.headers["cache-control"] == "public, max-age=300"
        assert client.get(f"{live.url}/statements/{'x' * 32}/status").status_code == 404
        assert client.get(f"{live.url}/statements/bad!/status").status_code == 400


@pytest.mark.requirement("HP-AUTH-09")
def test_admin_api_requires_the_admin_token(live, capsys, monkeypatch) -> None:
    with httpx.Client() as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {live.token}"},
                        {"Authorization": "Bearer " + "x" * 5000}):
            answer = client.get(f"{live.url}/admin/organisations", headers=headers)
            assert answer.status_code == 401, headers
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert answer.json()["error"] == "invalid_token"
        ok = client.get(f"{live.url}/admin/organisations", headers={"Authorization": f"Bearer {live.token}"})
        assert ok.status_code == 200
    monkeypatch.setenv("AUTHORITY_ADMIN_TOKEN", "wrong")
    assert main(["--url", live.url, "org", "list"]) == 1
    assert "refused (401)" in capsys.readouterr().err
    monkeypatch.delenv("AUTHORITY_ADMIN_TOKEN")
    assert main(["--url", live.url, "org", "list"]) == 1
    assert "AUTHORITY_ADMIN_TOKEN" in capsys.readouterr().err


@pytest.mark.requirement("HP-AUTH-12")
def test_cli_reports_an_unreachable_service(monkeypatch, capsys) -> None:
    monkeypatch.setenv("AUTHORITY_ADMIN_TOKEN", "t")
    assert main(["--url", "http://127.0.0.1:1", "org", "list"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err and "Traceback" not in err


@pytest.mark.requirement("HP-AUTH-09")
def test_cli_never_sends_the_token_in_clear(monkeypatch, capsys) -> None:
    monkeypatch.setenv("AUTHORITY_ADMIN_TOKEN", "t")
    for url in ("http://authority.example", "ftp://127.0.0.1", "authority.example"):
        assert main(["--url", url, "org", "list"]) == 1
        assert "must be https" in capsys.readouterr().err


@pytest.mark.requirement("HP-AUTH-10")
def test_audit_over_http(operator, capsys) -> None:
    setup_registry(operator, capsys)
    out = cli(operator, capsys, "audit", "--verify")
    assert out.startswith("audit log OK: 7 entries")
    lines = cli(operator, capsys, "audit").splitlines()
    assert [line.split("\t")[3] for line in lines][-2:] == ["statement.issue", "statement.issue"]
    assert all("operator:admin-token" in line for line in lines[2:])
