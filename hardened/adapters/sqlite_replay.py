"""The SQLite replay cache (RFC 9449 §11.1): the embedded default, shared by every worker process on one machine.

One statement decides: ``INSERT`` with the key as primary key, or, if the key is there but expired, take it
over; otherwise nothing changes. SQLite serialises writers (``BEGIN IMMEDIATE`` in WAL mode), so of any number
of concurrent calls across threads and processes exactly one sees a change. Expired rows are deleted from time
to time (every ``cleanup_every`` inserts).

``synchronous="NORMAL"`` skips the fsync per insert (it costs ~0.5 ms on a virtual disk and is taken while every
worker waits for the write lock). The file stays atomic and consistent (WAL), and a crashed *process* loses
nothing; only after a power loss or OS crash may the last few inserts be gone. For a replay cache that is
harmless: an entry only matters until its proof or assertion expires (seconds to a minute), and a replayed
proof still cannot spend anything twice, because codes, request URIs and tokens live in a ``FULL`` store.
"""

from __future__ import annotations

import re
from pathlib import Path

from hardened.adapters.sqlite_base import SQLiteDatabase

__all__ = ["SQLiteReplayCache"]

_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class SQLiteReplayCache:
    """``ReplayCache`` in a SQLite table ``(key PRIMARY KEY, expires)``."""

    def __init__(self, path: str | Path, *, table: str = "replay", cleanup_every: int = 1000,
                 synchronous: str = "FULL") -> None:
        if not _TABLE.fullmatch(table):
            raise ValueError("table name must be a lowercase SQL identifier")
        self._table = table
        schema = f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, expires REAL NOT NULL) WITHOUT ROWID"
        self.db = SQLiteDatabase(path, schema, synchronous=synchronous)
        self._insert = (
            f"INSERT INTO {table} (key, expires) VALUES (?, ?) "  # noqa: S608 - table name checked above
            f"ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE {table}.expires <= ?"
        )
        self._cleanup = f"DELETE FROM {table} WHERE expires <= ?"  # noqa: S608
        self._cleanup_every = max(1, cleanup_every)
        self._count = 0

    def unique(self, key: str, ttl: float, now: float) -> bool:
        """True for the first use of ``key`` across all processes sharing the file, False afterwards."""
        with self.db.transaction() as conn:
            changed = conn.execute(self._insert, (key, now + ttl, now)).rowcount
        self._count += 1
        if self._count % self._cleanup_every == 0:
            self.cleanup(now)
        return changed == 1

    def cleanup(self, now: float) -> int:
        """Delete expired keys; returns how many."""
        with self.db.transaction() as conn:
            return conn.execute(self._cleanup, (now,)).rowcount

    def close(self) -> None:
        self.db.close()
