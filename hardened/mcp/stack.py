"""The whole hardened deployment on loopback: authority, authorization server, upstream API and MCP server.

Each part is a real uvicorn server on 127.0.0.1 (ephemeral ports) over its own SQLite files in one data folder;
they find each other only through metadata and configured URLs. Used by ``hardened demo`` (and ``--serve``),
``hardened serve`` and the end-to-end tests.

- authority: initialised in ``<data>/authority``; its admin API registers the agent's organisation and software
  and signs the software statement (:func:`enrol_agent`);
- authorization server: trusts the authority (keys fetched from its JWKS, status lists over HTTP), scopes
  ``trades:read`` (baseline) and ``trades:write`` (hardened), the MCP server as resource server with the upstream
  as its only token-exchange audience, and one user (alice, trader, tenant acme, country GB);
- upstream trades API and the reference MCP server, both checking DPoP proofs with SQLite replay caches.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from authority.app import create_app as create_authority_app
from authority.service import Authority
from hardened.adapters.sqlite_as import SQLiteASStore
from hardened.adapters.sqlite_replay import SQLiteReplayCache
from hardened.client.assertion import assertion_params
from hardened.clock import SystemClock
from hardened.core.dcr_policy import RegistrationPolicy
from hardened.core.scopes import ScopePolicy
from hardened.jose import SigningKey
from hardened.mcp import stack_attestation as attested
from hardened.mcp.binding import dpop_proof_check
from hardened.mcp.discovery import JWKSSource
from hardened.mcp.exchange import ExchangingUpstream, ServerCredentials
from hardened.mcp.guard import ResourceGuard
from hardened.mcp.introspection import IntrospectionPolicy, Introspector
from hardened.mcp.policy import ResourcePolicy
from hardened.mcp.server import TRADE_TOOLS, build_app
from hardened.mcp.servers import Listener, RunningServer, reserve
from hardened.mcp.trades import TradeStore
from hardened.mcp.upstream import UpstreamConfig, build_upstream_app
from hardened.mcp.upstream_token import UpstreamTokenPolicy
from hardened.ports.as_stores import User
from hardened.server.app import create_app as create_as_app
from hardened.server.config import ResourceServer, ServerConfig, ServerStores
from hardened.server.passwords import hash_password
from hardened.server.statements import configured_statement_verifier

__all__ = ["MCP_CLIENT_ID", "Stack", "start_stack"]

MCP_CLIENT_ID = "mcp-server"
SCOPES = {"trades:read": "baseline", "trades:write": "hardened", **attested.ATTESTED_SCOPES}
DESCRIPTIONS = {"trades:read": "see your organisation's trades", "trades:write": "place trades in your name",
                **attested.ATTESTED_DESCRIPTIONS}
ALGS = ("ES256", "EdDSA", "PS256")


@dataclass
class Stack:
    data_dir: Path
    authority_url: str
    as_url: str
    mcp_url: str  # the MCP endpoint (the RFC 8707 resource)
    upstream_url: str
    admin_token: str = field(repr=False)
    username: str = "alice"
    password: str = field(default="", repr=False)
    servers: list[RunningServer] = field(default_factory=list)

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()


def _authority(data_dir: Path, listener: Listener) -> tuple[RunningServer, str]:
    authority, admin_token = Authority.init(data_dir / "authority", issuer=listener.url, clock=SystemClock())
    attested.ensure_attester_key(authority)  # the AS trusts the authority as Client Attester (stack_attestation)
    return RunningServer(create_authority_app(authority), listener, name="authority"), admin_token


def demo_as_config(issuer: str, *, authority_url: str, mcp_url: str, upstream_url: str, mcp_key: SigningKey,
                   registration: RegistrationPolicy | None = None, baseline: bool = True,
                   **extra: Any) -> ServerConfig:
    """The demo AS: trusts the running authority's statement keys, knows the MCP server and its upstream."""
    jwks = httpx.get(authority_url + "/.well-known/jwks.json", timeout=10).json()
    scopes = ScopePolicy(SCOPES)
    return ServerConfig(
        issuer=issuer, signing_keys=(SigningKey.generate("ES256"),), scopes=scopes,
        resource_servers=(ResourceServer(client_id=MCP_CLIENT_ID, audience=mcp_url,
                                         jwks={"keys": [mcp_key.public_jwk()]}, upstreams=(upstream_url,),
                                         upstream_scopes=tuple(SCOPES)),),
        registration=registration or RegistrationPolicy(scopes=scopes, baseline_enabled=baseline),
        statement_verifier=configured_statement_verifier([(authority_url, jwks)]),
        scope_descriptions=DESCRIPTIONS, **extra,
    )


def demo_as_stores(data_dir: Path, password: str) -> ServerStores:
    """The demo AS's SQLite records with its two users, and its replay cache."""
    folder = data_dir / "as"
    folder.mkdir(parents=True, exist_ok=True)
    store = SQLiteASStore(folder / "as.db")
    store.put_user(User("alice", hash_password(password), "user-alice", "trader", "acme", "GB"))
    store.put_user(User("victor", hash_password(password), "user-victor", "viewer", "acme", "FR"))
    return ServerStores(store, SQLiteReplayCache(folder / "as-replay.db"))


