"""A real nginx (Debian package) terminates mutual TLS on loopback and forwards the client certificate.

nginx asks for a client certificate without judging it (``ssl_verify_client optional_no_ca``) and forwards
``$ssl_client_escaped_cert`` from its own source address 127.0.0.2 (``proxy_bind``) to a uvicorn backend that
trusts only that address. Trust (chain to our anchors, or a registered self-signed certificate) and the subject
match are the app's decisions, as with direct TLS. A forged header sent straight to the backend (from
127.0.0.1) is refused. ``optional_no_ca`` waives only the CA check: nginx itself refuses expired, not yet valid
and wrong-purpose certificates (400) before the app sees them. nginx writes nothing outside tmp_path (``-p``,
``-e stderr``, temp paths and pid file in the config).
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
import uvicorn

from hardened.core.mtls import certificate_thumbprint
from hardened.testing.mtls import serve
from hardened.web.client_cert import ClientCertificateSource

pytestmark = pytest.mark.slow
NGINX = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
PROXY_SOURCE = "127.0.0.2"

CONFIG = """
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_client_certificate {anchors};
        ssl_verify_client optional_no_ca;
        location / {{
            proxy_bind {source};
            proxy_pass http://127.0.0.1:{backend};
            proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_listening(process: subprocess.Popen, deadline: float) -> None:
    """nginx logs getrlimit (ngx_os_status) after ngx_init_cycle has opened its listening sockets.

    Reads the raw pipe (os.read), so that no line waits in a Python buffer while select() blocks.
    """
    assert process.stderr is not None
    fd = process.stderr.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    seen = b""
    try:
        while b"getrlimit" not in seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise RuntimeError(f"nginx did not start: {seen.decode(errors='replace')}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"nginx exited: {seen.decode(errors='replace')}")
            seen += chunk
    finally:
        selector.close()


def _drain(fd: int) -> None:
    while os.read(fd, 65536):
        pass


@pytest.fixture(scope="module")
def proxy_url(live_pki, make_auth_app, tmp_path_factory) -> Iterator[tuple[str, str]]:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install -y nginx-light); the real-proxy test was skipped")
    source = ClientCertificateSource(trusted_proxies=[PROXY_SOURCE], header_format="nginx")
    backend = uvicorn.Config(make_auth_app(source), host="127.0.0.1", port=0, lifespan="off", log_level="critical")
    tmp = tmp_path_factory.mktemp("nginx")
    with serve(backend) as backend_port:
        port = _free_port()
        paths = live_pki.paths["proxy"]
        (tmp / "nginx.conf").write_text(CONFIG.format(
            tmp=tmp, port=port, cert=paths["chain"], key=paths["key"], anchors=live_pki.anchors_file,
            source=PROXY_SOURCE, backend=backend_port))
        process = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", "stderr"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert process.stderr is not None
        fd = process.stderr.fileno()
        try:
            _wait_until_listening(process, time.monotonic() + 15)
            # keep draining nginx's log so that a full pipe never blocks it
            threading.Thread(target=_drain, args=(fd,), daemon=True).start()
            yield f"https://127.0.0.1:{port}", f"http://127.0.0.1:{backend_port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _token(make_tls_client, url: str, cert: str | None, client_id: str, **kwargs) -> httpx.Response:
    with make_tls_client(cert) as client:
        return client.get(f"{url}/token", params={"client_id": client_id}, **kwargs)


@pytest.mark.requirement("HP-MTLS-15")
@pytest.mark.parametrize(("cert", "client_id"), [("good", "dn"), ("good", "uri"), ("self_signed", "self")])
def test_accepted_through_nginx(live_pki, make_tls_client, proxy_url, cert: str, client_id: str) -> None:
    response = _token(make_tls_client, proxy_url[0], cert, client_id)
    assert response.status_code == 200, response.text
    assert response.json()["source"] == "nginx"
    assert response.json()["cnf"]["x5t#S256"] == certificate_thumbprint(live_pki.certs[cert].certificate)


@pytest.mark.requirement("HP-MTLS-15")
@pytest.mark.requirement("HP-MTLS-07")
@pytest.mark.parametrize(("cert", "client_id"), [
    ("untrusted", "dn"), ("reordered", "dn"), ("other_san", "uri"), ("self_signed_other", "self"),
    ("self_signed", "dn"), (None, "dn"),
])
def test_refused_by_the_app_behind_nginx(make_tls_client, proxy_url, cert: str | None, client_id: str) -> None:
    response = _token(make_tls_client, proxy_url[0], cert, client_id)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.requirement("HP-MTLS-15")
@pytest.mark.requirement("HP-MTLS-07")
@pytest.mark.parametrize("cert", ["expired", "future", "wrong_eku"])
def test_refused_by_nginx_itself(make_tls_client, proxy_url, cert: str) -> None:
    """optional_no_ca waives only the CA check: validity and purpose errors stop at nginx (400), never reach us."""
    response = _token(make_tls_client, proxy_url[0], cert, "dn")
    assert response.status_code == 400
    assert "SSL certificate error" in response.text


@pytest.mark.requirement("HP-MTLS-15")
@pytest.mark.requirement("HP-MTLS-10")
def test_forged_headers_are_refused(live_pki, make_tls_client, proxy_url) -> None:
    forged = quote(live_pki.certs["good"].certificate_pem().decode(), safe="")
    # straight to the backend, from an address that is not the proxy
    response = httpx.get(f"{proxy_url[1]}/token", params={"client_id": "dn"},
                         headers={"X-SSL-Client-Cert": forged}, timeout=10)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    # through nginx without a certificate: nginx replaces the header, so the forged one never arrives
    response = _token(make_tls_client, proxy_url[0], None, "dn", headers={"X-SSL-Client-Cert": forged})
    assert response.status_code == 401 and response.json()["error_description"] == "client certificate required"
    # through nginx, in another format that nginx passes along untouched
    response = _token(make_tls_client, proxy_url[0], "good", "dn",
                      headers={"Client-Cert": ":" + "A" * 8 + ":"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    # the bound token works only with the certificate it is bound to, through the proxy as well
    bound = certificate_thumbprint(live_pki.certs["good"].certificate)
    with make_tls_client("other_san") as client:
        response = client.get(f"{proxy_url[0]}/resource", params={"bound_to": bound})
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]
    with make_tls_client("good") as client:
        assert client.get(f"{proxy_url[0]}/resource", params={"bound_to": bound}).status_code == 200

