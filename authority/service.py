"""The authority's operations, shared by the offline CLI and the admin API (issue 4 §1-§5; HP-AUTH).

Every change is one store transaction that also appends its audit entry. Time comes from an injected clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from authority.claims import build_statement_claims, check_statement_claims
from authority.models import OrganisationIn, RevocationIn, SoftwareIn
from authority.policy import AuthorityPolicy
from authority.records import (
    AuditEvent,
    Conflict,
    KeyRecord,
    Organisation,
    RegistryError,
    Revocation,
    Software,
    StatementRecord,
)
from authority.signing import generate_key, load_key, write_key
from authority.store import SQLiteRegistryStore
from authority.x5c import SELF_SIGNED, canonical_client_jwks
from hardened.clock import Clock, SystemClock
from hardened.core.status_list import STATUS_NAMES, encode_status_list
from hardened.errors import InvalidClientMetadata
from hardened.jose import KeySet, SigningKey, Typ

__all__ = ["Authority", "NotInitialised", "check_issuer"]

DB_FILE = "registry.sqlite3"


class NotInitialised(RegistryError):
    """The data folder holds no authority: run ``authority init`` first."""


def check_issuer(issuer: str) -> str:
    """The issuer identifier: an https URL (http only on loopback) without query, fragment or trailing slash."""
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise RegistryError("issuer is not a URL") from None
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not (parts.scheme == "https" or loopback) or not parts.hostname or parts.query or parts.fragment \
            or "@" in parts.netloc or issuer.endswith("/") or len(issuer) > 512:
        raise RegistryError("issuer must be an https URL (http only on loopback) with no query, fragment or "
                            "trailing slash")
    return issuer


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class Authority:
    """One authority over one data folder."""

    def __init__(self, data_dir: str | Path, *, clock: Clock | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.clock = clock or SystemClock()
        if not (self.data_dir / DB_FILE).exists():
            raise NotInitialised(f"no authority in {self.data_dir}: run `authority init` first")
        self.store = SQLiteRegistryStore(self.data_dir / DB_FILE)
        issuer, policy = self.store.get_meta("issuer"), self.store.get_meta("policy")
        if issuer is None or policy is None:
            raise NotInitialised(f"no authority in {self.data_dir}: run `authority init` first")
        self.issuer = issuer
        self.policy = AuthorityPolicy.model_validate_json(policy)
        self._keys: dict[str, SigningKey] = {}
        self._status_cache: tuple[int, int, str] | None = None

    # -- set-up --------------------------------------------------------------------------------------------------
    @classmethod
    def init(cls, data_dir: str | Path, *, issuer: str, policy: AuthorityPolicy | None = None,
             clock: Clock | None = None, actor: str = "cli") -> tuple[Authority, str]:
        """Create the data folder, the registry, the first signing key and the admin token (returned once)."""
        data_dir, clock, policy = Path(data_dir), clock or SystemClock(), policy or AuthorityPolicy()
        check_issuer(issuer)
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        data_dir.chmod(0o700)
        store = SQLiteRegistryStore(data_dir / DB_FILE)
        (data_dir / DB_FILE).chmod(0o600)  # SQLite gives its -wal and -shm files the same mode
        if store.get_meta("issuer") is not None:
            raise Conflict(f"{data_dir} already holds an authority")
        token = secrets.token_urlsafe(32)  # 256 bits
        now = clock.now()
        store.set_meta("policy", policy.model_dump_json(), event=None)
        store.set_meta("admin_token_sha256", _hash_token(token), event=None)
        key = generate_key(policy.alg)
        write_key(data_dir / "keys", key)
        store.add_key(KeyRecord(key.kid, key.alg, "active", now, now), demote_active=True,
                      event=AuditEvent(now, actor, "key.create", key.kid, {"alg": key.alg}))
        store.set_meta("issuer", issuer, event=AuditEvent(now, actor, "authority.init", issuer, {}))
        store.close()
        return cls(data_dir, clock=clock), token

    def reset_admin_token(self, *, actor: str) -> str:
        token = secrets.token_urlsafe(32)
        self.store.set_meta("admin_token_sha256", _hash_token(token),
                            event=AuditEvent(self.clock.now(), actor, "admin_token.reset", "admin", {}))
        return token

    def check_admin_token(self, token: str) -> bool:
        """Constant-time comparison of the token's SHA-256 with the stored one (the token is 256 random bits)."""
        stored = self.store.get_meta("admin_token_sha256") or ""
        return hmac.compare_digest(_hash_token(token), stored)

    def _event(self, actor: str, action: str, target: str, **details: Any) -> AuditEvent:
        return AuditEvent(self.clock.now(), actor, action, target, details)

    # -- URLs ----------------------------------------------------------------------------------------------------
    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    @property
    def status_list_uri(self) -> str:
        return f"{self.issuer}/statements/status-list"

    def statement_status_uri(self, jti: str) -> str:
        return f"{self.issuer}/statements/{jti}/status"

    def configuration(self) -> dict[str, Any]:
        """Authority metadata (modelled on RFC 8414 §2): where the keys, status and statements are published."""
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "status_list_uri": self.status_list_uri,
            "statement_status_endpoint": f"{self.issuer}/statements/{{jti}}/status",
            "software_statement_typ": Typ.SOFTWARE_STATEMENT,
            "status_list_typ": Typ.STATUS_LIST,
            "signing_alg_values_supported": ["PS256", "ES256", "EdDSA"],
            "max_statement_lifetime": self.policy.max_ttl,
            "status_max_age": self.policy.status_max_age,
        }

    # -- organisations -------------------------------------------------------------------------------------------
    def create_organisation(self, spec: OrganisationIn, *, actor: str) -> Organisation:
        now = self.clock.now()
        org = Organisation(spec.org_id or f"org-{secrets.token_hex(8)}", spec.name, "active", tuple(spec.contacts),
                           spec.jurisdiction, now, now)
        self.store.add_organisation(org, event=self._event(actor, "organisation.create", org.org_id, name=org.name))
        return org

    def set_organisation_status(self, org_id: str, status: str, *, reason: str, actor: str) -> Organisation:
        action = "organisation.suspend" if status == "suspended" else "organisation.reinstate"
        return self.store.set_organisation_status(org_id, status, event=self._event(actor, action, org_id,
                                                                                     reason=reason))

    # -- software ------------------------------------------------------------------------------------------------
    def _software_record(self, spec: SoftwareIn, software_id: str, created_at: float) -> Software:
        org = self.store.organisation(spec.org_id)
        metadata = spec.metadata()
        if "jwks" in metadata:  # sign only the canonical public JWKS (kid, alg, use; x5c: authority/x5c.py)
            metadata["jwks"] = canonical_client_jwks(metadata["jwks"], spec.token_endpoint_auth_method)
        elif spec.token_endpoint_auth_method == SELF_SIGNED:
            raise InvalidClientMetadata(f"{SELF_SIGNED} needs jwks by value with x5c certificates "
                                        "(RFC 8705 section 2.2)")
        check_statement_claims({"software_id": software_id, "org_id": org.org_id, "org_name": org.name, **metadata})
        return Software(software_id, org.org_id, spec.description, metadata, created_at, self.clock.now())

    def add_software(self, spec: SoftwareIn, *, actor: str) -> Software:
        software = self._software_record(spec, spec.software_id or f"sw-{secrets.token_hex(8)}", self.clock.now())
        self.store.put_software(software, create=True, event=self._event(
            actor, "software.register", software.software_id, org_id=software.org_id))
        return software

    def update_software(self, software_id: str, spec: SoftwareIn, *, actor: str) -> Software:
        current = self.store.software(software_id)
        if spec.org_id != current.org_id or spec.software_id not in (None, software_id):
            raise Conflict("software cannot move to another organisation or change its id")
        software = self._software_record(spec, software_id, current.created_at)
        self.store.put_software(software, create=False, event=self._event(actor, "software.update", software_id))
        return software

    # -- signing -------------------------------------------------------------------------------------------------
    def signing_key(self, kid: str) -> SigningKey:
        if kid not in self._keys:
            self._keys[kid] = load_key(self.data_dir / "keys", kid)
        return self._keys[kid]

    def active_key(self) -> SigningKey:
        active = [k for k in self.store.signing_keys() if k.state == "active"]
        if len(active) != 1:
            raise RegistryError("the registry has no single active signing key")
        return self.signing_key(active[0].kid)

    def sign(self, software_id: str, *, ttl: int | None, actor: str) -> tuple[StatementRecord, str]:
        """Issue a software statement (RFC 7591 §2.3) for approved software of an active organisation."""
        ttl = self.policy.default_ttl if ttl is None else ttl
        if not 60 <= ttl <= self.policy.max_ttl:
            raise RegistryError(f"ttl must be between 60 and {self.policy.max_ttl} seconds")
        software = self.store.software(software_id)
        org = self.store.organisation(software.org_id)
        if org.status != "active":
            raise Conflict(f"organisation {org.org_id} is suspended")
        revoked = {(r.kind, r.target) for r in self.store.revocations()}
        if ("software", software_id) in revoked or ("organisation", org.org_id) in revoked:
            raise Conflict("this software or its organisation is revoked")
        key, iat, token = self.active_key(), int(self.clock.now()), ""

        def build(idx: int) -> StatementRecord:
            nonlocal token
            jti = "s" + secrets.token_urlsafe(24)  # 192 random bits; never starts with '-' (CLI arguments)
            claims = build_statement_claims(issuer=self.issuer, org=org, software=software, jti=jti, iat=iat,
                                            exp=iat + ttl, idx=idx, status_uri=self.status_list_uri)
            check_statement_claims(claims)
            token = key.sign_jws(claims, typ=Typ.SOFTWARE_STATEMENT)
            return StatementRecord(idx, jti, software_id, org.org_id, key.kid, iat, iat + ttl, claims)

        record = self.store.issue_statement(build, event=self._event(actor, "statement.issue", software_id, ttl=ttl))
        return record, token

    # -- revocation and status -----------------------------------------------------------------------------------
    def revoke(self, spec: RevocationIn, *, actor: str) -> Revocation:
        revocation = Revocation(spec.kind, spec.target, spec.reason, self.clock.now())
        self.store.add_revocation(revocation, event=self._event(actor, f"revoke.{spec.kind}", spec.target,
                                                                reason=spec.reason))
        return revocation

    def statement_status(self, jti: str) -> dict[str, Any]:
        """Per-statement status (HP-AUTH): valid, revoked or suspended, with the list entry that says so."""
        record, status = self.store.statement(jti), self.store.statement_status(jti)
        body: dict[str, Any] = {"jti": jti, "status": STATUS_NAMES[status], "iss": self.issuer,
                                "software_id": record.software_id, "org_id": record.org_id, "exp": record.exp,
                                "status_list": {"idx": record.idx, "uri": self.status_list_uri}}
        revocation = self.store.revocation_for(record) if status == 1 else None
        if revocation is not None:
            body["revoked"] = {"kind": revocation.kind, "at": revocation.at}
        return body

    def status_list_token(self) -> str:
        """The signed status list (draft-ietf-oauth-status-list §5.1), ``typ`` statuslist+jwt.

        Every change appends to the audit log, so the last audit ``seq`` versions the registry: the signed list is
        reused while nothing changed and it is less than a minute old (a public GET costs no signature then).
        """
        now = int(self.clock.now())
        version = self.store.audit_head()
        cached = self._status_cache
        if cached is not None and cached[0] == version and 0 <= now - cached[1] < 60:
            return cached[2]
        token = self._sign_status_list(now)
        self._status_cache = (version, now, token)
        return token

    def _sign_status_list(self, now: int) -> str:
        statuses, count = self.store.statement_statuses()
        claims = {"iss": self.issuer, "sub": self.status_list_uri, "iat": now,
                  "exp": now + self.policy.status_list_lifetime, "ttl": self.policy.status_max_age,
                  "status_list": encode_status_list(statuses, size=max(count, 1024))}
        return self.active_key().sign_jws(claims, typ=Typ.STATUS_LIST)

    # -- keys ----------------------------------------------------------------------------------------------------
    def rotate(self, *, alg: str | None, actor: str) -> KeyRecord:
        key = generate_key(alg or self.policy.alg)
        write_key(self.data_dir / "keys", key)
        now = self.clock.now()
        record = KeyRecord(key.kid, key.alg, "active", now, now)
        self.store.add_key(record, demote_active=True, event=self._event(actor, "key.rotate", key.kid, alg=key.alg))
        return record

    def retire(self, kid: str, *, actor: str) -> KeyRecord:
        return self.store.set_key_state(kid, "retired", self.clock.now(), event=self._event(actor, "key.retire", kid))

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 §5: active and retiring public keys (retired ones are gone)."""
        published = [self.signing_key(k.kid).public_key for k in self.store.signing_keys() if k.state != "retired"]
        return KeySet(published).to_jwks()

    def verify_audit(self) -> dict[str, Any]:
        """Check the audit hash chain; ``head`` is the last entry's hash, to note down outside the data folder."""
        check = self.store.verify_audit().to_json()
        last = self.store.audit_log(after=max(check["entries"] - 1, 0), limit=1) if check["ok"] else []
        return {**check, "head": last[-1].hash if last else None}

    def close(self) -> None:
        self.store.close()
