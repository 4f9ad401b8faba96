"""Properties of the authority: it never signs what its verifier refuses; its audit chain catches any edit."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from authority.audit import GENESIS, entry_hash, verify_chain
from authority.models import OrganisationIn, SoftwareIn
from authority.records import AuditRecord
from authority.service import Authority
from hardened.clock import FixedClock
from hardened.core.software_statement import SoftwareStatementPolicy, TrustedAuthority, verify_software_statement
from hardened.errors import InvalidClientMetadata
from hardened.jose import KeySet

https = st.from_regex(r"https://[a-z]{1,10}\.example/[a-z0-9/._-]{0,20}", fullmatch=True)
loopback = st.from_regex(r"http://(127\.0\.0\.1|localhost)(:[1-9][0-9]{1,3})?/[a-z]{0,8}", fullmatch=True)
OPTIONAL = {"hardened_tier": st.sampled_from(["baseline", "hardened"]), "attestation_required": st.booleans(),
            "sender_constraint": st.sampled_from(["dpop", "mtls"]), "logo_uri": https,
            "software_version": st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}", fullmatch=True),
            "grant_types": st.lists(st.sampled_from(["authorization_code", "refresh_token"]), min_size=1, max_size=2,
                                    unique=True)}
valid_bodies = st.fixed_dictionaries(
    {"org_id": st.just("acme"), "client_name": st.from_regex(r"[A-Za-z][A-Za-z0-9 .-]{0,30}", fullmatch=True),
     "redirect_uris": st.lists(https | loopback, min_size=1, max_size=3, unique=True), "jwks_uri": https,
     "scope": st.lists(st.from_regex(r"[a-z]{1,6}(:[a-z]{1,6})?", fullmatch=True), min_size=1, max_size=4,
                       unique=True).map(" ".join)},
    optional=OPTIONAL)
#: the same, with every field also drawn from arbitrary text: many are refused, and none may be signed wrongly
any_bodies = st.fixed_dictionaries(
    {"org_id": st.just("acme"), "client_name": st.text(min_size=1, max_size=40),
     "redirect_uris": st.lists(https | loopback | st.text(max_size=30), min_size=1, max_size=3),
     "jwks_uri": https | loopback | st.text(max_size=30), "scope": st.text(max_size=20)},
    optional={**OPTIONAL, "hardened_tier": st.sampled_from(["baseline", "hardened", "attested"]),
              "software_version": st.text(min_size=1, max_size=10), "logo_uri": st.text(max_size=30)})
ids = itertools.count()


@pytest.fixture(scope="module")
def authority(tmp_path_factory) -> Authority:
    folder: Path = tmp_path_factory.mktemp("props") / "data"
    auth, _ = Authority.init(folder, issuer="https://authority.example", clock=FixedClock())
    auth.create_organisation(OrganisationIn(org_id="acme", name="Acme"), actor="t")
    return auth


def sign_and_verify(authority: Authority, software_id: str) -> None:
    _, token = authority.sign(software_id, ttl=None, actor="t")
    trusted = [TrustedAuthority(authority.issuer, KeySet.from_jwks(authority.jwks()))]
    policy = SoftwareStatementPolicy(accepted_tiers=("baseline", "hardened", "attested"))
    verified = verify_software_statement(token, trusted_authorities=trusted, policy=policy, now=authority.clock.now())
    assert verified.software_id == software_id


@pytest.mark.requirement("HP-AUTH-03")
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=valid_bodies)
def test_valid_software_is_registered_signed_and_verified(authority: Authority, body: dict) -> None:
    software_id = f"sw-{next(ids)}"
    authority.add_software(SoftwareIn.model_validate({**body, "software_id": software_id}), actor="t")
    sign_and_verify(authority, software_id)


@pytest.mark.requirement("HP-AUTH-03")
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=any_bodies)
def test_authority_never_signs_a_statement_its_verifier_refuses(authority: Authority, body: dict) -> None:
    software_id = f"sw-{next(ids)}"
    try:
        authority.add_software(SoftwareIn.model_validate({**body, "software_id": software_id}), actor="t")
    except (ValidationError, InvalidClientMetadata):
        event("refused at registration")
        return
    event("signed and verified")
    sign_and_verify(authority, software_id)


def chain(n: int) -> list[AuditRecord]:
    records, prev = [], GENESIS
    for seq in range(1, n + 1):
        at, details = 1000.0 + seq, {"i": seq}
        digest = entry_hash(prev, seq, at, "op", "act", f"t{seq}", details)
        records.append(AuditRecord(seq, at, "op", "act", f"t{seq}", details, prev, digest))
        prev = digest
    return records


FIELDS = ["seq", "at", "actor", "action", "target", "details", "prev_hash", "hash"]


@pytest.mark.requirement("HP-AUTH-10")
@given(n=st.integers(1, 12), data=st.data())
def test_any_edit_deletion_or_reordering_is_detected(n: int, data) -> None:
    records = chain(n)
    assert verify_chain(records).ok and verify_chain(records).entries == n
    i = data.draw(st.integers(0, n - 1))
    edit = data.draw(st.sampled_from(["field", "delete", "swap"] if n > 1 else ["field"]))
    if edit == "field":
        name = data.draw(st.sampled_from(FIELDS))
        value = getattr(records[i], name)
        new = {int: lambda v: v + 1, float: lambda v: v + 0.5, str: lambda v: v + "x",
               dict: lambda v: {**v, "x": 1}}[type(value)](value)
        records[i] = dataclasses.replace(records[i], **{name: new})
    elif edit == "delete":
        if i == n - 1:  # removing the newest entry is what the noted head hash is for
            i = 0
        del records[i]
    else:
        j = (i + 1) % n
        records[i], records[j] = records[j], records[i]
    assert not verify_chain(records).ok
