"""``hardened demo``: the whole hardened flow on loopback, one line per step, and attacks being refused.

Starts the authority, the authorization server, the upstream trades API and the reference MCP server as real
uvicorn servers on 127.0.0.1 over a fresh data folder; enrols an agent at the authority (organisation, software,
signed statement); runs the agent through discovery, registration, PAR, consent, token, ``tools/list``, a read
tool, the step-up to the write tool and the token exchange upstream; then shows attacks being refused. Exit status
0 only when every step behaved as it should. ``--serve`` keeps the stack up afterwards and prints how to use it.
Nothing is faked: a part that is not built is reported as such.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import shutil
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

REDIRECT_URI = "http://127.0.0.1:8765/callback"
PARTS = {"authority.service": "authority", "hardened.server.app": "authorization server",
         "hardened.web.dpop": "DPoP"}


class Steps:
    """Prints ``ok``/``FAIL`` per step; counts failures."""

    def __init__(self) -> None:
        self.failed = 0

    def line(self, ok: bool, name: str, detail: str) -> None:
        print(f"  {'ok  ' if ok else 'FAIL'}  {name}: {detail}", flush=True)
        self.failed += 0 if ok else 1

    async def run(self, name: str, step: Callable[[], Awaitable[str]]) -> Any:
        try:
            self.line(True, name, await step())
        except Exception as exc:  # a demo step that misbehaves is reported, never hidden
            self.line(False, name, f"{type(exc).__name__}: {exc}")


def _missing() -> list[str]:
    return [name for module, name in PARTS.items() if _absent(module)]


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:
        return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hardened demo", description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="keep the stack up after the demo (Ctrl-C stops it)")
    parser.add_argument("--data-dir", help="data folder (default: a fresh temporary folder, removed at the end)")
    parser.add_argument("--sender-constraint", choices=["dpop", "mtls"], default="dpop",
                        help="dpop (default) or mtls: the whole demo over mutual TLS with certificate-bound tokens")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    ns = parser.parse_args(argv)
    if ns.serve and ns.sender_constraint == "mtls":
        parser.error("--serve runs the DPoP stack; the mutual-TLS demo runs once")
    logging.disable(logging.INFO)  # one line per step: request logs (and their private details) stay out
    print("hardened demo: agent -> MCP server -> upstream API, FAPI 2.0 grade, on loopback")
    missing = _missing()
    if missing:
        for name in missing:
            print(f"  --    {name}: not built yet")
        print("demo incomplete: the parts above are not built yet (nothing was faked)")
        return 0
    from hardened.mcp.demo_flow import run_demo  # needs every part

    fresh = ns.data_dir is None
    data_dir = Path(ns.data_dir or tempfile.mkdtemp(prefix="hardened-demo-"))
    steps = Steps()
    stack = None
    try:
        if ns.sender_constraint == "mtls":
            from hardened.mcp.demo_mtls import run_mtls_demo

            stack = asyncio.run(run_mtls_demo(data_dir, steps, REDIRECT_URI, keep=ns.serve))
        else:
            stack = asyncio.run(run_demo(data_dir, steps, REDIRECT_URI, keep=ns.serve))
    except Exception as exc:  # the stack could not start: say so in one line, exit 1
        steps.line(False, "stack", f"{type(exc).__name__}: {exc}")
    finally:
        if fresh and not ns.serve:
            shutil.rmtree(data_dir, ignore_errors=True)
    print("demo " + ("passed" if not steps.failed else f"FAILED ({steps.failed} step(s))"), flush=True)
    if ns.serve and stack is not None:
        _serve(stack, data_dir)
    return 1 if steps.failed else 0


def _serve(stack: Any, data_dir: Path) -> None:
    print(f"\nthe stack is up (data in {data_dir}); MCP server: {stack.mcp_url}")
    print(f"  authority {stack.authority_url}  authorization server {stack.as_url}  upstream {stack.upstream_url}")
    print(f"  a hardened agent: hardened agent call {stack.mcp_url} list-trades --credentials {data_dir / 'agent'} "
          f"--username alice --password-file {data_dir / 'agent' / 'password'}")
    print("  a stock MCP client: point it at the MCP URL (baseline tier: list-trades only). Ctrl-C stops.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        stack.stop()
