"""The hardened authorization server as a FastAPI app: ``create_app(config, stores, clock)``.

Routes (one module each in ``hardened.server.routes``): RFC 8414 metadata and JWKS, RFC 7591/7592 registration,
RFC 9126 PAR, the authorization endpoint, login and consent pages, the token endpoint (authorization_code,
refresh_token, RFC 8693 token exchange), RFC 7662/9701 introspection and RFC 7009 revocation.
"""

from __future__ import annotations

from fastapi import FastAPI

from hardened.clock import Clock
from hardened.core.dpop import DPoPPolicy
from hardened.core.dpop_nonce import NonceSource
from hardened.server.config import ServerConfig, ServerStores
from hardened.server.context import ASContext
from hardened.server.headers import SecurityHeaders
from hardened.server.routes import authorize, interaction, introspect, metadata, par, register, revoke, token
from hardened.web.attestation import challenge_router
from hardened.web.dpop import DPoPVerifier
from hardened.web.errors import install_error_handlers

__all__ = ["create_app"]


def create_app(config: ServerConfig, stores: ServerStores, clock: Clock, *, dpop_policy: DPoPPolicy | None = None,
               dpop_nonces: NonceSource | None = None) -> FastAPI:
    """Build the app; every configuration problem raises ``ConfigurationError`` here, not per request."""
    policy = dpop_policy or DPoPPolicy(algorithms=tuple(k for k in ("ES256", "PS256", "EdDSA")))
    verifier = DPoPVerifier(policy, stores.replay, dpop_nonces, clock, config.issuer)
    app = FastAPI(title="hardened authorization server", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.hardened = ASContext(config=config, store=stores.records, replay=stores.replay, clock=clock,
                                   dpop=verifier)
    install_error_handlers(app)
    for module in (metadata, register, par, authorize, interaction, token, introspect, revoke):
        app.include_router(module.router)
    if config.attestation_challenges is not None:  # ABCA §6.1 challenge endpoint
        app.include_router(challenge_router(config.attestation_challenges, clock, path=metadata.CHALLENGE_PATH))
    app.add_middleware(SecurityHeaders)
    return app
