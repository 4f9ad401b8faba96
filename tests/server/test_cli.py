"""The worked example of docs/server.md: init, add-user, load the deployment and serve it (in-process)."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from hardened.adapters.sqlite_as import SQLiteASStore
from hardened.errors import ConfigurationError
from hardened.jose import SigningKey
from hardened.server import cli
from hardened.server.deployment import load_deployment
from hardened.server.passwords import verify_password


def test_init_add_user_serve(tmp_path, monkeypatch, capsys) -> None:
    folder = tmp_path / "as"
    assert cli.main(["init", "--dir", str(folder), "--issuer", "http://127.0.0.1:8000"]) == 0
    assert cli.main(["init", "--dir", str(folder)]) == 1  # never overwrites
    (folder / "mcp.jwks.json").write_text(json.dumps({"keys": [SigningKey.generate("ES256").public_jwk()]}))
    with (folder / "as.toml").open("a") as fh:
        fh.write('[[resource_servers]]\nclient_id = "mcp"\naudience = "https://mcp.example/mcp"\n'
                 'jwks_file = "mcp.jwks.json"\n')
    monkeypatch.setenv("HARDENED_PASSWORD", "s3cret-pass")
    args = ["add-user", "--config", str(folder / "as.toml"), "--username", "alice", "--subject", "u-1", "--role",
            "trader", "--tenant", "acme", "--country", "DE"]
    assert cli.main(args) == 0
    user = SQLiteASStore(folder / "data" / "as.db").get_user("alice")
    assert user.subject == "u-1" and verify_password("s3cret-pass", user.password_hash)
    assert user.password_hash.startswith("scrypt$") and "s3cret" not in user.password_hash
    monkeypatch.setenv(cli.CONFIG_ENV, str(folder / "as.toml"))
    meta = TestClient(cli.app_from_env()).get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == "http://127.0.0.1:8000" and meta["scopes_supported"][0] == "tools:read"


@pytest.mark.requirement("HP-AS-07")
def test_password_hashes_are_scrypt_and_fail_closed() -> None:
    from hardened.server.passwords import hash_password
    stored = hash_password("pw", n=2**10)
    assert verify_password("pw", stored) and not verify_password("pW", stored)
    for bad in (None, "", "scrypt$x", "md5$1$2$3$00$00", stored.replace("scrypt", "bcrypt")):
        assert not verify_password("pw", bad)
    assert not verify_password("x" * 2000, stored)


@pytest.mark.parametrize("text", ['issuer = "ftp://x"\nsigning_keys = []', "not toml [", 'issuer = "http://127.0.0.1"'])
def test_bad_deployments_fail_at_start(tmp_path, text) -> None:
    (tmp_path / "as.toml").write_text(text)
    with pytest.raises(ConfigurationError):
        load_deployment(tmp_path / "as.toml")
    assert cli.main(["serve", "--config", str(tmp_path / "as.toml")]) == 2


def test_worker_listeners_are_tcp_with_nodelay() -> None:
    import socket

    sock = cli.tcp_listener("127.0.0.1", 0, reuse_port=True)
    try:
        assert sock.proto == socket.IPPROTO_TCP  # asyncio sets TCP_NODELAY on accepted sockets only then
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
    finally:
        sock.close()


@pytest.mark.requirement("HP-DCR-01")
def test_deployment_with_trusted_authorities_verifies_statements(tmp_path) -> None:
    from hardened.errors import InvalidSoftwareStatement
    from hardened.testing.software_statement import TestAuthority

    authority = TestAuthority.create("https://authority.example")
    assert cli.main(["init", "--dir", str(tmp_path)]) == 0
    (tmp_path / "authority.jwks.json").write_text(json.dumps({"keys": [authority.key.public_jwk()]}))
    with (tmp_path / "as.toml").open("a") as fh:
        fh.write('[[authorities]]\nissuer = "https://authority.example"\njwks_file = "authority.jwks.json"\n')
    verifier = load_deployment(tmp_path / "as.toml").config.statement_verifier
    assert verifier is not None
    other = TestAuthority.create("https://rogue.example")
    with pytest.raises(InvalidSoftwareStatement):
        verifier(other.sign(other.base_claims()), 1_767_225_600.0)


@pytest.mark.requirement("HP-AS-17")
def test_deployment_with_attesters_offers_the_attested_tier(tmp_path) -> None:
    from hardened.adapters.memory import MemoryReplayCache

    assert cli.main(["init", "--dir", str(tmp_path)]) == 0
    attester = SigningKey.generate("ES256")
    (tmp_path / "attesters.json").write_text(json.dumps(
        {"attesters": [{"issuer": "https://attester.example", "jwks": {"keys": [attester.public_jwk()]}}]}))
    text = (tmp_path / "as.toml").read_text()
    text = text.replace("baseline = true", 'baseline = true\nattesters_file = "attesters.json"')
    (tmp_path / "as.toml").write_text(text)
    deployment = load_deployment(tmp_path / "as.toml")
    assert not deployment.config.policy.attestation
    config = deployment.with_attestation(MemoryReplayCache())
    assert config.policy.attestation and len(config.attestation_verifiers) == 1


@pytest.mark.requirement("HP-AS-02")
def test_rotate_key_keeps_the_previous_key_published(tmp_path) -> None:
    assert cli.main(["init", "--dir", str(tmp_path)]) == 0
    before = load_deployment(tmp_path / "as.toml").config.signing_keys
    assert cli.main(["rotate-key", "--config", str(tmp_path / "as.toml")]) == 0
    after = load_deployment(tmp_path / "as.toml").config.signing_keys
    assert len(after) == 2 and after[1].kid == before[0].kid and after[0].kid != before[0].kid
    assert cli.main(["rotate-key", "--config", str(tmp_path / "as.toml"), "--keep", "2"]) == 0
    latest = load_deployment(tmp_path / "as.toml").config.signing_keys
    assert len(latest) == 2 and latest[1].kid == after[0].kid


def test_init_never_writes_the_private_key_through_a_planted_symlink(tmp_path) -> None:
    """The key file is created new with 0600 (O_EXCL | O_NOFOLLOW): a symlink planted under its name is not followed."""
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched")
    folder = tmp_path / "as"
    folder.mkdir()
    (folder / "as-signing.pem").symlink_to(target)
    assert cli.main(["init", "--dir", str(folder)]) == 2
    assert target.read_text() == "untouched" and not (folder / "as.toml").exists()
    fresh = tmp_path / "fresh"
    assert cli.main(["init", "--dir", str(fresh)]) == 0
    assert (fresh / "as-signing.pem").stat().st_mode & 0o777 == 0o600
