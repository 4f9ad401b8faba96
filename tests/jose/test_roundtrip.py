"""Sign-then-verify round trips for each allowed algorithm (HP-JOSE-01, HP-JOSE-02)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import JoseError
from hardened.jose import (
    ALGORITHMS,
    ClaimsPolicy,
    JWSPolicy,
    JWTPolicy,
    KeySet,
    SigningKey,
    Typ,
    verify_jws,
    verify_jwt,
)
from hardened.testing import jose as tj


@pytest.mark.requirement("HP-JOSE-01")
@pytest.mark.parametrize("alg", tj.ALGS)
@given(data=st.data())
def test_valid_jwts_verify(alg, data) -> None:
    sample = data.draw(tj.valid_jwts(algs=(alg,)))
    assert sample.key.alg == alg
    verified = sample.verify()
    assert verified.claims == sample.claims
    assert verified.header == sample.header
    assert verified.jws.key.alg == sample.key.alg
    assert verified.jws.key.thumbprint == sample.key.thumbprint


@pytest.mark.requirement("HP-JOSE-01")
@pytest.mark.requirement("HP-JOSE-05")
@given(tj.valid_jwts(typ=Typ.DPOP, embedded_jwk=True))
def test_embedded_jwk_round_trip(sample) -> None:
    verified = sample.verify()
    assert verified.jws.key.thumbprint == sample.key.thumbprint
    assert verified.claims == sample.claims


@pytest.mark.requirement("HP-JOSE-02")
@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_generated_keys_sign_and_verify_only_under_their_alg(alg, now) -> None:
    key = SigningKey.generate(alg)
    assert key.alg == alg and key.public_key.alg == alg
    token = key.sign_jws({"iss": "https://i.example", "iat": now, "exp": now + 60}, typ=Typ.CLIENT_ASSERTION)
    policy = JWTPolicy(jws=JWSPolicy(typ=Typ.CLIENT_ASSERTION), claims=ClaimsPolicy(issuer="https://i.example"))
    assert verify_jwt(token, policy=policy, keys=KeySet([key.public_key]), now=now).header["kid"] == key.kid
    # PEM and JWKS round trips give the same key.
    again = SigningKey.from_pem(key.private_pem())
    assert again.thumbprint == key.thumbprint
    keys = KeySet.from_jwks(KeySet([key.public_key]).to_jwks())
    assert verify_jws(token, policy=policy.jws, keys=keys).key.thumbprint == key.thumbprint


@pytest.mark.requirement("HP-JOSE-14")
@given(tj.valid_jwts())
def test_returned_header_and_claims_are_the_callers_own(sample) -> None:
    """Headers are cached per policy: mutating what one verification returns cannot affect the next."""
    first = sample.verify()
    first.header["alg"] = "none"
    first.header["typ"] = "evil"
    first.claims["iss"] = "https://attacker.example"
    second = sample.verify()
    assert second.header == sample.header
    assert second.claims == sample.claims


@pytest.mark.requirement("HP-JOSE-14")
def test_header_cache_under_threads_and_eviction(now) -> None:
    """More distinct verified headers than the per-policy cache holds, from four threads: every token verifies,
    every tampered one is refused, nothing else is raised."""
    import threading

    key = tj.key_pool("EdDSA")[0]
    keys = KeySet([key.public_key])
    policy = JWSPolicy(typ=Typ.ACCESS_TOKEN)
    tokens = [key.sign_jws({"n": i}, typ=Typ.ACCESS_TOKEN, header={"x-n": str(i)}) for i in range(300)]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(len(tokens)):
                token = tokens[(i + offset) % len(tokens)]
                assert verify_jws(token, policy=policy, keys=keys).payload["n"] == (i + offset) % len(tokens)
                head, body, sig = token.split(".")
                try:
                    verify_jws(f"{head}.{body[:-2]}AA.{sig}", policy=policy, keys=keys)
                except JoseError:
                    pass
                else:
                    raise AssertionError("tampered payload accepted")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n * 75,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:1]
