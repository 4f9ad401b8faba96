"""Hypothesis strategies for the MCP layer (reusable by any test of a resource server or MCP endpoint).

- :func:`authorization_values`: ``Authorization`` header values, well-formed or not, of every scheme;
- :func:`jsonrpc_bodies`: request bodies: arbitrary bytes, JSON documents shaped like JSON-RPC, batches, tool calls;
- :func:`introspection_bodies`: ``token_introspection`` objects with arbitrary member types (RFC 7662 §2.2).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

__all__ = ["authorization_values", "introspection_bodies", "jsonrpc_bodies"]

_printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                     st.text(max_size=12))


def authorization_values() -> st.SearchStrategy[str | None]:
    """None (no header), junk, or ``<scheme> <junk>`` for Bearer/DPoP/other schemes in any case."""
    schemes = st.sampled_from(["Bearer", "DPoP", "bearer", "dpop", "Basic", "MAC", ""])
    return st.one_of(st.none(), _printable, st.builds(lambda s, t: f"{s} {t}", schemes, _printable))


def _message() -> st.SearchStrategy[dict[str, Any]]:
    methods = st.sampled_from(["initialize", "tools/list", "tools/call", "ping", "resources/read", 7, None])
    params = st.one_of(_scalars, st.fixed_dictionaries({}, optional={"name": _scalars, "arguments": _scalars}))
    return st.fixed_dictionaries({}, optional={"jsonrpc": st.sampled_from(["2.0", "1.0", 2]), "id": _scalars,
                                               "method": methods, "params": params})


def jsonrpc_bodies() -> st.SearchStrategy[bytes]:
    documents = st.one_of(_message(), st.lists(_message(), max_size=4), _scalars)
    return st.one_of(st.binary(max_size=120), st.builds(lambda d: json.dumps(d).encode(), documents))


def introspection_bodies() -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from(["active", "exp", "aud", "client_id", "cnf", "tier", "scope", "sub", "iss"])
    values = st.one_of(_scalars, st.lists(st.text(max_size=5), max_size=3),
                       st.dictionaries(st.sampled_from(["jkt", "x5t#S256", "x"]), _scalars, max_size=2))
    return st.dictionaries(names, values, max_size=9)
