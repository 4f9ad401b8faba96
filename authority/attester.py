"""The authority acting as Client Attester for the agent back ends it vouches for (issue 8 §3(b);
draft-ietf-oauth-attestation-based-client-auth-10 §1 step 3, §4; requirements HP-ATT-20 ... in
specs/requirements/attester.toml).

An operator registers each running instance of approved software with its Client Instance Key. The instance
then asks for a Client Attestation JWT with a request signed by that key (``hardened.core.attestation_request``);
the authority checks the request, the instance, its software and organisation, binds the client id to the
software, and signs a short-lived attestation with its **attester** key, a key of its own purpose, published at
its own JWKS URL, so that an authorization server decides to trust the authority as attester explicitly (and a
statement key can never mint attestations, nor an attester key statements).
"""

from __future__ import annotations

import secrets
from typing import Any

from authority.instances import ClientBinding, Instance, SQLiteInstanceStore
from authority.models import InstanceIn
from authority.records import AuditEvent, Conflict, KeyRecord, RegistryError
from authority.service import Authority
from authority.signing import generate_key, load_key, write_key
from hardened.adapters.sqlite_replay import SQLiteReplayCache
from hardened.core.attestation_request import (
    ATTESTATION_REQUEST_TYP,
    AttestationRequestPolicy,
    VerifiedAttestationRequest,
    verify_attestation_request,
)
from hardened.core.attester import build_client_attestation
from hardened.errors import InvalidClient, InvalidClientMetadata, JoseError, UnauthorizedClient
from hardened.jose import KeySet, SigningKey, Typ, public_key_from_jwk
from hardened.ports.replay import ReplayCache

__all__ = ["ATTESTATION_PATH", "ATTESTER_JWKS_PATH", "AuthorityAttester"]

ATTESTATION_PATH = "/attester/attestations"
ATTESTER_JWKS_PATH = "/.well-known/attester-jwks.json"
KEYS_DIR = "attester-keys"


def _refused(description: str, detail: str) -> UnauthorizedClient:
    return UnauthorizedClient(description, detail=detail)


