"""A deployment of the authorization server from one TOML file (read at start-up; every mistake fails there).

```toml
issuer = "http://127.0.0.1:8000"          # https, or http on loopback
data_dir = "data"                         # as.db (records) and as-replay.db (assertion and DPoP jti)
signing_keys = ["keys/as-1.pem"]          # PKCS#8 PEM; the first signs, the others stay in the JWKS
baseline = true                           # register stock MCP clients as public baseline clients
attesters_file = "attesters.json"        # trusted Client Attesters: turns the attested tier on (optional)
[scopes]                                  # scope = lowest tier that may hold it
"tools:read" = "baseline"
"trades:read" = "hardened"
[[resource_servers]]                      # MCP servers: introspection and token exchange
client_id = "mcp-server"
audience = "http://127.0.0.1:8001/mcp"
jwks_file = "keys/mcp-server.jwks.json"
upstreams = ["https://upstream.example/api"]
upstream_scopes = ["trades:read"]
[[authorities]]                           # trusted software statement issuers (optional)
issuer = "https://authority.example"
jwks_file = "keys/authority.jwks.json"
```
Relative paths are read from the file's folder.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hardened.core.dcr_policy import RegistrationPolicy
from hardened.core.scopes import ScopePolicy
from hardened.errors import ConfigurationError, HardenedError
from hardened.jose import SigningKey
from hardened.ports.replay import ReplayCache
from hardened.server.config import ResourceServer, ServerConfig, StatementVerifier
from hardened.server.mtls import mtls_from_toml

__all__ = ["Deployment", "load_deployment"]


@dataclass(frozen=True)
class Deployment:
    config: ServerConfig
    data_dir: Path
    authorities: tuple[dict[str, Any], ...]
    attesters_file: Path | None = None

    def with_attestation(self, replay: ReplayCache) -> ServerConfig:
        """The config with the attested tier on when ``attesters_file`` names trusted Client Attesters."""
        if self.attesters_file is None:
            return self.config
        from hardened.adapters.attesters import AttesterRegistry, TrustedAttesterVerifier

        verifier = TrustedAttesterVerifier(AttesterRegistry.from_json_file(self.attesters_file), replay=replay)
        return replace(self.config, attestation_verifiers=(verifier,))


def _path(base: Path, value: Any, what: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{what} must be a path")
    path = Path(value)
    return path if path.is_absolute() else base / path


def _json_file(base: Path, value: Any, what: str) -> dict[str, Any]:
    try:
        return json.loads(_path(base, value, what).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{what}: cannot read a JSON document ({exc.__class__.__name__})") from None


def _statement_verifier(base: Path, authorities: list[dict[str, Any]]) -> StatementVerifier | None:
    if not authorities:
        return None
    from hardened.server.statements import configured_statement_verifier  # needs the authority component

    return configured_statement_verifier(
        [(a["issuer"], _json_file(base, a.get("jwks_file"), "authorities.jwks_file")) for a in authorities])


def load_deployment(path: str | Path, *, issuer: str | None = None) -> Deployment:
    """Read and check the TOML file; ``issuer`` overrides the file's (for ephemeral ports)."""
    file = Path(path)
    try:
        doc = tomllib.loads(file.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read {file}: {exc}") from None
    base = file.parent
    try:
        keys = tuple(SigningKey.from_pem(_path(base, k, "signing_keys").read_bytes()) for k in doc["signing_keys"])
        scopes = ScopePolicy(dict(doc.get("scopes", {})))
        resource_servers = tuple(
            ResourceServer(client_id=rs["client_id"], audience=rs["audience"],
                           jwks=_json_file(base, rs.get("jwks_file"), "resource_servers.jwks_file"),
                           upstreams=tuple(rs.get("upstreams", ())),
                           upstream_scopes=tuple(rs.get("upstream_scopes", ())))
            for rs in doc.get("resource_servers", []))
        authorities = list(doc.get("authorities", []))
        config = ServerConfig(
            issuer=issuer or doc["issuer"], signing_keys=keys, scopes=scopes, resource_servers=resource_servers,
            registration=RegistrationPolicy(scopes=scopes, baseline_enabled=bool(doc.get("baseline", False))),
            statement_verifier=_statement_verifier(base, authorities),
            mtls=mtls_from_toml(doc.get("mtls"), base),  # RFC 8705; see hardened.server.mtls
        )
    except (KeyError, TypeError, ValueError, OSError, HardenedError) as exc:
        if isinstance(exc, ConfigurationError):
            raise
        raise ConfigurationError(f"{file}: {exc.__class__.__name__}: {exc}") from None
    attesters = doc.get("attesters_file")
    return Deployment(config=config, data_dir=_path(base, doc.get("data_dir", "data"), "data_dir"),
                      authorities=tuple(authorities),
                      attesters_file=_path(base, attesters, "attesters_file") if attesters else None)
