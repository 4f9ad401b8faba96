"""The registry port and its SQLite adapter (issue 4 §6): WAL, ``BEGIN IMMEDIATE``, all or nothing.

Every write method takes the :class:`AuditEvent` it must record and appends it in the same transaction, so the
log holds exactly the changes that happened. The audit table has no UPDATE or DELETE path in code, and triggers
refuse both in the database. A PostgreSQL adapter implements the same :class:`RegistryStore` protocol.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from authority.audit import GENESIS, AuditCheck, entry_hash, verify_chain
from authority.records import (
    AuditEvent,
    AuditRecord,
    Conflict,
    KeyRecord,
    NotFound,
    Organisation,
    Revocation,
    Software,
    StatementRecord,
)
from hardened.adapters.sqlite_base import SQLiteDatabase

__all__ = ["RegistryStore", "SQLiteRegistryStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS organisations (
  org_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
  contacts TEXT NOT NULL, jurisdiction TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS software (
  software_id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisations(org_id), description TEXT NOT NULL,
  metadata TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS statements (
  idx INTEGER PRIMARY KEY, jti TEXT NOT NULL UNIQUE, software_id TEXT NOT NULL REFERENCES software(software_id),
  org_id TEXT NOT NULL REFERENCES organisations(org_id), kid TEXT NOT NULL, iat REAL NOT NULL, exp REAL NOT NULL,
  claims TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revocations (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('statement', 'software', 'organisation')),
  target TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL, UNIQUE (kind, target));
CREATE TABLE IF NOT EXISTS signing_keys (
  kid TEXT PRIMARY KEY, alg TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
  created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
  details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)
"""
TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
)
#: statement status (draft-ietf-oauth-status-list §7.1): 1 revoked by statement, software or organisation;
#: 2 organisation suspended; 0 valid.
_STATUS_SQL = """
SELECT s.idx, s.jti, CASE
  WHEN EXISTS (SELECT 1 FROM revocations r WHERE (r.kind = 'statement' AND r.target = s.jti)
       OR (r.kind = 'software' AND r.target = s.software_id) OR (r.kind = 'organisation' AND r.target = s.org_id))
  THEN 1 WHEN o.status = 'suspended' THEN 2 ELSE 0 END AS status
FROM statements s JOIN organisations o ON o.org_id = s.org_id
"""


class RegistryStore(Protocol):
    """The authority's registry. Reads raise NotFound; writes raise Conflict on duplicates."""

    def get_meta(self, name: str) -> str | None: ...
    def set_meta(self, name: str, value: str, *, event: AuditEvent | None) -> None: ...
    def add_organisation(self, org: Organisation, *, event: AuditEvent) -> None: ...
    def set_organisation_status(self, org_id: str, status: str, *, event: AuditEvent) -> Organisation: ...
    def organisation(self, org_id: str) -> Organisation: ...
    def organisations(self) -> list[Organisation]: ...
    def put_software(self, software: Software, *, create: bool, event: AuditEvent) -> None: ...
    def software(self, software_id: str) -> Software: ...
    def software_list(self, org_id: str | None = None) -> list[Software]: ...
    def issue_statement(self, build: Callable[[int], StatementRecord], *, event: AuditEvent) -> StatementRecord: ...
    def statement(self, jti: str) -> StatementRecord: ...
    def statement_status(self, jti: str) -> int: ...
    def statement_statuses(self) -> tuple[dict[int, int], int]: ...
    def add_revocation(self, revocation: Revocation, *, event: AuditEvent) -> None: ...
    def revocations(self) -> list[Revocation]: ...
    def add_key(self, key: KeyRecord, *, demote_active: bool, event: AuditEvent) -> None: ...
    def set_key_state(self, kid: str, state: str, at: float, *, event: AuditEvent) -> KeyRecord: ...
    def signing_keys(self) -> list[KeyRecord]: ...
    def audit_log(self, *, after: int = 0, limit: int = 1000) -> list[AuditRecord]: ...
    def audit_head(self) -> int: ...
    def verify_audit(self) -> AuditCheck: ...


def _org(row: sqlite3.Row) -> Organisation:
    return Organisation(row["org_id"], row["name"], row["status"], tuple(json.loads(row["contacts"])),
                        row["jurisdiction"], row["created_at"], row["updated_at"])


def _software(row: sqlite3.Row) -> Software:
    return Software(row["software_id"], row["org_id"], row["description"], json.loads(row["metadata"]),
                    row["created_at"], row["updated_at"])


def _statement(row: sqlite3.Row) -> StatementRecord:
    return StatementRecord(row["idx"], row["jti"], row["software_id"], row["org_id"], row["kid"], row["iat"],
                           row["exp"], json.loads(row["claims"]))


def _key(row: sqlite3.Row) -> KeyRecord:
    return KeyRecord(row["kid"], row["alg"], row["state"], row["created_at"], row["updated_at"])


