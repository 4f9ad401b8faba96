"""The attested steps of ``hardened demo`` (draft-ietf-oauth-attestation-based-client-auth-10, "ABCA").

The authority vouches for one running instance of a second agent software (``trade-agent-attested``, tier
``attested``, attestation required): its operator registers the instance's public key (``authority instance
add``); the instance fetches short-lived Client Attestation JWTs from the authority; the AS trusts the authority as
Client Attester (``hardened.mcp.stack_attestation``). Then, over real HTTP:

1. the hardened (non-attested) agent asks for ``trades:audit``, the ``attested`` scope: ``invalid_scope``;
2. the attested agent's software without attestation headers at PAR: ``invalid_client_attestation``;
3. with attestation: the AS demands a challenge (``use_attestation_challenge``), the agent retries with it, gets
   ``trades:audit`` and calls ``list-trades`` with that token;
4. a PoP without the challenge is answered with one; the PoP signed with it is accepted; the same PoP again is
   refused (its ``jti`` is single use, ABCA §7.2 step 5).
"""

from __future__ import annotations

import secrets
from typing import Any, Protocol

import httpx

from hardened.client.assertion import assertion_params
from hardened.client.attestation import build_client_attestation_pop
from hardened.clock import SystemClock
from hardened.core.attestation import ATTESTATION_HEADER, CHALLENGE_HEADER, POP_HEADER
from hardened.core.dpop import build_dpop_proof
from hardened.errors import InvalidClientAttestation, InvalidScope
from hardened.jose import SigningKey
from hardened.mcp.agent import AgentCredentials, HardenedAgent, Registrations
from hardened.mcp.agent_attestation import AgentAttestation, attestation_error
from hardened.mcp.agent_auth import mcp_session
from hardened.mcp.browser import HeadlessBrowser
from hardened.mcp.stack import Stack

__all__ = ["ATTESTED_SCOPE", "AttestedAgent", "enrol_attested_agent", "run_attested_steps"]

ATTESTED_SCOPE = "trades:audit"
SOFTWARE_ID = "trade-agent-attested"
INSTANCE_ID = "trade-agent-eu-1"


class Steps(Protocol):
    def line(self, ok: bool, name: str, detail: str) -> None: ...

    async def run(self, name: str, step: Any) -> Any: ...


class AttestedAgent:
    """What the attested instance holds: its credentials (statement of the attested software) and attestation."""

    def __init__(self, credentials: AgentCredentials, attestation: AgentAttestation) -> None:
        self.credentials, self.attestation = credentials, attestation


def enrol_attested_agent(stack: Stack, redirect_uri: str, *, org_id: str = "acme-agents") -> AttestedAgent:
    """The authority's operator: the attested software, its instance's public key, a signed statement."""
    assertion_key, instance_key = SigningKey.generate("ES256"), SigningKey.generate("ES256")
    admin = {"Authorization": f"Bearer {stack.admin_token}"}
    with httpx.Client(base_url=stack.authority_url, headers=admin, timeout=10) as http:
        org = http.post("/admin/organisations", json={"org_id": org_id, "name": "Acme Agents Ltd",
                                                        "jurisdiction": "GB"})
        if org.status_code not in (200, 201, 409):
            org.raise_for_status()
        software = http.post("/admin/software", json={
            "org_id": org_id, "software_id": SOFTWARE_ID, "client_name": "Acme attested trade agent",
            "redirect_uris": [redirect_uri], "jwks": {"keys": [assertion_key.public_jwk()]},
            "scope": f"trades:read trades:write {ATTESTED_SCOPE}", "grant_types": ["authorization_code",
                                                                                  "refresh_token"],
            "hardened_tier": "attested", "attestation_required": True})
        instance = http.post(f"/admin/software/{SOFTWARE_ID}/instances",
                             json={"instance_id": INSTANCE_ID, "jwk": instance_key.public_jwk()})
        signed = http.post(f"/admin/software/{SOFTWARE_ID}/statements", json={"ttl": 3600})
        for response in (software, instance, signed):
            response.raise_for_status()
        endpoint = http.get("/.well-known/authority-configuration").json()["attestation_endpoint"]
    credentials = AgentCredentials(assertion_key, SigningKey.generate("ES256"), signed.json()["software_statement"],
                                   redirect_uri)
    return AttestedAgent(credentials, AgentAttestation(instance_key, INSTANCE_ID, endpoint))


def _agent(stack: Stack, enrolled: AttestedAgent, registrations: Registrations, steps: Steps, *,
           attested: bool) -> HardenedAgent:
    return HardenedAgent(stack.mcp_url, enrolled.credentials, HeadlessBrowser(stack.username, stack.password),
                         registrations=registrations, attestation=enrolled.attestation if attested else None,
                         on_step=lambda name, detail: steps.line(True, "attested agent: " + name, detail))


