"""In-process adapters: for tests and single-process deployments (DESIGN §5).

``MemoryReplayCache`` is thread-safe, bounded and expiring. It does not hold across processes: use
``hardened.adapters.sqlite_replay.SQLiteReplayCache`` for several uvicorn workers on one machine.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["MemoryReplayCache"]


class MemoryReplayCache:
    """``ReplayCache`` in a dict. When full of unexpired keys it refuses new ones (fails closed)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max = max_entries
        self._entries: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _purge(self, now: float, *, full: bool) -> None:
        entries = self._entries
        # Oldest first: entries are appended in time order and most TTLs are equal, so the front expires first.
        while entries:
            key, expires = next(iter(entries.items()))
            if expires > now:
                break
            del entries[key]
        if full and len(entries) >= self._max:
            for key in [k for k, e in entries.items() if e <= now]:
                del entries[key]

    def unique(self, key: str, ttl: float, now: float) -> bool:
        """RFC 9449 §11.1: True the first time ``key`` is seen within its lifetime, False afterwards."""
        expires = now + ttl
        with self._lock:
            seen = self._entries.get(key)
            if seen is not None and seen > now:
                return False
            self._purge(now, full=len(self._entries) >= self._max)
            if len(self._entries) >= self._max:
                return False
            self._entries[key] = expires
            self._entries.move_to_end(key)
            return True
