"""The ``[mtls]`` table of the AS deployment file (hardened.server.mtls.mtls_from_toml): read at start-up, every
mistake a ConfigurationError there; the loaded AS takes certificates from its trusted proxy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from hardened.errors import ConfigurationError
from hardened.server import cli
from hardened.server.deployment import load_deployment
from hardened.server.mtls import mtls_from_toml
from pki.ca import CertificateAuthority

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    assert cli.main(["init", "--dir", str(tmp_path), "--issuer", "http://127.0.0.1:8000"]) == 0
    CertificateAuthority.create_root("CN=Root", not_before=START).save(tmp_path / "ca", "root")
    return tmp_path


MTLS = '''
[mtls]
trust_anchors = ["ca/root.pem"]
trusted_proxies = ["127.0.0.1"]
header_format = "rfc9440"
endpoint_base = "https://mtls.as.example"
'''


@pytest.mark.requirement("HP-MTLS-14", "HP-MTLS-20")
def test_deployment_with_mtls(folder: Path) -> None:
    toml = folder / "as.toml"
    toml.write_text(toml.read_text() + MTLS)
    config = load_deployment(toml).config
    assert config.mtls is not None and config.policy.mtls
    assert config.mtls.source.header_format == "rfc9440" and config.mtls.endpoint_base == "https://mtls.as.example"


@pytest.mark.requirement("HP-MTLS-14")
@pytest.mark.parametrize("table", [
    {},                                                                      # no trust anchors
    {"trust_anchors": ["ca/missing.pem"]},
    {"trust_anchors": "ca/root.pem"},                                        # not a list
    {"trust_anchors": ["ca/root.pem"], "trusted_proxies": "127.0.0.1", "header_format": "rfc9440"},
    {"trust_anchors": ["ca/root.pem"], "trusted_proxies": ["127.0.0.1"]},    # a proxy without its format
    {"trust_anchors": ["ca/root.pem"], "endpoint_base": "http://mtls.example"},
    {"trust_anchors": ["ca/root.pem"], "surprise": 1},
    {"trust_anchors": ["ca/root.pem"], "resource_servers": {"mcp": {"client_secret": "x"}}},
    {"trust_anchors": ["ca/root.pem"], "resource_servers": []},
])
def test_bad_mtls_tables_fail_at_start_up(folder: Path, table: dict) -> None:
    with pytest.raises(ConfigurationError):
        mtls_from_toml(table, folder)


@pytest.mark.requirement("HP-MTLS-14")
def test_resource_server_table(folder: Path) -> None:
    config = mtls_from_toml({"trust_anchors": ["ca/root.pem"], "resource_servers": {"mcp-server": {
        "token_endpoint_auth_method": "tls_client_auth", "tls_client_auth_san_uri": "https://mcp.example/rs",
        "sender_constraint": "mtls"}}}, folder)
    settings = config.resource_servers["mcp-server"]
    assert settings.tls_client_auth == {"tls_client_auth_san_uri": "https://mcp.example/rs"}
    assert settings.sender_constraint == "mtls" and mtls_from_toml(None, folder) is None


@pytest.mark.requirement("HP-MTLS-20")
def test_loaded_deployment_serves_mtls_metadata(folder: Path) -> None:
    from hardened.adapters.memory import MemoryReplayCache
    from hardened.adapters.memory_as import MemoryASStore
    from hardened.clock import FixedClock
    from hardened.server.app import create_app
    from hardened.server.config import ServerStores

    toml = folder / "as.toml"
    toml.write_text(toml.read_text() + MTLS)
    app = create_app(load_deployment(toml).config, ServerStores(MemoryASStore(), MemoryReplayCache()), FixedClock())
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))

    async def fetch() -> dict:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            return (await http.get("/.well-known/oauth-authorization-server")).json()

    import asyncio
    body = asyncio.run(fetch())
    assert body["mtls_endpoint_aliases"]["token_endpoint"] == "https://mtls.as.example/token"
