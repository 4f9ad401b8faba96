"""Hardened-tier registration with software statements (RFC 7591 §2.3, §3.2.2; RFC 7592)."""

from __future__ import annotations

import pytest

pytest.importorskip("hardened.core.software_statement")

from tests.server.statements import StatementAuthority
from tests.server.world import REDIRECT, Keys, World


class Setup:
    def __init__(self, keys: Keys, **changes) -> None:
        from hardened.clock import FixedClock
        clock = FixedClock()
        self.authority = StatementAuthority(keys, clock)
        self.world = World(keys, clock, statement_verifier=self.authority.verifier(), **changes)

    def register(self, body: dict | None = None, **claims):
        return self.world.http.post("/register", json={"software_statement": self.authority.statement(**claims),
                                                       **(body or {})})


@pytest.fixture
def setup(keys: Keys) -> Setup:
    return Setup(keys, baseline=False)


@pytest.mark.requirement("HP-DCR-01", "HP-DCR-05")
def test_statement_registers_a_hardened_private_key_jwt_dpop_client(setup: Setup) -> None:
    r = setup.register({"client_name": "Trading Agent"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["hardened_tier"] == "hardened" and body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["dpop_bound_access_tokens"] is True and body["redirect_uris"] == [REDIRECT]
    assert body["software_id"] == "sw-trading" and body["scope"] == "trades:read trades:write"
    record = setup.world.store.get_client(body["client_id"])
    assert record.metadata.org_name == "Acme Trading Ltd" and record.metadata.authority == "https://authority.example"


@pytest.mark.requirement("HP-DCR-01")
def test_untrusted_malformed_or_expired_statements_refused(setup: Setup, keys: Keys) -> None:
    other = StatementAuthority(keys, setup.world.clock, issuer="https://rogue.example")
    for statement in (other.statement(), "not.a.jwt", setup.authority.statement(exp=int(setup.world.clock.now()) - 1)):
        r = setup.world.http.post("/register", json={"software_statement": statement})
        assert r.status_code == 400 and r.json()["error"] == "invalid_software_statement", r.text


@pytest.mark.requirement("HP-DCR-02")
def test_revoked_statement_is_unapproved(setup: Setup) -> None:
    setup.authority.revoked.add(7)
    r = setup.register()
    assert r.status_code == 400 and r.json()["error"] == "unapproved_software_statement"


@pytest.mark.requirement("HP-DCR-03")
def test_contradicting_redirect_uris(setup: Setup) -> None:
    r = setup.register({"redirect_uris": ["https://evil.example/cb"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_redirect_uri"


@pytest.mark.requirement("HP-DCR-04")
@pytest.mark.parametrize("body", [{"scope": "trades:read"}, {"token_endpoint_auth_method": "none"},
                                  {"client_name": "Someone else"}])
def test_contradicting_metadata(setup: Setup, body) -> None:
    r = setup.register(body)
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"


@pytest.mark.requirement("HP-DCR-05")
@pytest.mark.parametrize("claims", [{"sender_constraint": "mtls"}, {"token_endpoint_auth_method": "tls_client_auth"}])
def test_statement_outside_the_offered_profile(setup: Setup, claims) -> None:
    r = setup.register(**claims)
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"


@pytest.mark.requirement("HP-DCR-06")
def test_statement_jti_registers_once(setup: Setup, keys: Keys) -> None:
    statement = setup.authority.statement()
    first = setup.world.http.post("/register", json={"software_statement": statement})
    second = setup.world.http.post("/register", json={"software_statement": statement})
    assert first.status_code == 201 and second.status_code == 400
    assert second.json()["error"] == "invalid_software_statement"
    relaxed = Setup(keys, baseline=False, statement_reuse=True)
    statement = relaxed.authority.statement()
    for _ in range(2):
        assert relaxed.world.http.post("/register", json={"software_statement": statement}).status_code == 201


@pytest.mark.requirement("HP-DCR-08")
def test_update_with_fresh_statement_only(setup: Setup) -> None:
    created = setup.register().json()
    path, token = f"/register/{created['client_id']}", created["registration_access_token"]
    fresh = setup.authority.statement(client_name="Trading Agent 2")
    r = setup.world.http.put(path, json={"client_id": created["client_id"], "software_statement": fresh},
                             headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["client_name"] == "Trading Agent 2"
    token = r.json()["registration_access_token"]
    r = setup.world.http.put(path, json={"client_id": created["client_id"], "software_statement": fresh},
                             headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_software_statement"  # spent
    other = setup.authority.statement(software_id="other-software")
    r = setup.world.http.put(path, json={"client_id": created["client_id"], "software_statement": other},
                             headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"


def test_registered_client_completes_the_flow(setup: Setup) -> None:
    client_id = setup.register().json()["client_id"]
    w = setup.world
    r = w.par(auth=w.auth(client_id), client_id=client_id)
    assert r.status_code == 201, r.text
    answer = w.login_and_consent({"client_id": client_id, "request_uri": r.json()["request_uri"]})
    token = w.token(answer["code"][0], auth=w.auth(client_id))
    assert token.status_code == 200 and token.json()["token_type"] == "DPoP"


@pytest.mark.requirement("HP-DCR-08")
def test_update_needs_a_statement_of_the_registering_authority(keys: Keys) -> None:
    """A second trusted authority cannot re-key a client that the first one vouched for (same software_id)."""
    from hardened.adapters.authority_status import StatusListChecker
    from hardened.clock import FixedClock
    from hardened.server.statements import statement_verifier

    clock = FixedClock()
    first = StatementAuthority(keys, clock)
    second = StatementAuthority(keys, clock, issuer="https://second-authority.example")
    by_uri = {first.uri: first, second.uri: second}
    status = StatusListChecker(lambda uri: by_uri[uri].status_list(uri), clock=clock, max_age=1,
                               authorities=[first.auth.trusted(), second.auth.trusted()])
    world = World(keys, clock, baseline=False, statement_verifier=statement_verifier(
        [first.auth.trusted(), second.auth.trusted()], status=status))
    created = world.http.post("/register", json={"software_statement": first.statement()}).json()
    path, token = f"/register/{created['client_id']}", created["registration_access_token"]
    foreign = second.statement(jwks={"keys": [keys.other_rs.public_jwk()]})
    r = world.http.put(path, json={"client_id": created["client_id"], "software_statement": foreign},
                       headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"
    assert world.store.get_client(created["client_id"]).metadata.jwks == {"keys": [keys.agent.public_jwk()]}
    r = world.http.put(path, json={"client_id": created["client_id"], "software_statement": first.statement()},
                       headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
