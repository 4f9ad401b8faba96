"""SQLite ``ASStore`` (DESIGN §5): one WAL file shared by every uvicorn worker; each method one transaction.

Single use holds across workers because spending is a conditional ``UPDATE``/``DELETE`` inside ``BEGIN IMMEDIATE``.

Durability is that of ``synchronous = FULL`` (nothing is acknowledged before it is on disk) with a group commit:
each write transaction commits under the write lock without a flush (``NORMAL``), then, after the lock is released
and before the method returns, the WAL is flushed (``SQLiteDatabase.sync_wal``). One flush covers every commit
before it, so concurrent writers in all workers share flushes instead of queueing one fsync each behind the lock.
A reader may see a commit a moment before its flush, but nothing it can learn that way (a spent code, a token
hash) was handed to anyone yet: the writer answers only after its flush, and the reader's own writes flush it too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hardened.adapters.sqlite_base import SQLiteDatabase
from hardened.adapters.write_lock import WriteLock
from hardened.core.dcr_policy import ClientMetadata
from hardened.core.par import VerifiedPARRequest
from hardened.ports.as_stores import (
    CODE_RETENTION,
    AuthorizationCode,
    ClientRecord,
    CodeRedemption,
    Interaction,
    PushedRequest,
    TokenRecord,
    User,
)

__all__ = ["SQLiteASStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (client_id TEXT PRIMARY KEY, data TEXT NOT NULL, reg_hash TEXT NOT NULL,
  issued_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS statement_jtis (jti TEXT PRIMARY KEY, exp REAL NOT NULL);
CREATE TABLE IF NOT EXISTS requests (request_uri TEXT PRIMARY KEY, client_id TEXT NOT NULL, data TEXT NOT NULL,
  expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS interactions (id TEXT PRIMARY KEY, data TEXT NOT NULL, browser_hash TEXT NOT NULL,
  csrf TEXT NOT NULL, expires_at REAL NOT NULL, subject TEXT, claims TEXT NOT NULL, failures INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS codes (code_hash TEXT PRIMARY KEY, grant_id TEXT NOT NULL, client_id TEXT NOT NULL,
  data TEXT NOT NULL, subject TEXT NOT NULL, claims TEXT NOT NULL, expires_at REAL NOT NULL, used INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token_hash TEXT PRIMARY KEY, grant_id TEXT NOT NULL, client_id TEXT NOT NULL,
  data TEXT NOT NULL, revoked INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tokens_grant ON tokens (grant_id);
CREATE INDEX IF NOT EXISTS tokens_client ON tokens (client_id);
CREATE TABLE IF NOT EXISTS revoked_grants (grant_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS consents (subject TEXT NOT NULL, client_id TEXT NOT NULL, scopes TEXT NOT NULL,
  PRIMARY KEY (subject, client_id));
CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS account_failures (account TEXT PRIMARY KEY, failures INTEGER NOT NULL,
  until REAL NOT NULL);
CREATE INDEX IF NOT EXISTS requests_expiry ON requests (expires_at);
CREATE INDEX IF NOT EXISTS interactions_expiry ON interactions (expires_at);
CREATE INDEX IF NOT EXISTS codes_expiry ON codes (expires_at);
CREATE INDEX IF NOT EXISTS tokens_expiry ON tokens (json_extract(data, '$.expires_at'))
"""


