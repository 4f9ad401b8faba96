"""Token endpoint throughput: authorization codes redeemed per second with PKCE + private_key_jwt + DPoP.

Runs the real server (``python -m hardened.server.cli serve``) with SQLite storage on loopback, with 1 and then 2
uvicorn workers. Codes are written to the store beforehand and every request (assertion, DPoP proof, verifier) is
built before the clock starts, so the figure is the server's: HTTP, both signature checks, both replay-cache
writes, the atomic code spend and the token writes.

    python benchmarks/token_endpoint.py [--codes 400] [--concurrency 8] [--repeat 3]

Each figure is the median of ``--repeat`` batches against one running server (the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hardened.core.dpop import build_dpop_proof  # noqa: E402

from hardened.adapters.sqlite_as import SQLiteASStore  # noqa: E402
from hardened.client.assertion import assertion_params  # noqa: E402
from hardened.core.access_token import token_hash  # noqa: E402
from hardened.core.dcr_policy import ClientMetadata  # noqa: E402
from hardened.core.par import VerifiedPARRequest  # noqa: E402
from hardened.core.pkce import code_challenge_of  # noqa: E402
from hardened.jose import SigningKey  # noqa: E402
from hardened.ports.as_stores import AuthorizationCode, ClientRecord  # noqa: E402

REDIRECT = "https://agent.example/cb"
MCP = "https://mcp.example/mcp"
CONFIG = """issuer = "http://127.0.0.1:1"
data_dir = "data"
signing_keys = ["as.pem"]
[scopes]
"trades:read" = "hardened"
[[resource_servers]]
client_id = "mcp-server"
audience = "{mcp}"
jwks_file = "mcp.jwks.json"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(folder: Path, agent: SigningKey) -> SQLiteASStore:
    (folder / "as.pem").write_bytes(SigningKey.generate("ES256").private_pem())
    (folder / "mcp.jwks.json").write_text(json.dumps({"keys": [SigningKey.generate("ES256").public_jwk()]}))
    (folder / "as.toml").write_text(CONFIG.format(mcp=MCP))
    store = SQLiteASStore(folder / "data" / "as.db")
    meta = ClientMetadata(client_name="bench", redirect_uris=(REDIRECT,), scopes=("trades:read",),
                          token_endpoint_auth_method="private_key_jwt", tier="hardened", sender_constraint="dpop",
                          jwks={"keys": [agent.public_jwk()]})
    store.add_client(ClientRecord("agent", meta, "0" * 64, time.time()), statement_jti=None, statement_exp=0)
    return store


def prepare(store: SQLiteASStore, base: str, agent: SigningKey, dpop: SigningKey, n: int) -> list[tuple[dict, dict]]:
    """n codes in the store and, for each, the complete token request."""
    requests = []
    now = time.time()
    for _ in range(n):
        code, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        request = VerifiedPARRequest(client_id="agent", redirect_uri=REDIRECT, scopes=("trades:read",), resource=MCP,
                                     code_challenge=code_challenge_of(verifier), state=None, dpop_jkt=dpop.thumbprint)
        store.put_code(AuthorizationCode(code_hash=token_hash(code), grant_id=secrets.token_urlsafe(16),
                                         request=request, subject="alice", claims={}, expires_at=now + 60))
        form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": REDIRECT,
                **assertion_params(agent, "agent", base, now=now)}
        proof = build_dpop_proof(dpop, htm="POST", htu=base + "/token", iat=now, jti=secrets.token_urlsafe(12))
        requests.append((form, {"DPoP": proof}))
    return requests


async def redeem(base: str, requests: list[tuple[dict, dict]], concurrency: int) -> float:
    queue = list(reversed(requests))
    failures: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        async def worker() -> None:
            while queue:
                form, headers = queue.pop()
                r = await client.post("/token", data=form, headers=headers)
                if r.status_code != 200:
                    failures.append(r.text)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} token requests failed, e.g. {failures[0]}")
    return elapsed


def run(folder: Path, workers: int, n: int, concurrency: int, repeat: int) -> float:
    agent, dpop = SigningKey.generate("ES256"), SigningKey.generate("ES256")
    run_dir = folder / f"w{workers}"
    run_dir.mkdir()
    store = setup(run_dir, agent)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "hardened.server.cli", "serve", "--config",
                               str(run_dir / "as.toml"), "--port", str(port), "--workers", str(workers),
                               "--issuer", base], cwd=ROOT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(base + "/jwks", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.2)
        asyncio.run(redeem(base, prepare(store, base, agent, dpop, 40), concurrency))  # warm-up every worker
        rates = []
        for _ in range(repeat):
            elapsed = asyncio.run(redeem(base, prepare(store, base, agent, dpop, n), concurrency))
            rates.append(n / elapsed)
            print(f"workers={workers} codes={n} concurrency={concurrency} seconds={elapsed:.2f} "
                  f"codes_per_s={n / elapsed:.1f}")
    finally:
        server.terminate()
        server.wait(timeout=20)
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="batches per worker count; the median is reported")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        w1 = run(Path(tmp), 1, ns.codes, ns.concurrency, ns.repeat)
        w2 = run(Path(tmp), 2, ns.codes, ns.concurrency, ns.repeat)
    print(f"figure: token_codes_per_s_w1 {w1:.1f}")
    print(f"figure: token_codes_per_s_w2 {w2:.1f}")
    print(f"figure: token_scaling_w2_w1 {w2 / w1:.2f}")


if __name__ == "__main__":
    main()
