"""Cost of hardened's JWT verification against a raw ``cryptography`` signature verify (issue 2, HP-JOSE).

For each algorithm (ES256, EdDSA, PS256) one signed token is verified in a loop, in one run:

- ``hardened``: ``verify_jwt`` with a ``KeySet`` and a ``ClaimsPolicy`` (typ, alg allow-list, sizes, strict
  base64url and JSON, duplicate members, key lookup by ``kid``, signature, then ``exp``/``iat``/``iss``/``aud``):
  the whole check a relying party runs on a token, nothing skipped.
- ``raw``: ``cryptography``'s ``verify`` of the same signature over the same signing input, with everything that
  can be precomputed done outside the loop (for ES256 the R || S signature is converted to DER beforehand).

Each time is the best of ``ROUNDS`` rounds of ``ITERATIONS`` calls (``time.perf_counter``), the rounds of the two
sides interleaved (alternating which goes first) so that both see the same machine load. Rounds are short (about
1 ms), so many of them run undisturbed on a shared machine and the minimum is the estimate least disturbed by
other processes. The figure is best(hardened) / best(raw); the table also shows each side's median and the median
ratio of adjacent rounds, a second estimate that is robust on a loaded machine. The goal is <= 1.2 for ES256 and
EdDSA.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from hardened.jose import (
    ClaimsPolicy,
    JWSPolicy,
    JWTPolicy,
    KeySet,
    SigningKey,
    Typ,
    b64url_decode,
    verify_jwt,
)

ROUNDS = 400
ITERATIONS = 20
NOW = 1_767_225_600.0
ISSUER = "https://as.example"
AUDIENCE = "https://mcp.example/mcp"


def best_of(call: Callable[[], object], rounds: int = ROUNDS, iterations: int = ITERATIONS) -> float:
    """Best mean seconds per call over ``rounds`` rounds of ``iterations`` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(iterations):
            call()
        best = min(best, (time.perf_counter() - start) / iterations)
    return best


def raw_verifier(alg: str, key: SigningKey, token: str) -> Callable[[], object]:
    """``cryptography``'s own verify of the token's signature, all conversions done beforehand."""
    head, payload, sig = token.split(".")
    data = f"{head}.{payload}".encode("ascii")
    signature = b64url_decode(sig)
    public = key.public_key.key
    if alg == "ES256":
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        algorithm = ec.ECDSA(hashes.SHA256())
        return lambda: public.verify(der, data, algorithm)
    if alg == "EdDSA":
        return lambda: public.verify(signature, data)
    pss, sha = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
    return lambda: public.verify(signature, data, pss, sha)


def measure(alg: str) -> tuple[float, float, float, float, float]:
    """Best and median times of ours and of raw, and the median ratio of adjacent (same-load) rounds."""
    key = SigningKey.generate(alg)
    claims = {"iss": ISSUER, "sub": "agent-7", "aud": AUDIENCE, "iat": int(NOW) - 5, "exp": int(NOW) + 300,
              "jti": "b1d3c0a4-55e1-4f6e-9d1a-8f4c2e7b9a10", "scope": "trades:read", "client_id": "agent-7"}
    token = key.sign_jws(claims, typ=Typ.ACCESS_TOKEN)
    keys = KeySet([SigningKey.generate(alg).public_key, key.public_key])  # lookup by kid among two keys
    policy = JWTPolicy(jws=JWSPolicy(typ=Typ.ACCESS_TOKEN, algorithms=(alg,)),
                       claims=ClaimsPolicy(issuer=ISSUER, audience=AUDIENCE, max_age=3600))
    ours = lambda: verify_jwt(token, policy=policy, keys=keys, now=NOW)  # noqa: E731
    raw = raw_verifier(alg, key, token)
    ours()
    raw()
    all_ours, all_raw, paired = [], [], []
    for n in range(ROUNDS):
        if n % 2:
            o, r = best_of(ours, rounds=1), best_of(raw, rounds=1)
        else:
            r, o = best_of(raw, rounds=1), best_of(ours, rounds=1)
        all_ours.append(o)
        all_raw.append(r)
        paired.append(o / r)
    return min(all_ours), min(all_raw), statistics.median(all_ours), statistics.median(all_raw), \
        statistics.median(paired)


def main() -> int:
    print(f"hardened.jose verify_jwt (KeySet + claims) vs raw cryptography verify; best of {ROUNDS} x {ITERATIONS}")
    print(f"{'alg':<7}{'hardened µs':>13}{'raw µs':>10}{'overhead µs':>13}{'ratio':>8}{'med hardened':>14}"
          f"{'med raw':>9}{'median pair':>13}")
    ratios = {}
    for alg in ("ES256", "EdDSA", "PS256"):
        ours, raw, med_ours, med_raw, median = measure(alg)
        ratios[alg] = ours / raw
        print(f"{alg:<7}{ours * 1e6:>13.1f}{raw * 1e6:>10.1f}{(ours - raw) * 1e6:>13.1f}{ratios[alg]:>8.2f}"
              f"{med_ours * 1e6:>14.1f}{med_raw * 1e6:>9.1f}{median:>13.2f}")
    for alg in ("ES256", "EdDSA", "PS256"):
        print(f"figure: jose_verify_{alg.lower()}_ratio {ratios[alg]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
