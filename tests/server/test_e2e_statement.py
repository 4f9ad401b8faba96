"""The whole story over real HTTP on loopback: a running authority signs the agent's software statement; the AS
(uvicorn) registers the agent with it (status list fetched from the authority), then PAR with DPoP -> authorize ->
login and consent -> token with private_key_jwt and DPoP -> signed introspection with cnf.jkt -> token exchange."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("authority.service")

from authority.app import create_app as create_authority_app
from authority.models import OrganisationIn, SoftwareIn
from authority.service import Authority
from hardened.adapters.authority_status import HTTPStatusList
from hardened.clock import SystemClock
from hardened.core.software_statement import TrustedAuthority
from hardened.jose import KeySet
from hardened.server.statements import statement_verifier
from tests.server.live import live_server
from tests.server.test_e2e_live import live_as, run_flow
from tests.server.world import REDIRECT


@pytest.mark.slow
@pytest.mark.requirement("HP-DCR-01", "HP-DCR-02", "HP-AS-13", "HP-TE-04")
def test_registration_with_a_statement_from_a_running_authority_then_full_flow(keys, tmp_path) -> None:
    made: dict = {}

    def authority_app(base: str):
        made["authority"], _ = Authority.init(tmp_path / "authority", issuer=base, clock=SystemClock())
        return create_authority_app(made["authority"])

    with live_server(authority_app) as authority_url:
        authority: Authority = made["authority"]
        authority.create_organisation(OrganisationIn(org_id="acme", name="Acme Trading Ltd", jurisdiction="GB"),
                                      actor="test")
        authority.add_software(SoftwareIn.model_validate({
            "org_id": "acme", "software_id": "acme-agent", "client_name": "Acme Agent", "redirect_uris": [REDIRECT],
            "jwks": {"keys": [keys.agent.public_jwk()]}, "scope": "trades:read trades:write",
            "grant_types": ["authorization_code", "refresh_token"]}), actor="test")
        _, statement = authority.sign("acme-agent", ttl=None, actor="test")
        jwks = httpx.get(authority.jwks_uri).json()
        trusted = [TrustedAuthority(authority_url, KeySet.from_jwks(jwks))]
        verifier = statement_verifier(trusted, status=HTTPStatusList(httpx.Client(), authorities=trusted))
        with live_as(keys, tmp_path, statement_verifier=verifier, baseline=False) as base, \
                httpx.Client(base_url=base, follow_redirects=False) as http:
            r = http.post("/register", json={"software_statement": statement, "redirect_uris": [REDIRECT]})
            assert r.status_code == 201, r.text
            registered = r.json()
            assert registered["software_id"] == "acme-agent" and registered["hardened_tier"] == "hardened"
            again = http.post("/register", json={"software_statement": statement})
            assert again.status_code == 400 and again.json()["error"] == "invalid_software_statement"
            at = run_flow(http, keys, base, registered["client_id"])
            assert at["client_id"] == "mcp-server" and at["sub"] == "user-alice"
