"""Hypothesis strategies for software statements (HP-SS): valid ones, and every defect class with its error.

Use them to fuzz your own registration endpoint::

    from hardened.testing.software_statement import TestAuthority, valid_claims, CLAIM_DEFECTS, JOSE_DEFECTS

    authority = TestAuthority.create()                  # an issuer with a fresh ES256 key
    @given(valid_claims(authority.issuer, NOW))
    def test_accepts(claims): verify(authority.sign(claims))

``CLAIM_DEFECTS`` maps a defect name to a function ``(claims, now) -> claims``; ``JOSE_DEFECTS`` maps a name to
``(authority, claims) -> token``. Every one of them must be refused with ``invalid_software_statement``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from hardened.core.software_statement import DAY, TrustedAuthority
from hardened.jose import KeySet, SigningKey, Typ, b64url_encode

__all__ = [
    "CLAIM_DEFECTS",
    "JOSE_DEFECTS",
    "NOW",
    "REQUIRED_CLAIMS",
    "TestAuthority",
    "garbage",
    "valid_claims",
]

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
REQUIRED_CLAIMS = ("iss", "iat", "exp", "jti", "software_id", "org_id", "org_name", "client_name", "redirect_uris",
                   "scope", "token_endpoint_auth_method", "grant_types", "hardened_tier", "sender_constraint",
                   "attestation_required")


@dataclass
class TestAuthority:
    """An authority for tests: an issuer identifier and one signing key."""

    __test__ = False  # not a pytest test class
    issuer: str
    key: SigningKey

    @classmethod
    def create(cls, issuer: str = "https://authority.example", alg: str = "ES256") -> TestAuthority:
        return cls(issuer, SigningKey.generate(alg))

    def trusted(self) -> TrustedAuthority:
        return TrustedAuthority(self.issuer, KeySet([self.key.public_key]))

    def sign(self, claims: dict[str, Any], *, typ: str | None = Typ.SOFTWARE_STATEMENT,
             header: dict[str, Any] | None = None) -> str:
        # Serialised here, not by sign_jws: defects such as a non-finite ``exp`` must reach the verifier as the
        # (invalid) JSON an attacker would send, which sign_jws itself refuses to produce.
        payload = json.dumps(claims, separators=(",", ":")).encode()
        return self.key.sign_jws(payload, typ=typ, header=header)

    def base_claims(self, now: float = NOW, **overrides: Any) -> dict[str, Any]:
        claims = {
            "iss": self.issuer, "iat": int(now), "exp": int(now) + 30 * 86_400, "jti": "jti-" + "a" * 28,
            "software_id": "acme-agent", "org_id": "acme", "org_name": "Acme Trading Ltd", "client_name": "Acme Agent",
            "redirect_uris": ["https://agent.acme.example/cb"], "jwks_uri": "https://agent.acme.example/jwks.json",
            "scope": "trade:read trade:write", "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["authorization_code"], "hardened_tier": "hardened", "sender_constraint": "dpop",
            "attestation_required": False,
            "status": {"status_list": {"idx": 7, "uri": self.issuer + "/statements/status-list"}},
        }
        claims.update(overrides)
        return claims


_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._~:-]{0,40}", fullmatch=True)
_scope_tokens = st.lists(st.from_regex(r"[a-z]{1,8}(:[a-z]{1,8})?", fullmatch=True), min_size=1, max_size=5,
                         unique=True)
_https = st.builds(lambda host, path: f"https://{host}.example/{path}", st.from_regex(r"[a-z]{1,12}", fullmatch=True),
                   st.from_regex(r"[a-z0-9/]{0,20}", fullmatch=True))
_loopback = st.builds(lambda port, path: f"http://127.0.0.1:{port}/{path}", st.integers(1024, 65535),
                      st.from_regex(r"[a-z]{0,10}", fullmatch=True))


@st.composite
def valid_claims(draw: st.DrawFn, issuer: str, now: float = NOW, *, key_jwk: dict[str, Any] | None = None) -> dict:
    """A valid statement's claims for ``issuer`` at ``now``: every tier, binding and optional claim varies."""
    tier = draw(st.sampled_from(["hardened", "attested"]))
    lifetime = draw(st.integers(60, 365 * int(DAY)))
    age = draw(st.integers(-10, min(lifetime - 1, 300 * int(DAY))))
    claims: dict[str, Any] = {
        "iss": issuer, "iat": int(now) - age, "exp": int(now) - age + lifetime,
        "jti": draw(st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True)),
        "software_id": draw(_ids), "org_id": draw(_ids),
        "org_name": draw(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\x7f"),
                                 min_size=1, max_size=60).filter(str.isprintable)),
        "client_name": draw(st.from_regex(r"[A-Za-z][A-Za-z0-9 ]{0,40}", fullmatch=True)),
        "redirect_uris": draw(st.lists(st.one_of(_https, _loopback), min_size=1, max_size=4, unique=True)),
        "scope": " ".join(draw(_scope_tokens)),
        "token_endpoint_auth_method": draw(st.sampled_from(["private_key_jwt", "tls_client_auth",
                                                            "self_signed_tls_client_auth"])),
        "grant_types": draw(st.lists(st.sampled_from(["authorization_code", "refresh_token"]), min_size=1,
                                     max_size=2, unique=True)),
        "hardened_tier": tier, "sender_constraint": draw(st.sampled_from(["dpop", "mtls"])),
        "attestation_required": True if tier == "attested" else draw(st.booleans()),
        "status": {"status_list": {"idx": draw(st.integers(0, 2**20)), "uri": issuer + "/statements/status-list"}},
    }
    if key_jwk is not None and draw(st.booleans()):
        claims["jwks"] = {"keys": [key_jwk]}
    else:
        claims["jwks_uri"] = draw(_https)
    for name in ("logo_uri", "policy_uri", "tos_uri", "client_uri"):
        if draw(st.booleans()):
            claims[name] = draw(_https)
    if draw(st.booleans()):
        claims["software_version"] = draw(st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True))
    return claims


