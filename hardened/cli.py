"""The ``hardened`` console script: serve the AS / MCP server / whole stack, run the agent, run the demo.

Each sub-command lives in its own module and is imported only when used, so ``hardened --help`` is fast and a
component's dependencies load only when that component runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]

#: sub-command -> (module with ``main(argv) -> int``, help text)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("hardened.demo", "run the whole hardened flow end to end on loopback (what `make demo` runs)"),
    "as": ("hardened.server.cli", "serve and manage the authorization server"),
    "serve": ("hardened.mcp.serve_cli", "run authority, AS, upstream API and MCP server on loopback, kept up"),
    "agent": ("hardened.mcp.agent_cli", "call a tool of an MCP server as a hardened agent (DPoP, PAR, step-up)"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hardened",
        description="High-assurance OAuth (FAPI 2.0 grade) for AI agents calling MCP servers.",
    )
    summary = "; ".join(f"{name}: {text}" for name, (_, text) in COMMANDS.items())
    parser.add_argument("command", choices=sorted(COMMANDS), help=summary)
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the sub-command (see COMMAND --help)")
    ns = parser.parse_args(argv)
    module = importlib.import_module(COMMANDS[ns.command][0])
    return int(module.main(ns.args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
