"""Fixtures for the authority: a fixed clock, an initialised data folder, a real uvicorn server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from authority_live import loopback_socket, serve

from authority.app import create_app
from authority.models import OrganisationIn, SoftwareIn
from authority.service import Authority
from hardened.clock import FixedClock, SystemClock


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def software_spec(org_id: str = "acme", software_id: str = "acme-agent", **extra) -> SoftwareIn:
    body = {"org_id": org_id, "software_id": software_id, "client_name": "Acme Agent",
            "redirect_uris": ["https://agent.acme.example/cb"], "jwks_uri": "https://agent.acme.example/jwks.json",
            "scope": "trade:read trade:write", **extra}
    return SoftwareIn.model_validate(body)


@pytest.fixture
def authority(tmp_path: Path, clock: FixedClock) -> Iterator[Authority]:
    """An initialised authority with one organisation (acme) and one software (acme-agent)."""
    auth, _ = Authority.init(tmp_path / "data", issuer="https://authority.example", clock=clock)
    auth.create_organisation(OrganisationIn(org_id="acme", name="Acme Trading Ltd", jurisdiction="GB"), actor="t")
    auth.add_software(software_spec(), actor="t")
    yield auth
    auth.close()


@dataclass
class Live:
    url: str
    token: str
    authority: Authority


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """A real authority service on 127.0.0.1 (wall clock: real HTTP clients and caches read it)."""
    sock = loopback_socket()
    issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    auth, token = Authority.init(tmp_path / "live", issuer=issuer, clock=SystemClock())
    with serve(create_app(auth), sock) as url:
        yield Live(url, token, auth)
    auth.close()
