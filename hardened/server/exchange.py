"""Token exchange at the token endpoint (RFC 8693 §2) for configured resource servers (MCP servers).

The MCP server authenticates (``private_key_jwt`` or, with mTLS configured, RFC 8705 §2) and gets an RFC 9068
``at+jwt`` for an allow-listed upstream with ``act`` naming it (RFC 8693 §4.1). The new token is bound to the
MCP server's own key: ``cnf.jkt`` of its DPoP proof (RFC 9449 §6) or, when it is configured with
``sender_constraint: mtls``, ``cnf.x5t#S256`` of its client certificate (RFC 8705 §3). When the subject token was
certificate-bound, the chain of custody keeps the agent: ``act.act`` = the agent's ``client_id`` and its
``cnf.x5t#S256`` (RFC 8693 §4.1 nested prior actor).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hardened.core.access_token import TokenRecord, build_at_jwt, token_hash
from hardened.core.dpop import VerifiedDPoPProof
from hardened.core.sender_constraint import choose_confirmation
from hardened.core.token_exchange import ACCESS_TOKEN_TYPE, verify_token_exchange
from hardened.errors import InvalidDPoPProof, UnauthorizedClient
from hardened.server.client_auth import AuthenticatedClient
from hardened.server.context import ASContext

__all__ = ["token_exchange_grant"]


def _prior_actor(subject: TokenRecord) -> dict[str, Any] | None:
    """RFC 8693 §4.1: the agent that held the certificate-bound subject token, as the prior actor."""
    if subject.x5t is None:
        return None
    return {"sub": subject.client_id, "cnf": {"x5t#S256": subject.x5t}}


def token_exchange_grant(ctx: ASContext, form: Mapping[str, str], client: AuthenticatedClient,
                         proof: VerifiedDPoPProof | None, attested: Any = None) -> dict[str, Any]:
    rs = client.resource_server
    if rs is None:
        raise UnauthorizedClient("only resource servers may exchange tokens")
    if proof is None and client.sender_constraint == "dpop":
        raise InvalidDPoPProof("a DPoP proof of the resource server's key is required")
    cnf = choose_confirmation(client.sender_constraint, jkt=proof.jkt if proof else None,
                              x5t=client.certificate.thumbprint if client.certificate else None)
    subject_token = form.get("subject_token", "")
    subject = ctx.store.get_token(token_hash(subject_token)) if 0 < len(subject_token) <= 128 else None
    now = ctx.now()
    grant = verify_token_exchange(form, subject=subject, own_audience=rs.audience, upstreams=rs.upstreams,
                                  upstream_scopes=rs.upstream_scopes, now=now)
    lifetime = min(ctx.config.exchanged_token_lifetime, grant.subject.expires_at - now)
    token = build_at_jwt(key=ctx.signing_key, issuer=ctx.issuer, subject=grant.subject.subject,
                         audience=grant.audience, client_id=rs.client_id, scopes=grant.scopes, jkt=cnf.jkt,
                         x5t=cnf.x5t, actor=rs.client_id, now=now, lifetime=lifetime, claims=grant.subject.claims,
                         prior_actor=_prior_actor(grant.subject))
    return {"access_token": token, "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "DPoP" if cnf.jkt else "Bearer", "expires_in": int(lifetime),
            "scope": " ".join(grant.scopes)}
