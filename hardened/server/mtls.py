"""Mutual TLS at the authorization server (RFC 8705): where certificates come from, what is trusted, metadata.

``ServerConfig(mtls=MTLSConfig(...))`` turns it on. Then:

- clients registered (through a software statement) with ``tls_client_auth`` or ``self_signed_tls_client_auth``
  authenticate with their certificate at PAR, token (exchange included), introspection and revocation
  (``hardened.server.client_auth``);
- clients registered with ``sender_constraint: mtls`` get ``cnf.x5t#S256`` tokens (``hardened.server.grants``);
- resource servers may authenticate and bind exchanged tokens the same way (``resource_servers``);
- the RFC 8414 metadata lists the methods, ``tls_client_certificate_bound_access_tokens`` and
  ``mtls_endpoint_aliases`` (RFC 8705 §5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from hardened.core.dcr_policy import MTLS_AUTH_METHODS
from hardened.core.mtls import SUBJECT_PARAMETERS, check_self_signed_registration, tls_client_auth_subject
from hardened.errors import ConfigurationError, InvalidClientMetadata
from hardened.web.client_cert import ClientCertificateSource, HeaderFormat
from pki.profiles import PkiError
from pki.verify import ChainPolicy, TrustAnchors

__all__ = ["MTLS_AUTH_METHODS", "MTLSConfig", "ResourceServerMTLS", "mtls_from_toml", "mtls_metadata"]

#: RFC 8705 §5: the endpoints a client reaches with its certificate
_ALIASED = {"token_endpoint": "/token", "pushed_authorization_request_endpoint": "/par",
            "introspection_endpoint": "/introspect", "revocation_endpoint": "/revoke"}


@dataclass(frozen=True)
class ResourceServerMTLS:
    """How one configured resource server uses mutual TLS: its auth method (``private_key_jwt`` stays possible),
    its registered subject (``tls_client_auth``: one ``tls_client_auth_*`` name -> value) and the binding of the
    tokens it gets by exchange (``dpop`` or ``mtls``)."""

    token_endpoint_auth_method: str = "private_key_jwt"  # noqa: S105 - an auth method name
    tls_client_auth: Mapping[str, str] = field(default_factory=dict)
    sender_constraint: str = "dpop"

    def check(self, client_id: str, jwks: Mapping[str, Any]) -> None:
        method = self.token_endpoint_auth_method
        try:
            if method == "tls_client_auth":
                tls_client_auth_subject(self.tls_client_auth)
            elif method == "self_signed_tls_client_auth":
                check_self_signed_registration(jwks)
            elif method != "private_key_jwt":
                raise InvalidClientMetadata(f"unknown token_endpoint_auth_method {method!r}")
        except InvalidClientMetadata as exc:
            raise ConfigurationError(f"resource server {client_id}: {exc.description}") from None
        if self.sender_constraint not in ("dpop", "mtls"):
            raise ConfigurationError(f"resource server {client_id}: sender_constraint is dpop or mtls")


@dataclass(frozen=True)
class MTLSConfig:
    """Trust anchors for ``tls_client_auth`` (RFC 8705 §2.1), the certificate intake and the endpoint aliases.

    ``known_intermediates`` complete chains that arrive leaf-only (nginx). ``endpoint_base`` is the origin of
    the mutual-TLS endpoints (RFC 8705 §5); by default the issuer itself serves them.
    """

    trust_anchors: TrustAnchors
    source: ClientCertificateSource = field(default_factory=ClientCertificateSource)
    known_intermediates: tuple[x509.Certificate, ...] = ()
    chain_policy: ChainPolicy = field(default_factory=ChainPolicy)
    endpoint_base: str | None = None
    resource_servers: Mapping[str, ResourceServerMTLS] = field(default_factory=dict)

    @classmethod
    def from_files(cls, trust_anchor_files: Iterable[Path], *, intermediate_files: Iterable[Path] = (),
                   trusted_proxies: Iterable[str] = (), header_format: HeaderFormat | None = None,
                   **options: Any) -> MTLSConfig:
        """Start-up configuration from PEM files; every mistake is a ``ConfigurationError`` here."""
        try:
            anchors = TrustAnchors.load(trust_anchor_files)
            intermediates = TrustAnchors.load(intermediate_files).certificates if intermediate_files else ()
        except PkiError as exc:
            raise ConfigurationError(str(exc)) from None
        source = ClientCertificateSource(trusted_proxies=trusted_proxies, header_format=header_format)
        return cls(anchors, source, tuple(intermediates), **options)

    def check_resource_servers(self, jwks_by_client: Mapping[str, Mapping[str, Any]]) -> None:
        for client_id, settings in self.resource_servers.items():
            if client_id not in jwks_by_client:
                raise ConfigurationError(f"mTLS settings for unknown resource server {client_id}")
            settings.check(client_id, jwks_by_client[client_id])

    def for_resource_server(self, client_id: str) -> ResourceServerMTLS:
        return self.resource_servers.get(client_id) or ResourceServerMTLS()


def mtls_metadata(issuer: str, config: MTLSConfig, base: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 8705 §2.1.1, §3.3, §5 members added to the RFC 8414 metadata ``base``."""
    origin = (config.endpoint_base or issuer).rstrip("/")
    out: dict[str, Any] = {"tls_client_certificate_bound_access_tokens": True,
                           "mtls_endpoint_aliases": {name: origin + path for name, path in _ALIASED.items()}}
    for name in ("token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported",
                 "introspection_endpoint_auth_methods_supported"):
        methods = list(base.get(name, ()))
        out[name] = [*methods, *(m for m in MTLS_AUTH_METHODS if m not in methods)]
    return out


