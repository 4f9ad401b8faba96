"""Authorization server metadata (RFC 8414 §2) with the FAPI 2.0 and hardened capabilities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hardened.core.scopes import ScopePolicy

__all__ = ["ENDPOINTS", "build_as_metadata"]

#: endpoint metadata name -> path under the issuer
ENDPOINTS = {
    "authorization_endpoint": "/authorize",
    "token_endpoint": "/token",
    "pushed_authorization_request_endpoint": "/par",
    "registration_endpoint": "/register",
    "introspection_endpoint": "/introspect",
    "revocation_endpoint": "/revoke",
    "jwks_uri": "/jwks",
}


def build_as_metadata(issuer: str, *, scopes: ScopePolicy, algorithms: Sequence[str], baseline: bool) -> dict[str, Any]:
    """RFC 8414 §2; RFC 9126 §5; RFC 9449 §5.1; RFC 9207 §3; RFC 9701 §7; RFC 8693."""
    auth_methods = ["private_key_jwt", *(["none"] if baseline else [])]
    return {
        "issuer": issuer,
        **{name: issuer.rstrip("/") + path for name, path in ENDPOINTS.items()},
        "scopes_supported": list(scopes.scopes),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token",
                                  "urn:ietf:params:oauth:grant-type:token-exchange"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": list(algorithms),
        "introspection_endpoint_auth_methods_supported": ["private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": list(algorithms),
        "introspection_signing_alg_values_supported": list(algorithms),
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "dpop_signing_alg_values_supported": list(algorithms),
        "require_pushed_authorization_requests": not baseline,
        "authorization_response_iss_parameter_supported": True,
        "hardened_tiers_supported": ["baseline", "hardened"] if baseline else ["hardened"],
    }
