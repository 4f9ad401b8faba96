"""End to end over real uvicorn servers: authority, AS, upstream API, MCP server; the hardened agent and a stock
MCP SDK client (HP-MCP-13, -16, -17, -18, -19, -20)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import time
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

pytest.importorskip("hardened.server.app")
pytest.importorskip("authority.service")

from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from hardened.jose import SigningKey
from hardened.mcp.agent import AgentCredentials, HardenedAgent, Registrations
from hardened.mcp.agent_auth import mcp_session
from hardened.mcp.browser import HeadlessBrowser
from hardened.mcp.stack import enrol_agent, start_stack

pytestmark = pytest.mark.slow
REDIRECT = "http://127.0.0.1:8765/callback"
ORDER = {"symbol": "VOD.L", "side": "buy", "quantity": 3, "price": 71.0}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    stack = start_stack(tmp_path_factory.mktemp("stack"))
    key = SigningKey.generate("ES256")
    statement = enrol_agent(stack, key, REDIRECT)["software_statement"]
    yield stack, AgentCredentials(key, SigningKey.generate("ES256"), statement, REDIRECT)
    stack.stop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


@pytest.mark.requirement("HP-MCP-13")
@pytest.mark.requirement("HP-MCP-16")
@pytest.mark.requirement("HP-MCP-17")
@pytest.mark.requirement("HP-MCP-18")
def test_hardened_agent_reads_steps_up_and_writes_through_token_exchange(world) -> None:
    stack, credentials = world
    steps: list[str] = []
    registrations = Registrations()
    agent = HardenedAgent(stack.mcp_url, credentials, HeadlessBrowser(stack.username, stack.password),
                          registrations=registrations, on_step=lambda name, detail: steps.append(name))

    held: list = []

    async def main():
        async with mcp_session(agent, mode="legacy") as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            read = await client.call_tool("list-trades", {})
            write = await client.call_tool("place-trade", ORDER)
            tools_after = [t.name for t in (await client.list_tools()).tools]
            # near expiry the agent refreshes (refresh_token grant, private_key_jwt, DPoP) before the next call
            held.append(agent.tokens)
            agent.tokens = dataclasses.replace(agent.tokens, expires_at=time.time() + 5)
            again = await client.call_tool("list-trades", {})
            return tools, read, write, tools_after, again

    tools, read, write, tools_after, again = run(main())
    assert tools == ["list-trades"] and tools_after == ["list-trades", "place-trade"]
    assert {t["tenant"] for t in read.structured_content["trades"]} == {"acme"}
    assert not write.is_error, write.content
    assert write.structured_content["actor"] == "mcp-server"  # exchanged token, act.sub = the MCP server
    assert write.structured_content["trade"]["trader"] == "user-alice"
    assert steps[:6] == ["discovery", "metadata", "registration", "PAR", "consent", "token"]
    assert steps.count("step-up") == 1 and agent.tokens.scopes == {"trades:read", "trades:write"}

    assert not again.is_error and steps[-1] == "refresh"
    assert agent.tokens.access_token != held[0].access_token and agent.tokens.scopes == held[0].scopes

    # a second agent process with the same statement reuses the registration at this issuer
    again: list[str] = []
    second = HardenedAgent(stack.mcp_url, credentials, HeadlessBrowser(stack.username, stack.password),
                           registrations=registrations, on_step=lambda name, detail: again.append(detail))

    async def discover_and_register():
        await second.discover()
        await second.register()

    run(discover_and_register())
    assert second.client_id == agent.client_id and "reusing" in again[-1]


class _Storage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, info):
        self.client = info


@pytest.mark.requirement("HP-MCP-19")
def test_stock_sdk_client_is_baseline_and_its_step_up_is_refused(world) -> None:
    stack, _ = world
    browser = HeadlessBrowser(stack.username, stack.password)
    redirect = "http://127.0.0.1:8766/callback"
    landed: list[str] = []

    async def redirect_handler(url: str) -> None:
        landed.append(await browser(url, redirect))

    async def callback_handler() -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(landed[-1]).query)
        if "code" not in query:
            raise RuntimeError("authorization refused: " + query.get("error", ["?"])[0])
        return AuthorizationCodeResult(code=query["code"][0], state=query.get("state", [None])[0],
                                       iss=query.get("iss", [None])[0])

    provider = OAuthClientProvider(
        stack.mcp_url, OAuthClientMetadata(client_name="stock client", redirect_uris=[redirect],
                                           token_endpoint_auth_method="none", scope="trades:read"),
        _Storage(), redirect_handler=redirect_handler, callback_handler=callback_handler)

    async def session(action):
        http = httpx2.AsyncClient(auth=provider, timeout=30)
        async with http, Client(streamable_http_client(stack.mcp_url, http_client=http), mode="legacy") as client:
            return await action(client)

    async def read(client):
        return [t.name for t in (await client.list_tools()).tools], await client.call_tool("list-trades", {})

    async def write(client):
        return await client.call_tool("place-trade", ORDER)

    tools, listed = run(session(read))
    assert tools == ["list-trades"] and not listed.is_error
    assert provider.context.client_info.token_endpoint_auth_method == "none"  # registered as a public client
    # place-trade: 403 insufficient_scope -> the SDK steps up -> the AS refuses trades:write for a baseline client
    with pytest.raises(BaseException) as refused:  # the SDK's transport surfaces it as an exception group
        run(session(write))
    assert "invalid_scope" in repr(refused.value.exceptions if hasattr(refused.value, "exceptions") else refused)
    assert any("error=invalid_scope" in url for url in landed)


@pytest.mark.requirement("HP-MCP-20")
def test_demo_runs_every_step_and_passes() -> None:
    from hardened.demo import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main([])
    text = out.getvalue()
    assert status == 0, text
    for step in ("discovery", "registration", "PAR", "consent", "token", "tools/list", "list-trades", "step-up",
                 "place-trade", "token exchange", "stolen token", "replayed DPoP proof", "forged statement",
                 "stock client"):
        assert f"{step}" in text, step
    assert "FAIL" not in text and text.rstrip().endswith("demo passed")


@pytest.mark.requirement("HP-MCP-17")
def test_agent_cli_calls_a_tool_from_a_credentials_folder(world, tmp_path, capsys) -> None:
    from hardened.mcp.agent_cli import main
    from hardened.mcp.demo_flow import write_agent_folder

    stack, _ = world
    key = SigningKey.generate("ES256")
    statement = enrol_agent(stack, key, REDIRECT, org_id="cli-org", software_id="cli-agent")["software_statement"]
    folder = tmp_path / "agent"
    write_agent_folder(folder, AgentCredentials(key, SigningKey.generate("ES256"), statement, REDIRECT),
                       stack.password)
    args = ["--credentials", str(folder), "--username", "alice", "--password-file", str(folder / "password")]
    assert main(["tools", stack.mcp_url, *args]) == 0
    assert '"list-trades"' in capsys.readouterr().out
    assert main(["call", stack.mcp_url, "list-trades", "--arguments", '{"symbol": "VOD.L"}', *args]) == 0
    assert '"VOD.L"' in capsys.readouterr().out
    assert (folder / "registrations.json").exists()  # the second run reused the registration


@pytest.mark.requirement("HP-MCP-17")
def test_agent_cli_reports_a_refused_sign_in_in_one_line(world, tmp_path, capsys) -> None:
    from hardened.mcp.agent_cli import main
    from hardened.mcp.demo_flow import write_agent_folder

    stack, _ = world
    key = SigningKey.generate("ES256")
    statement = enrol_agent(stack, key, REDIRECT, org_id="cli-org2", software_id="cli-agent2")["software_statement"]
    folder = tmp_path / "agent"
    write_agent_folder(folder, AgentCredentials(key, SigningKey.generate("ES256"), statement, REDIRECT), "wrong")
    args = ["--credentials", str(folder), "--username", "alice", "--password-file", str(folder / "password")]
    assert main(["call", stack.mcp_url, "list-trades", *args]) == 1
    err = capsys.readouterr().err
    assert "AccessDenied" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
