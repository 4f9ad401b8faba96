"""The audit log's hash chain: each entry commits to the one before it, so editing, deleting or reordering any
entry breaks every hash after it (the idea of RFC 6962 §2.1's append-only log, as a simple chain).

``entry_hash = SHA-256(prev_hash || canonical JSON [seq, at, actor, action, target, details])``, hex; the first
entry's ``prev_hash`` is 64 zeros. The SQLite table also refuses UPDATE and DELETE with triggers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from authority.records import AuditRecord

__all__ = ["GENESIS", "AuditCheck", "entry_hash", "verify_chain"]

GENESIS = "0" * 64


def entry_hash(prev_hash: str, seq: int, at: float, actor: str, action: str, target: str,
               details: dict[str, Any]) -> str:
    body = json.dumps([seq, at, actor, action, target, details], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True)
    return hashlib.sha256(prev_hash.encode("ascii") + body.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditCheck:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "first_bad_seq": self.first_bad_seq, "reason": self.reason}


def verify_chain(records: Iterable[AuditRecord]) -> AuditCheck:
    """Walk the log in ``seq`` order: numbering has no gap, every link and every hash recomputes."""
    prev, count, expected_seq = GENESIS, 0, 1
    for rec in records:
        if rec.seq != expected_seq:
            return AuditCheck(False, count, rec.seq, "entry missing or out of order")
        if rec.prev_hash != prev:
            return AuditCheck(False, count, rec.seq, "link to the previous entry is broken")
        if entry_hash(prev, rec.seq, rec.at, rec.actor, rec.action, rec.target, rec.details) != rec.hash:
            return AuditCheck(False, count, rec.seq, "entry was altered")
        prev, count, expected_seq = rec.hash, count + 1, expected_seq + 1
    return AuditCheck(True, count)
