"""The authority acting as attester, offline with a fixed clock (HP-ATT-20 ... 26)."""

from __future__ import annotations

import pytest

from authority.models import InstanceIn, RevocationIn
from authority.records import Conflict, NotFound, RegistryError
from hardened.adapters.attesters import AttesterRegistry
from hardened.core.attestation import AttestationPolicy, verify_client_attestation
from hardened.core.attestation_request import build_attestation_request
from hardened.errors import InvalidClient, InvalidClientMetadata, UnauthorizedClient, UseFreshAttestation
from hardened.jose import KeySet, SigningKey, Typ, verify_jws
from hardened.jose.jws import JWSPolicy
from tests.attester.conftest import Offline

ISSUER = "https://authority.example"


def request(env: Offline, client_id: str = "client-1", *, key: SigningKey | None = None, **kw) -> str:
    return build_attestation_request(key or env.key, instance_id=kw.pop("instance_id", env.instance_id),
                                     client_id=client_id, audience=env.attester.attestation_endpoint,
                                     now=env.clock.now(), **kw)


def registry(env: Offline) -> AttesterRegistry:
    return AttesterRegistry({ISSUER: KeySet.from_jwks(env.attester.jwks())})


@pytest.mark.requirement("HP-ATT-20", "HP-ATT-21")
def test_issued_attestation_verifies_at_an_as(offline: Offline) -> None:
    answer = offline.attester.issue(request(offline))
    assert answer["expires_in"] == 600 and answer["token_type"] == Typ.CLIENT_ATTESTATION
    verified = verify_client_attestation(answer["client_attestation"], client_id="client-1",
                                         attesters=registry(offline), policy=AttestationPolicy(),
                                         now=offline.clock.now())
    assert verified.attester == ISSUER and verified.client_id == "client-1"
    assert verified.cnf_jkt == offline.key.thumbprint
    assert verified.exp - verified.iat == 600
    assert verified.claims["software_id"] == "acme-agent" and verified.claims["org_id"] == "acme"
    assert verified.claims["instance_id"] == "acme-agent-1"
    offline.clock.advance(600)
    with pytest.raises(UseFreshAttestation):
        verify_client_attestation(answer["client_attestation"], client_id="client-1", attesters=registry(offline),
                                  policy=AttestationPolicy(), now=offline.clock.now())


@pytest.mark.requirement("HP-ATT-21")
def test_lifetime_follows_policy(offline: Offline) -> None:
    offline.authority.policy = offline.authority.policy.model_copy(update={"attestation_lifetime": 120})
    assert offline.attester.issue(request(offline))["expires_in"] == 120


@pytest.mark.requirement("HP-ATT-22")
def test_attester_keys_are_not_statement_keys(offline: Offline) -> None:
    attester_kids = {k["kid"] for k in offline.attester.jwks()["keys"]}
    statement_kids = {k["kid"] for k in offline.authority.jwks()["keys"]}
    assert attester_kids and not attester_kids & statement_kids
    # An attestation does not verify with the statement keys: trusting statements is not trusting attestations.
    token = offline.attester.issue(request(offline))["client_attestation"]
    with pytest.raises(Exception, match="kid"):
        verify_jws(token, policy=JWSPolicy(typ=Typ.CLIENT_ATTESTATION), keys=KeySet.from_jwks(offline.authority.jwks()))
    config = offline.attester.configuration()
    assert config["attester_jwks_uri"] == ISSUER + "/.well-known/attester-jwks.json"
    assert config["attester_issuer"] == ISSUER
    assert config["attestation_endpoint"] == ISSUER + "/attester/attestations"


