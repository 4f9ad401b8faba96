"""HP-AS-11: arbitrary forms, JSON and headers at every endpoint never yield a 500 and never half-write a record."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.adapters.sqlite_as import SQLiteASStore
from hardened.testing.as_requests import forms, headers, json_bodies
from tests.server.world import Keys, World

FORM_ENDPOINTS = ("/par", "/token", "/introspect", "/revoke", "/login", "/consent")
TABLES = ("clients", "statement_jtis", "requests", "interactions", "codes", "tokens", "consents", "revoked_grants")


@pytest.fixture(scope="module")
def worlds(keys: Keys, tmp_path_factory) -> dict[str, World]:
    """One AS per store kind, shared by the examples (each example checks that nothing was written)."""
    return {"memory": World(keys), "sqlite": World(keys, store=SQLiteASStore(tmp_path_factory.mktemp("p") / "as.db"))}


def _snapshot(world: World) -> tuple:
    """Row counts of every record kind (memory dictionaries or SQLite tables)."""
    s = world.store
    if isinstance(s, SQLiteASStore):
        conn = s.db.connection()
        return tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES)
    return tuple(len(getattr(s, "_" + t)) for t in TABLES)


@pytest.mark.requirement("HP-AS-11")
@given(path=st.sampled_from(FORM_ENDPOINTS), form=forms, extra=headers, kind=st.sampled_from(["memory", "sqlite"]),
       ctype=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain", ""]))
def test_arbitrary_forms_never_500_nor_write(worlds, path, form, extra, ctype, kind) -> None:
    world = worlds[kind]
    before = _snapshot(world)
    hdrs = {**extra, **({"Content-Type": ctype} if ctype else {})}
    from urllib.parse import urlencode
    r = world.http.post(path, content=urlencode(form).encode(), headers=hdrs)
    assert r.status_code < 500, r.text
    assert _snapshot(world) == before


@pytest.mark.requirement("HP-AS-11")
@given(query=forms, extra=headers, path=st.sampled_from(["/authorize", "/login", "/consent", "/register/agent-1"]))
def test_arbitrary_queries_never_500_nor_write(worlds, query, extra, path) -> None:
    world = worlds["memory"]
    before = _snapshot(world)
    r = world.http.get(path, params=query, headers=extra)
    assert r.status_code < 500, r.text
    after = _snapshot(world)
    assert after == before or (r.status_code == 303 and after[3] == before[3] + 1)


@pytest.mark.requirement("HP-AS-11")
@given(body=json_bodies, extra=headers, method=st.sampled_from(["POST", "PUT", "DELETE"]),
       kind=st.sampled_from(["memory", "sqlite"]))
def test_arbitrary_registration_bodies_never_500(worlds, body, extra, method, kind) -> None:
    world = worlds[kind]
    before = _snapshot(world)
    path = "/register" if method == "POST" else "/register/agent-1"
    r = world.http.request(method, path, json=body, headers=extra)
    assert r.status_code < 500, r.text
    after = _snapshot(world)
    if r.status_code == 201:
        assert after[0] == before[0] + 1 and after[1:] == before[1:]
    else:
        assert after == before


@pytest.mark.requirement("HP-AS-11")
@given(raw=st.binary(max_size=300), path=st.sampled_from((*FORM_ENDPOINTS, "/register")))
def test_arbitrary_bytes_never_500(worlds, raw, path) -> None:
    world = worlds["memory"]
    before = _snapshot(world)
    ctype = "application/json" if path == "/register" else "application/x-www-form-urlencoded"
    r = world.http.post(path, content=raw, headers={"Content-Type": ctype})
    assert r.status_code < 500
    assert _snapshot(world) == before
