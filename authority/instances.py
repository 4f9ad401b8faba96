"""The instance registry of the authority acting as Client Attester (draft-ietf-oauth-attestation-based-client-auth
-10 §1 step 3): registered software instances, the client ids they were attested for, and the attester keys.

Stored in the authority's own SQLite file, next to the registry; every change goes through the registry's
transaction and appends its audit entry in that same transaction (``SQLiteRegistryStore._append``), exactly like
every other admin action.

- ``instances``: one row per registered instance: its id, software, the RFC 7638 thumbprint (``jkt``, unique for
  ever: a revoked key can never be registered again) and the public JWK (the attestation's ``cnf.jwk``), status.
- ``client_bindings``: ``client_id`` -> software, recorded at the first attestation for that client id. A client id
  is never attested for another software afterwards, so no instance can obtain an attestation naming a client
  registered for someone else's software (the AS compares ``sub`` with the client it authenticates: ABCA §7.1).
- ``attester_keys``: the attester signing keys (purpose ``attester``), separate from the statement keys.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Literal

from authority.records import AuditEvent, Conflict, KeyRecord, NotFound
from authority.store import SQLiteRegistryStore
from hardened.core.attestation_request import RegisteredInstanceKey
from hardened.errors import JoseError
from hardened.jose import public_key_from_jwk

__all__ = ["ClientBinding", "Instance", "SQLiteInstanceStore"]

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS instances (instance_id TEXT PRIMARY KEY, software_id TEXT NOT NULL REFERENCES "
    "software(software_id), jkt TEXT NOT NULL UNIQUE, jwk TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN "
    "('active', 'revoked')), created_at REAL NOT NULL, revoked_at REAL, reason TEXT)",
    "CREATE INDEX IF NOT EXISTS instances_software ON instances (software_id)",
    "CREATE TABLE IF NOT EXISTS client_bindings (client_id TEXT PRIMARY KEY, software_id TEXT NOT NULL REFERENCES "
    "software(software_id), instance_id TEXT NOT NULL REFERENCES instances(instance_id), bound_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS attester_keys (kid TEXT PRIMARY KEY, alg TEXT NOT NULL, state TEXT NOT NULL CHECK "
    "(state IN ('active', 'retiring', 'retired')), created_at REAL NOT NULL, updated_at REAL NOT NULL)",
)
InstanceStatus = Literal["active", "revoked"]


@dataclass(frozen=True, slots=True)
class Instance:
    instance_id: str
    software_id: str
    jkt: str
    jwk: dict[str, Any] = field(repr=False)
    status: InstanceStatus
    created_at: float
    revoked_at: float | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "software_id": self.software_id, "jkt": self.jkt, "jwk": self.jwk,
                "status": self.status, "created_at": self.created_at, "revoked_at": self.revoked_at,
                "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ClientBinding:
    client_id: str
    software_id: str
    instance_id: str
    bound_at: float

    def to_json(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "software_id": self.software_id, "instance_id": self.instance_id,
                "bound_at": self.bound_at}


def _instance(row: sqlite3.Row) -> Instance:
    return Instance(row["instance_id"], row["software_id"], row["jkt"], json.loads(row["jwk"]), row["status"],
                    row["created_at"], row["revoked_at"], row["reason"])


def _binding(row: sqlite3.Row) -> ClientBinding:
    return ClientBinding(row["client_id"], row["software_id"], row["instance_id"], row["bound_at"])


class SQLiteInstanceStore:
    """Instances, client bindings and attester keys, in the registry's database and audit chain."""

    def __init__(self, registry: SQLiteRegistryStore) -> None:
        self.registry = registry
        self.db = registry.db
        with self.db.transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    # -- instances -----------------------------------------------------------------------------------------------
    def add_instance(self, instance: Instance, *, event: AuditEvent) -> None:
        with self.db.transaction() as conn:
            if not conn.execute("SELECT 1 FROM software WHERE software_id = ?", (instance.software_id,)).fetchone():
                raise NotFound(f"no software {instance.software_id}")
            if conn.execute("SELECT 1 FROM instances WHERE instance_id = ?", (instance.instance_id,)).fetchone():
                raise Conflict(f"instance {instance.instance_id} already exists")
            if conn.execute("SELECT 1 FROM instances WHERE jkt = ?", (instance.jkt,)).fetchone():
                raise Conflict("this key is already registered for an instance (keys are never reused)")
            conn.execute("INSERT INTO instances VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (instance.instance_id, instance.software_id, instance.jkt,
                          json.dumps(instance.jwk, sort_keys=True), instance.status, instance.created_at, None, None))
            self.registry._append(conn, event)

    def revoke_instance(self, software_id: str, instance_id: str, *, reason: str, event: AuditEvent) -> Instance:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM instances WHERE instance_id = ? AND software_id = ?",
                               (instance_id, software_id)).fetchone()
            if row is None:
                raise NotFound(f"no instance {instance_id} of software {software_id}")
            if row["status"] == "revoked":
                raise Conflict(f"instance {instance_id} is already revoked")
            conn.execute("UPDATE instances SET status = 'revoked', revoked_at = ?, reason = ? WHERE instance_id = ?",
                         (event.at, reason, instance_id))
            self.registry._append(conn, event)
            return _instance(conn.execute("SELECT * FROM instances WHERE instance_id = ?", (instance_id,)).fetchone())

    def instance(self, instance_id: str) -> Instance:
        row = self.db.connection().execute("SELECT * FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
        if row is None:
            raise NotFound(f"no instance {instance_id}")
        return _instance(row)

    def instances(self, software_id: str) -> list[Instance]:
        self.registry.software(software_id)  # NotFound for unknown software
        rows = self.db.connection().execute("SELECT * FROM instances WHERE software_id = ? ORDER BY created_at, "
                                            "instance_id", (software_id,))
        return [_instance(r) for r in rows]

    def get(self, jkt: str, /) -> RegisteredInstanceKey | None:
        """:class:`~hardened.core.attestation_request.InstanceKeys`: the key registered with this thumbprint."""
        row = self.db.connection().execute("SELECT instance_id, jwk FROM instances WHERE jkt = ?", (jkt,)).fetchone()
        if row is None:
            return None
        try:
            return RegisteredInstanceKey(row["instance_id"], public_key_from_jwk(json.loads(row["jwk"])))
        except (JoseError, ValueError):
            return None  # a damaged row authenticates nobody (fail closed)

    # -- client bindings -----------------------------------------------------------------------------------------
    def record_issuance(self, binding: ClientBinding, *, event: AuditEvent) -> ClientBinding:
        """Bind ``client_id`` to the software at its first attestation; refuse it for any other software. The
        issuance (and a new binding) are audited in the same transaction."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM client_bindings WHERE client_id = ?", (binding.client_id,)).fetchone()
            if row is not None and row["software_id"] != binding.software_id:
                raise Conflict("this client_id is bound to another software")
            if row is None:
                conn.execute("INSERT INTO client_bindings VALUES (?, ?, ?, ?)",
                             (binding.client_id, binding.software_id, binding.instance_id, binding.bound_at))
                self.registry._append(conn, AuditEvent(event.at, event.actor, "client.bind", binding.client_id,
                                                       {"software_id": binding.software_id,
                                                        "instance_id": binding.instance_id}))
            self.registry._append(conn, event)
            return binding if row is None else _binding(row)

    def bindings(self, software_id: str) -> list[ClientBinding]:
        rows = self.db.connection().execute("SELECT * FROM client_bindings WHERE software_id = ? ORDER BY bound_at, "
                                            "client_id", (software_id,))
        return [_binding(r) for r in rows]

    # -- attester keys -------------------------------------------------------------------------------------------
    def add_attester_key(self, key: KeyRecord, *, event: AuditEvent, only_if_none: bool = False) -> bool:
        """Make ``key`` the active attester key (the active one becomes retiring). With ``only_if_none``, do nothing
        and return False when an active key exists (two processes creating the first key at once)."""
        with self.db.transaction() as conn:
            if only_if_none and conn.execute("SELECT 1 FROM attester_keys WHERE state = 'active'").fetchone():
                return False
            conn.execute("UPDATE attester_keys SET state = 'retiring', updated_at = ? WHERE state = 'active'",
                         (key.created_at,))
            conn.execute("INSERT INTO attester_keys VALUES (?, ?, ?, ?, ?)",
                         (key.kid, key.alg, key.state, key.created_at, key.updated_at))
            self.registry._append(conn, event)
        return True

    def retire_attester_key(self, kid: str, at: float, *, event: AuditEvent) -> KeyRecord:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM attester_keys WHERE kid = ?", (kid,)).fetchone()
            if row is None:
                raise NotFound(f"no attester key {kid}")
            if row["state"] != "retiring":
                raise Conflict("only a retiring attester key can be retired (rotate first)")
            conn.execute("UPDATE attester_keys SET state = 'retired', updated_at = ? WHERE kid = ?", (at, kid))
            self.registry._append(conn, event)
        return next(k for k in self.attester_keys() if k.kid == kid)

    def attester_keys(self) -> list[KeyRecord]:
        rows = self.db.connection().execute("SELECT * FROM attester_keys ORDER BY created_at, kid")
        return [KeyRecord(r["kid"], r["alg"], r["state"], r["created_at"], r["updated_at"]) for r in rows]
