"""``hardened agent``: call a tool of an MCP server as a hardened agent.

    hardened agent call MCP_URL TOOL [--arguments JSON] --credentials DIR --username U --password-file F
    hardened agent tools MCP_URL --credentials DIR ...

``DIR`` holds the agent's credentials (``hardened demo --serve`` writes one):

- ``assertion.pem``: the private key for ``private_key_jwt`` (its public half is in the software statement);
- ``dpop.pem``: the DPoP key;
- ``statement.jwt``: the software statement signed by the authority;
- ``agent.json``: ``{"redirect_uri": "..."}``;
- ``registrations.json``: written by the agent: its client id per AS issuer, reused on the next run.

The user's part of the authorization is driven headlessly with ``--username`` and ``--password-file`` (the login
and consent forms of the AS); without them, the authorization URL is printed and the redirect URL is read from
standard input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hardened.errors import HardenedError
from hardened.jose import SigningKey
from hardened.mcp.agent import AgentCredentials, HardenedAgent, Registrations
from hardened.mcp.agent_auth import mcp_session
from hardened.mcp.browser import HeadlessBrowser

__all__ = ["load_credentials", "main"]


def load_credentials(folder: Path) -> AgentCredentials:
    config = json.loads((folder / "agent.json").read_text())
    return AgentCredentials(
        assertion_key=SigningKey.from_pem((folder / "assertion.pem").read_bytes()),
        dpop_key=SigningKey.from_pem((folder / "dpop.pem").read_bytes()),
        software_statement=(folder / "statement.jwt").read_text().strip(),
        redirect_uri=config["redirect_uri"],
    )


async def _manual(url: str, redirect_uri: str) -> str:
    print(f"open this URL, sign in and approve:\n  {url}\nthen paste the URL you were sent to ({redirect_uri}...):")
    return (await asyncio.to_thread(sys.stdin.readline)).strip()


async def _run(ns: argparse.Namespace) -> Any:
    folder = Path(ns.credentials)
    authorize: Any = _manual
    if ns.username:
        password = Path(ns.password_file).read_text().strip() if ns.password_file else ""
        authorize = HeadlessBrowser(ns.username, password)
    steps = (lambda name, detail: print(f"  {name}: {detail}", file=sys.stderr)) if ns.verbose else None
    agent = HardenedAgent(ns.mcp_url, load_credentials(folder), authorize,
                          registrations=Registrations(folder / "registrations.json"), on_step=steps)
    async with mcp_session(agent) as client:
        if ns.action == "tools":
            return [t.name for t in (await client.list_tools()).tools]
        result = await client.call_tool(ns.tool, json.loads(ns.arguments))
        if result.is_error:
            raise SystemExit("the tool failed: " + " ".join(getattr(c, "text", "") for c in result.content))
        return result.structured_content


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hardened agent", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["call", "tools"])
    parser.add_argument("mcp_url")
    parser.add_argument("tool", nargs="?")
    parser.add_argument("--arguments", default="{}", help="tool arguments as a JSON object")
    parser.add_argument("--credentials", required=True, help="folder with the agent's keys and statement")
    parser.add_argument("--username", help="drive the AS login and consent forms as this user")
    parser.add_argument("--password-file", help="file holding the user's password")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each authorization step")
    ns = parser.parse_args(argv)
    logging.disable(logging.INFO)  # request logs stay out of the tool's output
    if ns.action == "call" and not ns.tool:
        parser.error("call needs a TOOL")
    try:
        print(json.dumps(asyncio.run(_run(ns)), indent=2))
    except Exception as err:  # the SDK transport wraps failures in exception groups: show what happened, once
        print(f"hardened agent: {_describe(err)}", file=sys.stderr)
        return 1
    return 0


def _describe(err: BaseException) -> str:
    """The innermost errors of an exception group (our OAuth errors first), as one line each."""
    if isinstance(err, BaseExceptionGroup):
        inner = [_describe(e) for e in err.exceptions]
        return "; ".join(sorted(inner, key=lambda text: not text.startswith(("Invalid", "Access", "Insufficient"))))
    if isinstance(err, HardenedError | OSError | ValueError | KeyError | SystemExit):
        return f"{type(err).__name__}: {err}"
    return f"{type(err).__name__}: {str(err)[:200]}"
