"""One writer at a time across threads and processes, waited for by the kernel, not by SQLite's busy handler.

SQLite answers a contended ``BEGIN IMMEDIATE`` with SQLITE_BUSY and its default busy handler sleeps and retries
(1, 2, 5, 10, ... ms), which stalls a worker far longer than the few hundred microseconds a commit takes. A
``flock`` on a lock file next to the database queues writers instead: a waiting worker wakes as soon as the lock is
released. Readers never take it (WAL readers do not block).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hardened.ports.replay import ReplayCache

__all__ = ["LockedReplayCache", "WriteLock"]


class WriteLock:
    """A process-wide ``threading.Lock`` plus an exclusive ``flock`` on ``path`` (created 0600)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def _descriptor(self) -> int:
        if self._fd is None:  # opened lazily, so a forked uvicorn worker opens its own descriptor
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


class LockedReplayCache:
    """A ``hardened.ports.replay.ReplayCache`` whose ``unique`` runs under a :class:`WriteLock` (same semantics)."""

    def __init__(self, inner: ReplayCache, lock: WriteLock) -> None:
        self.inner = inner
        self.lock = lock

    def unique(self, key: str, ttl: float, now: float) -> bool:
        with self.lock.held():
            return self.inner.unique(key, ttl, now)
