"""The ``authorization_code`` and ``refresh_token`` grants (RFC 6749 §4.1.3, §6; RFC 7636 §4.6; RFC 9449 §5, §10).

Tokens are opaque and stored by hash (``hardened.core.access_token``); a DPoP proof (``cnf.jkt``) or the client
certificate (``cnf.x5t#S256``, RFC 8705 §3) binds them, as the client's registration says.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from hardened.core.access_token import TokenRecord, issue_opaque_token, token_hash
from hardened.core.dpop import VerifiedDPoPProof, check_dpop_jkt
from hardened.core.pkce import verify_code_verifier
from hardened.core.scopes import parse_scope
from hardened.core.sender_constraint import Confirmation, choose_confirmation
from hardened.errors import InvalidDPoPProof, InvalidGrant, InvalidRequest, InvalidScope, UnauthorizedClient
from hardened.ports.as_stores import AuthorizationCode
from hardened.ports.attestation import AttestationResult
from hardened.server.attested import check_instance
from hardened.server.client_auth import AuthenticatedClient
from hardened.server.context import ASContext

__all__ = ["authorization_code_grant", "refresh_token_grant"]


def _require_proof(client: AuthenticatedClient, proof: VerifiedDPoPProof | None) -> None:
    """HP-DCR-05: a client registered for DPoP gets only DPoP-bound tokens."""
    if proof is None and client.metadata is not None and client.metadata.sender_constraint == "dpop":
        raise InvalidDPoPProof("a DPoP proof is required for this client")


def _confirmation(client: AuthenticatedClient, proof: VerifiedDPoPProof | None) -> Confirmation:
    """RFC 9449 §6 / RFC 8705 §3: one binding, chosen by the client's registration (``core.sender_constraint``)."""
    return choose_confirmation(client.sender_constraint, jkt=proof.jkt if proof else None,
                               x5t=client.certificate.thumbprint if client.certificate else None)


def _check_certificate(record: TokenRecord, client: AuthenticatedClient) -> None:
    """RFC 8705 §3: a certificate-bound refresh token is used only with the same certificate."""
    presented = client.certificate.thumbprint if client.certificate else ""
    if record.x5t is not None and not hmac.compare_digest(record.x5t.encode(), presented.encode()):
        raise InvalidGrant("the refresh token is bound to another client certificate")


