"""Hypothesis strategies for DPoP (RFC 9449): valid proofs and one strategy per defect class, at a fixed ``now``.

Use them to fuzz any DPoP verifier::

    from hypothesis import given
    from hardened.testing.dpop import defective_proofs, valid_proofs

    @given(valid_proofs())
    def test_accepts(case):
        verify_dpop_proof(case.proof, **case.context())

    @given(defective_proofs())
    def test_refuses(pair):
        case, defect = pair
        with pytest.raises(defect.error) as info:
            verify_dpop_proof(case.proof, **case.context())
        assert info.value.detail == defect.detail

Every case carries what the verifier needs (method, URI, policy, ``now``, token and thumbprint at a resource,
the nonce check); ``DEFECTS`` names each defect class with the exact error and ``detail`` code it must give.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import strategies as st

from hardened.core.dpop import DPoPPolicy, access_token_hash
from hardened.core.dpop_nonce import NonceSource
from hardened.errors import InvalidDPoPProof, InvalidToken, OAuthError, UseDPoPNonce
from hardened.jose import SigningKey, Typ, b64url_encode

__all__ = [
    "DEFECTS",
    "FIXED_NOW",
    "Defect",
    "ProofCase",
    "access_tokens",
    "canonical_uri_parts",
    "defective_proofs",
    "equivalent_uris",
    "http_methods",
    "key_pool",
    "render_uri",
    "request_uris",
    "sign_jws_raw",
    "valid_proofs",
]

FIXED_NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z, as hardened.clock.FixedClock
_NONCES = NonceSource(b"hardened-testing-dpop-nonce-secret!!", "https://rs.example")
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_SAMPLE_AT = "sample-access-token"
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@lru_cache(maxsize=1)
def key_pool() -> tuple[SigningKey, ...]:
    """Keys made once per process: two ES256, one EdDSA, one PS256 (RSA 3072)."""
    return tuple(SigningKey.generate(alg) for alg in ("ES256", "ES256", "EdDSA", "PS256"))


def sign_jws_raw(key: SigningKey, header: dict[str, Any], claims: Any) -> str:
    """A compact JWS with exactly ``header`` (any ``alg`` written there) signed by ``key``'s own algorithm."""
    head = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    body = b64url_encode(claims if isinstance(claims, bytes) else json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{b64url_encode(key.sign(signing_input))}"


@dataclass(frozen=True)
class ProofCase:
    """A proof and the request context to check it in (``context()`` gives ``verify_dpop_proof`` keywords)."""

    proof: str
    method: str
    uri: str
    key: SigningKey = field(repr=False)
    now: float = FIXED_NOW
    access_token: str | None = None
    policy: DPoPPolicy = field(default_factory=DPoPPolicy)
    nonce_ok: Callable[[str], bool] | None = None
    expected_jkt: str | None = None

    def context(self) -> dict[str, Any]:
        return {"method": self.method, "uri": self.uri, "policy": self.policy, "now": self.now,
                "access_token": self.access_token, "nonce_ok": self.nonce_ok,
                "expected_jkt": self.expected_jkt if self.access_token is not None else None}


@dataclass(frozen=True)
class Defect:
    """One defect class: its name, the exception class and the ``detail`` code the verifier must raise."""

    name: str
    error: type[OAuthError]
    detail: str


# -- URIs ------------------------------------------------------------------------------------------------------
_labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_segment = st.text(alphabet=_UNRESERVED, min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))


@st.composite
def canonical_uri_parts(draw: st.DrawFn) -> tuple[str, str, int, tuple[str, ...]]:
    """(scheme, host, port, path segments) already in RFC 3986 normal form; distinct parts = distinct URIs."""
    scheme = draw(st.sampled_from(["https", "http"]))
    host = draw(st.one_of(st.lists(_labels, min_size=1, max_size=3).map(".".join), st.just("127.0.0.1")))
    port = draw(st.one_of(st.just(443 if scheme == "https" else 80), st.integers(1, 65535)))
    segments = tuple(draw(st.lists(_segment, max_size=4)))
    return scheme, host, port, segments