def _drop(name: str) -> Callable[[dict, float], dict]:
    return lambda c, now: {k: v for k, v in c.items() if k != name}


def _set(name: str, value: Any) -> Callable[[dict, float], dict]:
    return lambda c, now: {**c, name: value}


#: defect name -> (claims, now) -> defective claims. Each is refused with invalid_software_statement.
CLAIM_DEFECTS: dict[str, Callable[[dict, float], dict]] = {
    **{f"missing {name}": _drop(name) for name in REQUIRED_CLAIMS},
    "missing jwks and jwks_uri": lambda c, now: {k: v for k, v in c.items() if k not in ("jwks", "jwks_uri")},
    "expired": lambda c, now: {**c, "iat": int(now) - 100, "exp": int(now) - 1},
    "exp equals now": lambda c, now: {**c, "iat": int(now) - 100, "exp": int(now)},
    "iat in the future": lambda c, now: {**c, "iat": int(now) + 61, "exp": int(now) + 3600},
    "iat too old": lambda c, now: {**c, "iat": int(now) - 367 * int(DAY), "exp": int(now) + 3600},
    "lifetime too long": lambda c, now: {**c, "iat": int(now), "exp": int(now) + 367 * int(DAY)},
    "iat is a string": lambda c, now: {**c, "iat": str(int(now))},
    "exp is a boolean": _set("exp", True),
    "exp is infinite-ish": _set("exp", 1e400),
    "jti is a number": _set("jti", 12345678901234567890),
    "jti too short": _set("jti", "abc"),
    "software_id is a number": _set("software_id", 42),
    "software_id has spaces": _set("software_id", "acme agent"),
    "org_id is a list": _set("org_id", ["acme"]),
    "org_name is empty": _set("org_name", ""),
    "client_name too long": _set("client_name", "x" * 300),
    "client_name has a control character": _set("client_name", "Acme\nAgent"),
    "redirect_uris is a string": _set("redirect_uris", "https://agent.acme.example/cb"),
    "redirect_uris is empty": _set("redirect_uris", []),
    "redirect_uri over plain http": _set("redirect_uris", ["http://agent.acme.example/cb"]),
    "redirect_uri with a fragment": _set("redirect_uris", ["https://agent.acme.example/cb#x"]),
    "redirect_uri with user info": _set("redirect_uris", ["https://user@agent.acme.example/cb"]),
    "redirect_uri is relative": _set("redirect_uris", ["/cb"]),
    "scope is a list": _set("scope", ["trade:read"]),
    "scope has a quote": _set("scope", 'trade:read "x'),
    "scope has duplicates": _set("scope", "a a"),
    "grant_types is a string": _set("grant_types", "authorization_code"),
    "grant_types has implicit": _set("grant_types", ["implicit"]),
    "auth method none": _set("token_endpoint_auth_method", "none"),
    "auth method client_secret_basic": _set("token_endpoint_auth_method", "client_secret_basic"),
    "unknown tier": _set("hardened_tier", "gold"),
    "sender constraint bearer": _set("sender_constraint", "bearer"),
    "attestation_required is a string": _set("attestation_required", "true"),
    "attestation_required is a number": _set("attestation_required", 1),
    "attested tier without attestation": lambda c, now: {**c, "hardened_tier": "attested",
                                                         "attestation_required": False},
    "both jwks and jwks_uri": _set("jwks", {"keys": []}),
    "jwks_uri over http": lambda c, now: {**{k: v for k, v in c.items() if k != "jwks"},
                                          "jwks_uri": "http://agent.acme.example/jwks"},
    "jwks with a symmetric key": lambda c, now: {**{k: v for k, v in c.items() if k != "jwks_uri"},
                                                 "jwks": {"keys": [{"kty": "oct", "k": "AAAA"}]}},
    "logo_uri is javascript": _set("logo_uri", "javascript:alert(1)"),
    "contacts is a string": _set("contacts", "ops@acme.example"),
    "status idx negative": _set("status", {"status_list": {"idx": -1, "uri": "https://authority.example/sl"}}),
    "status idx boolean": _set("status", {"status_list": {"idx": True, "uri": "https://authority.example/sl"}}),
    "status uri over http": _set("status", {"status_list": {"idx": 1, "uri": "http://authority.example/sl"}}),
    "status is a string": _set("status", "valid"),
    "missing status": _drop("status"),
}


