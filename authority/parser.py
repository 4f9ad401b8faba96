"""The ``authority`` command line: every command and option, each with ``--help``."""

from __future__ import annotations

import argparse
import os

__all__ = ["SUBJECT_OPTIONS", "apply_defaults", "build_parser"]

EXAMPLE = """example:
  authority --data-dir ./authority-data init --issuer https://authority.example
  authority org add --id acme --name "Acme Trading" --jurisdiction GB
  authority software add --id acme-agent --org acme --name "Acme Agent" \\
      --redirect-uri https://agent.acme.example/cb --jwks-uri https://agent.acme.example/jwks.json --scope "trade:read"
  authority sign acme-agent --ttl 2592000
"""


#: RFC 8705 §2.1.2 subject parameters (``tls_client_auth_<kind>``), the certificate value the AS matches
SUBJECT_OPTIONS = {"subject_dn": "the certificate's subject DN (RFC 4514 string)",
                   "san_dns": "a dNSName SAN of the certificate", "san_uri": "a uniformResourceIdentifier SAN",
                   "san_ip": "an iPAddress SAN (IPv4 or IPv6 text)", "san_email": "an rfc822Name SAN"}


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 2 with one line; never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage()
        self.exit(2, f"{self.prog}: error: {message}\n")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS,
                        help="the authority's data folder (default $AUTHORITY_DATA_DIR or ./authority-data)")
    common.add_argument("--url", default=argparse.SUPPRESS,
                        help="a running authority (default $AUTHORITY_URL); the admin token is read from "
                             "$AUTHORITY_ADMIN_TOKEN")
    return common


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return number


