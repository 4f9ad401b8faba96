"""Fixtures for the authority acting as Client Attester: an offline authority with a fixed clock, a registered
instance, and a real uvicorn authority on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from authority.app import create_app
from authority.attester import AuthorityAttester
from authority.models import InstanceIn, OrganisationIn, SoftwareIn
from authority.service import Authority
from hardened.clock import FixedClock, SystemClock
from hardened.jose import SigningKey
from hardened.testing.attester import InstanceWorld
from tests.authority.authority_live import loopback_socket, serve


def software_spec(org_id: str = "acme", software_id: str = "acme-agent") -> SoftwareIn:
    return SoftwareIn.model_validate({
        "org_id": org_id, "software_id": software_id, "client_name": "Acme Agent",
        "redirect_uris": ["https://agent.acme.example/cb"], "jwks_uri": "https://agent.acme.example/jwks.json",
        "scope": "trade:read", "hardened_tier": "attested", "attestation_required": True})


def populate(auth: Authority) -> None:
    """Two organisations, each with one software: acme/acme-agent and globex/globex-agent."""
    for org, name in (("acme", "Acme Trading Ltd"), ("globex", "Globex Corp")):
        auth.create_organisation(OrganisationIn(org_id=org, name=name), actor="test")
        auth.add_software(software_spec(org, f"{org}-agent"), actor="test")


@pytest.fixture(scope="session", params=["ES256", "EdDSA"])
def world(request: pytest.FixtureRequest) -> InstanceWorld:
    return InstanceWorld.create(request.param)


@pytest.fixture(scope="session")
def instance_key() -> SigningKey:
    return SigningKey.generate("ES256")


@dataclass
class Offline:
    authority: Authority
    attester: AuthorityAttester
    clock: FixedClock
    key: SigningKey
    instance_id: str = "acme-agent-1"


@pytest.fixture
def offline(tmp_path: Path, instance_key: SigningKey) -> Iterator[Offline]:
    """An initialised authority (fixed clock) with acme-agent-1 registered for acme-agent."""
    clock = FixedClock()
    auth, _ = Authority.init(tmp_path / "data", issuer="https://authority.example", clock=clock)
    populate(auth)
    attester = AuthorityAttester(auth)
    attester.add_instance("acme-agent", InstanceIn(instance_id="acme-agent-1", jwk=instance_key.public_jwk()),
                          actor="test")
    yield Offline(auth, attester, clock, instance_key)
    auth.close()


@dataclass
class Live:
    url: str
    token: str
    authority: Authority


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """A real authority service on 127.0.0.1 (wall clock), populated, no instance yet."""
    sock = loopback_socket()
    issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    auth, token = Authority.init(tmp_path / "live", issuer=issuer, clock=SystemClock())
    populate(auth)
    with serve(create_app(auth), sock) as url:
        yield Live(url, token, auth)
    auth.close()
