"""The AS-side adapters against a hostile or broken authority on loopback: they refuse, fail closed, never follow
(HP-SS-11, HP-SS-12)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from authority_live import loopback_socket, serve
from fastapi import FastAPI
from starlette.responses import JSONResponse, RedirectResponse, Response

from hardened.adapters.authority_jwks import AuthorityDirectory
from hardened.adapters.authority_status import HTTPStatementStatus, HTTPStatusList, same_origin
from hardened.clock import FixedClock
from hardened.core.software_statement import SoftwareStatementPolicy, verify_software_statement
from hardened.core.status_list import encode_status_list
from hardened.errors import ConfigurationError, InvalidSoftwareStatement, UnapprovedSoftwareStatement
from hardened.jose import Typ
from hardened.testing.software_statement import TestAuthority

POLICY = SoftwareStatementPolicy()


class Hostile:
    """An authority whose behaviour a test sets: what each path answers."""

    def __init__(self, issuer: str) -> None:
        self.auth = TestAuthority.create(issuer)
        self.mode: dict[str, str] = {}
        self.hits: dict[str, int] = {}

    def status_list(self) -> str:
        now = int(time.time())
        return self.auth.sign({"iss": self.auth.issuer, "sub": self.auth.issuer + "/statements/status-list",
                               "iat": now, "exp": now + 3600, "ttl": 300,
                               "status_list": encode_status_list({}, size=64)}, typ=Typ.STATUS_LIST)

    def app(self) -> FastAPI:
        app = FastAPI()
        issuer = self.auth.issuer

        @app.get("/.well-known/authority-configuration")
        def config() -> Response:
            self.hits["config"] = self.hits.get("config", 0) + 1
            meta = {"issuer": issuer, "jwks_uri": issuer + "/.well-known/jwks.json"}
            if self.mode.get("config") == "other-issuer":
                meta["issuer"] = "https://elsewhere.example"
            if self.mode.get("config") == "foreign-jwks":
                meta["jwks_uri"] = "https://elsewhere.example/jwks.json"
            return JSONResponse(meta)

        @app.get("/.well-known/jwks.json")
        def jwks() -> Response:
            if self.mode.get("jwks") == "private":
                return JSONResponse({"keys": [{"kty": "oct", "k": "AAAA"}]})
            if self.mode.get("jwks") == "huge":
                return JSONResponse({"keys": [self.auth.key.public_jwk()], "pad": "x" * 100_000})
            if self.mode.get("jwks") == "duplicate":
                return Response('{"keys": [], "keys": [' + json.dumps(self.auth.key.public_jwk()) + "]}",
                                media_type="application/json")
            if self.mode.get("jwks") == "redirect":
                return RedirectResponse(issuer + "/other-jwks", status_code=302)
            return JSONResponse({"keys": [self.auth.key.public_jwk()]})

        @app.get("/statements/{jti}/status")
        def one(jti: str) -> Response:
            mode = self.mode.get("one", "ok")
            if mode == "redirect":
                return RedirectResponse(issuer + "/elsewhere", status_code=302)
            if mode == "other-jti":
                return JSONResponse({"jti": "s" + "z" * 32, "iss": issuer, "status": "valid"})
            if mode == "not-json":
                return Response("valid")
            if mode == "huge":
                return JSONResponse({"jti": jti, "iss": issuer, "status": "valid", "pad": "x" * 20_000})
            return JSONResponse({"jti": jti, "iss": issuer, "status": "valid"})

        @app.get("/statements/status-list")
        def status_list() -> Response:
            self.hits["list"] = self.hits.get("list", 0) + 1
            mode = self.mode.get("list", "ok")
            if mode == "redirect":
                return RedirectResponse(issuer + "/elsewhere", status_code=302)
            if mode == "huge":
                return Response("x" * 200_000, media_type="application/statuslist+jwt")
            if mode == "error":
                return Response("no", status_code=503)
            return Response(self.status_list(), media_type="application/statuslist+jwt",
                            headers={"Cache-Control": "max-age=60"})

        return app


@pytest.fixture
def hostile():
    sock = loopback_socket()
    hostile = Hostile(f"http://127.0.0.1:{sock.getsockname()[1]}")
    with serve(hostile.app(), sock):
        yield hostile


def statement(hostile: Hostile):
    token = hostile.auth.sign(hostile.auth.base_claims(now=time.time()))
    return verify_software_statement(token, trusted_authorities=[hostile.auth.trusted()], policy=POLICY,
                                     now=time.time())


@pytest.mark.requirement("HP-SS-11")
@pytest.mark.parametrize("mode", ["redirect", "huge", "error"])
def test_status_list_fetch_fails_closed(hostile: Hostile, mode: str) -> None:
    verified = statement(hostile)
    with httpx.Client() as client:
        checker = HTTPStatusList(client, authorities=[hostile.auth.trusted()], max_age=300)
        checker.check(verified)
        hostile.mode["list"] = mode
        checker.clear()
        with pytest.raises(UnapprovedSoftwareStatement, match="could not be established"):
            checker.check(verified)


@pytest.mark.requirement("HP-SS-11")
def test_response_max_age_bounds_the_cache(hostile: Hostile) -> None:
    clock = FixedClock(time.time())
    verified = statement(hostile)
    with httpx.Client() as client:
        checker = HTTPStatusList(client, authorities=[hostile.auth.trusted()], clock=clock, max_age=300)
        checker.check(verified)
        clock.advance(59)
        checker.check(verified)
        assert hostile.hits["list"] == 1
        clock.advance(1)  # Cache-Control: max-age=60 < the adapter's 300
        checker.check(verified)
        assert hostile.hits["list"] == 2


@pytest.mark.requirement("HP-SS-12")
@pytest.mark.parametrize(("what", "mode"), [("config", "other-issuer"), ("config", "foreign-jwks"),
                                            ("jwks", "private"), ("jwks", "huge"), ("jwks", "duplicate"),
                                            ("jwks", "redirect")])
def test_directory_refuses_bad_authority_documents(hostile: Hostile, what: str, mode: str) -> None:
    hostile.mode[what] = mode
    token = hostile.auth.sign(hostile.auth.base_claims(now=time.time()))
    with httpx.Client() as client:
        directory = AuthorityDirectory(fetched=[hostile.auth.issuer], client=client)
        assert directory.trusted_authorities() == []
        with pytest.raises(InvalidSoftwareStatement, match="not a trusted authority"):
            directory.verify(token, policy=POLICY)


@pytest.mark.requirement("HP-SS-12")
def test_directory_caches_and_refreshes_at_most_once_per_interval(hostile: Hostile) -> None:
    clock = FixedClock(time.time())
    other_key = TestAuthority.create(hostile.auth.issuer)
    forged = other_key.sign(other_key.base_claims(now=clock.now()))
    with httpx.Client() as client:
        directory = AuthorityDirectory(fetched=[hostile.auth.issuer], client=client, clock=clock, max_age=600,
                                       min_refresh=60)
        directory.verify(hostile.auth.sign(hostile.auth.base_claims(now=clock.now())), policy=POLICY)
        for _ in range(5):  # unknown kids cannot force a fetch per request
            with pytest.raises(InvalidSoftwareStatement):
                directory.verify(forged, policy=POLICY)
        assert hostile.hits["config"] == 1
        clock.advance(61)
        with pytest.raises(InvalidSoftwareStatement):
            directory.verify(forged, policy=POLICY)
        assert hostile.hits["config"] == 2


@pytest.mark.requirement("HP-SS-12")
def test_pinned_authorities_are_never_fetched() -> None:
    pinned = TestAuthority.create("https://pinned.example")
    directory = AuthorityDirectory(pinned=[pinned.trusted()])
    verified = directory.verify(pinned.sign(pinned.base_claims(now=time.time())), policy=POLICY)
    assert verified.issuer == "https://pinned.example"
    with pytest.raises(ConfigurationError):
        AuthorityDirectory(fetched=["https://a.example"])


@pytest.mark.requirement("HP-SS-11")
def test_same_origin() -> None:
    assert same_origin("https://a.example/x", "https://a.example")
    for other in ("https://a.example:444", "http://a.example", "https://b.example", "javascript:x", "https://[x"):
        assert not same_origin(other, "https://a.example")


@pytest.mark.requirement("HP-SS-11")
@pytest.mark.parametrize("mode", ["redirect", "other-jti", "not-json", "huge"])
def test_statement_endpoint_fails_closed(hostile: Hostile, mode: str) -> None:
    verified = statement(hostile)
    with httpx.Client() as client:
        checker = HTTPStatementStatus(client)
        checker.check(verified)
        hostile.mode["one"] = mode
        with pytest.raises(UnapprovedSoftwareStatement):
            checker.check(verified)
        with pytest.raises(UnapprovedSoftwareStatement):
            HTTPStatementStatus(client, template="https://elsewhere.example/{jti}").check(verified)
