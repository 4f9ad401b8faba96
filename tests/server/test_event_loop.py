"""Slow work (scrypt at sign-in, statement status fetches at registration) runs off the event loop.

A blocking hook waits until another request has been answered by the same app; if the slow work ran on the event
loop, that other request could not be served and the hook would give up (no sleeping: events with a timeout).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import hardened.server.passwords as passwords
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
    real = passwords.verify_password

    def slow_verify(password: str, stored: str | None) -> bool:
        gate.hold()
        return real(password, stored)

    monkeypatch.setattr(passwords, "verify_password", slow_verify)
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


@pytest.mark.requirement("HP-AS-07")
def test_password_checks_wait_for_a_free_slot() -> None:
    """At most MAX_CONCURRENT_HASHES scrypt checks at a time: with every slot taken, a check waits its turn."""
    import anyio

    stored = passwords.hash_password("pw")

    async def main() -> list[bool]:
        limiter = passwords.password_limiter()
        assert limiter.total_tokens == passwords.MAX_CONCURRENT_HASHES
        holders = [object() for _ in range(passwords.MAX_CONCURRENT_HASHES)]
        for holder in holders:
            await limiter.acquire_on_behalf_of(holder)
        results: list[bool] = []
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: _append(results, passwords.check_password("pw", stored)))
            await anyio.wait_all_tasks_blocked()
            assert limiter.statistics().tasks_waiting == 1 and results == []
            for holder in holders:
                limiter.release_on_behalf_of(holder)
        return results

    async def _append(results: list[bool], check) -> None:
        results.append(await check)

    assert anyio.run(main) == [True]


@pytest.mark.requirement("HP-AS-11")
def test_authorization_requests_do_not_block_other_requests(world: World, monkeypatch) -> None:
    gate = Gate()
    real = world.store.purge_expired

    def slow_purge(now: float) -> int:
        gate.hold()  # e.g. a contended SQLite write lock
        return real(now)

    monkeypatch.setattr(world.store, "purge_expired", slow_purge)
    uri = world.par().json()["request_uri"]
    with world.http:
        gate.probe(world, lambda: world.http.get("/authorize", params={"client_id": "agent-1", "request_uri": uri}))
