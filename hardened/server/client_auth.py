"""Client authentication at the token, PAR, introspection and revocation endpoints (RFC 6749 §2.3, RFC 7523 §2.2,
RFC 8705 §2).

Registered hardened clients and configured resource servers use ``private_key_jwt`` (FAPI 2.0 SP §5.3.2.1) or,
where the AS takes client certificates (``ServerConfig.mtls``), ``tls_client_auth`` / ``self_signed_tls_client_auth``
(RFC 8705 §2.1, §2.2: ``client_id`` in the form, the certificate from the TLS connection or a trusted proxy).
Baseline clients are public (``none``: ``client_id`` alone, RFC 6749 §2.1) and may never send an assertion or a
secret. Each client has exactly one registered method; any other is ``invalid_client``. The assertion's ``jti``
is spent in the shared replay cache until its ``exp`` (RFC 7523 §3 item 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from hardened.core.client_assertion import (
    ClientAssertionPolicy,
    assertion_replay_key,
    unverified_client_id,
    verify_client_assertion,
)
from hardened.core.dcr_policy import ClientMetadata
from hardened.core.mtls import check_certificate_validity, check_self_signed_tls_client_auth
from hardened.errors import InvalidClient, JoseError
from hardened.jose import KeySet
from hardened.server.config import ResourceServer
from hardened.server.context import ASContext, spend_once
from hardened.server.mtls import MTLS_AUTH_METHODS
from hardened.web.client_cert import PresentedCertificate
from pki.verify import authenticate_tls_client

__all__ = ["AuthenticatedClient", "authenticate_client", "presented_certificate"]


@dataclass(frozen=True, slots=True)
class AuthenticatedClient:
    client_id: str
    metadata: ClientMetadata | None = None
    resource_server: ResourceServer | None = None
    #: the client certificate of this request (RFC 8705), whatever the method; binding uses it
    certificate: PresentedCertificate | None = None
    auth_method: str = "private_key_jwt"
    rs_sender_constraint: str = "dpop"

    @property
    def confidential(self) -> bool:
        return self.auth_method != "none"

    @property
    def sender_constraint(self) -> str:
        """The registered binding of this client's tokens (``hardened.core.sender_constraint``)."""
        return self.metadata.sender_constraint if self.metadata is not None else self.rs_sender_constraint


def presented_certificate(ctx: ASContext, request: Request | None) -> PresentedCertificate | None:
    """RFC 8705 §6.5: the client certificate of this request, when the AS takes certificates at all."""
    if request is None or ctx.config.mtls is None:
        return None
    return ctx.config.mtls.source.extract(request)


def _resource_server(ctx: ASContext, rs: ResourceServer, certificate: PresentedCertificate | None
                     ) -> AuthenticatedClient:
    mtls = ctx.config.mtls
    settings = mtls.for_resource_server(rs.client_id) if mtls is not None else None
    if settings is None:
        return AuthenticatedClient(rs.client_id, resource_server=rs, certificate=certificate)
    return AuthenticatedClient(rs.client_id, resource_server=rs, certificate=certificate,
                               auth_method=settings.token_endpoint_auth_method,
                               rs_sender_constraint=settings.sender_constraint)


def _registered(ctx: ASContext, client_id: str, certificate: PresentedCertificate | None) -> AuthenticatedClient:
    """The client as registered, not yet authenticated; an unknown client is ``invalid_client``."""
    rs = ctx.config.resource_server(client_id)
    if rs is not None:
        return _resource_server(ctx, rs, certificate)
    record = ctx.store.get_client(client_id) if len(client_id) <= 128 else None
    if record is None:
        raise InvalidClient("client authentication failed", detail="unknown client")
    return AuthenticatedClient(client_id, metadata=record.metadata, certificate=certificate,
                               auth_method=record.metadata.token_endpoint_auth_method)


def _keys(client: AuthenticatedClient) -> KeySet:
    if client.resource_server is not None:
        return client.resource_server.keys
    try:
        return KeySet.from_jwks(client.metadata.jwks if client.metadata else None)
    except JoseError:
        raise InvalidClient("client authentication failed", detail="registered keys unusable") from None


def _jwks(client: AuthenticatedClient) -> Any:
    return client.resource_server.jwks if client.resource_server is not None else (
        client.metadata.jwks if client.metadata is not None else None)


def _tls(ctx: ASContext, client: AuthenticatedClient) -> AuthenticatedClient:
    """RFC 8705 §2.1 (chain to the anchors, then the one registered subject) or §2.2 (the registered
    certificate itself, within its validity)."""
    mtls = ctx.config.mtls
    if mtls is None:
        raise InvalidClient("client authentication failed", detail="mutual TLS is not configured")
    presented = client.certificate
    cert = presented.certificate if presented is not None else None
    now = ctx.now()
    if client.auth_method == "self_signed_tls_client_auth":
        check_self_signed_tls_client_auth(_jwks(client), cert)
        check_certificate_validity(cert, now)  # type: ignore[arg-type] - None was refused just above
        return client
    if client.resource_server is not None:
        subject: Mapping[str, Any] = mtls.for_resource_server(client.client_id).tls_client_auth
    else:
        subject = (client.metadata.tls_client_auth if client.metadata else None) or {}
    intermediates = [*(presented.intermediates if presented else ()), *mtls.known_intermediates]
    authenticate_tls_client(cert, intermediates, subject, anchors=mtls.trust_anchors, now=now,
                            policy=mtls.chain_policy)
    return client


def _assertion(ctx: ASContext, form: Mapping[str, str], certificate: PresentedCertificate | None
               ) -> AuthenticatedClient:
    client_id = form.get("client_id") or unverified_client_id(form.get("client_assertion"))
    if client_id is None:
        raise InvalidClient("client assertion names no client")
    client = _registered(ctx, client_id, certificate)
    if client.auth_method != "private_key_jwt":
        raise InvalidClient("client authentication failed", detail="client is not private_key_jwt")
    keys = _keys(client)
    now = ctx.now()
    policy = ClientAssertionPolicy(issuer=ctx.issuer, max_age=ctx.config.assertion_max_age)
    verified = verify_client_assertion(form, client_id=client_id, keys=keys, policy=policy, now=now)
    ttl = max(verified.exp - now, 0.0) + policy.max_future_skew
    if not spend_once(ctx.replay, assertion_replay_key(client_id, verified.jti), ttl, now):
        raise InvalidClient("client assertion has already been used", detail="ASSERTION_REPLAY")
    return client


def authenticate_client(ctx: ASContext, form: Mapping[str, str], *, allow_public: bool = True,
                        request: Request | None = None) -> AuthenticatedClient:
    """Who is calling, by the client's one registered method: ``private_key_jwt`` (assertion in the form),
    ``tls_client_auth`` / ``self_signed_tls_client_auth`` (``client_id`` in the form, certificate from
    ``request``), or (where allowed) a public client (``client_id`` alone)."""
    if "client_secret" in form:
        raise InvalidClient("client secrets are not accepted here")
    certificate = presented_certificate(ctx, request)
    if "client_assertion" in form or "client_assertion_type" in form:
        return _assertion(ctx, form, certificate)
    client_id = form.get("client_id")
    if client_id is None:
        raise InvalidClient("client authentication is required")
    client = _registered(ctx, client_id, certificate)
    if client.auth_method in MTLS_AUTH_METHODS:
        return _tls(ctx, client)
    if not allow_public or client.auth_method != "none":
        raise InvalidClient("client authentication failed", detail="public auth for a confidential client")
    return client
