"""The embedded SQLite default (DESIGN §5): one file per service, WAL mode, safe across uvicorn workers.

``SQLiteDatabase`` opens one connection per thread (sqlite3 connections must not be shared across threads),
turns on WAL and a busy timeout, and gives ``transaction()``: ``BEGIN IMMEDIATE`` ... ``COMMIT``, or
``ROLLBACK`` on any error, so that no partial write survives an exception or a crash.

``synchronous`` is ``FULL`` by default: every commit is fsynced before it returns, so what was acknowledged
survives a power loss. ``NORMAL`` (WAL still atomic and consistent, and nothing lost when a process crashes; only
the last commits may roll back after a power loss or OS crash) is for short-lived data whose loss is harmless,
such as the replay cache (see ``sqlite_replay``), or with :meth:`SQLiteDatabase.sync_wal` called after each
commit and before it is acknowledged (a group commit: see ``sqlite_as``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["SQLiteDatabase"]

_SYNCHRONOUS = frozenset({"FULL", "NORMAL"})


class SQLiteDatabase:
    """A SQLite file with a schema applied once, and per-thread connections."""

    def __init__(self, path: str | Path, schema: str = "", *, busy_timeout_ms: int = 10_000,
                 synchronous: str = "FULL") -> None:
        if synchronous not in _SYNCHRONOUS:
            raise ValueError("synchronous must be FULL or NORMAL")
        self.path = Path(path)
        self.synchronous = synchronous
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        if schema:
            with self.transaction() as conn:
                for statement in filter(None, (s.strip() for s in schema.split(";"))):
                    conn.execute(statement)

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=self._busy_timeout_ms / 1000)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")  # one of _SYNCHRONOUS
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locking) transaction: all of it commits, or none of it."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def sync_wal(self) -> None:
        """Make every commit made so far durable: ``fdatasync`` the write-ahead log (frames are appended in commit
        order, so this covers this thread's last commit and every earlier one, from any process).

        With ``synchronous = NORMAL`` this, called after ``COMMIT`` and before the write is acknowledged, gives the
        durability of ``FULL`` without holding the write lock during the flush: concurrent callers share one
        flush (group commit). While this thread's connection is open the WAL file cannot be removed; if it is
        gone, it was checkpointed into the database file, which SQLite syncs first.
        """
        self.connection()  # keeps the WAL file in place
        try:
            fd = os.open(f"{self.path}-wal", os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
