"""The authority's HTTP service (FastAPI): publication for relying parties, and the operators' admin API.

Public (no authentication, cacheable with an explicit ``max-age``):
``GET /.well-known/authority-configuration``, ``GET /.well-known/jwks.json`` (active and retiring keys),
``GET /statements/status-list`` (``application/statuslist+jwt``), ``GET /statements/{jti}/status``.

Admin (``/admin/...``): every route depends on ``operator``, a pluggable FastAPI dependency that returns the
acting operator's name or raises. The default is :class:`AdminTokenAuth` (``Authorization: Bearer`` with the
256-bit token made at ``authority init``, compared in constant time); mTLS with the project's PKI can replace it
by passing another dependency to :func:`create_app`. Bad input never yields a 500 (``install_error_handlers``).

The authority acting as Client Attester adds its routes (``authority.attester_app``; docs/attester.md) and its
members of the authority configuration (``attester_jwks_uri``, ``attestation_endpoint``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authority.attester import AuthorityAttester
from authority.attester_app import install_attester_routes
from authority.models import (
    ID_PATTERN,
    KID_PATTERN,
    OrganisationIn,
    RevocationIn,
    RotateIn,
    SignIn,
    SoftwareIn,
    SuspendIn,
    describe_errors,
)
from authority.records import RegistryError
from authority.service import Authority
from hardened.errors import InvalidToken
from hardened.web.errors import NO_STORE, install_error_handlers

__all__ = ["MAX_BODY", "AdminTokenAuth", "BodyLimit", "create_app"]

MAX_BODY = 65_536
Id = Annotated[str, Path(pattern=ID_PATTERN)]
Kid = Annotated[str, Path(pattern=KID_PATTERN)]
Operator = Callable[..., str]


class BodyLimit:
    """ASGI middleware: read the whole request body first, at most ``limit`` bytes (declared or streamed); a
    larger one gets 413 before the app sees anything, a smaller one is replayed to the app."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"error": "invalid_request", "error_description": "request body is too large"},
                           status_code=413, headers=NO_STORE)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await self._too_large(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away: nobody to answer
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await self._too_large(scope, receive, send)
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class AdminTokenAuth:
    """``Authorization: Bearer <admin token>``; the token's SHA-256 is compared with ``hmac.compare_digest``."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority

    def __call__(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > 256 or not self.authority.check_admin_token(token):
            raise InvalidToken("operator authentication is required",
                               headers={"WWW-Authenticate": 'Bearer realm="authority-admin"'})
        return "operator:admin-token"


def _json(body: Any, status_code: int = 200, *, max_age: int | None = None) -> JSONResponse:
    headers = dict(NO_STORE) if max_age is None else {"Cache-Control": f"public, max-age={max_age}"}
    return JSONResponse(body, status_code=status_code, headers=headers)


def _install_registry_errors(app: FastAPI) -> None:
    """Registry errors keep their status (404, 409, 413); validation errors say which field, for operators."""

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"error": "invalid_request", "error_description": describe_errors(exc.errors())},
                            status_code=400, headers=NO_STORE)

    async def on_registry(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RegistryError)
        return JSONResponse({"error": exc.error, "error_description": str(exc)[:300]},
                            status_code=exc.status_code, headers=NO_STORE)

    app.add_exception_handler(RegistryError, on_registry)
    app.add_exception_handler(RequestValidationError, on_validation)


def _public_routes(app: FastAPI, authority: Authority, attester: AuthorityAttester) -> None:
    policy = authority.policy

    @app.get("/.well-known/authority-configuration")
    def configuration() -> Response:
        return _json({**authority.configuration(), **attester.configuration()}, max_age=policy.jwks_max_age)

    @app.get("/.well-known/jwks.json")
    def jwks() -> Response:
        return JSONResponse(authority.jwks(), media_type="application/jwk-set+json",
                            headers={"Cache-Control": f"public, max-age={policy.jwks_max_age}"})

    @app.get("/statements/status-list")
    def status_list() -> Response:
        return Response(authority.status_list_token(), media_type="application/statuslist+jwt",
                        headers={"Cache-Control": f"public, max-age={policy.status_max_age}"})

    @app.get("/statements/{jti}/status")
    def statement_status(jti: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,128}$")]) -> Response:
        return _json(authority.statement_status(jti), max_age=policy.status_max_age)


def _organisation_routes(app: FastAPI, authority: Authority, op: Any) -> None:
    @app.post("/admin/organisations")
    def create_org(spec: OrganisationIn, actor: str = op) -> Response:
        return _json(authority.create_organisation(spec, actor=actor).to_json(), 201)

    @app.get("/admin/organisations")
    def list_orgs(actor: str = op) -> Response:
        return _json({"organisations": [o.to_json() for o in authority.store.organisations()]})

    @app.get("/admin/organisations/{org_id}")
    def show_org(org_id: Id, actor: str = op) -> Response:
        return _json(authority.store.organisation(org_id).to_json())

    @app.post("/admin/organisations/{org_id}/suspend")
    def suspend(org_id: Id, body: Annotated[SuspendIn | None, Body()] = None, actor: str = op) -> Response:
        reason = (body or SuspendIn()).reason
        return _json(authority.set_organisation_status(org_id, "suspended", reason=reason, actor=actor).to_json())

    @app.post("/admin/organisations/{org_id}/reinstate")
    def reinstate(org_id: Id, body: Annotated[SuspendIn | None, Body()] = None, actor: str = op) -> Response:
        reason = (body or SuspendIn(reason="reinstated by operator")).reason
        return _json(authority.set_organisation_status(org_id, "active", reason=reason, actor=actor).to_json())


def _software_routes(app: FastAPI, authority: Authority, op: Any) -> None:
    @app.post("/admin/software")
    def register(spec: SoftwareIn, actor: str = op) -> Response:
        return _json(authority.add_software(spec, actor=actor).to_json(), 201)

    @app.get("/admin/software")
    def list_software(org_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None, actor: str = op) -> Response:
        return _json({"software": [s.to_json() for s in authority.store.software_list(org_id)]})

    @app.get("/admin/software/{software_id}")
    def show_software(software_id: Id, actor: str = op) -> Response:
        return _json(authority.store.software(software_id).to_json())

    @app.put("/admin/software/{software_id}")
    def update(software_id: Id, spec: SoftwareIn, actor: str = op) -> Response:
        return _json(authority.update_software(software_id, spec, actor=actor).to_json())

    @app.post("/admin/software/{software_id}/statements")
    def sign(software_id: Id, body: Annotated[SignIn | None, Body()] = None, actor: str = op) -> Response:
        record, token = authority.sign(software_id, ttl=(body or SignIn()).ttl, actor=actor)
        return _json({**record.to_json(), "software_statement": token}, 201)

    @app.get("/admin/statements/{jti}")
    def show_statement(jti: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,128}$")], actor: str = op) -> Response:
        return _json({**authority.store.statement(jti).to_json(), **authority.statement_status(jti)})


def _control_routes(app: FastAPI, authority: Authority, op: Any) -> None:
    @app.post("/admin/revocations")
    def revoke(spec: RevocationIn, actor: str = op) -> Response:
        return _json(authority.revoke(spec, actor=actor).to_json(), 201)

    @app.get("/admin/revocations")
    def revocations(actor: str = op) -> Response:
        return _json({"revocations": [r.to_json() for r in authority.store.revocations()]})

    @app.get("/admin/keys")
    def keys(actor: str = op) -> Response:
        return _json({"keys": [k.to_json() for k in authority.store.signing_keys()]})

    @app.post("/admin/keys/rotate")
    def rotate(body: Annotated[RotateIn | None, Body()] = None, actor: str = op) -> Response:
        return _json(authority.rotate(alg=(body or RotateIn()).alg, actor=actor).to_json(), 201)

    @app.post("/admin/keys/{kid}/retire")
    def retire(kid: Kid, actor: str = op) -> Response:
        return _json(authority.retire(kid, actor=actor).to_json())

    @app.get("/admin/audit")
    def audit(after: Annotated[int, Query(ge=0, le=2**62)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              actor: str = op) -> Response:
        return _json({"entries": [e.to_json() for e in authority.store.audit_log(after=after, limit=limit)]})

    @app.get("/admin/audit/verify")
    def audit_verify(actor: str = op) -> Response:
        return _json(authority.verify_audit())


def create_app(authority: Authority, *, operator: Operator | None = None,
               attester: AuthorityAttester | None = None) -> FastAPI:
    """The authority service over ``authority``; ``operator`` authenticates admin requests (default: token);
    ``attester`` is the authority acting as Client Attester (default: over the same data folder)."""
    attester = attester or AuthorityAttester(authority)
    app = FastAPI(title="hardened authority", docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)
    _install_registry_errors(app)
    op = Depends(operator or AdminTokenAuth(authority))
    _public_routes(app, authority, attester)
    _organisation_routes(app, authority, op)
    _software_routes(app, authority, op)
    _control_routes(app, authority, op)
    install_attester_routes(app, attester, op)
    app.add_middleware(BodyLimit)
    return app
