"""Replay protection (RFC 9449 §11.1): once per (htu, jti, jkt), across threads and worker processes."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from hardened.adapters.memory import MemoryReplayCache
from hardened.adapters.sqlite_replay import SQLiteReplayCache
from hardened.core.dpop import DPoPPolicy, build_dpop_proof, dpop_replay_key, verify_dpop_proof
from hardened.ports.replay import ReplayCache
from hardened.testing.dpop import FIXED_NOW, key_pool

NOW = FIXED_NOW
URI = "https://rs.example/mcp"


def _stores(tmp_path: Path) -> list[ReplayCache]:
    return [MemoryReplayCache(), SQLiteReplayCache(tmp_path / "replay.db")]


def _accept(store: ReplayCache, proof: str, now: float = NOW) -> bool:
    policy = DPoPPolicy()
    verified = verify_dpop_proof(proof, method="POST", uri=URI, policy=policy, now=now)
    return store.unique(dpop_replay_key(verified), policy.replay_ttl, now)


@pytest.mark.requirement("HP-DPOP-15")
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_contract(tmp_path: Path, kind: str) -> None:
    store = _stores(tmp_path)[0 if kind == "memory" else 1]
    assert isinstance(store, ReplayCache)
    assert store.unique("k", 10, NOW)
    assert not store.unique("k", 10, NOW + 9.9)
    assert store.unique("other", 10, NOW)
    assert store.unique("k", 10, NOW + 10)  # expired: the key may be used again
    assert not store.unique("k", 10, NOW + 11)


@pytest.mark.requirement("HP-DPOP-15")
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_one_proof_is_accepted_once(tmp_path: Path, kind: str) -> None:
    store = _stores(tmp_path)[0 if kind == "memory" else 1]
    proof = build_dpop_proof(key_pool()[0], htm="POST", htu=URI, iat=NOW, jti="once")
    assert _accept(store, proof)
    assert not _accept(store, proof)
    assert not _accept(store, proof, NOW + 60)  # still inside the proof's window


@pytest.mark.requirement("HP-DPOP-15")
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_twenty_concurrent_submissions_one_success(tmp_path: Path, kind: str) -> None:
    store = _stores(tmp_path)[0 if kind == "memory" else 1]
    proof = build_dpop_proof(key_pool()[0], htm="POST", htu=URI, iat=NOW, jti="concurrent")
    barrier = threading.Barrier(20)
    results: list[bool] = []
    lock = threading.Lock()

    def submit() -> None:
        barrier.wait()
        ok = _accept(store, proof)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 19 + [True]


@pytest.mark.requirement("HP-DPOP-15")
def test_memory_cache_is_bounded_and_fails_closed() -> None:
    store = MemoryReplayCache(max_entries=3)
    assert all(store.unique(k, 10, NOW) for k in "abc")
    assert not store.unique("d", 10, NOW)  # full of live keys: refuse rather than forget
    assert store.unique("d", 10, NOW + 10)  # the old ones expired and were purged
    assert len(store) == 1


def _worker(path: str, proof: str, start, results) -> None:  # runs in a spawned process
    store = SQLiteReplayCache(path)
    start.wait()
    results.put(_accept(store, proof))


@pytest.mark.requirement("HP-DPOP-16")
def test_two_worker_processes_share_the_sqlite_store(tmp_path: Path) -> None:
    path = str(tmp_path / "replay.db")
    SQLiteReplayCache(path)  # schema once
    proof = build_dpop_proof(key_pool()[0], htm="POST", htu=URI, iat=NOW, jti="two-workers")
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(path, proof, start, results)) for _ in range(2)]
    for w in workers:
        w.start()
    start.set()
    outcomes = sorted(results.get(timeout=30) for _ in workers)
    for w in workers:
        w.join(timeout=30)
    assert outcomes == [False, True]
    assert all(w.exitcode == 0 for w in workers)


@pytest.mark.requirement("HP-DPOP-16")
def test_sqlite_cleanup_removes_only_expired(tmp_path: Path) -> None:
    store = SQLiteReplayCache(tmp_path / "r.db", cleanup_every=2)
    store.unique("a", 5, NOW)
    store.unique("b", 50, NOW)
    assert store.cleanup(NOW + 10) == 1
    assert not store.unique("b", 50, NOW + 10)


@pytest.mark.requirement("HP-DPOP-15")
def test_memory_cache_purges_expired_keys_as_it_goes() -> None:
    store = MemoryReplayCache(max_entries=1000, purge_every=4)
    for i in range(8):
        assert store.unique(f"old{i}", 10, NOW)
    for i in range(4):
        assert store.unique(f"new{i}", 10, NOW + 20)
    assert len(store) == 4  # the 8 expired keys were dropped at the purge
    assert not store.unique("new0", 10, NOW + 21)


@pytest.mark.requirement("HP-DPOP-15")
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_replay_refused_up_to_the_last_instant_the_proof_is_acceptable(tmp_path: Path, kind: str) -> None:
    """A proof dated max_future_skew ahead is acceptable until iat + max_age inclusive: its jti must outlive that."""
    store = _stores(tmp_path)[0 if kind == "memory" else 1]
    policy = DPoPPolicy()
    iat = NOW + policy.max_future_skew
    proof = build_dpop_proof(key_pool()[0], htm="POST", htu=URI, iat=iat, jti="edge")
    assert _accept(store, proof)
    last = iat + policy.max_age
    verify_dpop_proof(proof, method="POST", uri=URI, policy=policy, now=last)  # still acceptable by its iat
    assert not _accept(store, proof, last)
