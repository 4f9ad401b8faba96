"""Slow work (scrypt at sign-in, statement status fetches at registration) runs off the event loop.

A blocking hook waits until another request has been answered by the same app; if the slow work ran on the event
loop, that other request could not be served and the hook would give up (no sleeping: events with a timeout).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import hardened.server.routes.interaction as interaction_route
from hardened.errors import InvalidSoftwareStatement
from tests.server.world import CSRF, PASSWORD, World

WAIT = 5.0


class Gate:
    """Blocks the slow call until the main thread has been served by the same event loop."""

    def __init__(self) -> None:
        self.entered, self.released = threading.Event(), threading.Event()
        self.served_meanwhile: bool | None = None

    def hold(self) -> None:
        self.entered.set()
        self.served_meanwhile = self.released.wait(WAIT)

    def probe(self, world: World, slow: Callable[[], Any]) -> None:
        result: list[Any] = []
        worker = threading.Thread(target=lambda: result.append(slow()))
        worker.start()
        assert self.entered.wait(WAIT)
        assert world.http.get("/jwks").status_code == 200  # served while the slow call is still waiting
        self.released.set()
        worker.join(WAIT * 2)
        assert self.served_meanwhile is True
        assert result, "the slow request did not finish"


@pytest.mark.requirement("HP-AS-07")
def test_password_hashing_does_not_block_other_requests(world: World, monkeypatch) -> None:
    gate = Gate()
    real = interaction_route.verify_password

    def slow_verify(password: str, stored: str | None) -> bool:
        gate.hold()
        return real(password, stored)

    monkeypatch.setattr(interaction_route, "verify_password", slow_verify)
    with world.http:
        r = world.http.get("/authorize", params={"client_id": "agent-1",
                                                 "request_uri": world.par().json()["request_uri"]})
        location = r.headers["location"]
        csrf = CSRF.search(world.http.get(location).text).group(1)
        form = {"interaction": location.split("=", 1)[1], "csrf": csrf, "username": "alice", "password": PASSWORD}
        gate.probe(world, lambda: world.http.post("/login", data=form))


@pytest.mark.requirement("HP-DCR-02")
def test_statement_verification_does_not_block_other_requests(keys) -> None:
    gate = Gate()

    def slow_verifier(jwt: str, now: float):
        gate.hold()  # e.g. a status list fetched over HTTP
        raise InvalidSoftwareStatement("refused")

    world = World(keys, statement_verifier=slow_verifier)
    with world.http:
        gate.probe(world, lambda: world.http.post("/register", json={"software_statement": "a.b.c"}))


@pytest.mark.requirement("HP-AS-15")
def test_revocation_does_not_block_other_requests(world: World, monkeypatch) -> None:
    import hardened.server.routes.revoke as revoke_route

    gate = Gate()
    real = revoke_route.authenticate_client

    def slow_authenticate(*args: Any, **kwargs: Any):
        gate.hold()  # e.g. a contended SQLite write of the assertion jti
        return real(*args, **kwargs)

    monkeypatch.setattr(revoke_route, "authenticate_client", slow_authenticate)
    with world.http:
        gate.probe(world, lambda: world.http.post("/revoke", data={"token": "t" * 43, **world.auth()}))
