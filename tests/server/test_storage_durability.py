"""Durability settings of the served stores: records fsynced per commit (FULL), the replay cache not (NORMAL)."""

from __future__ import annotations

import json

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
    assert _synchronous(SQLiteASStore(tmp_path / "as.db").db) == FULL
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
    assert _synchronous(ctx.store.db) == FULL
    assert _synchronous(ctx.replay.inner.db) == NORMAL
