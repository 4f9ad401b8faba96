"""``python -m hardened.server.cli``: initialise, add users to, and serve the hardened authorization server.

    python -m hardened.server.cli init --dir as --issuer http://127.0.0.1:8000
    HARDENED_PASSWORD=secret python -m hardened.server.cli add-user --config as/as.toml --username alice \\
        --subject user-alice --role trader --tenant acme --country DE
    python -m hardened.server.cli serve --config as/as.toml --port 8000 --workers 2
    python -m hardened.server.cli rotate-key --config as/as.toml     # then restart; the old key stays published

Records live in ``<data_dir>/as.db`` (SQLite, WAL) and the replay cache in ``<data_dir>/as-replay.db``, so any
number of uvicorn workers share single-use codes, request URIs and ``jti`` values.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI

from hardened.errors import ConfigurationError

__all__ = ["app_from_env", "main"]

CONFIG_ENV = "HARDENED_AS_CONFIG"
ISSUER_ENV = "HARDENED_AS_ISSUER"
TEMPLATE = """issuer = "{issuer}"
data_dir = "data"
signing_keys = ["as-signing.pem"]
baseline = true

[scopes]
"tools:read" = "baseline"
"trades:read" = "hardened"
"trades:write" = "hardened"
"""


def app_from_env() -> FastAPI:
    """The uvicorn factory (``--factory``) used by ``serve``: config path and issuer from the environment."""
    from hardened.adapters.sqlite_as import SQLiteASStore
    from hardened.adapters.sqlite_replay import SQLiteReplayCache
    from hardened.adapters.write_lock import LockedReplayCache, WriteLock
    from hardened.clock import SystemClock
    from hardened.server.app import create_app
    from hardened.server.config import ServerStores
    from hardened.server.deployment import load_deployment

    deployment = load_deployment(os.environ[CONFIG_ENV], issuer=os.environ.get(ISSUER_ENV) or None)
    replay_path = deployment.data_dir / "as-replay.db"
    # Replay entries live <= a minute and guard nothing durable: no fsync per insert (see sqlite_replay).
    cache = SQLiteReplayCache(replay_path, synchronous="NORMAL")
    replay = LockedReplayCache(cache, WriteLock(str(replay_path) + ".lock"))
    stores = ServerStores(SQLiteASStore(deployment.data_dir / "as.db"), replay)
    return create_app(deployment.with_attestation(replay), stores, SystemClock())


def _write_private(path: Path, data: bytes) -> None:
    """A new file, 0600 from its creation (never readable under the umask for a moment), never through a symlink
    or over an existing file (O_EXCL, O_NOFOLLOW)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise ConfigurationError(f"{path} exists; a private key is never overwritten") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _init(ns: argparse.Namespace) -> int:
    from hardened.jose import SigningKey

    folder = Path(ns.dir)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "as.toml"
    if config.exists():
        print(f"{config} exists; not overwritten", file=sys.stderr)
        return 1
    key = folder / "as-signing.pem"
    _write_private(key, SigningKey.generate(ns.alg).private_pem())
    config.write_text(TEMPLATE.format(issuer=ns.issuer))
    print(f"wrote {config} and {key}")
    return 0


def _rotate_key(ns: argparse.Namespace) -> int:
    """A new signing key first in ``signing_keys``; the previous ones stay (at most ``--keep`` in all) so that
    JWTs they signed still verify from the JWKS until they expire (RFC 7517 §5, RFC 8414 ``jwks_uri``)."""
    import json
    import re
    import tomllib

    from hardened.jose import SigningKey

    config = Path(ns.config)
    text = config.read_text()
    keys = list(tomllib.loads(text)["signing_keys"])
    name = f"as-signing-{secrets.token_hex(4)}.pem"
    key_file = config.parent / name
    _write_private(key_file, SigningKey.generate(ns.alg).private_pem())
    kept = [name, *keys][: max(ns.keep, 1)]
    line = "signing_keys = " + json.dumps(kept)
    config.write_text(re.sub(r"(?m)^signing_keys\s*=.*$", lambda _: line, text, count=1))
    print(f"new signing key {name}; signing_keys = {kept}; restart the server to use it")
    return 0


