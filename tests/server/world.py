"""A complete authorization server in-process (TestClient) with real stores, keys and an injected clock."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.testclient import TestClient

from hardened.adapters.memory import MemoryReplayCache
from hardened.adapters.memory_as import MemoryASStore
from hardened.client.assertion import assertion_params
from hardened.clock import FixedClock
from hardened.core.dcr_policy import ClientMetadata, RegistrationPolicy
from hardened.core.dpop import build_dpop_proof
from hardened.core.pkce import code_challenge_of
from hardened.core.scopes import ScopePolicy
from hardened.jose import SigningKey
from hardened.ports.as_stores import ASStore, ClientRecord, User
from hardened.server.app import create_app
from hardened.server.config import ResourceServer, ServerConfig, ServerStores
from hardened.server.passwords import hash_password

ISSUER = "http://127.0.0.1:9"
MCP = "https://mcp.example/mcp"
OTHER_RS = "https://other.example/mcp"
UPSTREAM = "https://upstream.example/api"
REDIRECT = "https://agent.example/cb"
SCOPES = ScopePolicy({"tools:read": "baseline", "trades:read": "hardened", "trades:write": "hardened",
                      "admin": "attested"})
PASSWORD = "correct horse battery staple"
_HASH = hash_password(PASSWORD)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Keys:
    as_key: SigningKey = field(default_factory=lambda: SigningKey.generate("ES256"))
    old_as_key: SigningKey = field(default_factory=lambda: SigningKey.generate("EdDSA"))
    agent: SigningKey = field(default_factory=lambda: SigningKey.generate("ES256"))
    agent_dpop: SigningKey = field(default_factory=lambda: SigningKey.generate("ES256"))
    rs: SigningKey = field(default_factory=lambda: SigningKey.generate("ES256"))
    rs_dpop: SigningKey = field(default_factory=lambda: SigningKey.generate("EdDSA"))
    other_rs: SigningKey = field(default_factory=lambda: SigningKey.generate("ES256"))


def make_config(keys: Keys, issuer: str = ISSUER, **changes: Any) -> ServerConfig:
    registration = RegistrationPolicy(scopes=SCOPES, baseline_enabled=changes.pop("baseline", True),
                                      statement_reuse=changes.pop("statement_reuse", False))
    rs = ResourceServer("mcp-server", MCP, {"keys": [keys.rs.public_jwk()]}, upstreams=(UPSTREAM,),
                        upstream_scopes=("trades:read", "tools:read"))
    other = ResourceServer("other-rs", OTHER_RS, {"keys": [keys.other_rs.public_jwk()]})
    return ServerConfig(issuer=issuer, signing_keys=(keys.as_key, keys.old_as_key), scopes=SCOPES,
                        resource_servers=(rs, other), registration=registration,
                        scope_descriptions={"trades:read": "Read your trades"}, **changes)


def agent_metadata(keys: Keys, **changes: Any) -> ClientMetadata:
    base = dict(client_name="Trading Agent", redirect_uris=(REDIRECT,), scopes=("trades:read", "trades:write"),
                token_endpoint_auth_method="private_key_jwt", tier="hardened", sender_constraint="dpop",
                grant_types=("authorization_code", "refresh_token"), jwks={"keys": [keys.agent.public_jwk()]},
                software_id="sw-trading", org_name="Acme Agents", authority="https://authority.example")
    return ClientMetadata(**{**base, **changes})


class World:
    """One AS with a hardened agent ``agent-1``, a baseline client ``public-1`` and the user ``alice``."""

    def __init__(self, keys: Keys, clock: FixedClock | None = None, store: ASStore | None = None,
                 **config_changes: Any) -> None:
        self.keys = keys
        self.clock = clock or FixedClock()
        self.store = store or MemoryASStore()
        self.replay = MemoryReplayCache()
        self.config = make_config(keys, **config_changes)
        self.app = create_app(self.config, ServerStores(self.store, self.replay), self.clock)
        self.http = TestClient(self.app, base_url=ISSUER, follow_redirects=False)
        self.store.add_client(ClientRecord("agent-1", agent_metadata(keys), "0" * 64, self.clock.now()),
                              statement_jti=None, statement_exp=0)
        public = ClientMetadata(client_name="Stock MCP client", redirect_uris=("http://127.0.0.1:5555/cb",),
                                scopes=("tools:read",), token_endpoint_auth_method="none", tier="baseline",
                                sender_constraint="none", grant_types=("authorization_code", "refresh_token"))
        self.store.add_client(ClientRecord("public-1", public, "0" * 64, self.clock.now()), statement_jti=None,
                              statement_exp=0)
        self.store.put_user(User("alice", _HASH, "user-alice", "trader", "acme", "DE"))

    # credentials
    def auth(self, client_id: str = "agent-1", key: SigningKey | None = None, **kwargs: Any) -> dict[str, str]:
        return assertion_params(key or self.keys.agent, client_id, ISSUER, now=self.clock.now(), **kwargs)

    def rs_auth(self, **kwargs: Any) -> dict[str, str]:
        return self.auth("mcp-server", self.keys.rs, **kwargs)

    def proof(self, path: str, key: SigningKey | None = None, method: str = "POST", **kwargs: Any) -> dict[str, str]:
        proof = build_dpop_proof(key or self.keys.agent_dpop, htm=method, htu=ISSUER + path, iat=self.clock.now(),
                                 jti=secrets.token_urlsafe(12), **kwargs)
        return {"DPoP": proof}

    # the flow
    def par_params(self, verifier: str, **changes: Any) -> dict[str, str]:
        params = {"response_type": "code", "client_id": "agent-1", "redirect_uri": REDIRECT, "scope": "trades:read",
                  "resource": MCP, "code_challenge": code_challenge_of(verifier), "code_challenge_method": "S256",
                  "state": "st-1"}
        params.update(changes)
        return {k: v for k, v in params.items() if v is not None}

    def par(self, verifier: str = "v" * 43, *, auth: dict | None = None, dpop: bool = True, **changes: Any):
        headers = self.proof("/par") if dpop else {}
        data = {**self.par_params(verifier, **changes), **(auth if auth is not None else self.auth())}
        return self.http.post("/par", data=data, headers=headers)

    def login_and_consent(self, authorize_query: dict[str, str], decision: str = "approve") -> dict[str, list[str]]:
        r = self.http.get("/authorize", params=authorize_query)
        assert r.status_code == 303, r.text
        login = self.http.get(r.headers["location"])
        interaction = parse_qs(urlsplit(r.headers["location"]).query)["interaction"][0]
        csrf = CSRF.search(login.text).group(1)
        r = self.http.post("/login", data={"interaction": interaction, "csrf": csrf, "username": "alice",
                                           "password": PASSWORD})
        assert r.status_code == 303, r.text
        assert self.http.get(r.headers["location"]).status_code == 200
        r = self.http.post("/consent", data={"interaction": interaction, "csrf": csrf, "decision": decision})
        assert r.status_code == 303, r.text
        return parse_qs(urlsplit(r.headers["location"]).query)

    def code(self, verifier: str = "v" * 43, **par_changes: Any) -> str:
        r = self.par(verifier, **par_changes)
        assert r.status_code == 201, r.text
        answer = self.login_and_consent({"client_id": "agent-1", "request_uri": r.json()["request_uri"]})
        return answer["code"][0]

    def token(self, code: str, verifier: str = "v" * 43, *, dpop_key: SigningKey | None = None, proof: bool = True,
              auth: dict | None = None, **changes: Any):
        data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                "redirect_uri": REDIRECT, **(auth if auth is not None else self.auth()), **changes}
        headers = self.proof("/token", dpop_key) if proof else {}
        return self.http.post("/token", data={k: v for k, v in data.items() if v is not None}, headers=headers)

    def tokens(self) -> dict[str, Any]:
        r = self.token(self.code())
        assert r.status_code == 200, r.text
        return r.json()

    def introspect(self, token: str, *, jwt: bool = False, auth: dict | None = None):
        headers = {"Accept": "application/token-introspection+jwt"} if jwt else {}
        return self.http.post("/introspect", data={"token": token, **(auth or self.rs_auth())}, headers=headers)
