"""Paillier benchmark: fate_flow.secureprotol against python-paillier (phe) on this machine.

Usage: python bench/bench_paillier.py [--json FILE] [--quick]

Both libraries use 1024-bit keys and gmpy2. For every operation it prints ops/s for ours
and for phe and the speed-up. "1 core" rows run with the worker pool disabled; "pool"
rows use all cores (the pool is started and warmed up before timing). phe is single-core
by design, so pool rows compare all of our cores with one of phe's: read them as "what a
task gets", and the 1-core rows as the like-for-like comparison.

The dot rows compute X^T . [[d]] (HeteroLR's gradient): phe does it as FATE does, one
scalar multiplication and one addition per (row, feature). For 10,000 x 30, phe is timed
on the first 1,000 rows and scaled linearly (its cost is exactly linear in rows).
Takes about 50 s on 2 cores (``--quick``: about 15 s, smaller sizes).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from phe import paillier as phe_paillier  # noqa: E402

from fate_flow.secureprotol import generate_keypair, set_parallelism, shutdown_pool  # noqa: E402
from fate_flow.secureprotol import EncryptedArray, PaillierPublicKey  # noqa: E402
from fate_flow.secureprotol.gmpy_math import HAVE_GMP  # noqa: E402
from machine import machine  # noqa: E402

KEY_BITS = 1024


def timed(func, *args):
    """Return (seconds, result) of one call."""
    start = time.perf_counter()
    result = func(*args)
    return time.perf_counter() - start, result


def best_of(repeats: int, func, *args):
    """Return (fastest seconds, result) over ``repeats`` calls: other load only slows runs down."""
    runs = [timed(func, *args) for _ in range(repeats)]
    return min(runs, key=lambda run: run[0])


def machine_info() -> dict:
    import gmpy2

    return machine(gmpy2=gmpy2.version(), gmp=gmpy2.mp_version(), have_gmp=HAVE_GMP)


class Bench:
    """Collects rows of (operation, ours ops/s, phe ops/s) and prints them as they come."""

    def __init__(self):
        self.rows = []

    def row(self, name: str, ours_count: int, ours_seconds: float, phe_count: int | None,
            phe_seconds: float | None, note: str = "") -> None:
        ours = ours_count / ours_seconds
        phe = phe_count / phe_seconds if phe_seconds else None
        speedup = ours / phe if phe else None
        self.rows.append({"operation": name, "ours_ops_s": ours, "phe_ops_s": phe,
                          "speedup": speedup, "note": note})
        phe_text = _rate(phe) if phe else f"{'-':>12}"
        speed_text = f"{speedup:8.1f}x" if speedup else f"{'-':>9}"
        print(f"{name:<44} {_rate(ours)} {phe_text} {speed_text}  {note}", flush=True)


def _rate(ops_per_second: float) -> str:
    return f"{ops_per_second:12,.0f}" if ops_per_second >= 100 else f"{ops_per_second:12,.2f}"


def bench_single_numbers(bench: Bench, ours, theirs, n_ops: int, rng) -> dict:
    """Per-number API rows; returns phe's rates, the reference for the batch rows."""
    pk, sk = ours
    ppk, psk = theirs
    values = rng.normal(size=n_ops).tolist()
    t_ours, enc = best_of(2, lambda: [pk.encrypt(v) for v in values])
    t_phe, penc = timed(lambda: [ppk.encrypt(v) for v in values[: n_ops // 2]])
    bench.row("encrypt, one number at a time (1 core)", n_ops, t_ours, n_ops // 2, t_phe)
    t_ours, _ = best_of(2, lambda: [sk.decrypt(x) for x in enc])
    t_phe, _ = timed(lambda: [psk.decrypt(x) for x in penc])
    bench.row("decrypt, one number at a time (1 core)", n_ops, t_ours, len(penc), t_phe)
    pairs = list(zip(enc, enc[1:] + enc[:1]))
    ppairs = list(zip(penc, penc[1:] + penc[:1]))
    t_ours, _ = best_of(2, lambda: [a + b for a, b in pairs for _ in range(5)])
    t_phe, _ = timed(lambda: [a + b for a, b in ppairs for _ in range(5)])
    bench.row("add enc+enc, numbers (exponents differ)", 5 * len(pairs), t_ours, 5 * len(ppairs), t_phe)
    scalars = rng.normal(size=n_ops).tolist()
    t_ours, _ = best_of(2, lambda: [x * s for x, s in zip(enc, scalars)])
    t_phe, _ = timed(lambda: [x * s for x, s in zip(penc, scalars)])
    bench.row("scalar-mul enc*float, numbers", len(enc), t_ours, len(penc), t_phe)
    return dict(zip(("encrypt", "decrypt", "add", "mul"), (r["phe_ops_s"] for r in bench.rows[-4:])))


def bench_batches(bench: Bench, ours, theirs, n_values: int, rng, phe_rates: dict) -> None:
    pk, sk = ours
    values = rng.normal(size=n_values)
    for label, workers in (("1 core", 1), ("pool", None)):
        set_parallelism(workers)
        t_enc, enc = best_of(3, pk.encrypt_array, values)
        bench.row(f"encrypt_array ({label})", n_values, t_enc, 1, 1 / phe_rates["encrypt"], "phe: one at a time")
        t_dec, _ = best_of(2, sk.decrypt_array, enc[:n_values // 4])
        bench.row(f"decrypt_array ({label})", n_values // 4, t_dec, 1, 1 / phe_rates["decrypt"],
                  "phe: one at a time")
    other = pk.encrypt_array(rng.normal(size=n_values))
    t_add, _ = best_of(3, lambda: enc + other)
    bench.row("add EncryptedArray + EncryptedArray", n_values, t_add, 1, 1 / phe_rates["add"])
    scalars = rng.normal(size=n_values)
    t_mul, _ = best_of(2, lambda: enc * scalars)
    bench.row("scalar-mul EncryptedArray * float array", n_values, t_mul, 1, 1 / phe_rates["mul"])
    t_obf = min(timed(computed.obfuscate)[0] for computed in [enc * 2 for _ in range(3)])
    bench.row("obfuscate (re-randomise before sending, pool)", n_values, t_obf, 1, 1 / phe_rates["encrypt"],
              "phe: r^n per value")


def phe_dot(penc: list, matrix: np.ndarray) -> list:
    """X^T . [[d]] as FATE does it: a scalar multiplication and an addition per entry."""
    out = []
    for j in range(matrix.shape[1]):
        column = matrix[:, j].tolist()
        total = penc[0] * column[0]
        for x, c in zip(penc[1:], column[1:]):
            total = total + x * c
        out.append(total)
    return out


def bench_dot(bench: Bench, ours, theirs, n_rows: int, n_cols: int, phe_rows: int, rng) -> None:
    pk, sk = ours
    ppk, psk = theirs
    d = rng.normal(size=n_rows) * 0.25
    matrix = rng.normal(size=(n_rows, n_cols))
    enc = pk.encrypt_array(d)
    penc = [ppk.encrypt(v) for v in d[:phe_rows].tolist()]
    t_phe, presult = timed(phe_dot, penc, matrix[:phe_rows])
    t_phe *= n_rows / phe_rows
    note = f"phe timed on {phe_rows} rows, scaled" if phe_rows < n_rows else ""
    entries = n_rows * n_cols
    for label, workers in (("1 core", 1), ("pool", None)):
        set_parallelism(workers)
        t_ours, result = best_of(2 if entries > 100_000 else 3, enc.dot, matrix)
        bench.row(f"dot X^T.[[d]] {n_rows}x{n_cols} ({label}) [entries/s]", entries, t_ours, entries, t_phe,
                  f"{t_ours:.2f} s vs {t_phe:.2f} s {note}".strip())
    error = np.max(np.abs(sk.decrypt_array(result) - matrix.T @ d)) / np.max(np.abs(matrix.T @ d))
    phe_error = max(abs(psk.decrypt(x) - y) for x, y in zip(presult, matrix[:phe_rows].T @ d[:phe_rows]))
    print(f"    max relative error ours {error:.1e}; phe absolute error {phe_error:.1e}")


def hetero_lr_iteration_ours(ours, wire_pk, data: dict) -> float:
    """The crypto of one full-batch HeteroLR iteration, every party on this machine.

    ``wire_pk`` is the public key as guest and host rebuild it from the arbiter's bytes
    (once per job, so not timed here).
    """
    pk, sk = ours
    start = time.perf_counter()
    forward_h = wire_pk.encrypt_array(data["u_h"]).to_bytes()                       # host
    enc_u = EncryptedArray.from_bytes(wire_pk, forward_h) + data["u_g"]            # guest
    fore_gradient = enc_u * 0.25 - 0.5 * data["y"]
    wire_d = fore_gradient.to_bytes()
    enc_d = EncryptedArray.from_bytes(wire_pk, wire_d)                              # host
    host_grad = (enc_d.dot(data["X_h"]) * (1 / len(data["y"])) + 0.01 * data["w_h"]).to_bytes()
    guest_grad = (fore_gradient.dot(data["X_g"]) * (1 / len(data["y"])) + 0.01 * data["w_g"]).to_bytes()
    grads = [sk.decrypt_array(EncryptedArray.from_bytes(pk, g)) for g in (host_grad, guest_grad)]  # arbiter
    elapsed = time.perf_counter() - start
    expected = data["X_h"].T @ (0.25 * (data["u_h"] + data["u_g"]) - 0.5 * data["y"]) / len(data["y"])
    assert np.allclose(grads[0], expected + 0.01 * data["w_h"], rtol=1e-9, atol=1e-12)
    return elapsed


def hetero_lr_iteration_phe(theirs, data: dict) -> float:
    ppk, psk = theirs
    n = len(data["y"])
    start = time.perf_counter()
    forward_h = [ppk.encrypt(v) for v in data["u_h"].tolist()]
    enc_u = [x + g for x, g in zip(forward_h, data["u_g"].tolist())]
    fore_gradient = [x * 0.25 + (-0.5 * y) for x, y in zip(enc_u, data["y"].tolist())]
    for x in fore_gradient:
        x.obfuscate()
    host_grad = [g * (1 / n) + 0.01 * w for g, w in zip(phe_dot(fore_gradient, data["X_h"]), data["w_h"].tolist())]
    guest_grad = [g * (1 / n) + 0.01 * w for g, w in zip(phe_dot(fore_gradient, data["X_g"]), data["w_g"].tolist())]
    for x in host_grad + guest_grad:
        x.obfuscate()
    [psk.decrypt(x) for x in host_grad + guest_grad]
    return time.perf_counter() - start


def bench_hetero_lr(bench: Bench, ours, theirs, rng) -> None:
    n, f_guest, f_host = 569, 10, 20  # breast_hetero
    data = {"X_g": rng.normal(size=(n, f_guest)), "X_h": rng.normal(size=(n, f_host)),
            "y": rng.choice([-1.0, 1.0], size=n), "w_g": rng.normal(size=f_guest) * 0.1,
            "w_h": rng.normal(size=f_host) * 0.1}
    data["u_g"], data["u_h"] = data["X_g"] @ data["w_g"], data["X_h"] @ data["w_h"]
    t_phe = hetero_lr_iteration_phe(theirs, data)
    wire_pk = PaillierPublicKey.from_bytes(ours[0].to_bytes())
    hetero_lr_iteration_ours(ours, wire_pk, data)  # warm-up: builds the obfuscation tables
    for label, workers in (("1 core", 1), ("pool", None)):
        set_parallelism(workers)
        t_ours = min(hetero_lr_iteration_ours(ours, wire_pk, data) for _ in range(5))
        bench.row(f"HeteroLR iteration crypto, breast 569x(10+20) ({label}) [iter/s]", 1, t_ours, 1, t_phe,
                  f"{t_ours * 1e3:.0f} ms vs {t_phe * 1e3:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the rows and machine info to this file")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about 15 s)")
    args = parser.parse_args()
    info = machine_info()
    print(f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, gmpy2 {info['gmpy2']} "
          f"({info['gmp']}); code {info['code']}; {info['date']}; load {info['load']}")
    rng = np.random.default_rng(2024)
    t_keys, ours = timed(generate_keypair, KEY_BITS)
    theirs = phe_paillier.generate_paillier_keypair(n_length=KEY_BITS)
    print(f"key generation (ours, {KEY_BITS} bits): {t_keys * 1e3:.0f} ms")
    set_parallelism(None)
    t_warm, _ = timed(lambda: ours[0].encrypt_array(np.ones(4000)))
    print(f"pool start + first batch of 4000 (incl. per-worker table build): {t_warm * 1e3:.0f} ms")
    print(f"\n{'operation':<44} {'ours ops/s':>12} {'phe ops/s':>12} {'speed-up':>9}")
    bench = Bench()
    set_parallelism(1)
    phe_rates = bench_single_numbers(bench, ours, theirs, 600 if args.quick else 2000, rng)
    bench_batches(bench, ours, theirs, 4000 if args.quick else 20000, rng, phe_rates)
    bench_dot(bench, ours, theirs, 569, 20, 569, rng)
    if args.quick:
        bench_dot(bench, ours, theirs, 3000, 30, 300, rng)
    else:
        bench_dot(bench, ours, theirs, 10000, 30, 1000, rng)
    bench_hetero_lr(bench, ours, theirs, rng)
    set_parallelism(None)
    shutdown_pool()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "rows": bench.rows}, f, indent=1)


if __name__ == "__main__":
    main()
