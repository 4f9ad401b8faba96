"""The signed status list and the AS-side status port (HP-SS-10, -11, -13; draft-ietf-oauth-status-list)."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authority.models import OrganisationIn, RevocationIn
from authority.service import Authority
from hardened.adapters.authority_status import StatusListChecker
from hardened.clock import FixedClock
from hardened.core.software_statement import SoftwareStatementPolicy, TrustedAuthority, verify_software_statement
from hardened.core.status_list import (
    StatusListPolicy,
    check_statement_status,
    decode_status_list,
    encode_status_list,
    verify_status_list,
)
from hardened.errors import UnapprovedSoftwareStatement
from hardened.jose import KeySet, Typ, b64url_encode
from hardened.ports.statement_status import StatementStatus
from hardened.testing.software_statement import NOW, TestAuthority, garbage

ES = TestAuthority.create()
URI = ES.issuer + "/statements/status-list"
LIST_POLICY = StatusListPolicy()


def list_token(statuses: dict[int, int], *, authority: TestAuthority = ES, typ: str = Typ.STATUS_LIST, **claims) -> str:
    body = {"iss": authority.issuer, "sub": URI, "iat": int(NOW), "exp": int(NOW) + 3600, "ttl": 300,
            "status_list": encode_status_list(statuses, size=1024), **claims}
    return authority.sign(body, typ=typ)


def verified_statement(idx: int = 7):
    token = ES.sign(ES.base_claims(status={"status_list": {"idx": idx, "uri": URI}}))
    return verify_software_statement(token, trusted_authorities=[ES.trusted()], policy=SoftwareStatementPolicy(),
                                     now=NOW)


@pytest.mark.requirement("HP-SS-13")
@given(st.dictionaries(st.integers(0, 5000), st.integers(0, 3), max_size=50))
def test_status_list_round_trips(statuses: dict[int, int]) -> None:
    bits, data = decode_status_list(encode_status_list(statuses), max_entries=10_000)
    assert bits == 2
    for idx in range(0, max(statuses, default=0) + 2):
        byte, shift = divmod(idx * 2, 8)
        got = (data[byte] >> shift) & 3 if byte < len(data) else 0
        assert got == statuses.get(idx, 0)


@pytest.mark.requirement("HP-SS-13")
def test_decompression_bomb_is_refused() -> None:
    bomb = {"bits": 2, "lst": b64url_encode(zlib.compress(bytes(50_000_000), 9))}
    with pytest.raises(ValueError):
        decode_status_list(bomb, max_entries=1_000_000)
    for bad in ({"bits": 3, "lst": "eNo"}, {"bits": 2, "lst": "not base64!"}, {"bits": True, "lst": ""}, [], None,
                {"bits": 2, "lst": b64url_encode(b"not zlib")}):
        with pytest.raises(ValueError):
            decode_status_list(bad, max_entries=100)


@pytest.mark.requirement("HP-SS-10")
def test_statement_status_values() -> None:
    statement = verified_statement(7)
    check_statement_status(statement, verify_status_list(list_token({3: 1}), authority=ES.trusted(), uri=URI,
                                                         policy=LIST_POLICY, now=NOW))
    for statuses, word in (({7: 1}, "revoked"), ({7: 2}, "suspended")):
        sl = verify_status_list(list_token(statuses), authority=ES.trusted(), uri=URI, policy=LIST_POLICY, now=NOW)
        with pytest.raises(UnapprovedSoftwareStatement, match=word):
            check_statement_status(statement, sl)
    far = verified_statement(10_000)
    sl = verify_status_list(list_token({}), authority=ES.trusted(), uri=URI, policy=LIST_POLICY, now=NOW)
    with pytest.raises(UnapprovedSoftwareStatement, match="could not be established"):
        check_statement_status(far, sl)


@pytest.mark.requirement("HP-SS-10")
def test_status_list_defects_fail_closed() -> None:
    other = TestAuthority.create()
    cases = {
        "statement typ": list_token({}, typ=Typ.SOFTWARE_STATEMENT),
        "other key": list_token({}, authority=other),
        "other subject": list_token({}, sub=URI + "2"),
        "expired": list_token({}, exp=int(NOW)),
        "no exp": list_token({}, exp=None),
        "bad ttl": list_token({}, ttl="300"),
        "bad list": list_token({}, status_list={"bits": 2, "lst": "%%%"}),
        "garbage": "x.y.z",
    }
    for name, token in cases.items():
        with pytest.raises(UnapprovedSoftwareStatement):
            verify_status_list(token, authority=ES.trusted(), uri=URI, policy=LIST_POLICY, now=NOW)
        assert name


@pytest.mark.requirement("HP-SS-09")
@given(value=garbage())
def test_status_list_garbage_raises_only_unapproved(value) -> None:
    with pytest.raises(UnapprovedSoftwareStatement):
        verify_status_list(value, authority=ES.trusted(), uri=URI, policy=LIST_POLICY, now=NOW)


class CountingSource:
    """An in-process status list source: the authority's own signed list, counting fetches."""

    def __init__(self, authority: Authority, *, max_age: float | None = None, fail: bool = False) -> None:
        self.authority, self.max_age, self.fail, self.calls = authority, max_age, fail, 0

    def __call__(self, uri: str) -> tuple[str, float | None]:
        self.calls += 1
        if self.fail:
            raise ConnectionError("authority unreachable")
        assert uri == self.authority.status_list_uri
        return self.authority.status_list_token(), self.max_age


