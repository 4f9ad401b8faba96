"""The HTTP edge (hardened.web.attestation) and the agent (hardened.client.attestation), in process via ASGI."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import Depends, FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from hardened.adapters.attesters import TrustedAttesterVerifier
from hardened.client.attestation import (
    ClientAttestationAuth,
    afetch_attestation_challenge,
    build_client_attestation_pop,
)
from hardened.clock import FixedClock
from hardened.core.attestation import AttestationPolicy
from hardened.errors import ConfigurationError, InvalidClientAttestation
from hardened.ports.attestation import AttestationResult
from hardened.testing.attestation import AttestationWorld
from hardened.web.attestation import (
    ATTESTATION_HEADER,
    CHALLENGE_HEADER,
    POP_HEADER,
    AttestationGuard,
    attestation_metadata,
    challenge_router,
    read_attestation_headers,
)
from hardened.web.errors import install_error_handlers

from .conftest import MemoryReplay


def make_app(world: AttestationWorld, *, require_challenge: bool = False, required: bool = True) -> FastAPI:
    clock = FixedClock(world.now)
    policy = AttestationPolicy(require_challenge=require_challenge)
    verifier = TrustedAttesterVerifier(world.attesters, replay=MemoryReplay(), policy=policy,
                                       challenges=world.challenges)
    guard = AttestationGuard([verifier], audience=world.audience, clock=clock, challenges=world.challenges,
                             required=required)
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(challenge_router(world.challenges, clock))
    app.state.seen = 0

    @app.post("/token")
    async def token(result: AttestationResult | None = Depends(guard)) -> dict:
        app.state.seen += 1
        return {"client_id": result.client_id if result else None, "method": result.method if result else None}

    @app.get("/.well-known/oauth-authorization-server")
    async def metadata() -> dict:
        return {"issuer": world.audience, **attestation_metadata(
            policy, challenge_endpoint=world.audience + "/attestation/challenge", require_attestation=required)}

    return app


def call(app: FastAPI, method: str, url: str, **kwargs) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=app_base(app)) as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def app_base(_: FastAPI) -> str:
    return "https://as.example.org"


@pytest.fixture(scope="module")
def app(world: AttestationWorld) -> FastAPI:
    return make_app(world)


@pytest.mark.requirement("HP-ATT-15", "HP-ATT-10")
def test_valid_headers_pass_and_a_replay_is_refused(world: AttestationWorld) -> None:
    app = make_app(world)
    headers = {ATTESTATION_HEADER: world.attestation(), POP_HEADER: world.pop(jti="web-1")}
    ok = call(app, "POST", "/token", headers=headers)
    assert ok.status_code == 200 and ok.json() == {"client_id": world.client_id, "method": "attestation_pop_jwt"}
    again = call(app, "POST", "/token", headers=headers)
    assert again.status_code == 401 and again.json()["error"] == "invalid_client_attestation"


@pytest.mark.requirement("HP-ATT-15")
@pytest.mark.parametrize("headers", [
    [],
    [(POP_HEADER, "a.b.c")],
    [(ATTESTATION_HEADER, "a.b.c"), (ATTESTATION_HEADER.lower(), "a.b.c")],
    [(ATTESTATION_HEADER, "x.y.z"), (POP_HEADER, "a.b.c"), (POP_HEADER.upper(), "a.b.c")],
    [(ATTESTATION_HEADER, "a.b.c, d.e.f")],
    [(ATTESTATION_HEADER, "Bearer a.b.c")],
    [(ATTESTATION_HEADER, "")],
    [(ATTESTATION_HEADER, "a" * 9000)],
    [(ATTESTATION_HEADER, "a.b.c"), (POP_HEADER, "p" * 5000)],
    [(ATTESTATION_HEADER, "not-a-jwt")],
    [(ATTESTATION_HEADER, "eyJ.eyJ.sig")],
])
def test_missing_repeated_or_malformed_headers_get_invalid_client_attestation(app: FastAPI, headers: list) -> None:
    response = call(app, "POST", "/token", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client_attestation"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.requirement("HP-ATT-15")
def test_repeated_headers_are_refused_even_when_each_is_valid(world: AttestationWorld) -> None:
    app = make_app(world)
    att, pop = world.attestation(), world.pop(jti="dup-1")
    for headers in ([(ATTESTATION_HEADER, att), (ATTESTATION_HEADER.lower(), att), (POP_HEADER, pop)],
                    [(ATTESTATION_HEADER, att), (POP_HEADER, pop), (POP_HEADER.upper(), pop)]):
        response = call(app, "POST", "/token", headers=headers)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client_attestation"
    assert call(app, "POST", "/token", headers={ATTESTATION_HEADER: att, POP_HEADER: pop}).status_code == 200


@pytest.mark.requirement("HP-ATT-15")
@pytest.mark.parametrize(("headers", "detail"), [
    ([(ATTESTATION_HEADER, "a.b.c"), (ATTESTATION_HEADER, "a.b.c")], "ERR_ATT_HEADER_REPEATED"),
    ([(ATTESTATION_HEADER, "a.b.c"), (POP_HEADER, "a"), (POP_HEADER, "a")], "ERR_ATT_HEADER_REPEATED"),
    ([(ATTESTATION_HEADER, "a.b.c, d.e.f")], "ERR_ATT_HEADER_MALFORMED"),
    ([(ATTESTATION_HEADER, "")], "ERR_ATT_HEADER_MALFORMED"),
    ([(ATTESTATION_HEADER, "a" * 8193)], "ERR_ATT_HEADER_MALFORMED"),
    ([(ATTESTATION_HEADER, "a.b.c"), (POP_HEADER, "a" * 4097)], "ERR_ATT_HEADER_MALFORMED"),
    ([(POP_HEADER, "a.b.c")], "ERR_ATT_HEADER_MISSING"),
])
def test_header_reader_names_the_defect(headers: list, detail: str) -> None:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers]
    with pytest.raises(InvalidClientAttestation) as caught:
        read_attestation_headers(Headers(raw=raw))
    assert caught.value.detail == detail
    assert read_attestation_headers(Headers(raw=[])) == (None, None)
    assert read_attestation_headers(Headers({ATTESTATION_HEADER: " a.b.c "})) == ("a.b.c", None)


_header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)


@pytest.mark.requirement("HP-ATT-15", "HP-ATT-19")
@settings(max_examples=25)
@given(att=st.lists(_header_text, max_size=2), pop=st.lists(_header_text, max_size=2))
def test_arbitrary_headers_never_yield_a_500(app: FastAPI, att: list[str], pop: list[str]) -> None:
    headers = [(ATTESTATION_HEADER, v) for v in att] + [(POP_HEADER, v) for v in pop]
    response = call(app, "POST", "/token", headers=headers)
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("invalid_client_attestation", "use_attestation_challenge",
                                        "use_fresh_attestation")


@pytest.mark.requirement("HP-ATT-13")
def test_challenge_endpoint_answers_post_with_no_store(world: AttestationWorld, app: FastAPI) -> None:
    response = call(app, "POST", "/attestation/challenge")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    assert world.challenges.check(response.json()["attestation_challenge"], world.now)
    assert call(app, "GET", "/attestation/challenge").status_code == 405


@pytest.mark.requirement("HP-ATT-12", "HP-ATT-13")
def test_required_challenge_is_enforced_and_advertised_in_the_error(world: AttestationWorld) -> None:
    app = make_app(world, require_challenge=True)
    refused = call(app, "POST", "/token", headers={ATTESTATION_HEADER: world.attestation(),
                                                   POP_HEADER: world.pop(jti="c-1")})
    assert refused.status_code == 400 and refused.json()["error"] == "use_attestation_challenge"
    offered = refused.headers[CHALLENGE_HEADER]
    assert world.challenges.check(offered, world.now)
    from_endpoint = call(app, "POST", "/attestation/challenge").json()["attestation_challenge"]
    for n, challenge in enumerate((offered, from_endpoint)):
        ok = call(app, "POST", "/token", headers={ATTESTATION_HEADER: world.attestation(),
                                                  POP_HEADER: world.pop(jti=f"c-ok-{n}", challenge=challenge)})
        assert ok.status_code == 200, ok.json()


@pytest.mark.requirement("HP-ATT-16")
def test_optional_attestation_lets_plain_requests_through(world: AttestationWorld) -> None:
    app = make_app(world, required=False)
    assert call(app, "POST", "/token").json() == {"client_id": None, "method": None}
    bad = call(app, "POST", "/token", headers={ATTESTATION_HEADER: world.attestation(sub="someone")})
    assert bad.status_code == 401  # once presented, it must verify


@pytest.mark.requirement("HP-ATT-17")
def test_metadata_fragment(world: AttestationWorld, app: FastAPI) -> None:
    doc = call(app, "GET", "/.well-known/oauth-authorization-server").json()
    assert doc["client_attestation_signing_alg_values_supported"] == ["PS256", "ES256", "EdDSA"]
    assert doc["client_attestation_pop_signing_alg_values_supported"] == ["PS256", "ES256", "EdDSA"]
    assert doc["client_attestation_pop_methods_supported"] == ["attestation_pop_jwt", "dpop_combined"]
    assert doc["challenge_endpoint"].endswith("/attestation/challenge")
    optional = attestation_metadata(AttestationPolicy(pop_algorithms=("ES256",)), pop_methods=("dpop_combined",))
    assert optional["client_attestation_pop_methods_supported"] == ["dpop_combined", "none"]
    assert optional["client_attestation_pop_signing_alg_values_supported"] == ["ES256"]
    assert "challenge_endpoint" not in optional


# -- agent side ------------------------------------------------------------------------------------------------


def run_agent(app: FastAPI, auth: ClientAttestationAuth, n: int = 1) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=app_base(app)) as client:
            return [await client.post("/token", auth=auth) for _ in range(n)]

    return asyncio.run(go())


@pytest.mark.requirement("HP-ATT-18")
def test_agent_signs_a_fresh_pop_for_every_request(world: AttestationWorld) -> None:
    app = make_app(world)
    auth = ClientAttestationAuth(world.attestation(), world.instance_key, audience=world.audience,
                                 clock=FixedClock(world.now))
    responses = run_agent(app, auth, n=3)
    assert [r.status_code for r in responses] == [200, 200, 200]  # three jti values, no replay


@pytest.mark.requirement("HP-ATT-18", "HP-ATT-12")
def test_agent_answers_a_challenge_once(world: AttestationWorld) -> None:
    app = make_app(world, require_challenge=True)
    auth = ClientAttestationAuth(world.attestation(), world.instance_key, audience=world.audience,
                                 clock=FixedClock(world.now))
    (response,) = run_agent(app, auth)
    assert response.status_code == 200 and app.state.seen == 1
    assert auth.challenge is not None and world.challenges.check(auth.challenge, world.now)


@pytest.mark.requirement("HP-ATT-18")
def test_agent_never_loops_on_challenges(world: AttestationWorld) -> None:
    app = FastAPI()
    hits: list[str] = []

    @app.post("/token")
    async def always_challenge() -> JSONResponse:
        hits.append("x")
        return JSONResponse({"error": "use_attestation_challenge"}, status_code=400,
                            headers={CHALLENGE_HEADER: f"challenge-{len(hits)}"})

    auth = ClientAttestationAuth(world.attestation(), world.instance_key, audience=world.audience,
                                 clock=FixedClock(world.now))
    (response,) = run_agent(app, auth)
    assert response.status_code == 400 and len(hits) == 2


@pytest.mark.requirement("HP-ATT-18", "HP-ATT-13")
def test_agent_fetches_a_challenge_from_the_endpoint(world: AttestationWorld) -> None:
    app = make_app(world, require_challenge=True)

    async def go() -> tuple[str, int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=app_base(app)) as client:
            challenge = await afetch_attestation_challenge(client, world.audience + "/attestation/challenge")
            pop = build_client_attestation_pop(world.instance_key, audience=world.audience, now=world.now,
                                               challenge=challenge)
            response = await client.post("/token", headers={ATTESTATION_HEADER: world.attestation(),
                                                            POP_HEADER: pop})
            return challenge, response.status_code

    challenge, status = asyncio.run(go())
    assert status == 200 and world.challenges.check(challenge, world.now)


@pytest.mark.requirement("HP-ATT-14", "HP-ATT-18")
def test_agent_combined_mode_sends_no_pop_header(world: AttestationWorld) -> None:
    auth = ClientAttestationAuth(world.attestation(), world.instance_key, audience=world.audience,
                                 clock=FixedClock(world.now), combined=True)
    request = httpx.Request("POST", "https://as.example.org/token")
    flow = auth.auth_flow(request)
    sent = next(flow)
    assert ATTESTATION_HEADER in sent.headers and POP_HEADER not in sent.headers


@pytest.mark.requirement("HP-ATT-18")
def test_agent_sends_attestation_and_pop_only_to_the_audience_origin(world: AttestationWorld) -> None:
    """A PoP is bound to its aud only: another server that got one could present it to the AS (§11.1, §12)."""
    auth = ClientAttestationAuth(world.attestation(), world.instance_key, audience=world.audience,
                                 clock=FixedClock(world.now))
    for url in ("https://rs.example.org/mcp", "http://as.example.org/token", "https://as.example.org:8443/token",
                "https://evil.example/token"):
        request = httpx.Request("POST", url, headers={ATTESTATION_HEADER: "stale", POP_HEADER: "stale"})
        flow = auth.auth_flow(request)
        sent = next(flow)
        assert ATTESTATION_HEADER not in sent.headers and POP_HEADER not in sent.headers, url
        with pytest.raises(StopIteration):  # a challenge from another server is neither learnt nor answered
            flow.send(httpx.Response(400, json={"error": "use_attestation_challenge"},
                                     headers={CHALLENGE_HEADER: "from-elsewhere"}, request=sent))
        assert auth.challenge is None
    sent = next(auth.auth_flow(httpx.Request("POST", "https://AS.example.org:443/token")))
    assert ATTESTATION_HEADER in sent.headers and POP_HEADER in sent.headers
    extra = ClientAttestationAuth(world.attestation(), world.instance_key, audience=world.audience,
                                  origins=["https://par.example.org/par"])
    assert POP_HEADER in next(extra.auth_flow(httpx.Request("POST", "https://par.example.org/par"))).headers
    assert POP_HEADER not in next(extra.auth_flow(httpx.Request("POST", "https://as.example.org/token"))).headers
    for bad in ("http://as.example.org", "urn:example:as", "/token"):
        with pytest.raises(ConfigurationError):
            ClientAttestationAuth(world.attestation(), world.instance_key, audience=bad)
    local = ClientAttestationAuth(world.attestation(), world.instance_key, audience="http://127.0.0.1:8080")
    assert POP_HEADER in next(local.auth_flow(httpx.Request("POST", "http://127.0.0.1:8080/token"))).headers


@pytest.mark.requirement("HP-ATT-18")
def test_agent_does_not_read_a_streamed_response(world: AttestationWorld) -> None:
    """An MCP answer streams (SSE): the auth flow must hand it over unread; only a 400/401 challenge is read."""
    from starlette.responses import StreamingResponse

    app = FastAPI()

    @app.post("/mcp")
    async def stream() -> StreamingResponse:
        async def events():  # type: ignore[no-untyped-def]
            yield b"event: message\ndata: {}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    auth = ClientAttestationAuth(world.attestation(), world.instance_key, audience=world.audience,
                                 clock=FixedClock(world.now))

    async def go() -> tuple[bool, bytes]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=app_base(app)) as client, \
                client.stream("POST", "/mcp", auth=auth) as response:
            unread = not response.is_stream_consumed
            return unread, await response.aread()

    unread, body = asyncio.run(go())
    assert unread and body.startswith(b"event: message")