@pytest.mark.requirement("HP-ATT-22")
def test_rotation_keeps_issued_attestations_verifying_until_retired(offline: Offline) -> None:
    old = offline.attester.issue(request(offline))["client_attestation"]
    first = offline.attester.store.attester_keys()[0]
    with pytest.raises(Conflict):
        offline.attester.retire(first.kid, actor="test")  # the active key cannot be retired
    offline.attester.rotate(alg="EdDSA", actor="test")
    new = offline.attester.issue(request(offline))["client_attestation"]
    for token in (old, new):
        verify_client_attestation(token, client_id="client-1", attesters=registry(offline),
                                  policy=AttestationPolicy(), now=offline.clock.now())
    offline.attester.retire(first.kid, actor="test")
    assert first.kid not in {k["kid"] for k in offline.attester.jwks()["keys"]}


@pytest.mark.requirement("HP-ATT-23")
def test_revoked_instance_is_refused(offline: Offline) -> None:
    offline.attester.revoke_instance("acme-agent", "acme-agent-1", reason="key leaked", actor="test")
    with pytest.raises(InvalidClient) as caught:
        offline.attester.issue(request(offline))
    assert caught.value.detail == "ERR_ATTREQ_INSTANCE_REVOKED"
    with pytest.raises(Conflict):
        offline.attester.revoke_instance("acme-agent", "acme-agent-1", reason="again", actor="test")


@pytest.mark.requirement("HP-ATT-23")
def test_suspended_organisation_is_refused_and_reinstated(offline: Offline) -> None:
    offline.authority.set_organisation_status("acme", "suspended", reason="investigation", actor="test")
    with pytest.raises(UnauthorizedClient) as caught:
        offline.attester.issue(request(offline))
    assert caught.value.detail == "ERR_ATTREQ_ORG_SUSPENDED"
    offline.authority.set_organisation_status("acme", "active", reason="cleared", actor="test")
    offline.attester.issue(request(offline))


@pytest.mark.requirement("HP-ATT-23")
@pytest.mark.parametrize(("kind", "target"), [("software", "acme-agent"), ("organisation", "acme")])
def test_revoked_software_or_organisation_is_refused(offline: Offline, kind: str, target: str) -> None:
    offline.authority.revoke(RevocationIn(kind=kind, target=target), actor="test")
    with pytest.raises(UnauthorizedClient) as caught:
        offline.attester.issue(request(offline))
    assert caught.value.detail == "ERR_ATTREQ_SOFTWARE_REVOKED"


@pytest.mark.requirement("HP-ATT-24")
def test_replayed_request_is_refused(offline: Offline) -> None:
    token = request(offline)
    offline.attester.issue(token)
    with pytest.raises(InvalidClient) as caught:
        offline.attester.issue(token)
    assert caught.value.detail == "ERR_ATTREQ_REPLAY"


@pytest.mark.requirement("HP-ATT-24")
def test_stale_request_is_refused(offline: Offline) -> None:
    token = request(offline, lifetime=300)
    offline.clock.advance(61)
    with pytest.raises(InvalidClient) as caught:
        offline.attester.issue(token)
    assert caught.value.detail == "ERR_JWT_TOO_OLD"


@pytest.mark.requirement("HP-ATT-20")
def test_wrong_key_and_wrong_instance_are_refused(offline: Offline) -> None:
    stranger = SigningKey.generate("ES256")
    with pytest.raises(InvalidClient) as caught:
        offline.attester.issue(request(offline, key=stranger))
    assert caught.value.detail == "ERR_ATTREQ_UNKNOWN_KEY"
    offline.attester.add_instance("globex-agent", InstanceIn(instance_id="globex-1", jwk=stranger.public_jwk()),
                                  actor="test")
    with pytest.raises(InvalidClient) as caught:  # globex's key cannot speak for acme's instance
        offline.attester.issue(request(offline, key=stranger, instance_id="acme-agent-1"))
    assert caught.value.detail == "ERR_JWT_ISSUER"