def trusted_of(authority: Authority) -> TrustedAuthority:
    return TrustedAuthority(authority.issuer, KeySet.from_jwks(authority.jwks()))


def issue(authority: Authority, software_id: str = "acme-agent"):
    _, token = authority.sign(software_id, ttl=None, actor="t")
    return verify_software_statement(token, trusted_authorities=[trusted_of(authority)],
                                     policy=SoftwareStatementPolicy(), now=authority.clock.now())


@pytest.mark.requirement("HP-SS-11")
def test_checker_caches_for_its_max_age_then_sees_revocation(authority: Authority, clock: FixedClock) -> None:
    source = CountingSource(authority)
    checker = StatusListChecker(source, authorities=[trusted_of(authority)], clock=clock, max_age=120)
    assert isinstance(checker, StatementStatus)
    statement = issue(authority)
    checker.check(statement)
    authority.revoke(RevocationIn(kind="statement", target=statement.jti), actor="t")
    clock.advance(119)
    checker.check(statement)  # the cached list is still fresh: the revocation is not seen yet
    assert source.calls == 1
    clock.advance(1)
    with pytest.raises(UnapprovedSoftwareStatement, match="revoked"):
        checker.check(statement)
    assert source.calls == 2


@pytest.mark.requirement("HP-SS-11")
def test_cache_lifetime_is_the_earliest_limit(authority: Authority, clock: FixedClock) -> None:
    source = CountingSource(authority, max_age=30)  # the response's Cache-Control: max-age=30
    checker = StatusListChecker(source, authorities=[trusted_of(authority)], clock=clock, max_age=3000)
    statement = issue(authority)
    checker.check(statement)
    clock.advance(29)
    checker.check(statement)
    assert source.calls == 1
    clock.advance(1)
    checker.check(statement)
    assert source.calls == 2
    ttl_bound = StatusListChecker(CountingSource(authority), authorities=[trusted_of(authority)], clock=clock,
                                  max_age=3000)
    ttl_bound.check(statement)
    clock.advance(authority.policy.status_max_age)  # the list's own ttl
    ttl_bound.check(statement)
    assert ttl_bound._source.calls == 2


