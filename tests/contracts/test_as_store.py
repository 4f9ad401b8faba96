"""One contract suite for every ASStore adapter (memory and SQLite): atomic, single-use, hashed, cascading."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from hypothesis import given

from hardened.adapters.memory_as import MemoryASStore
from hardened.adapters.sqlite_as import SQLiteASStore
from hardened.ports.as_stores import ASStore, AuthorizationCode, ClientRecord, Interaction, PushedRequest, User
from hardened.testing.as_records import client_metadata, par_request, token_record, token_records


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path) -> ASStore:
    return MemoryASStore() if request.param == "memory" else SQLiteASStore(tmp_path / "as.db")


def _client(cid: str = "c1") -> ClientRecord:
    return ClientRecord(client_id=cid, metadata=client_metadata(), registration_token_hash="h" * 64, issued_at=1.0)


def _code(code_hash: str = "k1", grant: str = "g1", cid: str = "c1") -> AuthorizationCode:
    return AuthorizationCode(code_hash=code_hash, grant_id=grant, request=par_request(client_id=cid), subject="alice",
                             claims={"role": "trader"}, expires_at=160.0)


def test_adapters_satisfy_the_protocol(store) -> None:
    assert isinstance(store, ASStore)


@pytest.mark.requirement("HP-DCR-06")
def test_client_round_trip_and_statement_jti_spent_once(store) -> None:
    assert store.add_client(_client("c1"), statement_jti="j1", statement_exp=10.0)
    assert store.get_client("c1") == _client("c1")
    assert not store.add_client(_client("c2"), statement_jti="j1", statement_exp=10.0)
    assert store.get_client("c2") is None  # nothing half-written
    assert not store.add_client(_client("c1"), statement_jti="j9", statement_exp=10.0)
    assert store.add_client(_client("c9"), statement_jti="j9", statement_exp=10.0)  # j9 was not spent by the failure


def test_replace_client(store) -> None:
    store.add_client(_client(), statement_jti=None, statement_exp=0)
    changed = replace(_client(), registration_token_hash="x" * 64)
    assert store.replace_client(changed, statement_jti="j2", statement_exp=1.0)
    assert store.get_client("c1").registration_token_hash == "x" * 64
    assert not store.replace_client(changed, statement_jti="j2", statement_exp=1.0)
    assert not store.replace_client(replace(changed, client_id="nope"), statement_jti=None, statement_exp=0)


@pytest.mark.requirement("HP-PAR-03")
def test_request_uri_single_use_bound_to_client_and_expiring(store) -> None:
    store.put_request(PushedRequest("urn:r1", par_request(client_id="c1"), expires_at=100.0))
    assert store.take_request("urn:r1", "other", 50.0) is None
    assert store.take_request("urn:r1", "c1", 50.0) == par_request(client_id="c1")
    assert store.take_request("urn:r1", "c1", 50.0) is None
    store.put_request(PushedRequest("urn:r2", par_request(client_id="c1"), expires_at=100.0))
    assert store.take_request("urn:r2", "c1", 100.0) is None


@pytest.mark.requirement("HP-TOK-02")
def test_code_redeemed_once_atomically_across_threads(store) -> None:
    store.put_code(_code())
    assert store.get_code("k1").first_use
    results: list[bool] = []
    tokens = [token_record(grant_id="g1") for _ in range(8)]

    def redeem(i: int) -> None:
        results.append(store.redeem_code("k1", [tokens[i]]))

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert sum(store.get_token(t.token_hash) is not None for t in tokens) == 1  # only the winner's tokens
    assert not store.get_code("k1").first_use
    assert store.get_code("unknown") is None and not store.redeem_code("unknown", [])


def test_redeem_refuses_tokens_of_a_revoked_grant(store) -> None:
    store.put_code(_code("k2", "g2"))
    store.revoke_grant("g2")
    t = token_record(grant_id="g2")
    assert not store.redeem_code("k2", [t])
    assert store.get_token(t.token_hash) is None


@pytest.mark.requirement("HP-TOK-03")
def test_revoked_grant_revokes_tokens_and_refuses_new_ones(store) -> None:
    a, r = token_record(grant_id="g1"), token_record(grant_id="g1", kind="refresh")
    assert store.put_tokens([a, r])
    assert store.revoke_grant("g1") == 2
    assert store.get_token(a.token_hash).revoked and store.get_token(r.token_hash).revoked
    assert not store.put_tokens([token_record(grant_id="g1")])


def test_revoke_token(store) -> None:
    t = token_record()
    store.put_tokens([t])
    assert store.revoke_token(t.token_hash)
    assert not store.revoke_token(t.token_hash)
    assert not store.revoke_token("missing")


@pytest.mark.requirement("HP-DCR-09")
def test_delete_client_cascades(store) -> None:
    store.add_client(_client(), statement_jti=None, statement_exp=0)
    t = token_record(client_id="c1", grant_id="g5")
    store.put_tokens([t])
    store.put_code(_code("k5", "g6"))
    store.put_consent("alice", "c1", ["trades:read"])
    assert store.delete_client("c1")
    assert store.get_client("c1") is None and store.get_token(t.token_hash).revoked
    assert store.get_consent("alice", "c1") == ()
    assert store.get_code("k5") is None
    assert not store.put_tokens([token_record(grant_id="g6")])
    assert not store.delete_client("c1")


def test_interactions(store) -> None:
    i = Interaction("i1", par_request(), browser_hash="b", csrf="c", expires_at=100.0)
    store.put_interaction(i)
    assert store.get_interaction("i1", 99.0) == i
    assert store.get_interaction("i1", 100.0) is None
    assert store.count_login_failure("i1") == 1 and store.count_login_failure("i1") == 2
    assert store.count_login_failure("unknown") == 0
    assert store.set_interaction_subject("i1", "alice", {"role": "r"})
    assert store.take_interaction("i1", 50.0).subject == "alice"
    assert store.take_interaction("i1", 50.0) is None
    assert not store.set_interaction_subject("i1", "bob", {})


def test_consents_and_users(store) -> None:
    store.put_consent("alice", "c1", ["a", "b"])
    assert store.get_consent("alice", "c1") == ("a", "b")
    u = User("alice", "scrypt$x", "sub-a", "trader", "t1", "DE")
    store.put_user(u)
    assert store.get_user("alice") == u and store.get_user("bob") is None


@given(record=token_records)
def test_any_token_record_round_trips(record) -> None:
    for s in (MemoryASStore(),):
        s.put_tokens([record])
        assert s.get_token(record.token_hash) == record


def test_any_token_record_round_trips_sqlite(tmp_path) -> None:
    from hypothesis import given as given_
    s = SQLiteASStore(tmp_path / "p.db")

    @given_(record=token_records)
    def check(record) -> None:
        s.put_tokens([record])
        assert s.get_token(record.token_hash) == record

    check()


@pytest.mark.requirement("HP-AS-07")
def test_account_failures_count_within_a_window(store) -> None:
    assert store.account_failures("acct", 0.0) == 0
    assert [store.record_account_failure("acct", t, 100.0) for t in (0.0, 10.0, 99.0)] == [1, 2, 3]
    assert store.account_failures("acct", 99.0) == 3 and store.account_failures("other", 99.0) == 0
    assert store.account_failures("acct", 100.0) == 0  # the window has passed
    assert store.record_account_failure("acct", 100.0, 100.0) == 1  # a new window
    assert store.account_failures("acct", 150.0) == 1
    store.clear_account_failures("acct")
    assert store.account_failures("acct", 150.0) == 0


@pytest.mark.requirement("HP-AS-11")
def test_purge_expired_keeps_what_is_live_and_codes_for_reuse_detection(store) -> None:
    from hardened.ports.as_stores import CODE_RETENTION, PushedRequest

    store.put_request(PushedRequest("urn:r1", par_request(), expires_at=100.0))
    store.put_interaction(Interaction("i1", par_request(), browser_hash="b", csrf="c", expires_at=100.0))
    store.put_code(_code("k9", "g9"))
    live, old = token_record(grant_id="g10"), token_record(grant_id="g11")
    store.put_tokens([replace(live, expires_at=1000.0), replace(old, expires_at=100.0)])
    assert store.add_client(_client(), statement_jti="iss\x00j1", statement_exp=100.0)
    store.record_account_failure("acct", 50.0, 50.0)
    assert store.purge_expired(99.0) == 0
    assert store.purge_expired(100.0) >= 4  # request, interaction, expired token, account count
    assert store.take_request("urn:r1", "c1", 50.0) is None and store.get_interaction("i1", 50.0) is None
    assert store.get_token(old.token_hash) is None and store.get_token(live.token_hash) is not None
    assert store.get_code("k9") is not None  # kept for reuse detection
    assert not store.add_client(_client("c2"), statement_jti="iss\x00j1", statement_exp=100.0)  # still spent
    store.purge_expired(_code("k9", "g9").expires_at + CODE_RETENTION + 100.0)
    assert store.get_code("k9") is None
    assert store.add_client(_client("c3"), statement_jti="iss\x00j1", statement_exp=100.0)


def test_sqlite_purge_uses_expiry_indexes(tmp_path) -> None:
    """A purge runs at every sign-in under the write lock: it must never scan every token or code."""
    store = SQLiteASStore(tmp_path / "as.db")
    conn = store.db.connection()
    for table, column in (("requests", "expires_at"), ("interactions", "expires_at"), ("codes", "expires_at"),
                          ("tokens", "json_extract(data, '$.expires_at')")):
        plan = " ".join(str(row[-1]) for row in conn.execute(
            f"EXPLAIN QUERY PLAN DELETE FROM {table} WHERE {column} <= ?", (1.0,)))
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (table, plan)
