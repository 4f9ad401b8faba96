"""Authorization endpoint, login and consent: iss on every response, 303, CSRF, headers, no open redirects."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.server.world import CSRF, ISSUER, PASSWORD, REDIRECT, World


def _query(r) -> dict[str, list[str]]:
    return parse_qs(urlsplit(r.headers["location"]).query)


def _request_uri(world: World) -> str:
    return world.par().json()["request_uri"]


@pytest.mark.requirement("HP-AS-04", "HP-AS-05")
def test_code_response_is_303_with_iss_and_state(world: World) -> None:
    answer = world.login_and_consent({"client_id": "agent-1", "request_uri": _request_uri(world)})
    assert answer["iss"] == [ISSUER] and answer["state"] == ["st-1"] and answer["code"]


@pytest.mark.requirement("HP-AS-04", "HP-AS-10")
def test_deny_gives_access_denied_with_iss(world: World) -> None:
    answer = world.login_and_consent({"client_id": "agent-1", "request_uri": _request_uri(world)}, decision="deny")
    assert answer["error"] == ["access_denied"] and answer["iss"] == [ISSUER] and "code" not in answer


@pytest.mark.requirement("HP-AS-03")
def test_hardened_client_sends_only_client_id_and_request_uri(world: World) -> None:
    r = world.http.get("/authorize", params={"client_id": "agent-1", "request_uri": _request_uri(world),
                                            "scope": "admin"})
    assert r.status_code == 400 and "invalid_request" in r.text and "location" not in r.headers


@pytest.mark.requirement("HP-PAR-01")
def test_hardened_client_without_par_refused(world: World) -> None:
    params = world.par_params("v" * 43)
    r = world.http.get("/authorize", params=params)
    assert r.status_code == 400 and "unauthorized_client" in r.text and "location" not in r.headers


@pytest.mark.requirement("HP-PAR-03")
def test_request_uri_single_use_and_bound_to_client(world: World) -> None:
    uri = _request_uri(world)
    r = world.http.get("/authorize", params={"client_id": "public-1", "request_uri": uri})
    assert r.status_code == 400 and "invalid_request_uri" in r.text
    assert world.http.get("/authorize", params={"client_id": "agent-1", "request_uri": uri}).status_code == 303
    r = world.http.get("/authorize", params={"client_id": "agent-1", "request_uri": uri})
    assert r.status_code == 400 and "invalid_request_uri" in r.text


@pytest.mark.requirement("HP-PAR-03")
def test_request_uri_expires(world: World) -> None:
    uri = _request_uri(world)
    world.clock.advance(world.config.par.expires_in)
    r = world.http.get("/authorize", params={"client_id": "agent-1", "request_uri": uri})
    assert r.status_code == 400 and "invalid_request_uri" in r.text


@pytest.mark.requirement("HP-AS-06")
def test_never_redirects_to_unverified_redirect_uri(world: World) -> None:
    params = {"client_id": "public-1", "response_type": "code", "redirect_uri": "https://evil.example/cb",
              "code_challenge": "x" * 43, "code_challenge_method": "S256", "resource": "https://mcp.example/mcp"}
    r = world.http.get("/authorize", params=params)
    assert r.status_code == 400 and "location" not in r.headers
    r = world.http.get("/authorize", params={"client_id": "nobody", "redirect_uri": "https://evil.example/cb"})
    assert r.status_code == 400 and "location" not in r.headers


@pytest.mark.requirement("HP-AS-04", "HP-AS-05", "HP-AS-16")
def test_baseline_error_after_verified_redirect_goes_back_with_iss(world: World) -> None:
    params = {"client_id": "public-1", "response_type": "code", "redirect_uri": "http://127.0.0.1:5555/cb",
              "code_challenge": "x" * 43, "code_challenge_method": "S256", "resource": "https://mcp.example/mcp",
              "scope": "trades:read", "state": "s9"}
    r = world.http.get("/authorize", params=params)
    assert r.status_code == 303
    q = _query(r)
    assert q["error"] == ["invalid_scope"] and q["iss"] == [ISSUER] and q["state"] == ["s9"]


def _to_login(world: World) -> tuple[str, str]:
    r = world.http.get("/authorize", params={"client_id": "agent-1", "request_uri": _request_uri(world)})
    interaction = _query(r)["interaction"][0]
    csrf = CSRF.search(world.http.get(r.headers["location"]).text).group(1)
    return interaction, csrf


@pytest.mark.requirement("HP-AS-08")
def test_login_without_csrf_or_cookie_refused(world: World) -> None:
    interaction, csrf = _to_login(world)
    form = {"interaction": interaction, "username": "alice", "password": PASSWORD}
    r = world.http.post("/login", data={**form, "csrf": "wrong"})
    assert r.status_code == 403
    world.http.cookies.clear()
    r = world.http.post("/login", data={**form, "csrf": csrf})
    assert r.status_code == 403


@pytest.mark.requirement("HP-AS-07")
def test_wrong_password_and_unknown_user_refused_alike(world: World) -> None:
    interaction, csrf = _to_login(world)
    for user, password in (("alice", "wrong"), ("mallory", PASSWORD)):
        r = world.http.post("/login", data={"interaction": interaction, "csrf": csrf, "username": user,
                                            "password": password})
        assert r.status_code == 401 and "wrong" in r.text


@pytest.mark.requirement("HP-AS-07")
def test_login_attempts_are_limited_per_authorization_request(world: World) -> None:
    interaction, csrf = _to_login(world)
    form = {"interaction": interaction, "csrf": csrf, "username": "alice"}
    for _ in range(4):
        assert world.http.post("/login", data={**form, "password": "guess"}).status_code == 401
    assert world.http.post("/login", data={**form, "password": "guess"}).status_code == 403
    assert world.http.post("/login", data={**form, "password": PASSWORD}).status_code == 400  # void now


@pytest.mark.requirement("HP-AS-10")
def test_consent_page_shows_verified_identity_and_scopes(world: World) -> None:
    interaction, csrf = _to_login(world)
    world.http.post("/login", data={"interaction": interaction, "csrf": csrf, "username": "alice",
                                    "password": PASSWORD})
    page = world.http.get(f"/consent?interaction={interaction}")
    for text in ("Trading Agent", "Acme Agents", "https://authority.example", "hardened", "trades:read",
                 "Read your trades", "sw-trading"):
        assert text in page.text
    assert "form-action 'self' https://agent.example" in page.headers["content-security-policy"]


@pytest.mark.requirement("HP-AS-10")
def test_consent_before_login_refused(world: World) -> None:
    interaction, csrf = _to_login(world)
    r = world.http.post("/consent", data={"interaction": interaction, "csrf": csrf, "decision": "approve"})
    assert r.status_code == 400 and "location" not in r.headers


@pytest.mark.requirement("HP-AS-09")
def test_security_headers_and_no_cors(world: World) -> None:
    for r in (world.http.get("/authorize"), world.http.get("/.well-known/oauth-authorization-server"),
              world.http.post("/token", data={}, headers={"Origin": "https://evil.example"})):
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert not any(h.lower().startswith("access-control") for h in r.headers)
    r = world.http.options("/token", headers={"Origin": "https://evil.example",
                                              "Access-Control-Request-Method": "POST"})
    assert r.status_code == 405 and "access-control-allow-origin" not in r.headers


def test_redirect_keeps_registered_query(world: World) -> None:
    assert REDIRECT.startswith("https://")
    created = world.http.post("/register", json={"redirect_uris": ["http://127.0.0.1:5555/cb?tenant=a"],
                                                 "scope": "tools:read"}).json()
    r = world.http.get("/authorize", params={"client_id": created["client_id"], "response_type": "code",
                                             "redirect_uri": "http://127.0.0.1:5555/cb?tenant=a", "state": "s1"})
    assert r.status_code == 303 and r.headers["location"].startswith("http://127.0.0.1:5555/cb?tenant=a&")
    assert _query(r)["iss"] == [ISSUER] and _query(r)["state"] == ["s1"] and _query(r)["tenant"] == ["a"]


@pytest.mark.requirement("HP-AS-09")
def test_strict_transport_security_on_every_response(world: World) -> None:
    for r in (world.http.get("/authorize"), world.http.get("/jwks"), world.http.post("/token", data={})):
        assert r.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.requirement("HP-DCR-07")
def test_hardened_only_refuses_baseline_clients_registered_before(keys) -> None:
    """DESIGN §2: switching the baseline tier off switches it off for existing baseline clients too."""
    world = World(keys, baseline=False)  # public-1 is a baseline client in the store
    base = {"client_id": "public-1", "response_type": "code", "redirect_uri": "http://127.0.0.1:5555/cb",
            "code_challenge": "x" * 43, "code_challenge_method": "S256", "resource": "https://mcp.example/mcp",
            "scope": "tools:read"}
    r = world.http.get("/authorize", params=base)
    assert r.status_code == 400 and "location" not in r.headers and "unauthorized_client" in r.text
    pushed = world.par(auth={"client_id": "public-1"}, dpop=False, client_id="public-1",
                       redirect_uri="http://127.0.0.1:5555/cb", scope="tools:read")
    if pushed.status_code == 201:  # PAR itself is the token-endpoint helper's; the front channel must refuse
        r = world.http.get("/authorize", params={"client_id": "public-1", "request_uri": pushed.json()["request_uri"]})
        assert r.status_code == 400 and "location" not in r.headers and "unauthorized_client" in r.text


@pytest.mark.requirement("HP-DCR-09")
def test_request_uri_of_a_deleted_client_is_refused(world: World) -> None:
    uri = _request_uri(world)
    world.store.delete_client("agent-1")
    r = world.http.get("/authorize", params={"client_id": "agent-1", "request_uri": uri})
    assert r.status_code == 400 and "location" not in r.headers


@pytest.mark.requirement("HP-AS-07")
@pytest.mark.parametrize("username", ["alice", "nobody-by-this-name"])
def test_failed_sign_ins_are_limited_per_account_across_requests(world: World, username: str) -> None:
    """NIST SP 800-63B §5.2.2: new authorization requests do not buy an attacker more guesses; unknown
    usernames are limited alike (no enumeration); the limit lifts when its window has passed."""
    from hardened.server.routes.interaction import ACCOUNT_WINDOW, MAX_ACCOUNT_FAILURES

    for _ in range(MAX_ACCOUNT_FAILURES // 4):
        interaction, csrf = _to_login(world)
        form = {"interaction": interaction, "csrf": csrf, "username": username, "password": "guess"}
        assert [world.http.post("/login", data=form).status_code for _ in range(4)] == [401] * 4
    interaction, csrf = _to_login(world)
    form = {"interaction": interaction, "csrf": csrf, "username": username}
    r = world.http.post("/login", data={**form, "password": PASSWORD})
    assert r.status_code == 429 and "too many" in r.text  # even the right password, while limited
    world.clock.advance(ACCOUNT_WINDOW)
    interaction, csrf = _to_login(world)
    r = world.http.post("/login", data={"interaction": interaction, "csrf": csrf, "username": "alice",
                                        "password": PASSWORD})
    assert r.status_code == 303


@pytest.mark.requirement("HP-AS-07")
def test_a_successful_sign_in_clears_the_account_count(world: World) -> None:
    from hardened.server.routes.interaction import MAX_ACCOUNT_FAILURES

    for _ in range(2):
        for _ in range(MAX_ACCOUNT_FAILURES // 4 - 1):
            interaction, csrf = _to_login(world)
            form = {"interaction": interaction, "csrf": csrf, "username": "alice", "password": "guess"}
            assert [world.http.post("/login", data=form).status_code for _ in range(4)] == [401] * 4
        interaction, csrf = _to_login(world)
        r = world.http.post("/login", data={"interaction": interaction, "csrf": csrf, "username": "alice",
                                            "password": PASSWORD})
        assert r.status_code == 303


@pytest.mark.requirement("HP-AS-08")
def test_https_interaction_cookie_is_a_host_cookie(keys) -> None:
    """RFC 6265bis §4.1.3.2: ``__Host-`` (Secure, Path=/, no Domain) so no sibling subdomain can plant it."""
    from starlette.testclient import TestClient

    world = World(keys, issuer="https://as.example")
    http = TestClient(world.app, base_url="https://as.example", follow_redirects=False)
    params = {"client_id": "public-1", "response_type": "code", "redirect_uri": "http://127.0.0.1:5555/cb",
              "code_challenge": "x" * 43, "code_challenge_method": "S256", "resource": "https://mcp.example/mcp",
              "scope": "tools:read"}
    r = http.get("/authorize", params=params)
    cookie = r.headers["set-cookie"]
    assert r.status_code == 303 and cookie.startswith("__Host-hardened_ix_")
    assert "secure" in cookie.lower() and "path=/" in cookie.lower() and "domain" not in cookie.lower()
    assert http.get(r.headers["location"]).status_code == 200  # the login page finds the browser binding
    planted = TestClient(world.app, base_url="https://as.example", follow_redirects=False)
    planted.cookies.set(cookie.split("=", 1)[0][len("__Host-"):], cookie.split("=", 1)[1].split(";")[0])
    assert planted.get(r.headers["location"]).status_code == 403  # a cookie without the prefix is not it


@pytest.mark.requirement("HP-AS-11")
def test_expired_records_are_purged_as_new_sign_ins_start(world: World) -> None:
    stale = [_request_uri(world) for _ in range(3)]
    world.clock.advance(world.config.par.expires_in)
    _to_login(world)
    assert all(world.store.take_request(uri, "agent-1", 0.0) is None for uri in stale)  # gone, not just expired


@pytest.mark.requirement("HP-AS-10")
def test_consent_page_shows_where_the_answer_returns(world: World) -> None:
    """RFC 6749 §10.2: the user sees where the code will go (an unverified client's name proves nothing)."""
    interaction, csrf = _to_login(world)
    world.http.post("/login", data={"interaction": interaction, "csrf": csrf, "username": "alice",
                                    "password": PASSWORD})
    page = world.http.get(f"/consent?interaction={interaction}")
    assert "<dt>Returns to</dt><dd>https://agent.example</dd>" in page.text
