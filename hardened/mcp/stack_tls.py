"""The hardened deployment on loopback over real mutual TLS (RFC 8705): ``hardened demo --sender-constraint mtls``.

Like :mod:`hardened.mcp.stack`, with these differences:

- a fresh development CA (``pki``) in ``<data>/pki``: a root, a server certificate (serverAuth, SAN IP 127.0.0.1,
  DNS localhost) for the TLS servers, and certificates for agents (clientAuth, SAN URI) issued on demand;
- the authorization server, the MCP server and the upstream API terminate TLS themselves
  (:func:`hardened.web.tls_server.mtls_server_config`, client certificate optional: OpenSSL checks it against the
  root, the app checks it again and decides);
- the AS takes certificates (``ServerConfig.mtls``): ``tls_client_auth`` / ``self_signed_tls_client_auth`` and
  certificate-bound tokens (``cnf.x5t#S256``) for clients registered with ``sender_constraint: mtls``;
- the MCP server accepts certificate-bound tokens as ``Bearer`` over mutual TLS (``ResourcePolicy(mtls=True)``,
  ASGI TLS extension); DPoP-bound tokens stay accepted;
- the MCP server's own calls (introspection, token exchange, upstream) trust the CA; it authenticates with
  ``private_key_jwt`` and its exchanged tokens stay DPoP-bound to its own key (``cnf.jkt``).

The authority stays plain HTTP on loopback: only its operator and the AS (keys, status lists) talk to it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from authority.app import create_app as create_authority_app
from authority.service import Authority
from hardened.adapters.sqlite_replay import SQLiteReplayCache
from hardened.client.assertion import assertion_params
from hardened.client.mtls import ClientCertificate
from hardened.clock import SystemClock
from hardened.core.dcr_policy import RegistrationPolicy
from hardened.core.scopes import ScopePolicy
from hardened.jose import SigningKey
from hardened.mcp.binding import dpop_proof_check
from hardened.mcp.discovery import JWKSSource
from hardened.mcp.exchange import ExchangingUpstream, ServerCredentials
from hardened.mcp.guard import ResourceGuard
from hardened.mcp.introspection import IntrospectionPolicy, Introspector
from hardened.mcp.policy import ResourcePolicy
from hardened.mcp.server import TRADE_TOOLS, build_app
from hardened.mcp.servers import Listener, RunningServer, reserve
from hardened.mcp.stack import ALGS, MCP_CLIENT_ID, SCOPES, Stack, demo_as_config, demo_as_stores
from hardened.mcp.trades import TradeStore
from hardened.mcp.upstream import UpstreamConfig, build_upstream_app
from hardened.mcp.upstream_token import UpstreamTokenPolicy
from hardened.server.app import create_app as create_as_app
from hardened.server.mtls import MTLSConfig
from hardened.web.client_cert import ClientCertificateSource
from hardened.web.tls_server import client_tls_context, mtls_server_config
from pki.ca import CertificateAuthority, SubjectAltNames
from pki.verify import TrustAnchors

__all__ = ["DemoPKI", "TLSStack", "start_tls_stack"]


@dataclass
class DemoPKI:
    """The demo's CA in ``folder``: ``root_file`` (the trust anchor everyone uses), the server certificate."""

    folder: Path
    ca: CertificateAuthority
    root_file: Path
    server_chain: Path
    server_key: Path

    @classmethod
    def create(cls, folder: Path) -> DemoPKI:
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # a little slack for the peers' clocks
        ca = CertificateAuthority.create_root("CN=hardened demo root,O=hardened demo", not_before=now, days=30)
        folder.mkdir(parents=True, exist_ok=True)
        root_file = folder / "root.pem"
        root_file.write_bytes(ca.bundle_pem())
        server = ca.issue("server", "CN=localhost,O=hardened demo", not_before=now, days=7,
                          sans=SubjectAltNames(dns=("localhost",), ip=("127.0.0.1",)))
        paths = server.write(folder, "server")
        return cls(folder, ca, root_file, paths["chain"], paths["key"])

    def issue_agent(self, name: str, uri: str) -> ClientCertificate:
        """An agent certificate (clientAuth, SAN URI ``uri``) written to ``<folder>/<name>*.pem``."""
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        issued = self.ca.issue("agent", f"CN={name},O=hardened demo", sans=SubjectAltNames(uri=(uri,)),
                               not_before=now, days=7)
        paths = issued.write(self.folder, name)
        return ClientCertificate(paths["chain"], paths["key"], self.root_file)

    def http(self, **kwargs: object) -> httpx.AsyncClient:
        """A server-side client that trusts the demo CA (no client certificate)."""
        return httpx.AsyncClient(verify=client_tls_context(ca_file=self.root_file), timeout=10, **kwargs)  # type: ignore[arg-type]


@dataclass
class TLSStack(Stack):
    pki: DemoPKI | None = None
    mcp_key: SigningKey | None = field(default=None, repr=False)  # the MCP server's private_key_jwt key


class TLSRunningServer(RunningServer):
    """:class:`RunningServer` terminating TLS with the demo certificate, asking for (optional) client
    certificates checked against the demo root, and exposing them to the app (ASGI TLS extension).

    ``clients`` are the app's own outgoing HTTP clients: closed on its loop when it stops, so that the TLS
    servers they are connected to see a clean close (else those wait for the TLS shutdown of dead peers)."""

    def __init__(self, app: object, listener: Listener, pki: DemoPKI, *, name: str,
                 clients: tuple[httpx.AsyncClient, ...] = ()) -> None:
        self.pki, self.clients = pki, clients
        super().__init__(app, listener, name=name)  # type: ignore[arg-type]

    def _run(self) -> None:
        self.server.config = mtls_server_config(
            self.server.config.app, certfile=self.pki.server_chain, keyfile=self.pki.server_key,
            client_ca_files=[self.pki.root_file], log_level="warning", lifespan="on", access_log=False)
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        try:
            await self.server.serve(sockets=[self.listener.socket])
        finally:
            for client in self.clients:
                await client.aclose()