def _paths(base: Path, value: Any, what: str) -> list[Path]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigurationError(f"mtls.{what} must be a list of paths")
    return [Path(v) if Path(v).is_absolute() else base / v for v in value]


def _resource_server_settings(table: Any) -> ResourceServerMTLS:
    if not isinstance(table, Mapping) or set(table) - {"token_endpoint_auth_method", "sender_constraint",
                                                        *SUBJECT_PARAMETERS}:
        raise ConfigurationError("mtls.resource_servers entries take token_endpoint_auth_method, "
                                 "sender_constraint and one tls_client_auth_* subject")
    return ResourceServerMTLS(
        token_endpoint_auth_method=table.get("token_endpoint_auth_method", "private_key_jwt"),
        tls_client_auth={k: v for k, v in table.items() if k in SUBJECT_PARAMETERS},
        sender_constraint=table.get("sender_constraint", "dpop"))


def mtls_from_toml(table: Any, base: Path) -> MTLSConfig | None:
    """The ``[mtls]`` table of a deployment file (relative paths from ``base``); None when absent::

        [mtls]
        trust_anchors = ["ca/trust-anchors.pem"]     # RFC 8705 §2.1 trust anchors (required)
        intermediates = ["ca/intermediate.pem"]      # optional: completes leaf-only chains
        trusted_proxies = ["10.0.0.5"]               # optional, with header_format: the TLS-terminating proxy
        header_format = "rfc9440"                    # "rfc9440" | "nginx" | "xfcc"
        endpoint_base = "https://mtls.as.example"    # optional: RFC 8705 §5 aliases
        [mtls.resource_servers.mcp-server]           # optional: an MCP server's own mTLS settings
        token_endpoint_auth_method = "tls_client_auth"
        tls_client_auth_san_uri = "https://mcp.example/rs"
        sender_constraint = "mtls"
    """
    if table is None:
        return None
    known = {"trust_anchors", "intermediates", "trusted_proxies", "header_format", "endpoint_base",
             "resource_servers"}
    if not isinstance(table, Mapping) or set(table) - known:
        raise ConfigurationError(f"[mtls] takes only {', '.join(sorted(known))}")
    servers = table.get("resource_servers", {})
    if not isinstance(servers, Mapping):
        raise ConfigurationError("mtls.resource_servers must be a table")
    endpoint_base = table.get("endpoint_base")
    if endpoint_base is not None and not (isinstance(endpoint_base, str) and endpoint_base.startswith("https://")):
        raise ConfigurationError("mtls.endpoint_base must be an https URL")
    proxies = table.get("trusted_proxies", [])
    if not isinstance(proxies, list):
        raise ConfigurationError("mtls.trusted_proxies must be a list of addresses or networks")
    return MTLSConfig.from_files(
        _paths(base, table.get("trust_anchors"), "trust_anchors"),
        intermediate_files=_paths(base, table.get("intermediates", []), "intermediates"),
        trusted_proxies=proxies, header_format=table.get("header_format"),
        endpoint_base=endpoint_base,
        resource_servers={str(k): _resource_server_settings(v) for k, v in servers.items()})
