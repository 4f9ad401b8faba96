"""Bad input to every admin endpoint gives a 4xx JSON error, never a 500 (HP-AUTH-11)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from authority.app import MAX_BODY, create_app
from authority.models import OrganisationIn
from authority.service import Authority
from hardened.clock import FixedClock

VALID_SOFTWARE = {"org_id": "acme", "client_name": "Agent", "redirect_uris": ["https://a.example/cb"],
                  "jwks_uri": "https://a.example/jwks", "scope": "read"}
#: (method, path, a valid body to mutate or None)
ENDPOINTS = [
    ("POST", "/admin/organisations", {"name": "Org", "contacts": ["a@b.example"], "jurisdiction": "GB"}),
    ("GET", "/admin/organisations/{id}", None),
    ("POST", "/admin/organisations/{id}/suspend", {"reason": "r"}),
    ("POST", "/admin/organisations/{id}/reinstate", {"reason": "r"}),
    ("POST", "/admin/software", VALID_SOFTWARE),
    ("GET", "/admin/software/{id}", None),
    ("PUT", "/admin/software/{id}", VALID_SOFTWARE),
    ("POST", "/admin/software/{id}/statements", {"ttl": 3600}),
    ("GET", "/admin/statements/{id}", None),
    ("POST", "/admin/revocations", {"kind": "software", "target": "acme-agent", "reason": "r"}),
    ("POST", "/admin/keys/rotate", None),
    ("POST", "/admin/keys/{id}/retire", None),
    ("GET", "/admin/audit?after={id}&limit={id}", None),
    ("GET", "/admin/software?org_id={id}", None),
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


@st.composite
def bodies(draw: st.DrawFn, valid: dict | None) -> bytes:
    """Garbage bytes, arbitrary JSON, or a valid body with one member replaced, removed or added."""
    kind = draw(st.sampled_from(["bytes", "json", "mutant"] if valid else ["bytes", "json"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    body = dict(valid)
    key = draw(st.sampled_from([*sorted(body), "extra"]))
    if draw(st.booleans()):
        body[key] = draw(json_values)
    else:
        body.pop(key, None)
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> TestClient:
    folder: Path = tmp_path_factory.mktemp("fuzz") / "data"
    authority, token = Authority.init(folder, issuer="https://authority.example", clock=FixedClock())
    authority.create_organisation(OrganisationIn(org_id="acme", name="Acme"), actor="t")
    with TestClient(create_app(authority), raise_server_exceptions=False,
                    headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client


def check(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert "error" in response.json()
        assert "Traceback" not in response.text


ids = st.text(max_size=40) | st.from_regex(r"[A-Za-z0-9._-]{1,20}", fullmatch=True)


@pytest.mark.requirement("HP-AUTH-11")
@pytest.mark.parametrize(("method", "path", "valid"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bad_bodies_never_500(client: TestClient, method: str, path: str, valid: dict | None, data) -> None:
    body = data.draw(bodies(valid))
    if path == "/admin/keys/rotate":  # keep key generation cheap: RSA keys take time
        body = data.draw(st.sampled_from([b"", b"{}", b'{"alg": "RS256"}', b"[]", b"null", b'{"alg": 1}']))
    target = path.replace("{id}", quote(data.draw(ids), safe=""))
    check(client.request(method, target, content=body, headers={"Content-Type": "application/json"}))


@pytest.mark.requirement("HP-AUTH-11")
def test_oversized_and_odd_requests(client: TestClient) -> None:
    big = b'{"name": "' + b"x" * (MAX_BODY + 10) + b'"}'
    response = client.post("/admin/organisations", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    check(client.post("/admin/organisations", content=b"name=x", headers={"Content-Type": "text/plain"}))
    check(client.post("/admin/organisations", content=b"\xff\xfe", headers={"Content-Type": "application/json"}))
    check(client.delete("/admin/organisations"))
    check(client.get("/admin/nothing-here"))
    for body in (b"", b"{}", b'{"name": ""}', b'{"name": "a", "org_id": "../x"}', b'{"name": "\\u0000"}'):
        response = client.post("/admin/organisations", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.requirement("HP-AUTH-09")
def test_every_admin_endpoint_requires_authentication(client: TestClient) -> None:
    for method, path, valid in ENDPOINTS:
        target = path.replace("{id}", "acme")
        response = client.request(method, target, json=valid, headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401, target


@pytest.mark.requirement("HP-AUTH-11")
def test_streamed_body_over_the_limit_is_refused(client: TestClient) -> None:
    chunks = iter([b'{"name": "', b"x" * 40_000, b"x" * 40_000, b'"}'])  # chunked: no Content-Length
    response = client.post("/admin/organisations", content=chunks, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "invalid_request"
