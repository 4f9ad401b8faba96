"""Client certificate intake: RFC 9440, nginx and XFCC headers from trusted proxies; the ASGI TLS extension."""

from __future__ import annotations

import base64
import contextlib
import re
from urllib.parse import quote, unquote

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import ConfigurationError, InvalidClient, InvalidRequest
from hardened.testing.mtls import (
    certificates,
    client_cert_header,
    forwarded_certificate_headers,
    header_noise,
    sample_ca,
    xfcc_header,
)
from hardened.web.client_cert import ClientCertificateSource, PresentedCertificate
from hardened.web.client_cert_headers import (
    MAX_HEADER,
    parse_client_cert,
    parse_client_cert_chain,
    parse_escaped_pem,
    parse_xfcc,
)
from pki.ca import IssuedCertificate

FORMATS = ("rfc9440", "nginx", "xfcc")
PROXY = ("10.0.0.5", 40000)


def _scope(headers: list[tuple[bytes, bytes]], client: tuple[str, int] | None = PROXY, tls: dict | None = None) -> dict:
    scope = {"type": "http", "headers": headers, "client": client}
    if tls is not None:
        scope["extensions"] = {"tls": tls}
    return scope


def _source(header_format: str) -> ClientCertificateSource:
    return ClientCertificateSource(trusted_proxies=["10.0.0.5", "fd00::/8"], header_format=header_format)


@pytest.fixture(scope="module")
def issued(live_pki) -> IssuedCertificate:
    return live_pki.certs["good"]


@pytest.mark.requirement("HP-MTLS-10")
@pytest.mark.parametrize("header_format", FORMATS)
def test_trusted_proxy_headers_give_leaf_and_chain(issued: IssuedCertificate, header_format: str) -> None:
    presented = _source(header_format).extract(_scope(forwarded_certificate_headers(issued, header_format)))
    assert isinstance(presented, PresentedCertificate)
    assert presented.certificate == issued.certificate and presented.source == header_format
    expected_chain = () if header_format == "nginx" else issued.issuers[:-1]
    assert presented.intermediates == expected_chain
    ipv6 = _scope(forwarded_certificate_headers(issued, header_format), client=("fd00::1", 1))
    assert _source(header_format).extract(ipv6).certificate == issued.certificate


@pytest.mark.requirement("HP-MTLS-10")
@pytest.mark.parametrize("header_format", FORMATS)
@pytest.mark.parametrize("client", [("10.0.0.6", 1), ("127.0.0.1", 1), None, ("not-an-ip", 1)])
def test_headers_from_untrusted_peers_are_refused(issued: IssuedCertificate, header_format: str, client) -> None:
    headers = forwarded_certificate_headers(issued, header_format)
    with pytest.raises(InvalidClient):
        _source(header_format).extract(_scope(headers, client=client))
    with pytest.raises(InvalidClient):  # no proxy configured at all: every such header is a forgery
        ClientCertificateSource().extract(_scope(headers, client=client))


@pytest.mark.requirement("HP-MTLS-10")
@pytest.mark.parametrize(("configured", "sent"), [(a, b) for a in FORMATS for b in FORMATS if a != b])
def test_other_formats_are_refused_even_from_the_proxy(issued: IssuedCertificate, configured: str, sent: str) -> None:
    with pytest.raises(InvalidClient):
        _source(configured).extract(_scope(forwarded_certificate_headers(issued, sent)))


@pytest.mark.requirement("HP-MTLS-10")
@pytest.mark.parametrize("header_format", FORMATS)
def test_proxy_without_certificate_is_none_and_ignores_its_own_tls(issued: IssuedCertificate,
                                                                    header_format: str) -> None:
    tls = {"client_cert_chain": [issued.certificate_pem().decode()]}  # the proxy's own TLS client cert
    assert _source(header_format).extract(_scope([], tls=tls)) is None


@pytest.mark.requirement("HP-MTLS-11")
@pytest.mark.parametrize("header_format", FORMATS)
def test_repeated_headers_are_refused(issued: IssuedCertificate, header_format: str) -> None:
    headers = forwarded_certificate_headers(issued, header_format)
    with pytest.raises(InvalidRequest):
        _source(header_format).extract(_scope(headers + headers[:1]))


@pytest.mark.requirement("HP-MTLS-12")
def test_rfc9440_chain_without_cert_and_xfcc_defects(issued: IssuedCertificate, live_pki) -> None:
    chain = (b"client-cert-chain", client_cert_header(live_pki.intermediate.certificate).encode())
    with pytest.raises(InvalidRequest):
        _source("rfc9440").extract(_scope([chain]))
    good = xfcc_header(issued.certificate, issued.issuers[:-1])
    other = live_pki.certs["other_san"].certificate
    for bad in (
        good + "," + good,  # two elements
        good.replace("Hash=", "Hash=0"),  # malformed hash
        good.replace(good.split("Hash=")[1][:64], "0" * 64),  # hash of something else
        xfcc_header(issued.certificate, issued.issuers[:-1]).replace(
            quote(issued.certificate_pem().decode(), safe=""), quote(other.public_bytes(Encoding.PEM).decode(),
                                                                     safe=""), 1),  # Cert != Hash
        "By=x;Hash=" + "0" * 64,  # no Cert
        good + ';Cert="x"',  # repeated key
        'Cert="unterminated',
        "Cert",
    ):
        with pytest.raises(InvalidRequest):
            parse_xfcc(bad)


