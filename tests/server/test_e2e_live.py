"""The full flow over real HTTP on loopback (uvicorn): PAR with DPoP -> authorize -> login and consent by form ->
token with private_key_jwt and DPoP -> signed introspection with cnf.jkt -> token exchange to an at+jwt."""

from __future__ import annotations

import re
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hardened.adapters.memory import MemoryReplayCache
from hardened.adapters.sqlite_as import SQLiteASStore
from hardened.client.assertion import assertion_params
from hardened.clock import SystemClock
from hardened.core.dpop import build_dpop_proof
from hardened.core.pkce import code_challenge_of
from hardened.core.token_exchange import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE
from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, KeySet, Typ, verify_jwt
from hardened.ports.as_stores import ClientRecord, User
from hardened.server.app import create_app
from hardened.server.config import ServerStores
from tests.server.live import live_server
from tests.server.world import _HASH, MCP, PASSWORD, REDIRECT, UPSTREAM, agent_metadata, make_config

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _proof(key, method: str, url: str, **kw) -> dict[str, str]:
    return {"DPoP": build_dpop_proof(key, htm=method, htu=url, iat=time.time(), jti=secrets.token_urlsafe(12), **kw)}


def browser_consent(http: httpx.Client, authorize_url: str) -> dict[str, list[str]]:
    """Drive the documented login and consent forms like a headless user agent."""
    r = http.get(authorize_url)
    assert r.status_code == 303, r.text
    login = http.get(r.headers["location"])
    interaction = parse_qs(urlsplit(r.headers["location"]).query)["interaction"][0]
    csrf = CSRF.search(login.text).group(1)
    r = http.post("/login", data={"interaction": interaction, "csrf": csrf, "username": "alice", "password": PASSWORD})
    assert r.status_code == 303
    assert http.get(r.headers["location"]).status_code == 200
    r = http.post("/consent", data={"interaction": interaction, "csrf": csrf, "decision": "approve"})
    assert r.status_code == 303
    return parse_qs(urlsplit(r.headers["location"]).query)


def live_as(keys, tmp_path, **config_changes):
    """A live AS on SQLite with agent-1 registered and alice as a user (yields base URL)."""
    store = SQLiteASStore(tmp_path / "as.db")
    store.add_client(ClientRecord("agent-1", agent_metadata(keys), "0" * 64, time.time()), statement_jti=None,
                     statement_exp=0)
    store.put_user(User("alice", _HASH, "user-alice", "trader", "acme", "DE"))
    return live_server(lambda base: create_app(make_config(keys, issuer=base, **config_changes),
                                               ServerStores(store, MemoryReplayCache()), SystemClock()))


def run_flow(http: httpx.Client, keys, base: str, client_id: str) -> dict:
    """PAR with DPoP -> authorize -> login and consent -> token -> signed introspection -> token exchange."""
    meta = http.get("/.well-known/oauth-authorization-server").json()
    verifier = secrets.token_urlsafe(48)
    par = http.post(meta["pushed_authorization_request_endpoint"], headers=_proof(
        keys.agent_dpop, "POST", meta["pushed_authorization_request_endpoint"]), data={
        "response_type": "code", "redirect_uri": REDIRECT, "scope": "trades:read", "resource": MCP,
        "code_challenge": code_challenge_of(verifier), "code_challenge_method": "S256", "state": "s1",
        **assertion_params(keys.agent, client_id, base, now=time.time())})
    assert par.status_code == 201, par.text
    answer = browser_consent(http, f"{meta['authorization_endpoint']}?client_id={client_id}&request_uri="
                                   f"{par.json()['request_uri']}")
    assert answer["iss"] == [base] and answer["state"] == ["s1"]
    token = http.post(meta["token_endpoint"], headers=_proof(keys.agent_dpop, "POST", meta["token_endpoint"]),
                      data={"grant_type": "authorization_code", "code": answer["code"][0],
                            "code_verifier": verifier, "redirect_uri": REDIRECT,
                            **assertion_params(keys.agent, client_id, base, now=time.time())})
    assert token.status_code == 200 and token.json()["token_type"] == "DPoP", token.text
    access = token.json()["access_token"]
    jwks = KeySet.from_jwks(http.get(meta["jwks_uri"]).json())
    r = http.post(meta["introspection_endpoint"], headers={"Accept": "application/token-introspection+jwt"},
                  data={"token": access, **assertion_params(keys.rs, "mcp-server", base, now=time.time())})
    policy = JWTPolicy(jws=JWSPolicy(typ=Typ.INTROSPECTION), claims=ClaimsPolicy(issuer=base, audience="mcp-server",
                                                                              require_exp=False))
    info = verify_jwt(r.text, policy=policy, keys=jwks, now=time.time()).claims["token_introspection"]
    assert info["active"] is True and info["cnf"] == {"jkt": keys.agent_dpop.thumbprint}
    assert info["client_id"] == client_id
    r = http.post(meta["token_endpoint"], headers=_proof(keys.rs_dpop, "POST", meta["token_endpoint"]), data={
        "grant_type": TOKEN_EXCHANGE, "subject_token": access, "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": UPSTREAM, **assertion_params(keys.rs, "mcp-server", base, now=time.time())})
    assert r.status_code == 200, r.text
    at_policy = JWTPolicy(jws=JWSPolicy(typ=Typ.ACCESS_TOKEN), claims=ClaimsPolicy(issuer=base, audience=UPSTREAM))
    at = verify_jwt(r.json()["access_token"], policy=at_policy, keys=jwks, now=time.time()).claims
    assert at["act"] == {"sub": "mcp-server"} and at["cnf"] == {"jkt": keys.rs_dpop.thumbprint}
    return at


@pytest.mark.slow
@pytest.mark.requirement("HP-AS-13", "HP-TE-04", "HP-TOK-08")
def test_full_flow_over_real_http(keys, tmp_path) -> None:
    with live_as(keys, tmp_path) as base, httpx.Client(base_url=base, follow_redirects=False) as http:
        run_flow(http, keys, base, "agent-1")
