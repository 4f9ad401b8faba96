"""Metadata (RFC 8414), JWKS rotation and baseline registration with management (RFC 7591/7592)."""

from __future__ import annotations

import pytest

from hardened.core.access_token import token_hash
from tests.server.world import ISSUER, World

BASELINE = {"redirect_uris": ["http://127.0.0.1:7777/cb"], "client_name": "Stock client", "scope": "tools:read"}


@pytest.mark.requirement("HP-AS-01")
def test_metadata_names_every_endpoint_and_capability(world: World) -> None:
    meta = world.http.get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == ISSUER
    for name in ("authorization_endpoint", "token_endpoint", "pushed_authorization_request_endpoint",
                 "registration_endpoint", "introspection_endpoint", "revocation_endpoint", "jwks_uri"):
        assert meta[name].startswith(ISSUER + "/")
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert set(meta["dpop_signing_alg_values_supported"]) <= {"ES256", "PS256", "EdDSA"}
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert "require_pushed_authorization_requests" in meta


@pytest.mark.requirement("HP-AS-01")
def test_hardened_only_metadata_requires_par(keys) -> None:
    meta = World(keys, baseline=False).http.get("/.well-known/oauth-authorization-server").json()
    assert meta["require_pushed_authorization_requests"] is True
    assert meta["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]


@pytest.mark.requirement("HP-AS-02")
def test_jwks_publishes_current_and_previous_keys_public_only(world: World) -> None:
    keys = world.http.get("/jwks").json()["keys"]
    assert [k["kid"] for k in keys] == [world.keys.as_key.kid, world.keys.old_as_key.kid]
    assert not any("d" in k for k in keys)


def _register(world: World, body: dict):
    return world.http.post("/register", json=body)


@pytest.mark.requirement("HP-DCR-07")
def test_baseline_registration_public_client_baseline_scopes_only(world: World) -> None:
    r = _register(world, BASELINE)
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_endpoint_auth_method"] == "none" and body["hardened_tier"] == "baseline"
    assert body["scope"] == "tools:read"
    for bad in ({**BASELINE, "scope": "trades:read"}, {**BASELINE, "token_endpoint_auth_method": "private_key_jwt"}):
        r = _register(world, bad)
        assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"
    r = _register(world, {**BASELINE, "redirect_uris": ["http://evil.example/cb"]})
    assert r.json()["error"] == "invalid_redirect_uri"


@pytest.mark.requirement("HP-DCR-07", "HP-DCR-01", "HP-DEC-04")
def test_hardened_only_deployment_requires_a_statement(keys) -> None:
    world = World(keys, baseline=False)
    r = _register(world, BASELINE)
    assert r.status_code == 400 and r.json()["error"] == "invalid_software_statement"


@pytest.mark.requirement("HP-DCR-01")
def test_statement_without_trusted_authorities_refused(world: World) -> None:
    r = _register(world, {**BASELINE, "software_statement": "a.b.c"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_software_statement"


@pytest.mark.requirement("HP-DCR-08")
def test_management_with_hashed_registration_token(world: World) -> None:
    created = _register(world, BASELINE).json()
    token, uri = created["registration_access_token"], created["registration_client_uri"]
    path = uri.removeprefix(ISSUER)
    record = world.store.get_client(created["client_id"])
    assert record.registration_token_hash == token_hash(token) and token not in repr(record)
    read = world.http.get(path, headers={"Authorization": f"Bearer {token}"})
    assert read.json()["client_id"] == created["client_id"]
    for header in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {token}"}):
        r = world.http.get(path, headers=header)
        assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    r = world.http.get("/register/unknown", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    r = world.http.put(path, json={**BASELINE, "client_id": created["client_id"], "client_name": "Renamed"},
                       headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["client_name"] == "Renamed"
    assert world.http.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 401  # rotated
    new = r.json()["registration_access_token"]
    r = world.http.put(path, json={**BASELINE, "client_id": "someone-else"}, headers={"Authorization": f"Bearer {new}"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"


@pytest.mark.requirement("HP-DCR-08")
def test_hardened_client_update_needs_a_fresh_statement(world: World) -> None:
    world.store.replace_client(
        world.store.get_client("agent-1").__class__("agent-1", world.store.get_client("agent-1").metadata,
                                                    token_hash("reg-token"), 0.0),
        statement_jti=None, statement_exp=0)
    r = world.http.put("/register/agent-1", json={"client_id": "agent-1", "client_name": "x"},
                       headers={"Authorization": "Bearer reg-token"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_software_statement"


@pytest.mark.requirement("HP-DCR-09")
def test_delete_revokes_tokens(world: World) -> None:
    tokens = world.tokens()
    world.store.replace_client(
        world.store.get_client("agent-1").__class__("agent-1", world.store.get_client("agent-1").metadata,
                                                    token_hash("reg-token"), 0.0),
        statement_jti=None, statement_exp=0)
    r = world.http.delete("/register/agent-1", headers={"Authorization": "Bearer reg-token"})
    assert r.status_code == 204
    assert world.introspect(tokens["access_token"]).json() == {"active": False}
    assert world.http.get("/register/agent-1", headers={"Authorization": "Bearer reg-token"}).status_code == 401


def test_register_body_must_be_a_json_object(world: World) -> None:
    for body, ctype in ((b"[]", "application/json"), (b"{", "application/json"), (b"{}", "text/plain"),
                        (b'{"a": NaN}', "application/json")):
        r = world.http.post("/register", content=body, headers={"Content-Type": ctype})
        assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"
