"""The agent's discovery refuses metadata that names another resource, issuer or origin (HP-MCP-16)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.responses import JSONResponse

from hardened.errors import InvalidRequest
from hardened.mcp.discovery import as_metadata_url, fetch_as_metadata, fetch_resource_metadata

MCP = "http://127.0.0.1:9001/mcp"
ISSUER = "http://127.0.0.1:9000"


def metadata_server(prm: Any, asm: Any, status: int = 200) -> httpx.AsyncClient:
    """A small real server publishing whatever metadata a test gives it (honest or hostile)."""
    app = FastAPI()
    app.get("/.well-known/oauth-protected-resource/mcp")(lambda: JSONResponse(prm, status_code=status))
    app.get("/.well-known/oauth-authorization-server")(lambda: JSONResponse(asm, status_code=status))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))


GOOD_PRM = {"resource": MCP, "authorization_servers": [ISSUER]}


@pytest.mark.requirement("HP-MCP-16")
def test_honest_metadata_is_accepted() -> None:
    http = metadata_server(GOOD_PRM, {"issuer": ISSUER})
    prm = asyncio.run(fetch_resource_metadata(http, MCP))
    asm = asyncio.run(fetch_as_metadata(http, ISSUER))
    assert prm["authorization_servers"] == [ISSUER] and asm["issuer"] == ISSUER
    assert as_metadata_url("https://as.example/tenant1") == \
        "https://as.example/.well-known/oauth-authorization-server/tenant1"


@pytest.mark.requirement("HP-MCP-16")
@pytest.mark.parametrize("prm, url, message", [
    ({**GOOD_PRM, "resource": "http://127.0.0.1:9001/other"}, None, "another resource"),
    ({**GOOD_PRM, "resource": MCP + "/"}, None, "another resource"),
    ({"resource": MCP, "authorization_servers": []}, None, "no authorization server"),
    ({"resource": MCP, "authorization_servers": "x"}, None, "no authorization server"),
    (GOOD_PRM, "http://evil.example/.well-known/oauth-protected-resource/mcp", "not on the resource's origin"),
    (["not", "an", "object"], None, "not a JSON object"),
])
def test_resource_metadata_must_describe_this_resource(prm, url, message) -> None:
    with pytest.raises(InvalidRequest) as exc:
        asyncio.run(fetch_resource_metadata(metadata_server(prm, {}), MCP, url))
    assert message in exc.value.description


@pytest.mark.requirement("HP-MCP-16")
@pytest.mark.parametrize("issuer", [ISSUER + "/", "http://127.0.0.1:9002", "HTTP://127.0.0.1:9000", None])
def test_authorization_server_issuer_must_match_exactly(issuer) -> None:
    with pytest.raises(InvalidRequest) as exc:
        asyncio.run(fetch_as_metadata(metadata_server(GOOD_PRM, {"issuer": issuer}), ISSUER))
    assert "another issuer" in exc.value.description


@pytest.mark.requirement("HP-MCP-16")
def test_metadata_fetch_failures_are_one_error() -> None:
    with pytest.raises(InvalidRequest):
        asyncio.run(fetch_resource_metadata(metadata_server(GOOD_PRM, {}, status=500), MCP))
