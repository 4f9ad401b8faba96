"""``hardened serve``: the whole stack on loopback, kept up: authority, AS, upstream API, reference MCP server.

    hardened serve --data-dir ./hardened-data [--hardened-only]

Everything is created in the data folder (kept afterwards): the authority's registry and keys, the AS's records,
the trades, and an enrolled demo agent in ``<data>/agent`` (keys, signed statement, the user's password) for
``hardened agent``. ``--hardened-only`` switches the baseline tier off: no Bearer tokens, no stock clients.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

REDIRECT_URI = "http://127.0.0.1:8765/callback"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hardened serve", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder for every part's data (must be new or empty)")
    parser.add_argument("--hardened-only", action="store_true", help="switch the baseline tier off")
    ns = parser.parse_args(argv)
    data_dir = Path(ns.data_dir)
    if data_dir.exists() and any(data_dir.iterdir()):
        parser.error(f"{data_dir} is not empty")
    logging.disable(logging.INFO)
    from hardened.jose import SigningKey
    from hardened.mcp.agent import AgentCredentials
    from hardened.mcp.demo_flow import write_agent_folder
    from hardened.mcp.stack import enrol_agent, start_stack

    stack = start_stack(data_dir, baseline=not ns.hardened_only)
    try:
        key = SigningKey.generate("ES256")
        statement = enrol_agent(stack, key, REDIRECT_URI)["software_statement"]
        credentials = AgentCredentials(key, SigningKey.generate("ES256"), statement, REDIRECT_URI)
        write_agent_folder(data_dir / "agent", credentials, stack.password)
        agent = data_dir / "agent"
        print(f"MCP server            {stack.mcp_url}")
        print(f"authorization server  {stack.as_url}")
        print(f"authority             {stack.authority_url}")
        print(f"upstream trades API   {stack.upstream_url}")
        print(f"try: hardened agent call {stack.mcp_url} list-trades --credentials {agent} --username alice "
              f"--password-file {agent / 'password'} -v")
        print("Ctrl-C stops.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0