@pytest.mark.requirement("HP-MTLS-11")
def test_strict_byte_sequences(issued: IssuedCertificate) -> None:
    b64 = base64.b64encode(issued.certificate.public_bytes(Encoding.DER)).decode()
    assert parse_client_cert(f"  :{b64}:  ") == issued.certificate
    for bad in (f":{b64}:;a=1", b64, f":{b64}", f":{b64[:-1]}:", f":{b64.replace('+', '-')}x:", ":YWJj:", "::",
                f'"{b64}"', f":{b64}: :{b64}:"):
        with pytest.raises(InvalidRequest):
            parse_client_cert(bad)
    with pytest.raises(InvalidRequest):
        parse_client_cert_chain(", ".join([f":{b64}:"] * 5))
    with pytest.raises(InvalidRequest):
        parse_client_cert(":" + "A" * MAX_HEADER + ":")


@pytest.mark.requirement("HP-MTLS-11")
def test_escaped_pem_is_certificates_only(issued: IssuedCertificate) -> None:
    pem = issued.certificate_pem().decode()
    assert parse_escaped_pem(quote(pem, safe="")) == (issued.certificate,)
    for bad in (quote(pem + issued.private_key_pem().decode(), safe=""), quote("junk\n" + pem, safe=""),
                quote(pem.replace("CERTIFICATE", "X509 CRL"), safe=""), pem, quote(pem, safe="")[:-40], "%FF%FE"):
        with pytest.raises(InvalidRequest):
            parse_escaped_pem(bad)


@pytest.mark.requirement("HP-MTLS-11")
@given(st.data())
def test_arbitrary_values_never_crash_and_only_well_formed_parse(data: st.DataObject) -> None:
    issued = data.draw(certificates())
    leaf = issued.certificate
    for parser, valid in (
        (parse_client_cert, client_cert_header(leaf)),
        (parse_client_cert_chain, client_cert_header(leaf)),
        (parse_escaped_pem, quote(issued.certificate_pem().decode(), safe="")),
        (parse_xfcc, xfcc_header(leaf)),
    ):
        value = data.draw(header_noise(valid))
        try:
            result = parser(value)
        except InvalidRequest:
            continue
        got = result[0] if isinstance(result, tuple) else result
        b64 = base64.b64encode(got.public_bytes(Encoding.DER)).decode()
        # what parsed is exactly what the value encodes: canonical DER, canonical base64, nothing left over
        if parser in (parse_client_cert, parse_client_cert_chain):
            assert value.strip(" \t") == f":{b64}:"
        else:
            assert b64 in re.sub(r"\s", "", unquote(value))


@pytest.mark.requirement("HP-MTLS-11")
@given(st.lists(st.tuples(st.sampled_from([b"client-cert", b"client-cert-chain", b"x-forwarded-client-cert",
                                           b"x-ssl-client-cert", b"other"]),
                          st.binary(max_size=100)), max_size=4), st.sampled_from(FORMATS))
def test_arbitrary_headers_from_the_proxy_raise_only_ours(headers: list, header_format: str) -> None:
    with contextlib.suppress(InvalidRequest, InvalidClient):
        _source(header_format).extract(_scope(headers))


@pytest.mark.requirement("HP-MTLS-09")
def test_tls_extension_intake(issued: IssuedCertificate) -> None:
    pem = issued.certificate_pem().decode()
    presented = ClientCertificateSource().extract(_scope([], tls={"client_cert_chain": [pem]}))
    assert presented.source == "tls" and presented.certificate == issued.certificate
    assert ClientCertificateSource().extract(_scope([], tls={"client_cert_chain": []})) is None
    assert ClientCertificateSource().extract(_scope([])) is None
    assert ClientCertificateSource(use_tls_extension=False).extract(_scope([], tls={"client_cert_chain": [pem]})) \
        is None
    for chain in ([pem + pem], ["junk"], [pem] * 9, [7]):
        with pytest.raises(InvalidRequest):
            ClientCertificateSource().extract(_scope([], tls={"client_cert_chain": chain}))
    with pytest.raises(TypeError):
        ClientCertificateSource().extract({"type": "lifespan"})