def _tuples(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {**data, **{n: tuple(data[n]) for n in names}}


def _metadata(raw: str) -> ClientMetadata:
    return ClientMetadata(**_tuples(json.loads(raw), "redirect_uris", "scopes", "grant_types"))


def _request(raw: str) -> VerifiedPARRequest:
    return VerifiedPARRequest(**_tuples(json.loads(raw), "scopes"))


def _token(raw: str, revoked: int) -> TokenRecord:
    return TokenRecord(**{**_tuples(json.loads(raw), "scopes"), "revoked": bool(revoked)})


class SQLiteASStore:
    """The authorization server's records in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.db = SQLiteDatabase(path, SCHEMA, synchronous="NORMAL")  # + sync_wal after each write: see above
        self._lock = WriteLock(str(path) + ".lock")

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """A write transaction, entered in turn (see ``write_lock``), durable when this returns (group commit)."""
        with self._lock.held(), self.db.transaction() as conn:
            yield conn
        self.db.sync_wal()  # outside the lock; reached only after COMMIT

    # clients
    @staticmethod
    def _spend_jti(conn: Any, jti: str | None, exp: float) -> bool:
        if jti is None:
            return True
        return conn.execute("INSERT OR IGNORE INTO statement_jtis VALUES (?, ?)", (jti, exp)).rowcount == 1

    def add_client(self, record: ClientRecord, *, statement_jti: str | None, statement_exp: float) -> bool:
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM clients WHERE client_id = ?", (record.client_id,)).fetchone():
                return False
            if not self._spend_jti(conn, statement_jti, statement_exp):
                return False
            conn.execute("INSERT INTO clients VALUES (?, ?, ?, ?)", (
                record.client_id, json.dumps(asdict(record.metadata)), record.registration_token_hash,
                record.issued_at))
            return True

    def get_client(self, client_id: str) -> ClientRecord | None:
        row = self.db.connection().execute("SELECT * FROM clients WHERE client_id = ?", (client_id,)).fetchone()
        if row is None:
            return None
        return ClientRecord(client_id=row["client_id"], metadata=_metadata(row["data"]),
                            registration_token_hash=row["reg_hash"], issued_at=row["issued_at"])

    def replace_client(self, record: ClientRecord, *, statement_jti: str | None, statement_exp: float) -> bool:
        with self._write() as conn:
            if not conn.execute("SELECT 1 FROM clients WHERE client_id = ?", (record.client_id,)).fetchone():
                return False
            if not self._spend_jti(conn, statement_jti, statement_exp):
                return False
            conn.execute("UPDATE clients SET data = ?, reg_hash = ? WHERE client_id = ?", (
                json.dumps(asdict(record.metadata)), record.registration_token_hash, record.client_id))
            return True

    def delete_client(self, client_id: str) -> bool:
        with self._write() as conn:
            if conn.execute("DELETE FROM clients WHERE client_id = ?", (client_id,)).rowcount != 1:
                return False
            conn.execute("INSERT OR IGNORE INTO revoked_grants SELECT grant_id FROM tokens WHERE client_id = ?",
                         (client_id,))
            conn.execute("INSERT OR IGNORE INTO revoked_grants SELECT grant_id FROM codes WHERE client_id = ?",
                         (client_id,))
            conn.execute("UPDATE tokens SET revoked = 1 WHERE client_id = ?", (client_id,))
            conn.execute("DELETE FROM codes WHERE client_id = ?", (client_id,))
            conn.execute("DELETE FROM requests WHERE client_id = ?", (client_id,))
            conn.execute("DELETE FROM consents WHERE client_id = ?", (client_id,))
            return True

    # pushed requests
    def put_request(self, pushed: PushedRequest) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO requests VALUES (?, ?, ?, ?)", (
                pushed.request_uri, pushed.request.client_id, json.dumps(asdict(pushed.request)), pushed.expires_at))

    def take_request(self, request_uri: str, client_id: str, now: float) -> VerifiedPARRequest | None:
        with self._write() as conn:
            row = conn.execute("DELETE FROM requests WHERE request_uri = ? AND client_id = ? RETURNING data, "
                               "expires_at", (request_uri, client_id)).fetchone()
        if row is None or now >= row["expires_at"]:
            return None
        return _request(row["data"])

    # interactions
    def put_interaction(self, interaction: Interaction) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO interactions VALUES (?, ?, ?, ?, ?, ?, ?, 0)", (
                interaction.interaction_id, json.dumps(asdict(interaction.request)), interaction.browser_hash,
                interaction.csrf, interaction.expires_at, interaction.subject, json.dumps(dict(interaction.claims))))

    @staticmethod
    def _interaction(row: Any, now: float) -> Interaction | None:
        if row is None or now >= row["expires_at"]:
            return None
        return Interaction(interaction_id=row["id"], request=_request(row["data"]), browser_hash=row["browser_hash"],
                           csrf=row["csrf"], expires_at=row["expires_at"], subject=row["subject"],
                           claims=json.loads(row["claims"]))

    def get_interaction(self, interaction_id: str, now: float) -> Interaction | None:
        row = self.db.connection().execute("SELECT * FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
        return self._interaction(row, now)

    def set_interaction_subject(self, interaction_id: str, subject: str, claims: Mapping[str, Any]) -> bool:
        with self._write() as conn:
            return conn.execute("UPDATE interactions SET subject = ?, claims = ? WHERE id = ?",
                                (subject, json.dumps(dict(claims)), interaction_id)).rowcount == 1

    def take_interaction(self, interaction_id: str, now: float) -> Interaction | None:
        with self._write() as conn:
            row = conn.execute("DELETE FROM interactions WHERE id = ? RETURNING *", (interaction_id,)).fetchone()
        return self._interaction(row, now)

    def count_login_failure(self, interaction_id: str) -> int:
        with self._write() as conn:
            row = conn.execute("UPDATE interactions SET failures = failures + 1 WHERE id = ? RETURNING failures",
                               (interaction_id,)).fetchone()
        return 0 if row is None else int(row["failures"])

    def record_account_failure(self, account: str, now: float, window: float) -> int:
        with self._write() as conn:
            row = conn.execute(
                "INSERT INTO account_failures VALUES (?, 1, ?) ON CONFLICT (account) DO UPDATE SET "
                "failures = CASE WHEN ? < until THEN failures + 1 ELSE 1 END, "
                "until = CASE WHEN ? < until THEN until ELSE ? END RETURNING failures",
                (account, now + window, now, now, now + window)).fetchone()
        return int(row["failures"])

    def account_failures(self, account: str, now: float) -> int:
        row = self.db.connection().execute("SELECT failures, until FROM account_failures WHERE account = ?",
                                           (account,)).fetchone()
        return 0 if row is None or now >= row["until"] else int(row["failures"])

    def clear_account_failures(self, account: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM account_failures WHERE account = ?", (account,))

    # codes
    def put_code(self, code: AuthorizationCode) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO codes VALUES (?, ?, ?, ?, ?, ?, ?, 0)", (
                code.code_hash, code.grant_id, code.request.client_id, json.dumps(asdict(code.request)),
                code.subject, json.dumps(dict(code.claims)), code.expires_at))

    def get_code(self, code_hash: str) -> CodeRedemption | None:
        row = self.db.connection().execute("SELECT * FROM codes WHERE code_hash = ?", (code_hash,)).fetchone()
        if row is None:
            return None
        code = AuthorizationCode(code_hash=row["code_hash"], grant_id=row["grant_id"], request=_request(row["data"]),
                                 subject=row["subject"], claims=json.loads(row["claims"]), expires_at=row["expires_at"])
        return CodeRedemption(code=code, first_use=row["used"] == 0)

    def redeem_code(self, code_hash: str, tokens: Sequence[TokenRecord]) -> bool:
        """Spend the code and store its tokens in one transaction: both happen, or (already spent) neither."""
        with self._write() as conn:
            if conn.execute("UPDATE codes SET used = 1 WHERE code_hash = ? AND used = 0", (code_hash,)).rowcount != 1:
                return False
            return self._insert_tokens(conn, tokens)

    # tokens
    @staticmethod
    def _insert_tokens(conn: Any, records: Sequence[TokenRecord]) -> bool:
        for grant in {r.grant_id for r in records}:
            if conn.execute("SELECT 1 FROM revoked_grants WHERE grant_id = ?", (grant,)).fetchone():
                return False
        for r in records:
            data = {k: v for k, v in asdict(r).items() if k != "revoked"}
            conn.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)", (
                r.token_hash, r.grant_id, r.client_id, json.dumps(data), int(r.revoked)))
        return True

    def put_tokens(self, records: Sequence[TokenRecord]) -> bool:
        with self._write() as conn:
            return self._insert_tokens(conn, records)

    def get_token(self, token_hash: str) -> TokenRecord | None:
        row = self.db.connection().execute("SELECT data, revoked FROM tokens WHERE token_hash = ?",
                                           (token_hash,)).fetchone()
        return None if row is None else _token(row["data"], row["revoked"])

    def revoke_token(self, token_hash: str) -> bool:
        with self._write() as conn:
            return conn.execute("UPDATE tokens SET revoked = 1 WHERE token_hash = ? AND revoked = 0",
                                (token_hash,)).rowcount == 1

    def revoke_grant(self, grant_id: str) -> int:
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO revoked_grants VALUES (?)", (grant_id,))
            return conn.execute("UPDATE tokens SET revoked = 1 WHERE grant_id = ? AND revoked = 0",
                                (grant_id,)).rowcount

    def purge_expired(self, now: float) -> int:
        """Each table by an index on its expiry (for tokens an index on ``json_extract`` of the record), so a purge
        costs what it deletes, not a scan of every token."""
        with self._write() as conn:
            return sum(conn.execute(sql, args).rowcount for sql, args in (
                ("DELETE FROM requests WHERE expires_at <= ?", (now,)),
                ("DELETE FROM interactions WHERE expires_at <= ?", (now,)),
                ("DELETE FROM codes WHERE expires_at <= ?", (now - CODE_RETENTION,)),
                ("DELETE FROM tokens WHERE json_extract(data, '$.expires_at') <= ?", (now,)),
                ("DELETE FROM statement_jtis WHERE exp <= ?", (now - CODE_RETENTION,)),
                ("DELETE FROM account_failures WHERE until <= ?", (now,)),
            ))

    # consents and users
    def put_consent(self, subject: str, client_id: str, scopes: Sequence[str]) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO consents VALUES (?, ?, ?)",
                         (subject, client_id, json.dumps(list(scopes))))

    def get_consent(self, subject: str, client_id: str) -> tuple[str, ...]:
        row = self.db.connection().execute("SELECT scopes FROM consents WHERE subject = ? AND client_id = ?",
                                           (subject, client_id)).fetchone()
        return () if row is None else tuple(json.loads(row["scopes"]))

    def put_user(self, user: User) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO users VALUES (?, ?)", (user.username, json.dumps(asdict(user))))

    def get_user(self, username: str) -> User | None:
        row = self.db.connection().execute("SELECT data FROM users WHERE username = ?", (username,)).fetchone()
        return None if row is None else User(**json.loads(row["data"]))