def render_uri(parts: tuple[str, str, int, tuple[str, ...]]) -> str:
    scheme, host, port, segments = parts
    default = {"https": 443, "http": 80}[scheme]
    authority = host if port == default else f"{host}:{port}"
    return f"{scheme}://{authority}/" + "/".join(segments)


def request_uris() -> st.SearchStrategy[str]:
    """Absolute http(s) URIs in normal form."""
    return canonical_uri_parts().map(render_uri)


@st.composite
def equivalent_uris(draw: st.DrawFn) -> tuple[str, str]:
    """(normal form, an RFC 3986-equivalent spelling): case, default port, percent-encoding, empty path, query."""
    scheme, host, port, segments = draw(canonical_uri_parts())
    default = {"https": 443, "http": 80}[scheme]

    def spell(segment: str) -> str:
        flags = draw(st.lists(st.booleans(), min_size=len(segment), max_size=len(segment)))
        upper = draw(st.booleans())
        pct = "%%%02X" if upper else "%%%02x"
        return "".join(pct % ord(c) if f else c for c, f in zip(segment, flags, strict=True))

    v_scheme = "".join(c.upper() if draw(st.booleans()) else c for c in scheme)
    v_host = "".join(c.upper() if draw(st.booleans()) else c for c in host)
    explicit = port != default or draw(st.booleans())
    v_authority = f"{v_host}:{port}" if explicit else v_host
    path = "/" + "/".join(spell(s) for s in segments)
    if path == "/" and draw(st.booleans()):
        path = ""
    tail = draw(st.sampled_from(["", "?q=1", "#frag", "?a=b&c#d"]))
    return render_uri((scheme, host, port, segments)), f"{v_scheme}://{v_authority}{path}{tail}"


def http_methods() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
                     st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12))


def access_tokens() -> st.SearchStrategy[str]:
    """RFC 9449 §7.1 token68 access tokens."""
    return st.text(alphabet=_UNRESERVED + "+/", min_size=1, max_size=64)


# -- proofs ----------------------------------------------------------------------------------------------------
def _header(key: SigningKey) -> dict[str, Any]:
    return {"typ": Typ.DPOP, "alg": key.alg, "jwk": dict(key.public_key.jwk)}


@st.composite
def valid_proofs(draw: st.DrawFn, *, now: float = FIXED_NOW, resource: bool | None = None,
                 nonce: bool | None = None) -> ProofCase:
    """A proof every conforming verifier accepts: random key, method, URI, ``jti``, ``iat`` in the window; at a
    resource (``resource=True``, random when None) with ``ath`` and the token's ``cnf.jkt``; with a nonce."""
    key = draw(st.sampled_from(key_pool()))
    policy = DPoPPolicy(nonce_required=draw(st.booleans()) if nonce is None else nonce)
    method, uri = draw(http_methods()), draw(request_uris())
    iat = draw(st.integers(int(now - policy.max_age) + 1, int(now + policy.max_future_skew)))
    claims: dict[str, Any] = {"jti": draw(st.text(alphabet=_B64URL, min_size=1, max_size=64)), "htm": method,
                              "htu": uri, "iat": iat}
    token = draw(access_tokens()) if (draw(st.booleans()) if resource is None else resource) else None
    if token is not None:
        claims["ath"] = access_token_hash(token)
    if policy.nonce_required:
        claims["nonce"] = _NONCES.issue(now)
    return ProofCase(proof=sign_jws_raw(key, _header(key), claims), method=method, uri=uri, key=key, now=now,
                     access_token=token, policy=policy, expected_jkt=key.thumbprint,
                     nonce_ok=lambda n: _NONCES.check(n, now))


def _resign(case: ProofCase, header: dict[str, Any] | None = None, claims: dict[str, Any] | None = None,
            key: SigningKey | None = None, **changes: Any) -> ProofCase:
    from hardened.jose.encoding import b64url_decode  # strict decode of our own proofs

    head, body, _ = case.proof.split(".")
    hdr = json.loads(b64url_decode(head)) if header is None else header
    payload = json.loads(b64url_decode(body)) if claims is None else claims
    return replace(case, proof=sign_jws_raw(key or case.key, hdr, payload), **changes)


def _decoded(case: ProofCase) -> tuple[dict[str, Any], dict[str, Any]]:
    from hardened.jose.encoding import b64url_decode

    head, body, _ = case.proof.split(".")
    return json.loads(b64url_decode(head)), json.loads(b64url_decode(body))


