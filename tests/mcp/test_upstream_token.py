"""The upstream API's token validation and data filtering (HP-MCP-14, HP-MCP-15)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import InvalidToken
from hardened.jose import KeySet, SigningKey, Typ
from hardened.mcp.trades import TradeStore, UserClaims
from hardened.mcp.upstream_token import UpstreamTokenPolicy, verify_upstream_token

NOW = 1_767_225_600.0
ISSUER, AUD = "http://127.0.0.1:9000", "http://127.0.0.1:9003"
KEY = SigningKey.generate("ES256")
POLICY = UpstreamTokenPolicy(issuer=ISSUER, audience=AUD, clients=frozenset({"mcp-server"}))


def at(key=KEY, typ=Typ.ACCESS_TOKEN, **over):
    claims = {"iss": ISSUER, "aud": AUD, "exp": NOW + 120, "iat": NOW, "sub": "alice", "client_id": "mcp-server",
              "jti": "j1", "scope": "trades:read", "cnf": {"jkt": "J" * 43}, "act": {"sub": "mcp-server"},
              "tenant": "acme", "country": "GB", "role": "trader"}
    claims.update(over)
    return key.sign_jws({k: v for k, v in claims.items() if v is not None}, typ=typ)


def verify(token, now=NOW):
    return verify_upstream_token(token, policy=POLICY, keys=KeySet([KEY.public_key]), now=now)


@pytest.mark.requirement("HP-MCP-14")
def test_valid_exchanged_token() -> None:
    v = verify(at())
    assert (v.subject, v.client_id, v.jkt, v.actor) == ("alice", "mcp-server", "J" * 43, "mcp-server")
    assert v.scopes == {"trades:read"}


DEFECTS = {
    "typ": (lambda: at(typ=Typ.INTROSPECTION), "ERR_JWS_TYP"),
    "key": (lambda: at(key=SigningKey.generate("EdDSA")), "ERR_JWK_NOT_FOUND"),
    "iss": (lambda: at(iss="http://evil"), "ERR_JWT_ISSUER"),
    "aud": (lambda: at(aud="http://127.0.0.1:9001/mcp"), "ERR_JWT_AUDIENCE"),
    "exp": (lambda: at(exp=NOW - 1), "ERR_JWT_EXPIRED"),
    "no sub": (lambda: at(sub=None), "ERR_JWT_CLAIM_MISSING"),
    "no client_id": (lambda: at(client_id=None), "ERR_JWT_CLAIM_MISSING"),
    "no jti": (lambda: at(jti=None), "ERR_JWT_CLAIM_MISSING"),
    "lifetime": (lambda: at(exp=NOW + 7200), "ERR_JWT_CLAIM_INVALID"),
    "client": (lambda: at(client_id="someone-else"), "client_id is not an allowed caller"),
    "unbound": (lambda: at(cnf=None), "not DPoP-bound"),
    "x5t": (lambda: at(cnf={"jkt": "J" * 43, "x5t#S256": "X" * 43}), "not DPoP-bound"),
    "scope list": (lambda: at(scope=["trades:read"]), "must be strings"),
}


@pytest.mark.requirement("HP-MCP-14")
@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_each_defect_is_refused(name) -> None:
    make, detail = DEFECTS[name]
    with pytest.raises(InvalidToken) as exc:
        verify(make())
    assert detail in exc.value.detail


@pytest.mark.requirement("HP-MCP-14")
@given(st.dictionaries(st.sampled_from(["iss", "aud", "exp", "iat", "sub", "client_id", "jti", "scope", "cnf", "act"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10),
                                 st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2)), max_size=6))
def test_arbitrary_claims_are_accepted_or_invalid_token(over) -> None:
    with contextlib.suppress(InvalidToken):
        verify(at(**over))


def user(**over) -> UserClaims:
    claims = {"sub": "user-alice", "tenant": "acme", "country": "GB", "role": "viewer", **over}
    parsed = UserClaims.from_claims(claims)
    assert parsed is not None
    return parsed


@pytest.mark.requirement("HP-MCP-15")
def test_trades_are_filtered_by_tenant_country_and_role(tmp_path) -> None:
    store = TradeStore(tmp_path / "trades.sqlite")
    store.seed(NOW)
    store.seed(NOW)  # idempotent
    assert {t["trader"] for t in store.visible(user())} == {"user-alice", "user-bob"}
    assert {t["trader"] for t in store.visible(user(role="admin"))} == {"user-alice", "user-bob", "user-claire"}
    assert {t["trader"] for t in store.visible(user(tenant="globex", country="US"))} == {"user-erin"}
    assert store.visible(user(tenant="initech")) == []
    assert [t["symbol"] for t in store.visible(user(), symbol="VOD.L")] == ["VOD.L"]
    placed = store.place(user(role="trader"), symbol="X", side="buy", quantity=1, price=2.0, now=NOW)
    assert placed["tenant"] == "acme" and placed["country"] == "GB" and placed["trader"] == "user-alice"
    assert placed["id"] in {t["id"] for t in store.visible(user())}


@pytest.mark.requirement("HP-MCP-15")
@pytest.mark.parametrize("claims", [
    {"sub": "a", "tenant": "acme", "country": "GB"},
    {"sub": "a", "tenant": "acme", "country": "GB", "role": "root"},
    {"sub": "a", "tenant": "", "country": "GB", "role": "viewer"},
    {"sub": "a", "tenant": ["acme"], "country": "GB", "role": "viewer"},
])
def test_tokens_without_usable_user_claims_get_no_data(claims) -> None:
    assert UserClaims.from_claims(claims) is None
