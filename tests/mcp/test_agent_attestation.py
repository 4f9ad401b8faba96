"""The attested agent end to end over real uvicorn servers (authority as Client Attester, AS, upstream, MCP server):
HP-ATT-30 (agent side of draft-ietf-oauth-attestation-based-client-auth-10) and HP-ATT-31 (what must be shown)."""

from __future__ import annotations

import asyncio
import contextlib
import io

import httpx
import pytest

pytest.importorskip("hardened.server.app")
pytest.importorskip("authority.service")

from hardened.clock import SystemClock
from hardened.errors import ConfigurationError, InvalidClientAttestation, InvalidRequest, InvalidScope
from hardened.jose import SigningKey
from hardened.mcp.agent import AgentCredentials, HardenedAgent, Registrations
from hardened.mcp.agent_attestation import AgentAttestation, AttestationHeaders
from hardened.mcp.agent_auth import mcp_session
from hardened.mcp.browser import HeadlessBrowser
from hardened.mcp.demo_attested import ATTESTED_SCOPE, _challenge_and_replay, enrol_attested_agent
from hardened.mcp.stack import enrol_agent, start_stack

pytestmark = pytest.mark.slow
REDIRECT = "http://127.0.0.1:8765/callback"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    stack = start_stack(tmp_path_factory.mktemp("attested"))
    yield stack, enrol_attested_agent(stack, REDIRECT), Registrations()
    stack.stop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def agent_of(stack, enrolled, registrations, steps: list[str] | None = None, *, attested: bool = True,
             **options) -> HardenedAgent:
    return HardenedAgent(stack.mcp_url, enrolled.credentials, HeadlessBrowser(stack.username, stack.password),
                         registrations=registrations, attestation=enrolled.attestation if attested else None,
                         on_step=lambda name, detail: (steps if steps is not None else []).append(name), **options)


@pytest.mark.requirement("HP-ATT-31")
def test_hardened_agent_cannot_obtain_the_attested_scope(world) -> None:
    stack = world[0]
    key = SigningKey.generate("ES256")
    statement = enrol_agent(stack, key, REDIRECT, org_id="plain-org", software_id="plain-agent")["software_statement"]
    agent = HardenedAgent(stack.mcp_url, AgentCredentials(key, SigningKey.generate("ES256"), statement, REDIRECT),
                          HeadlessBrowser(stack.username, stack.password))
    with pytest.raises(InvalidScope):
        run(agent.authorize(["trades:read", ATTESTED_SCOPE]))
    assert agent.tokens is None


@pytest.mark.requirement("HP-ATT-31")
def test_attested_software_without_attestation_is_refused_at_par(world) -> None:
    stack, enrolled, registrations = world
    for scopes in (["trades:read", ATTESTED_SCOPE], ["trades:read"]):  # the tier requires it for every flow
        agent = agent_of(stack, enrolled, registrations, attested=False)
        with pytest.raises(InvalidClientAttestation):
            run(agent.authorize(scopes))
        assert agent.tokens is None


@pytest.mark.requirement("HP-ATT-30")
@pytest.mark.requirement("HP-ATT-31")
def test_attested_agent_answers_the_challenge_gets_the_scope_calls_a_tool_and_refreshes(world) -> None:
    stack, enrolled, registrations = world
    steps: list[str] = []
    agent = agent_of(stack, enrolled, registrations, steps, refresh_margin=10_000.0)

    async def flow():
        tokens = await agent.authorize(["trades:read", ATTESTED_SCOPE])
        async with mcp_session(agent, mode="legacy") as client:
            read = await client.call_tool("list-trades", {})
        refreshed = await agent.ensure_token()  # within refresh_margin: refresh, attested again (ABCA §9.3)
        return tokens, read, refreshed

    tokens, read, refreshed = run(flow())
    assert ATTESTED_SCOPE in tokens.scopes and "trades:read" in tokens.scopes
    assert not read.is_error and (read.structured_content or {}).get("trades")
    assert refreshed is not None and refreshed.access_token != tokens.access_token
    assert ATTESTED_SCOPE in refreshed.scopes
    assert "PAR" in steps and "token" in steps and "refresh" in steps
    assert "attestation challenge" in steps or enrolled.attestation.challenge is not None
    assert enrolled.attestation.challenge is not None  # learnt from the AS, used in later PoPs


