"""DPoP-bound tokens at the MCP layer: every proof defect refused, the good proof accepted (HP-MCP-06, HP-MCP-07)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from hardened.core.dpop import build_dpop_proof
from hardened.jose import SigningKey, Typ
from tests.mcp.conftest import RESOURCE, Signer, make_stack, mcp_client
from tests.mcp.test_layer import ACCEPT, INIT, params

AGENT = SigningKey.generate("ES256")
THIEF = SigningKey.generate("ES256")
_jti = itertools.count()


def proof(clock, key=AGENT, *, htm="POST", htu=RESOURCE, token="tok", iat=None, nonce=None, jti=None):
    return build_dpop_proof(key, htm=htm, htu=htu, iat=clock.now() if iat is None else iat,
                            jti=jti or f"jti-{next(_jti)}", nonce=nonce, access_token=token)


def send(stack, requests):
    async def main():
        async with mcp_client(stack[3]) as client:
            return [await client.post("/mcp", json=INIT, headers=h) for h in requests]
    return asyncio.run(main())


def bound(signer: Signer) -> None:
    signer.issue("tok", cnf={"jkt": AGENT.public_key.thumbprint}, tier="hardened", scope="trades:read trades:write")


@pytest.mark.requirement("HP-MCP-06")
def test_bound_token_with_its_proof_is_accepted(signer, clock) -> None:
    bound(signer)
    stack = make_stack(signer, clock)
    (r,) = send(stack, [{**ACCEPT, "Authorization": "DPoP tok", "DPoP": proof(clock)}])
    assert r.status_code == 200, r.headers


def _defects(clock):
    other = SigningKey.generate("ES256")
    return {
        "no proof": ({}, "invalid_dpop_proof"),
        "stolen token, thief's key": ({"DPoP": proof(clock, THIEF)}, "invalid_token"),
        "wrong method": ({"DPoP": proof(clock, htm="GET")}, "invalid_dpop_proof"),
        "wrong URL": ({"DPoP": proof(clock, htu="http://127.0.0.1:9001/other")}, "invalid_dpop_proof"),
        "wrong host in htu": ({"DPoP": proof(clock, htu="http://evil.example/mcp")}, "invalid_dpop_proof"),
        "proof for another token": ({"DPoP": proof(clock, token="other")}, "invalid_dpop_proof"),
        "proof without ath": ({"DPoP": build_dpop_proof(AGENT, htm="POST", htu=RESOURCE, iat=clock.now(),
                                                         jti="no-ath")}, "invalid_dpop_proof"),
        "stale proof": ({"DPoP": proof(clock, iat=clock.now() - 120)}, "invalid_dpop_proof"),
        "future proof": ({"DPoP": proof(clock, iat=clock.now() + 120)}, "invalid_dpop_proof"),
        "wrong typ": ({"DPoP": AGENT.sign_jws({"jti": "x", "htm": "POST", "htu": RESOURCE, "iat": clock.now()},
                                              typ=Typ.ACCESS_TOKEN)}, "invalid_dpop_proof"),
        "garbage proof": ({"DPoP": "not-a-jwt"}, "invalid_dpop_proof"),
        "another key entirely": ({"DPoP": proof(clock, other)}, "invalid_token"),
    }


@pytest.mark.requirement("HP-MCP-06")
@pytest.mark.parametrize("name", sorted(_defects(__import__("hardened.clock").clock.FixedClock())))
def test_every_dpop_defect_is_refused(signer, clock, name) -> None:
    bound(signer)
    extra, code = _defects(clock)[name]
    (r,) = send(make_stack(signer, clock), [{**ACCEPT, "Authorization": "DPoP tok", **extra}])
    assert r.status_code == 401, name
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("DPoP ") and f'error="{code}"' in challenge
    assert "resource_metadata=" in challenge


@pytest.mark.requirement("HP-MCP-06")
def test_two_dpop_headers_are_refused(signer, clock) -> None:
    bound(signer)
    raw = [*ACCEPT.items(), ("Authorization", "DPoP tok"), ("DPoP", proof(clock)), ("DPoP", proof(clock))]
    (r,) = send(make_stack(signer, clock), [raw])
    assert r.status_code == 401 and 'error="invalid_dpop_proof"' in r.headers["www-authenticate"]


@pytest.mark.requirement("HP-MCP-06")
def test_a_proof_is_accepted_once(signer, clock) -> None:
    bound(signer)
    headers = {**ACCEPT, "Authorization": "DPoP tok", "DPoP": proof(clock)}
    first, replay = send(make_stack(signer, clock), [headers, headers])
    assert first.status_code == 200
    assert replay.status_code == 401 and "already been used" in replay.headers["www-authenticate"]


@pytest.mark.requirement("HP-MCP-06")
def test_certificate_bound_tokens_are_refused_without_the_certificate_check(signer, clock) -> None:
    signer.issue("tok", cnf={"x5t#S256": "C" * 43}, tier="hardened")
    (r,) = send(make_stack(signer, clock), [{**ACCEPT, "Authorization": "DPoP tok", "DPoP": proof(clock)}])
    assert r.status_code == 401 and "certificate-bound" in r.headers["www-authenticate"]


@pytest.mark.requirement("HP-MCP-06")
def test_nonce_required_gets_use_dpop_nonce_then_passes(signer, clock) -> None:
    bound(signer)
    stack = make_stack(signer, clock, require_dpop_nonce=True)

    async def main():
        async with mcp_client(stack[3]) as client:
            headers = {**ACCEPT, "Authorization": "DPoP tok", "DPoP": proof(clock)}
            first = await client.post("/mcp", json=INIT, headers=headers)
            nonce = first.headers["dpop-nonce"]
            headers["DPoP"] = proof(clock, nonce=nonce)
            return first, await client.post("/mcp", json=INIT, headers=headers)

    first, second = asyncio.run(main())
    assert first.status_code == 401 and params(first.headers["www-authenticate"])["error"] == '"use_dpop_nonce"'
    assert second.status_code == 200


@pytest.mark.requirement("HP-MCP-07")
def test_bound_token_as_bearer_is_a_refused_downgrade(signer, clock) -> None:
    bound(signer)
    (r,) = send(make_stack(signer, clock), [{**ACCEPT, "Authorization": "Bearer tok", "DPoP": proof(clock)}])
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
