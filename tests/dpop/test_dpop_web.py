"""The web edge (RFC 9449 §4.3 step 1, §5, §7, §8, §9) through httpx.ASGITransport against a tiny FastAPI app."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.dpop import build_dpop_proof
from hardened.errors import ConfigurationError
from hardened.testing.dpop import FIXED_NOW, key_pool

from .conftest import AS_URL, RESOURCE_METADATA, RS_URL

NOW = FIXED_NOW
KEY = key_pool()[0]
OTHER = key_pool()[1]
TOKEN = "tok-abc.DEF_123~x"


def send(app: Any, method: str, url: str, headers: list[tuple[Any, Any]] | None = None, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            return await client.request(method, url, headers=headers, **kw)

    return asyncio.run(go())


def proof(url: str, method: str = "POST", *, key: Any = KEY, jti: str = "j1", token: str | None = None,
          nonce: str | None = None, iat: float = NOW) -> str:
    return build_dpop_proof(key, htm=method, htu=url, iat=iat, jti=jti, access_token=token, nonce=nonce)


def challenge_params(response: httpx.Response) -> dict[str, str]:
    from hardened.client.dpop import challenges

    found = challenges(response.headers.get_list("www-authenticate"))
    return next(p for s, p in found if s == "dpop")


# -- authorization server ----------------------------------------------------------------------------------------
@pytest.mark.requirement("HP-DPOP-17")
def test_as_accepts_a_proof_and_binds_its_key(app_factory) -> None:
    app, _, _ = app_factory({})
    r = send(app, "POST", f"{AS_URL}/token", [("DPoP", proof(f"{AS_URL}/token"))])
    assert r.status_code == 200 and r.json() == {"jkt": KEY.thumbprint}
    assert send(app, "POST", f"{AS_URL}/token").json() == {"jkt": None}


@pytest.mark.requirement("HP-DPOP-17", "HP-DPOP-15")
def test_as_refuses_a_replayed_proof(app_factory) -> None:
    app, _, _ = app_factory({})
    p = proof(f"{AS_URL}/token", jti="replayed")
    assert send(app, "POST", f"{AS_URL}/token", [("DPoP", p)]).status_code == 200
    r = send(app, "POST", f"{AS_URL}/token", [("DPoP", p)])
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.requirement("HP-DPOP-01")
@pytest.mark.parametrize("shape", ["two headers", "comma list", "empty"])
def test_exactly_one_dpop_header(app_factory, shape: str) -> None:
    app, _, _ = app_factory({})
    a, b = proof(f"{AS_URL}/token", jti="a"), proof(f"{AS_URL}/token", jti="b")
    headers = {"two headers": [("DPoP", a), ("DPoP", b)], "comma list": [("DPoP", f"{a}, {b}")],
               "empty": [("DPoP", "")]}[shape]
    r = send(app, "POST", f"{AS_URL}/token", headers)
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"


@pytest.mark.requirement("HP-DPOP-14", "HP-DPOP-17")
def test_as_nonce_challenge_and_retry(app_factory) -> None:
    app, as_verifier, _ = app_factory({}, as_nonce=True)
    r = send(app, "POST", f"{AS_URL}/token", [("DPoP", proof(f"{AS_URL}/token", jti="n1"))])
    assert r.status_code == 400 and r.json()["error"] == "use_dpop_nonce"
    nonce = r.headers["dpop-nonce"]
    assert as_verifier.nonces is not None and as_verifier.nonces.check(nonce, NOW)
    r = send(app, "POST", f"{AS_URL}/token", [("DPoP", proof(f"{AS_URL}/token", jti="n2", nonce=nonce))])
    assert r.status_code == 200


@pytest.mark.requirement("HP-DPOP-09")
def test_expected_uri_ignores_host_and_forwarded_headers(app_factory) -> None:
    app, _, _ = app_factory({})
    evil = [("Host", "evil.example"), ("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "http"),
            ("Forwarded", "host=evil.example;proto=http")]
    r = send(app, "POST", "http://evil.example/token", [("DPoP", proof("http://evil.example/token", jti="e1")), *evil])
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"
    r = send(app, "POST", "http://evil.example/token", [("DPoP", proof(f"{AS_URL}/token", jti="e2")), *evil])
    assert r.status_code == 200


@pytest.mark.requirement("HP-DPOP-09")
@pytest.mark.parametrize("url", ["http://as.example", "not a url", "https://as.example/?q", "ftp://as.example",
                                 "http://localhost.as.example", "http://[::2]:80", "http://127.0.0.1.nip.io"])
def test_external_base_url_checked_at_startup(app_factory, url: str) -> None:
    from hardened.adapters.memory import MemoryReplayCache
    from hardened.clock import FixedClock
    from hardened.core.dpop import DPoPPolicy
    from hardened.web.dpop import DPoPVerifier

    with pytest.raises(ConfigurationError):
        DPoPVerifier(DPoPPolicy(), MemoryReplayCache(), None, FixedClock(), url)
    for loopback in ("http://127.0.0.1:8080", "http://[::1]", "http://[::1]:8080/base", "http://localhost"):
        DPoPVerifier(DPoPPolicy(), MemoryReplayCache(), None, FixedClock(), loopback)


# -- resource server ---------------------------------------------------------------------------------------------
def rs_request(app: Any, headers: list[tuple[Any, Any]], url: str = f"{RS_URL}/mcp", method: str = "GET",
               **kw: Any) -> httpx.Response:
    return send(app, method, url, headers, **kw)


def good(jti: str = "r1", scheme: str = "DPoP", key: Any = KEY, nonce: str | None = None) -> list[tuple[str, str]]:
    return [("Authorization", f"{scheme} {TOKEN}"),
            ("DPoP", proof(f"{RS_URL}/mcp", "GET", jti=jti, token=TOKEN, key=key, nonce=nonce))]


@pytest.mark.requirement("HP-DPOP-18", "HP-DPOP-19")
@pytest.mark.parametrize("scheme", ["DPoP", "dpop", "DPOP"])
def test_rs_accepts_a_bound_token_with_its_proof(app_factory, scheme: str) -> None:
    app, _, _ = app_factory({TOKEN: KEY.thumbprint})
    r = rs_request(app, good(scheme=scheme))
    assert r.status_code == 200 and r.json() == {"jkt": KEY.thumbprint}


@pytest.mark.requirement("HP-DPOP-18")
def test_rs_without_credentials_challenges_without_error(app_factory) -> None:
    app, _, _ = app_factory({TOKEN: KEY.thumbprint})
    r = rs_request(app, [])
    assert r.status_code == 401
    params = challenge_params(r)
    assert "error" not in params
    assert params["algs"] == "ES256 PS256 EdDSA" and params["resource_metadata"] == RESOURCE_METADATA


@pytest.mark.requirement("HP-DPOP-18", "HP-DPOP-11", "HP-DPOP-12")
@pytest.mark.parametrize(
    ("case", "error"),
    [("no proof", "invalid_dpop_proof"), ("other key", "invalid_token"), ("no ath", "invalid_dpop_proof"),
     ("unknown token", "invalid_token"), ("unbound token", "invalid_token"), ("replay", "invalid_dpop_proof")],
)
def test_rs_errors_are_401_challenges(app_factory, case: str, error: str) -> None:
    app, _, _ = app_factory({TOKEN: KEY.thumbprint, "unbound": None})
    headers = {
        "no proof": [("Authorization", f"DPoP {TOKEN}")],
        "other key": good(key=OTHER),
        "no ath": [("Authorization", f"DPoP {TOKEN}"), ("DPoP", proof(f"{RS_URL}/mcp", "GET", jti="x"))],
        "unknown token": [("Authorization", "DPoP nope"), ("DPoP", proof(f"{RS_URL}/mcp", "GET", token="nope"))],
        "unbound token": [("Authorization", "DPoP unbound"), ("DPoP", proof(f"{RS_URL}/mcp", "GET", token="unbound"))],
        "replay": good(jti="same"),
    }[case]
    if case == "replay":
        assert rs_request(app, headers).status_code == 200
    r = rs_request(app, headers)
    assert r.status_code == 401
    params = challenge_params(r)
    assert params["error"] == error and params["algs"] == "ES256 PS256 EdDSA"
    assert params["resource_metadata"] == RESOURCE_METADATA
    assert TOKEN not in r.headers["www-authenticate"]


@pytest.mark.requirement("HP-DPOP-20", "HP-DEC-03")
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_rs_refuses_bound_token_as_bearer(app_factory, scheme: str) -> None:
    app, _, _ = app_factory({TOKEN: KEY.thumbprint})
    r = rs_request(app, good(scheme=scheme))
    assert r.status_code == 401 and challenge_params(r)["error"] == "invalid_token"


@pytest.mark.requirement("HP-DPOP-14", "HP-DPOP-18", "HP-DPOP-13")
def test_rs_nonce_challenge_and_retry(app_factory) -> None:
    app, as_verifier, _ = app_factory({TOKEN: KEY.thumbprint}, rs_nonce=True)
    r = rs_request(app, good(jti="n0"))
    assert r.status_code == 401 and challenge_params(r)["error"] == "use_dpop_nonce"
    nonce = r.headers["dpop-nonce"]
    assert rs_request(app, good(jti="n1", nonce=nonce)).status_code == 200
    as_nonce = as_verifier.nonce_header()["DPoP-Nonce"]  # the AS's nonce is not the resource server's
    r = rs_request(app, good(jti="n2", nonce=as_nonce))
    assert r.status_code == 401 and challenge_params(r)["error"] == "use_dpop_nonce"


@pytest.mark.requirement("HP-DPOP-19")
def test_rs_refuses_two_authorization_headers(app_factory) -> None:
    app, _, _ = app_factory({TOKEN: KEY.thumbprint})
    r = rs_request(app, [*good(), ("Authorization", f"DPoP {TOKEN}")])
    assert r.status_code == 400 and challenge_params(r)["error"] == "invalid_request"


@pytest.mark.requirement("HP-DPOP-19")
def test_rs_never_takes_a_token_from_query_or_body(app_factory) -> None:
    app, _, _ = app_factory({TOKEN: KEY.thumbprint})
    dpop = [("DPoP", proof(f"{RS_URL}/mcp", "GET", jti="q", token=TOKEN))]
    r = rs_request(app, dpop, url=f"{RS_URL}/mcp?access_token={TOKEN}")
    assert r.status_code == 400 and challenge_params(r)["error"] == "invalid_request"
    r = rs_request(app, [("DPoP", proof(f"{RS_URL}/mcp", "POST", jti="b", token=TOKEN))], method="POST",
                   data={"access_token": TOKEN})
    assert r.status_code == 401 and "error" not in challenge_params(r)


# -- hostile input -----------------------------------------------------------------------------------------------
HOSTILE = {
    "huge dpop": [("DPoP", "a" * 1_000_000)],
    "huge authorization": [("Authorization", "DPoP " + "a" * 1_000_000)],
    "binary dpop": [("DPoP", bytes(range(256)))],
    "binary authorization": [("Authorization", b"DPoP \xff\xfe\x00\x01")],
    "many dpop": [("DPoP", f"x{i}") for i in range(500)],
    "many authorization": [("Authorization", f"DPoP t{i}") for i in range(500)],
    "non-ascii path": [],
}


@pytest.mark.requirement("HP-DPOP-23")
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_headers_get_our_error_never_500(app_factory, name: str) -> None:
    app, _, _ = app_factory({TOKEN: KEY.thumbprint})
    extra = HOSTILE[name]
    r = send(app, "POST", f"{AS_URL}/token", extra)
    if "dpop" in name:
        assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"
    r = rs_request(app, [*good(jti=name), *extra] if name != "non-ascii path" else good(jti=name),
                   url=f"{RS_URL}/mcp" if name != "non-ascii path" else f"{RS_URL}/mcp%FF%00")
    assert r.status_code in (400, 401, 404)
    if r.status_code in (400, 401):
        expected = {"invalid_request"} if r.status_code == 400 else {"invalid_dpop_proof", "invalid_token"}
        assert challenge_params(r)["error"] in expected


@pytest.mark.requirement("HP-DPOP-23")
@given(st.lists(st.tuples(st.sampled_from(["DPoP", "Authorization", "dpop", "AUTHORIZATION", "Host"]),
                          st.binary(max_size=300).filter(lambda b: b"\r" not in b and b"\n" not in b)), max_size=6))
def test_arbitrary_headers_never_500(headers: list[tuple[str, bytes]]) -> None:
    from hardened.clock import FixedClock

    from .conftest import build_app

    app, _, _ = build_app(FixedClock(NOW), {TOKEN: KEY.thumbprint})
    r = send(app, "POST", f"{AS_URL}/token", headers)
    assert r.status_code in (200, 400)
    assert r.status_code == 200 or r.json()["error"] == "invalid_dpop_proof"
    r = send(app, "GET", f"{RS_URL}/mcp", headers)
    assert r.status_code in (400, 401)  # RFC 6750 §3.1: 400 only for invalid_request
    assert r.status_code == 401 or challenge_params(r)["error"] == "invalid_request"


@pytest.mark.requirement("HP-DPOP-14")
def test_success_carries_a_fresh_nonce_where_required(app_factory) -> None:
    app, _, rs_verifier = app_factory({TOKEN: KEY.thumbprint}, rs_nonce=True)
    nonce = rs_verifier.nonce_header()["DPoP-Nonce"]
    r = rs_request(app, good(jti="fresh", nonce=nonce))
    assert r.status_code == 200 and r.headers["dpop-nonce"] == nonce
    app, _, _ = app_factory({TOKEN: KEY.thumbprint})
    assert "dpop-nonce" not in rs_request(app, good(jti="fresh")).headers


@pytest.mark.requirement("HP-DPOP-23")
@pytest.mark.slow
def test_hostile_raw_http_against_a_real_server(live_server) -> None:
    """Raw bytes on a socket to a real uvicorn: binary values, hundreds of DPoP/Authorization headers, never 500."""
    import socket
    from urllib.parse import urlsplit

    base, _, _ = live_server({TOKEN: KEY.thumbprint})
    host, port = urlsplit(base).hostname, urlsplit(base).port
    bodies = [
        b"".join(b"DPoP: \xff\xfe\x80" + bytes([i]) + b"\r\n" for i in range(33, 233)),
        b"".join(b"Authorization: DPoP t" + str(i).encode() + b"\r\n" for i in range(300)),
        b"DPoP: " + b"A" * 60_000 + b"\r\nAuthorization: DPoP " + b"\x80" * 100 + b"\r\n",
    ]
    seen: list[int] = []
    for extra in bodies:
        for target in (b"POST /token", b"GET /mcp"):
            with socket.create_connection((host, port), timeout=10) as sock:
                sock.sendall(target + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n" + extra
                             + b"\r\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            status = int(data.split(b" ", 2)[1])
            expected = {400, 431} | ({401} if target == b"GET /mcp" else set() if b"DPoP:" in extra else {200})
            seen.append(status)
            assert status in expected, (target, status)
    assert seen[:4] == [400, 401, 200, 400]  # these reached our code (several credentials: 400 invalid_request)
    # and were not refused by the HTTP parser


@pytest.mark.requirement("HP-DPOP-09")
@pytest.mark.parametrize("path", ["/files/%2E%2E/token", "/files/%2e./token", "/files/.%2E/token",
                                  "/files/x/%2E%2E/%2E%2E/token"])
def test_request_path_with_dot_segments_is_refused(clock, path: str) -> None:
    """htu is compared after RFC 3986 §5.2.4 dot removal, but routing sees the path as sent (%2E%2E is only
    decoded): a proof for /token must not be accepted by the handler of /files/{rest}."""
    from fastapi import Depends, FastAPI

    from hardened.web.dpop import DPoPTokenRequest
    from hardened.web.errors import install_error_handlers

    from .conftest import build_app

    _, as_verifier, _ = build_app(clock, {})
    app = FastAPI()
    install_error_handlers(app)

    @app.api_route("/files/{rest:path}", methods=["POST"])
    @app.api_route("/token/{rest:path}", methods=["POST"])
    def files(rest: str, proof: Any = Depends(DPoPTokenRequest(as_verifier))) -> dict[str, str]:
        return {"served": rest}

    r = send(app, "POST", f"{AS_URL}{path}", [("DPoP", proof(f"{AS_URL}/token", jti=path))])
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"
    ok = send(app, "POST", f"{AS_URL}/files/a.b/..c", [("DPoP", proof(f"{AS_URL}/files/a.b/..c", jti="dots-in-names"))])
    assert ok.status_code == 200 and ok.json() == {"served": "a.b/..c"}