async def _hardened_agent_refused(agent: HardenedAgent) -> str:
    try:
        await agent.authorize(["trades:read", ATTESTED_SCOPE])
    except InvalidScope:
        return f"the hardened agent's request for {ATTESTED_SCOPE} refused (invalid_scope)"
    raise AssertionError(f"the hardened agent obtained {ATTESTED_SCOPE}")


async def _without_attestation(agent: HardenedAgent) -> str:
    try:
        await agent.authorize(["trades:read", ATTESTED_SCOPE])
    except InvalidClientAttestation:
        return "PAR without attestation refused (invalid_client_attestation)"
    raise AssertionError("the attested software got a request through without attestation")


async def _with_attestation(agent: HardenedAgent) -> str:
    tokens = await agent.authorize(["trades:read", ATTESTED_SCOPE])
    if ATTESTED_SCOPE not in tokens.scopes:
        raise AssertionError(f"granted {sorted(tokens.scopes)}")
    async with mcp_session(agent, mode="legacy") as client:
        read = await client.call_tool("list-trades", {})
    trades = (read.structured_content or {}).get("trades", [])
    if read.is_error or not trades:
        raise AssertionError("list-trades failed with the attested token")
    return f"granted '{' '.join(sorted(tokens.scopes))}'; list-trades returned {len(trades)} trades"


async def _par(http: httpx.AsyncClient, agent: HardenedAgent, url: str, headers: dict[str, str]) -> httpx.Response:
    """A raw PAR request with a fresh client assertion and DPoP proof, and the given attestation headers."""
    now = SystemClock().now()
    proof = build_dpop_proof(agent.credentials.dpop_key, htm="POST", htu=url, iat=now, jti=secrets.token_urlsafe(16))
    form = {"response_type": "code", "client_id": agent.client_id or "", "scope": "trades:read",
            "redirect_uri": agent.credentials.redirect_uri, "state": secrets.token_urlsafe(16),
            "code_challenge": secrets.token_urlsafe(32)[:43], "code_challenge_method": "S256",
            "resource": agent.mcp_url,
            **assertion_params(agent.credentials.assertion_key, agent.client_id or "", agent.issuer, now=now)}
    return await http.post(url, data=form, headers={**headers, "DPoP": proof})


async def _challenge_and_replay(agent: HardenedAgent, attestation: AgentAttestation) -> str:
    """ABCA §7.4 and §7.2 step 5: no challenge -> one is given; with it -> accepted; the same PoP again -> refused."""
    assert agent.as_metadata is not None and agent.client_id is not None
    url = agent.as_metadata["pushed_authorization_request_endpoint"]
    jwt = await attestation.attestation(agent.client_id)
    key, now = attestation.instance_key, SystemClock().now()
    async with httpx.AsyncClient(timeout=10) as http:
        bare = build_client_attestation_pop(key, audience=agent.issuer, now=now)
        first = await _par(http, agent, url, {ATTESTATION_HEADER: jwt, POP_HEADER: bare})
        challenge = first.headers.get(CHALLENGE_HEADER)
        if attestation_error(first) != "use_attestation_challenge" or not challenge:
            raise AssertionError(f"a PoP without challenge answered {first.status_code}")
        pop = build_client_attestation_pop(key, audience=agent.issuer, now=now, challenge=challenge)
        accepted = await _par(http, agent, url, {ATTESTATION_HEADER: jwt, POP_HEADER: pop})
        replayed = await _par(http, agent, url, {ATTESTATION_HEADER: jwt, POP_HEADER: pop})
    if accepted.status_code != 201 or attestation_error(replayed) != "invalid_client_attestation":
        raise AssertionError(f"with the challenge {accepted.status_code}, replayed {replayed.status_code}")
    return ("no challenge -> use_attestation_challenge with a challenge header; PoP with it accepted; "
            "the same PoP replayed refused (invalid_client_attestation)")


async def run_attested_steps(stack: Stack, steps: Steps, redirect_uri: str, hardened: HardenedAgent) -> None:
    """The attested steps (module doc), appended after the DPoP demo; ``hardened`` is the demo's first agent."""
    enrolled = enrol_attested_agent(stack, redirect_uri)
    steps.line(True, "authority: attested software", f"{SOFTWARE_ID} (tier attested, attestation required); "
               f"instance {INSTANCE_ID} registered with its public key")
    await steps.run(f"attested: hardened agent asks for {ATTESTED_SCOPE}", lambda: _hardened_agent_refused(hardened))
    registrations = Registrations()
    bare = _agent(stack, enrolled, registrations, steps, attested=False)
    await steps.run("attested: no attestation", lambda: _without_attestation(bare))
    agent = _agent(stack, enrolled, registrations, steps, attested=True)
    await steps.run("attested: with attestation", lambda: _with_attestation(agent))
    if agent.client_id is not None:
        await steps.run("attested: challenge, replayed PoP",
                        lambda: _challenge_and_replay(agent, enrolled.attestation))