@pytest.mark.requirement("HP-SS-11")
def test_checker_fails_closed(authority: Authority, clock: FixedClock) -> None:
    statement = issue(authority)
    down = StatusListChecker(CountingSource(authority, fail=True), authorities=[trusted_of(authority)], clock=clock)
    with pytest.raises(UnapprovedSoftwareStatement, match="could not be established"):
        down.check(statement)
    stranger = StatusListChecker(CountingSource(authority), authorities=[], clock=clock)
    with pytest.raises(UnapprovedSoftwareStatement):
        stranger.check(statement)
    with pytest.raises(ValueError):
        StatusListChecker(CountingSource(authority), authorities=[], clock=clock, max_age=0)


@pytest.mark.requirement("HP-SS-11")
def test_status_uri_must_be_at_the_issuers_origin(clock: FixedClock) -> None:
    source_calls: list[str] = []
    token = ES.sign(ES.base_claims(status={"status_list": {"idx": 1, "uri": "https://evil.example/list"}}))
    statement = verify_software_statement(token, trusted_authorities=[ES.trusted()],
                                          policy=SoftwareStatementPolicy(), now=NOW)
    checker = StatusListChecker(lambda uri: (source_calls.append(uri), ("", None))[1],
                                authorities=[ES.trusted()], clock=clock)
    with pytest.raises(UnapprovedSoftwareStatement):
        checker.check(statement)
    assert source_calls == []


@pytest.mark.requirement("HP-AUTH-07")
def test_suspension_and_reinstatement_flow_through_the_list(authority: Authority, clock: FixedClock) -> None:
    checker = StatusListChecker(CountingSource(authority), authorities=[trusted_of(authority)], clock=clock,
                                max_age=60)
    statement = issue(authority)
    authority.create_organisation(OrganisationIn(org_id="other", name="Other"), actor="t")
    authority.set_organisation_status("acme", "suspended", reason="audit", actor="t")
    clock.advance(60)
    with pytest.raises(UnapprovedSoftwareStatement, match="suspended"):
        checker.check(statement)
    authority.set_organisation_status("acme", "active", reason="cleared", actor="t")
    clock.advance(60)
    checker.check(statement)


@pytest.mark.requirement("HP-SS-13")
@given(bits=st.sampled_from([1, 2, 4, 8]), values=st.lists(st.integers(0, 255), max_size=200))
def test_status_lookup_for_every_bit_width(bits: int, values: list[int]) -> None:
    """draft-ietf-oauth-status-list §4.1: entry i at bits i*bits.., least significant first."""
    from hardened.core.status_list import VerifiedStatusList

    values = [v % (1 << bits) for v in values]
    data = bytearray((len(values) * bits + 7) // 8)
    for i, v in enumerate(values):
        byte, shift = divmod(i * bits, 8)
        data[byte] |= v << shift
    raw = {"bits": bits, "lst": b64url_encode(zlib.compress(bytes(data)))}
    got_bits, got = decode_status_list(raw, max_entries=1000)
    sl = VerifiedStatusList("i", "u", 0, 1, None, got_bits, got)
    assert [sl.status(i) for i in range(len(values))] == values
    assert sl.status(len(data) * 8 // bits) is None and sl.status(-1) is None


@pytest.mark.requirement("HP-SS-11")
def test_an_older_list_is_never_accepted_after_a_newer_one(clock: FixedClock) -> None:
    clock.set(NOW)
    # the newer list revokes entry 7; a replayed older list (from before the revocation) must not undo that
    tokens = [list_token({7: 1}, iat=int(NOW)), list_token({}, iat=int(NOW) - 30)]
    checker = StatusListChecker(lambda uri: (tokens.pop(0), None), authorities=[ES.trusted()], clock=clock, max_age=60)
    statement = verified_statement(7)
    with pytest.raises(UnapprovedSoftwareStatement, match="revoked"):
        checker.check(statement)
    clock.advance(60)
    with pytest.raises(UnapprovedSoftwareStatement, match="could not be established"):
        checker.check(statement)
    assert tokens == []