def _b64json(value: Any) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode())


def _unsigned(auth: TestAuthority, claims: dict, header: dict) -> str:
    return f"{_b64json(header)}.{_b64json(claims)}."


def _resigned_header(auth: TestAuthority, claims: dict, extra: dict) -> str:
    return auth.sign(claims, header=extra)


def _tampered(auth: TestAuthority, claims: dict) -> str:
    head, _, sig = auth.sign(claims).split(".")
    return f"{head}.{_b64json({**claims, 'scope': claims['scope'] + ' admin'})}.{sig}"


def _bad_signature(auth: TestAuthority, claims: dict) -> str:
    head, body, sig = auth.sign(claims).split(".")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    return f"{head}.{body}.{flipped}"


def _other_kind(typ: str) -> Callable[[TestAuthority, dict], str]:
    return lambda auth, claims: auth.sign(claims, typ=typ)


#: defect name -> (authority, valid claims) -> defective token. Each is refused with invalid_software_statement.
JOSE_DEFECTS: dict[str, Callable[[TestAuthority, dict], str]] = {
    "alg none": lambda a, c: _unsigned(a, c, {"alg": "none", "typ": Typ.SOFTWARE_STATEMENT}),
    "alg NONE": lambda a, c: _unsigned(a, c, {"alg": "NONE", "typ": Typ.SOFTWARE_STATEMENT}),
    "alg HS256": lambda a, c: _unsigned(a, c, {"alg": "HS256", "typ": Typ.SOFTWARE_STATEMENT}) + "c2ln",
    "alg RS256": lambda a, c: _unsigned(a, c, {"alg": "RS256", "typ": Typ.SOFTWARE_STATEMENT}) + "c2ln",
    "no typ": lambda a, c: a.sign(c, typ=None),
    "typ JWT": _other_kind("JWT"),
    **{f"typ {name}": _other_kind(value) for name, value in Typ.all().items() if value != Typ.SOFTWARE_STATEMENT},
    "tampered payload": _tampered,
    "bad signature": _bad_signature,
    "truncated signature": lambda a, c: a.sign(c)[:-8],
    "unknown kid": lambda a, c: a.sign(c, header={"kid": "not-a-known-key"}),
    "jku header": lambda a, c: a.sign(c, header={"jku": "https://evil.example/jwks"}),
    "x5u header": lambda a, c: a.sign(c, header={"x5u": "https://evil.example/cert"}),
    "embedded jwk header": lambda a, c: a.sign(c, header={"jwk": a.key.public_jwk()}),
    "crit header": lambda a, c: a.sign(c, header={"crit": ["exp"], "exp": 1}),
    "b64 false": lambda a, c: a.sign(c, header={"b64": False}),
    "JWE shape": lambda a, c: a.sign(c) + ".AAAA.BBBB",
    "two parts": lambda a, c: ".".join(a.sign(c).split(".")[:2]),
    "JSON serialization": lambda a, c: json.dumps({"payload": _b64json(c), "signatures": []}),
    "padded base64": lambda a, c: a.sign(c).replace(".", "=.", 1),
    "whitespace": lambda a, c: " " + a.sign(c),
    "duplicate header member": lambda a, c: b64url_encode(
        b'{"alg":"ES256","alg":"none","typ":"software-statement+jwt"}') + "." + a.sign(c).split(".", 1)[1],
    "oversized": lambda a, c: a.sign({**c, "padding": "x" * 20_000}),
}


def garbage() -> st.SearchStrategy[Any]:
    """Arbitrary values a verifier may be handed: text, dotted base64-ish text, bytes, numbers, None, JSON."""
    dotted = st.lists(st.from_regex(r"[A-Za-z0-9_=+/-]{0,40}", fullmatch=True), min_size=1, max_size=6).map(".".join)
    return st.one_of(st.text(max_size=200), dotted, st.binary(max_size=100), st.integers(), st.none(),
                     st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3))
