"""Fixtures for the authority: a fixed clock, an initialised data folder, a real uvicorn server on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from authority.app import create_app
from authority.models import OrganisationIn, SoftwareIn
from authority.service import Authority
from hardened.clock import FixedClock, SystemClock


class _Server(uvicorn.Server):
    """uvicorn that signals readiness with an Event (no polling, no sleep)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets=None) -> None:  # type: ignore[override]
        await super().startup(sockets=sockets)
        self.ready.set()


def loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(app, sock: socket.socket) -> Iterator[str]:
    """Run ``app`` on a real uvicorn server on ``sock`` (127.0.0.1, ephemeral port); yield its base URL."""
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert server.ready.wait(15), "server did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


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
