"""Hypothesis strategies for attestation requests (``hardened.core.attestation_request``): how a registered
instance asks the authority, acting as Client Attester, for a Client Attestation JWT.

An :class:`InstanceWorld` holds a registered instance key (and an unregistered one), the instance id, the
attestation endpoint (the request's ``aud``) and a fixed ``now``; it is itself the ``InstanceKeys`` lookup.

- :func:`valid_requests` draws accepted requests (varied ``iat`` within the window, with and without ``exp``,
  ``jti``, ``client_id``, extra claims that must be ignored);
- :func:`defective_requests` draws one defect of :data:`REQUEST_DEFECTS`, with the exact ``detail`` code the
  check must answer (always :class:`~hardened.errors.InvalidClient`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from hardened.core.attestation_request import ATTESTATION_REQUEST_TYP, RegisteredInstanceKey
from hardened.jose import SigningKey, Typ, b64url_encode

__all__ = ["REQUEST_DEFECTS", "InstanceWorld", "RequestCase", "defective_requests", "valid_requests"]

NOW = 1_767_225_600.0  # hardened.clock.FixedClock's default
CLIENT_IDS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64)
OTHER_INSTANCES = ("acme-agent-2", "ACME-AGENT-1", "acme-agent-1 ")
JTIS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64)


@dataclass(frozen=True)
class RequestCase:
    defect: str
    token: str
    detail: str | None = None  # None: accepted


@dataclass(frozen=True)
class InstanceWorld:
    instance_id: str
    key: SigningKey
    other_key: SigningKey
    audience: str
    now: float = NOW

    @classmethod
    def create(cls, alg: str = "ES256", *, audience: str = "https://authority.example/attester/attestations"
               ) -> InstanceWorld:
        return cls("acme-agent-1", SigningKey.generate(alg), SigningKey.generate(alg), audience)

    def get(self, jkt: str, /) -> RegisteredInstanceKey | None:
        return RegisteredInstanceKey(self.instance_id, self.key.public_key) if jkt == self.key.thumbprint else None

    def claims(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"iss": self.instance_id, "aud": self.audience, "client_id": "client-1",
                                "jti": "jti-1", "iat": int(self.now), "exp": int(self.now) + 60}
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not None}

    def request(self, *, key: SigningKey | None = None, header: dict[str, Any] | None = None,
                typ: str | None = ATTESTATION_REQUEST_TYP, **claims: Any) -> str:
        signer = key or self.key
        hdr = {"kid": self.key.thumbprint, **(header or {})}
        return signer.sign_jws(self.claims(**claims), typ=typ, header=hdr, include_kid=False)

    def unsigned(self) -> str:
        head = b64url_encode(json.dumps({"alg": "none", "typ": ATTESTATION_REQUEST_TYP,
                                         "kid": self.key.thumbprint}).encode())
        return f"{head}.{b64url_encode(json.dumps(self.claims()).encode())}."


@st.composite
def valid_requests(draw: st.DrawFn, world: InstanceWorld) -> RequestCase:
    iat = int(world.now) - draw(st.integers(0, 59)) + draw(st.integers(0, 10)) * draw(st.booleans())
    exp = draw(st.one_of(st.none(), st.integers(int(world.now) + 1, iat + 300)))
    extra = draw(st.dictionaries(st.sampled_from(["nonce", "x-extra", "sub"]), st.text(max_size=8), max_size=2))
    token = world.request(iat=iat, exp=exp, jti=draw(JTIS), client_id=draw(CLIENT_IDS), **extra)
    return RequestCase("none", token)


def _defects(world: InstanceWorld) -> dict[str, tuple[Callable[[st.DrawFn], str], str]]:
    now = int(world.now)
    return {
        "unregistered_key": (lambda d: world.request(key=world.other_key, header={"kid": world.other_key.thumbprint}),
                             "ERR_ATTREQ_UNKNOWN_KEY"),
        "no_kid": (lambda d: world.key.sign_jws(world.claims(), typ=ATTESTATION_REQUEST_TYP, include_kid=False),
                   "ERR_ATTREQ_KID"),
        "signed_by_another_key": (lambda d: world.request(key=world.other_key), "ERR_JWS_SIGNATURE_INVALID"),
        "unsigned": (lambda d: world.unsigned(), "ERR_JWS_ALG_NOT_ALLOWED"),
        "jwt_of_another_kind": (lambda d: world.request(typ=d(st.sampled_from(
            [Typ.CLIENT_ATTESTATION, Typ.CLIENT_ATTESTATION_POP, Typ.DPOP, Typ.CLIENT_ASSERTION]))), "ERR_JWS_TYP"),
        "embedded_jwk": (lambda d: world.request(header={"jwk": world.key.public_jwk()}), "ERR_JWS_HEADER"),
        "other_instance": (lambda d: world.request(iss=d(st.sampled_from(OTHER_INSTANCES))), "ERR_JWT_ISSUER"),
        "wrong_audience": (lambda d: world.request(aud=world.audience + d(st.sampled_from(["/", "x", "?a=1"]))),
                           "ERR_JWT_AUDIENCE"),
        "audience_array": (lambda d: world.request(aud=[world.audience]), "ERR_JWT_CLAIM_INVALID"),
        "stale": (lambda d: world.request(iat=now - d(st.integers(61, 10**6)), exp=None), "ERR_JWT_TOO_OLD"),
        "future": (lambda d: world.request(iat=now + d(st.integers(11, 10**6)), exp=None), "ERR_JWT_NOT_YET_VALID"),
        "expired": (lambda d: world.request(iat=now - 30, exp=now - d(st.integers(0, 29))), "ERR_JWT_EXPIRED"),
        "too_long_lifetime": (lambda d: world.request(exp=now + d(st.integers(301, 10**6))), "ERR_JWT_CLAIM_INVALID"),
        "no_jti": (lambda d: world.request(jti=None), "ERR_JWT_CLAIM_MISSING"),
        "no_client_id": (lambda d: world.request(client_id=None), "ERR_JWT_CLAIM_MISSING"),
        "bad_client_id": (lambda d: world.request(client_id=d(st.sampled_from(["", "a b", "x" * 256, 7, ["c"], "é"]))),
                          "ERR_ATTREQ_CLIENT_ID"),
    }


REQUEST_DEFECTS = tuple(_defects(InstanceWorld("i", None, None, "a")))  # type: ignore[arg-type]


@st.composite
def defective_requests(draw: st.DrawFn, world: InstanceWorld) -> RequestCase:
    defects = _defects(world)
    name = draw(st.sampled_from(sorted(defects)))
    build, detail = defects[name]
    return RequestCase(name, build(draw), detail)
