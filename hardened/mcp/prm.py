"""RFC 9728 OAuth 2.0 Protected Resource Metadata for an MCP server.

The metadata is served at the path-aware well-known URL (RFC 9728 §3.1): for a resource
``https://mcp.example/tools/mcp`` it is ``https://mcp.example/.well-known/oauth-protected-resource/tools/mcp``.
Its URL is what every ``WWW-Authenticate`` challenge of the layer carries as ``resource_metadata`` (RFC 9728 §5.1).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse

from hardened.mcp.policy import ResourcePolicy

__all__ = ["WELL_KNOWN", "metadata_document", "metadata_path", "metadata_response", "metadata_url"]

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def metadata_path(resource: str) -> str:
    """RFC 9728 §3.1: the well-known string goes between the host and the resource's path."""
    path = urlsplit(resource).path.rstrip("/")
    return WELL_KNOWN + path


def metadata_url(resource: str) -> str:
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{metadata_path(resource)}"


def metadata_document(policy: ResourcePolicy) -> dict[str, Any]:
    """RFC 9728 §2 members, with RFC 9449 §5.1 and RFC 8705 §3.4 for the bindings this server accepts."""
    return {
        "resource": policy.resource,
        "authorization_servers": list(policy.authorization_servers),
        "scopes_supported": list(policy.scopes_supported),
        # RFC 6750 §2.1 only: never form bodies or query strings (MCP 2025-11-25 "Token Requirements").
        "bearer_methods_supported": ["header"],
        "resource_name": policy.resource_name,
        "dpop_signing_alg_values_supported": list(policy.dpop_algs),
        # With the baseline tier on, stock clients may present audience-restricted bearer tokens.
        "dpop_bound_access_tokens_required": not policy.baseline,
        "tls_client_certificate_bound_access_tokens": policy.mtls,
    }


def metadata_response(policy: ResourcePolicy) -> JSONResponse:
    return JSONResponse(metadata_document(policy), headers={"Cache-Control": "max-age=300"})
