"""Token endpoint throughput: authorization codes redeemed per second with PKCE + private_key_jwt + DPoP.

Runs the real server (``python -m hardened.server.cli serve``) with SQLite storage on loopback, with 1 and then 2
uvicorn workers. Codes are written to the store beforehand and every request (assertion, DPoP proof, verifier) is
built before the clock starts, so the figure is the server's: HTTP, both signature checks, both replay-cache
writes, the atomic code spend and the token writes.

    python benchmarks/token_endpoint.py [--codes 800] [--concurrency 16] [--repeat 3] [--client raw|httpx]

Each figure is the median of ``--repeat`` batches against one running server (the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hardened.adapters.sqlite_as import SQLiteASStore  # noqa: E402
from hardened.client.assertion import assertion_params  # noqa: E402
from hardened.core.access_token import token_hash  # noqa: E402
from hardened.core.dcr_policy import ClientMetadata  # noqa: E402
from hardened.core.dpop import build_dpop_proof  # noqa: E402
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


def server_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of the server process and of every worker it started, from /proc (Linux)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    tree = {pid}
    for child, (parent, _) in sorted(stats.items()):
        if parent in tree:
            tree.add(child)
    return {p: stats[p][1] / os.sysconf("SC_CLK_TCK") for p in tree if p in stats}


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


def raw_request(port: int, form: dict, headers: dict) -> bytes:
    """One complete HTTP/1.1 keep-alive request, encoded before the clock starts."""
    body = urlencode(form).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in {
        "Host": f"127.0.0.1:{port}", "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": str(len(body)), **headers}.items())
    return f"POST /token HTTP/1.1\r\n{head}\r\n".encode() + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if match is None:
        raise SystemExit("the server answered without Content-Length")
    return status, await reader.readexactly(int(match.group(1)))


async def redeem_raw(port: int, requests: list[bytes], concurrency: int) -> tuple[float, float]:
    """Pre-encoded requests over ``concurrency`` keep-alive connections (asyncio streams: a light client, so the
    load generator takes little of the cores the server needs). Returns (wall seconds, client CPU seconds)."""
    queue = list(reversed(requests))
    failures: list[bytes] = []
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(concurrency)]
    for _, writer in conns:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while queue:
            writer.write(queue.pop())
            status, body = await _response(reader)
            if status != 200:
                failures.append(body)

    cpu, start = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(r, w) for r, w in conns))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    for _, writer in conns:
        writer.close()
    if failures:
        raise SystemExit(f"{len(failures)} token requests failed, e.g. {failures[0][:200]!r}")
    return elapsed, cpu


async def redeem_httpx(base: str, requests: list[tuple[dict, dict]], concurrency: int) -> tuple[float, float]:
    """The same through ``httpx.AsyncClient`` (heavier: ~1 ms of client CPU per request)."""
    queue = list(reversed(requests))
    failures: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        async def worker() -> None:
            while queue:
                form, headers = queue.pop()
                r = await client.post("/token", data=form, headers=headers)
                if r.status_code != 200:
                    failures.append(r.text)

        cpu, start = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if failures:
        raise SystemExit(f"{len(failures)} token requests failed, e.g. {failures[0]}")
    return elapsed, cpu


def redeem(port: int, requests: list[tuple[dict, dict]], concurrency: int, client: str) -> tuple[float, float]:
    if client == "httpx":
        return asyncio.run(redeem_httpx(f"http://127.0.0.1:{port}", requests, concurrency))
    return asyncio.run(redeem_raw(port, [raw_request(port, f, h) for f, h in requests], concurrency))


def run(folder: Path, workers: int, n: int, concurrency: int, repeat: int, client: str) -> float:
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
        redeem(port, prepare(store, base, agent, dpop, 40), concurrency, client)  # warm-up every worker
        rates = []
        for _ in range(repeat):
            batch = prepare(store, base, agent, dpop, n)
            before = server_cpu(server.pid)
            elapsed, cpu = redeem(port, batch, concurrency, client)
            after = server_cpu(server.pid)
            split = sorted((after[p] - before.get(p, 0.0) for p in after), reverse=True)
            busy = sum(split)
            shares = "/".join(f"{b / busy:.2f}" for b in split[:2])
            rates.append(n / elapsed)
            print(f"workers={workers} client={client} codes={n} concurrency={concurrency} seconds={elapsed:.2f} "
                  f"codes_per_s={n / elapsed:.1f} client_cpu_ms_per_request={1000 * cpu / n:.2f} "
                  f"client_cores={cpu / elapsed:.2f} server_cpu_ms_per_request={1000 * busy / n:.2f} "
                  f"server_cores={busy / elapsed:.2f} busiest_processes={shares}")
    finally:
        server.terminate()
        server.wait(timeout=20)
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=800)
    parser.add_argument("--concurrency", type=int, default=16,
                        help="keep-alive connections (SO_REUSEPORT spreads connections, not requests, over workers)")
    parser.add_argument("--repeat", type=int, default=3, help="batches per worker count; the median is reported")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="load generator: pre-encoded HTTP/1.1 over asyncio streams (default) or httpx")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, e.g. 2")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = {w: run(Path(tmp), w, ns.codes, ns.concurrency, ns.repeat, ns.client)
                   for w in map(int, ns.workers.split(","))}
    if set(figures) != {1, 2}:
        print(figures)
        return
    w1, w2 = figures[1], figures[2]
    print(f"figure: token_codes_per_s_w1 {w1:.1f}")
    print(f"figure: token_codes_per_s_w2 {w2:.1f}")
    print(f"figure: token_scaling_w2_w1 {w2 / w1:.2f}")


if __name__ == "__main__":
    main()
