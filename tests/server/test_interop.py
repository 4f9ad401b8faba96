"""Interop: requests-oauth2client (an independent OAuth 2 client) against our live server: discovery, PAR,
PKCE, private_key_jwt and DPoP, with RFC 9207 iss validated by the client."""

from __future__ import annotations

import httpx
import pytest
from jwskate import Jwk
from requests_oauth2client import DPoPKey, OAuth2Client, PrivateKeyJwt

from tests.server.test_e2e_live import browser_consent, live_as
from tests.server.world import MCP, REDIRECT


@pytest.mark.slow
@pytest.mark.requirement("HP-PAR-01", "HP-TOK-08", "HP-TOK-04")
def test_requests_oauth2client_par_pkce_private_key_jwt_dpop(keys, tmp_path) -> None:
    with live_as(keys, tmp_path) as base:
        private = Jwk.from_pem(keys.agent.private_pem()).with_kid_thumbprint()
        assert private.kid == keys.agent.kid
        client = OAuth2Client.from_discovery_endpoint(
            url=base + "/.well-known/oauth-authorization-server", issuer=base,
            auth=PrivateKeyJwt("agent-1", private, alg="ES256", aud=base), redirect_uri=REDIRECT,
            dpop_bound_access_tokens=True, testing=True)  # testing: allows http on loopback
        dpop_key = DPoPKey.generate(alg="ES256")
        request = client.authorization_request(scope="trades:read", resource=MCP, dpop_key=dpop_key)
        pushed = client.pushed_authorization_request(request)
        with httpx.Client(base_url=base, follow_redirects=False) as browser:
            answer = browser_consent(browser, str(pushed.uri))
        callback = REDIRECT + "?" + "&".join(f"{k}={v[0]}" for k, v in answer.items())
        response = request.validate_callback(callback)
        token = client.authorization_code(response)
        assert token.token_type.lower() == "dpop"
        assert token.access_token and len(token.access_token) == 43
        info = httpx.post(base + "/introspect", data={"token": token.access_token, **_rs_auth(keys, base)}).json()
        assert info["active"] is True and info["cnf"]["jkt"] == dpop_key.private_key.thumbprint()


def _rs_auth(keys, base: str) -> dict[str, str]:
    import time

    from hardened.client.assertion import assertion_params
    return assertion_params(keys.rs, "mcp-server", base, now=time.time())
