"""The agent side (RFC 9449 §4.1, §7.1, §8, §9): DPoPAuth against our own AS and resource endpoints."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from hardened.client.dpop import DPoPAuth, challenges, is_use_dpop_nonce
from hardened.core.dpop import DPoPPolicy, verify_dpop_proof
from hardened.errors import ConfigurationError
from hardened.testing.dpop import FIXED_NOW, key_pool

from .conftest import AS_URL, RS_URL

pytestmark = pytest.mark.requirement("HP-DPOP-22")
TOKEN = "agent-token_123"


class Recorder:
    """Records what went over the wire (an httpx event hook, not a mock: the app is real)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []

    async def on_request(self, request: httpx.Request) -> None:
        self.requests.append({"headers": dict(request.headers), "content": request.content})

    async def on_response(self, response: httpx.Response) -> None:
        self.statuses.append(response.status_code)


def run_async(app: Any, auth: Any, calls: list[tuple[str, str]]) -> tuple[list[httpx.Response], Recorder]:
    rec = Recorder()

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), auth=auth,
                                     event_hooks={"request": [rec.on_request], "response": [rec.on_response]}) as c:
            return [await c.request(method, url, content=b"grant_type=x" if method == "POST" else None)
                    for method, url in calls]

    return asyncio.run(go()), rec


def test_as_nonce_retry_once_then_remembered(app_factory, clock) -> None:
    app, _, _ = app_factory({}, as_nonce=True)
    auth = DPoPAuth(key_pool()[0], clock=clock)
    responses, rec = run_async(app, auth, [("POST", f"{AS_URL}/token"), ("POST", f"{AS_URL}/token")])
    assert [r.status_code for r in responses] == [200, 200]
    assert rec.statuses == [400, 200, 200]  # one retry for the first call, the nonce reused for the second
    assert responses[0].json() == {"jkt": auth.jkt}
    proofs = [r["headers"]["dpop"] for r in rec.requests]
    assert len(set(proofs)) == 3  # a fresh proof every time
    assert rec.requests[1]["content"] == b"grant_type=x"  # the retry re-sent the body


@pytest.mark.parametrize("index", [0, 2, 3], ids=["ES256", "EdDSA", "PS256"])
def test_rs_with_token_and_nonce(app_factory, clock, index: int) -> None:
    key = key_pool()[index]
    app, _, _ = app_factory({TOKEN: key.thumbprint}, rs_nonce=True)
    auth = DPoPAuth(key, access_token=TOKEN, resource=f"{RS_URL}/mcp", clock=clock)
    responses, rec = run_async(app, auth, [("GET", f"{RS_URL}/mcp"), ("POST", f"{RS_URL}/mcp")])
    assert [r.status_code for r in responses] == [200, 200]
    assert rec.statuses == [401, 200, 200]
    sent = rec.requests[-1]
    assert sent["headers"]["authorization"] == f"DPoP {TOKEN}"
    verified = verify_dpop_proof(sent["headers"]["dpop"], method="POST", uri=f"{RS_URL}/mcp", policy=DPoPPolicy(),
                                 now=FIXED_NOW, access_token=TOKEN, expected_jkt=key.thumbprint)
    assert verified.nonce is not None


def test_nonces_are_per_origin(app_factory, clock) -> None:
    app, _, _ = app_factory({TOKEN: key_pool()[0].thumbprint}, as_nonce=True, rs_nonce=True)
    auth = DPoPAuth(key_pool()[0], clock=clock)
    run_async(app, auth, [("POST", f"{AS_URL}/token")])
    assert auth.nonce_for(httpx.URL(f"{AS_URL}/x")) is not None
    assert auth.nonce_for(httpx.URL(f"{RS_URL}/x")) is None


def test_retries_only_once() -> None:
    """A server that always asks for a new nonce gets exactly two requests per call."""
    counter = {"n": 0}

    async def always_nonce(scope: dict, receive: Any, send: Any) -> None:
        counter["n"] += 1
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"www-authenticate", b'DPoP error="use_dpop_nonce", algs="ES256"'),
            (b"dpop-nonce", f"nonce-{counter['n']}".encode())]})
        await send({"type": "http.response.body", "body": b""})

    responses, _rec = run_async(always_nonce, DPoPAuth(key_pool()[0], access_token=TOKEN,
                                                             resource=RS_URL), [("GET", f"{RS_URL}/x")])
    assert responses[0].status_code == 401 and counter["n"] == 2


