"""The registry, signing, rotation and audit log of the authority, on real SQLite files (HP-AUTH)."""

from __future__ import annotations

import json
import sqlite3
import stat

import pytest

from authority.models import OrganisationIn, RevocationIn, SoftwareIn
from authority.records import Conflict, NotFound, RegistryError, StatementRecord
from authority.service import Authority, NotInitialised
from hardened.clock import FixedClock
from hardened.core.software_statement import SoftwareStatementPolicy, TrustedAuthority, verify_software_statement
from hardened.errors import InvalidClientMetadata, InvalidSoftwareStatement
from hardened.jose import KeySet, Typ, b64url_decode


def software_spec(org_id: str = "acme", software_id: str = "acme-agent", **extra) -> SoftwareIn:
    body = {"org_id": org_id, "software_id": software_id, "client_name": "Acme Agent",
            "redirect_uris": ["https://agent.acme.example/cb"], "jwks_uri": "https://agent.acme.example/jwks.json",
            "scope": "trade:read trade:write", **extra}
    return SoftwareIn.model_validate(body)


def verify_with_jwks(authority: Authority, token: str):
    trusted = [TrustedAuthority(authority.issuer, KeySet.from_jwks(authority.jwks()))]
    return verify_software_statement(token, trusted_authorities=trusted, policy=SoftwareStatementPolicy(),
                                     now=authority.clock.now())


def header(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[0]))


@pytest.mark.requirement("HP-AUTH-03")
def test_statements_are_signed_with_the_active_key(authority: Authority) -> None:
    record, token = authority.sign("acme-agent", ttl=3600, actor="t")
    hdr = header(token)
    assert hdr == {"alg": "ES256", "typ": Typ.SOFTWARE_STATEMENT, "kid": authority.active_key().kid}
    verified = verify_with_jwks(authority, token)
    assert verified.jti == record.jti and len(record.jti) == 33  # "s" + 24 random bytes, base64url
    assert verified.exp - verified.iat == 3600
    assert verified.metadata.org_name == "Acme Trading Ltd" and verified.metadata.status.idx == record.idx
    assert authority.store.statement(record.jti).claims == verified.claims


@pytest.mark.requirement("HP-AUTH-03")
def test_authority_refuses_metadata_its_verifier_would_refuse(authority: Authority) -> None:
    for bad in ({"redirect_uris": ["http://agent.acme.example/cb"]}, {"scope": 'a "b'},
                {"hardened_tier": "attested"}, {"logo_uri": "javascript:x"}):
        with pytest.raises(InvalidClientMetadata):
            authority.add_software(software_spec(software_id="bad", **bad), actor="t")
    with pytest.raises(NotFound):
        authority.store.software("bad")


