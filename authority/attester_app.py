"""HTTP surface of the authority acting as Client Attester (draft-ietf-oauth-attestation-based-client-auth-10 §4).

Public: ``GET /.well-known/attester-jwks.json`` (the attester keys an AS pins in its
:class:`~hardened.adapters.attesters.AttesterRegistry`) and ``POST /attester/attestations`` (body: the instance's
attestation request JWT, ``Content-Type: application/jwt``; answer ``no-store`` JSON with ``client_attestation``).

Admin (operator dependency, audit-logged): ``POST|GET /admin/software/{id}/instances``,
``POST /admin/software/{id}/instances/{instance_id}/revoke``, ``GET /admin/attester/keys``,
``POST /admin/attester/keys/rotate``, ``POST /admin/attester/keys/{kid}/retire``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, FastAPI, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from authority.attester import ATTESTATION_PATH, ATTESTER_JWKS_PATH, AuthorityAttester
from authority.models import ID_PATTERN, KID_PATTERN, InstanceIn, RotateIn, SuspendIn
from hardened.errors import InvalidRequest
from hardened.web.errors import NO_STORE

__all__ = ["install_attester_routes"]

MAX_REQUEST = 4096
Id = Annotated[str, Path(pattern=ID_PATTERN)]
Kid = Annotated[str, Path(pattern=KID_PATTERN)]


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=dict(NO_STORE))


async def _request_jwt(request: Request) -> str:
    """The body: one compact JWT, ``application/jwt`` (RFC 7519 §10.3.1), ASCII, at most 4 KiB."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/jwt":
        raise InvalidRequest("the attestation request must be sent as application/jwt")
    body = await request.body()
    if not body or len(body) > MAX_REQUEST:
        raise InvalidRequest("the attestation request is missing or too large")
    try:
        return body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InvalidRequest("the attestation request is not ASCII") from None


def _public_routes(app: FastAPI, attester: AuthorityAttester) -> None:
    max_age = attester.authority.policy.jwks_max_age

    @app.get(ATTESTER_JWKS_PATH)
    def attester_jwks() -> Response:
        return JSONResponse(attester.jwks(), media_type="application/jwk-set+json",
                            headers={"Cache-Control": f"public, max-age={max_age}"})

    @app.post(ATTESTATION_PATH)
    async def attestation(request: Request) -> Response:
        token = await _request_jwt(request)
        # issue() does SQLite and signing work: keep it off the event loop.
        return _json(await run_in_threadpool(attester.issue, token))


def _admin_routes(app: FastAPI, attester: AuthorityAttester, op: Any) -> None:
    @app.post("/admin/software/{software_id}/instances")
    def add_instance(software_id: Id, spec: InstanceIn, actor: str = op) -> Response:
        return _json(attester.add_instance(software_id, spec, actor=actor).to_json(), 201)

    @app.get("/admin/software/{software_id}/instances")
    def list_instances(software_id: Id, actor: str = op) -> Response:
        return _json(attester.instances(software_id))

    @app.post("/admin/software/{software_id}/instances/{instance_id}/revoke")
    def revoke_instance(software_id: Id, instance_id: Id, body: Annotated[SuspendIn | None, Body()] = None,
                        actor: str = op) -> Response:
        reason = (body or SuspendIn(reason="revoked by operator")).reason
        return _json(attester.revoke_instance(software_id, instance_id, reason=reason, actor=actor).to_json())

    @app.get("/admin/attester/keys")
    def attester_keys(actor: str = op) -> Response:
        return _json({"keys": [k.to_json() for k in attester.store.attester_keys()]})

    @app.post("/admin/attester/keys/rotate")
    def rotate(body: Annotated[RotateIn | None, Body()] = None, actor: str = op) -> Response:
        return _json(attester.rotate(alg=(body or RotateIn()).alg, actor=actor).to_json(), 201)

    @app.post("/admin/attester/keys/{kid}/retire")
    def retire(kid: Kid, actor: str = op) -> Response:
        return _json(attester.retire(kid, actor=actor).to_json())


def install_attester_routes(app: FastAPI, attester: AuthorityAttester, op: Any) -> None:
    """Mount the attester's public and admin routes on the authority app (``op``: the operator dependency)."""
    _public_routes(app, attester)
    _admin_routes(app, attester, op)
