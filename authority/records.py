"""Registry records of the authority (issue 4 §1): organisations, software, statements, revocations, keys, audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hardened.errors import HardenedError

__all__ = [
    "AuditEvent",
    "AuditRecord",
    "Conflict",
    "KeyRecord",
    "NotFound",
    "Organisation",
    "RegistryError",
    "Revocation",
    "Software",
    "StatementRecord",
]

OrgStatus = Literal["active", "suspended"]
KeyState = Literal["active", "retiring", "retired"]
RevocationKind = Literal["statement", "software", "organisation"]


class RegistryError(HardenedError):
    """A registry operation that cannot be done; ``str(err)`` is safe to show an operator."""

    status_code = 400
    error = "invalid_request"


class NotFound(RegistryError):
    status_code = 404
    error = "not_found"


class Conflict(RegistryError):
    status_code = 409
    error = "conflict"


@dataclass(frozen=True, slots=True)
class Organisation:
    org_id: str
    name: str
    status: OrgStatus
    contacts: tuple[str, ...]
    jurisdiction: str | None
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return {"org_id": self.org_id, "name": self.name, "status": self.status, "contacts": list(self.contacts),
                "jurisdiction": self.jurisdiction, "created_at": self.created_at, "updated_at": self.updated_at}


@dataclass(frozen=True, slots=True)
class Software:
    """``metadata`` holds the statement claims in RFC 7591 names (see authority.claims)."""

    software_id: str
    org_id: str
    description: str
    metadata: dict[str, Any]
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return {"software_id": self.software_id, "org_id": self.org_id, "description": self.description,
                "metadata": self.metadata, "created_at": self.created_at, "updated_at": self.updated_at}


@dataclass(frozen=True, slots=True)
class StatementRecord:
    idx: int
    jti: str
    software_id: str
    org_id: str
    kid: str
    iat: float
    exp: float
    claims: dict[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"idx": self.idx, "jti": self.jti, "software_id": self.software_id, "org_id": self.org_id,
                "kid": self.kid, "iat": self.iat, "exp": self.exp}


@dataclass(frozen=True, slots=True)
class Revocation:
    kind: RevocationKind
    target: str
    reason: str
    at: float

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "reason": self.reason, "at": self.at}


@dataclass(frozen=True, slots=True)
class KeyRecord:
    kid: str
    alg: str
    state: KeyState
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return {"kid": self.kid, "alg": self.alg, "state": self.state, "created_at": self.created_at,
                "updated_at": self.updated_at}


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One admin action, appended to the audit log in the same transaction as the change it records."""

    at: float
    actor: str
    action: str
    target: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: float
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action, "target": self.target,
                "details": self.details, "prev_hash": self.prev_hash, "hash": self.hash}
