"""Durability: SIGKILL mid-write and concurrent writers leave the registry intact (HP-AUTH-01, HP-AUTH-02)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from authority.models import OrganisationIn, RevocationIn, SoftwareIn
from authority.service import Authority

#: A writer process: organisation, software and a statement per round, one acknowledged line per round.
WRITER = """
import sys
from authority.models import OrganisationIn, SoftwareIn
from authority.service import Authority
authority, prefix, rounds = Authority(sys.argv[1]), sys.argv[2], int(sys.argv[3])
i = 0
while rounds < 0 or i < rounds:
    org, sw = f"{prefix}-o{i}", f"{prefix}-s{i}"
    authority.create_organisation(OrganisationIn(org_id=org, name="Org " + org), actor=prefix)
    authority.add_software(SoftwareIn(software_id=sw, org_id=org, client_name="Agent", scope="read",
                                      redirect_uris=["https://a.example/cb"], jwks_uri="https://a.example/j"),
                           actor=prefix)
    authority.sign(sw, ttl=None, actor=prefix)
    print(i, flush=True)
    i += 1
"""


def start_writer(data: Path, prefix: str, rounds: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(data), prefix, str(rounds)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def check_consistent(data: Path) -> Authority:
    """Integrity, the audit chain, and all-or-nothing: every change has exactly its audit entry."""
    conn = sqlite3.connect(data / "registry.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("organisations", "software", "statements", "audit", "signing_keys", "revocations")}
    conn.close()
    authority = Authority(data)
    assert authority.verify_audit()["ok"]
    assert counts["audit"] == 2 + counts["organisations"] + counts["software"] + counts["statements"] + (
        counts["signing_keys"] - 1) + counts["revocations"]
    idx = [s.idx for s in authority.store.statements()]
    assert idx == list(range(len(idx)))  # status list indexes are dense and unique
    return authority


@pytest.fixture
def data(tmp_path: Path) -> Path:
    Authority.init(tmp_path / "data", issuer="https://authority.example")[0].close()
    return tmp_path / "data"


@pytest.mark.requirement("HP-AUTH-01")
def test_sigkill_mid_write_leaves_the_registry_intact(data: Path) -> None:
    acknowledged: list[str] = []
    for round_ in range(3):
        writer = start_writer(data, f"k{round_}", -1)
        assert writer.stdout is not None
        for _ in range(8):
            line = writer.stdout.readline()
            assert line, writer.stderr.read() if writer.stderr else ""
            acknowledged.append(f"k{round_}-s{line.strip()}")
        os.kill(writer.pid, signal.SIGKILL)  # mid-write: the writer never pauses between transactions
        writer.wait(10)
        writer.stdout.close()
        writer.stderr.close()
        authority = check_consistent(data)
        for software_id in acknowledged:  # every acknowledged write survived
            assert authority.store.statements(software_id), software_id
        authority.close()
    # and the registry keeps working after the crashes
    authority = Authority(data)
    authority.create_organisation(OrganisationIn(org_id="after", name="After"), actor="t")
    check_consistent(data)


@pytest.mark.requirement("HP-AUTH-02")
def test_concurrent_processes_and_threads_never_corrupt(data: Path) -> None:
    writers = [start_writer(data, f"p{n}", 6) for n in range(3)]
    authority = Authority(data)
    errors: list[BaseException] = []

    def thread_writer(n: int) -> None:
        try:
            for i in range(5):
                org = f"t{n}-o{i}"
                authority.create_organisation(OrganisationIn(org_id=org, name=org), actor=f"t{n}")
                authority.add_software(SoftwareIn(software_id=f"t{n}-s{i}", org_id=org, client_name="A",
                                                  scope="read", redirect_uris=["https://a.example/cb"],
                                                  jwks_uri="https://a.example/j"), actor=f"t{n}")
                record, _ = authority.sign(f"t{n}-s{i}", ttl=None, actor=f"t{n}")
                if i == 4:
                    authority.revoke(RevocationIn(kind="statement", target=record.jti), actor=f"t{n}")
            if n == 0:
                authority.rotate(alg=None, actor="t0")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=thread_writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for w in writers:
        out, err = w.communicate(timeout=60)
        assert w.returncode == 0, err
        assert out.split() == [str(i) for i in range(6)]
    assert errors == []
    authority = check_consistent(data)
    assert len(authority.store.organisations()) == 3 * 6 + 4 * 5
    assert len(authority.store.statements()) == 3 * 6 + 4 * 5
    statuses, count = authority.store.statement_statuses()
    assert count == 38 and sorted(statuses.values()) == [1, 1, 1, 1]
