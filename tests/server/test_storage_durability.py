"""Durability of the served stores: records flushed before each write returns (group commit), the replay cache
not flushed per insert (NORMAL)."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time

import pytest

from hardened.adapters.sqlite_as import SQLiteASStore
from hardened.adapters.sqlite_base import SQLiteDatabase
from hardened.adapters.sqlite_replay import SQLiteReplayCache
from hardened.jose import SigningKey
from hardened.server import cli

FULL, NORMAL = 2, 1  # PRAGMA synchronous values


def _synchronous(db: SQLiteDatabase) -> int:
    return db.connection().execute("PRAGMA synchronous").fetchone()[0]


def test_databases_are_full_unless_asked(tmp_path) -> None:
    assert _synchronous(SQLiteDatabase(tmp_path / "a.db")) == FULL
    assert _synchronous(SQLiteReplayCache(tmp_path / "r.db").db) == FULL
    assert _synchronous(SQLiteReplayCache(tmp_path / "n.db", synchronous="NORMAL").db) == NORMAL
    for bad in ("OFF", "normal", "NORMAL; DROP TABLE x", ""):
        with pytest.raises(ValueError):
            SQLiteDatabase(tmp_path / "b.db", synchronous=bad)


def test_normal_replay_cache_keeps_its_semantics(tmp_path) -> None:
    first = SQLiteReplayCache(tmp_path / "r.db", synchronous="NORMAL")
    second = SQLiteReplayCache(tmp_path / "r.db", synchronous="NORMAL")  # another worker on the same file
    assert first.unique("k", 60, 1000.0) and not second.unique("k", 60, 1000.0) and not first.unique("k", 60, 1059.0)
    assert second.unique("k", 60, 1060.0)


def test_served_app_keeps_records_full_and_replay_normal(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "as"
    assert cli.main(["init", "--dir", str(folder), "--issuer", "http://127.0.0.1:8000"]) == 0
    (folder / "mcp.jwks.json").write_text(json.dumps({"keys": [SigningKey.generate("ES256").public_jwk()]}))
    with (folder / "as.toml").open("a") as fh:
        fh.write('[[resource_servers]]\nclient_id = "mcp"\naudience = "https://mcp.example/mcp"\n'
                 'jwks_file = "mcp.jwks.json"\n')
    monkeypatch.setenv(cli.CONFIG_ENV, str(folder / "as.toml"))
    ctx = cli.app_from_env().state.hardened
    assert _synchronous(ctx.store.db) == NORMAL  # with a WAL flush after each write: see below
    assert _synchronous(ctx.replay.inner.db) == NORMAL


def test_as_store_writes_are_flushed_after_commit_outside_the_lock(tmp_path, monkeypatch) -> None:
    """Group commit: each write method flushes the WAL before it returns, after COMMIT (a fresh connection sees the
    row) and after releasing the write lock (another process could take it), so flushes overlap."""
    from hardened.core.par import VerifiedPARRequest
    from hardened.ports.as_stores import AuthorizationCode

    store = SQLiteASStore(tmp_path / "as.db")
    wal = os.path.realpath(tmp_path / "as.db-wal")
    flushes: list[tuple[bool, bool]] = []
    real = os.fdatasync

    def observed(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}") == wal:
            probe = os.open(store._lock.path, os.O_RDWR)
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the lock were still held
                fcntl.flock(probe, fcntl.LOCK_UN)
                unlocked = True
            except BlockingIOError:
                unlocked = False
            finally:
                os.close(probe)
            with sqlite3.connect(tmp_path / "as.db") as other:
                committed = other.execute("SELECT used FROM codes WHERE code_hash = 'h'").fetchone() is not None
            flushes.append((unlocked, committed))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", observed)
    request = VerifiedPARRequest(client_id="c", redirect_uri="https://a.example/cb", scopes=("s",),
                                 resource="https://r.example", code_challenge="x" * 43, state=None, dpop_jkt=None)
    store.put_code(AuthorizationCode(code_hash="h", grant_id="g", request=request, subject="u", claims={},
                                     expires_at=time.time() + 60))
    assert store.redeem_code("h", []) and not store.redeem_code("h", [])
    assert flushes == [(True, True)] * 3