def _authorization_server(data_dir: Path, listener: Listener, *, authority_url: str, mcp_url: str, upstream_url: str,
                          mcp_key: SigningKey, baseline: bool, password: str) -> RunningServer:
    config = demo_as_config(
        listener.url, authority_url=authority_url, mcp_url=mcp_url, upstream_url=upstream_url, mcp_key=mcp_key,
        baseline=baseline,
        **attested.attestation_config(data_dir / "as", issuer=listener.url, authority_url=authority_url))
    stores = demo_as_stores(data_dir, password)
    return RunningServer(create_as_app(config, stores, SystemClock()), listener, name="authorization server")


def _upstream(data_dir: Path, listener: Listener, *, as_url: str) -> RunningServer:
    clock = SystemClock()
    store = TradeStore(data_dir / "upstream" / "trades.db")
    store.seed(clock.now())
    keys = JWKSSource(httpx.AsyncClient(timeout=10), as_url + "/jwks", clock=clock)
    config = UpstreamConfig(
        url=listener.url, store=store, keys=keys.get, clock=clock,
        token_policy=UpstreamTokenPolicy(issuer=as_url, audience=listener.url, clients=frozenset({MCP_CLIENT_ID})),
        proof_check=dpop_proof_check(listener.url, replay=SQLiteReplayCache(data_dir / "upstream" / "replay.db"),
                                     clock=clock, algorithms=ALGS),
    )
    return RunningServer(build_upstream_app(config), listener, name="upstream trades API")


def _mcp_server(data_dir: Path, listener: Listener, *, as_url: str, upstream_url: str, assertion_key: SigningKey,
                baseline: bool) -> RunningServer:
    clock, resource = SystemClock(), listener.url + "/mcp"
    meta = httpx.get(as_url + "/.well-known/oauth-authorization-server", timeout=10).json()
    policy = ResourcePolicy(resource=resource, authorization_servers=(as_url,), tools=TRADE_TOOLS, baseline=baseline,
                            resource_name="hardened trades (reference MCP server)")
    http = httpx.AsyncClient(timeout=10)

    def client_auth(endpoint: str) -> dict[str, str]:
        return assertion_params(assertion_key, MCP_CLIENT_ID, as_url, now=clock.now())

    introspector = Introspector(
        endpoint=meta["introspection_endpoint"], http=http, client_auth=client_auth, clock=clock,
        policy=IntrospectionPolicy(issuer=as_url, audience=MCP_CLIENT_ID, resource=resource),
        keys=JWKSSource(http, meta["jwks_uri"], clock=clock))
    folder = data_dir / "mcp"
    check = dpop_proof_check(listener.url, replay=SQLiteReplayCache(folder / "replay.db"), clock=clock,
                             algorithms=ALGS)
    credentials = ServerCredentials(client_id=MCP_CLIENT_ID, issuer=as_url, token_endpoint=meta["token_endpoint"],
                                    assertion_key=assertion_key, dpop_key=SigningKey.generate("ES256"))
    upstream = ExchangingUpstream(url=upstream_url, credentials=credentials, http=http, clock=clock)
    app = build_app(policy, ResourceGuard(policy, introspector, proof_check=check, clock=clock), upstream)
    return RunningServer(app, listener, name="MCP server")


def start_stack(data_dir: Path, *, baseline: bool = True) -> Stack:
    """Start the four servers (authority first: the AS pins its keys; the AS before the MCP server)."""
    authority_l, as_l, mcp_l, upstream_l = reserve(), reserve(), reserve(), reserve()
    password = secrets.token_urlsafe(12)
    stack = Stack(data_dir=data_dir, authority_url=authority_l.url, as_url=as_l.url, mcp_url=mcp_l.url + "/mcp",
                  upstream_url=upstream_l.url, admin_token="", password=password)
    try:
        authority, stack.admin_token = _authority(data_dir, authority_l)
        stack.servers.append(authority)
        mcp_key = SigningKey.generate("ES256")
        stack.servers.append(_authorization_server(
            data_dir, as_l, authority_url=authority_l.url, mcp_url=stack.mcp_url, upstream_url=upstream_l.url,
            mcp_key=mcp_key, baseline=baseline, password=password))
        stack.servers.append(_upstream(data_dir, upstream_l, as_url=as_l.url))
        stack.servers.append(_mcp_server(data_dir, mcp_l, as_url=as_l.url, upstream_url=upstream_l.url,
                                         assertion_key=mcp_key, baseline=baseline))
    except BaseException:
        stack.stop()
        raise
    return stack


def enrol_agent(stack: Stack, assertion_key: SigningKey, redirect_uri: str, *, org_id: str = "acme-agents",
                software_id: str = "trade-agent") -> dict[str, Any]:
    """The authority's operator registers the organisation and the software, then signs a statement."""
    admin = {"Authorization": f"Bearer {stack.admin_token}"}
    with httpx.Client(base_url=stack.authority_url, headers=admin, timeout=10) as http:
        org = http.post("/admin/organisations", json={"org_id": org_id, "name": "Acme Agents Ltd",
                                                        "jurisdiction": "GB"})
        software = http.post("/admin/software", json={
            "org_id": org_id, "software_id": software_id, "client_name": "Acme trade agent",
            "redirect_uris": [redirect_uri], "jwks": {"keys": [assertion_key.public_jwk()]},
            "scope": "trades:read trades:write", "grant_types": ["authorization_code", "refresh_token"]})
        signed = http.post(f"/admin/software/{software_id}/statements", json={"ttl": 3600})
        for response in (org, software, signed):
            response.raise_for_status()
        return signed.json()
