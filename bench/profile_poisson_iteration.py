#!/usr/bin/env python3
"""CPU seconds of one HeteroPoisson iteration's Paillier work, stage by stage, on one core.

    python bench/profile_poisson_iteration.py [--rows 5190] [--workers 1]

The example's whole dvisits table (guest 3 features, host 9), a 1024-bit key, the kernels the parties run
per batch piece, in this process (``--workers 1``: no pool, so that process_time is the whole cost):
the host's forward ([[exp(u_h)]] and [[u_h]] per row), the guest's residual ([[mu]] = exp(u_g) [[exp(u_h)]],
[[d]] = [[mu]] - y, obfuscated to be sent; [[X_g^T d]] and the loss terms) and the host's [[X_h^T d]].
CPU time is what a shared machine's load inflates least; compare with ``fate_paillier_costs.py``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fate_flow.components.hetero_lr.host import host_gradient_kernel  # noqa: E402
from fate_flow.components.hetero_poisson.guest import poisson_guest_batch_kernel  # noqa: E402
from fate_flow.components.hetero_poisson.host import poisson_host_forward_kernel  # noqa: E402
from fate_flow.secureprotol import generate_keypair, set_parallelism  # noqa: E402
from tests.component_harness import DATA, read_csv  # noqa: E402
from tests.test_hetero_linr_poisson import head  # noqa: E402


def timed(name: str, function, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    print(f"{name:34s} cpu {time.process_time() - cpu:6.3f} s   wall {time.perf_counter() - wall:6.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5190)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    set_parallelism(args.workers)
    guest = read_csv(DATA / "dvisits_hetero_guest.csv", True)
    host = read_csv(DATA / "dvisits_hetero_host.csv", False).align_to(guest.ids)
    guest, host = head(guest, args.rows), head(host, args.rows)
    public_key, _ = generate_keypair(1024)
    rng = np.random.RandomState(0)
    host_weights = rng.randn(len(host.header)) * 0.1
    guest_weights = rng.randn(len(guest.header) + 1) * 0.1
    public_key.encrypt_array(np.zeros(10))  # the obfuscation table, built once per key
    rows = len(guest)
    start = time.process_time()
    forward = timed("host forward (2 encryptions/row)", poisson_host_forward_kernel, public_key, host_weights,
                    rows, True, host, 0)
    residual, _ = timed("guest residual, gradient, loss", poisson_guest_batch_kernel, public_key, guest_weights,
                        True, rows, list(guest.header), None, guest, (0, [forward[0]]))
    timed("host gradient", host_gradient_kernel, public_key, rows, host, (0, residual))
    print(f"{'one iteration (no arbiter, no I/O)':34s} cpu {time.process_time() - start:6.3f} s on {rows} rows")


if __name__ == "__main__":
    main()
