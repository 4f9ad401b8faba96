"""DPoP proof checks (RFC 9449 §4.3), pure: no I/O, no clock, no state. Replay and nonces are the caller's ports.

``verify_dpop_proof`` runs in two modes:

- authorization-server mode (``access_token=None``): a proof at the token or PAR endpoint, no ``ath``;
- resource-server mode (``access_token`` and ``expected_jkt`` given): ``ath`` and the token's ``cnf.jkt`` checked.

Order (RFC 9449 §4.3; step 1, exactly one ``DPoP`` header, is the web edge's):

2. one well-formed compact JWS, within its size limit;
4-7. ``typ`` ``dpop+jwt``; ``alg`` on the allow-list (asymmetric only); the embedded ``jwk`` a public, allowed key
   of that algorithm; the signature verified with it (all by ``hardened.jose.verify_jws``);
3. ``jti``, ``htm``, ``htu``, ``iat`` present with the right JSON types (read only after the signature verified);
8. ``htm`` equal to the request method, case-sensitively;
9. ``htu`` equal to the request URI after RFC 3986 normalisation, query and fragment ignored (``hardened.core.htu``);
10. the ``nonce`` when the policy requires one (``use_dpop_nonce`` otherwise);
11. ``iat`` inside the FAPI 2.0 window: at most ``max_future_skew`` ahead, at most ``max_age`` old;
12. at a resource: ``ath`` = base64url(SHA-256(token)) and the RFC 7638 thumbprint equal to ``cnf.jkt``.

Every failure is ``InvalidDPoPProof`` (or ``UseDPoPNonce``; ``InvalidToken`` when the key is not the one the
token is bound to, RFC 9449 §7.1). ``detail`` carries a stable code for logs and tests (``DPOP_*`` or the
``ERR_*`` code of the JOSE layer).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hardened.core.htu import normalize_htu
from hardened.errors import (
    ConfigurationError,
    InvalidDPoPProof,
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
    JoseError,
    UseDPoPNonce,
)
from hardened.jose import ALGORITHMS, JWSPolicy, PublicKey, SigningKey, Typ
from hardened.jose.jws import verify_jws_payload

__all__ = [
    "DPoPPolicy",
    "VerifiedDPoPProof",
    "access_token_hash",
    "bind_dpop_jkt",
    "build_dpop_proof",
    "check_dpop_jkt",
    "dpop_replay_key",
    "verify_dpop_proof",
]

MAX_CLAIM = 2048
#: 9999-12-31T23:59:59Z (as hardened.jose.claims): a larger NumericDate is malformed.
MAX_NUMERIC_DATE = 253_402_300_799
_new = object.__new__
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
MAX_HTM = 32


@dataclass(frozen=True, slots=True)
class DPoPPolicy:
    """What a server accepts as a DPoP proof. Defaults: FAPI 2.0 SP §5.3.2.1 clock rules, §5.4.1 algorithms."""

    algorithms: tuple[str, ...] = ("ES256", "PS256", "EdDSA")
    max_age: float = 60.0
    max_future_skew: float = 10.0
    nonce_required: bool = False
    max_jti: int = 256
    max_proof: int = 8192
    _jws: JWSPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.algorithms or any(a not in ALGORITHMS for a in self.algorithms):
            raise ConfigurationError(f"DPoP algorithms must be among {sorted(ALGORITHMS)}")
        if not 0 < self.max_age <= 3600:
            raise ConfigurationError("DPoP max_age must be between 0 and 3600 seconds")
        if not 0 <= self.max_future_skew <= 60:
            raise ConfigurationError("DPoP max_future_skew must be between 0 and 60 seconds (FAPI 2.0 SP)")
        if not 1 <= self.max_jti <= 1024 or not 512 <= self.max_proof <= 16384:
            raise ConfigurationError("DPoP max_jti or max_proof is out of range")
        jws = JWSPolicy(typ=Typ.DPOP, algorithms=self.algorithms, embedded_jwk=True, max_token=self.max_proof)
        object.__setattr__(self, "_jws", jws)

    @property
    def replay_ttl(self) -> float:
        """How long a ``jti`` must be remembered (RFC 9449 §11.1), counted from its first use: a proof with ``iat``
        up to ``max_future_skew`` ahead stays acceptable up to and including ``iat + max_age``, while a replay
        cache forgets a key at ``now + ttl``; one second more covers that last instant."""
        return self.max_age + self.max_future_skew + 1.0

    @property
    def algs_param(self) -> str:
        """The ``algs`` parameter of a ``WWW-Authenticate: DPoP`` challenge (RFC 9449 §7.1)."""
        return " ".join(self.algorithms)


@dataclass(frozen=True)
class VerifiedDPoPProof:
    """A proof that passed every check. ``jkt`` is the RFC 7638 thumbprint of its key; ``htu`` is normalised."""

    jkt: str
    jti: str
    htm: str
    htu: str
    iat: float
    nonce: str | None
    key: PublicKey = field(repr=False)

    @classmethod
    def _make(cls, jkt: str, jti: str, htm: str, htu: str, iat: float, nonce: str | None,
              key: PublicKey) -> VerifiedDPoPProof:
        """The frozen instance without the per-field ``object.__setattr__`` of the generated ``__init__`` (the
        resource-server hot path); same fields, same immutability."""
        self = _new(cls)
        values = self.__dict__
        values["jkt"], values["jti"], values["htm"], values["htu"] = jkt, jti, htm, htu
        values["iat"], values["nonce"], values["key"] = iat, nonce, key
        return self


def _invalid(description: str, code: str) -> InvalidDPoPProof:
    return InvalidDPoPProof(description, detail=code)


def access_token_hash(access_token: str) -> str:
    """RFC 9449 §4.2 ``ath``: base64url(SHA-256(ASCII octets of the access token))."""
    return _ath_bytes(access_token).decode("ascii")


_URLSAFE = bytes.maketrans(b"+/", b"-_")
_sha256 = hashlib.sha256
_compare = hmac.compare_digest


def _ath_bytes(access_token: str) -> bytes:
    # A SHA-256 digest is 32 bytes: 43 base64url characters after the one '=' of padding is cut.
    return binascii.b2a_base64(_sha256(access_token.encode("ascii")).digest(), newline=False)[:43].translate(_URLSAFE)


def _string(claims: dict[str, Any], name: str, max_len: int) -> str:
    value = claims.get(name)
    if value.__class__ is str and 0 < len(value) <= max_len:  # the common case, without further calls
        return value
    if value is None:
        raise _invalid(f"{name} claim is required", "DPOP_CLAIM_MISSING")
    raise _invalid(f"{name} claim is not a non-empty string of at most {max_len} characters", "DPOP_CLAIM_INVALID")


def _iat(claims: dict[str, Any]) -> float:
    value = claims.get("iat")
    if value.__class__ is int and 0 <= value <= MAX_NUMERIC_DATE:  # the common case: an integer NumericDate
        return float(value)
    if value is None:
        raise _invalid("iat claim is required", "DPOP_CLAIM_MISSING")
    # Range first: it refuses NaN, infinities and integers too large for a float without raising.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_NUMERIC_DATE:
        raise _invalid("iat claim is not a NumericDate", "DPOP_CLAIM_INVALID")
    return float(value)


def _check_htu(claim: str, uri: str) -> str:
    """RFC 9449 §4.3 step 9. ``uri`` is the server's own request URI; a claim equal to it needs no work."""
    expected = normalize_htu(uri)
    if claim == expected:
        return expected
    try:
        given = normalize_htu(claim)
    except InvalidDPoPProof:
        raise _invalid("htu claim is not an http(s) URI", "DPOP_HTU_INVALID") from None
    if given != expected:
        raise _invalid("htu claim does not match the request URI", "DPOP_HTU_MISMATCH")
    return expected


