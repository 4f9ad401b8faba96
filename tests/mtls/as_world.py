"""The authorization server on real mutual TLS (RFC 8705) for the AS-side tests: uvicorn terminates TLS
(``mtls_server_config``) or sits behind a "proxy" that forwards RFC 9440 headers from 127.0.0.1.

Clients are registered straight in the store (registration through a statement has its own tests); the flow
(PAR, authorize, login, consent, token) runs over an httpx client that presents the chosen certificate.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from cryptography.hazmat.primitives.serialization import Encoding

from hardened.adapters.memory import MemoryReplayCache
from hardened.adapters.memory_as import MemoryASStore
from hardened.client.assertion import assertion_params
from hardened.client.mtls import ClientCertificate, mtls_client, tls_client_auth_params
from hardened.clock import FixedClock
from hardened.core.dpop import build_dpop_proof
from hardened.core.pkce import code_challenge_of
from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, KeySet, SigningKey, Typ, verify_jwt
from hardened.ports.as_stores import ClientRecord, User
from hardened.server.app import create_app
from hardened.server.config import ServerStores
from hardened.server.mtls import MTLSConfig, ResourceServerMTLS
from hardened.server.passwords import hash_password
from hardened.testing.mtls import forwarded_certificate_headers, loopback_socket, serve
from hardened.web.client_cert import ClientCertificateSource
from hardened.web.tls_server import client_tls_context, mtls_server_config
from pki.ca import IssuedCertificate, SubjectAltNames
from pki.verify import TrustAnchors
from tests.server.world import CSRF, MCP, PASSWORD, REDIRECT, Keys, agent_metadata, make_config

VERIFIER = "v" * 43
PKI_SUBJECT = {"tls_client_auth_subject_dn": "CN=agent-1,O=Example"}
URI_SUBJECT = {"tls_client_auth_san_uri": "https://agents.example/a1"}
RS_SUBJECT = {"tls_client_auth_san_uri": "https://mcp.example/rs"}


def x5c_jwk(issued: IssuedCertificate) -> dict[str, Any]:
    """RFC 7517 §4.7: the certificate's public key as a JWK with ``x5c`` = [the certificate]."""
    jwk = SigningKey.from_pem(issued.private_key_pem()).public_jwk()
    return {**jwk, "x5c": [base64.b64encode(issued.certificate.public_bytes(Encoding.DER)).decode()]}


def mtls_clients(keys: Keys, self_signed: IssuedCertificate) -> dict[str, Any]:
    """Client id -> metadata: the PKI and self-signed methods, and every binding combination."""
    pki = {"token_endpoint_auth_method": "tls_client_auth", "sender_constraint": "mtls"}
    return {
        "dn-agent": agent_metadata(keys, **pki, tls_client_auth=PKI_SUBJECT),
        "uri-agent": agent_metadata(keys, **pki, tls_client_auth=URI_SUBJECT),
        "self-agent": agent_metadata(keys, token_endpoint_auth_method="self_signed_tls_client_auth",
                                     sender_constraint="mtls", jwks={"keys": [x5c_jwk(self_signed)]}),
        "dpop-over-mtls": agent_metadata(keys, token_endpoint_auth_method="tls_client_auth",
                                         sender_constraint="dpop", tls_client_auth=URI_SUBJECT),
        "jwt-bound-agent": agent_metadata(keys, sender_constraint="mtls"),  # private_key_jwt, certificate-bound
    }