@pytest.mark.requirement("HP-ATT-30")
def test_refresh_without_attestation_is_refused(world) -> None:
    stack, enrolled, registrations = world
    agent = agent_of(stack, enrolled, registrations, refresh_margin=10_000.0)
    run(agent.authorize(["trades:read"]))
    bare = agent_of(stack, enrolled, registrations, attested=False, refresh_margin=10_000.0)
    bare.as_metadata, bare.client_id, bare.tokens = agent.as_metadata, agent.client_id, agent.tokens
    with pytest.raises(InvalidClientAttestation):
        run(bare.ensure_token())


@pytest.mark.requirement("HP-ATT-31")
def test_challenge_flow_and_replayed_pop(world) -> None:
    stack, enrolled, registrations = world
    agent = agent_of(stack, enrolled, registrations)
    run(agent.discover())
    run(agent.register())
    assert "replayed refused" in run(_challenge_and_replay(agent, enrolled.attestation))


@pytest.mark.requirement("HP-ATT-30")
def test_challenge_endpoint_gives_a_challenge_the_agent_uses(world) -> None:
    stack, enrolled, _ = world

    async def fetch():
        async with httpx.AsyncClient(timeout=10) as http:
            meta = (await http.get(stack.as_url + "/.well-known/oauth-authorization-server")).json()
            return await enrolled.attestation.fetch_challenge(http, meta["challenge_endpoint"])

    challenge = run(fetch())
    assert challenge and enrolled.attestation.challenge == challenge


@pytest.mark.requirement("HP-ATT-30")
def test_attestation_headers_go_only_to_the_as_origin() -> None:
    key = SigningKey.generate("ES256")
    auth = AttestationHeaders("a.b.c", key, audience="http://127.0.0.1:9000", origin="http://127.0.0.1:9000",
                              clock=SystemClock(), dpop=httpx.Auth())
    request = httpx.Request("POST", "http://127.0.0.1:9999/token")

    async def first():
        return await auth.async_auth_flow(request).__anext__()

    with pytest.raises(InvalidRequest):
        run(first())
    assert "OAuth-Client-Attestation" not in request.headers


@pytest.mark.requirement("HP-ATT-30")
def test_combined_mode_needs_the_instance_key_as_dpop_key() -> None:
    attestation = AgentAttestation(SigningKey.generate("ES256"), "i-1", "http://127.0.0.1:9/attester/attestations",
                                   combined=True)

    async def post():
        async with httpx.AsyncClient() as http:
            await attestation.post(http, "http://127.0.0.1:9/par", dict, client_id="c", issuer="http://127.0.0.1:9",
                                   dpop_key=SigningKey.generate("ES256"), on_step=lambda n, d: None)

    with pytest.raises(ConfigurationError):
        run(post())


@pytest.mark.requirement("HP-ATT-31")
def test_demo_shows_the_attested_steps() -> None:
    from hardened.demo import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main([])
    text = out.getvalue()
    assert status == 0, text
    for step in (f"attested: hardened agent asks for {ATTESTED_SCOPE}", "attested: no attestation",
                 "attested agent: attestation challenge", "attested: with attestation",
                 "attested: challenge, replayed PoP"):
        assert f"ok    {step}" in text, step


@pytest.mark.requirement("HP-ATT-30")
def test_combined_dpop_mode_end_to_end(world) -> None:
    """ABCA §5.2: no PoP header; the DPoP proof, signed by the instance key, carries the challenge as nonce."""
    stack, enrolled, registrations = world
    instance_key = SigningKey.generate("ES256")
    admin = {"Authorization": f"Bearer {stack.admin_token}"}
    added = httpx.post(f"{stack.authority_url}/admin/software/trade-agent-attested/instances", headers=admin,
                       json={"instance_id": "trade-agent-eu-2", "jwk": instance_key.public_jwk()}, timeout=10)
    assert added.status_code in (200, 201), added.text
    combined = AgentAttestation(instance_key, "trade-agent-eu-2", enrolled.attestation.endpoint, combined=True)
    base = enrolled.credentials
    credentials = AgentCredentials(base.assertion_key, instance_key, base.software_statement, base.redirect_uri)
    steps: list[str] = []
    agent = HardenedAgent(stack.mcp_url, credentials, HeadlessBrowser(stack.username, stack.password),
                          registrations=registrations, attestation=combined,
                          on_step=lambda name, detail: steps.append(name))

    async def flow():
        tokens = await agent.authorize(["trades:read", ATTESTED_SCOPE])
        async with mcp_session(agent, mode="legacy") as client:
            return tokens, await client.call_tool("list-trades", {})

    tokens, read = run(flow())
    assert ATTESTED_SCOPE in tokens.scopes and not read.is_error
    assert "attestation challenge" in steps and combined.challenge is not None