def _check_nonce(claims: dict[str, Any], policy: DPoPPolicy, nonce_ok: Callable[[str], bool] | None) -> str | None:
    """RFC 9449 §8-9: a required nonce must be present and one the server issued (recently)."""
    nonce = claims.get("nonce")
    if nonce is None:
        if policy.nonce_required:
            raise UseDPoPNonce("a DPoP nonce is required", detail="DPOP_NONCE_MISSING")
        return None
    if not isinstance(nonce, str) or not nonce or len(nonce) > 256:
        raise _invalid("nonce claim is not a short non-empty string", "DPOP_CLAIM_INVALID")
    if nonce_ok is not None and not nonce_ok(nonce):
        raise UseDPoPNonce("the DPoP nonce is invalid or expired", detail="DPOP_NONCE_INVALID")
    return nonce


def _check_iat(iat: float, policy: DPoPPolicy, now: float) -> None:
    """RFC 9449 §4.3 step 11 with FAPI 2.0 SP §5.3.2.1: <= ``max_future_skew`` ahead, <= ``max_age`` old."""
    if iat - now > policy.max_future_skew:
        raise _invalid("iat claim is in the future", "DPOP_IAT_FUTURE")
    if now - iat > policy.max_age:
        raise _invalid("DPoP proof is too old", "DPOP_IAT_TOO_OLD")
    if not iat - now <= policy.max_future_skew or not now - iat <= policy.max_age:
        raise ConfigurationError("now is not a finite number")  # fail closed: NaN compares false both ways


def _check_binding(claims: dict[str, Any], key: PublicKey, access_token: str, expected_jkt: str) -> None:
    """RFC 9449 §4.3 step 12 (§7.1): ``ath`` hashes this token; the proof key is the one the token is bound to."""
    ath = claims.get("ath")
    if ath is None:
        raise _invalid("ath claim is required with an access token", "DPOP_ATH_MISSING")
    try:
        wanted = _ath_bytes(access_token)
    except UnicodeEncodeError:
        raise InvalidToken("the access token is malformed", detail="TOKEN_NOT_ASCII") from None
    if not isinstance(ath, str) or not _same(ath, wanted):
        raise _invalid("ath claim does not match the access token", "DPOP_ATH_MISMATCH")
    if not _same(expected_jkt, key.thumbprint.encode("ascii")):
        raise InvalidToken("Invalid DPoP key binding", detail="DPOP_JKT_MISMATCH")


