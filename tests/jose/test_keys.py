"""Strict public JWK import, key sets and signing keys (HP-JOSE-02, HP-JOSE-05, HP-JOSE-10)."""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa

from hardened.errors import JoseError
from hardened.jose import KeySet, SigningKey, b64url_encode, public_key_from_jwk, thumbprint
from hardened.testing import jose as tj


def _code(call, *args, **kwargs) -> str | None:
    try:
        call(*args, **kwargs)
    except JoseError as err:
        return err.code
    return None


def _rsa_jwk(bits: int, e: int = 65537) -> dict[str, str]:
    n = rsa.generate_private_key(65537, bits).public_key().public_numbers().n
    return {"kty": "RSA", "n": b64url_encode(n.to_bytes((n.bit_length() + 7) // 8, "big")),
            "e": b64url_encode(e.to_bytes((e.bit_length() + 7) // 8, "big"))}


@pytest.mark.requirement("HP-JOSE-10")
def test_rsa_modulus_size_and_exponent() -> None:
    assert public_key_from_jwk(_rsa_jwk(2048)).alg == "PS256"
    assert _code(public_key_from_jwk, _rsa_jwk(1024)) == "ERR_JWK_INVALID"
    assert _code(public_key_from_jwk, _rsa_jwk(2040)) == "ERR_JWK_INVALID"
    for e in (1, 2, 65536, 2**65 + 1):
        assert _code(public_key_from_jwk, _rsa_jwk(2048, e)) == "ERR_JWK_INVALID", e
    jwk = _rsa_jwk(2048)
    assert _code(public_key_from_jwk, {**jwk, "n": "AA" + jwk["n"]}) == "ERR_JWK_INVALID"  # not minimal
    assert _code(public_key_from_jwk, {**jwk, "n": "A" * 1500}) == "ERR_JWK_INVALID"  # too long


@pytest.mark.requirement("HP-JOSE-10")
def test_ec_points_and_curves() -> None:
    jwk = dict(tj.key_pool("ES256")[0].public_key.jwk)
    assert public_key_from_jwk(jwk).alg == "ES256"
    y = int.from_bytes(__import__("base64").urlsafe_b64decode(jwk["y"] + "="), "big")
    off = {**jwk, "y": b64url_encode(((y + 1) % 2**256).to_bytes(32, "big"))}
    assert _code(public_key_from_jwk, off) == "ERR_JWK_INVALID"
    for curve, name, size in ((ec.SECP384R1(), "P-384", 48), (ec.SECP256K1(), "secp256k1", 32)):
        nums = ec.generate_private_key(curve).public_key().public_numbers()
        other = {"kty": "EC", "crv": name, "x": b64url_encode(nums.x.to_bytes(size, "big")),
                 "y": b64url_encode(nums.y.to_bytes(size, "big"))}
        assert _code(public_key_from_jwk, other) == "ERR_JWK_INVALID"
        assert _code(public_key_from_jwk, {**other, "crv": "P-256"}) == "ERR_JWK_INVALID"
    assert _code(public_key_from_jwk, {**jwk, "x": jwk["x"][:-2]}) == "ERR_JWK_INVALID"
    assert _code(public_key_from_jwk, {k: v for k, v in jwk.items() if k != "crv"}) == "ERR_JWK_INVALID"


@pytest.mark.requirement("HP-JOSE-10")
@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
@pytest.mark.parametrize("alg", tj.ALGS)
def test_private_members_are_refused(member, alg) -> None:
    jwk = dict(tj.key_pool(alg)[0].public_key.jwk)
    assert _code(public_key_from_jwk, {**jwk, member: "AQAB"}) == "ERR_JWK_INVALID"
    assert _code(KeySet.from_jwks, {"keys": [{**jwk, member: "AQAB"}]}) == "ERR_JWK_INVALID"


@pytest.mark.requirement("HP-JOSE-10")
def test_symmetric_and_other_okp_keys_are_refused() -> None:
    assert _code(public_key_from_jwk, {"kty": "oct", "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"}) == "ERR_JWK_INVALID"
    raw = ed448.Ed448PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw,
                                                                     serialization.PublicFormat.Raw)
    assert _code(public_key_from_jwk, {"kty": "OKP", "crv": "Ed448", "x": b64url_encode(raw)}) == "ERR_JWK_INVALID"
    assert _code(public_key_from_jwk, {"kty": "OKP", "crv": "X25519", "x": b64url_encode(bytes(32))}) \
        == "ERR_JWK_INVALID"
    assert _code(public_key_from_jwk, {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(bytes(31))}) \
        == "ERR_JWK_INVALID"


@pytest.mark.requirement("HP-JOSE-02")
@pytest.mark.parametrize("alg", tj.ALGS)
def test_key_alg_use_and_key_ops_must_agree(alg) -> None:
    jwk = dict(tj.key_pool(alg)[0].public_key.jwk)
    others = [a for a in tj.ALGS if a != alg]
    assert public_key_from_jwk({**jwk, "alg": alg, "use": "sig", "key_ops": ["verify"]}).alg == alg
    for other in others:
        assert _code(public_key_from_jwk, jwk, alg=other) == "ERR_JWK_INVALID"
        assert _code(public_key_from_jwk, {**jwk, "alg": other}) == "ERR_JWK_INVALID"
    for bad in ({"alg": "RS256"}, {"alg": ["ES256"]}, {"use": "enc"}, {"key_ops": ["sign"]}, {"key_ops": "verify"},
                {"kid": ""}, {"kid": 1}, {"kid": "k" * 257}, {"kty": ["EC"]}):
        assert _code(public_key_from_jwk, {**jwk, **bad}) == "ERR_JWK_INVALID", bad


@pytest.mark.requirement("HP-JOSE-05")
def test_key_set_lookup_is_by_kid_within_the_set() -> None:
    a, b = tj.key_pool("ES256")[:2]
    keys = KeySet([a.public_key, b.public_key])
    assert keys.find("ES256", a.kid) is a.public_key
    assert _code(keys.find, "ES256", None) == "ERR_JWK_NOT_FOUND"  # two candidates: a kid is required
    assert _code(keys.find, "EdDSA", a.kid) == "ERR_JWK_NOT_FOUND"
    assert _code(keys.find, "ES256", "unknown") == "ERR_JWK_NOT_FOUND"
    assert _code(keys.find, "ES256", ["list"]) == "ERR_JWK_NOT_FOUND"
    assert KeySet([a.public_key]).find("ES256", None) is a.public_key
    assert _code(KeySet, [a.public_key, a.public_key]) == "ERR_JWK_INVALID"
    assert _code(KeySet, [a.public_key.jwk]) == "ERR_JWK_INVALID"
    assert _code(KeySet.from_jwks, {"keys": []}) == "ERR_JWK_INVALID"
    assert _code(KeySet.from_jwks, {"keys": [a.public_jwk()] * 33}) == "ERR_JWK_INVALID"
    assert _code(KeySet.from_jwks, {"keys": {"0": a.public_jwk()}}) == "ERR_JWK_INVALID"
    assert _code(KeySet.from_jwks, [a.public_jwk()]) == "ERR_JWK_INVALID"


@pytest.mark.requirement("HP-JOSE-15")
def test_thumbprint_ignores_member_order_and_optional_members() -> None:
    jwk = dict(tj.key_pool("EdDSA")[0].public_key.jwk)
    reordered = dict(reversed(list({**jwk, "kid": "k", "alg": "EdDSA", "use": "sig"}.items())))
    assert thumbprint(reordered) == thumbprint(jwk) == tj.key_pool("EdDSA")[0].thumbprint
    assert _code(thumbprint, {"kty": "EC", "crv": "P-256", "x": "AA"}) == "ERR_JWK_INVALID"
    assert _code(thumbprint, ["kty"]) == "ERR_JWK_INVALID"


@pytest.mark.requirement("HP-JOSE-10")
def test_signing_keys_refuse_what_verifiers_refuse() -> None:
    assert _code(SigningKey.generate, "RS256") == "ERR_JWS_ALG_NOT_ALLOWED"
    assert _code(SigningKey, rsa.generate_private_key(65537, 1024)) == "ERR_JWK_INVALID"
    assert _code(SigningKey, ec.generate_private_key(ec.SECP384R1())) == "ERR_JWK_INVALID"
    assert _code(SigningKey, ed448.Ed448PrivateKey.generate()) == "ERR_JWK_INVALID"
    assert _code(SigningKey.from_pem, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") \
        == "ERR_JWK_INVALID"
    assert _code(SigningKey.from_private_jwk, {"kty": "oct", "k": "AAAA"}) == "ERR_JWK_INVALID"
    assert _code(SigningKey.from_private_jwk, dict(tj.key_pool("ES256")[0].public_key.jwk)) == "ERR_JWK_INVALID"
    key = tj.key_pool("ES256")[0]
    assert _code(key.sign_jws, {"a": float("nan")}, typ="at+jwt") == "ERR_JSON"
    assert _code(key.sign_jws, {"a": object()}, typ="at+jwt") == "ERR_JSON"
    assert _code(key.sign_jws, {}, typ="at+jwt", header={"alg": "none"}) == "ERR_JWS_ALG_NOT_ALLOWED"


@pytest.mark.requirement("HP-JOSE-14")
def test_key_cache_is_safe_under_threads() -> None:
    """The JWK import cache is shared: concurrent imports and evictions never raise anything but ours."""
    jwks = [dict(k.public_key.jwk, kid=f"k{i}") for i, k in enumerate(tj.key_pool("EdDSA") * 40)]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                for jwk in jwks:
                    assert public_key_from_jwk(jwk).kid == jwk["kid"]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.requirement("HP-JOSE-14")
def test_cached_public_keys_cannot_be_altered_through_their_jwk() -> None:
    import json

    jwk = dict(tj.key_pool("ES256")[1].public_key.jwk)
    key = public_key_from_jwk(jwk)
    with pytest.raises(TypeError):
        key.jwk["x"] = jwk["y"]  # type: ignore[index]
    with pytest.raises(TypeError):
        key.jwk.update(x=jwk["y"])  # type: ignore[attr-defined]
    assert public_key_from_jwk(jwk).jwk == jwk
    assert json.loads(json.dumps(key.jwk)) == jwk
    assert {**key.jwk, "kid": "k"}["kid"] == "k"


# Independent edwards25519 arithmetic (RFC 8032 §5.1), only to prove the refused points really have small order.
_P = 2**255 - 19
_D = (-121665 * pow(121666, -1, _P)) % _P


def _decode(y: int, sign: int) -> tuple[int, int] | None:
    x2 = (y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
    if (x * x - x2) % _P or (x == 0 and sign):
        return None
    return (_P - x if (x & 1) != sign else x), y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2
    return (x1 * y2 + x2 * y1) * pow(1 + t, -1, _P) % _P, (y1 * y2 + x1 * x2) * pow(1 - t, -1, _P) % _P


def _encode(y: int, sign: int) -> str:
    return b64url_encode((y | (sign << 255)).to_bytes(32, "little"))


@pytest.mark.requirement("HP-JOSE-10")
def test_ed25519_small_order_and_non_canonical_points_are_refused() -> None:
    y8 = int.from_bytes(bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little")
    refused = 0
    for y in (0, 1, _P - 1, y8, _P - y8):
        for sign in (0, 1):
            point = _decode(y, sign)
            if point is None:
                continue
            eight = point
            for _ in range(3):
                eight = _add(eight, eight)
            assert eight == (0, 1)  # [8]P is the neutral element: P has small order
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": _encode(y, sign)}
            assert _code(public_key_from_jwk, jwk) == "ERR_JWK_INVALID"
            refused += 1
    assert refused == 8  # the whole 8-torsion subgroup
    for y in (_P, _P + 1, 2**255 - 1):  # y >= p: not canonical (RFC 8032 §5.1.3)
        assert _code(public_key_from_jwk, {"kty": "OKP", "crv": "Ed25519", "x": _encode(y, 0)}) == "ERR_JWK_INVALID"
    for key in tj.key_pool("EdDSA"):  # ordinary keys still import
        assert public_key_from_jwk(dict(key.public_key.jwk)).alg == "EdDSA"


@pytest.mark.requirement("HP-JOSE-05", "HP-JOSE-02")
def test_pinned_key_ignores_kid_and_refuses_other_algorithms() -> None:
    """A pinned key verifies whatever kid the header names, and nothing signed under another algorithm."""
    from hardened.jose import JWSPolicy, PinnedKey, SigningKey, verify_jws

    pinned, other = SigningKey.generate("ES256"), SigningKey.generate("EdDSA")
    policy = JWSPolicy(typ="x+jwt")
    token = pinned.sign_jws({"a": 1}, typ="x+jwt", header={"kid": "some-other-kid"})
    assert verify_jws(token, policy=policy, keys=PinnedKey(pinned.public_key)).payload == {"a": 1}
    with pytest.raises(JoseError) as info:
        verify_jws(other.sign_jws({"a": 1}, typ="x+jwt"), policy=policy, keys=PinnedKey(pinned.public_key))
    assert info.value.code == "ERR_JWK_NOT_FOUND"
    impostor = SigningKey.generate("ES256").sign_jws({"a": 1}, typ="x+jwt", header={"kid": pinned.kid})
    with pytest.raises(JoseError) as info:
        verify_jws(impostor, policy=policy, keys=PinnedKey(pinned.public_key))
    assert info.value.code == "ERR_JWS_SIGNATURE_INVALID"
