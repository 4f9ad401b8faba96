"""The mutual-TLS agent's own rules (RFC 8705 §2, §3.3, §5) and the authority's tls_client_auth statements."""

from __future__ import annotations

import asyncio

import httpx
import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from authority.models import SoftwareIn
from hardened.client.mtls import ClientCertificate
from hardened.errors import InvalidRequest
from hardened.jose import SigningKey
from hardened.mcp.agent import AgentCredentials, TokenSet
from hardened.mcp.agent_mtls import MTLSAgent, MTLSAgentAuth

ISSUER = "https://127.0.0.1:9443"
MCP = "https://127.0.0.1:9444/mcp"
SUBJECTS = {"tls_client_auth_subject_dn": "CN=agent,O=Example", "tls_client_auth_san_dns": "agent.example",
            "tls_client_auth_san_uri": "https://agents.example/a1", "tls_client_auth_san_ip": "10.0.0.1",
            "tls_client_auth_san_email": "ops@agents.example"}
METHODS = ["private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"]


def _as_metadata(**changes: object) -> dict:
    meta = {"issuer": ISSUER, "token_endpoint": ISSUER + "/token", "registration_endpoint": ISSUER + "/register",
            "pushed_authorization_request_endpoint": ISSUER + "/par", "authorization_endpoint": ISSUER + "/authorize",
            "tls_client_certificate_bound_access_tokens": True,
            "mtls_endpoint_aliases": {"token_endpoint": ISSUER + "/mtls/token",
                                      "pushed_authorization_request_endpoint": "https://evil.example/par"}}
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not None}


def _agent(meta: dict, live_pki) -> MTLSAgent:
    """An agent against an in-process AS (httpx MockTransport) serving ``meta`` and the resource metadata."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/.well-known/oauth-protected-resource"):
            return httpx.Response(200, json={"resource": MCP, "authorization_servers": [ISSUER]})
        return httpx.Response(200, json=meta)

    key = SigningKey.generate("ES256")
    credentials = AgentCredentials(key, key, "statement", "http://127.0.0.1:8765/cb")
    paths = live_pki.paths["good"]
    cert = ClientCertificate(paths["chain"], paths["key"], live_pki.anchors_file)
    return MTLSAgent(MCP, credentials, lambda url, redirect: None, certificate=cert,  # type: ignore[arg-type]
                     http=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


@pytest.mark.requirement("HP-MTLS-25")
def test_agent_takes_only_same_origin_mtls_aliases_and_sends_client_id_alone(live_pki) -> None:
    agent = _agent(_as_metadata(), live_pki)
    asyncio.run(agent.discover())
    assert agent.as_metadata["token_endpoint"] == ISSUER + "/mtls/token"  # type: ignore[index]
    assert agent.as_metadata["pushed_authorization_request_endpoint"] == ISSUER + "/par"  # type: ignore[index]
    agent.client_id = "c-1"
    assert agent._assertion() == {"client_id": "c-1"} and agent._request_auth() is None


@pytest.mark.requirement("HP-MTLS-25")
@pytest.mark.parametrize("value", [None, False, "true"])
def test_agent_refuses_an_as_without_certificate_bound_tokens(live_pki, value) -> None:
    agent = _agent(_as_metadata(tls_client_certificate_bound_access_tokens=value), live_pki)
    with pytest.raises(InvalidRequest):
        asyncio.run(agent.discover())


@pytest.mark.requirement("HP-MTLS-25")
@pytest.mark.parametrize("kind", ["DPoP", "dpop", None, 7])
def test_agent_refuses_a_token_that_is_not_bearer(live_pki, kind) -> None:
    agent = _agent(_as_metadata(), live_pki)
    with pytest.raises(InvalidRequest):
        agent._token_set({"access_token": "t", "token_type": kind}, "trades:read")
    assert agent._token_set({"access_token": "t", "token_type": "Bearer"}, "trades:read").access_token == "t"


@pytest.mark.requirement("HP-MTLS-25")
def test_mcp_requests_carry_the_token_as_bearer_without_dpop(live_pki) -> None:
    agent = _agent(_as_metadata(), live_pki)
    agent.tokens = TokenSet("tok", frozenset({"trades:read"}), expires_at=agent.clock.now() + 300)
    request = httpx2.Request("POST", MCP)
    MTLSAgentAuth(agent)._sign(request)
    assert request.headers["Authorization"] == "Bearer tok" and "DPoP" not in request.headers


def _software(method: str, subjects: dict[str, str]) -> SoftwareIn:
    return SoftwareIn.model_validate({"org_id": "acme", "software_id": "agent", "client_name": "Agent",
                                      "redirect_uris": ["https://agent.example/cb"], "scope": "trades:read",
                                      "token_endpoint_auth_method": method, **subjects})


@pytest.mark.requirement("HP-MTLS-27")
@given(st.sampled_from(METHODS), st.sets(st.sampled_from(sorted(SUBJECTS))))
def test_authority_signs_at_most_one_subject_and_only_with_tls_client_auth(method, names) -> None:
    subjects = {n: SUBJECTS[n] for n in names}
    valid = len(names) == 0 or (len(names) == 1 and method == "tls_client_auth")
    if not valid:
        with pytest.raises(ValidationError):
            _software(method, subjects)
        return
    metadata = _software(method, subjects).metadata()
    assert {k: v for k, v in metadata.items() if k.startswith("tls_client_auth_")} == subjects
    assert metadata["token_endpoint_auth_method"] == method