def _tls_listener() -> Listener:
    listener = reserve()
    listener.url = f"https://127.0.0.1:{listener.port}"
    return listener


def _authorization_server(data_dir: Path, listener: Listener, pki: DemoPKI, *, authority_url: str, mcp_url: str,
                          upstream_url: str, mcp_key: SigningKey, password: str) -> RunningServer:
    config = demo_as_config(
        listener.url, authority_url=authority_url, mcp_url=mcp_url, upstream_url=upstream_url, mcp_key=mcp_key,
        registration=RegistrationPolicy(scopes=ScopePolicy(SCOPES), baseline_enabled=True, mtls=True),
        mtls=MTLSConfig(TrustAnchors.load([pki.root_file]), ClientCertificateSource()))
    stores = demo_as_stores(data_dir, password)
    return TLSRunningServer(create_as_app(config, stores, SystemClock()), listener, pki, name="authorization server")


def _upstream(data_dir: Path, listener: Listener, pki: DemoPKI, *, as_url: str) -> RunningServer:
    clock = SystemClock()
    store = TradeStore(data_dir / "upstream" / "trades.db")
    store.seed(clock.now())
    http = pki.http()
    keys = JWKSSource(http, as_url + "/jwks", clock=clock)
    config = UpstreamConfig(
        url=listener.url, store=store, keys=keys.get, clock=clock,
        token_policy=UpstreamTokenPolicy(issuer=as_url, audience=listener.url, clients=frozenset({MCP_CLIENT_ID})),
        proof_check=dpop_proof_check(listener.url, replay=SQLiteReplayCache(data_dir / "upstream" / "replay.db"),
                                     clock=clock, algorithms=ALGS),
    )
    return TLSRunningServer(build_upstream_app(config), listener, pki, name="upstream trades API", clients=(http,))


def _mcp_server(data_dir: Path, listener: Listener, pki: DemoPKI, *, as_url: str, upstream_url: str,
                assertion_key: SigningKey) -> RunningServer:
    clock, resource = SystemClock(), listener.url + "/mcp"
    meta = httpx.get(as_url + "/.well-known/oauth-authorization-server", timeout=10,
                     verify=client_tls_context(ca_file=pki.root_file)).json()
    policy = ResourcePolicy(resource=resource, authorization_servers=(as_url,), tools=TRADE_TOOLS, mtls=True,
                            resource_name="hardened trades (reference MCP server, mutual TLS)")
    http = pki.http()

    def client_auth(endpoint: str) -> dict[str, str]:
        return assertion_params(assertion_key, MCP_CLIENT_ID, as_url, now=clock.now())

    introspector = Introspector(
        endpoint=meta["introspection_endpoint"], http=http, client_auth=client_auth, clock=clock,
        policy=IntrospectionPolicy(issuer=as_url, audience=MCP_CLIENT_ID, resource=resource),
        keys=JWKSSource(http, meta["jwks_uri"], clock=clock))
    check = dpop_proof_check(listener.url, replay=SQLiteReplayCache(data_dir / "mcp" / "replay.db"), clock=clock,
                             algorithms=ALGS)
    credentials = ServerCredentials(client_id=MCP_CLIENT_ID, issuer=as_url, token_endpoint=meta["token_endpoint"],
                                    assertion_key=assertion_key, dpop_key=SigningKey.generate("ES256"))
    upstream = ExchangingUpstream(url=upstream_url, credentials=credentials, http=http, clock=clock)
    guard = ResourceGuard(policy, introspector, proof_check=check, certificates=ClientCertificateSource(),
                          clock=clock)
    return TLSRunningServer(build_app(policy, guard, upstream), listener, pki, name="MCP server", clients=(http,))


def start_tls_stack(data_dir: Path) -> TLSStack:
    """The CA first, then the authority (plain HTTP), the AS, the upstream and the MCP server over TLS."""
    pki = DemoPKI.create(data_dir / "pki")
    authority_l, as_l, mcp_l, upstream_l = reserve(), _tls_listener(), _tls_listener(), _tls_listener()
    password = secrets.token_urlsafe(12)
    stack = TLSStack(data_dir=data_dir, authority_url=authority_l.url, as_url=as_l.url, mcp_url=mcp_l.url + "/mcp",
                     upstream_url=upstream_l.url, admin_token="", password=password, pki=pki)
    try:
        authority, stack.admin_token = Authority.init(data_dir / "authority", issuer=authority_l.url,
                                                      clock=SystemClock())
        stack.servers.append(RunningServer(create_authority_app(authority), authority_l, name="authority"))
        mcp_key = stack.mcp_key = SigningKey.generate("ES256")
        stack.servers.append(_authorization_server(
            data_dir, as_l, pki, authority_url=authority_l.url, mcp_url=stack.mcp_url, upstream_url=upstream_l.url,
            mcp_key=mcp_key, password=password))
        stack.servers.append(_upstream(data_dir, upstream_l, pki, as_url=as_l.url))
        stack.servers.append(_mcp_server(data_dir, mcp_l, pki, as_url=as_l.url, upstream_url=upstream_l.url,
                                         assertion_key=mcp_key))
    except BaseException:
        stack.stop()
        raise
    return stack