def _add_user(ns: argparse.Namespace) -> int:
    from hardened.adapters.sqlite_as import SQLiteASStore
    from hardened.ports.as_stores import User
    from hardened.server.deployment import load_deployment
    from hardened.server.passwords import hash_password

    password = os.environ.get("HARDENED_PASSWORD") or sys.stdin.readline().rstrip("\n")
    if not password:
        print("give the password in HARDENED_PASSWORD or on stdin", file=sys.stderr)
        return 2
    deployment = load_deployment(ns.config)
    store = SQLiteASStore(deployment.data_dir / "as.db")
    store.put_user(User(ns.username, hash_password(password), ns.subject, ns.role, ns.tenant, ns.country))
    print(f"user {ns.username} stored")
    return 0


def tcp_listener(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP listening socket created as IPPROTO_TCP, so asyncio sets TCP_NODELAY on every accepted connection.

    (A socket made without the protocol number, as uvicorn's multi-worker mode makes it, leaves Nagle on and every
    response waits ~40 ms for a delayed ACK.) With ``reuse_port`` each worker binds its own socket and the kernel
    spreads connections over them.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(host: str, port: int, log_level: str, reuse_port: bool) -> None:
    import uvicorn

    config = uvicorn.Config("hardened.server.cli:app_from_env", factory=True, log_level=log_level,
                            proxy_headers=False, server_header=False)
    uvicorn.Server(config).run(sockets=[tcp_listener(host, port, reuse_port=reuse_port)])


def _serve(ns: argparse.Namespace) -> int:
    """One worker in this process, or ``--workers`` processes each with its own SO_REUSEPORT listener."""
    from hardened.server.deployment import load_deployment

    load_deployment(ns.config, issuer=ns.issuer)  # fail here, before any worker starts
    os.environ[CONFIG_ENV] = str(Path(ns.config).resolve())
    if ns.issuer:
        os.environ[ISSUER_ENV] = ns.issuer
    if ns.workers <= 1:
        _worker(ns.host, ns.port, ns.log_level, reuse_port=False)
        return 0
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_worker, args=(ns.host, ns.port, ns.log_level, True)) for _ in range(ns.workers)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        for worker in workers:
            worker.join(timeout=10)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hardened-as", description="The hardened OAuth authorization server.")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="write as.toml and a signing key into a folder")
    init.add_argument("--dir", required=True)
    init.add_argument("--issuer", default="http://127.0.0.1:8000")
    init.add_argument("--alg", default="ES256", choices=["ES256", "PS256", "EdDSA"])
    user = sub.add_parser("add-user", help="store a user (password from HARDENED_PASSWORD or stdin)")
    user.add_argument("--config", required=True)
    for name in ("username", "subject", "role", "tenant", "country"):
        user.add_argument(f"--{name}", required=True)
    rotate = sub.add_parser("rotate-key", help="generate a new signing key and put it first in signing_keys")
    rotate.add_argument("--config", required=True)
    rotate.add_argument("--alg", default="ES256", choices=["ES256", "PS256", "EdDSA"])
    rotate.add_argument("--keep", type=int, default=2, help="keys kept in the JWKS, the new one included")
    serve = sub.add_parser("serve", help="serve the authorization server with uvicorn")
    serve.add_argument("--config", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--issuer", help="override the issuer in the file")
    serve.add_argument("--log-level", default="warning")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    ns = _parser().parse_args(argv)
    try:
        return {"init": _init, "add-user": _add_user, "rotate-key": _rotate_key, "serve": _serve}[ns.command](ns)
    except ConfigurationError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
