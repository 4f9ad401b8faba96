"""RFC 9701 introspection responses and the phantom-token cache (HP-MCP-04, HP-MCP-05)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import InvalidToken
from hardened.jose import KeySet, SigningKey, Typ
from hardened.mcp.introspection import IntrospectionPolicy, token_hash, verify_introspection_response
from hardened.testing.mcp import introspection_bodies
from tests.mcp.conftest import ISSUER, RESOURCE, RS_CLIENT_ID, Signer, make_introspector

POLICY = IntrospectionPolicy(issuer=ISSUER, audience=RS_CLIENT_ID, resource=RESOURCE)
NOW = 1_767_225_600.0
KEY = SigningKey.generate("ES256")
KEYS = KeySet([KEY.public_key])


def info(**over):
    base = {"active": True, "client_id": "agent", "scope": "trades:read trades:write", "exp": NOW + 300,
            "aud": RESOURCE, "iss": ISSUER, "sub": "alice", "tier": "hardened", "cnf": {"jkt": "A" * 43},
            "tenant": "acme"}
    return {k: v for k, v in {**base, **over}.items() if v is not None}


def response(body=None, key=KEY, typ=Typ.INTROSPECTION, **claims):
    body = info() if body is None else body
    base = {"iss": ISSUER, "aud": RS_CLIENT_ID, "iat": int(NOW), "token_introspection": body}
    return key.sign_jws({**base, **claims}, typ=typ)


def verify(jwt, now=NOW):
    return verify_introspection_response(jwt, policy=POLICY, keys=KEYS, now=now)


@pytest.mark.requirement("HP-MCP-04")
def test_active_token_is_described() -> None:
    token = verify(response())
    assert token.client_id == "agent" and token.subject == "alice" and token.tier == "hardened"
    assert token.scopes == {"trades:read", "trades:write"} and token.jkt == "A" * 43 and token.x5t is None
    assert token.claims == {"tenant": "acme"} and token.expires_at == NOW + 300


@pytest.mark.requirement("HP-MCP-04")
def test_tier_without_a_tier_member_follows_the_binding() -> None:
    assert verify(response(body=info(tier=None))).tier == "hardened"
    assert verify(response(body=info(tier=None, cnf=None))).tier == "baseline"
    assert verify(response(body=info(tier="baseline"))).tier == "baseline"


DEFECTS = {
    "wrong typ": (lambda: response(typ=Typ.ACCESS_TOKEN), "ERR_JWS_TYP"),
    "unknown key": (lambda: response(key=SigningKey.generate("ES256")), "ERR_JWK_NOT_FOUND"),
    "wrong iss": (lambda: response(iss="http://evil"), "ERR_JWT_ISSUER"),
    "wrong aud": (lambda: response(aud="another-rs"), "ERR_JWT_AUDIENCE"),
    "stale iat": (lambda: response(iat=int(NOW) - 3600), "ERR_JWT_TOO_OLD"),
    "future iat": (lambda: response(iat=int(NOW) + 600), "ERR_JWT_NOT_YET_VALID"),
    "expired envelope": (lambda: response(exp=int(NOW) - 1), "ERR_JWT_EXPIRED"),
    "no token_introspection": (lambda: response(token_introspection="x"), "token_introspection is missing"),
    "inactive": (lambda: response(body={"active": False}), "inactive"),
    "active as string": (lambda: response(body=info(active="true")), "inactive"),
    "expired token": (lambda: response(body=info(exp=NOW - 1)), "expired"),
    "token without exp": (lambda: response(body=info(exp=None)), "token exp is missing or malformed"),
    "token exp string": (lambda: response(body=info(exp="9999999999")), "token exp is missing or malformed"),
    "other resource": (lambda: response(body=info(aud="http://127.0.0.1:9/o")), "token audience is another resource"),
    "no audience": (lambda: response(body=info(aud=None)), "token audience is another resource"),
    "token from another issuer": (lambda: response(body=info(iss="http://evil")), "token iss is another issuer"),
    "no client_id": (lambda: response(body=info(client_id=None)), "token client_id is missing"),
    "two bindings": (lambda: response(body=info(cnf={"jkt": "A" * 43, "x5t#S256": "B" * 43})), "two bindings"),
    "empty cnf": (lambda: response(body=info(cnf={})), "cnf carries no known binding"),
    "cnf not object": (lambda: response(body=info(cnf="x")), "cnf is not an object"),
    "short jkt": (lambda: response(body=info(cnf={"jkt": "x"})), "cnf member is not a thumbprint"),
    "unknown tier": (lambda: response(body=info(tier="gold")), "token tier is unknown"),
    "scope not string": (lambda: response(body=info(scope=["a"])), "introspection scope is not a string"),
}


@pytest.mark.requirement("HP-MCP-04")
@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_each_defect_is_invalid_token(name: str) -> None:
    make, detail = DEFECTS[name]
    with pytest.raises(InvalidToken) as exc:
        verify(make())
    assert detail in exc.value.detail


@pytest.mark.requirement("HP-MCP-04")
@given(st.one_of(st.text(max_size=300), st.binary(max_size=50), st.integers(), st.none(),
                 st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)))
def test_arbitrary_input_is_only_ever_invalid_token(value) -> None:
    with pytest.raises(InvalidToken):
        verify(value)


@pytest.mark.requirement("HP-MCP-04")
@given(introspection_bodies())
def test_arbitrary_introspection_bodies_never_raise_anything_else(body) -> None:
    with contextlib.suppress(InvalidToken):
        verify(response(body=body))


# -- the cache (HP-MCP-05) ------------------------------------------------------------------------------------------

@pytest.mark.requirement("HP-MCP-05")
def test_cache_key_is_the_token_hash() -> None:
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.requirement("HP-MCP-05")
def test_positive_cache_until_the_bound_then_revocation_is_seen(signer: Signer, clock) -> None:
    introspector = make_introspector(signer, clock, max_ttl=60)
    signer.issue("tok", exp=clock.now() + 600)

    async def run():
        first = await introspector.introspect("tok")
        signer.revoke("tok")
        clock.advance(59)
        assert await introspector.introspect("tok") == first  # within the cache bound
        assert signer.calls == 1
        clock.advance(1)
        with pytest.raises(InvalidToken) as exc:  # bound passed: the revocation is seen
            await introspector.introspect("tok")
        assert exc.value.detail == "inactive" and signer.calls == 2

    asyncio.run(run())


@pytest.mark.requirement("HP-MCP-05")
def test_cached_token_still_expires_at_its_exp(signer: Signer, clock) -> None:
    introspector = make_introspector(signer, clock, max_ttl=600)
    signer.issue("tok", exp=clock.now() + 30)

    async def run():
        await introspector.introspect("tok")
        clock.advance(30)
        with pytest.raises(InvalidToken):
            await introspector.introspect("tok")

    asyncio.run(run())


@pytest.mark.requirement("HP-MCP-05")
def test_negative_cache_is_short(signer: Signer, clock) -> None:
    introspector = make_introspector(signer, clock, negative_ttl=5)

    async def run():
        for _ in range(3):
            with pytest.raises(InvalidToken):
                await introspector.introspect("unknown")
        assert signer.calls == 1
        signer.issue("unknown")
        clock.advance(5)
        assert (await introspector.introspect("unknown")).client_id == "agent-1"
        assert signer.calls == 2

    asyncio.run(run())


@pytest.mark.requirement("HP-MCP-05")
def test_failures_to_verify_the_as_are_not_cached(signer: Signer, clock) -> None:
    introspector = make_introspector(signer, clock)
    signer.issue("tok")
    signer.audience = "someone-else"

    async def run():
        for _ in range(2):
            with pytest.raises(InvalidToken):
                await introspector.introspect("tok")
        assert signer.calls == 2
        signer.audience = RS_CLIENT_ID
        assert (await introspector.introspect("tok")).subject == "alice"

    asyncio.run(run())


@pytest.mark.requirement("HP-MCP-05")
def test_cache_is_bounded(signer: Signer, clock) -> None:
    introspector = make_introspector(signer, clock, size=3)

    async def run():
        for i in range(5):
            await introspector.introspect(signer.issue(f"tok-{i}"))
        assert len(introspector._positive) == 3
        await introspector.introspect("tok-0")  # evicted: fetched again
        assert signer.calls == 6

    asyncio.run(run())


@pytest.mark.requirement("HP-MCP-05")
def test_key_rotation_refetches_the_jwks_once(signer: Signer, clock) -> None:
    introspector = make_introspector(signer, clock)
    signer.issue("a")
    signer.issue("b")

    async def run():
        await introspector.introspect("a")
        signer.key = SigningKey.generate("ES256")
        with pytest.raises(InvalidToken):  # within the refetch interval: not refetched
            await introspector.introspect("b")
        clock.advance(31)
        assert (await introspector.introspect("b")).subject == "alice"

    asyncio.run(run())


@pytest.mark.requirement("HP-MCP-04")
@pytest.mark.parametrize("token", ["", "x" * 4097])
def test_token_size_is_bounded(signer: Signer, clock, token: str) -> None:
    with pytest.raises(InvalidToken):
        asyncio.run(make_introspector(signer, clock).introspect(token))
    assert signer.calls == 0
