"""PAR (RFC 9126) at the endpoint: one negative test per check."""

from __future__ import annotations

import pytest

from tests.server.world import MCP, World


def _error(r) -> str:
    return r.json()["error"]


@pytest.mark.requirement("HP-PAR-04", "HP-TOK-11")
def test_par_answers_request_uri_expiring_under_600s(world: World) -> None:
    r = world.par()
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    assert 0 < r.json()["expires_in"] < 600 and r.json()["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")


@pytest.mark.requirement("HP-PAR-04")
def test_par_expires_in_over_600_refused_at_configuration() -> None:
    from hardened.core.par import PARPolicy
    with pytest.raises(ValueError):
        PARPolicy(expires_in=600)


@pytest.mark.requirement("HP-PAR-02")
def test_par_requires_client_authentication(world: World) -> None:
    r = world.par(auth={"client_id": "agent-1"})
    assert r.status_code == 401 and _error(r) == "invalid_client"
    r = world.par(auth=world.auth(key=world.keys.rs))  # signed with another key
    assert r.status_code == 401 and _error(r) == "invalid_client"


@pytest.mark.requirement("HP-PAR-05")
def test_par_without_dpop_binding_refused_for_dpop_client(world: World) -> None:
    r = world.par(dpop=False)
    assert r.status_code == 400 and _error(r) == "invalid_request"
    r = world.par(dpop=False, dpop_jkt=world.keys.agent_dpop.thumbprint)
    assert r.status_code == 201


@pytest.mark.requirement("HP-PAR-05")
def test_par_dpop_jkt_mismatching_proof_refused(world: World) -> None:
    r = world.par(dpop_jkt=world.keys.rs_dpop.thumbprint)
    assert r.status_code == 400 and _error(r) == "invalid_dpop_proof"


@pytest.mark.requirement("HP-PAR-06")
@pytest.mark.parametrize("resource", [None, "https://unknown.example/mcp", MCP + "/"])
def test_par_resource_required_and_known(world: World, resource) -> None:
    r = world.par(resource=resource)
    assert r.status_code == 400 and _error(r) == "invalid_target"


@pytest.mark.requirement("HP-PAR-07")
@pytest.mark.parametrize("uri", [None, "https://agent.example/cb/", "https://agent.example/cb?x=1",
                                 "https://evil.example/cb"])
def test_par_redirect_uri_required_and_exact(world: World, uri) -> None:
    r = world.par(redirect_uri=uri)
    assert r.status_code == 400 and _error(r) == "invalid_request"


@pytest.mark.requirement("HP-PAR-08")
@pytest.mark.parametrize("changes", [{"code_challenge_method": "plain"}, {"code_challenge": None},
                                     {"code_challenge_method": None}, {"code_challenge": "short"}])
def test_par_pkce_s256_only(world: World, changes) -> None:
    r = world.par(**changes)
    assert r.status_code == 400 and _error(r) == "invalid_request"


@pytest.mark.requirement("HP-AS-16")
@pytest.mark.parametrize("scope", ["admin", "nonexistent", "trades:read trades:read"])
def test_par_scope_above_tier_or_unknown_is_invalid_scope(world: World, scope) -> None:
    r = world.par(scope=scope)
    assert r.status_code == 400 and _error(r) == "invalid_scope"


@pytest.mark.requirement("HP-PAR-03")
def test_par_refuses_request_uri_and_other_client_id(world: World) -> None:
    assert _error(world.par(request_uri="urn:x")) == "invalid_request"
    auth = {**world.auth(), "client_id": "public-1"}
    assert _error(world.par(client_id="public-1", auth=auth)) == "invalid_client"


def test_par_response_type_must_be_code(world: World) -> None:
    r = world.par(response_type="token")
    assert r.status_code == 400 and _error(r) == "unsupported_response_type"


def test_par_refuses_repeated_parameters(world: World) -> None:
    body = "&".join(f"{k}={v}" for k, v in world.auth().items()) + "&scope=a&scope=b"
    r = world.http.post("/par", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and _error(r) == "invalid_request"


def test_resource_server_cannot_push_requests(world: World) -> None:
    r = world.par(auth=world.rs_auth(), client_id="mcp-server")
    assert r.status_code == 401 and _error(r) == "invalid_client"
