"""The upstream API's data: trades in SQLite, always read and written on behalf of one user's claims.

Visibility (the reference API's rule): a user sees the trades of their ``tenant``; within it, only those of their
``country`` unless their ``role`` is ``admin``. Only ``trader`` and ``admin`` may place trades, always in their
own tenant and country.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardened.adapters.sqlite_base import SQLiteDatabase

__all__ = ["SEED", "TradeStore", "UserClaims"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS trades (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, country TEXT NOT NULL, trader TEXT NOT NULL,
  symbol TEXT NOT NULL, side TEXT NOT NULL, quantity INTEGER NOT NULL, price REAL NOT NULL, created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS trades_tenant ON trades (tenant, country)
"""
ROLES = ("viewer", "trader", "admin")
WRITERS = ("trader", "admin")

#: Demo data: two tenants, two countries each.
SEED: tuple[tuple[str, str, str, str, str, int, float], ...] = (
    ("acme", "GB", "user-alice", "VOD.L", "buy", 100, 72.5),
    ("acme", "GB", "user-bob", "BARC.L", "sell", 50, 180.2),
    ("acme", "FR", "user-claire", "AIR.PA", "buy", 10, 140.0),
    ("globex", "GB", "user-dave", "HSBA.L", "buy", 200, 650.0),
    ("globex", "US", "user-erin", "AAPL", "sell", 5, 190.0),
)


@dataclass(frozen=True, slots=True)
class UserClaims:
    """The user claims the upstream filters by (carried in the exchanged access token)."""

    subject: str
    tenant: str
    country: str
    role: str

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> UserClaims | None:
        values = [claims.get(k) for k in ("sub", "tenant", "country", "role")]
        if not all(isinstance(v, str) and 0 < len(v) <= 128 for v in values) or values[3] not in ROLES:
            return None
        return cls(*values)  # type: ignore[arg-type]


class TradeStore:
    def __init__(self, path: str | Path) -> None:
        self.db = SQLiteDatabase(path, SCHEMA)

    def seed(self, now: float) -> None:
        with self.db.transaction() as conn:
            if conn.execute("SELECT COUNT(*) FROM trades").fetchone()[0]:
                return
            for i, row in enumerate(SEED):
                conn.execute("INSERT INTO trades VALUES (?,?,?,?,?,?,?,?,?)", (f"seed-{i}", *row, now))

    def visible(self, user: UserClaims, *, symbol: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM trades WHERE tenant = ?", [user.tenant]
        if user.role != "admin":
            sql, args = sql + " AND country = ?", [*args, user.country]
        if symbol is not None:
            sql, args = sql + " AND symbol = ?", [*args, symbol]
        rows = self.db.connection().execute(sql + " ORDER BY created, id LIMIT ?", (*args, limit)).fetchall()
        return [{k: row[k] for k in ("id", "tenant", "country", "trader", "symbol", "side", "quantity", "price")}
                for row in rows]

    def place(self, user: UserClaims, *, symbol: str, side: str, quantity: int, price: float,
              now: float) -> dict[str, Any]:
        trade_id = "t-" + secrets.token_hex(8)
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO trades VALUES (?,?,?,?,?,?,?,?,?)",
                         (trade_id, user.tenant, user.country, user.subject, symbol, side, quantity, price, now))
        return {"id": trade_id, "tenant": user.tenant, "country": user.country, "trader": user.subject,
                "symbol": symbol, "side": side, "quantity": quantity, "price": price}
