#!/usr/bin/env python3
"""The cost of each Paillier operation done as FATE 1.4.5 does it, and FATE's crypto-only time bound.

    python bench/fate_paillier_costs.py [--counts bench/paillier_op_counts.json] [--iterations 20]

FATE 1.4.5 (federatedml/secureprotol/fate_paillier.py with gmpy_math) on a 1024-bit key, one core, no
fixed-base tables:
  encryption      (1 + n m) mod n^2 times a fresh obfuscator powmod(r, n, n^2), r uniform below n
  scalar mult     powmod(c, k, n^2) with k the fixed-point mantissa of a float: 53 bits (FATE encodes a
                  float with frexp's 53 significant bits)
  addition        c1 c2 mod n^2 (exponents already aligned: the cheap case, so a lower bound)
  decryption      the CRT: powmod(c, p - 1, p^2) and powmod(c, q - 1, q^2), L(.) and the recombination
Each is timed with gmpy2 on this machine in CPU seconds (time.process_time: the machine is shared, and
CPU time is what a loaded machine inflates least). With the counts of ``count_paillier_ops.py`` (one
iteration of the protocol; the guest's intercept column is taken out of the scalar mults, as FATE sums
[[d]] for it) it prints FATE's crypto-only time per iteration and for the example's iterations: a lower
bound of FATE's time (it leaves out everything but these operations: serialisation, federation, the
Python object per ciphertext, ...).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import gmpy2

ROOT = Path(__file__).resolve().parent.parent
KEY_BITS = 1024
MANTISSA_BITS = 53


def keypair(bits: int, rng: random.Random) -> tuple:
    """(n, p, q) with p, q primes of bits/2 bits each and n of exactly ``bits`` bits."""
    while True:
        p = gmpy2.next_prime(gmpy2.mpz(rng.getrandbits(bits // 2) | (1 << (bits // 2 - 1))))
        q = gmpy2.next_prime(gmpy2.mpz(rng.getrandbits(bits // 2) | (1 << (bits // 2 - 1))))
        if p != q and (p * q).bit_length() == bits:
            return p * q, p, q


def cpu_seconds_per_call(operation, reps: int) -> float:
    start = time.process_time()
    for i in range(reps):
        operation(i)
    return (time.process_time() - start) / reps


def measure(reps: int = 400) -> dict[str, float]:
    rng = random.Random(7)
    system = random.SystemRandom()
    n, p, q = keypair(KEY_BITS, rng)
    nsquare = n * n
    plaintexts = [gmpy2.mpz(rng.getrandbits(KEY_BITS - 2)) for _ in range(reps)]

    def encrypt(i):
        nude = (n * plaintexts[i] + 1) % nsquare
        return nude * gmpy2.powmod(gmpy2.mpz(system.randrange(1, int(n))), n, nsquare) % nsquare

    ciphertexts = [encrypt(i) for i in range(reps)]
    scalars = [gmpy2.mpz(rng.getrandbits(MANTISSA_BITS) | (1 << (MANTISSA_BITS - 1))) for _ in range(reps)]
    psquare, qsquare = p * p, q * q
    hp = gmpy2.invert((gmpy2.powmod(n + 1, p - 1, psquare) - 1) // p, p)
    hq = gmpy2.invert((gmpy2.powmod(n + 1, q - 1, qsquare) - 1) // q, q)
    q_inverse = gmpy2.invert(q, p)

    def decrypt(i):
        c = ciphertexts[i]
        mp = (gmpy2.powmod(c, p - 1, psquare) - 1) // p * hp % p
        mq = (gmpy2.powmod(c, q - 1, qsquare) - 1) // q * hq % q
        return mq + ((mp - mq) * q_inverse % p) * q

    assert decrypt(0) == plaintexts[0] % n, "the CRT decryption should invert the encryption"
    return {
        "encryption": cpu_seconds_per_call(encrypt, reps),
        "scalar_mult": cpu_seconds_per_call(lambda i: gmpy2.powmod(ciphertexts[i], scalars[i], nsquare), reps),
        "addition": cpu_seconds_per_call(lambda i: ciphertexts[i % reps] * ciphertexts[i % reps - 1] % nsquare,
                                         reps * 20),
        "decryption": cpu_seconds_per_call(decrypt, reps),
    }


def fate_bound(counts: dict, costs: dict[str, float]) -> float:
    """FATE's crypto-only seconds for one iteration with ``counts``."""
    mults = counts["scalar_mults"] - counts["rows"]  # FATE sums [[d]] for the intercept
    return (counts["encryptions"] * costs["encryption"] + mults * costs["scalar_mult"]
            + counts["additions"] * costs["addition"] + counts["decryptions"] * costs["decryption"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default=str(ROOT / "bench" / "paillier_op_counts.json"))
    parser.add_argument("--iterations", type=int, default=20, help="the examples' iterations (both run 20)")
    args = parser.parse_args()
    costs = measure()
    print("FATE 1.4.5-style cost per operation, 1024-bit key, one core (CPU ms): "
          + ", ".join(f"{k} {v * 1e3:.4f}" for k, v in costs.items()))
    for module, counts in json.loads(Path(args.counts).read_text()).items():
        per_iteration = fate_bound(counts, costs)
        print(f"{module:14s} FATE crypto-only lower bound {per_iteration:6.2f} s/iteration, "
              f"{per_iteration * args.iterations:7.1f} s for {args.iterations} iterations")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
