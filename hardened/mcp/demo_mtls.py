"""``hardened demo --sender-constraint mtls``: the demo over real mutual TLS (RFC 8705).

The same steps as :mod:`hardened.mcp.demo_flow`, but the agent's client certificate (issued by a fresh demo CA)
authenticates it at the AS (``tls_client_auth``: the chain to the demo root, then the SAN URI the authority put
in the software statement as ``tls_client_auth_san_uri``) and binds its tokens (``cnf.x5t#S256``); the MCP
server checks that binding on every call. Then the stolen token is replayed from a connection with another
client certificate and from one without any: both ``401 invalid_token``. Every line is an outcome observed
over real TLS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from hardened.client.assertion import assertion_params
from hardened.client.mtls import ClientCertificate, mtls_async_client
from hardened.clock import SystemClock
from hardened.jose import SigningKey
from hardened.mcp.agent import AgentCredentials, Registrations
from hardened.mcp.agent_mtls import MTLSAgent, mtls_mcp_session
from hardened.mcp.browser import HeadlessBrowser
from hardened.mcp.demo_flow import ACCEPT, INIT, Steps, _challenge_error, tool_steps
from hardened.mcp.stack import MCP_CLIENT_ID
from hardened.mcp.stack_tls import TLSStack, start_tls_stack
from hardened.web.tls_server import client_tls_context

__all__ = ["enrol_mtls_agent", "introspect", "run_mtls_demo"]

AGENT_URI = "https://agents.acme.example/trade-agent"


def enrol_mtls_agent(stack: TLSStack, assertion_key: SigningKey, certificate: ClientCertificate, redirect_uri: str,
                     *, org_id: str = "acme-agents", software_id: str = "trade-agent") -> dict[str, Any]:
    """The authority signs a statement for ``tls_client_auth`` (the certificate's SAN URI, RFC 8705 §2.1.2) and
    ``sender_constraint: mtls``; the JWKS keeps the agent's assertion key (RFC 7591: a statement has keys)."""
    admin = {"Authorization": f"Bearer {stack.admin_token}"}
    with httpx.Client(base_url=stack.authority_url, headers=admin, timeout=10) as http:
        org = http.post("/admin/organisations", json={"org_id": org_id, "name": "Acme Agents Ltd",
                                                        "jurisdiction": "GB"})
        software = http.post("/admin/software", json={
            "org_id": org_id, "software_id": software_id, "client_name": "Acme trade agent (mutual TLS)",
            "redirect_uris": [redirect_uri],
            "jwks": {"keys": [assertion_key.public_jwk()]}, "token_endpoint_auth_method": "tls_client_auth",
            "tls_client_auth_san_uri": AGENT_URI, "sender_constraint": "mtls",
            "scope": "trades:read trades:write", "grant_types": ["authorization_code", "refresh_token"]})
        signed = http.post(f"/admin/software/{software_id}/statements", json={"ttl": 3600})
        for response in (org, software, signed):
            response.raise_for_status()
        return signed.json()


async def _agent_flow(steps: Steps, agent: MTLSAgent) -> None:
    async with mtls_mcp_session(agent, mode="legacy") as client:
        await tool_steps(steps, client, exchanged="DPoP-bound to the MCP server's key (cnf.jkt)")


async def introspect(stack: TLSStack, token: str) -> dict[str, Any]:
    """RFC 7662 introspection as the MCP server (``private_key_jwt``) over TLS: what the token is bound to."""
    assert stack.pki is not None and stack.mcp_key is not None
    form = {"token": token, **assertion_params(stack.mcp_key, MCP_CLIENT_ID, stack.as_url, now=SystemClock().now())}
    async with stack.pki.http() as http:
        response = await http.post(stack.as_url + "/introspect", data=form)
    response.raise_for_status()
    return response.json()


async def _binding(stack: TLSStack, agent: MTLSAgent) -> str:
    assert agent.tokens is not None
    cnf = (await introspect(stack, agent.tokens.access_token)).get("cnf") or {}
    if cnf != {"x5t#S256": agent.certificate.thumbprint}:
        raise AssertionError(f"the token is bound to {cnf}, not the agent's certificate")
    return f"introspection shows cnf.x5t#S256 {cnf['x5t#S256']} = the agent certificate's thumbprint, no jkt"


async def _stolen_token(stack: TLSStack, agent: MTLSAgent, thief: ClientCertificate) -> str:
    """The token replayed as Bearer from mutual TLS with the thief's certificate, and from TLS without one."""
    assert agent.tokens is not None and stack.pki is not None
    headers = {**ACCEPT, "Authorization": f"Bearer {agent.tokens.access_token}"}
    async with mtls_async_client(thief) as http:
        other = await http.post(stack.mcp_url, json=INIT, headers=headers)
    async with httpx.AsyncClient(verify=client_tls_context(ca_file=stack.pki.root_file), timeout=10) as http:
        none = await http.post(stack.mcp_url, json=INIT, headers=headers)
    if other.status_code != 401 or none.status_code != 401:
        raise AssertionError(f"accepted: {other.status_code} / {none.status_code}")
    return (f"refused: with another client certificate 401 {_challenge_error(other)}, "
            f"without a certificate 401 {_challenge_error(none)}")


async def _own_use(stack: TLSStack, agent: MTLSAgent) -> str:
    """Control: the same request from the agent's own certificate is accepted."""
    assert agent.tokens is not None
    async with mtls_async_client(agent.certificate) as http:
        own = await http.post(stack.mcp_url, json=INIT,
                              headers={**ACCEPT, "Authorization": f"Bearer {agent.tokens.access_token}"})
    if own.status_code != 200:
        raise AssertionError(f"the agent's own certificate got {own.status_code}")
    return "the same request over the agent's own certificate is accepted (200)"


async def run_mtls_demo(data_dir: Path, steps: Steps, redirect_uri: str, *, keep: bool = False) -> TLSStack | None:
    stack = start_tls_stack(data_dir)
    try:
        pki = stack.pki
        assert pki is not None
        steps.line(True, "servers", f"authority {stack.authority_url}, authorization server {stack.as_url}, "
                   f"upstream {stack.upstream_url}, MCP server {stack.mcp_url} (TLS, demo CA in {pki.folder})")
        certificate = pki.issue_agent("trade-agent", AGENT_URI)
        thief = pki.issue_agent("thief", "https://thief.example/agent")
        steps.line(True, "pki", f"agent certificate {certificate.certificate.subject.rfc4514_string()} "
                   f"(clientAuth, SAN URI {AGENT_URI}), x5t#S256 {certificate.thumbprint}")
        assertion_key, dpop_key = SigningKey.generate("ES256"), SigningKey.generate("ES256")
        signed = enrol_mtls_agent(stack, assertion_key, certificate, redirect_uri)
        steps.line(True, "authority", f"software trade-agent vetted for tls_client_auth (SAN URI {AGENT_URI}) "
                   f"and sender_constraint mtls; statement {signed.get('jti', '')[:10]}... signed")
        credentials = AgentCredentials(assertion_key, dpop_key, signed["software_statement"], redirect_uri)
        browser = HeadlessBrowser(stack.username, stack.password,
                                  transport=httpx.AsyncHTTPTransport(verify=client_tls_context(ca_file=pki.root_file)))
        agent = MTLSAgent(stack.mcp_url, credentials, browser, certificate=certificate,
                          registrations=Registrations(), on_step=lambda name, detail: steps.line(True, name, detail))
        try:
            await _agent_flow(steps, agent)
        except Exception as exc:  # reported, never hidden
            steps.line(False, "agent flow", f"{type(exc).__name__}: {exc}")
        if agent.tokens is not None:
            await steps.run("certificate binding", lambda: _binding(stack, agent))
            await steps.run("attack: stolen token replayed from another connection",
                            lambda: _stolen_token(stack, agent, thief))
            await steps.run("control", lambda: _own_use(stack, agent))
        else:
            steps.line(False, "attacks on the agent's token", "the agent holds no token")
        await agent.http.aclose()
        if keep:
            return stack
    except BaseException:
        stack.stop()
        raise
    stack.stop()
    return None
