"""The MCP DPoP check reads the common request straight from the ASGI scope (hardened.mcp.binding); every request,
common or not, must get exactly the answer of ``DPoPVerifier.check_resource_request`` (RFC 9449 §7.1, HP-MCP-06)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from hardened.adapters.memory import MemoryReplayCache
from hardened.clock import FixedClock
from hardened.core.dpop import build_dpop_proof
from hardened.errors import OAuthError
from hardened.jose import SigningKey
from hardened.mcp.binding import dpop_proof_check

ORIGIN = "http://127.0.0.1:9001"
TOKEN = "pQ4Yq0m0oBq8wO1xgk3T3c9h6WZr3m8bqW2sQ1nVdYs"
AGENT, THIEF = SigningKey.generate("ES256"), SigningKey.generate("ES256")
_jti = itertools.count()

#: Each mutation turns the well-formed request into one the fast path must hand to the full check (or not).
MUTATIONS = ("none", "query", "query_token", "two_authorization", "two_dpop", "no_dpop", "no_authorization",
             "bearer", "lower_scheme", "double_space", "token_mismatch", "comma", "empty_dpop", "upper_key",
             "no_raw_path", "wrong_jkt", "empty_jkt", "thief", "wrong_htm", "wrong_path", "padded_dpop",
             "token_not_token68", "huge_authorization")


def _request(clock: FixedClock, mutation: str) -> tuple[dict[str, Any], str]:
    key = THIEF if mutation == "thief" else AGENT
    htm = "GET" if mutation == "wrong_htm" else "POST"
    proof = build_dpop_proof(key, htm=htm, htu=ORIGIN + "/mcp", iat=clock.now(), jti=f"j{next(_jti)}",
                             access_token=TOKEN)
    authorization = {"bearer": f"Bearer {TOKEN}", "lower_scheme": f"dpop {TOKEN}", "double_space": f"DPoP  {TOKEN}",
                     "token_mismatch": "DPoP other-token", "token_not_token68": f"DPoP {TOKEN}!",
                     "huge_authorization": "DPoP " + "a" * 9000}.get(mutation, f"DPoP {TOKEN}")
    dpop = {"comma": proof + "," + proof, "empty_dpop": " ", "padded_dpop": f"  {proof} "}.get(mutation, proof)
    headers = [(b"host", b"127.0.0.1:9001"), (b"authorization", authorization.encode()), (b"dpop", dpop.encode())]
    if mutation == "two_authorization":
        headers.append((b"authorization", authorization.encode()))
    if mutation == "two_dpop":
        headers.append((b"dpop", proof.encode()))
    if mutation == "no_dpop":
        headers = headers[:2]
    if mutation == "no_authorization":
        headers = [headers[0], headers[2]]
    if mutation == "upper_key":
        headers[2] = (b"DPoP", dpop.encode())
    scope: dict[str, Any] = {
        "type": "http", "method": "POST", "path": "/mcp",
        "raw_path": b"/other" if mutation == "wrong_path" else b"/mcp",
        "query_string": {"query": b"a=1", "query_token": b"access_token=x"}.get(mutation, b""), "headers": headers}
    if mutation == "no_raw_path":
        del scope["raw_path"]
    jkt = {"wrong_jkt": THIEF.public_key.thumbprint, "empty_jkt": ""}.get(mutation, AGENT.public_key.thumbprint)
    return scope, jkt


def _outcome(call: Any) -> tuple[str, str | None, str | None]:
    try:
        call()
    except OAuthError as err:
        return type(err).__name__, err.error, err.detail
    return "accepted", None, None


@pytest.mark.requirement("HP-MCP-06")
@given(mutation=st.sampled_from(MUTATIONS), replayed=st.booleans())
def test_the_scope_check_answers_as_the_full_check(mutation: str, replayed: bool) -> None:
    clock = FixedClock()
    fast = dpop_proof_check(ORIGIN, replay=MemoryReplayCache(), clock=clock, algorithms=("ES256",))
    full = dpop_proof_check(ORIGIN, replay=MemoryReplayCache(), clock=clock, algorithms=("ES256",)).verifier
    scope, jkt = _request(clock, mutation)
    for _ in range(2 if replayed else 1):  # the second time, both see a replay (or the same refusal)
        got = _outcome(lambda: fast(dict(scope), access_token=TOKEN, jkt=jkt))
        want = _outcome(lambda: full.check_resource_request(Request(dict(scope)), TOKEN, jkt))
        assert got == want


@pytest.mark.requirement("HP-MCP-06")
def test_the_common_request_is_accepted_once_and_a_defect_is_refused() -> None:
    clock = FixedClock()
    check = dpop_proof_check(ORIGIN, replay=MemoryReplayCache(), clock=clock, algorithms=("ES256",))
    scope, jkt = _request(clock, "none")
    assert _outcome(lambda: check(scope, access_token=TOKEN, jkt=jkt)) == ("accepted", None, None)
    assert _outcome(lambda: check(scope, access_token=TOKEN, jkt=jkt))[2] == "DPOP_REPLAY"
    scope, jkt = _request(clock, "thief")
    assert _outcome(lambda: check(scope, access_token=TOKEN, jkt=jkt))[2] == "DPOP_JKT_MISMATCH"
