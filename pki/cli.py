"""The ``pki`` console script: ``pki init``, ``pki issue``, ``pki inspect`` (a development CA, RFC 5280).

    pki init ./ca --subject "CN=Example Dev Root,O=Example" --intermediate
    pki issue --ca ./ca --profile agent --subject "CN=agent-1,O=Example" --san-uri https://agents.example/1
    pki inspect agent-1.pem

Bad input prints one line ``pki: error: ...`` and exits 1 (argument errors exit 2); never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from pki.ca import CertificateAuthority, SubjectAltNames, self_signed_certificate
from pki.profiles import KEY_TYPES, PROFILES, PkiError
from pki.verify import certificate_info

__all__ = ["main"]


def _not_before(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise PkiError(f"--not-before {text!r} is not an ISO 8601 date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _issuing_ca(directory: Path) -> CertificateAuthority:
    if (directory / "intermediate.pem").exists():
        return CertificateAuthority.load(directory, "intermediate")
    return CertificateAuthority.load(directory, "root")


def cmd_init(ns: argparse.Namespace) -> int:
    directory: Path = ns.directory
    if (directory / "root.key").exists() and not ns.force:
        raise PkiError(f"{directory} already holds a CA (use --force to replace it)")
    start = _not_before(ns.not_before)
    root = CertificateAuthority.create_root(ns.subject, not_before=start, days=ns.days, key_type=ns.key_type)
    root.save(directory, "root")
    (directory / "trust-anchors.pem").write_bytes(root.bundle_pem())
    print(f"root CA       {directory / 'root.pem'}  {root.certificate.subject.rfc4514_string()}")
    if ns.intermediate:
        inter = root.create_intermediate(ns.intermediate_subject, not_before=start, days=min(ns.days, 1825),
                                         key_type=ns.key_type)
        inter.save(directory, "intermediate")
        print(f"intermediate  {directory / 'intermediate.pem'}  {inter.certificate.subject.rfc4514_string()}")
    else:  # a replaced CA keeps no stale intermediate
        for stale in ("intermediate.pem", "intermediate.key", "intermediate-chain.pem"):
            (directory / stale).unlink(missing_ok=True)
    print(f"trust anchors {directory / 'trust-anchors.pem'}")
    return 0


def cmd_issue(ns: argparse.Namespace) -> int:
    sans = SubjectAltNames(dns=tuple(ns.san_dns), uri=tuple(ns.san_uri), ip=tuple(ns.san_ip),
                           email=tuple(ns.san_email))
    start = _not_before(ns.not_before)
    if ns.self_signed:
        if ns.ca is not None:
            raise PkiError("--self-signed and --ca exclude each other")
        issued = self_signed_certificate(ns.subject, sans=sans, not_before=start, days=ns.days, key_type=ns.key_type)
    else:
        if ns.ca is None:
            raise PkiError("give --ca DIR (made by `pki init`) or --self-signed")
        issued = _issuing_ca(ns.ca).issue(ns.profile, ns.subject, sans=sans, not_before=start, days=ns.days,
                                          key_type=ns.key_type)
    name = ns.name or _default_name(issued.certificate)
    paths = issued.write(ns.out, name)
    for kind, path in paths.items():
        print(f"{kind:<12} {path}")
    print(f"x5t#S256     {certificate_info(issued.certificate)['x5t#S256']}")
    return 0


def _default_name(cert: x509.Certificate) -> str:
    cns = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    text = str(cns[0].value) if cns else "certificate"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text).strip(".-") or "certificate"


def cmd_inspect(ns: argparse.Namespace) -> int:
    try:
        data = ns.file.read_bytes()
    except OSError as exc:
        raise PkiError(f"cannot read {ns.file}: {exc.strerror}") from None
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        try:
            certs = [x509.load_der_x509_certificate(data)]
        except ValueError:
            raise PkiError(f"{ns.file} holds no PEM or DER certificate") from None
    infos = [certificate_info(c) for c in certs]
    if ns.json:
        print(json.dumps(infos if len(infos) > 1 else infos[0], indent=2))
        return 0
    for index, info in enumerate(infos):
        if index:
            print()
        for key, value in info.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"{key:<19} {shown}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pki", description="A small development CA for mutual TLS (RFC 8705).")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create a root CA (and optionally an intermediate) in a directory")
    init.add_argument("directory", type=Path)
    init.add_argument("--subject", default="CN=hardened development root CA", help="RFC 4514 subject of the root")
    init.add_argument("--intermediate", action="store_true", help="also create an intermediate that issues leaves")
    init.add_argument("--intermediate-subject", default="CN=hardened development issuing CA")
    init.add_argument("--force", action="store_true", help="replace an existing CA in the directory")
    issue = sub.add_parser("issue", help="issue a leaf certificate by profile (or a self-signed client certificate)")
    issue.add_argument("--ca", type=Path, help="CA directory made by `pki init`")
    issue.add_argument("--self-signed", action="store_true", help="self-signed client certificate (RFC 8705 §2.2)")
    issue.add_argument("--profile", choices=sorted(PROFILES), default="agent",
                       help="; ".join(f"{p.name}: {p.description}" for p in PROFILES.values()))
    issue.add_argument("--subject", required=True, help="RFC 4514 subject, e.g. 'CN=agent-1,O=Example'")
    for kind in ("dns", "uri", "ip", "email"):
        issue.add_argument(f"--san-{kind}", action="append", default=[], metavar=kind.upper(),
                           help=f"subject alternative name of kind {kind} (repeatable)")
    issue.add_argument("--out", type=Path, default=Path("."), help="output directory (default: .)")
    issue.add_argument("--name", help="file name stem (default: from the CN)")
    inspect = sub.add_parser("inspect", help="show subject (RFC 4514), SANs, validity, EKU and x5t#S256")
    inspect.add_argument("file", type=Path, help="PEM bundle or DER certificate")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    for command, default_days in ((init, 3650), (issue, 90)):
        command.add_argument("--key-type", choices=KEY_TYPES, default="ec-p256")
        command.add_argument("--days", type=float, default=default_days, help=f"validity (default {default_days})")
        command.add_argument("--not-before", help="start of validity, ISO 8601 (default: 5 minutes ago)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    ns = _parser().parse_args(argv)
    handler = {"init": cmd_init, "issue": cmd_issue, "inspect": cmd_inspect}[ns.command]
    try:
        return handler(ns)
    except (PkiError, OSError) as exc:
        message = str(exc) if isinstance(exc, PkiError) else f"{exc.strerror or exc}: {exc.filename or ''}"
        print(f"pki: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
