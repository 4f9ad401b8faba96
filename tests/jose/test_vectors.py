"""RFC 7515 Appendix A, RFC 7638 §3.1 and RFC 8037 Appendix A test vectors, stored as JSON fixtures.

Each fixture is first checked to be genuine by an independent verification (``hmac``, ``cryptography``), then
run through ``hardened.jose``: the allowed algorithms verify, every other one is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hardened.errors import JoseError
from hardened.jose import (
    JWSPolicy,
    KeySet,
    SigningKey,
    b64url_decode,
    canonical_json,
    public_key_from_jwk,
    thumbprint,
    verify_jws,
)
from hardened.jose.algs import verify_bytes

#: The RFC 7515 examples carry no typ (A.3) or typ "JWT" (A.1): verified under a typ-optional policy.
ANY_TYP = JWSPolicy(typ=None, typ_optional=True)


def _signing_input(token: str) -> bytes:
    return token.rsplit(".", 1)[0].encode("ascii")


def _refused(token: str, code: str, keys: KeySet | None = None, policy: JWSPolicy = ANY_TYP) -> None:
    with pytest.raises(JoseError) as err:
        verify_jws(token, policy=policy, keys=keys)
    assert err.value.code == code


@pytest.mark.requirement("HP-JOSE-15")
def test_rfc7515_a3_es256_verifies(rfc7515) -> None:
    vector = rfc7515["A.3"]
    key = public_key_from_jwk(vector["jwk"])
    verified = verify_jws(vector["token"], policy=ANY_TYP, keys=KeySet([key]))
    assert verified.header == vector["header"]
    assert verified.payload == json.loads(rfc7515["payload_json"])
    assert verified.payload["http://example.com/is_root"] is True
    assert verified.key is key


@pytest.mark.requirement("HP-JOSE-15")
def test_rfc7515_a3_signing_input_is_the_rfc_payload(rfc7515) -> None:
    head, payload, _ = rfc7515["A.3"]["token"].split(".")
    assert b64url_decode(head) == b'{"alg":"ES256"}'
    assert b64url_decode(payload).decode() == rfc7515["payload_json"]


@pytest.mark.requirement("HP-JOSE-15")
def test_rfc7515_a3_private_key_signs_tokens_that_verify(rfc7515) -> None:
    vector = rfc7515["A.3"]
    signer = SigningKey.from_private_jwk({**vector["jwk"], "d": vector["d"]})
    assert signer.public_jwk()["x"] == vector["jwk"]["x"]
    token = signer.sign_jws({"iss": "joe"}, typ=None, include_kid=False)
    keys = KeySet([public_key_from_jwk(vector["jwk"])])
    assert verify_jws(token, policy=ANY_TYP, keys=keys).payload == {"iss": "joe"}


@pytest.mark.requirement("HP-JOSE-03")
def test_rfc7515_a3_without_typ_is_refused_where_typ_is_required(rfc7515) -> None:
    vector = rfc7515["A.3"]
    keys = KeySet([public_key_from_jwk(vector["jwk"])])
    _refused(vector["token"], "ERR_JWS_TYP", keys, JWSPolicy(typ="at+jwt"))


@pytest.mark.requirement("HP-JOSE-15")
@pytest.mark.requirement("HP-JOSE-08")
def test_rfc7515_a3_tampered_is_refused(rfc7515) -> None:
    vector = rfc7515["A.3"]
    keys = KeySet([public_key_from_jwk(vector["jwk"])])
    head, payload, sig = vector["token"].split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    _refused(f"{head}.{payload}.{flipped}", "ERR_JWS_SIGNATURE_INVALID", keys)
    _refused(f"{head}.{payload}.{sig}=", "ERR_B64", keys)


@pytest.mark.requirement("HP-JOSE-01")
@pytest.mark.requirement("HP-JOSE-15")
def test_rfc7515_a1_hs256_is_genuine_and_refused(rfc7515) -> None:
    vector = rfc7515["A.1"]
    secret = b64url_decode(vector["jwk"]["k"])
    mac = hmac.new(secret, _signing_input(vector["token"]), hashlib.sha256).digest()
    assert hmac.compare_digest(mac, b64url_decode(vector["token"].rsplit(".", 1)[1]))
    _refused(vector["token"], vector["expected_error"])
    _refused(vector["token"], vector["expected_error"], KeySet([public_key_from_jwk(rfc7515["A.3"]["jwk"])]))
    with pytest.raises(JoseError) as err:
        public_key_from_jwk(vector["jwk"])
    assert err.value.code == "ERR_JWK_INVALID"


@pytest.mark.requirement("HP-JOSE-01")
@pytest.mark.requirement("HP-DEC-01")
@pytest.mark.requirement("HP-JOSE-15")
def test_rfc7515_a2_rs256_is_genuine_and_refused_even_with_its_key(rfc7515) -> None:
    vector = rfc7515["A.2"]
    numbers = rsa.RSAPublicNumbers(int.from_bytes(b64url_decode(vector["jwk"]["e"]), "big"),
                                   int.from_bytes(b64url_decode(vector["jwk"]["n"]), "big"))
    signature = b64url_decode(vector["token"].rsplit(".", 1)[1])
    numbers.public_key().verify(signature, _signing_input(vector["token"]), padding.PKCS1v15(), hashes.SHA256())
    # The RSA key itself is acceptable (2048 bits), but only ever for PS256: RS256 is refused (FAPI 2.0 §5.4.1).
    key = public_key_from_jwk(vector["jwk"])
    assert key.alg == "PS256"
    _refused(vector["token"], vector["expected_error"], KeySet([key]))
    with pytest.raises(JoseError) as err:
        verify_bytes("PS256", key.key, _signing_input(vector["token"]), signature)
    assert err.value.code == "ERR_JWS_SIGNATURE_INVALID"


@pytest.mark.requirement("HP-JOSE-01")
@pytest.mark.requirement("HP-JOSE-15")
def test_rfc7515_a5_unsecured_is_refused(rfc7515) -> None:
    vector = rfc7515["A.5"]
    assert vector["token"].endswith(".")
    _refused(vector["token"], vector["expected_error"])
    _refused(vector["token"], vector["expected_error"], KeySet([public_key_from_jwk(rfc7515["A.3"]["jwk"])]))


@pytest.mark.requirement("HP-JOSE-15")
def test_rfc7638_thumbprint(rfc7638) -> None:
    assert thumbprint(rfc7638["jwk"]) == rfc7638["thumbprint"]
    public = {k: v for k, v in rfc7638["jwk"].items() if k != "alg"}
    assert public_key_from_jwk(public).thumbprint == rfc7638["thumbprint"]


@pytest.mark.requirement("HP-JOSE-02")
def test_rfc7638_key_declaring_rs256_is_refused(rfc7638) -> None:
    with pytest.raises(JoseError) as err:
        public_key_from_jwk(rfc7638["jwk"])
    assert err.value.code == "ERR_JWK_INVALID"


@pytest.mark.requirement("HP-JOSE-15")
def test_rfc8037_a1_a2_private_key_gives_the_public_key(rfc8037) -> None:
    signer = SigningKey.from_private_jwk(rfc8037["A.1"]["jwk"])
    assert signer.alg == "EdDSA"
    assert signer.public_jwk()["x"] == rfc8037["A.2"]["jwk"]["x"]
    assert {k: signer.public_key.jwk[k] for k in ("kty", "crv", "x")} == rfc8037["A.2"]["jwk"]


@pytest.mark.requirement("HP-JOSE-15")
def test_rfc8037_a3_thumbprint(rfc8037) -> None:
    jwk = rfc8037["A.2"]["jwk"]
    assert canonical_json({k: jwk[k] for k in ("crv", "kty", "x")}).decode() == rfc8037["A.3"]["canonical"]
    assert thumbprint(jwk) == rfc8037["A.3"]["thumbprint"]
    assert public_key_from_jwk(jwk).thumbprint == rfc8037["A.3"]["thumbprint"]
    assert SigningKey.from_private_jwk(rfc8037["A.1"]["jwk"]).kid == rfc8037["A.3"]["thumbprint"]


@pytest.mark.requirement("HP-JOSE-15")
def test_rfc8037_a4_signature_reproduced_and_verified(rfc8037) -> None:
    vector = rfc8037["A.4"]
    signer = SigningKey.from_private_jwk(rfc8037["A.1"]["jwk"])
    # Ed25519 is deterministic (RFC 8032 §5.1.6): our signer reproduces the RFC's JWS octet for octet.
    assert signer.sign_jws(vector["payload"].encode(), typ=None, include_kid=False) == vector["token"]
    key = public_key_from_jwk(rfc8037["A.2"]["jwk"])
    head, payload, sig = vector["token"].split(".")
    assert json.loads(b64url_decode(head)) == vector["header"]
    assert b64url_decode(payload).decode() == vector["payload"]
    verify_bytes("EdDSA", key.key, _signing_input(vector["token"]), b64url_decode(sig))
    with pytest.raises(JoseError) as err:
        verify_bytes("EdDSA", key.key, _signing_input(vector["token"]) + b"x", b64url_decode(sig))
    assert err.value.code == "ERR_JWS_SIGNATURE_INVALID"
    with pytest.raises(InvalidSignature):  # independent check with cryptography itself
        key.key.verify(b64url_decode(sig), b"tampered")


@pytest.mark.requirement("HP-JOSE-09")
@pytest.mark.requirement("HP-JOSE-15")
def test_rfc8037_a4_is_refused_as_a_jwt_because_its_payload_is_not_json(rfc8037) -> None:
    vector = rfc8037["A.4"]
    _refused(vector["token"], vector["expected_error"], KeySet([public_key_from_jwk(rfc8037["A.2"]["jwk"])]))
