"""The verification hot path keeps every check: the per-policy header (and embedded key) cache, the DER signature
encoding, and ``verify_jws_payload`` behave exactly as the uncached, generic code they replace."""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import JoseError
from hardened.jose import JWSPolicy, KeySet, SigningKey, Typ, b64url_encode, verify_jws
from hardened.jose.algs import der_signature
from hardened.jose.jws import _HEADER_CACHE_SIZE, verify_jws_payload
from hardened.testing import jose as tj
from hardened.testing.jose_tokens import key_pool, sign_raw


def _dpop_policy() -> JWSPolicy:
    return JWSPolicy(typ=Typ.DPOP, embedded_jwk=True)


def _dpop_token(key: SigningKey, claims: dict | None = None) -> str:
    header = {"alg": key.alg, "typ": Typ.DPOP, "jwk": dict(key.public_key.jwk)}
    return sign_raw(key, key.alg, header, claims or {"jti": "j", "htm": "GET"})


def _code(call) -> str:
    with pytest.raises(JoseError) as err:
        call()
    return err.value.code


@pytest.mark.requirement("HP-JOSE-02")
@given(st.binary(min_size=64, max_size=64), st.integers(0, 32), st.integers(0, 32))
def test_der_signature_equals_cryptography_encoding(raw: bytes, zeros_r: int, zeros_s: int) -> None:
    """R || S to DER, including leading zero octets and set high bits, as cryptography encodes the integers."""
    r = bytes(zeros_r) + raw[zeros_r:32]
    s = bytes(zeros_s) + raw[32 + zeros_s:]
    signature = r + s
    assert len(signature) == 64
    assert der_signature(signature) == encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))


@pytest.mark.requirement("HP-JOSE-05")
@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256"])
def test_a_header_is_cached_only_after_its_signature_verified(alg: str) -> None:
    policy, key = _dpop_policy(), key_pool(alg)[0]
    token = _dpop_token(key)
    head, body, _ = token.split(".")
    forged = f"{head}.{body}.{_dpop_token(key_pool(alg)[1]).split('.')[2]}"
    assert _code(lambda: verify_jws(forged, policy=policy)) == "ERR_JWS_SIGNATURE_INVALID"
    assert head not in policy._headers
    assert verify_jws(token, policy=policy).key.thumbprint == key.thumbprint
    assert policy._headers[head][2].thumbprint == key.thumbprint
    # Same (cached) header: a changed payload or another key's signature is still refused.
    other_body = b64url_encode(b'{"jti":"k","htm":"GET"}')
    tampered = f"{head}.{other_body}.{token.split('.')[2]}"
    assert _code(lambda: verify_jws(tampered, policy=policy)) == "ERR_JWS_SIGNATURE_INVALID"
    assert _code(lambda: verify_jws(forged, policy=policy)) == "ERR_JWS_SIGNATURE_INVALID"


@pytest.mark.requirement("HP-JOSE-03")
def test_the_cache_belongs_to_one_policy() -> None:
    """A header checked under one policy is checked again under another (typ, algorithms, embedded jwk)."""
    key = key_pool("ES256")[0]
    token = _dpop_token(key)
    verify_jws(token, policy=_dpop_policy())
    assert _code(lambda: verify_jws(token, policy=JWSPolicy(typ=Typ.ACCESS_TOKEN, embedded_jwk=True))) == "ERR_JWS_TYP"
    only_eddsa = JWSPolicy(typ=Typ.DPOP, algorithms=("EdDSA",), embedded_jwk=True)
    assert _code(lambda: verify_jws(token, policy=only_eddsa)) == "ERR_JWS_ALG_NOT_ALLOWED"
    assert _code(lambda: verify_jws(token, policy=JWSPolicy(typ=Typ.DPOP))) == "ERR_JWS_HEADER"


@pytest.mark.requirement("HP-JOSE-05")
def test_a_kid_is_looked_up_in_the_callers_key_set_every_time() -> None:
    """Only an embedded key is cached: a cached kid header is resolved against the key set of each call."""
    key, other = key_pool("ES256")[0], key_pool("ES256")[1]
    token = sign_raw(key, "ES256", {"alg": "ES256", "typ": Typ.ACCESS_TOKEN, "kid": key.kid}, {"a": "b"})
    policy = JWSPolicy(typ=Typ.ACCESS_TOKEN)
    assert verify_jws(token, policy=policy, keys=KeySet([key.public_key])).key is key.public_key
    assert policy._headers[token.split(".")[0]][2] is None
    assert _code(lambda: verify_jws(token, policy=policy, keys=KeySet([other.public_key]))) == "ERR_JWK_NOT_FOUND"
    assert _code(lambda: verify_jws(token, policy=policy)) == "ERR_JWK_NOT_FOUND"


@pytest.mark.requirement("HP-JOSE-14")
def test_a_cached_header_and_its_jwk_are_the_callers_own() -> None:
    policy, key = _dpop_policy(), key_pool("EdDSA")[0]
    token = _dpop_token(key)
    first = verify_jws(token, policy=policy)
    second = verify_jws(token, policy=policy)  # from the cache
    second.header["jwk"]["x"] = "tampered"
    second.header["alg"] = "none"
    third = verify_jws(token, policy=policy)
    assert third.header == first.header == {"alg": "EdDSA", "typ": Typ.DPOP, "jwk": dict(key.public_key.jwk)}
    assert third.header["jwk"] is not first.header["jwk"]


@pytest.mark.requirement("HP-JOSE-04")
def test_the_header_cache_is_bounded() -> None:
    policy, key = _dpop_policy(), key_pool("ES256")[0]
    header = {"alg": "ES256", "typ": Typ.DPOP, "jwk": dict(key.public_key.jwk)}
    for i in range(_HEADER_CACHE_SIZE + 40):
        verify_jws(sign_raw(key, "ES256", {**header, "n": str(i)}, {"a": "b"}), policy=policy)
    assert len(policy._headers) == _HEADER_CACHE_SIZE


@pytest.mark.requirement("HP-JOSE-14")
def test_concurrent_verifications_share_the_cache_safely() -> None:
    policy, key = _dpop_policy(), key_pool("EdDSA")[0]
    header = {"alg": "EdDSA", "typ": Typ.DPOP, "jwk": dict(key.public_key.jwk)}
    tokens = [sign_raw(key, "EdDSA", {**header, "n": str(i % 300)}, {"i": i}) for i in range(600)]
    failures: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for i in range(offset, len(tokens), 4):
                assert verify_jws(tokens[i], policy=policy).payload == {"i": i}
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(policy._headers) <= _HEADER_CACHE_SIZE


def _outcome(call) -> tuple:
    try:
        payload, key = call()
    except JoseError as err:
        return ("error", err.code)
    return ("ok", payload, key.thumbprint)


@pytest.mark.requirement("HP-JOSE-14")
@given(tj.valid_jwts(embedded_jwk=True, typ=Typ.DPOP) | tj.valid_jwts() | tj.defects())
def test_verify_jws_payload_decides_exactly_as_verify_jws(sample) -> None:
    policy, keys, token = sample.policy.jws, sample.keys, sample.token

    def full() -> tuple:
        verified = verify_jws(token, policy=policy, keys=keys)
        return verified.payload, verified.key

    for _ in range(2):  # the second time from a warm header cache
        assert _outcome(lambda: verify_jws_payload(token, policy=policy, keys=keys)) == _outcome(full)