def _same(given: str, wanted: bytes) -> bool:
    """Constant-time comparison of a (possibly non-ASCII) string with ASCII bytes."""
    return _compare(given.encode("utf-8", "replace"), wanted)


def verify_dpop_proof(
    proof: Any,
    *,
    method: str,
    uri: str,
    policy: DPoPPolicy,
    now: float,
    access_token: str | None = None,
    expected_jkt: str | None = None,
    nonce_ok: Callable[[str], bool] | None = None,
) -> VerifiedDPoPProof:
    """Check one DPoP proof (RFC 9449 §4.3) for the request ``method`` ``uri`` at time ``now``; see module doc."""
    if (access_token is None) != (expected_jkt is None):
        raise ConfigurationError("resource-server mode needs both access_token and expected_jkt")
    if policy.nonce_required and nonce_ok is None:
        raise ConfigurationError("a policy that requires DPoP nonces needs a nonce check")
    try:  # 2, 4-7
        claims, key = verify_jws_payload(proof, policy=policy._jws)
    except JoseError as err:
        raise InvalidDPoPProof.from_jose(err, "DPoP proof: ") from None
    jti = _string(claims, "jti", policy.max_jti)  # 3
    htm = _string(claims, "htm", MAX_HTM)
    htu = _string(claims, "htu", MAX_CLAIM)
    iat = _iat(claims)
    if htm != method:  # 8
        raise _invalid("htm claim does not match the request method", "DPOP_HTM_MISMATCH")
    if htu != normalize_htu(uri):  # 9 (a claim already equal to the normal form needs no work)
        htu = _check_htu(htu, uri)
    nonce = claims.get("nonce")  # 10
    if nonce is not None or policy.nonce_required:
        nonce = _check_nonce(claims, policy, nonce_ok)
    if not (iat - now <= policy.max_future_skew and now - iat <= policy.max_age):  # 11
        _check_iat(iat, policy, now)
    if access_token is not None and expected_jkt is not None:  # 12
        _check_binding(claims, key, access_token, expected_jkt)
    return VerifiedDPoPProof._make(key.thumbprint, jti, htm, htu, iat, nonce, key)


def dpop_replay_key(proof: VerifiedDPoPProof) -> str:
    """RFC 9449 §11.1 replay key: SHA-256 of (normalised ``htu``, ``jti``, key thumbprint), never the proof text."""
    return _sha256(f"dpop\x00{proof.htu}\x00{proof.jti}\x00{proof.jkt}".encode("utf-8", "surrogatepass")).hexdigest()


def build_dpop_proof(
    key: SigningKey,
    *,
    htm: str,
    htu: str,
    iat: float,
    jti: str,
    nonce: str | None = None,
    access_token: str | None = None,
) -> str:
    """A DPoP proof (RFC 9449 §4.2) signed by ``key``: query and fragment are cut from ``htu``; ``ath`` when a
    token is given. ``jti`` comes from the caller (``secrets.token_urlsafe(16)`` or a test's fixed value)."""
    claims: dict[str, Any] = {"jti": jti, "htm": htm, "htu": htu.split("#", 1)[0].split("?", 1)[0], "iat": int(iat)}
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    return key.sign_jws(claims, typ=Typ.DPOP, header={"jwk": dict(key.public_key.jwk)}, include_kid=False)


def _jkt_syntax(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 43 or not _B64URL.fullmatch(value):
        raise InvalidRequest("dpop_jkt is not a base64url SHA-256 JWK thumbprint", detail="DPOP_JKT_SYNTAX")
    return value


def bind_dpop_jkt(dpop_jkt: Any, proof: VerifiedDPoPProof | None) -> str | None:
    """RFC 9449 §10 (and §10.1 with PAR): the thumbprint an authorization code is bound to, or None.

    ``dpop_jkt`` is the authorization request parameter (None when absent); ``proof`` the DPoP proof sent to the
    PAR endpoint, if any. When both are present they must name the same key.
    """
    if dpop_jkt is not None:
        jkt = _jkt_syntax(dpop_jkt)
        if proof is not None and not hmac.compare_digest(jkt, proof.jkt):
            raise _invalid("dpop_jkt does not match the DPoP proof key", "DPOP_JKT_PAR_MISMATCH")
        return jkt
    return proof.jkt if proof is not None else None


def check_dpop_jkt(bound_jkt: str | None, proof: VerifiedDPoPProof | None) -> None:
    """RFC 9449 §10: a code bound to a key is redeemed only with a DPoP proof of that key (``invalid_grant``)."""
    if bound_jkt is None:
        return
    if proof is None:
        raise InvalidGrant("this authorization code requires a DPoP proof", detail="DPOP_JKT_PROOF_MISSING")
    if not hmac.compare_digest(bound_jkt, proof.jkt):
        raise InvalidGrant("the DPoP proof key is not the one the code is bound to", detail="DPOP_JKT_MISMATCH")
