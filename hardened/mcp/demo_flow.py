"""The steps of ``hardened demo`` (see :mod:`hardened.demo`): the agent's flow, then four attacks.

Every step checks what it claims: the lines printed are outcomes observed over real HTTP, never assumed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from hardened.clock import SystemClock
from hardened.core.dpop import build_dpop_proof
from hardened.jose import SigningKey, Typ, b64url_decode
from hardened.mcp.agent import AgentCredentials, HardenedAgent, Registrations
from hardened.mcp.agent_auth import mcp_session
from hardened.mcp.browser import HeadlessBrowser
from hardened.mcp.demo_attested import run_attested_steps
from hardened.mcp.stack import Stack, enrol_agent, start_stack

__all__ = ["run_demo", "write_agent_folder"]

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "attacker", "version": "1"}}}
ACCEPT = {"Accept": "application/json, text/event-stream"}


class Steps(Protocol):
    failed: int

    def line(self, ok: bool, name: str, detail: str) -> None: ...

    async def run(self, name: str, step: Any) -> Any: ...


def _challenge_error(response: httpx.Response) -> str:
    header = response.headers.get("www-authenticate", "")
    return header.split('error="', 1)[1].split('"', 1)[0] if 'error="' in header else f"HTTP {response.status_code}"


async def _agent_flow(stack: Stack, steps: Steps, agent: HardenedAgent) -> None:
    """Discovery .. token happen inside the first MCP request; the agent reports each through ``on_step``."""
    async with mcp_session(agent, mode="legacy") as client:
        await tool_steps(steps, client, exchanged="bound to the MCP server's key")


async def tool_steps(steps: Steps, client: Any, *, exchanged: str) -> None:
    """tools/list, the read tool, the step-up to the write tool and the token exchange behind it (every mode)."""
    tools = [t.name for t in (await client.list_tools()).tools]
    steps.line(tools == ["list-trades"], "tools/list", f"{tools} (a trades:read token sees only the read tool)")
    read = await client.call_tool("list-trades", {})
    trades = (read.structured_content or {}).get("trades", [])
    fenced = bool(trades) and all(t["tenant"] == "acme" and t["country"] == "GB" for t in trades)
    steps.line(not read.is_error and fenced, "list-trades",
               f"{len(trades)} trades, all of tenant acme in GB (user claims applied upstream)")
    write = await client.call_tool("place-trade", {"symbol": "VOD.L", "side": "buy", "quantity": 10, "price": 72.4})
    body = write.structured_content or {}
    ok = not write.is_error and body.get("actor") == "mcp-server" and body.get("trade", {}).get("trader")
    steps.line(bool(ok), "place-trade", f"trade {body.get('trade', {}).get('id')} placed for "
               f"{body.get('trade', {}).get('trader')} after the step-up")
    steps.line(bool(ok), "token exchange", f"upstream got an at+jwt {exchanged}, act.sub "
               f"{body.get('actor')}; the agent's token never left the MCP server")


async def _stolen_token(stack: Stack, agent: HardenedAgent) -> str:
    assert agent.tokens is not None
    token, thief = agent.tokens.access_token, SigningKey.generate("ES256")
    async with httpx.AsyncClient(timeout=10) as http:
        proof = build_dpop_proof(thief, htm="POST", htu=stack.mcp_url, iat=SystemClock().now(),
                                 jti=secrets.token_urlsafe(12), access_token=token)
        own_key = await http.post(stack.mcp_url, json=INIT, headers={**ACCEPT, "Authorization": f"DPoP {token}",
                                                                     "DPoP": proof})
        bearer = await http.post(stack.mcp_url, json=INIT, headers={**ACCEPT, "Authorization": f"Bearer {token}"})
    if own_key.status_code != 401 or bearer.status_code != 401:
        raise AssertionError(f"accepted: {own_key.status_code} / {bearer.status_code}")
    return f"refused: with the thief's key {_challenge_error(own_key)}, as Bearer {_challenge_error(bearer)}"


async def _replayed_proof(stack: Stack, agent: HardenedAgent) -> str:
    assert agent.tokens is not None
    token = agent.tokens.access_token
    proof = build_dpop_proof(agent.credentials.dpop_key, htm="POST", htu=stack.mcp_url, iat=SystemClock().now(),
                             jti=secrets.token_urlsafe(12), access_token=token)
    headers = {**ACCEPT, "Authorization": f"DPoP {token}", "DPoP": proof}
    async with httpx.AsyncClient(timeout=10) as http:
        first = await http.post(stack.mcp_url, json=INIT, headers=headers)
        again = await http.post(stack.mcp_url, json=INIT, headers=headers)
    if first.status_code != 200 or again.status_code != 401:
        raise AssertionError(f"first use {first.status_code}, replay {again.status_code}")
    return f"first use accepted, the replay refused ({_challenge_error(again)})"


async def _forged_statement(stack: Stack, statement: str, as_meta: dict[str, Any]) -> str:
    head, payload, _ = statement.split(".")
    claims = json.loads(b64url_decode(payload))
    header = json.loads(b64url_decode(head))
    forger = SigningKey.generate("ES256", kid=header.get("kid"))  # same claims, same kid, the forger's key
    forged = forger.sign_jws({**claims, "jti": "forged-" + secrets.token_urlsafe(8)}, typ=Typ.SOFTWARE_STATEMENT)
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(as_meta["registration_endpoint"], json={"software_statement": forged})
    error = r.json().get("error") if r.headers.get("content-type", "").startswith("application/json") else None
    if r.status_code != 400 or error != "invalid_software_statement":
        raise AssertionError(f"answered {r.status_code} {error}")
    return f"refused ({error})"


async def _stock_client(stack: Stack, as_meta: dict[str, Any]) -> str:
    redirect = "http://127.0.0.1:8766/callback"
    async with httpx.AsyncClient(timeout=10, follow_redirects=False) as http:
        reg = await http.post(as_meta["registration_endpoint"], json={
            "client_name": "stock MCP client", "redirect_uris": [redirect], "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code"], "response_types": ["code"]})
        if reg.status_code != 201 or reg.json().get("hardened_tier") != "baseline":
            raise AssertionError(f"baseline registration answered {reg.status_code}")
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        query = urlencode({"response_type": "code", "client_id": reg.json()["client_id"], "redirect_uri": redirect,
                           "scope": "trades:read trades:write", "state": "s", "code_challenge": challenge,
                           "code_challenge_method": "S256", "resource": stack.mcp_url})
        r = await http.get(f"{as_meta['authorization_endpoint']}?{query}")
    error = parse_qs(urlsplit(r.headers.get("location", "")).query).get("error", [None])[0]
    if error != "invalid_scope":
        raise AssertionError(f"answered {r.status_code} {error}")
    return "registered as baseline; its request for trades:write refused (invalid_scope)"


def write_agent_folder(folder: Path, credentials: AgentCredentials, password: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assertion.pem").write_bytes(credentials.assertion_key.private_pem())
    (folder / "dpop.pem").write_bytes(credentials.dpop_key.private_pem())
    (folder / "statement.jwt").write_text(credentials.software_statement)
    (folder / "agent.json").write_text(json.dumps({"redirect_uri": credentials.redirect_uri}))
    (folder / "password").write_text(password)
    for path in folder.iterdir():
        path.chmod(0o600)


async def run_demo(data_dir: Path, steps: Steps, redirect_uri: str, *, keep: bool) -> Stack | None:
    stack = start_stack(data_dir)
    try:
        steps.line(True, "servers", f"authority {stack.authority_url}, authorization server {stack.as_url}, "
                   f"upstream {stack.upstream_url}, MCP server {stack.mcp_url}")
        assertion_key, dpop_key = SigningKey.generate("ES256"), SigningKey.generate("ES256")
        signed = enrol_agent(stack, assertion_key, redirect_uri)
        steps.line(True, "authority", f"organisation acme-agents and software trade-agent vetted; statement "
                   f"{signed.get('jti', '')[:10]}... signed")
        credentials = AgentCredentials(assertion_key, dpop_key, signed["software_statement"], redirect_uri)
        agent = HardenedAgent(stack.mcp_url, credentials, HeadlessBrowser(stack.username, stack.password),
                              registrations=Registrations(),
                              on_step=lambda name, detail: steps.line(True, name, detail))
        try:
            await _agent_flow(stack, steps, agent)
        except Exception as exc:  # reported, never hidden
            steps.line(False, "agent flow", f"{type(exc).__name__}: {exc}")
        async with httpx.AsyncClient(timeout=10) as http:
            as_meta = (await http.get(stack.as_url + "/.well-known/oauth-authorization-server")).json()
        if agent.tokens is not None:
            await steps.run("attack: stolen token replayed without the key", lambda: _stolen_token(stack, agent))
            await steps.run("attack: replayed DPoP proof", lambda: _replayed_proof(stack, agent))
        else:
            steps.line(False, "attacks on the agent's token", "the agent holds no token")
        await steps.run("attack: registration with a forged statement",
                        lambda: _forged_statement(stack, credentials.software_statement, as_meta))
        await steps.run("attack: stock client asking for a hardened scope", lambda: _stock_client(stack, as_meta))
        await run_attested_steps(stack, steps, redirect_uri, agent)  # the attested tier (demo_attested)
        if keep:
            write_agent_folder(data_dir / "agent", credentials, stack.password)
            if agent.client_id is not None:  # the statement is spent at this AS: `hardened agent` reuses the client
                Registrations(data_dir / "agent" / "registrations.json").put(stack.as_url, agent.client_id)
            return stack
    except BaseException:
        stack.stop()
        raise
    stack.stop()
    return None