@pytest.mark.requirement("HP-ATT-25")
def test_client_id_is_bound_to_the_first_software(offline: Offline) -> None:
    other = SigningKey.generate("EdDSA")
    offline.attester.add_instance("globex-agent", InstanceIn(instance_id="globex-1", jwk=other.public_jwk()),
                                  actor="test")
    offline.attester.issue(request(offline, "client-1"))
    with pytest.raises(UnauthorizedClient) as caught:
        offline.attester.issue(request(offline, "client-1", key=other, instance_id="globex-1"))
    assert caught.value.detail == "ERR_ATTREQ_CLIENT_BOUND"
    offline.attester.issue(request(offline, "client-2", key=other, instance_id="globex-1"))
    second = SigningKey.generate("ES256")  # another instance of the same software may share the client id
    offline.attester.add_instance("acme-agent", InstanceIn(instance_id="acme-agent-2", jwk=second.public_jwk()),
                                  actor="test")
    offline.attester.issue(request(offline, "client-1", key=second, instance_id="acme-agent-2"))
    listing = offline.attester.instances("acme-agent")
    assert [b["client_id"] for b in listing["client_bindings"]] == ["client-1"]
    assert listing["client_bindings"][0]["instance_id"] == "acme-agent-1"


@pytest.mark.requirement("HP-ATT-26")
def test_instance_keys_are_public_and_never_reused(offline: Offline) -> None:
    private = SigningKey.generate("ES256")
    jwk = {**private.public_jwk(), "d": "AAAA"}
    with pytest.raises(InvalidClientMetadata):
        offline.attester.add_instance("acme-agent", InstanceIn(jwk=jwk), actor="test")
    with pytest.raises(InvalidClientMetadata):
        offline.attester.add_instance("acme-agent", InstanceIn(jwk={"kty": "oct", "k": "c2VjcmV0"}), actor="test")
    with pytest.raises(Conflict):
        offline.attester.add_instance("globex-agent", InstanceIn(jwk=offline.key.public_jwk()), actor="test")
    offline.attester.revoke_instance("acme-agent", "acme-agent-1", reason="rotated", actor="test")
    with pytest.raises(Conflict):  # a revoked key stays dead
        offline.attester.add_instance("acme-agent", InstanceIn(jwk=offline.key.public_jwk()), actor="test")
    with pytest.raises(Conflict):
        offline.attester.add_instance("acme-agent", InstanceIn(instance_id="acme-agent-1",
                                                               jwk=private.public_jwk()), actor="test")
    with pytest.raises(NotFound):
        offline.attester.add_instance("nobody", InstanceIn(jwk=private.public_jwk()), actor="test")
    with pytest.raises(NotFound):
        offline.attester.revoke_instance("globex-agent", "acme-agent-1", reason="wrong software", actor="test")


@pytest.mark.requirement("HP-ATT-26")
def test_every_change_and_issuance_is_audited(offline: Offline) -> None:
    offline.attester.issue(request(offline, "client-1"))
    offline.attester.issue(request(offline, "client-1"))
    offline.attester.revoke_instance("acme-agent", "acme-agent-1", reason="done", actor="operator:x")
    offline.attester.rotate(alg=None, actor="operator:x")
    actions = [(e.action, e.target) for e in offline.authority.store.audit_log()]
    kids = {k.kid for k in offline.attester.store.attester_keys()}
    assert next(t for a, t in actions if a == "attester_key.create") in kids
    assert ("instance.register", "acme-agent-1") in actions
    assert actions.count(("client.bind", "client-1")) == 1
    assert actions.count(("attestation.issue", "client-1")) == 2
    assert ("instance.revoke", "acme-agent-1") in actions
    assert any(a == "attester_key.rotate" for a, _ in actions)
    assert offline.authority.verify_audit()["ok"]
    issue = next(e for e in offline.authority.store.audit_log() if e.action == "attestation.issue")
    assert issue.actor == "instance:acme-agent-1" and issue.details["instance_id"] == "acme-agent-1"


def test_no_attester_key_before_the_first_instance(tmp_path) -> None:
    from authority.attester import AuthorityAttester
    from authority.service import Authority

    auth, _ = Authority.init(tmp_path / "d", issuer="https://authority.example")
    attester = AuthorityAttester(auth)
    assert attester.jwks() == {"keys": []}
    with pytest.raises(RegistryError):
        attester.active_key()
    auth.close()
