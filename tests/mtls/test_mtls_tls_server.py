"""Real mutual TLS on 127.0.0.1: uvicorn terminates TLS and hands the client certificate to the app (RFC 8705).

OpenSSL checks the chain in the handshake (wall clock, trust anchors, clientAuth purpose); the app checks it
again with pki.verify and matches the registration. Certificates are made valid, expired or not yet valid by
their window (conftest), never by waiting.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from hardened.core.mtls import certificate_thumbprint
from hardened.errors import ConfigurationError
from hardened.testing.mtls import serve
from hardened.web.client_cert import ClientCertificateSource
from hardened.web.tls_server import mtls_server_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_url(live_pki, make_auth_app) -> Iterator[str]:
    paths = live_pki.paths
    config = mtls_server_config(
        make_auth_app(ClientCertificateSource()), certfile=paths["server"]["chain"], keyfile=paths["server"]["key"],
        client_ca_files=[live_pki.anchors_file],
        self_signed_client_certs=[paths["self_signed"]["certificate"], paths["self_signed_other"]["certificate"]],
        lifespan="off", log_level="critical")
    with serve(config) as port:
        yield f"https://127.0.0.1:{port}"


def _token(make_tls_client, base_url: str, cert: str | None, client_id: str) -> httpx.Response:
    with make_tls_client(cert) as client:
        return client.get(f"{base_url}/token", params={"client_id": client_id})


@pytest.mark.requirement("HP-MTLS-09")
@pytest.mark.requirement("HP-MTLS-07")
@pytest.mark.parametrize("client_id", ["dn", "uri"])
def test_good_client_is_authenticated_and_bound(live_pki, make_tls_client, base_url: str, client_id: str) -> None:
    response = _token(make_tls_client, base_url, "good", client_id)
    assert response.status_code == 200, response.text
    thumbprint = certificate_thumbprint(live_pki.certs["good"].certificate)
    assert response.json() == {"client_id": client_id, "cnf": {"x5t#S256": thumbprint}, "source": "tls",
                               "intermediates": 1}  # the chain the client sent, through the ASGI TLS extension


@pytest.mark.requirement("HP-MTLS-02")
def test_certificate_bound_token_at_the_resource(live_pki, make_tls_client, base_url: str) -> None:
    bound = certificate_thumbprint(live_pki.certs["good"].certificate)
    with make_tls_client("good") as client:
        assert client.get(f"{base_url}/resource", params={"bound_to": bound}).status_code == 200
    for cert in ("other_san", None):
        with make_tls_client(cert) as client:
            response = client.get(f"{base_url}/resource", params={"bound_to": bound})
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.requirement("HP-MTLS-07")
@pytest.mark.requirement("HP-MTLS-05")
@pytest.mark.requirement("HP-MTLS-06")
@pytest.mark.parametrize(("cert", "client_id"), [
    ("reordered", "dn"), ("other_san", "uri"), (None, "dn"), ("self_signed", "dn"), ("good", "self"),
])
def test_refused_with_invalid_client(make_tls_client, base_url: str, cert: str | None, client_id: str) -> None:
    response = _token(make_tls_client, base_url, cert, client_id)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.requirement("HP-MTLS-07")
@pytest.mark.parametrize("cert", ["expired", "future", "wrong_eku", "untrusted"])
def test_refused_in_the_handshake(make_tls_client, base_url: str, cert: str) -> None:
    with pytest.raises(httpx.TransportError):
        _token(make_tls_client, base_url, cert, "dn")


@pytest.mark.requirement("HP-MTLS-08")
def test_self_signed_registered_and_unregistered(live_pki, make_tls_client, base_url: str) -> None:
    response = _token(make_tls_client, base_url, "self_signed", "self")
    assert response.status_code == 200
    assert response.json()["cnf"]["x5t#S256"] == certificate_thumbprint(live_pki.certs["self_signed"].certificate)
    assert response.json()["intermediates"] == 0
    response = _token(make_tls_client, base_url, "self_signed_other", "self")  # passes TLS, not registered
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


@pytest.mark.requirement("HP-MTLS-09")
@pytest.mark.requirement("HP-MTLS-13")
def test_required_client_certificate_and_tls_floor(live_pki, make_auth_app, make_tls_client) -> None:
    paths = live_pki.paths
    config = mtls_server_config(make_auth_app(ClientCertificateSource()), certfile=paths["server"]["chain"],
                                keyfile=paths["server"]["key"], client_ca_files=[live_pki.anchors_file],
                                client_cert="required", lifespan="off", log_level="critical")
    with serve(config) as port:
        url = f"https://127.0.0.1:{port}/token"
        with pytest.raises(httpx.TransportError), make_tls_client(None) as client:
            client.get(url, params={"client_id": "dn"})
        with make_tls_client("good") as client:
            assert client.get(url, params={"client_id": "dn"}).status_code == 200
        tls12 = ssl.create_default_context(cafile=str(live_pki.anchors_file))
        tls12.maximum_version = ssl.TLSVersion.TLSv1_2
        tls12.load_cert_chain(str(paths["good"]["chain"]), str(paths["good"]["key"]))
        with httpx.Client(verify=tls12, timeout=10) as client:
            assert client.get(url, params={"client_id": "dn"}).status_code == 200
    assert config.ssl is not None and config.ssl.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.requirement("HP-MTLS-14")
def test_tls_configuration_mistakes_fail_at_start_up(live_pki, tmp_path) -> None:
    paths = live_pki.paths["server"]
    with pytest.raises(ConfigurationError):
        mtls_server_config(None, certfile=paths["chain"], keyfile=paths["key"])
    with pytest.raises(ConfigurationError):
        mtls_server_config(None, certfile=paths["chain"], keyfile=paths["key"], client_ca_files=[tmp_path / "x"])
    with pytest.raises(ConfigurationError):
        mtls_server_config(None, certfile=tmp_path / "x", keyfile=paths["key"], client_ca_files=[paths["chain"]])
    with pytest.raises(ConfigurationError):
        mtls_server_config(None, certfile=paths["chain"], keyfile=paths["key"], client_ca_files=[paths["chain"]],
                           client_cert="none")


@pytest.mark.requirement("HP-MTLS-09")
def test_no_tls_extension_on_plain_http(live_pki, make_tls_client) -> None:
    """ASGI TLS extension 0.2: forbidden for non-TLS connections; the protocol adds it only over TLS."""
    import uvicorn

    from hardened.web.tls_server import H11TLSProtocol

    seen: list[dict] = []

    async def app(scope, receive, send) -> None:
        seen.append(dict(scope.get("extensions") or {}))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = uvicorn.Config(app, host="127.0.0.1", port=0, http=H11TLSProtocol, lifespan="off", log_level="critical")
    with serve(config) as port:
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 204
    assert seen and "tls" not in seen[0]


@pytest.mark.requirement("HP-MTLS-13")
def test_tls12_only_with_ecdhe_aes_gcm(live_pki, make_auth_app) -> None:
    """FAPI 2.0 SP §5.2.1: under TLS 1.2 the server permits only the BCP 195 suites (ECDHE + AES-GCM)."""
    paths = live_pki.paths
    config = mtls_server_config(make_auth_app(ClientCertificateSource()), certfile=paths["server"]["chain"],
                                keyfile=paths["server"]["key"], client_ca_files=[live_pki.anchors_file],
                                lifespan="off", log_level="critical")

    def tls12(ciphers: str) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(live_pki.anchors_file))
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(ciphers)
        return context

    with serve(config) as port:
        url = f"https://127.0.0.1:{port}/resource"
        for weak in ("ECDHE+AES+SHA256:ECDHE+AES+SHA384:!AESGCM", "ECDHE+AES+SHA1:!AESGCM", "ECDHE+CHACHA20"):
            with pytest.raises(httpx.TransportError), httpx.Client(verify=tls12(weak), timeout=10) as client:
                client.get(url, params={"bound_to": "x"})
        with httpx.Client(verify=tls12("ECDHE+AESGCM"), timeout=10) as client:
            assert client.get(url, params={"bound_to": "x"}).status_code == 401  # handshake done, no certificate
