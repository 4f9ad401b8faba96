"""Certificates for the mTLS tests: a CA valid around the fixed test time, and one valid around the wall clock
(for real TLS handshakes, where OpenSSL checks validity against the real time)."""

from __future__ import annotations

import base64
import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from hardened.core.mtls import check_certificate_binding, check_self_signed_tls_client_auth, check_tls_client_auth
from hardened.errors import InvalidClient, OAuthError
from hardened.web.client_cert import ClientCertificateSource
from hardened.web.errors import oauth_error_response, resource_error_response
from hardened.web.tls_server import client_tls_context
from pki.ca import CertificateAuthority, IssuedCertificate, SubjectAltNames, self_signed_certificate
from pki.verify import TrustAnchors, verify_client_chain

AGENT_SANS = SubjectAltNames(uri=("https://agents.example/a1",), dns=("a1.agents.example",), ip=("10.1.2.3",),
                             email=("Ops@Agents.Example",))


@dataclass
class LivePKI:
    """Files for real TLS: trust anchors, a server certificate for 127.0.0.1 and client certificates by case."""

    directory: Path
    root: CertificateAuthority
    intermediate: CertificateAuthority
    certs: dict[str, IssuedCertificate]
    paths: dict[str, dict[str, Path]]

    @property
    def anchors_file(self) -> Path:
        return self.directory / "root.pem"


@pytest.fixture(scope="session")
def live_pki(tmp_path_factory: pytest.TempPathFactory) -> LivePKI:
    directory = tmp_path_factory.mktemp("live-pki")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(days=1)
    root = CertificateAuthority.create_root("CN=Live Root,O=Example", not_before=start)
    inter = root.create_intermediate("CN=Live Issuing CA,O=Example", not_before=start)
    root.save(directory, "root")
    stranger = CertificateAuthority.create_root("CN=Live Root,O=Example", not_before=start)
    certs = {
        "server": inter.issue("server", "CN=localhost", sans=SubjectAltNames(dns=("localhost",), ip=("127.0.0.1",)),
                              not_before=start),
        "proxy": inter.issue("proxy", "CN=proxy", sans=SubjectAltNames(dns=("localhost",), ip=("127.0.0.1",)),
                             not_before=start),
        "good": inter.issue("agent", "CN=agent-1,O=Example", sans=AGENT_SANS, not_before=start),
        "expired": inter.issue("agent", "CN=agent-1,O=Example", sans=AGENT_SANS, not_before=start, days=0.5),
        "future": inter.issue("agent", "CN=agent-1,O=Example", sans=AGENT_SANS,
                              not_before=now + dt.timedelta(days=2)),
        "wrong_eku": inter.issue("server", "CN=agent-1,O=Example", sans=SubjectAltNames(dns=("a1.agents.example",)),
                                 not_before=start),
        "untrusted": stranger.issue("agent", "CN=agent-1,O=Example", sans=AGENT_SANS, not_before=start),
        "reordered": inter.issue("agent", "O=Example,CN=agent-1", sans=AGENT_SANS, not_before=start),
        "other_san": inter.issue("agent", "CN=agent-1,O=Example",
                                 sans=SubjectAltNames(uri=("https://agents.example/a2",)), not_before=start),
        "self_signed": self_signed_certificate("CN=self-1", sans=SubjectAltNames(dns=("self.example",)),
                                               not_before=start),
        "self_signed_other": self_signed_certificate("CN=self-2", sans=SubjectAltNames(dns=("self.example",)),
                                                     not_before=start),
    }
    paths = {name: issued.write(directory, name) for name, issued in certs.items()}
    return LivePKI(directory, root, inter, certs, paths)


def auth_app(live: LivePKI, source: ClientCertificateSource) -> FastAPI:
    """A stand-in for the AS and a resource server, wired as they will be (RFC 8705 §2 and §3).

    ``/token?client_id=`` authenticates a registered client (tls_client_auth or self_signed_tls_client_auth)
    and answers the ``cnf`` a token would carry; ``/resource`` checks a token's ``cnf`` against the certificate.
    """
    anchors = TrustAnchors.load([live.anchors_file])
    known_intermediates = (live.intermediate.certificate,)  # nginx forwards only the leaf
    self_signed = live.certs["self_signed"].certificate
    clients = {
        "dn": {"token_endpoint_auth_method": "tls_client_auth", "tls_client_auth_subject_dn": "CN=agent-1,O=Example"},
        "uri": {"token_endpoint_auth_method": "tls_client_auth",
                "tls_client_auth_san_uri": "https://agents.example/a1"},
        "self": {"token_endpoint_auth_method": "self_signed_tls_client_auth", "jwks": {"keys": [{
            "kty": "EC", "x5c": [base64.b64encode(self_signed.public_bytes(Encoding.DER)).decode()]}]}},
    }
    app = FastAPI()

    @app.get("/token")
    def token(request: Request, client_id: str) -> Response:
        try:
            presented = source.extract(request)
            client = clients.get(client_id)
            if client is None:
                raise InvalidClient("unknown client")
            cert = presented.certificate if presented else None
            if client["token_endpoint_auth_method"] == "self_signed_tls_client_auth":
                check_self_signed_tls_client_auth(client["jwks"], cert)
            else:
                if presented is None:
                    raise InvalidClient("client certificate required")
                extra = known_intermediates if presented.source == "nginx" else ()
                verify_client_chain(cert, [*presented.intermediates, *extra], anchors=anchors, now=time.time())
                check_tls_client_auth(client, cert)
        except OAuthError as err:
            return oauth_error_response(err)
        return JSONResponse({"client_id": client_id, "cnf": {"x5t#S256": presented.thumbprint},
                             "source": presented.source, "intermediates": len(presented.intermediates)})

    @app.get("/resource")
    def resource(request: Request, bound_to: str) -> Response:
        try:
            presented = source.extract(request)
            check_certificate_binding({"x5t#S256": bound_to}, presented.certificate if presented else None)
        except OAuthError as err:
            return resource_error_response(err, schemes=["Bearer"])
        return JSONResponse({"ok": True})

    return app


def tls_client(live: LivePKI, name: str | None) -> httpx.Client:
    """An httpx client trusting the live root, presenting the certificate ``name`` (leaf + intermediates)."""
    paths = live.paths[name] if name else None
    context = client_tls_context(ca_file=live.anchors_file, certfile=paths["chain"] if paths else None,
                                 keyfile=paths["key"] if paths else None)
    return httpx.Client(verify=context, timeout=10)


@pytest.fixture(scope="session")
def make_auth_app(live_pki: LivePKI):
    return lambda source: auth_app(live_pki, source)


@pytest.fixture(scope="session")
def make_tls_client(live_pki: LivePKI):
    return lambda name: tls_client(live_pki, name)
