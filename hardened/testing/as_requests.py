"""Hypothesis strategies for arbitrary requests to an authorization server (public, for any AS test suite).

``forms`` mixes the OAuth parameter names the AS reads with arbitrary names and values; ``json_bodies`` gives
arbitrary JSON (objects biased towards RFC 7591 members); ``headers`` gives DPoP, Authorization, Accept and
Content-Type values that are sometimes well-formed and sometimes not.
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["OAUTH_PARAMETERS", "forms", "headers", "json_bodies"]

OAUTH_PARAMETERS = (
    "grant_type", "code", "code_verifier", "redirect_uri", "client_id", "client_assertion", "client_assertion_type",
    "client_secret", "refresh_token", "scope", "resource", "audience", "subject_token", "subject_token_type",
    "actor_token", "requested_token_type", "token", "token_type_hint", "response_type", "code_challenge",
    "code_challenge_method", "state", "dpop_jkt", "request_uri", "request", "interaction", "csrf", "username",
    "password", "decision",
)
_values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange",
                     "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "S256", "plain", "code",
                     "https://mcp.example/mcp", "agent-1", "mcp-server", "public-1", "a.b.c", "approve", "deny",
                     "urn:ietf:params:oauth:token-type:access_token", "x" * 9000]),
)
forms = st.dictionaries(st.one_of(st.sampled_from(OAUTH_PARAMETERS), st.text(min_size=1, max_size=20)), _values,
                        max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
json_bodies = st.one_of(
    _json,
    st.fixed_dictionaries({}, optional={
        "redirect_uris": st.one_of(st.lists(st.text(max_size=40), max_size=3), _json),
        "software_statement": st.one_of(st.text(max_size=80), _json),
        "scope": st.one_of(st.text(max_size=30), _json), "token_endpoint_auth_method": _json | st.text(max_size=20),
        "jwks": _json, "grant_types": _json, "client_name": _json,
    }),
)
headers = st.fixed_dictionaries({}, optional={
    "DPoP": st.one_of(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=80),
                      st.just("e30.e30.e30")),
    "Authorization": st.sampled_from(["Bearer x", "DPoP x", "Basic Zm9vOmJhcg==", "Bearer", "bogus"]),
    "Accept": st.sampled_from(["application/token-introspection+jwt", "*/*", "text/html"]),
})
