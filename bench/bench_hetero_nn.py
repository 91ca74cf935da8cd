"""HeteroNN's crypto-bound cost: seconds per epoch of FATE's example network (test_hetero_nn_keras.json:
bottom Dense(3) on each side, interactive Dense(2), top Dense(1); breast, 569 rows, one full batch) over
the in-memory federation, with the conf's own Paillier key (1024 bits) unless told otherwise.

    python bench/bench_hetero_nn.py [--epochs 3] [--key-length 1024] [--profile]

Prints the wall time per epoch and for the whole fit (train prediction included). FATE's unchanged
example runs 100 epochs: ``--epochs 100`` runs it whole. ``--profile`` prints each party's own
cProfile (the parties run in threads of this process, so each thread is profiled apart).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.component_harness import read_breast_hetero, store  # noqa: E402
from tests.test_nn import run_parties, GUEST, HOST  # noqa: E402
from fate_flow.components.nn.hetero import HeteroNNGuest, HeteroNNHost  # noqa: E402
from fate_flow.secureprotol import _parallel  # noqa: E402

CONF = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_nn" / "test_hetero_nn_keras.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--key-length", type=int, default=1024)
    parser.add_argument("--profile", action="store_true", help="print the top functions of each party")
    parser.add_argument("--workers", type=int, default=None,
                        help="Paillier pool processes (1: all in this process, so that its CPU time is the whole)")
    args = parser.parse_args()
    _parallel.set_parallelism(args.workers)
    profiles = {}
    if args.profile:
        for role, cls in (("guest", HeteroNNGuest), ("host", HeteroNNHost)):
            cls.run = _profiled(cls.run, role, profiles)
    conf = json.loads(CONF.read_text())
    shared = dict(conf["algorithm_parameters"]["hetero_nn_0"], epochs=args.epochs,
                  encrypt_param={"key_length": args.key_length})
    party = {role: {**shared, **{k: v[0] for k, v in conf["role_parameters"][role]["hetero_nn_0"].items()}}
             for role in ("guest", "host")}
    guest, host = read_breast_hetero()
    inputs = {"guest": {"data": {"train_data": store(guest, "g")}}, "host": {"data": {"train_data": store(host, "h")}}}
    start, cpu_start = time.perf_counter(), time.process_time()
    run_parties("HeteroNN", {"guest": HeteroNNGuest, "host": HeteroNNHost}, party, inputs,
                {"guest": [GUEST], "host": [HOST]}, timeout=3600)
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(f"HeteroNN, breast 569 rows, {args.key_length}-bit Paillier: {args.epochs} epochs + train predict "
          f"in {total:.1f} s ({total / (args.epochs + 0.5):.2f} s per epoch, counting the predict as half one); CPU time of this process {cpu:.1f} s")
    for role, profile in profiles.items():
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
        print(f"---- {role}\n{out.getvalue()}")


def _profiled(run, role: str, profiles: dict):
    def wrapper(self, *args, **kwargs):
        profile = profiles[role] = cProfile.Profile()
        return profile.runcall(run, self, *args, **kwargs)
    return wrapper


if __name__ == "__main__":
    main()
