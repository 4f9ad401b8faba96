"""End to end on loopback: a real uvicorn server with the attestation edge, and the agent over real HTTP (sync)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from hardened.client.attestation import ClientAttestationAuth, fetch_attestation_challenge
from hardened.clock import FixedClock
from hardened.testing.attestation import AttestationWorld
from hardened.web.attestation import ATTESTATION_HEADER, CHALLENGE_HEADER, POP_HEADER

from .test_attestation_web import make_app


@pytest.fixture(scope="module")
def server(world: AttestationWorld) -> Iterator[str]:
    app = make_app(world, require_challenge=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # connections queue in the kernel until uvicorn accepts them: no waiting loop needed
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.mark.slow
@pytest.mark.requirement("HP-ATT-18", "HP-ATT-12", "HP-ATT-10", "HP-ATT-15")
def test_agent_over_real_http(world: AttestationWorld, server: str) -> None:
    auth = ClientAttestationAuth(world.attestation(), world.instance_key, audience=world.audience,
                                 clock=FixedClock(world.now), origins=[server])
    with httpx.Client(base_url=server, timeout=10) as client:
        first = client.post("/token", auth=auth)  # refused for lack of a challenge, answered once, accepted
        assert first.status_code == 200, first.text
        assert client.post("/token", auth=auth).status_code == 200  # same challenge, fresh jti
        challenge = fetch_attestation_challenge(client, server + "/attestation/challenge")
        assert world.challenges.check(challenge, world.now)
        pop = world.pop(jti="wire-1", challenge=challenge)
        headers = {ATTESTATION_HEADER: world.attestation(), POP_HEADER: pop}
        assert client.post("/token", headers=headers).status_code == 200
        replayed = client.post("/token", headers=headers)
        assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client_attestation"
        doubled = client.post("/token", headers=[(ATTESTATION_HEADER, headers[ATTESTATION_HEADER]),
                                                 (ATTESTATION_HEADER, headers[ATTESTATION_HEADER]),
                                                 (POP_HEADER, world.pop(jti="wire-2", challenge=challenge))])
        assert doubled.status_code == 401
        no_challenge = client.post("/token", headers={ATTESTATION_HEADER: world.attestation(),
                                                      POP_HEADER: world.pop(jti="wire-3")})
        assert no_challenge.status_code == 400 and CHALLENGE_HEADER in no_challenge.headers
