"""The ``authority`` operator command (issue 4 §5). Every command has ``--help``.

Offline on a data folder (``--data-dir``, or ``$AUTHORITY_DATA_DIR``), or against a running service (``--url``,
or ``$AUTHORITY_URL``, with the admin token in ``$AUTHORITY_ADMIN_TOKEN``; never on the command line, where
other users could read it). Bad input prints one ``authority: error: ...`` line and exits non-zero; never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pydantic

from authority.backend import Backend, CLIError, LocalBackend, RemoteBackend
from authority.models import ID_PATTERN, KID_PATTERN, describe_errors
from authority.parser import SUBJECT_OPTIONS, apply_defaults, build_parser
from authority.policy import AuthorityPolicy
from authority.records import RegistryError
from authority.service import Authority
from hardened.errors import HardenedError, JoseError, OAuthError

__all__ = ["main"]

TOKEN_ENV = "AUTHORITY_ADMIN_TOKEN"  # noqa: S105 - the name of the variable, not a secret


def _out(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def _ident(value: str, what: str, pattern: str = ID_PATTERN) -> str:
    if not re.fullmatch(pattern, value):
        raise CLIError(f"{what} {value!r} is not a valid identifier")
    return value


def _backend(ns: argparse.Namespace) -> Backend:
    if ns.url:
        parts = urlsplit(ns.url)
        if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost",
                                                                                         "::1"))):
            raise CLIError("--url must be https (http only on loopback): the admin token must not travel in clear")
        token = os.environ.get(TOKEN_ENV, "")
        if not token:
            raise CLIError(f"--url needs the admin token in ${TOKEN_ENV}")
        return RemoteBackend(ns.url, token)
    return LocalBackend(Authority(ns.data_dir))


def _read_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise CLIError(f"{path} is not valid JSON") from None


# -- commands --------------------------------------------------------------------------------------------------
def cmd_init(ns: argparse.Namespace) -> int:
    if ns.url:
        raise CLIError("init works on a data folder only (--data-dir)")
    policy = AuthorityPolicy(alg=ns.alg, default_ttl=ns.default_ttl)
    authority, token = Authority.init(ns.data_dir, issuer=ns.issuer, policy=policy, actor="cli:init")
    kid = authority.active_key().kid
    print(f"authority initialised in {authority.data_dir}\nissuer: {authority.issuer}\nsigning key: {kid} ({ns.alg})")
    print(f"admin token (shown once; store it in a secret manager, export as ${TOKEN_ENV}):\n{token}")
    return 0


def cmd_token_reset(ns: argparse.Namespace) -> int:
    if ns.url:
        raise CLIError("token reset works on a data folder only (--data-dir)")
    print(Authority(ns.data_dir).reset_admin_token(actor="cli:token-reset"))
    return 0


def cmd_org(ns: argparse.Namespace) -> int:
    backend = _backend(ns)
    if ns.org_command == "add":
        body = {"name": ns.name, "contacts": ns.contact or [], "jurisdiction": ns.jurisdiction}
        if ns.id:
            body["org_id"] = ns.id
        _out(backend.create_org(body))
    elif ns.org_command == "list":
        for org in backend.list_orgs():
            print(f"{org['org_id']}\t{org['status']}\t{org['name']}")
    else:
        status = "suspended" if ns.org_command == "suspend" else "active"
        _out(backend.set_org_status(_ident(ns.org_id, "organisation"), status, ns.reason))
    return 0


def _software_body(ns: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = _read_json(ns.from_json) if ns.from_json else {}
    if not isinstance(body, dict):
        raise CLIError("--from-json must hold a JSON object")
    options = {"software_id": ns.id, "org_id": ns.org, "client_name": ns.name, "description": ns.description,
               "software_version": ns.version, "redirect_uris": ns.redirect_uri, "jwks_uri": ns.jwks_uri,
               "scope": ns.scope, "token_endpoint_auth_method": ns.auth_method, "grant_types": ns.grant_type,
               "hardened_tier": ns.tier, "sender_constraint": ns.sender_constraint, "logo_uri": ns.logo_uri,
               "policy_uri": ns.policy_uri, "tos_uri": ns.tos_uri, "client_uri": ns.client_uri,
               "contacts": ns.contact}
    options.update({f"tls_client_auth_{kind}": getattr(ns, f"tls_client_auth_{kind}") for kind in SUBJECT_OPTIONS})
    body.update({k: v for k, v in options.items() if v is not None})
    if ns.jwks_file:
        body["jwks"] = _read_json(ns.jwks_file)
    if ns.attestation_required:
        body["attestation_required"] = True
    return body


def cmd_software(ns: argparse.Namespace) -> int:
    backend = _backend(ns)
    if ns.software_command == "add":
        _out(backend.add_software(_software_body(ns)))
    elif ns.software_command == "list":
        org = _ident(ns.org, "organisation") if ns.org else None
        for sw in backend.list_software(org):
            print(f"{sw['software_id']}\t{sw['org_id']}\t{sw['metadata'].get('hardened_tier')}\t"
                  f"{sw['metadata'].get('client_name')}")
    else:
        _out(backend.show_software(_ident(ns.software_id, "software")))
    return 0


def cmd_sign(ns: argparse.Namespace) -> int:
    result = _backend(ns).sign(_ident(ns.software_id, "software"), ns.ttl)
    if ns.json:
        _out(result)
    else:
        print(result["software_statement"])
    return 0


def cmd_revoke(ns: argparse.Namespace) -> int:
    pattern = KID_PATTERN if ns.kind == "statement" else ID_PATTERN
    body = {"kind": ns.kind, "target": _ident(ns.target, ns.kind, pattern), "reason": ns.reason}
    _out(_backend(ns).revoke(body))
    return 0


def cmd_status(ns: argparse.Namespace) -> int:
    _out(_backend(ns).statement(_ident(ns.jti, "statement", KID_PATTERN)))
    return 0


def _key_command(ns: argparse.Namespace, action: str, rotate: Any, retire: Any, listing: Any) -> int:
    """``rotate``, ``retire`` or list one key set (statement keys or attester keys)."""
    if action == "rotate":
        _out(rotate(ns.alg))
    elif action == "retire":
        _out(retire(_ident(ns.kid, "kid", KID_PATTERN)))
    else:
        for key in listing():
            print(f"{key['kid']}\t{key['alg']}\t{key['state']}")
    return 0


def cmd_keys(ns: argparse.Namespace) -> int:
    backend = _backend(ns)
    return _key_command(ns, ns.keys_command, backend.rotate, backend.retire, backend.list_keys)


def cmd_instance(ns: argparse.Namespace) -> int:
    backend, software_id = _backend(ns), _ident(ns.software_id, "software")
    if ns.instance_command == "add":
        body: dict[str, Any] = {"jwk": _read_json(ns.jwk_file)}
        if ns.id:
            body["instance_id"] = ns.id
        _out(backend.add_instance(software_id, body))
    elif ns.instance_command == "list":
        listing = backend.list_instances(software_id)
        for inst in listing["instances"]:
            print(f"{inst['instance_id']}\t{inst['status']}\t{inst['jkt']}")
        for binding in listing["client_bindings"]:
            print(f"client_id\t{binding['client_id']}\t{binding['instance_id']}")
    else:
        _out(backend.revoke_instance(software_id, _ident(ns.instance_id, "instance"), ns.reason))
    return 0


def cmd_attester_keys(ns: argparse.Namespace) -> int:
    backend = _backend(ns)
    return _key_command(ns, ns.attester_keys_command, backend.rotate_attester_key, backend.retire_attester_key,
                        backend.attester_keys)


def cmd_audit(ns: argparse.Namespace) -> int:
    backend = _backend(ns)
    if ns.verify:
        check = backend.verify_audit()
        if not check["ok"]:
            print(f"audit log BROKEN at entry {check['first_bad_seq']}: {check['reason']}", file=sys.stderr)
            return 1
        print(f"audit log OK: {check['entries']} entries, head {check['head']}")
        return 0
    for entry in backend.audit(ns.after, ns.limit):
        details = json.dumps(entry["details"], sort_keys=True)
        print(f"{entry['seq']}\t{entry['at']:.0f}\t{entry['actor']}\t{entry['action']}\t{entry['target']}\t{details}")
    return 0


def cmd_serve(ns: argparse.Namespace) -> int:
    if ns.url:
        raise CLIError("serve works on a data folder only (--data-dir)")
    import uvicorn

    from authority.app import create_app

    app = create_app(Authority(ns.data_dir))
    if ns.host not in ("127.0.0.1", "localhost", "::1"):
        print("authority: warning: serve speaks plain HTTP; put a TLS-terminating proxy in front of it",
              file=sys.stderr)
    uvicorn.run(app, host=ns.host, port=ns.port, log_level=ns.log_level, proxy_headers=False)
    return 0


COMMANDS = {"init": cmd_init, "org": cmd_org, "software": cmd_software, "sign": cmd_sign, "revoke": cmd_revoke,
            "status": cmd_status, "keys": cmd_keys, "audit": cmd_audit, "serve": cmd_serve, "token": cmd_token_reset,
            "instance": cmd_instance, "attester-keys": cmd_attester_keys}


def _describe(exc: Exception) -> str:
    if isinstance(exc, pydantic.ValidationError):
        return describe_errors(exc.errors())
    if isinstance(exc, OAuthError | JoseError):
        return exc.description
    if isinstance(exc, OSError):
        return f"{exc.strerror or type(exc).__name__}" + (f": {exc.filename}" if exc.filename else "")
    return str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 1 refused or failed, 2 bad usage)."""
    parser = build_parser()
    try:
        ns = apply_defaults(parser.parse_args(argv))
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    try:
        return COMMANDS[ns.command](ns)
    except (CLIError, RegistryError, HardenedError, pydantic.ValidationError, OSError, ValueError) as exc:
        print(f"authority: error: {_describe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
