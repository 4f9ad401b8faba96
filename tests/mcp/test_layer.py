"""The authorization layer in front of the reference MCP server, driven in-process (HP-MCP-01..03, 07..12)."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.mcp.prm import metadata_document, metadata_path, metadata_url
from hardened.testing.mcp import authorization_values, jsonrpc_bodies
from tests.mcp.conftest import HOST, RESOURCE, Signer, make_introspector, make_policy, mcp_client

ACCEPT = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


def call(name: str, rid: int = 3, **arguments) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


def run(stack, script):
    async def main():
        async with mcp_client(stack[3]) as client:
            return await script(client)
    return asyncio.run(main())


async def session(client, token: str, scheme: str = "Bearer") -> dict:
    headers = {**ACCEPT, "Authorization": f"{scheme} {token}"}
    r = await client.post("/mcp", json=INIT, headers=headers)
    assert r.status_code == 200, r.text
    headers["mcp-session-id"] = r.headers["mcp-session-id"]
    r = await client.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    assert r.status_code == 202
    return headers


def params(header: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in header.split(" ", 1)[1].split(", "))


@pytest.mark.requirement("HP-MCP-01")
def test_metadata_at_path_aware_well_known_url(stack) -> None:
    assert metadata_path(RESOURCE) == "/.well-known/oauth-protected-resource/mcp"
    assert metadata_url("https://x.example/a/b/") == "https://x.example/.well-known/oauth-protected-resource/a/b"
    r = run(stack, lambda c: c.get("/.well-known/oauth-protected-resource/mcp"))
    doc = r.json()
    assert r.status_code == 200 and doc == metadata_document(stack[0])
    assert doc["resource"] == RESOURCE and doc["bearer_methods_supported"] == ["header"]
    assert doc["scopes_supported"] == ["trades:read", "trades:write"]
    assert doc["dpop_signing_alg_values_supported"] == ["ES256", "EdDSA", "PS256"]
    assert doc["dpop_bound_access_tokens_required"] is False
    assert metadata_document(make_policy(baseline=False))["dpop_bound_access_tokens_required"] is True


@pytest.mark.requirement("HP-MCP-02")
def test_no_token_gets_challenges_without_error(stack) -> None:
    r = run(stack, lambda c: c.post("/mcp", json=INIT, headers=ACCEPT))
    assert r.status_code == 401
    dpop, bearer = r.headers.get_list("www-authenticate")
    assert dpop.startswith("DPoP ") and bearer.startswith("Bearer ")
    p = params(dpop)
    assert p["resource_metadata"] == '"http://127.0.0.1:9001/.well-known/oauth-protected-resource/mcp"'
    assert p["scope"] == '"trades:read"' and p["algs"] == '"ES256 EdDSA PS256"' and "error" not in p
    assert "algs" not in params(bearer) and "error" not in params(bearer)


@pytest.mark.requirement("HP-MCP-02")
@pytest.mark.requirement("HP-MCP-07")
def test_hardened_only_offers_dpop_and_refuses_bearer(signer: Signer, clock) -> None:
    from hardened.mcp.guard import ResourceGuard
    from hardened.mcp.server import build_app
    from tests.mcp.conftest import RecordingUpstream

    policy = make_policy(baseline=False)
    app = build_app(policy, ResourceGuard(policy, make_introspector(signer, clock), clock=clock),
                    RecordingUpstream(), json_response=True)
    signer.issue("tok")

    async def script(c):
        none = await c.post("/mcp", json=INIT, headers=ACCEPT)
        bearer = await c.post("/mcp", json=INIT, headers={**ACCEPT, "Authorization": "Bearer tok"})
        return none, bearer

    none, bearer = run((None, None, None, app), script)
    assert [h.split(" ")[0] for h in none.headers.get_list("www-authenticate")] == ["DPoP"]
    assert bearer.status_code == 401 and 'error="invalid_token"' in bearer.headers["www-authenticate"]
    assert signer.calls == 0


@pytest.mark.requirement("HP-MCP-03")
@pytest.mark.parametrize("url, headers", [
    ("/mcp?access_token=tok", {}),
    ("/mcp", {"Authorization": "Bearer tok"}),  # doubled below
])
def test_query_tokens_and_several_authorization_headers_are_refused(stack, signer, url, headers) -> None:
    signer.issue("tok")
    raw = [(k, v) for k, v in {**ACCEPT, **headers}.items()]
    if headers:
        raw.append(("Authorization", "Bearer tok"))
    r = run(stack, lambda c: c.post(url, json=INIT, headers=raw))
    assert r.status_code == 400
    assert 'error="invalid_request"' in r.headers["www-authenticate"]
    assert "resource_metadata=" in r.headers["www-authenticate"] and signer.calls == 0


@pytest.mark.requirement("HP-MCP-04")
@pytest.mark.parametrize("setup", ["unknown", "expired", "other-audience", "revoked"])
def test_tokens_that_are_not_valid_here_get_invalid_token(stack, signer, clock, setup) -> None:
    if setup == "expired":
        signer.issue("tok", exp=clock.now() - 1)
    elif setup == "other-audience":
        signer.issue("tok", aud="http://127.0.0.1:9001/other")
    elif setup == "revoked":
        signer.issue("tok")
        signer.revoke("tok")
    r = run(stack, lambda c: c.post("/mcp", json=INIT, headers={**ACCEPT, "Authorization": "Bearer tok"}))
    assert r.status_code == 401
    assert all('error="invalid_token"' in h for h in r.headers.get_list("www-authenticate"))
    assert "tok" not in r.text


@pytest.mark.requirement("HP-MCP-07")
@pytest.mark.parametrize("scheme, info, detail", [
    ("Bearer", {"cnf": {"jkt": "A" * 43}, "tier": "hardened"}, "must be presented with the DPoP scheme"),
    ("DPoP", {}, "not DPoP-bound"),
    ("Bearer", {"tier": "hardened"}, "baseline tier only"),
    ("Bearer", {"cnf": {"x5t#S256": "B" * 43}, "tier": "hardened"}, "certificate-bound"),
])
def test_no_bearer_downgrade(stack, signer, scheme, info, detail) -> None:
    signer.issue("tok", **info)
    r = run(stack, lambda c: c.post("/mcp", json=INIT, headers={**ACCEPT, "Authorization": f"{scheme} tok"}))
    assert r.status_code == 401 and detail in r.headers["www-authenticate"]


@pytest.mark.requirement("HP-MCP-08")
@pytest.mark.requirement("HP-MCP-09")
def test_tool_scopes_filter_list_and_challenge_calls(stack, signer) -> None:
    signer.issue("tok", scope="trades:read")

    async def script(c):
        h = await session(c, "tok")
        listed = await c.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=h)
        read = await c.post("/mcp", json=call("list-trades"), headers=h)
        write = await c.post("/mcp", json=call("place-trade", symbol="X", side="buy", quantity=1, price=1),
                             headers=h)
        return listed, read, write

    listed, read, write = run(stack, script)
    result = listed.json()["result"]
    assert [t["name"] for t in result["tools"]] == ["list-trades"]
    assert read.json()["result"]["structuredContent"] == {"trades": [{"id": "t1", "symbol": "ACME"}]}
    assert write.status_code == 403
    p = params(write.headers["www-authenticate"])
    assert write.headers["www-authenticate"].startswith("Bearer ")
    assert p["error"] == '"insufficient_scope"' and p["scope"] == '"trades:write"'
    assert p["resource_metadata"].endswith('/.well-known/oauth-protected-resource/mcp"')
    assert stack[2].calls == [("list", "alice")]  # the write tool never ran


@pytest.mark.requirement("HP-MCP-08")
def test_tier_too_low_for_a_tool_is_insufficient_scope(stack, signer) -> None:
    signer.issue("tok", scope="trades:read trades:write", tier="baseline")

    async def script(c):
        h = await session(c, "tok")
        listed = await c.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=h)
        write = await c.post("/mcp", json=call("place-trade", symbol="X", side="buy", quantity=1, price=1),
                             headers=h)
        return listed, write

    listed, write = run(stack, script)
    assert [t["name"] for t in listed.json()["result"]["tools"]] == ["list-trades"]
    assert write.status_code == 403 and stack[2].calls == []


@pytest.mark.requirement("HP-MCP-09")
def test_batch_with_a_forbidden_call_is_refused_whole(stack, signer) -> None:
    signer.issue("tok")

    async def script(c):
        h = await session(c, "tok")
        return await c.post("/mcp", json=[call("list-trades", 5), call("place-trade", 6)], headers=h)

    assert run(stack, script).status_code == 403 and stack[2].calls == []


@pytest.mark.requirement("HP-MCP-10")
@pytest.mark.parametrize("headers, status", [
    ({"Origin": "http://evil.example"}, 403),
    ({"Origin": "http://127.0.0.1:9002"}, 403),
    ({"Host": "evil.example"}, 421),
    ({"Host": "127.0.0.1:9002"}, 421),
])
def test_foreign_origin_or_host_is_refused(stack, signer, headers, status) -> None:
    signer.issue("tok")
    r = run(stack, lambda c: c.post("/mcp", json=INIT, headers={**ACCEPT, "Authorization": "Bearer tok", **headers}))
    assert r.status_code == status and signer.calls == 0


@pytest.mark.requirement("HP-MCP-10")
def test_own_origin_is_allowed(stack, signer) -> None:
    signer.issue("tok")
    r = run(stack, lambda c: c.post("/mcp", json=INIT, headers={**ACCEPT, "Authorization": "Bearer tok",
                                                                  "Origin": "http://127.0.0.1:9001"}))
    assert r.status_code == 200


@pytest.mark.requirement("HP-MCP-11")
def test_session_is_bound_to_its_caller(stack, signer) -> None:
    signer.issue("alice-tok", sub="alice")
    signer.issue("mallory-tok", sub="mallory")

    async def script(c):
        h = await session(c, "alice-tok")
        stolen = {**h, "Authorization": "Bearer mallory-tok"}
        return await c.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=stolen)

    r = run(stack, script)
    assert r.status_code == 404


@pytest.mark.requirement("HP-MCP-12")
@pytest.mark.parametrize("body, status", [
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"place-trade"}}', 400),
    (b"\xff\xfe", 400),
    (b"[]", 400),
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}', 400),
    (b"[" * 100_000 + b"]" * 100_000, 400),
    (b" " * 1_048_577, 413),
])
def test_malformed_or_large_bodies_never_reach_the_sdk(stack, signer, body, status) -> None:
    signer.issue("tok")
    headers = {**ACCEPT, "Authorization": "Bearer tok", "Content-Type": "application/json"}
    r = run(stack, lambda c: c.post("/mcp", content=body, headers=headers))
    assert r.status_code == status and stack[2].calls == []


@pytest.mark.requirement("HP-MCP-08")
@pytest.mark.requirement("HP-MCP-12")
@pytest.mark.parametrize("body", [
    rb'{"jsonrpc":"2.0","id":9,"method":"tools\/call","params":{"name":"place-trade","arguments":{}}}',
    rb'{"jsonrpc":"2.0","id":9,"method":"\u0074ools/call","params":{"name":"place-trade","arguments":{}}}',
    rb'{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"place\u002dtrade","arguments":{}}}',
])
def test_escaped_tool_calls_are_still_checked(stack, signer, body) -> None:
    signer.issue("tok")

    async def script(c):
        h = await session(c, "tok")
        return await c.post("/mcp", content=body, headers={**h, "Content-Type": "application/json"})

    r = run(stack, script)
    assert r.status_code == 403 and 'scope="trades:write"' in r.headers["www-authenticate"]
    assert stack[2].calls == []


@pytest.mark.requirement("HP-MCP-12")
@given(auth=authorization_values(), body=jsonrpc_bodies(),
       query=st.sampled_from(["", "?a=b", "?access_token=x", "?%zz"]))
def test_arbitrary_requests_never_give_a_500(auth, body, query) -> None:
    from hardened.clock import FixedClock
    from hardened.mcp.guard import ResourceGuard
    from hardened.mcp.server import build_app
    from tests.mcp.conftest import RecordingUpstream

    clock = FixedClock()
    signer = Signer(clock)
    signer.issue("tok")
    policy = make_policy()
    app = build_app(policy, ResourceGuard(policy, make_introspector(signer, clock), clock=clock),
                    RecordingUpstream(), json_response=True)
    headers = {**ACCEPT, "Content-Type": "application/json", "Host": HOST}
    if auth is not None:
        headers["Authorization"] = auth
    r = run((None, None, None, app), lambda c: c.post("/mcp" + query, content=body, headers=headers))
    assert r.status_code < 500


@pytest.mark.requirement("HP-MCP-04")
@pytest.mark.requirement("HP-MCP-05")
def test_revoked_token_is_refused_once_the_cache_bound_passes(stack, signer, clock) -> None:
    signer.issue("tok", exp=clock.now() + 3600)

    async def script(c):
        h = {**ACCEPT, "Authorization": "Bearer tok"}
        first = await c.post("/mcp", json=INIT, headers=h)
        signer.revoke("tok")
        clock.advance(59)
        cached = await c.post("/mcp", json=INIT, headers=h)
        clock.advance(1)  # the default max_ttl (60 s) has passed: introspected again
        revoked = await c.post("/mcp", json=INIT, headers=h)
        return first, cached, revoked

    first, cached, revoked = run(stack, script)
    assert (first.status_code, cached.status_code, revoked.status_code) == (200, 200, 401)
    assert 'error="invalid_token"' in revoked.headers["www-authenticate"]


@pytest.mark.requirement("HP-MCP-09")
def test_every_tool_must_have_a_requirement() -> None:
    from hardened.mcp.policy import ToolRequirement
    from hardened.mcp.server import build_mcp_server
    from tests.mcp.conftest import RecordingUpstream

    partial = make_policy(tools={"list-trades": ToolRequirement(frozenset({"trades:read"}))})
    with pytest.raises(ValueError, match="place-trade"):
        build_mcp_server(partial, RecordingUpstream())


@pytest.mark.requirement("HP-MCP-09")
def test_tool_access_refuses_inside_the_sdk_what_the_policy_does_not_allow() -> None:
    from types import SimpleNamespace

    from mcp.shared.exceptions import MCPError

    from hardened.mcp.auth import ToolAccess
    from hardened.mcp.identity import SCOPE_KEY, AccessIdentity

    caller = AccessIdentity(subject="a", client_id="c", scopes=frozenset({"trades:read"}), tier="baseline",
                            scheme="Bearer", expires_at=1e12)
    access = ToolAccess(make_policy())

    def ctx(method, params=None, identity=caller):
        request = SimpleNamespace(scope={SCOPE_KEY: identity} if identity else {})
        return SimpleNamespace(method=method, params=params, request=request)

    async def call_next(_ctx):
        return "ran"

    async def main():
        assert await access(ctx("tools/call", {"name": "list-trades"}), call_next) == "ran"
        for name in ("place-trade", "unknown-tool"):
            with pytest.raises(MCPError):
                await access(ctx("tools/call", {"name": name}), call_next)
        with pytest.raises(MCPError, match="unauthorized"):  # the layer did not run: refused, nothing said
            await access(ctx("tools/call", {"name": "list-trades"}, identity=None), call_next)
        assert await access(ctx("ping"), call_next) == "ran"

    asyncio.run(main())
