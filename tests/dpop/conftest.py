"""DPoP fixtures: keys made once, a fixed clock, and a tiny FastAPI app with an AS endpoint and a resource."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from fastapi import Depends, FastAPI

from hardened.adapters.memory import MemoryReplayCache
from hardened.clock import FixedClock
from hardened.core.dpop import DPoPPolicy, VerifiedDPoPProof
from hardened.core.dpop_nonce import NonceSource
from hardened.errors import InvalidToken
from hardened.jose import SigningKey
from hardened.ports.replay import ReplayCache
from hardened.testing.dpop import FIXED_NOW, key_pool
from hardened.web.dpop import (
    DPoPAuthorized,
    DPoPResourceGuard,
    DPoPTokenRequest,
    DPoPVerifier,
    install_resource_challenge_handler,
)
from hardened.web.errors import install_error_handlers

AS_URL = "https://as.example"
RS_URL = "https://rs.example"
SECRET = b"0123456789abcdef0123456789abcdef-test"
RESOURCE_METADATA = "https://rs.example/.well-known/oauth-protected-resource"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(FIXED_NOW)


@pytest.fixture(scope="session")
def es256_key() -> SigningKey:
    return key_pool()[0]


@pytest.fixture(scope="session")
def other_key() -> SigningKey:
    return key_pool()[1]


def build_app(
    clock: FixedClock,
    tokens: dict[str, str | None],
    *,
    as_nonce: bool = False,
    rs_nonce: bool = False,
    replay: ReplayCache | None = None,
    as_url: str = AS_URL,
    rs_url: str = RS_URL,
) -> tuple[FastAPI, DPoPVerifier, DPoPVerifier]:
    """An AS token endpoint (/token) and a resource (/mcp) guarded by DPoP; ``tokens`` maps token -> cnf.jkt."""
    store = replay or MemoryReplayCache()
    as_verifier = DPoPVerifier(DPoPPolicy(nonce_required=as_nonce), store, NonceSource(SECRET, as_url), clock, as_url)
    rs_verifier = DPoPVerifier(DPoPPolicy(nonce_required=rs_nonce), store, NonceSource(SECRET, rs_url), clock,
                               rs_url, resource_metadata=RESOURCE_METADATA)

    def resolve(token: str) -> str | None:
        if token not in tokens:
            raise InvalidToken("unknown access token")
        return tokens[token]

    app = FastAPI()
    install_error_handlers(app)
    install_resource_challenge_handler(app)
    token_dep = Depends(DPoPTokenRequest(as_verifier))
    guard: Callable[..., DPoPAuthorized] = DPoPResourceGuard(rs_verifier, resolve)

    @app.post("/token")
    def token(proof: VerifiedDPoPProof | None = token_dep) -> dict[str, str | None]:
        return {"jkt": proof.jkt if proof else None}

    @app.api_route("/mcp", methods=["GET", "POST"])
    def mcp(auth: DPoPAuthorized = Depends(guard)) -> dict[str, str]:
        return {"jkt": auth.proof.jkt}

    return app, as_verifier, rs_verifier


@pytest.fixture
def app_factory(clock: FixedClock) -> Callable[..., tuple[FastAPI, DPoPVerifier, DPoPVerifier]]:
    def make(tokens: dict[str, str | None], **kwargs: object) -> tuple[FastAPI, DPoPVerifier, DPoPVerifier]:
        return build_app(clock, tokens, **kwargs)  # type: ignore[arg-type]

    return make


class _Server(uvicorn.Server):
    """uvicorn that signals when it listens (no polling, no sleeping)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@pytest.fixture
def live_server(clock: FixedClock) -> Iterator[Callable[..., tuple[str, DPoPVerifier, DPoPVerifier]]]:
    """Start a real uvicorn on 127.0.0.1 (ephemeral port) serving ``build_app``; returns its base URL."""
    servers: list[tuple[_Server, threading.Thread]] = []

    def start(tokens: dict[str, str | None], **kwargs: object) -> tuple[str, DPoPVerifier, DPoPVerifier]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app, as_v, rs_v = build_app(clock, tokens, as_url=base, rs_url=base, **kwargs)  # type: ignore[arg-type]
        server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        assert server.ready.wait(20), "server did not start"
        servers.append((server, thread))
        return base, as_v, rs_v

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=20)
