"""The AS side: loading an authority's attester keys from its configuration (HP-ATT-29), with hostile and absent
authorities served by real uvicorn servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.responses import JSONResponse, Response

from hardened.adapters.authority_attesters import AuthorityAttesters, fetch_attester_registry
from hardened.clock import FixedClock
from hardened.errors import ConfigurationError
from hardened.jose import SigningKey
from tests.authority.authority_live import loopback_socket, serve

KEY = SigningKey.generate("ES256")


def hostile_app(state: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/authority-configuration")
    def config() -> Response:
        return JSONResponse(state["config"])

    @app.get("/jwks")
    def jwks() -> Response:
        return JSONResponse(state.get("jwks", {"keys": [KEY.public_jwk()]}))

    @app.get("/redirect")
    def redirect() -> Response:
        return Response(status_code=302, headers={"Location": "/jwks"})

    return app


@pytest.fixture
def hostile() -> Iterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {}
    sock = loopback_socket()
    with serve(hostile_app(state), sock) as url:
        state["config"] = {"issuer": url, "attester_issuer": url, "attester_jwks_uri": url + "/jwks"}
        yield url, state


@pytest.mark.requirement("HP-ATT-29")
def test_a_well_formed_authority_is_loaded(hostile) -> None:
    url, _ = hostile
    with httpx.Client() as client:
        registry = fetch_attester_registry(client, [url])
        assert registry[url].keys[0].thumbprint == KEY.thumbprint
        assert AuthorityAttesters(client, [url]).get(url) is not None


@pytest.mark.requirement("HP-ATT-29")
@pytest.mark.parametrize("defect", ["issuer", "attester_issuer", "missing_jwks_uri", "other_origin", "redirect",
                                    "empty_jwks", "private_jwks", "not_json"])
def test_a_hostile_authority_is_refused(hostile, defect: str) -> None:
    url, state = hostile
    config = state["config"]
    if defect == "issuer":
        config["issuer"] = url + "/other"
    elif defect == "attester_issuer":
        config["attester_issuer"] = "https://evil.example"
    elif defect == "missing_jwks_uri":
        del config["attester_jwks_uri"]
    elif defect == "other_origin":
        config["attester_jwks_uri"] = "http://localhost:1/jwks"
    elif defect == "redirect":
        config["attester_jwks_uri"] = url + "/redirect"
    elif defect == "empty_jwks":
        state["jwks"] = {"keys": []}
    elif defect == "private_jwks":
        state["jwks"] = {"keys": [{**KEY.public_jwk(), "d": "AAAA"}]}
    else:
        state["config"] = ["not", "an", "object"]
    with httpx.Client() as client:
        with pytest.raises(ConfigurationError):
            fetch_attester_registry(client, [url])
        assert AuthorityAttesters(client, [url]).get(url) is None  # fail closed


@pytest.mark.requirement("HP-ATT-29")
def test_keys_are_cached_then_refreshed_and_an_unreachable_authority_is_dropped(hostile) -> None:
    url, state = hostile
    clock = FixedClock()
    with httpx.Client() as client:
        attesters = AuthorityAttesters(client, [url], clock=clock, max_age=300)
        assert attesters.get(url) is not None
        assert attesters.get("https://unknown.example") is None
        state["config"]["attester_issuer"] = "https://evil.example"
        assert attesters.get(url) is not None  # cached
        clock.advance(300)
        assert attesters.get(url) is None  # refreshed, refused, dropped
        state["config"]["attester_issuer"] = url
        assert attesters.get(url) is None  # not asked again for retry_after seconds
        clock.advance(10)
        assert attesters.get(url) is not None


def test_configuration_is_checked_at_start_up() -> None:
    with httpx.Client() as client:
        for bad in ("http://example.com", "ftp://x", "http://127.0.0.1.evil.example", 7):
            with pytest.raises(ConfigurationError):
                AuthorityAttesters(client, [bad])  # type: ignore[list-item]
            with pytest.raises(ConfigurationError):
                fetch_attester_registry(client, [bad])  # type: ignore[list-item]
        with pytest.raises(ConfigurationError):
            AuthorityAttesters(client, ["https://a.example"], max_age=0)
        sock = loopback_socket()  # bound, never listening: connection refused
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(ConfigurationError):
            fetch_attester_registry(client, [closed])
        assert AuthorityAttesters(client, [closed]).get(closed) is None
        sock.close()
