"""``hardened demo``: run every part of the hardened flow that is built, on loopback, and say what is not.

Each step prints one line with its result; the exit status is 0 only when every step behaved as it should.
Steps that later components add (authority, authorization server, MCP server, agent) are listed as not built
yet; none is ever faked.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from hardened.errors import JoseError
from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, KeySet, SigningKey, Typ, b64url_encode, verify_jwt

__all__ = ["main"]

NOT_BUILT = (
    "authority: vet software and sign a statement",
    "authorization server: statement-gated registration, PAR, DPoP-bound tokens",
    "MCP server and agent: discovery, tools, step-up, token exchange",
)


class Steps:
    def __init__(self) -> None:
        self.failed = 0

    def run(self, name: str, step: Callable[[], str]) -> None:
        try:
            outcome = step()
            print(f"  ok    {name}: {outcome}")
        except Exception as exc:  # a demo step that misbehaves is reported, never hidden
            self.failed += 1
            print(f"  FAIL  {name}: {type(exc).__name__}: {exc}")


def _refused(call: Callable[[], object], code: str) -> str:
    try:
        call()
    except JoseError as err:
        if err.code != code:
            raise AssertionError(f"refused with {err.code}, expected {code}") from err
        return f"refused ({err.code})"
    raise AssertionError("was accepted")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hardened demo", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    now = time.time()
    steps = Steps()
    print("hardened demo: strict JOSE layer")
    keys = {alg: SigningKey.generate(alg) for alg in ("ES256", "EdDSA", "PS256")}
    authority = keys["ES256"]
    claims = {"iss": "https://authority.example", "iat": int(now), "exp": int(now) + 300, "software_id": "demo"}
    policy = JWTPolicy(
        jws=JWSPolicy(typ=Typ.SOFTWARE_STATEMENT),
        claims=ClaimsPolicy(issuer="https://authority.example", max_age=3600),
    )
    trusted = KeySet([authority.public_key])
    statement = authority.sign_jws(claims, typ=Typ.SOFTWARE_STATEMENT)
    for alg, key in keys.items():
        steps.run(f"sign and verify {alg}", lambda key=key: "verified, kid " + verify_jwt(
            key.sign_jws(claims, typ=Typ.SOFTWARE_STATEMENT), policy=policy, keys=KeySet([key.public_key]), now=now
        ).header["kid"][:12])
    steps.run("statement from the trusted key", lambda: "accepted for software_id " + verify_jwt(
        statement, policy=policy, keys=trusted, now=now).claims["software_id"])
    steps.run("a DPoP proof passed off as a statement", lambda: _refused(lambda: verify_jwt(
        authority.sign_jws(claims, typ=Typ.DPOP), policy=policy, keys=trusted, now=now), "ERR_JWS_TYP"))
    unsigned = b64url_encode(b'{"alg":"none","typ":"software-statement+jwt"}') + "." + statement.split(".")[1] + "."
    steps.run("an unsigned statement (alg none)", lambda: _refused(
        lambda: verify_jwt(unsigned, policy=policy, keys=trusted, now=now), "ERR_JWS_ALG_NOT_ALLOWED"))
    forged = keys["EdDSA"].sign_jws(claims, typ=Typ.SOFTWARE_STATEMENT)
    steps.run("a statement signed by an unknown key", lambda: _refused(
        lambda: verify_jwt(forged, policy=policy, keys=trusted, now=now), "ERR_JWK_NOT_FOUND"))
    steps.run("an expired statement", lambda: _refused(
        lambda: verify_jwt(statement, policy=policy, keys=trusted, now=now + 301), "ERR_JWT_EXPIRED"))
    for name in NOT_BUILT:
        print(f"  --    {name}: not built yet")
    print("demo " + ("passed" if not steps.failed else f"FAILED ({steps.failed} step(s))"))
    return 1 if steps.failed else 0
