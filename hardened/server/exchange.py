"""Token exchange at the token endpoint (RFC 8693 §2) for configured resource servers (MCP servers).

The MCP server authenticates with ``private_key_jwt``, proves its own DPoP key, and gets an RFC 9068 ``at+jwt``
for an allow-listed upstream with ``act`` naming it and ``cnf.jkt`` its key (RFC 8693 §4.1, RFC 9449 §6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hardened.core.access_token import build_at_jwt, token_hash
from hardened.core.dpop import VerifiedDPoPProof
from hardened.core.token_exchange import ACCESS_TOKEN_TYPE, verify_token_exchange
from hardened.errors import InvalidDPoPProof, UnauthorizedClient
from hardened.server.client_auth import AuthenticatedClient
from hardened.server.context import ASContext

__all__ = ["token_exchange_grant"]


def token_exchange_grant(ctx: ASContext, form: Mapping[str, str], client: AuthenticatedClient,
                         proof: VerifiedDPoPProof | None, attested: Any = None) -> dict[str, Any]:
    rs = client.resource_server
    if rs is None:
        raise UnauthorizedClient("only resource servers may exchange tokens")
    if proof is None:
        raise InvalidDPoPProof("a DPoP proof of the resource server's key is required")
    subject_token = form.get("subject_token", "")
    subject = ctx.store.get_token(token_hash(subject_token)) if 0 < len(subject_token) <= 128 else None
    now = ctx.now()
    grant = verify_token_exchange(form, subject=subject, own_audience=rs.audience, upstreams=rs.upstreams,
                                  upstream_scopes=rs.upstream_scopes, now=now)
    lifetime = min(ctx.config.exchanged_token_lifetime, grant.subject.expires_at - now)
    token = build_at_jwt(key=ctx.signing_key, issuer=ctx.issuer, subject=grant.subject.subject,
                         audience=grant.audience, client_id=rs.client_id, scopes=grant.scopes, jkt=proof.jkt,
                         actor=rs.client_id, now=now, lifetime=lifetime, claims=grant.subject.claims)
    return {"access_token": token, "issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "DPoP",
            "expires_in": int(lifetime), "scope": " ".join(grant.scopes)}
