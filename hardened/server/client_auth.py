"""Client authentication at the token, PAR, introspection and revocation endpoints (RFC 6749 §2.3, RFC 7523 §2.2).

Registered hardened clients and configured resource servers use ``private_key_jwt`` only (FAPI 2.0 SP §5.3.2.1);
baseline clients are public (``none``: ``client_id`` alone, RFC 6749 §2.1) and may never send an assertion or a
secret. The assertion's ``jti`` is spent in the shared replay cache until its ``exp`` (RFC 7523 §3 item 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hardened.core.client_assertion import (
    ClientAssertionPolicy,
    assertion_replay_key,
    unverified_client_id,
    verify_client_assertion,
)
from hardened.core.dcr_policy import ClientMetadata
from hardened.errors import InvalidClient, JoseError
from hardened.jose import KeySet
from hardened.server.config import ResourceServer
from hardened.server.context import ASContext, spend_once

__all__ = ["AuthenticatedClient", "authenticate_client"]


@dataclass(frozen=True, slots=True)
class AuthenticatedClient:
    client_id: str
    metadata: ClientMetadata | None = None
    resource_server: ResourceServer | None = None

    @property
    def confidential(self) -> bool:
        return self.resource_server is not None or (
            self.metadata is not None and self.metadata.token_endpoint_auth_method == "private_key_jwt")  # noqa: S105 - an auth method name


def _keys(ctx: ASContext, client_id: str) -> tuple[KeySet, AuthenticatedClient]:
    rs = ctx.config.resource_server(client_id)
    if rs is not None:
        return rs.keys, AuthenticatedClient(client_id, resource_server=rs)
    record = ctx.store.get_client(client_id)
    if record is None or record.metadata.token_endpoint_auth_method != "private_key_jwt":  # noqa: S105 - an auth method name
        raise InvalidClient("client authentication failed", detail="unknown client or not private_key_jwt")
    try:
        return KeySet.from_jwks(record.metadata.jwks), AuthenticatedClient(client_id, metadata=record.metadata)
    except JoseError:
        raise InvalidClient("client authentication failed", detail="registered keys unusable") from None


def _public(ctx: ASContext, client_id: str) -> AuthenticatedClient:
    record = ctx.store.get_client(client_id)
    if record is None or record.metadata.token_endpoint_auth_method != "none":  # noqa: S105 - an auth method name
        raise InvalidClient("client authentication failed", detail="public auth for a confidential client")
    return AuthenticatedClient(client_id, metadata=record.metadata)


def authenticate_client(ctx: ASContext, form: Mapping[str, str], *, allow_public: bool = True) -> AuthenticatedClient:
    """Who is calling: a ``private_key_jwt`` client or resource server, or (where allowed) a public client."""
    if "client_secret" in form:
        raise InvalidClient("client secrets are not accepted here")
    if "client_assertion" not in form and "client_assertion_type" not in form:
        client_id = form.get("client_id")
        if not allow_public or client_id is None:
            raise InvalidClient("client authentication is required")
        return _public(ctx, client_id)
    client_id = form.get("client_id") or unverified_client_id(form.get("client_assertion"))
    if client_id is None:
        raise InvalidClient("client assertion names no client")
    keys, client = _keys(ctx, client_id)
    now = ctx.now()
    policy = ClientAssertionPolicy(issuer=ctx.issuer, max_age=ctx.config.assertion_max_age)
    verified = verify_client_assertion(form, client_id=client_id, keys=keys, policy=policy, now=now)
    ttl = max(verified.exp - now, 0.0) + policy.max_future_skew
    if not spend_once(ctx.replay, assertion_replay_key(client_id, verified.jti), ttl, now):
        raise InvalidClient("client assertion has already been used", detail="ASSERTION_REPLAY")
    return client
