"""Certificate-bound tokens at the MCP layer (RFC 8705 §3): Bearer over mutual TLS with the bound certificate."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from hardened.core.mtls import certificate_thumbprint
from hardened.errors import ConfigurationError, InvalidToken
from hardened.mcp.guard import ResourceGuard
from hardened.mcp.prm import metadata_document
from hardened.web.client_cert import ClientCertificateSource
from pki.ca import SubjectAltNames, self_signed_certificate
from tests.mcp.conftest import HOST, make_introspector, make_policy

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
AGENT = self_signed_certificate("CN=agent", sans=SubjectAltNames(dns=("agent.example",)), not_before=NOW)
OTHER = self_signed_certificate("CN=other", sans=SubjectAltNames(dns=("other.example",)), not_before=NOW)


def scope(token: str, cert=None, scheme: str = "Bearer", extra=()) -> dict:
    tls = {"client_cert_chain": [cert.certificate_pem().decode()]} if cert is not None else {}
    return {"type": "http", "method": "POST", "path": "/mcp", "raw_path": b"/mcp", "query_string": b"",
            "client": ("127.0.0.1", 5000), "extensions": {"tls": tls},
            "headers": [(b"host", HOST.encode()), (b"authorization", f"{scheme} {token}".encode()), *extra]}


@pytest.fixture
def guard(signer, clock):
    policy = make_policy(mtls=True, baseline=False)
    signer.issue("tok", cnf={"x5t#S256": certificate_thumbprint(AGENT.certificate)}, tier="hardened")
    return ResourceGuard(policy, make_introspector(signer, clock), certificates=ClientCertificateSource(),
                         clock=clock)


@pytest.mark.requirement("HP-MCP-06")
def test_bound_certificate_is_accepted(guard) -> None:
    identity = asyncio.run(guard.authenticate(scope("tok", AGENT)))
    assert identity is not None and identity.x5t == certificate_thumbprint(AGENT.certificate)
    assert metadata_document(guard.policy)["tls_client_certificate_bound_access_tokens"] is True


@pytest.mark.requirement("HP-MCP-06")
@pytest.mark.parametrize("case", ["no certificate", "another certificate", "DPoP scheme", "forged header"])
def test_certificate_defects_are_refused(guard, case) -> None:
    s = {"no certificate": scope("tok"), "another certificate": scope("tok", OTHER),
         "DPoP scheme": scope("tok", AGENT, scheme="DPoP"),
         "forged header": scope("tok", extra=[(b"client-cert", b":AAAA:")])}[case]
    with pytest.raises(InvalidToken):
        asyncio.run(guard.authenticate(s))


@pytest.mark.requirement("HP-MCP-07")
def test_unbound_bearer_is_still_refused_when_only_mtls_allows_bearer(guard, signer) -> None:
    signer.issue("plain", tier="baseline")
    with pytest.raises(InvalidToken):
        asyncio.run(guard.authenticate(scope("plain", AGENT)))


@pytest.mark.requirement("HP-MCP-06")
def test_mtls_policy_and_certificate_source_go_together(signer, clock) -> None:
    with pytest.raises(ConfigurationError):
        ResourceGuard(make_policy(mtls=True), make_introspector(signer, clock))
    with pytest.raises(ConfigurationError):
        ResourceGuard(make_policy(), make_introspector(signer, clock), certificates=ClientCertificateSource())
