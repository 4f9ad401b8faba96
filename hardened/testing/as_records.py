"""Builders of authorization-server records for tests of any component (public, documented).

``client_metadata()``, ``par_request()``, ``token_record()`` give valid records with overridable fields;
``as_records`` strategies generate them for property tests of ``hardened.ports.as_stores.ASStore`` adapters.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from hardened.core.access_token import TokenRecord
from hardened.core.dcr_policy import ClientMetadata
from hardened.core.par import VerifiedPARRequest

__all__ = ["client_metadata", "par_request", "token_record", "token_records"]


def client_metadata(**changes: Any) -> ClientMetadata:
    base = ClientMetadata(
        client_name="Agent", redirect_uris=("https://agent.example/cb",), scopes=("trades:read", "trades:write"),
        token_endpoint_auth_method="private_key_jwt", tier="hardened", sender_constraint="dpop",  # noqa: S106 - an auth method name
        grant_types=("authorization_code", "refresh_token"), jwks={"keys": []}, software_id="sw-1",
        org_name="Org", authority="https://authority.example",
    )
    return replace(base, **changes)


def par_request(**changes: Any) -> VerifiedPARRequest:
    base = VerifiedPARRequest(
        client_id="c1", redirect_uri="https://agent.example/cb", scopes=("trades:read",),
        resource="https://mcp.example/mcp", code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        state="xyz", dpop_jkt="0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
    )
    return replace(base, **changes)


def token_record(**changes: Any) -> TokenRecord:
    base = TokenRecord(
        token_hash=secrets.token_hex(32), kind="access", client_id="c1", subject="alice",
        scopes=("trades:read",), audience="https://mcp.example/mcp", jkt="0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
        issued_at=1000.0, expires_at=1300.0, grant_id="g1", claims={"role": "trader", "tenant": "t1", "country": "DE"},
    )
    return replace(base, **changes)


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)
token_records = st.builds(
    token_record, kind=st.sampled_from(["access", "refresh"]), client_id=_text, subject=_text,
    scopes=st.lists(_text, max_size=4).map(tuple), audience=_text, grant_id=_text,
    jkt=st.none() | st.just("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
    claims=st.dictionaries(st.sampled_from(["role", "tenant", "country"]), _text),
)