def test_use_dpop_nonce_detection() -> None:
    req = httpx.Request("GET", "https://rs.example/")
    assert is_use_dpop_nonce(httpx.Response(401, request=req, headers={
        "WWW-Authenticate": 'Bearer realm="x", DPoP error="use_dpop_nonce", algs="ES256"'}))
    assert not is_use_dpop_nonce(httpx.Response(401, request=req, headers={
        "WWW-Authenticate": 'Bearer error="use_dpop_nonce", DPoP algs="ES256"'}))
    assert is_use_dpop_nonce(httpx.Response(400, request=req, json={"error": "use_dpop_nonce"}))
    assert not is_use_dpop_nonce(httpx.Response(400, request=req, content=b"\xff not json"))
    assert challenges(['DPoP error="a", algs="ES256 PS256", Bearer']) == [
        ("dpop", {"error": "a", "algs": "ES256 PS256"}), ("bearer", {})]


def test_sync_client_against_a_real_server(live_server, clock) -> None:
    key = key_pool()[0]
    base, _, _ = live_server({TOKEN: key.thumbprint}, as_nonce=True, rs_nonce=True)
    auth = DPoPAuth(key, clock=clock)
    with httpx.Client(auth=auth, timeout=10) as client:
        assert client.post(f"{base}/token", data={"grant_type": "x"}).json() == {"jkt": key.thumbprint}
        auth.set_access_token(TOKEN, resource=f"{base}/mcp")
        assert client.get(f"{base}/mcp?page=2").json() == {"jkt": key.thumbprint}


def test_httpx2_flavour(app_factory, clock) -> None:
    import httpx2

    key = key_pool()[0]
    app, _, _ = app_factory({TOKEN: key.thumbprint}, rs_nonce=True)
    auth = DPoPAuth(key, access_token=TOKEN, resource=RS_URL, clock=clock).as_httpx2()
    assert isinstance(auth, httpx2.Auth)

    async def go() -> int:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), auth=auth) as client:
            return (await client.get(f"{RS_URL}/mcp")).status_code

    assert asyncio.run(go()) == 200


def test_token_goes_only_to_its_resource(app_factory, clock) -> None:
    """The token is never sent to another origin (the AS, another server, a redirect target)."""
    key = key_pool()[0]
    app, _, _ = app_factory({TOKEN: key.thumbprint})
    auth = DPoPAuth(key, access_token=TOKEN, resource=f"{RS_URL}/mcp", clock=clock)
    _, rec = run_async(app, auth, [("POST", f"{AS_URL}/token"), ("GET", "https://rs.example:8443/mcp"),
                                   ("GET", f"{RS_URL}/mcp")])
    sent = [r["headers"].get("authorization") for r in rec.requests]
    assert sent == [None, None, f"DPoP {TOKEN}"]
    assert all("dpop" in r["headers"] for r in rec.requests)
    with pytest.raises(ConfigurationError):
        auth.set_access_token(TOKEN, resource="/relative")
    auth.set_access_token(None, resource="")
    assert auth.access_token is None


def test_token_only_over_https_except_loopback() -> None:
    """FAPI 2.0 SP §5.2.1: a DPoP-bound token is still a credential; never in clear text off loopback."""
    auth = DPoPAuth(key_pool()[0])
    for resource in ("http://rs.example/mcp", "http://10.0.0.1/mcp", "http://localhost.evil.example/mcp"):
        with pytest.raises(ConfigurationError):
            auth.set_access_token(TOKEN, resource=resource)
        assert auth.access_token is None
    for resource in ("http://127.0.0.1:8000/mcp", "http://[::1]:8000/mcp", "http://localhost/mcp"):
        auth.set_access_token(TOKEN, resource=resource)
        assert auth.access_token == TOKEN
    with pytest.raises(ConfigurationError):
        DPoPAuth(key_pool()[0], access_token=TOKEN, resource="http://rs.example/mcp")


def test_httpx2_twin_shares_the_nonce_lock() -> None:
    """The twin writes the same nonce store: one lock guards it, or concurrent flows corrupt the OrderedDict."""
    auth = DPoPAuth(key_pool()[0])
    twin = auth.as_httpx2()
    assert twin._nonces is auth._nonces and twin._lock is auth._lock


def test_proof_htu_carries_no_user_information(clock) -> None:
    """A URL with user:password@ must not copy the password into the proof (a header proxies may log)."""
    import base64
    import json

    auth = DPoPAuth(key_pool()[0], clock=clock)
    sent = next(auth.sync_auth_flow(httpx.Request("GET", "https://user:secret@rs.example/mcp?x=1")))
    payload = sent.headers["dpop"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["htu"] == "https://rs.example/mcp"
    verify_dpop_proof(sent.headers["dpop"], method="GET", uri="https://rs.example/mcp", policy=DPoPPolicy(),
                      now=FIXED_NOW)