@pytest.mark.requirement("HP-MTLS-14")
@pytest.mark.parametrize("kwargs", [
    {"trusted_proxies": ["10.0.0.0/33"], "header_format": "rfc9440"},
    {"trusted_proxies": ["10.0.0.1/8"], "header_format": "rfc9440"},  # host bits set: ambiguous
    {"trusted_proxies": ["proxy.example"], "header_format": "rfc9440"},
    {"trusted_proxies": ["10.0.0.1"]},
    {"header_format": "rfc9440"},
    {"trusted_proxies": ["10.0.0.1"], "header_format": "haproxy"},
    {"trusted_proxies": ["10.0.0.1"], "header_format": "nginx", "nginx_header": "client-cert"},
])
def test_configuration_mistakes_fail_at_start_up(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        ClientCertificateSource(**kwargs)


def test_thumbprint_of_presented(issued: IssuedCertificate) -> None:
    from hardened.core.mtls import certificate_thumbprint
    presented = PresentedCertificate(issued.certificate, (), "tls")
    assert presented.thumbprint == certificate_thumbprint(issued.certificate)
    assert sample_ca() is sample_ca()


@pytest.mark.requirement("HP-MTLS-10")
@pytest.mark.parametrize("header_format", FORMATS)
@pytest.mark.parametrize("forwarded", [
    (b"x-forwarded-for", b"10.0.0.5"), (b"x-forwarded-for", b"192.0.2.7, 10.0.0.5:4711"),
    (b"X-Forwarded-For", b"[fd00::1]:80"), (b"forwarded", b'for="[fd00::1]:80";proto=https'),
    (b"forwarded", b"proto=https;FOR=10.0.0.5"),
])
def test_peer_address_taken_from_x_forwarded_for_is_not_trusted(issued: IssuedCertificate, header_format: str,
                                                                forwarded: tuple[bytes, bytes]) -> None:
    """uvicorn --proxy-headers sets scope["client"] from X-Forwarded-For: then it proves nothing (RFC 9440 §4)."""
    client = ("fd00::1", 0) if b"fd00" in forwarded[1] else ("10.0.0.5", 0)
    headers = [*forwarded_certificate_headers(issued, header_format), forwarded]
    with pytest.raises(InvalidClient):
        _source(header_format).extract(_scope(headers, client=client))
    # a proxy that only records the client it served (another address) is still trusted
    ok = [*forwarded_certificate_headers(issued, header_format), (b"x-forwarded-for", b"192.0.2.7, 198.51.100.1")]
    assert _source(header_format).extract(_scope(ok)).certificate == issued.certificate


@pytest.mark.slow
@pytest.mark.requirement("HP-MTLS-10")
def test_forged_header_with_x_forwarded_for_against_real_uvicorn(issued: IssuedCertificate, make_auth_app) -> None:
    """A backend run with proxy headers trusted from everywhere (FORWARDED_ALLOW_IPS=*, common in containers):
    a client that names the proxy in X-Forwarded-For must not get its forged Client-Cert accepted."""
    import httpx
    import uvicorn

    from hardened.testing.mtls import serve

    source = ClientCertificateSource(trusted_proxies=["10.0.0.5"], header_format="rfc9440")
    config = uvicorn.Config(make_auth_app(source), host="127.0.0.1", port=0, lifespan="off", log_level="critical",
                            proxy_headers=True, forwarded_allow_ips="*")
    forged = [(name.decode(), value.decode()) for name, value in forwarded_certificate_headers(issued, "rfc9440")]
    forged.append(("X-Forwarded-For", "10.0.0.5"))
    with serve(config) as port, httpx.Client(timeout=10) as client:
        response = client.get(f"http://127.0.0.1:{port}/token", params={"client_id": "uri"}, headers=forged)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client", response.text


@pytest.mark.requirement("HP-MTLS-10")
@given(before=st.lists(st.sampled_from(["192.0.2.7", "[2001:db8::1]:80", "unknown", "", " 198.51.100.1:9", '"x"']),
                       max_size=3),
       noise=st.text(max_size=40), name=st.sampled_from([b"x-forwarded-for", b"forwarded"]))
def test_any_forwarded_for_header_never_crashes_and_naming_the_proxy_untrusts_it(
        issued: IssuedCertificate, before: list[str], noise: str, name: bytes) -> None:
    headers = forwarded_certificate_headers(issued, "rfc9440")
    source = _source("rfc9440")
    with contextlib.suppress(InvalidClient, InvalidRequest):  # arbitrary text: our errors only
        source.extract(_scope([*headers, (name, noise.encode("utf-8", "surrogatepass"))]))
    proxy = "10.0.0.5:1" if name == b"x-forwarded-for" else "for=10.0.0.5"
    entries = [e if name == b"x-forwarded-for" else f"for={e}" for e in before]
    with pytest.raises(InvalidClient):
        source.extract(_scope([*headers, (name, ", ".join([*entries, proxy]).encode())]))
