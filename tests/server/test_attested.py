"""The attested tier (DESIGN §2): client attestation beside private_key_jwt, bound to one instance (ABCA §9.3)."""

from __future__ import annotations

import pytest

from hardened.adapters.attesters import AttesterRegistry, TrustedAttesterVerifier
from hardened.adapters.memory import MemoryReplayCache
from hardened.client.attestation import build_client_attestation_pop
from hardened.core.attester import build_client_attestation
from hardened.jose import KeySet, SigningKey
from hardened.ports.as_stores import ClientRecord
from hardened.web.attestation import ATTESTATION_HEADER, POP_HEADER
from tests.server.world import ISSUER, Keys, World, agent_metadata

ATTESTER = "https://attester.example"


class Attested:
    def __init__(self, keys: Keys) -> None:
        self.attester = SigningKey.generate("ES256")
        verifier = TrustedAttesterVerifier(AttesterRegistry({ATTESTER: KeySet([self.attester.public_key])}),
                                           replay=MemoryReplayCache())
        self.world = World(keys, attestation_verifiers=(verifier,))
        meta = agent_metadata(keys, tier="attested", scopes=("trades:read", "admin"))
        self.world.store.add_client(ClientRecord("agent-att", meta, "0" * 64, 0.0), statement_jti=None,
                                    statement_exp=0)
        self.instance = SigningKey.generate("ES256")

    def auth(self, instance: SigningKey | None = None) -> dict[str, str]:
        """The ABCA §5.1 headers: the attestation of ``instance`` and a fresh PoP signed by it."""
        key = instance or self.instance
        now = self.world.clock.now()
        jwt = build_client_attestation(self.attester, issuer=ATTESTER, client_id="agent-att",
                                       instance_key=key.public_key, now=now)
        return {ATTESTATION_HEADER: jwt, POP_HEADER: build_client_attestation_pop(key, audience=ISSUER, now=now)}

    def par(self, attestation: dict[str, str] | None, scope: str = "admin"):
        w = self.world
        data = {**w.par_params("v" * 43, client_id="agent-att", scope=scope), **w.auth("agent-att")}
        return w.http.post("/par", data=data, headers={**w.proof("/par"), **(attestation or {})})

    def token(self, code: str, attestation: dict[str, str] | None):
        w = self.world
        data = {"grant_type": "authorization_code", "code": code, "code_verifier": "v" * 43,
                "redirect_uri": "https://agent.example/cb", **w.auth("agent-att")}
        return w.http.post("/token", data=data, headers={**w.proof("/token"), **(attestation or {})})

    def code(self) -> str:
        r = self.par(self.auth())
        assert r.status_code == 201, r.text
        return self.world.login_and_consent({"client_id": "agent-att",
                                             "request_uri": r.json()["request_uri"]})["code"][0]


@pytest.fixture
def attested(keys: Keys) -> Attested:
    return Attested(keys)


@pytest.mark.requirement("HP-AS-17", "HP-AS-16")
def test_attested_flow_bound_to_the_instance(attested: Attested) -> None:
    r = attested.token(attested.code(), attested.auth())
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "admin"
    info = attested.world.introspect(r.json()["access_token"]).json()
    assert info["tier"] == "attested" and info["active"] is True


@pytest.mark.requirement("HP-AS-17")
def test_attested_client_without_attestation_refused_at_par_and_token(attested: Attested) -> None:
    r = attested.par(None)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client_attestation"
    r = attested.token(attested.code(), None)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client_attestation"


@pytest.mark.requirement("HP-AS-17")
def test_code_of_one_instance_refused_for_another(attested: Attested) -> None:
    r = attested.token(attested.code(), attested.auth(SigningKey.generate("ES256")))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


@pytest.mark.requirement("HP-AS-16")
def test_attested_scope_refused_to_a_hardened_client(attested: Attested) -> None:
    r = attested.world.par(scope="admin")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


def test_metadata_advertises_attestation(attested: Attested) -> None:
    meta = attested.world.http.get("/.well-known/oauth-authorization-server").json()
    assert "client_attestation_pop_methods_supported" in meta


@pytest.mark.requirement("HP-AS-17")
def test_refresh_needs_the_same_instance(attested: Attested) -> None:
    w = attested.world
    refresh = attested.token(attested.code(), attested.auth()).json()["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": refresh, **w.auth("agent-att")}
    other = attested.auth(SigningKey.generate("ES256"))
    r = w.http.post("/token", data=data, headers={**w.proof("/token"), **other})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    data = {"grant_type": "refresh_token", "refresh_token": refresh, **w.auth("agent-att")}
    r = w.http.post("/token", data=data, headers={**w.proof("/token"), **attested.auth()})
    assert r.status_code == 200 and r.json()["scope"] == "admin"