def _token_response(ctx: ASContext, access: str, record: TokenRecord, refresh: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": access, "token_type": "DPoP" if record.jkt else "Bearer",
        "expires_in": int(record.expires_at - record.issued_at), "scope": " ".join(record.scopes),
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    return body


def _mint(ctx: ASContext, client: AuthenticatedClient, *, subject: str, scopes: tuple[str, ...], audience: str,
          cnf: Confirmation, grant_id: str, claims: Mapping[str, Any], refresh: bool,
          instance_jkt: str | None = None) -> tuple[list[TokenRecord], dict[str, Any]]:
    """New opaque tokens: their records (hashes only) and the RFC 6749 §5.1 response body."""
    now = ctx.now()
    tier = client.metadata.tier if client.metadata is not None else "baseline"
    access = issue_opaque_token()
    jkt, x5t = cnf.jkt, cnf.x5t
    record = TokenRecord(token_hash=token_hash(access), kind="access", client_id=client.client_id, subject=subject,
                         scopes=scopes, audience=audience, jkt=jkt, issued_at=now,
                         expires_at=now + ctx.config.access_token_lifetime, grant_id=grant_id, claims=dict(claims),
                         tier=tier, instance_jkt=instance_jkt, x5t=x5t)
    records = [record]
    refresh_token = issue_opaque_token() if refresh else None
    if refresh_token is not None:
        records.append(TokenRecord(
            token_hash=token_hash(refresh_token), kind="refresh", client_id=client.client_id, subject=subject,
            scopes=scopes, audience=audience, jkt=jkt, issued_at=now,
            expires_at=now + ctx.config.refresh_token_lifetime, grant_id=grant_id, claims=dict(claims), tier=tier,
            instance_jkt=instance_jkt, x5t=x5t))
    return records, _token_response(ctx, access, record, refresh_token)


def _code(ctx: ASContext, form: Mapping[str, str]) -> tuple[str, AuthorizationCode]:
    """RFC 6749 §4.1.2: a known, unexpired, unused code; a used one revokes what it issued (§10.5)."""
    code = form.get("code")
    if code is None or len(code) > 128:
        raise InvalidRequest("code is required")
    found = ctx.store.get_code(token_hash(code))
    if found is None:
        raise InvalidGrant("the authorization code is unknown")
    if not found.first_use:
        ctx.store.revoke_grant(found.code.grant_id)
        raise InvalidGrant("the authorization code was already used; its tokens are revoked")
    if ctx.now() >= found.code.expires_at:
        raise InvalidGrant("the authorization code has expired")
    return token_hash(code), found.code


def authorization_code_grant(ctx: ASContext, form: Mapping[str, str], client: AuthenticatedClient,
                             proof: VerifiedDPoPProof | None, attested: AttestationResult | None = None
                             ) -> dict[str, Any]:
    """RFC 6749 §4.1.3, in order: client, DPoP requirement, code, client binding, redirect, PKCE, jkt; then the
    code is spent together with the tokens it issues."""
    if client.metadata is None:
        raise UnauthorizedClient("this client cannot use the authorization_code grant")
    _require_proof(client, proof)
    code_hash, code = _code(ctx, form)
    req = code.request
    if not hmac.compare_digest(req.client_id, client.client_id):
        raise InvalidGrant("the authorization code was issued to another client")
    if form.get("redirect_uri") != req.redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request")
    verify_code_verifier(form.get("code_verifier"), challenge=req.code_challenge)
    check_dpop_jkt(req.dpop_jkt, proof)
    check_instance(req.attested_jkt, attested)
    records, body = _mint(ctx, client, subject=code.subject, scopes=req.scopes, audience=req.resource,
                          cnf=_confirmation(client, proof), grant_id=code.grant_id, claims=code.claims,
                          refresh="refresh_token" in client.metadata.grant_types, instance_jkt=req.attested_jkt)
    # Spent and stored in one transaction; if another request spent it first, that is a reuse (§10.5).
    if not ctx.store.redeem_code(code_hash, records):
        ctx.store.revoke_grant(code.grant_id)
        raise InvalidGrant("the authorization code was already used; its tokens are revoked")
    return body


def refresh_token_grant(ctx: ASContext, form: Mapping[str, str], client: AuthenticatedClient,
                        proof: VerifiedDPoPProof | None, attested: AttestationResult | None = None
                        ) -> dict[str, Any]:
    """RFC 6749 §6 with RFC 9449 §5: same client, same key; rotation only for public clients (FAPI 2.0 SP)."""
    if client.metadata is None or "refresh_token" not in client.metadata.grant_types:
        raise UnauthorizedClient("this client cannot use the refresh_token grant")
    _require_proof(client, proof)
    presented = form.get("refresh_token")
    record = ctx.store.get_token(token_hash(presented)) if presented and len(presented) <= 128 else None
    if record is None or record.kind != "refresh" or not record.active(ctx.now()):
        raise InvalidGrant("the refresh token is not valid")
    if not hmac.compare_digest(record.client_id, client.client_id):
        raise InvalidGrant("the refresh token was issued to another client")
    if record.jkt is not None and (proof is None or not hmac.compare_digest(record.jkt, proof.jkt)):
        raise InvalidGrant("the refresh token is bound to another DPoP key")
    _check_certificate(record, client)
    check_instance(record.instance_jkt, attested)
    requested = parse_scope(form.get("scope")) or record.scopes
    if any(s not in record.scopes for s in requested):
        raise InvalidScope("a refresh may only narrow the granted scope")
    rotate = not client.confidential
    if rotate and not ctx.store.revoke_token(record.token_hash):
        raise InvalidGrant("the refresh token is not valid")
    records, body = _mint(ctx, client, subject=record.subject, scopes=tuple(requested), audience=record.audience,
                          cnf=Confirmation(jkt=record.jkt, x5t=record.x5t), grant_id=record.grant_id,
                          claims=record.claims, refresh=rotate,
                          instance_jkt=record.instance_jkt)
    if not ctx.store.put_tokens(records):
        raise InvalidGrant("the grant has been revoked")
    return body
