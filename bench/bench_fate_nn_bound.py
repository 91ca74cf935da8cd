"""A lower bound of FATE 1.4.5's time for its HeteroNN example (test_hetero_nn_keras.json), from its
Paillier operations alone: the operations one epoch of the protocol needs, each timed as FATE 1.4.5's
``fate_paillier`` does it with plain gmpy2 on one core, 1024-bit key.

    python bench/bench_fate_nn_bound.py [--rows 569] [--host-width 3] [--units 2] [--epochs 100]

Per epoch (one full batch of n rows, host bottom width h, u interactive units), by value, as the
protocol defines them (FATE makes one EncryptedNumber per value):
- encryptions: Enc(alpha_h) n*h and Enc(A) h*u; FATE: ``(1 + n*m) * powmod(r, n, n^2)`` each;
- decryptions: the forward n*u, the weight gradient h*u, the host's input gradient n*h; FATE: CRT,
  ``powmod(c, p-1, p^2)`` and ``powmod(c, q-1, q^2)`` each;
- products by a plaintext float: [[alpha_h]] W_h n*h*u, [[alpha_h]]^T delta n*h*u, delta [[A]]^T
  n*h*u; FATE: ``powmod(c, mantissa, n^2)`` with a float's 53-bit mantissa.
The cost of each is ``fate_paillier_costs.measure()`` (HeteroLinR's bound uses the same).
Left out, so the figure stays a lower bound: additions and exponent alignments, the obfuscation
of results, FATE's second (evaluation) forward pass per batch, serialisation, messages, the networks.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fate_paillier_costs import measure  # noqa: E402  (FATE 1.4.5's cost of each operation, CPU time)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=569)
    parser.add_argument("--host-width", type=int, default=3)
    parser.add_argument("--units", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    costs = measure()
    rows, h, u = args.rows, args.host_width, args.units
    counts = {"encryption": rows * h + h * u, "decryption": rows * u + h * u + rows * h,
              "scalar_mult": 3 * rows * h * u}
    epoch = sum(costs[op] * counts[op] for op in counts)
    for op in counts:
        print(f"{op:11s} {counts[op]:6d} per epoch x {costs[op] * 1e3:.3f} ms = {costs[op] * counts[op]:.2f} s")
    print(f"FATE 1.4.5 lower bound: {epoch:.2f} s per epoch, {epoch * args.epochs / 60:.1f} min for "
          f"{args.epochs} epochs (one core, Paillier operations only)")


if __name__ == "__main__":
    main()
