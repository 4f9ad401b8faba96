"""Where the CLI's commands run: offline on a data folder, or against a running authority's admin API.

Both backends take and return plain JSON-like values, so each CLI command is written once.
"""

from __future__ import annotations

import getpass
from typing import Any, Protocol

import httpx

from authority.attester import AuthorityAttester
from authority.models import InstanceIn, OrganisationIn, RevocationIn, SoftwareIn
from authority.service import Authority

__all__ = ["Backend", "CLIError", "LocalBackend", "RemoteBackend"]


class CLIError(Exception):
    """A failure to report to the operator as one line, with a non-zero exit."""


class Backend(Protocol):
    def create_org(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def list_orgs(self) -> list[dict[str, Any]]: ...
    def set_org_status(self, org_id: str, status: str, reason: str) -> dict[str, Any]: ...
    def add_software(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def list_software(self, org_id: str | None) -> list[dict[str, Any]]: ...
    def show_software(self, software_id: str) -> dict[str, Any]: ...
    def sign(self, software_id: str, ttl: int | None) -> dict[str, Any]: ...
    def revoke(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def rotate(self, alg: str | None) -> dict[str, Any]: ...
    def retire(self, kid: str) -> dict[str, Any]: ...
    def list_keys(self) -> list[dict[str, Any]]: ...
    def audit(self, after: int, limit: int) -> list[dict[str, Any]]: ...
    def verify_audit(self) -> dict[str, Any]: ...
    def statement(self, jti: str) -> dict[str, Any]: ...
    def add_instance(self, software_id: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def list_instances(self, software_id: str) -> dict[str, Any]: ...
    def revoke_instance(self, software_id: str, instance_id: str, reason: str) -> dict[str, Any]: ...
    def attester_keys(self) -> list[dict[str, Any]]: ...
    def rotate_attester_key(self, alg: str | None) -> dict[str, Any]: ...
    def retire_attester_key(self, kid: str) -> dict[str, Any]: ...


class LocalBackend:
    """Offline: the data folder directly (the operator's shell account is the audit actor)."""

    def __init__(self, authority: Authority) -> None:
        self.a = authority
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        self.actor = f"cli:{user}"
        self._attester: AuthorityAttester | None = None

    def create_org(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.a.create_organisation(OrganisationIn.model_validate(body), actor=self.actor).to_json()

    def list_orgs(self) -> list[dict[str, Any]]:
        return [o.to_json() for o in self.a.store.organisations()]

    def set_org_status(self, org_id: str, status: str, reason: str) -> dict[str, Any]:
        return self.a.set_organisation_status(org_id, status, reason=reason, actor=self.actor).to_json()

    def add_software(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.a.add_software(SoftwareIn.model_validate(body), actor=self.actor).to_json()

    def list_software(self, org_id: str | None) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.a.store.software_list(org_id)]

    def show_software(self, software_id: str) -> dict[str, Any]:
        return self.a.store.software(software_id).to_json()

    def sign(self, software_id: str, ttl: int | None) -> dict[str, Any]:
        record, token = self.a.sign(software_id, ttl=ttl, actor=self.actor)
        return {**record.to_json(), "software_statement": token}

    def revoke(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.a.revoke(RevocationIn.model_validate(body), actor=self.actor).to_json()

    def rotate(self, alg: str | None) -> dict[str, Any]:
        return self.a.rotate(alg=alg, actor=self.actor).to_json()

    def retire(self, kid: str) -> dict[str, Any]:
        return self.a.retire(kid, actor=self.actor).to_json()

    def list_keys(self) -> list[dict[str, Any]]:
        return [k.to_json() for k in self.a.store.signing_keys()]

    def audit(self, after: int, limit: int) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.a.store.audit_log(after=after, limit=limit)]

    def verify_audit(self) -> dict[str, Any]:
        return self.a.verify_audit()

    def statement(self, jti: str) -> dict[str, Any]:
        return {**self.a.store.statement(jti).to_json(), **self.a.statement_status(jti)}

    @property
    def attester(self) -> AuthorityAttester:
        if self._attester is None:
            self._attester = AuthorityAttester(self.a)
        return self._attester

    def add_instance(self, software_id: str, body: dict[str, Any]) -> dict[str, Any]:
        spec = InstanceIn.model_validate(body)
        return self.attester.add_instance(software_id, spec, actor=self.actor).to_json()

    def list_instances(self, software_id: str) -> dict[str, Any]:
        return self.attester.instances(software_id)

    def revoke_instance(self, software_id: str, instance_id: str, reason: str) -> dict[str, Any]:
        return self.attester.revoke_instance(software_id, instance_id, reason=reason, actor=self.actor).to_json()

    def attester_keys(self) -> list[dict[str, Any]]:
        return [k.to_json() for k in self.attester.store.attester_keys()]

    def rotate_attester_key(self, alg: str | None) -> dict[str, Any]:
        return self.attester.rotate(alg=alg, actor=self.actor).to_json()

    def retire_attester_key(self, kid: str) -> dict[str, Any]:
        return self.attester.retire(kid, actor=self.actor).to_json()


class RemoteBackend:
    """A running authority's admin API, authenticated with the admin token."""

    def __init__(self, url: str, token: str, *, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self.client = client or httpx.Client(timeout=10.0)
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self.client.request(method, self.url + path, json=body, params=params, headers=self.headers,
                                            follow_redirects=False)
        except httpx.HTTPError as exc:
            raise CLIError(f"cannot reach the authority at {self.url}: {type(exc).__name__}") from None
        try:
            data = response.json()
        except ValueError:
            raise CLIError(f"the authority answered {response.status_code} without JSON") from None
        if response.status_code >= 400:
            text = data.get("error_description") or data.get("error") if isinstance(data, dict) else None
            raise CLIError(f"the authority refused ({response.status_code}): {text or 'error'}")
        return data

    def create_org(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/admin/organisations", body)

    def list_orgs(self) -> list[dict[str, Any]]:
        return self._call("GET", "/admin/organisations")["organisations"]

    def set_org_status(self, org_id: str, status: str, reason: str) -> dict[str, Any]:
        verb = "suspend" if status == "suspended" else "reinstate"
        return self._call("POST", f"/admin/organisations/{org_id}/{verb}", {"reason": reason})

    def add_software(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/admin/software", body)

    def list_software(self, org_id: str | None) -> list[dict[str, Any]]:
        return self._call("GET", "/admin/software", params={"org_id": org_id} if org_id else None)["software"]

    def show_software(self, software_id: str) -> dict[str, Any]:
        return self._call("GET", f"/admin/software/{software_id}")

    def sign(self, software_id: str, ttl: int | None) -> dict[str, Any]:
        return self._call("POST", f"/admin/software/{software_id}/statements", {"ttl": ttl})

    def revoke(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/admin/revocations", body)

    def rotate(self, alg: str | None) -> dict[str, Any]:
        return self._call("POST", "/admin/keys/rotate", {"alg": alg})

    def retire(self, kid: str) -> dict[str, Any]:
        return self._call("POST", f"/admin/keys/{kid}/retire")

    def list_keys(self) -> list[dict[str, Any]]:
        return self._call("GET", "/admin/keys")["keys"]

    def audit(self, after: int, limit: int) -> list[dict[str, Any]]:
        return self._call("GET", "/admin/audit", params={"after": after, "limit": limit})["entries"]

    def verify_audit(self) -> dict[str, Any]:
        return self._call("GET", "/admin/audit/verify")

    def statement(self, jti: str) -> dict[str, Any]:
        return self._call("GET", f"/admin/statements/{jti}")

    def add_instance(self, software_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"/admin/software/{software_id}/instances", body)

    def list_instances(self, software_id: str) -> dict[str, Any]:
        return self._call("GET", f"/admin/software/{software_id}/instances")

    def revoke_instance(self, software_id: str, instance_id: str, reason: str) -> dict[str, Any]:
        return self._call("POST", f"/admin/software/{software_id}/instances/{instance_id}/revoke", {"reason": reason})

    def attester_keys(self) -> list[dict[str, Any]]:
        return self._call("GET", "/admin/attester/keys")["keys"]

    def rotate_attester_key(self, alg: str | None) -> dict[str, Any]:
        return self._call("POST", "/admin/attester/keys/rotate", {"alg": alg})

    def retire_attester_key(self, kid: str) -> dict[str, Any]:
        return self._call("POST", f"/admin/attester/keys/{kid}/retire")