def _org(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    org = sub.add_parser("org", parents=[common], help="organisations: add, list, suspend, reinstate")
    cmds = org.add_subparsers(dest="org_command", required=True, parser_class=_Parser)
    add = cmds.add_parser("add", parents=[common], help="register an organisation")
    add.add_argument("--name", required=True, help="legal or trading name (shown on consent pages)")
    add.add_argument("--id", help="organisation id (default: generated)")
    add.add_argument("--contact", action="append", help="contact address (repeatable)")
    add.add_argument("--jurisdiction", help="ISO 3166 country code, e.g. GB or US-CA")
    cmds.add_parser("list", parents=[common], help="list organisations")
    for verb, text in (("suspend", "suspend: every statement of the organisation is refused"),
                       ("reinstate", "lift a suspension")):
        cmd = cmds.add_parser(verb, parents=[common], help=text)
        cmd.add_argument("org_id", help="organisation id")
        cmd.add_argument("--reason", default=f"{verb} by operator", help="recorded in the audit log")


def _software(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sw = sub.add_parser("software", parents=[common], help="software: add, list, show")
    cmds = sw.add_subparsers(dest="software_command", required=True, parser_class=_Parser)
    add = cmds.add_parser("add", parents=[common], help="register vetted software (claims: docs/authority.md)")
    add.add_argument("--from-json", help="a JSON file with the software fields (options below override it)")
    add.add_argument("--id", help="software_id (default: generated)")
    add.add_argument("--org", help="owning organisation id")
    add.add_argument("--name", help="client_name")
    add.add_argument("--description", help="what the software does (kept in the registry)")
    add.add_argument("--version", help="software_version")
    add.add_argument("--redirect-uri", action="append", help="redirect URI (repeatable; https or loopback http)")
    add.add_argument("--jwks-uri", help="the client's JWKS URL (https)")
    add.add_argument("--jwks-file", help="a JSON file with the client's public JWKS (instead of --jwks-uri)")
    add.add_argument("--scope", help='space-separated scopes the software may ask for, e.g. "trade:read"')
    add.add_argument("--auth-method", choices=["private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"],
                     help="token_endpoint_auth_method (default private_key_jwt)")
    add.add_argument("--grant-type", action="append", help="grant type (repeatable; default authorization_code)")
    add.add_argument("--tier", choices=["baseline", "hardened", "attested"], help="hardened_tier (default hardened)")
    add.add_argument("--sender-constraint", choices=["dpop", "mtls"], help="sender_constraint (default dpop)")
    add.add_argument("--attestation-required", action="store_true", help="attestation_required: true")
    for kind, text in SUBJECT_OPTIONS.items():
        add.add_argument(f"--tls-client-auth-{kind.replace('_', '-')}", metavar=kind.split("_")[-1].upper(),
                         help=f"tls_client_auth_{kind}: {text} (RFC 8705 §2.1.2; at most one, only with "
                              "--auth-method tls_client_auth)")
    for name in ("logo-uri", "policy-uri", "tos-uri", "client-uri"):
        add.add_argument(f"--{name}", help=name.replace("-", "_") + " (https)")
    add.add_argument("--contact", action="append", help="contact address (repeatable)")
    lst = cmds.add_parser("list", parents=[common], help="list software")
    lst.add_argument("--org", help="only this organisation's software")
    show = cmds.add_parser("show", parents=[common], help="show one software record")
    show.add_argument("software_id")


def _keys(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    keys = sub.add_parser("keys", parents=[common], help="signing keys: rotate, list, retire")
    cmds = keys.add_subparsers(dest="keys_command", required=True, parser_class=_Parser)
    rotate = cmds.add_parser("rotate", parents=[common],
                             help="new active key; the old one becomes retiring (still published)")
    rotate.add_argument("--alg", choices=["PS256", "ES256", "EdDSA"], help="algorithm (default: the policy's)")
    cmds.add_parser("list", parents=[common], help="list keys with their state")
    retire = cmds.add_parser("retire", parents=[common], help="stop publishing a retiring key")
    retire.add_argument("kid")


def _instance(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    inst = sub.add_parser("instance", parents=[common],
                          help="software instances the authority attests (docs/attester.md): add, list, revoke")
    cmds = inst.add_subparsers(dest="instance_command", required=True, parser_class=_Parser)
    add = cmds.add_parser("add", parents=[common], help="register an instance and its public key (cnf.jwk)")
    add.add_argument("software_id")
    add.add_argument("--jwk-file", required=True, help="a JSON file with the instance's public JWK")
    add.add_argument("--id", help="instance id (default: generated)")
    lst = cmds.add_parser("list", parents=[common], help="list a software's instances and bound client ids")
    lst.add_argument("software_id")
    revoke = cmds.add_parser("revoke", parents=[common], help="revoke an instance: no attestation from now on")
    revoke.add_argument("software_id")
    revoke.add_argument("instance_id")
    revoke.add_argument("--reason", default="revoked by operator", help="recorded in the registry and audit log")
    keys = sub.add_parser("attester-keys", parents=[common], help="attester signing keys: list, rotate, retire")
    kcmds = keys.add_subparsers(dest="attester_keys_command", required=True, parser_class=_Parser)
    kcmds.add_parser("list", parents=[common], help="list attester keys with their state")
    rotate = kcmds.add_parser("rotate", parents=[common], help="new active attester key; the old one is retiring")
    rotate.add_argument("--alg", choices=["PS256", "ES256", "EdDSA"], help="algorithm (default: the policy's)")
    retire = kcmds.add_parser("retire", parents=[common], help="stop publishing a retiring attester key")
    retire.add_argument("kid")


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(prog="authority", parents=[common], epilog=EXAMPLE,
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="Vet AI-agent software and sign its software statements (RFC 7591 §2.3).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    init = sub.add_parser("init", parents=[common], help="create the data folder, first key and admin token")
    init.add_argument("--issuer", required=True, help="the authority's URL (https; http only on loopback)")
    init.add_argument("--alg", choices=["PS256", "ES256", "EdDSA"], default="ES256", help="signing algorithm")
    init.add_argument("--default-ttl", type=_positive, default=30 * 86_400, help="statement lifetime in seconds")
    _org(sub, common)
    _software(sub, common)
    sign = sub.add_parser("sign", parents=[common], help="issue a software statement and print it")
    sign.add_argument("software_id")
    sign.add_argument("--ttl", type=_positive, help="lifetime in seconds (default: the policy's)")
    sign.add_argument("--json", action="store_true", help="print the statement record as JSON")
    revoke = sub.add_parser("revoke", parents=[common], help="revoke a statement, software or organisation")
    revoke.add_argument("kind", choices=["statement", "software", "organisation"])
    revoke.add_argument("target", help="jti, software_id or org_id")
    revoke.add_argument("--reason", default="revoked by operator", help="recorded in the registry and audit log")
    status = sub.add_parser("status", parents=[common], help="show a statement's record and status")
    status.add_argument("jti", help="the statement's jti (printed by sign --json, listed in the audit log)")
    _keys(sub, common)
    _instance(sub, common)
    audit = sub.add_parser("audit", parents=[common], help="show the audit log, or --verify its hash chain")
    audit.add_argument("--verify", action="store_true", help="check the hash chain; exit 1 if broken")
    audit.add_argument("--after", type=_positive, default=0, help="entries after this sequence number")
    audit.add_argument("--limit", type=_positive, default=100, help="at most this many entries")
    serve = sub.add_parser("serve", parents=[common], help="run the authority service (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    serve.add_argument("--port", type=_positive, default=8700, help="port (default 8700)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    token = sub.add_parser("token", parents=[common], help="admin token: reset (offline; prints the new token)")
    token.add_argument("token_command", choices=["reset"])
    return parser


def apply_defaults(ns: argparse.Namespace) -> argparse.Namespace:
    """Global options may stand before or after the command; fill in the environment's defaults afterwards
    (``set_defaults`` would overwrite them: argparse shares parent actions between parsers)."""
    if not getattr(ns, "data_dir", None):
        ns.data_dir = os.environ.get("AUTHORITY_DATA_DIR") or "authority-data"
    if not getattr(ns, "url", None):
        ns.url = os.environ.get("AUTHORITY_URL") or None
    return ns
