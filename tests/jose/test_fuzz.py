"""Arbitrary bytes, text and JSON in any position never raise anything but JoseError (HP-JOSE-14).

Positions: the whole token, the header, the payload, the signature, an embedded JWK, a JWK, a JWKS, the claims,
and every public helper. JSON here is deliberately hostile: unbounded integers, NaN/Infinity, 1e400, lone
surrogates, deep nesting, duplicate members.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import JoseError
from hardened.jose import (
    ClaimsPolicy,
    KeySet,
    SigningKey,
    b64url_decode,
    b64url_encode,
    check_claims,
    loads_object,
    media_type,
    numeric_date,
    public_key_from_jwk,
    string_claim,
    thumbprint,
    verify_jws,
)
from hardened.testing import jose as tj

pytestmark = pytest.mark.requirement("HP-JOSE-14")

_NASTY_TEXT = st.sampled_from(["\ud800", "\udfff", "\ufeff", "\x00", "none", "ES256", "", "a" * 300])
_LEAVES = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | _NASTY_TEXT
           | st.sampled_from([10**400, -(10**30), 2**53, 1e308, float("inf"), float("nan")]))
HOSTILE_JSON = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4)
                            | st.dictionaries(st.text(max_size=8) | _NASTY_TEXT, inner, max_size=4), max_leaves=12)
HOSTILE_OBJECT = st.dictionaries(st.text(max_size=8) | st.sampled_from(["alg", "typ", "kid", "jwk", "crit"]),
                                 HOSTILE_JSON, max_size=6)


def _encode(value: Any, ascii_only: bool) -> bytes:
    """JSON text as an attacker could send it (NaN/Infinity literals, huge numbers, raw surrogates)."""
    try:
        text = json.dumps(value, ensure_ascii=ascii_only)
    except (ValueError, RecursionError):
        text = "{}"
    return text.encode("utf-8", "surrogatepass")


@st.composite
def hostile_json_bytes(draw: st.DrawFn, objects_only: bool = False) -> bytes:
    value = draw(HOSTILE_OBJECT if objects_only else HOSTILE_JSON)
    raw = _encode(value, draw(st.booleans()))
    how = draw(st.sampled_from(["as_is", "deep", "duplicate", "bom", "bytes"]))
    if how == "deep":
        depth = draw(st.integers(30, 3000))
        raw = b'{"a":' + b"[" * depth + b"]" * depth + b"}"
    elif how == "duplicate" and raw.startswith(b"{") and len(raw) > 2:
        raw = raw[:-1] + b',"alg":"ES256","alg":"none"}'
    elif how == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif how == "bytes":
        raw = draw(st.binary(max_size=200))
    return raw


def only_ours(call, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except JoseError as err:
        assert err.code.startswith("ERR_")
        assert err.description and all(" " <= c <= "~" for c in err.description)
        return err


ANY_VALUE = HOSTILE_JSON | st.binary(max_size=64) | st.tuples(st.integers()) | st.builds(object)


@given(st.text(max_size=300) | ANY_VALUE)
def test_arbitrary_token(token) -> None:
    sample_policy = tj.jwt_policy()
    only_ours(verify_jws, token, policy=sample_policy.jws, keys=tj.issuer_keys())
    only_ours(tj.Defect("fuzz", "", token, sample_policy, tj.issuer_keys(), tj.NOW).verify)


@given(st.lists(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .\n{}",
                        max_size=60), min_size=1, max_size=6).map(".".join))
def test_token_shaped_text(token) -> None:
    only_ours(verify_jws, token, policy=tj.jwt_policy().jws, keys=tj.issuer_keys())


@given(tj.valid_jwts(), hostile_json_bytes(objects_only=True))
def test_arbitrary_header(sample, header) -> None:
    """Any header, properly signed: never anything but JoseError (usually ERR_JSON*/ERR_JWS_*)."""
    token = tj.sign_raw(sample.key, sample.key.alg, header, sample.claims)
    result = only_ours(tj.Defect("fuzz", "", token, sample.policy, sample.keys, sample.now).verify)
    assert isinstance(result, JoseError)  # no random header is a valid one (alg/typ/kid all required to match)


@given(tj.valid_jwts(), hostile_json_bytes())
def test_arbitrary_payload(sample, payload) -> None:
    token = tj.sign_raw(sample.key, sample.key.alg, sample.header, payload)
    only_ours(tj.Defect("fuzz", "", token, sample.policy, sample.keys, sample.now).verify)


@given(tj.valid_jwts(), st.binary(max_size=600) | st.text(max_size=100))
def test_arbitrary_signature(sample, signature) -> None:
    head, body, _ = sample.token.split(".")
    sig = b64url_encode(signature) if isinstance(signature, bytes) else signature
    result = only_ours(tj.Defect("fuzz", "", f"{head}.{body}.{sig}", sample.policy, sample.keys, sample.now).verify)
    assert isinstance(result, JoseError)


@given(tj.valid_jwts(embedded_jwk=True), HOSTILE_JSON | HOSTILE_OBJECT)
def test_arbitrary_embedded_jwk(sample, jwk) -> None:
    token = tj.sign_raw(sample.key, sample.key.alg, {**sample.header, "jwk": jwk}, sample.claims)
    only_ours(tj.Defect("fuzz", "", token, sample.policy, None, sample.now).verify)


@given(tj.valid_jwts(), HOSTILE_JSON)
def test_arbitrary_kid(sample, kid) -> None:
    token = tj.sign_raw(sample.key, sample.key.alg, {**sample.header, "kid": kid}, sample.claims)
    result = only_ours(tj.Defect("fuzz", "", token, sample.policy, sample.keys, sample.now).verify)
    assert isinstance(result, JoseError) or kid == sample.key.kid


_JWK_SHAPED = st.fixed_dictionaries({"kty": st.sampled_from(["EC", "RSA", "OKP", "oct", 1, None]) | HOSTILE_JSON},
                                    optional={m: HOSTILE_JSON | st.text(max_size=50) for m in
                                              ("crv", "x", "y", "n", "e", "d", "alg", "use", "key_ops", "kid")})


@given(HOSTILE_JSON | _JWK_SHAPED | st.dictionaries(st.integers() | st.text(), st.text(), max_size=3))
def test_arbitrary_jwk_and_jwks(jwk) -> None:
    only_ours(public_key_from_jwk, jwk)
    only_ours(public_key_from_jwk, jwk, alg="ES256")
    only_ours(thumbprint, jwk)
    only_ours(KeySet.from_jwks, jwk)
    only_ours(KeySet.from_jwks, {"keys": [jwk]})
    only_ours(SigningKey.from_private_jwk, jwk)


@given(HOSTILE_OBJECT | HOSTILE_JSON, st.sampled_from([tj.jwt_policy().claims, ClaimsPolicy(max_age=60),
                                                       ClaimsPolicy(subject="s", allow_audience_array=True,
                                                                    audience="a", require=("jti",))]))
def test_arbitrary_claims(claims, policy) -> None:
    only_ours(check_claims, claims, policy=policy, now=tj.NOW)
    for name in ("exp", "iat", "nbf", "iss"):
        if isinstance(claims, dict):
            only_ours(numeric_date, claims, name, required=True)
            only_ours(string_claim, claims, name, required=True)


@given(st.binary(max_size=300) | HOSTILE_JSON | st.text(max_size=40))
def test_arbitrary_helper_input(value) -> None:
    only_ours(loads_object, value, what="x", max_bytes=1000)
    only_ours(b64url_decode, value)
    only_ours(media_type, value)
    only_ours(SigningKey.from_pem, value)


@pytest.mark.requirement("HP-JOSE-16")
@given(hostile_json_bytes())
def test_arbitrary_json_bytes(raw) -> None:
    result = only_ours(loads_object, raw, what="x", max_bytes=9000)
    if not isinstance(result, JoseError):
        assert isinstance(result, dict)
        json.dumps(result, allow_nan=False).encode("utf-8")  # what we accept can always be re-encoded


@pytest.mark.requirement("HP-JOSE-16")
def test_lone_surrogate_deep_nesting_and_huge_numbers_are_refused() -> None:
    for raw in (b'{"a":"\\ud800"}', b'{"a":"\\udc00x"}', b'{"a":' + b"[" * 40 + b"]" * 40 + b"}",
                b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}", b'{"a":1' + b"0" * 5000 + b"}", b'{"a":1e400}',
                b'{"a":-Infinity}', b'{"a":9007199254740992}'):
        err = only_ours(loads_object, raw, what="x", max_bytes=20000)
        assert isinstance(err, JoseError) and err.code == "ERR_JSON", raw[:40]
    assert loads_object(b'{"a":"\\ud83d\\ude00","b":9007199254740991}', what="x", max_bytes=100) == {
        "a": "\U0001f600", "b": 2**53 - 1}
