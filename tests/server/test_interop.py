"""Interop: requests-oauth2client (an independent OAuth 2 client) against our live server: registration with a
software statement (plain requests: the library has no RFC 7591 client), discovery, PAR, PKCE, private_key_jwt
and DPoP, with RFC 9207 iss validated by the client."""

from __future__ import annotations

import importlib.util
import time

import httpx
import pytest
import requests
from jwskate import Jwk
from requests_oauth2client import DPoPKey, OAuth2Client, PrivateKeyJwt

from hardened.client.assertion import assertion_params
from hardened.clock import SystemClock
from tests.server.test_e2e_live import browser_consent, live_as
from tests.server.world import MCP, REDIRECT

HAS_AUTHORITY = importlib.util.find_spec("hardened.core.software_statement") is not None


def _oauth2client_flow(keys, base: str, client_id: str) -> None:
    private = Jwk.from_pem(keys.agent.private_pem()).with_kid_thumbprint()
    assert private.kid == keys.agent.kid
    client = OAuth2Client.from_discovery_endpoint(
        url=base + "/.well-known/oauth-authorization-server", issuer=base,
        auth=PrivateKeyJwt(client_id, private, alg="ES256", aud=base), redirect_uri=REDIRECT,
        dpop_bound_access_tokens=True, testing=True)  # testing: allows http on loopback
    dpop_key = DPoPKey.generate(alg="ES256")
    request = client.authorization_request(scope="trades:read", resource=MCP, dpop_key=dpop_key)
    pushed = client.pushed_authorization_request(request)
    with httpx.Client(base_url=base, follow_redirects=False) as browser:
        answer = browser_consent(browser, str(pushed.uri))
    callback = REDIRECT + "?" + "&".join(f"{k}={v[0]}" for k, v in answer.items())
    token = client.authorization_code(request.validate_callback(callback))
    assert token.token_type.lower() == "dpop" and len(token.access_token) == 43
    info = httpx.post(base + "/introspect", data={
        "token": token.access_token, **assertion_params(keys.rs, "mcp-server", base, now=time.time())}).json()
    assert info["active"] is True and info["cnf"]["jkt"] == dpop_key.private_key.thumbprint()
    assert info["client_id"] == client_id


@pytest.mark.slow
@pytest.mark.requirement("HP-PAR-01", "HP-TOK-08", "HP-TOK-04")
def test_requests_oauth2client_par_pkce_private_key_jwt_dpop(keys, tmp_path) -> None:
    with live_as(keys, tmp_path) as base:
        _oauth2client_flow(keys, base, "agent-1")


@pytest.mark.slow
@pytest.mark.skipif(not HAS_AUTHORITY, reason="needs the software statement verifier (authority component)")
@pytest.mark.requirement("HP-DCR-01")
def test_requests_registration_with_statement_then_oauth2client(keys, tmp_path) -> None:
    from tests.server.statements import StatementAuthority
    authority = StatementAuthority(keys, SystemClock())
    with live_as(keys, tmp_path, statement_verifier=authority.verifier(), baseline=False) as base:
        r = requests.post(base + "/register", json={"software_statement": authority.statement()}, timeout=10)
        assert r.status_code == 201, r.text
        _oauth2client_flow(keys, base, r.json()["client_id"])