class AuthorityAttester:
    """Instances, attester keys and attestation issuance over one :class:`~authority.service.Authority`."""

    def __init__(self, authority: Authority, *, replay: ReplayCache | None = None,
                 request_policy: AttestationRequestPolicy | None = None) -> None:
        self.authority = authority
        self.store = SQLiteInstanceStore(authority.store)
        self.replay = replay or SQLiteReplayCache(authority.data_dir / "replay.sqlite3", table="attestation_requests")
        self.request_policy = request_policy or AttestationRequestPolicy()
        self._keys: dict[str, SigningKey] = {}

    @property
    def attestation_endpoint(self) -> str:
        return self.authority.issuer + ATTESTATION_PATH

    @property
    def jwks_uri(self) -> str:
        return self.authority.issuer + ATTESTER_JWKS_PATH

    def configuration(self) -> dict[str, Any]:
        """Members added to the authority configuration: where an AS finds the attester's keys (HP-ATT-22)."""
        return {"attester_issuer": self.authority.issuer, "attester_jwks_uri": self.jwks_uri,
                "attestation_endpoint": self.attestation_endpoint,
                "client_attestation_typ": Typ.CLIENT_ATTESTATION, "attestation_request_typ": ATTESTATION_REQUEST_TYP,
                "attestation_lifetime": self.authority.policy.attestation_lifetime}

    # -- instances (operator) ------------------------------------------------------------------------------------
    def add_instance(self, software_id: str, spec: InstanceIn, *, actor: str) -> Instance:
        try:
            key = public_key_from_jwk(spec.jwk)
        except JoseError as exc:
            raise InvalidClientMetadata(f"jwk: {exc.description}", detail=exc.code) from None
        self.authority.store.software(software_id)  # NotFound before any key is made
        self.ensure_key(actor=actor)
        instance = Instance(spec.instance_id or f"inst-{secrets.token_hex(8)}", software_id, key.thumbprint,
                            key.public_jwk(), "active", self.authority.clock.now())
        self.store.add_instance(instance, event=AuditEvent(instance.created_at, actor, "instance.register",
                                                           instance.instance_id,
                                                           {"software_id": software_id, "jkt": instance.jkt}))
        return instance

    def revoke_instance(self, software_id: str, instance_id: str, *, reason: str, actor: str) -> Instance:
        event = AuditEvent(self.authority.clock.now(), actor, "instance.revoke", instance_id,
                           {"software_id": software_id, "reason": reason})
        return self.store.revoke_instance(software_id, instance_id, reason=reason, event=event)

    def instances(self, software_id: str) -> dict[str, Any]:
        return {"instances": [i.to_json() for i in self.store.instances(software_id)],
                "client_bindings": [b.to_json() for b in self.store.bindings(software_id)]}

    # -- attester keys -------------------------------------------------------------------------------------------
    def _key_dir(self) -> Any:
        return self.authority.data_dir / KEYS_DIR

    def _new_key(self, alg: str | None) -> tuple[SigningKey, KeyRecord]:
        key = generate_key(alg or self.authority.policy.alg)
        write_key(self._key_dir(), key)
        now = self.authority.clock.now()
        return key, KeyRecord(key.kid, key.alg, "active", now, now)

    def ensure_key(self, *, actor: str) -> None:
        """The first attester key, made when the first instance is registered (audited as ``attester_key.create``)."""
        if any(k.state == "active" for k in self.store.attester_keys()):
            return
        key, record = self._new_key(None)
        self.store.add_attester_key(record, only_if_none=True, event=AuditEvent(
            record.created_at, actor, "attester_key.create", key.kid, {"alg": key.alg}))

    def rotate(self, *, alg: str | None, actor: str) -> KeyRecord:
        key, record = self._new_key(alg)
        self.store.add_attester_key(record, event=AuditEvent(record.created_at, actor, "attester_key.rotate",
                                                             key.kid, {"alg": key.alg}))
        return record

    def retire(self, kid: str, *, actor: str) -> KeyRecord:
        now = self.authority.clock.now()
        return self.store.retire_attester_key(kid, now, event=AuditEvent(now, actor, "attester_key.retire", kid))

    def _signing_key(self, kid: str) -> SigningKey:
        if kid not in self._keys:
            self._keys[kid] = load_key(self._key_dir(), kid)
        return self._keys[kid]

    def active_key(self) -> SigningKey:
        active = [k for k in self.store.attester_keys() if k.state == "active"]
        if len(active) != 1:
            raise RegistryError("the authority has no attester key yet: register an instance first")
        return self._signing_key(active[0].kid)

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 §5: the active and retiring attester keys (an empty set until the first instance)."""
        keys = [self._signing_key(k.kid).public_key for k in self.store.attester_keys() if k.state != "retired"]
        return KeySet(keys).to_jwks()

    # -- issuance (the instance) ---------------------------------------------------------------------------------
    def _check_standing(self, request: VerifiedAttestationRequest) -> Instance:
        """Refuse a revoked instance, a revoked software, a revoked or suspended organisation (HP-ATT-23)."""
        instance = self.store.instance(request.instance_id)
        if instance.status != "active":
            raise InvalidClient("this instance is revoked", detail="ERR_ATTREQ_INSTANCE_REVOKED")
        store = self.authority.store
        software = store.software(instance.software_id)
        org = store.organisation(software.org_id)
        revoked = {(r.kind, r.target) for r in store.revocations()}
        if ("software", software.software_id) in revoked or ("organisation", org.org_id) in revoked:
            raise _refused("the software or its organisation is revoked", "ERR_ATTREQ_SOFTWARE_REVOKED")
        if org.status != "active":
            raise _refused("the organisation is suspended", "ERR_ATTREQ_ORG_SUSPENDED")
        return instance

    def issue(self, request_jwt: Any) -> dict[str, Any]:
        """Verify the instance's attestation request and issue a Client Attestation JWT (ABCA §4) for it."""
        now = self.authority.clock.now()
        request = verify_attestation_request(request_jwt, instances=self.store, audience=self.attestation_endpoint,
                                             policy=self.request_policy, now=now)
        # The jti is spent once every signature and claim check passed (RFC 7523 §3 item 7).
        if not self.replay.unique(request.replay_key, request.replay_ttl, now):
            raise InvalidClient("the attestation request was already used", detail="ERR_ATTREQ_REPLAY")
        instance = self._check_standing(request)
        org_id = self.authority.store.software(instance.software_id).org_id
        key, lifetime = self.active_key(), self.authority.policy.attestation_lifetime
        token = build_client_attestation(
            key, issuer=self.authority.issuer, client_id=request.client_id, instance_key=instance.jwk, now=now,
            lifetime=lifetime, claims={"software_id": instance.software_id, "org_id": org_id,
                                       "instance_id": instance.instance_id})
        # Signed first, returned only once the issuance (and a new client binding) is recorded and audited.
        event = AuditEvent(now, f"instance:{instance.instance_id}", "attestation.issue", request.client_id,
                           {"instance_id": instance.instance_id, "software_id": instance.software_id,
                            "kid": key.kid, "exp": int(now) + lifetime})
        try:
            self.store.record_issuance(ClientBinding(request.client_id, instance.software_id, instance.instance_id,
                                                     now), event=event)
        except Conflict:
            raise _refused("this client_id is bound to another software", "ERR_ATTREQ_CLIENT_BOUND") from None
        return {"client_attestation": token, "token_type": Typ.CLIENT_ATTESTATION, "expires_in": lifetime}
