"""Single use across worker processes: two processes race to redeem the same codes in one SQLite file."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from hardened.adapters.sqlite_as import SQLiteASStore
from hardened.ports.as_stores import AuthorizationCode
from hardened.testing.as_records import par_request, token_record

CODES = 40


def _race(path: str, worker: int, out: mp.Queue) -> None:
    store = SQLiteASStore(path)
    won = [i for i in range(CODES) if store.redeem_code(f"code-{i}", [token_record(token_hash=f"t-{worker}-{i}")])]
    out.put(won)


@pytest.mark.requirement("HP-TOK-02")
def test_codes_redeemed_once_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "as.db")
    store = SQLiteASStore(path)
    for i in range(CODES):
        store.put_code(AuthorizationCode(f"code-{i}", f"g{i}", par_request(), "alice", {}, 1e12))
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(path, w, out)) for w in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(results[0] + results[1]) == list(range(CODES))  # every code won exactly once
    issued = [store.get_token(f"t-{w}-{i}") for w in range(2) for i in range(CODES)]
    assert sum(t is not None for t in issued) == CODES


def test_locked_replay_cache_keeps_first_use_semantics(tmp_path: Path) -> None:
    from hardened.adapters.sqlite_replay import SQLiteReplayCache
    from hardened.adapters.write_lock import LockedReplayCache, WriteLock
    from hardened.ports.replay import ReplayCache

    cache = LockedReplayCache(SQLiteReplayCache(tmp_path / "r.db"), WriteLock(tmp_path / "r.db.lock"))
    assert isinstance(cache, ReplayCache)
    assert cache.unique("k", 10, 100.0) and not cache.unique("k", 10, 105.0) and cache.unique("k", 10, 111.0)
