"""The hardened agent over real mutual TLS (RFC 8705) against the real servers: authority, AS, upstream and MCP
server (``hardened.mcp.stack_tls``), with certificates from a fresh ``pki`` CA; and ``hardened demo
--sender-constraint mtls`` end to end."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hardened.client.mtls import mtls_async_client, tls_client_auth_params
from hardened.jose import SigningKey
from hardened.mcp.agent import AgentCredentials, Registrations
from hardened.mcp.agent_mtls import MTLSAgent, mtls_mcp_session
from hardened.mcp.browser import HeadlessBrowser
from hardened.mcp.demo_flow import ACCEPT, INIT
from hardened.mcp.demo_mtls import AGENT_URI, enrol_mtls_agent, introspect
from hardened.mcp.stack_tls import TLSStack, start_tls_stack
from hardened.web.tls_server import client_tls_context

REDIRECT = "http://127.0.0.1:8765/callback"


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSStack]:
    stack = start_tls_stack(Path(tmp_path_factory.mktemp("tls-stack")))
    try:
        yield stack
    finally:
        stack.stop()


def _agent(stack: TLSStack, name: str) -> MTLSAgent:
    assert stack.pki is not None
    certificate = stack.pki.issue_agent(name, AGENT_URI)
    assertion_key = SigningKey.generate("ES256")
    signed = enrol_mtls_agent(stack, assertion_key, certificate, REDIRECT, org_id=f"org-{name}", software_id=name)
    credentials = AgentCredentials(assertion_key, SigningKey.generate("ES256"), signed["software_statement"],
                                   REDIRECT)
    transport = httpx.AsyncHTTPTransport(verify=client_tls_context(ca_file=stack.pki.root_file))
    return MTLSAgent(stack.mcp_url, credentials, HeadlessBrowser(stack.username, stack.password, transport=transport),
                     certificate=certificate, registrations=Registrations())


async def _call_mcp(stack: TLSStack, token: str, certificate=None, scheme: str = "Bearer") -> httpx.Response:
    assert stack.pki is not None
    headers = {**ACCEPT, "Authorization": f"{scheme} {token}"}
    client = (mtls_async_client(certificate) if certificate is not None
              else httpx.AsyncClient(verify=client_tls_context(ca_file=stack.pki.root_file), timeout=10))
    async with client as http:
        return await http.post(stack.mcp_url, json=INIT, headers=headers)


@pytest.mark.requirement("HP-MTLS-25")
@pytest.mark.requirement("HP-MTLS-26")
def test_agent_gets_certificate_bound_tokens_and_calls_tools_over_mutual_tls(tls_stack: TLSStack) -> None:
    agent = _agent(tls_stack, "e2e-agent")
    thief = tls_stack.pki.issue_agent("e2e-thief", "https://thief.example/agent")  # type: ignore[union-attr]

    async def scenario() -> dict:
        async with mtls_mcp_session(agent, mode="legacy") as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            read = await client.call_tool("list-trades", {})
            write = await client.call_tool("place-trade", {"symbol": "VOD.L", "side": "buy", "quantity": 1,
                                                           "price": 70.0})
        await agent.http.aclose()
        assert agent.tokens is not None
        token = agent.tokens.access_token
        return {"tools": tools, "read": read, "write": write, "info": await introspect(tls_stack, token),
                "own": await _call_mcp(tls_stack, token, agent.certificate),
                "other": await _call_mcp(tls_stack, token, thief),
                "none": await _call_mcp(tls_stack, token),
                "dpop": await _call_mcp(tls_stack, token, agent.certificate, scheme="DPoP")}

    out = asyncio.run(scenario())
    assert agent.client_id and agent.as_metadata["token_endpoint"].startswith("https://")  # type: ignore[index]
    assert out["tools"] == ["list-trades"] and not out["read"].is_error
    assert not out["write"].is_error and out["write"].structured_content["actor"] == "mcp-server"
    assert agent.tokens is not None and agent.tokens.scopes == {"trades:read", "trades:write"}
    assert out["info"]["cnf"] == {"x5t#S256": agent.certificate.thumbprint}  # RFC 8705 §3.1, and no jkt
    assert out["info"]["client_id"] == agent.client_id
    assert out["own"].status_code == 200
    for name in ("other", "none", "dpop"):
        response = out[name]
        assert response.status_code == 401, name
        assert 'error="invalid_token"' in response.headers["www-authenticate"], name


@pytest.mark.requirement("HP-MTLS-05")
@pytest.mark.requirement("HP-MTLS-26")
def test_registered_san_uri_is_the_credential_at_the_token_endpoint(tls_stack: TLSStack) -> None:
    """A client registered through the authority's statement with tls_client_auth_san_uri: another certificate
    from the same CA (another SAN URI) is invalid_client at PAR; the agent's own is accepted."""
    agent = _agent(tls_stack, "e2e-agent2")
    thief = tls_stack.pki.issue_agent("e2e-thief2", "https://thief.example/agent2")  # type: ignore[union-attr]

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        await agent.discover()
        client_id = await agent.register()
        form = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": "trades:read",
                "code_challenge": "x" * 43, "code_challenge_method": "S256", "resource": tls_stack.mcp_url,
                **tls_client_auth_params(client_id)}
        par = agent.as_metadata["pushed_authorization_request_endpoint"]  # type: ignore[index]
        async with mtls_async_client(thief) as http:
            stolen = await http.post(par, data=form)
        try:
            own = await agent.http.post(par, data=form)
        finally:
            await agent.http.aclose()
        return stolen, own

    stolen, own = asyncio.run(scenario())
    assert stolen.status_code == 401 and stolen.json()["error"] == "invalid_client"
    assert own.status_code == 201, own.text


@pytest.mark.requirement("HP-MTLS-26")
def test_demo_over_mutual_tls_runs_every_step_and_passes() -> None:
    from hardened.demo import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["--sender-constraint", "mtls"])
    text = out.getvalue()
    assert status == 0, text
    for step in ("pki", "discovery", "certificate", "registration", "PAR", "consent", "token", "tools/list",
                 "list-trades", "step-up", "place-trade", "token exchange", "certificate binding",
                 "stolen token replayed from another connection", "control"):
        assert step in text, step
    assert "with another client certificate 401 invalid_token" in text
    assert "without a certificate 401 invalid_token" in text
    assert "x5t#S256" in text and "https://127.0.0.1" in text
    assert "FAIL" not in text and text.rstrip().endswith("demo passed")


@pytest.mark.requirement("HP-MTLS-26")
def test_demo_serve_is_not_offered_over_mutual_tls(capsys) -> None:
    from hardened.demo import main

    with pytest.raises(SystemExit) as exited:
        main(["--serve", "--sender-constraint", "mtls"])
    assert exited.value.code == 2 and "--serve" in capsys.readouterr().err