@dataclass
class MTLSAS:
    """One running AS: its base URL (the issuer), keys, clock and the live PKI files."""

    base: str
    keys: Keys
    clock: FixedClock
    live: Any

    def http(self, cert: str | None) -> httpx.Client:
        """An agent's client presenting ``cert`` (a live_pki name) over TLS, or none."""
        if cert is None:
            return httpx.Client(verify=client_tls_context(ca_file=self.live.anchors_file), timeout=10)
        paths = self.live.paths[cert]
        return mtls_client(ClientCertificate(paths["chain"], paths["key"], self.live.anchors_file))

    def forwarding(self, cert: str | None) -> httpx.Client:
        """A client of the proxied AS that forwards ``cert`` as the proxy would (RFC 9440, from 127.0.0.1)."""
        headers = forwarded_certificate_headers(self.live.certs[cert], "rfc9440") if cert else []
        return httpx.Client(headers=[(k.decode(), v.decode()) for k, v in headers], timeout=10)

    def proof(self, path: str, key: SigningKey | None = None) -> dict[str, str]:
        proof = build_dpop_proof(key or self.keys.agent_dpop, htm="POST", htu=self.base + path,
                                 iat=self.clock.now(), jti=secrets.token_urlsafe(12))
        return {"DPoP": proof}

    def auth(self, client_id: str) -> dict[str, str]:
        """The client authentication form part: ``client_id`` only for certificate methods."""
        if client_id == "jwt-bound-agent":
            return assertion_params(self.keys.agent, client_id, self.base, now=self.clock.now())
        return tls_client_auth_params(client_id)

    def code(self, http: httpx.Client, client_id: str, *, dpop: bool = False) -> str:
        """PAR (client-authenticated), authorize, login and consent in one browser session; the code."""
        form = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": "trades:read",
                "resource": MCP, "code_challenge": code_challenge_of(VERIFIER), "code_challenge_method": "S256",
                **self.auth(client_id)}
        r = http.post(self.base + "/par", data=form, headers=self.proof("/par") if dpop else {})
        assert r.status_code == 201, r.text
        r = http.get(self.base + "/authorize", params={"client_id": client_id, "request_uri": r.json()["request_uri"]})
        assert r.status_code == 303, r.text
        interaction = parse_qs(urlsplit(r.headers["location"]).query)["interaction"][0]
        csrf = CSRF.search(http.get(self.base + r.headers["location"]).text).group(1)
        r = http.post(self.base + "/login", data={"interaction": interaction, "csrf": csrf, "username": "alice",
                                                  "password": PASSWORD})
        assert r.status_code == 303, r.text
        r = http.post(self.base + "/consent", data={"interaction": interaction, "csrf": csrf, "decision": "approve"})
        assert r.status_code == 303, r.text
        return parse_qs(urlsplit(r.headers["location"]).query)["code"][0]

    def token(self, http: httpx.Client, client_id: str, code: str, *, dpop: bool = False) -> httpx.Response:
        form = {"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
                "redirect_uri": REDIRECT, **self.auth(client_id)}
        return http.post(self.base + "/token", data=form, headers=self.proof("/token") if dpop else {})

    def tokens(self, cert: str, client_id: str, *, dpop: bool = False) -> dict[str, Any]:
        with self.http(cert) as http:
            r = self.token(http, client_id, self.code(http, client_id, dpop=dpop), dpop=dpop)
        assert r.status_code == 200, r.text
        return r.json()

    def introspect(self, http: httpx.Client, token: str) -> dict[str, Any]:
        """RFC 9701 introspection by the MCP server, which authenticates with its own certificate."""
        with self.http("rs") as rs:
            r = rs.post(self.base + "/introspect", data={"token": token, "client_id": "mcp-server"},
                        headers={"Accept": "application/token-introspection+jwt"})
        assert r.status_code == 200, r.text
        policy = JWTPolicy(jws=JWSPolicy(typ=Typ.INTROSPECTION),
                           claims=ClaimsPolicy(issuer=self.base, audience="mcp-server", require_exp=False))
        return verify_jwt(r.text, policy=policy, keys=self.jwks(http), now=self.clock.now()).claims[
            "token_introspection"]

    def jwks(self, http: httpx.Client) -> KeySet:
        return KeySet.from_jwks(http.get(self.base + "/jwks").json())


def ensure_rs_certificate(live: Any) -> None:
    """The MCP server's client certificate (clientAuth, SAN URI ``https://mcp.example/rs``), once per session."""
    if "rs" not in live.certs:
        start = live.certs["good"].certificate.not_valid_before_utc
        issued = live.intermediate.issue("agent", "CN=mcp-server,O=Example",
                                         sans=SubjectAltNames(uri=(RS_SUBJECT["tls_client_auth_san_uri"],)),
                                         not_before=start)
        live.certs["rs"] = issued
        live.paths["rs"] = issued.write(live.directory, "rs")


def _build(base: str, keys: Keys, clock: FixedClock, live: Any, source: ClientCertificateSource,
           **config_changes: Any) -> Any:
    ensure_rs_certificate(live)
    rs_mtls = {"mcp-server": ResourceServerMTLS("tls_client_auth", RS_SUBJECT, "mtls")}
    mtls = MTLSConfig(TrustAnchors.load([live.anchors_file]), source, (live.intermediate.certificate,),
                      resource_servers=rs_mtls)
    config = make_config(keys, issuer=base, mtls=mtls, baseline=False, **config_changes)
    store = MemoryASStore()
    for client_id, metadata in mtls_clients(keys, live.certs["self_signed"]).items():
        store.add_client(ClientRecord(client_id, metadata, "0" * 64, clock.now()), statement_jti=None,
                         statement_exp=0)
    store.put_user(User("alice", hash_password(PASSWORD), "user-alice", "trader", "acme", "DE"))
    return create_app(config, ServerStores(store, MemoryReplayCache()), clock)


@contextmanager
def tls_as(live: Any, keys: Keys, clock: FixedClock | None = None, **config_changes: Any) -> Iterator[MTLSAS]:
    """The AS terminating mutual TLS itself: certificates arrive through the ASGI TLS extension."""
    sock = loopback_socket()
    base = f"https://127.0.0.1:{sock.getsockname()[1]}"
    clock = clock or FixedClock(time.time())  # OpenSSL checks validity at the wall clock; the AS at that time
    app = _build(base, keys, clock, live, ClientCertificateSource(), **config_changes)
    paths = live.paths
    config = mtls_server_config(
        app, certfile=paths["server"]["chain"], keyfile=paths["server"]["key"], client_ca_files=[live.anchors_file],
        self_signed_client_certs=[paths["self_signed"]["certificate"], paths["self_signed_other"]["certificate"]],
        lifespan="off", log_level="critical")
    with serve(config, sock=sock):
        yield MTLSAS(base, keys, clock, live)


@contextmanager
def proxied_as(live: Any, keys: Keys) -> Iterator[MTLSAS]:
    """The AS behind a TLS-terminating proxy at 127.0.0.1 that forwards RFC 9440 ``Client-Cert`` headers: the
    AS itself judges certificates that a handshake would have refused (expired, wrong EKU, untrusted)."""
    sock = loopback_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    clock = FixedClock(time.time())
    app = _build(base, keys, clock, live, ClientCertificateSource(trusted_proxies=["127.0.0.1"],
                                                                   header_format="rfc9440"))
    config = uvicorn.Config(app, lifespan="off", log_level="critical", proxy_headers=False)
    with serve(config, sock=sock):
        yield MTLSAS(base, keys, clock, live)
