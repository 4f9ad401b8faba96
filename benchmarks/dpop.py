"""DPoP resource-server check vs one raw ``cryptography`` signature verification (issue 3).

For each algorithm (ES256, EdDSA, PS256) it signs a pool of distinct proofs (own ``jti`` each, ``ath`` of one
token), then times, interleaved, in one run:

- ours: ``verify_dpop_proof`` in resource-server mode (parse, every RFC 9449 §4.3 check, signature, ``ath``,
  thumbprint against ``cnf.jkt``) plus the replay insert (``dpop_replay_key`` + ``MemoryReplayCache.unique``);
- jose: ``hardened.jose.verify_jws`` alone (what the JOSE layer costs of "ours");
- raw: one ``cryptography`` ``verify`` of the same signature, DER signature precomputed and key object prebuilt.

Each chunk of 10 proofs is timed under all three back to back, rotating the order. Short chunks (about 1 ms)
are often left alone by the scheduler of a shared machine, so the best chunk of each side is close to its true
cost. The figure is best(ours) / best(raw) over all chunks (as ``timeit`` advises: the least disturbed run of
each); the medians per side and the median of the adjacent pairs' ratios are printed beside it, as a check on a
shared machine. ``--profile`` adds a cProfile of ours.
Usage: ``python benchmarks/dpop.py [--rounds 30] [--pool 300] [--chunk 10] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from hardened.adapters.memory import MemoryReplayCache
from hardened.core.dpop import DPoPPolicy, build_dpop_proof, dpop_replay_key, verify_dpop_proof
from hardened.jose import SigningKey, b64url_decode, verify_jws

NOW = 1_767_225_600.0
URI = "https://mcp.example.com/mcp"
TOKEN = "pQ4Yq0m0oBq8wO1xgk3T3c9h6WZr3m8bqW2sQ1nVdYs"
_SHA256 = hashes.SHA256()


def _raw_verifier(alg: str, key: SigningKey, proofs: list[str]) -> Callable[[int], None]:
    """One cryptography verify per proof: inputs decoded and DER-encoded beforehand, key object built once."""
    public = key.public_key.key
    inputs, signatures = [], []
    for proof in proofs:
        head, body, sig = proof.split(".")
        raw = b64url_decode(sig)
        inputs.append(f"{head}.{body}".encode("ascii"))
        signatures.append(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
                          if alg == "ES256" else raw)
    if alg == "ES256":
        ecdsa = ec.ECDSA(_SHA256)
        return lambda i: public.verify(signatures[i], inputs[i], ecdsa)
    if alg == "EdDSA":
        return lambda i: public.verify(signatures[i], inputs[i])
    pss = padding.PSS(mgf=padding.MGF1(_SHA256), salt_length=32)
    return lambda i: public.verify(signatures[i], inputs[i], pss, _SHA256)


def _ours(key: SigningKey, proofs: list[str], policy: DPoPPolicy) -> tuple[Callable[[int], None], Callable[[], None]]:
    state = {"cache": MemoryReplayCache(max_entries=1_000_000)}
    jkt, ttl = key.thumbprint, policy.replay_ttl

    def check(i: int) -> None:
        verified = verify_dpop_proof(proofs[i], method="POST", uri=URI, policy=policy, now=NOW,
                                     access_token=TOKEN, expected_jkt=jkt)
        if not state["cache"].unique(dpop_replay_key(verified), ttl, NOW):
            raise AssertionError("replay cache refused a fresh proof")

    def reset() -> None:
        state["cache"] = MemoryReplayCache(max_entries=1_000_000)

    return check, reset


def _time(fn: Callable[[int], None], start: int, stop: int) -> float:
    begin = time.perf_counter()
    for i in range(start, stop):
        fn(i)
    return (time.perf_counter() - begin) / (stop - start)


def bench(alg: str, pool: int, rounds: int, profile: bool, chunk: int = 10) -> dict[str, float]:
    """Best and median per-check times of ours, jose and raw, and the median of ours/raw over adjacent chunks.

    The machine is shared: each chunk of proofs is timed under ours, jose and raw back to back (rotating order),
    so a pair sees the same load; best times give the figure, the median of the pair ratios is a cross-check.
    """
    key = SigningKey.generate(alg)
    policy = DPoPPolicy()
    proofs = [build_dpop_proof(key, htm="POST", htu=URI, iat=NOW, jti=f"jti-{i:06d}", access_token=TOKEN)
              for i in range(pool)]
    ours, reset = _ours(key, proofs, policy)
    jose_policy = policy._jws
    jose = lambda i: verify_jws(proofs[i], policy=jose_policy)  # noqa: E731
    raw = _raw_verifier(alg, key, proofs)
    samples: dict[str, list[float]] = {"ours": [], "jose": [], "raw": []}
    ratios: list[float] = []
    order = [("ours", ours), ("jose", jose), ("raw", raw)]
    for r in range(rounds):
        reset()
        for start in range(0, pool, chunk):
            stop = min(pool, start + chunk)
            took = {name: _time(fn, start, stop) for name, fn in order[r % 3:] + order[: r % 3]}
            ratios.append(took["ours"] / took["raw"])
            for name, value in took.items():
                samples[name].append(value)
    if profile:
        reset()
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [ours(i) for i in range(pool)])
        print(f"-- cProfile of ours, {alg} ({pool} checks), by own time")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(14)
    result = {name: min(values) for name, values in samples.items()}
    result.update({f"{name}_median": statistics.median(values) for name, values in samples.items()})
    result["pair_median"] = statistics.median(ratios)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pool", type=int, default=300)
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    rows = {alg: bench(alg, args.pool, args.rounds, args.profile, args.chunk) for alg in ("ES256", "EdDSA", "PS256")}
    print(f"{'alg':<6} {'ours us':>8} {'jose us':>8} {'raw us':>8} {'best o/r':>9} {'jose/raw':>9}"
          f" {'med ours':>9} {'med raw':>8} {'median o/r':>11}  goal")
    goals = {"ES256": 1.2, "EdDSA": 1.2, "PS256": 1.6}
    for alg, row in rows.items():
        ours, jose, raw = row["ours"], row["jose"], row["raw"]
        print(f"{alg:<6} {ours * 1e6:8.1f} {jose * 1e6:8.1f} {raw * 1e6:8.1f} {ours / raw:9.2f} {jose / raw:9.2f}"
              f" {row['ours_median'] * 1e6:9.1f} {row['raw_median'] * 1e6:8.1f} {row['pair_median']:11.2f}"
              f"  <= {goals[alg]}")
    for alg in ("ES256", "EdDSA", "PS256"):
        print(f"figure: dpop_rs_{alg.lower()}_ratio {rows[alg]['ours'] / rows[alg]['raw']:.2f}")


if __name__ == "__main__":
    main()
