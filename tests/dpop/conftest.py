"""DPoP fixtures: keys made once, a fixed clock, and a tiny FastAPI app with an AS endpoint and a resource."""

from __future__ import annotations

from collections.abc import Callable

import pytest
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
) -> tuple[FastAPI, DPoPVerifier, DPoPVerifier]:
    """An AS token endpoint (/token) and a resource (/mcp) guarded by DPoP; ``tokens`` maps token -> cnf.jkt."""
    store = replay or MemoryReplayCache()
    as_verifier = DPoPVerifier(DPoPPolicy(nonce_required=as_nonce), store, NonceSource(SECRET, AS_URL), clock, AS_URL)
    rs_verifier = DPoPVerifier(DPoPPolicy(nonce_required=rs_nonce), store, NonceSource(SECRET, RS_URL), clock,
                               RS_URL, resource_metadata=RESOURCE_METADATA)

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