def _with_claims(**update: Any) -> Callable[[ProofCase], ProofCase]:
    def change(case: ProofCase) -> ProofCase:
        _, claims = _decoded(case)
        claims.update(update)
        return _resign(case, claims={k: v for k, v in claims.items() if v is not _DROP})

    return change


def _with_header(**update: Any) -> Callable[[ProofCase], ProofCase]:
    def change(case: ProofCase) -> ProofCase:
        header, _ = _decoded(case)
        header.update(update)
        return _resign(case, header={k: v for k, v in header.items() if v is not _DROP})

    return change


_DROP = object()


def _foreign_p384(case: ProofCase) -> ProofCase:
    """An ES384-curve key (P-384) claiming ES256: the curve is not allowed."""
    private = ec.generate_private_key(ec.SECP384R1())
    nums = private.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-384", "x": b64url_encode(nums.x.to_bytes(48, "big")),
           "y": b64url_encode(nums.y.to_bytes(48, "big"))}
    header, claims = _decoded(case)
    head = b64url_encode(json.dumps({**header, "alg": "ES256", "jwk": jwk}).encode())
    body = b64url_encode(json.dumps(claims).encode())
    r, s = decode_dss_signature(private.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
    return replace(case, proof=f"{head}.{body}.{b64url_encode(r.to_bytes(48, 'big') + s.to_bytes(48, 'big'))}")


def _tamper(case: ProofCase) -> ProofCase:
    head, _body, sig = case.proof.split(".")
    _, claims = _decoded(case)
    claims["jti"] = claims["jti"] + "x"
    return replace(case, proof=f"{head}.{b64url_encode(json.dumps(claims).encode())}.{sig}")


def _other_key(case: ProofCase) -> ProofCase:
    """Signed by one key, carrying another key of the same algorithm in ``jwk``."""
    other = next(k for k in key_pool() if k.alg == case.key.alg and k is not case.key) if case.key.alg == "ES256" \
        else SigningKey.generate(case.key.alg) if case.key.alg == "EdDSA" else None
    if other is None:
        return _tamper(case)
    header, _ = _decoded(case)
    return _resign(case, header={**header, "jwk": dict(other.public_key.jwk)})


def _uri_change(case: ProofCase) -> ProofCase:
    scheme, rest = case.uri.split("://", 1)
    return replace(case, uri=("http" if scheme == "https" else "https") + "://" + rest)


#: name -> (how to break a valid case, Defect). Each breaks exactly one check of RFC 9449 §4.3.
DEFECTS: dict[str, tuple[Callable[[ProofCase], ProofCase], Defect]] = {
    name: (fn, Defect(name, err, detail)) for name, fn, err, detail in [
        ("malformed", lambda c: replace(c, proof=c.proof.rsplit(".", 1)[0]), InvalidDPoPProof, "ERR_JWS_MALFORMED"),
        ("typ_wrong", _with_header(typ="JWT"), InvalidDPoPProof, "ERR_JWS_TYP"),
        ("typ_missing", _with_header(typ=_DROP), InvalidDPoPProof, "ERR_JWS_TYP"),
        ("alg_none", _with_header(alg="none"), InvalidDPoPProof, "ERR_JWS_ALG_NOT_ALLOWED"),
        ("alg_symmetric", _with_header(alg="HS256"), InvalidDPoPProof, "ERR_JWS_ALG_NOT_ALLOWED"),
        ("alg_rs256", _with_header(alg="RS256"), InvalidDPoPProof, "ERR_JWS_ALG_NOT_ALLOWED"),
        ("jwk_missing", _with_header(jwk=_DROP), InvalidDPoPProof, "ERR_JWS_HEADER"),
        ("jwk_private", lambda c: _with_header(jwk={**c.key.public_key.jwk, "d": "AAAA"})(c),
         InvalidDPoPProof, "ERR_JWK_INVALID"),
        ("jwk_symmetric", _with_header(jwk={"kty": "oct", "k": "c2VjcmV0"}), InvalidDPoPProof, "ERR_JWK_INVALID"),
        ("jwk_curve", _foreign_p384, InvalidDPoPProof, "ERR_JWK_INVALID"),
        ("signature_tampered", _tamper, InvalidDPoPProof, "ERR_JWS_SIGNATURE_INVALID"),
        ("signature_other_key", _other_key, InvalidDPoPProof, "ERR_JWS_SIGNATURE_INVALID"),
        ("jti_missing", _with_claims(jti=_DROP), InvalidDPoPProof, "DPOP_CLAIM_MISSING"),
        ("jti_not_string", _with_claims(jti=12345), InvalidDPoPProof, "DPOP_CLAIM_INVALID"),
        ("jti_too_long", _with_claims(jti="j" * 257), InvalidDPoPProof, "DPOP_CLAIM_INVALID"),
        ("htm_missing", _with_claims(htm=_DROP), InvalidDPoPProof, "DPOP_CLAIM_MISSING"),
        ("htm_case", lambda c: replace(_with_claims(htm=c.method.lower())(c)), InvalidDPoPProof, "DPOP_HTM_MISMATCH"),
        ("htm_other", lambda c: replace(c, method=c.method + "X"), InvalidDPoPProof, "DPOP_HTM_MISMATCH"),
        ("htu_missing", _with_claims(htu=_DROP), InvalidDPoPProof, "DPOP_CLAIM_MISSING"),
        ("htu_not_uri", _with_claims(htu="not a uri"), InvalidDPoPProof, "DPOP_HTU_INVALID"),
        ("htu_other_scheme", _uri_change, InvalidDPoPProof, "DPOP_HTU_MISMATCH"),
        ("htu_other_path", lambda c: replace(c, uri=c.uri.rstrip("/") + "/other"), InvalidDPoPProof,
         "DPOP_HTU_MISMATCH"),
        ("iat_missing", _with_claims(iat=_DROP), InvalidDPoPProof, "DPOP_CLAIM_MISSING"),
        ("iat_string", lambda c: _with_claims(iat=str(int(c.now)))(c), InvalidDPoPProof, "DPOP_CLAIM_INVALID"),
        ("iat_bool", _with_claims(iat=True), InvalidDPoPProof, "DPOP_CLAIM_INVALID"),
        ("iat_too_old", lambda c: _with_claims(iat=int(c.now - c.policy.max_age) - 1)(c), InvalidDPoPProof,
         "DPOP_IAT_TOO_OLD"),
        ("iat_future", lambda c: _with_claims(iat=int(c.now + c.policy.max_future_skew) + 1)(c), InvalidDPoPProof,
         "DPOP_IAT_FUTURE"),
        ("nonce_missing", lambda c: _with_claims(nonce=_DROP)(replace(c, policy=DPoPPolicy(nonce_required=True))),
         UseDPoPNonce, "DPOP_NONCE_MISSING"),
        ("nonce_wrong", lambda c: _with_claims(nonce="bm90LWEtbm9uY2U")(replace(c, policy=DPoPPolicy(
            nonce_required=True))), UseDPoPNonce, "DPOP_NONCE_INVALID"),
        ("ath_missing", lambda c: _with_claims(ath=_DROP)(replace(c, access_token=c.access_token or _SAMPLE_AT)),
         InvalidDPoPProof, "DPOP_ATH_MISSING"),
        ("ath_wrong", lambda c: _with_claims(ath=access_token_hash("other"))(replace(
            c, access_token=c.access_token or _SAMPLE_AT)), InvalidDPoPProof, "DPOP_ATH_MISMATCH"),
        ("jkt_mismatch", lambda c: _with_claims(ath=access_token_hash(_SAMPLE_AT))(replace(
            c, access_token=_SAMPLE_AT, expected_jkt="A" * 43)), InvalidToken, "DPOP_JKT_MISMATCH"),
    ]
}


@st.composite
def defective_proofs(draw: st.DrawFn, *, now: float = FIXED_NOW, names: tuple[str, ...] | None = None
                     ) -> tuple[ProofCase, Defect]:
    """A valid case broken by one defect class (drawn from ``names``, all by default), and the expected error."""
    name = draw(st.sampled_from(sorted(names or DEFECTS)))
    make, defect = DEFECTS[name]
    base = draw(valid_proofs(now=now, nonce=False))
    return make(base), defect