def _audit(row: sqlite3.Row) -> AuditRecord:
    return AuditRecord(row["seq"], row["at"], row["actor"], row["action"], row["target"], json.loads(row["details"]),
                       row["prev_hash"], row["hash"])


class SQLiteRegistryStore:
    """The registry in one SQLite file (DESIGN §5)."""

    def __init__(self, path: str | Path) -> None:
        self.db = SQLiteDatabase(path, SCHEMA)
        with self.db.transaction() as conn:
            for trigger in TRIGGERS:
                conn.execute(trigger)

    # -- audit ---------------------------------------------------------------------------------------------------
    @staticmethod
    def _append(conn: sqlite3.Connection, event: AuditEvent) -> None:
        last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
        digest = entry_hash(prev, seq, event.at, event.actor, event.action, event.target, event.details)
        conn.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (seq, event.at, event.actor, event.action, event.target,
                      json.dumps(event.details, sort_keys=True), prev, digest))

    def audit_log(self, *, after: int = 0, limit: int = 1000) -> list[AuditRecord]:
        rows = self.db.connection().execute("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
        return [_audit(r) for r in rows]

    def audit_head(self) -> int:
        """The last audit sequence number: it changes with every change to the registry."""
        return int(self.db.connection().execute("SELECT COALESCE(MAX(seq), 0) FROM audit").fetchone()[0])

    def verify_audit(self) -> AuditCheck:
        rows = self.db.connection().execute("SELECT * FROM audit ORDER BY seq")
        return verify_chain(_audit(r) for r in rows)

    # -- meta ----------------------------------------------------------------------------------------------------
    def get_meta(self, name: str) -> str | None:
        row = self.db.connection().execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else row["value"]

    def set_meta(self, name: str, value: str, *, event: AuditEvent | None) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                         (name, value))
            if event is not None:
                self._append(conn, event)

    # -- organisations -------------------------------------------------------------------------------------------
    def add_organisation(self, org: Organisation, *, event: AuditEvent) -> None:
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM organisations WHERE org_id = ?", (org.org_id,)).fetchone():
                raise Conflict(f"organisation {org.org_id} already exists")
            conn.execute("INSERT INTO organisations VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (org.org_id, org.name, org.status, json.dumps(list(org.contacts)), org.jurisdiction,
                          org.created_at, org.updated_at))
            self._append(conn, event)

    def set_organisation_status(self, org_id: str, status: str, *, event: AuditEvent) -> Organisation:
        with self.db.transaction() as conn:
            cur = conn.execute("UPDATE organisations SET status = ?, updated_at = ? WHERE org_id = ?",
                               (status, event.at, org_id))
            if cur.rowcount != 1:
                raise NotFound(f"no organisation {org_id}")
            self._append(conn, event)
            return _org(conn.execute("SELECT * FROM organisations WHERE org_id = ?", (org_id,)).fetchone())

    def organisation(self, org_id: str) -> Organisation:
        row = self.db.connection().execute("SELECT * FROM organisations WHERE org_id = ?", (org_id,)).fetchone()
        if row is None:
            raise NotFound(f"no organisation {org_id}")
        return _org(row)

    def organisations(self) -> list[Organisation]:
        return [_org(r) for r in self.db.connection().execute("SELECT * FROM organisations ORDER BY org_id")]

    # -- software ------------------------------------------------------------------------------------------------
    def put_software(self, software: Software, *, create: bool, event: AuditEvent) -> None:
        with self.db.transaction() as conn:
            exists = conn.execute("SELECT org_id FROM software WHERE software_id = ?",
                                  (software.software_id,)).fetchone()
            if create and exists:
                raise Conflict(f"software {software.software_id} already exists")
            if not create and not exists:
                raise NotFound(f"no software {software.software_id}")
            if not conn.execute("SELECT 1 FROM organisations WHERE org_id = ?", (software.org_id,)).fetchone():
                raise NotFound(f"no organisation {software.org_id}")
            conn.execute("INSERT INTO software VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (software_id) DO UPDATE SET "
                         "org_id = excluded.org_id, description = excluded.description, metadata = excluded.metadata, "
                         "updated_at = excluded.updated_at",
                         (software.software_id, software.org_id, software.description,
                          json.dumps(software.metadata, sort_keys=True), software.created_at, software.updated_at))
            self._append(conn, event)

    def software(self, software_id: str) -> Software:
        row = self.db.connection().execute("SELECT * FROM software WHERE software_id = ?", (software_id,)).fetchone()
        if row is None:
            raise NotFound(f"no software {software_id}")
        return _software(row)

    def software_list(self, org_id: str | None = None) -> list[Software]:
        sql, args = "SELECT * FROM software", ()
        if org_id is not None:
            sql, args = sql + " WHERE org_id = ?", (org_id,)
        return [_software(r) for r in self.db.connection().execute(sql + " ORDER BY software_id", args)]

    # -- statements ----------------------------------------------------------------------------------------------
    def issue_statement(self, build: Callable[[int], StatementRecord], *, event: AuditEvent) -> StatementRecord:
        """Allocate the next status-list index, let ``build`` sign with it, record the result: one transaction."""
        with self.db.transaction() as conn:
            idx = conn.execute("SELECT COALESCE(MAX(idx), -1) + 1 FROM statements").fetchone()[0]
            rec = build(idx)
            conn.execute("INSERT INTO statements VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (rec.idx, rec.jti, rec.software_id, rec.org_id, rec.kid, rec.iat, rec.exp,
                          json.dumps(rec.claims, sort_keys=True)))
            self._append(conn, AuditEvent(event.at, event.actor, event.action, event.target,
                                          {**event.details, "jti": rec.jti, "kid": rec.kid}))
            return rec

    def statement(self, jti: str) -> StatementRecord:
        row = self.db.connection().execute("SELECT * FROM statements WHERE jti = ?", (jti,)).fetchone()
        if row is None:
            raise NotFound("no such statement")
        return _statement(row)

    def statements(self, software_id: str | None = None) -> list[StatementRecord]:
        sql, args = "SELECT * FROM statements", ()
        if software_id is not None:
            sql, args = sql + " WHERE software_id = ?", (software_id,)
        return [_statement(r) for r in self.db.connection().execute(sql + " ORDER BY idx", args)]

    def statement_status(self, jti: str) -> int:
        row = self.db.connection().execute(_STATUS_SQL + " WHERE s.jti = ?", (jti,)).fetchone()
        if row is None:
            raise NotFound("no such statement")
        return int(row["status"])

    def statement_statuses(self) -> tuple[dict[int, int], int]:
        """(non-valid statuses by index, number of statements) read in one snapshot."""
        conn = self.db.connection()
        conn.execute("BEGIN")
        try:
            rows = conn.execute(_STATUS_SQL).fetchall()
        finally:
            conn.execute("COMMIT")
        return {r["idx"]: int(r["status"]) for r in rows if r["status"]}, len(rows)

    # -- revocations ---------------------------------------------------------------------------------------------
    def add_revocation(self, revocation: Revocation, *, event: AuditEvent) -> None:
        table, column = {"statement": ("statements", "jti"), "software": ("software", "software_id"),
                         "organisation": ("organisations", "org_id")}[revocation.kind]
        with self.db.transaction() as conn:
            if not conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", (revocation.target,)).fetchone():  # noqa: S608
                raise NotFound(f"no {revocation.kind} {revocation.target}")
            if conn.execute("SELECT 1 FROM revocations WHERE kind = ? AND target = ?",
                            (revocation.kind, revocation.target)).fetchone():
                raise Conflict(f"{revocation.kind} {revocation.target} is already revoked")
            conn.execute("INSERT INTO revocations (kind, target, reason, at) VALUES (?, ?, ?, ?)",
                         (revocation.kind, revocation.target, revocation.reason, revocation.at))
            self._append(conn, event)

    def revocations(self) -> list[Revocation]:
        rows = self.db.connection().execute("SELECT kind, target, reason, at FROM revocations ORDER BY id")
        return [Revocation(r["kind"], r["target"], r["reason"], r["at"]) for r in rows]

    def revocation_for(self, rec: StatementRecord) -> Revocation | None:
        row = self.db.connection().execute(
            "SELECT kind, target, reason, at FROM revocations WHERE (kind = 'statement' AND target = ?) OR "
            "(kind = 'software' AND target = ?) OR (kind = 'organisation' AND target = ?) ORDER BY id LIMIT 1",
            (rec.jti, rec.software_id, rec.org_id)).fetchone()
        return None if row is None else Revocation(row["kind"], row["target"], row["reason"], row["at"])

    # -- signing keys --------------------------------------------------------------------------------------------
    def add_key(self, key: KeyRecord, *, demote_active: bool, event: AuditEvent) -> None:
        with self.db.transaction() as conn:
            if demote_active:
                conn.execute("UPDATE signing_keys SET state = 'retiring', updated_at = ? WHERE state = 'active'",
                             (key.created_at,))
            conn.execute("INSERT INTO signing_keys VALUES (?, ?, ?, ?, ?)",
                         (key.kid, key.alg, key.state, key.created_at, key.updated_at))
            self._append(conn, event)

    def set_key_state(self, kid: str, state: str, at: float, *, event: AuditEvent) -> KeyRecord:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM signing_keys WHERE kid = ?", (kid,)).fetchone()
            if row is None:
                raise NotFound(f"no key {kid}")
            if row["state"] == "active":
                raise Conflict("the active key cannot be retired; rotate first")
            conn.execute("UPDATE signing_keys SET state = ?, updated_at = ? WHERE kid = ?", (state, at, kid))
            self._append(conn, event)
            return _key(conn.execute("SELECT * FROM signing_keys WHERE kid = ?", (kid,)).fetchone())

    def signing_keys(self) -> list[KeyRecord]:
        return [_key(r) for r in self.db.connection().execute("SELECT * FROM signing_keys ORDER BY created_at, kid")]

    def close(self) -> None:
        self.db.close()

