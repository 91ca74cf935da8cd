#!/usr/bin/env python3
"""FATE's HeteroPearson example job, unchanged, against FATE 1.4.5's crypto-only lower bound.

    python bench/bench_pearson.py [--runs 3]

Uploads breast_hetero (569 rows; 10 guest and 20 host features), submits
examples/federatedml-1.x-examples/hetero_pearson (DataIO -> HeteroPearson) through the original
client, and prints each run's create -> end time and the HeteroPearson tasks' time and CPU.

FATE's bound: its SPDZ product X^T Y (X the guest's n x m1 standardized columns, Y the host's
n x m2) makes a Beaver triple with Paillier in both directions: each party encrypts its random
``a`` (n x m_own values) and sends it; the other computes ``Enc(a)^T b + rho`` (m1 m2 n products by
a plaintext and as many additions, m1 m2 encryptions of rho) and the owner decrypts the m1 m2 values.
Those operations, at the cost ``fate_paillier_costs.py`` measures for FATE's way of doing them (gmpy2,
one core, 1024-bit keys, 53-bit scalars although SPDZ's field elements have 61 bits), are FATE's
crypto-only time; halved, since the two directions can run on the two cores at once. It leaves out
everything else FATE does (DataIO, serialisation, federation, one Python object per ciphertext).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_linr_poisson import upload  # noqa: E402
from fate_paillier_costs import measure  # noqa: E402
from machine import describe_machine  # noqa: E402
from tests.flow_server import FlowServer  # noqa: E402

EXAMPLE = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_pearson"
ROWS, GUEST_FEATURES, HOST_FEATURES = 569, 10, 20


def fate_operations(n: int, m1: int, m2: int) -> dict[str, int]:
    """The Paillier operations of FATE's Beaver triple for X^T Y, both directions together."""
    cross = m1 * m2
    return {"encryption": n * m1 + n * m2 + 2 * cross, "scalar_mult": 2 * cross * n,
            "addition": 2 * cross * n, "decryption": 2 * cross}


def run_once(server: FlowServer) -> tuple[float, dict]:
    answer = server.client("-f", "submit_job", "-c", str(EXAMPLE / "test_conf.json"), "-d", str(EXAMPLE / "test_dsl.json"))
    assert answer["retcode"] == 0, answer
    job = server.wait_job(answer["jobId"], timeout=3600)
    assert job["f_status"] == "success", job.get("f_status_reason")
    tasks = {t["f_role"]: t for t in server.tasks(answer["jobId"]) if t["f_component_name"] == "pearson_0"}
    cpu = {}
    for role in ("guest", "host"):
        log = server.work_dir / "logs" / answer["jobId"] / role / "10000" / "pearson_0" / "INFO.log"
        cpu[role] = next((line.split("CPU ")[1].split(" s")[0] for line in log.read_text().splitlines()
                          if "CPU " in line), "?")
    times = {role: (t["f_end_time"] - t["f_start_time"]) / 1000 for role, t in tasks.items()}
    return (job["f_end_time"] - job["f_create_time"]) / 1000, {"task_s": times, "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    costs = measure()
    operations = fate_operations(ROWS, GUEST_FEATURES, HOST_FEATURES)
    bound = sum(count * costs[name] for name, count in operations.items())
    print("FATE's Paillier operations for the example: " + ", ".join(f"{k} {v:,}" for k, v in operations.items()))
    print(f"FATE crypto-only lower bound: {bound:.1f} CPU s on one core, {bound / 2:.1f} s on two")
    with tempfile.TemporaryDirectory() as tmp:
        server = FlowServer(Path(tmp) / "server").start()
        try:
            for role in ("guest", "host"):
                upload(server, f"breast_hetero_{role}")
            took = []
            for i in range(args.runs):
                seconds, detail = run_once(server)
                took.append(seconds)
                print(f"run {i + 1}: create -> end {seconds:.2f} s; HeteroPearson tasks {detail['task_s']} s, "
                      f"CPU {detail['cpu_s']} s")
        finally:
            server.stop()
    best, median = min(took), statistics.median(took)
    print(f"HeteroPearson example: median {median:.2f} s, best {best:.2f} s; against FATE's two-core bound "
          f"{bound / 2:.1f} s: {bound / 2 / median:.1f}x (median), {bound / 2 / best:.1f}x (best)")


if __name__ == "__main__":
    main()