@pytest.mark.requirement("HP-AUTH-04")
def test_private_keys_are_0600_in_a_0700_folder(authority: Authority) -> None:
    authority.rotate(alg="EdDSA", actor="t")
    keys_dir = authority.data_dir / "keys"
    assert stat.S_IMODE(authority.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    pems = list(keys_dir.glob("*.pem"))
    assert len(pems) == 2
    for pem in pems:
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600
        assert pem.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE((authority.data_dir / "registry.sqlite3").stat().st_mode) == 0o600
    assert all("d" not in k for k in authority.jwks()["keys"])


@pytest.mark.requirement("HP-AUTH-05")
def test_rotation_keeps_old_statements_until_their_key_retires(authority: Authority, clock: FixedClock) -> None:
    old_kid = authority.active_key().kid
    _, old = authority.sign("acme-agent", ttl=None, actor="t")
    new_key = authority.rotate(alg=None, actor="t")
    _, new = authority.sign("acme-agent", ttl=None, actor="t")
    assert header(new)["kid"] == new_key.kid != old_kid == header(old)["kid"]
    assert {k["kid"] for k in authority.jwks()["keys"]} == {old_kid, new_key.kid}
    assert {(k.kid, k.state) for k in authority.store.signing_keys()} == {(old_kid, "retiring"),
                                                                          (new_key.kid, "active")}
    verify_with_jwks(authority, old)
    verify_with_jwks(authority, new)
    with pytest.raises(Conflict):
        authority.retire(new_key.kid, actor="t")
    authority.retire(old_kid, actor="t")
    assert [k["kid"] for k in authority.jwks()["keys"]] == [new_key.kid]
    with pytest.raises(InvalidSoftwareStatement):
        verify_with_jwks(authority, old)
    verify_with_jwks(authority, new)


@pytest.mark.requirement("HP-AUTH-08")
def test_no_statement_for_suspended_or_revoked(authority: Authority) -> None:
    for ttl in (0, 59, authority.policy.max_ttl + 1):
        with pytest.raises(RegistryError):
            authority.sign("acme-agent", ttl=ttl, actor="t")
    with pytest.raises(NotFound):
        authority.sign("nope", ttl=None, actor="t")
    authority.set_organisation_status("acme", "suspended", reason="r", actor="t")
    with pytest.raises(Conflict, match="suspended"):
        authority.sign("acme-agent", ttl=None, actor="t")
    authority.set_organisation_status("acme", "active", reason="r", actor="t")
    authority.sign("acme-agent", ttl=None, actor="t")
    authority.revoke(RevocationIn(kind="software", target="acme-agent"), actor="t")
    with pytest.raises(Conflict, match="revoked"):
        authority.sign("acme-agent", ttl=None, actor="t")


@pytest.mark.requirement("HP-AUTH-07")
@pytest.mark.parametrize("kind", ["statement", "software", "organisation"])
def test_revocation_by_each_kind_shows_in_status(authority: Authority, kind: str) -> None:
    record, _ = authority.sign("acme-agent", ttl=None, actor="t")
    authority.create_organisation(OrganisationIn(org_id="bystander", name="B"), actor="t")
    authority.add_software(software_spec(org_id="bystander", software_id="b-agent"), actor="t")
    other, _ = authority.sign("b-agent", ttl=None, actor="t")
    assert authority.statement_status(record.jti)["status"] == "valid"
    target = {"statement": record.jti, "software": "acme-agent", "organisation": "acme"}[kind]
    authority.revoke(RevocationIn(kind=kind, target=target, reason="compromised"), actor="t")
    status = authority.statement_status(record.jti)
    assert status["status"] == "revoked" and status["revoked"]["kind"] == kind
    assert authority.statement_status(other.jti)["status"] == "valid"
    statuses, count = authority.store.statement_statuses()
    assert statuses == {record.idx: 1} and count == 2
    with pytest.raises(Conflict):
        authority.revoke(RevocationIn(kind=kind, target=target), actor="t")
    with pytest.raises(NotFound):
        authority.revoke(RevocationIn(kind=kind, target="missing-" + kind), actor="t")


@pytest.mark.requirement("HP-AUTH-10")
def test_every_admin_action_is_audited(authority: Authority) -> None:
    record, _ = authority.sign("acme-agent", ttl=None, actor="alice")
    authority.revoke(RevocationIn(kind="statement", target=record.jti), actor="alice")
    authority.set_organisation_status("acme", "suspended", reason="r", actor="bob")
    authority.rotate(alg=None, actor="bob")
    actions = [e.action for e in authority.store.audit_log()]
    assert actions == ["key.create", "authority.init", "organisation.create", "software.register",
                       "statement.issue", "revoke.statement", "organisation.suspend", "key.rotate"]
    assert authority.store.audit_log()[4].details["jti"] == record.jti
    assert authority.verify_audit()["ok"] is True


@pytest.mark.requirement("HP-AUTH-10")
@pytest.mark.requirement("HP-AUTH-01")
def test_a_failed_action_changes_nothing_and_logs_nothing(authority: Authority) -> None:
    before = len(authority.store.audit_log())
    with pytest.raises(NotFound):
        authority.add_software(software_spec(org_id="ghost", software_id="x"), actor="t")

    def explode(idx: int) -> StatementRecord:
        raise RuntimeError("crash while signing")

    with pytest.raises(RuntimeError):
        authority.store.issue_statement(explode, event=authority._event("t", "statement.issue", "acme-agent"))
    assert len(authority.store.audit_log()) == before
    assert authority.store.statements() == []


@pytest.mark.requirement("HP-AUTH-10")
def test_audit_log_is_append_only_and_tamper_evident(authority: Authority) -> None:
    conn = sqlite3.connect(authority.data_dir / "registry.sqlite3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 3")
    assert authority.verify_audit()["ok"]
    # An attacker with the file drops the triggers and rewrites history: the chain shows where.
    conn.execute("DROP TRIGGER audit_append_only_update")
    conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
    conn.commit()
    check = authority.verify_audit()
    assert (check["ok"], check["first_bad_seq"], check["reason"]) == (False, 3, "entry was altered")
    conn.execute("DROP TRIGGER audit_append_only_delete")
    conn.execute("UPDATE audit SET actor = (SELECT actor FROM audit WHERE seq = 4) WHERE seq = 3")
    conn.execute("DELETE FROM audit WHERE seq = 2")
    conn.commit()
    assert authority.verify_audit()["first_bad_seq"] == 3
    conn.close()


@pytest.mark.requirement("HP-AUTH-09")
def test_admin_token_is_stored_only_as_a_hash(tmp_path) -> None:
    auth, token = Authority.init(tmp_path / "d", issuer="https://a.example", clock=FixedClock())
    assert len(token) >= 43 and auth.check_admin_token(token)
    assert not auth.check_admin_token(token[:-1]) and not auth.check_admin_token("")
    raw = (tmp_path / "d" / "registry.sqlite3").read_bytes()
    assert token.encode() not in raw
    new = auth.reset_admin_token(actor="t")
    assert auth.check_admin_token(new) and not auth.check_admin_token(token)


@pytest.mark.requirement("HP-AUTH-06")
def test_issuer_and_initialisation_checks(tmp_path) -> None:
    for bad in ("http://authority.example", "https://a.example/", "https://a.example?x=1", "ftp://a", "nonsense",
                "https://u@a.example", "https://a.example:99999"):
        with pytest.raises(RegistryError):
            Authority.init(tmp_path / "x", issuer=bad)
    with pytest.raises(NotInitialised):
        Authority(tmp_path / "nothing")
    Authority.init(tmp_path / "y", issuer="https://a.example")
    with pytest.raises(Conflict):
        Authority.init(tmp_path / "y", issuer="https://a.example")


@pytest.mark.requirement("HP-AUTH-03")
def test_software_update_changes_later_statements(authority: Authority) -> None:
    _, before = authority.sign("acme-agent", ttl=None, actor="t")
    updated = authority.update_software("acme-agent", software_spec(scope="trade:read", software_version="2.0"),
                                        actor="t")
    assert updated.metadata["scope"] == "trade:read" and updated.created_at <= updated.updated_at
    _, after = authority.sign("acme-agent", ttl=None, actor="t")
    assert verify_with_jwks(authority, before).metadata.scope == "trade:read trade:write"
    assert verify_with_jwks(authority, after).metadata.software_version == "2.0"
    authority.create_organisation(OrganisationIn(org_id="other", name="Other"), actor="t")
    with pytest.raises(Conflict):
        authority.update_software("acme-agent", software_spec(org_id="other"), actor="t")
    with pytest.raises(NotFound):
        authority.update_software("ghost", software_spec(software_id=None), actor="t")
    assert [e.action for e in authority.store.audit_log()][-3:] == ["software.update", "statement.issue",
                                                                     "organisation.create"]


@pytest.mark.requirement("HP-AUTH-07")
def test_status_list_is_re_signed_only_after_a_change_or_a_minute(authority: Authority, clock: FixedClock) -> None:
    record, _ = authority.sign("acme-agent", ttl=None, actor="t")
    first = authority.status_list_token()
    assert authority.status_list_token() == first
    authority.revoke(RevocationIn(kind="statement", target=record.jti), actor="t")
    second = authority.status_list_token()
    assert second != first
    clock.advance(60)
    assert authority.status_list_token() != second


@pytest.mark.requirement("HP-AUTH-03")
def test_client_jwks_is_signed_in_canonical_public_form(authority: Authority) -> None:
    from hardened.jose import SigningKey

    jwk = {**SigningKey.generate("ES256").public_jwk(), "x5u": "https://x.example/c", "ext": True}
    jwk.pop("kid")
    spec = software_spec(software_id="by-value", jwks={"keys": [jwk]}, jwks_uri=None)
    stored = authority.add_software(spec, actor="t").metadata["jwks"]["keys"][0]
    assert set(stored) == {"kty", "crv", "x", "y", "kid", "alg", "use"} and stored["alg"] == "ES256"
    # x5c is kept (and checked) only for self_signed_tls_client_auth (HP-MTLS-28), refused otherwise
    with pytest.raises(InvalidClientMetadata, match="x5c is only accepted with self_signed_tls_client_auth"):
        authority.add_software(software_spec(software_id="x5c", jwks={"keys": [{**jwk, "x5c": ["junk"]}]},
                                             jwks_uri=None), actor="t")
    with pytest.raises(InvalidClientMetadata):
        authority.add_software(software_spec(software_id="priv", jwks={"keys": [{**jwk, "d": "AAAA"}]},
                                             jwks_uri=None), actor="t")


@pytest.mark.requirement("HP-AUTH-08")
def test_policy_bounds_are_checked_at_start_up() -> None:
    from pydantic import ValidationError

    from authority.policy import AuthorityPolicy

    for bad in ({"alg": "RS256"}, {"default_ttl": 10}, {"max_ttl": 400 * 86_400},
                {"default_ttl": 7200, "max_ttl": 3600}, {"status_max_age": -1}, {"unknown": 1}):
        with pytest.raises(ValidationError):
            AuthorityPolicy(**bad)
