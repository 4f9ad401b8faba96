"""In-process adapters: for tests and single-process deployments (DESIGN §5).

``MemoryReplayCache`` is thread-safe, bounded and expiring. It does not hold across processes: use
``hardened.adapters.sqlite_replay.SQLiteReplayCache`` for several uvicorn workers on one machine.
"""

from __future__ import annotations

import threading

__all__ = ["MemoryReplayCache"]


class MemoryReplayCache:
    """``ReplayCache`` in a dict. When full of unexpired keys it refuses new ones (fails closed)."""

    def __init__(self, max_entries: int = 100_000, *, purge_every: int = 256) -> None:
        if max_entries < 1 or purge_every < 1:
            raise ValueError("max_entries and purge_every must be positive")
        self._max = max_entries
        self._purge_every = purge_every
        self._entries: dict[str, float] = {}
        self._inserts = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _purge(self, now: float) -> None:
        """Drop expired keys. Insertion order is roughly expiry order (TTLs are mostly equal): stop at the first
        live key, unless the cache is full, then sweep everything."""
        entries = self._entries
        if len(entries) >= self._max:
            for key in [k for k, e in entries.items() if e <= now]:
                del entries[key]
            return
        expired = []
        for key, expires in entries.items():
            if expires > now:
                break
            expired.append(key)
        for key in expired:
            del entries[key]

    def unique(self, key: str, ttl: float, now: float) -> bool:
        """RFC 9449 §11.1: True the first time ``key`` is seen within its lifetime, False afterwards."""
        with self._lock:
            entries = self._entries
            seen = entries.get(key)
            if seen is not None:
                if seen > now:
                    return False
                del entries[key]  # expired: re-insert at the end, in time order
            self._inserts += 1
            if self._inserts % self._purge_every == 0 or len(entries) >= self._max:
                self._purge(now)
                if len(entries) >= self._max:
                    return False
            entries[key] = now + ttl
            return True
