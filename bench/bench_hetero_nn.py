"""HeteroNN's crypto-bound cost: seconds per epoch of FATE's example network (test_hetero_nn_keras.json:
bottom Dense(3) on each side, interactive Dense(2), top Dense(1); breast, 569 rows, one full batch) over
the in-memory federation, with the conf's own Paillier key (1024 bits) unless told otherwise.

    python bench/bench_hetero_nn.py [--epochs 3] [--key-length 1024]

Prints the wall time per epoch and for the whole fit (train prediction included). FATE's unchanged
example runs 100 epochs: multiply the per-epoch figure by 100 for its training time.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.component_harness import read_breast_hetero, store  # noqa: E402
from tests.test_nn import run_parties, GUEST, HOST  # noqa: E402
from fate_flow.components.nn.hetero import HeteroNNGuest, HeteroNNHost  # noqa: E402

CONF = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_nn" / "test_hetero_nn_keras.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--key-length", type=int, default=1024)
    args = parser.parse_args()
    conf = json.loads(CONF.read_text())
    shared = dict(conf["algorithm_parameters"]["hetero_nn_0"], epochs=args.epochs,
                  encrypt_param={"key_length": args.key_length})
    party = {role: {**shared, **{k: v[0] for k, v in conf["role_parameters"][role]["hetero_nn_0"].items()}}
             for role in ("guest", "host")}
    guest, host = read_breast_hetero()
    inputs = {"guest": {"data": {"train_data": store(guest, "g")}}, "host": {"data": {"train_data": store(host, "h")}}}
    start = time.perf_counter()
    run_parties("HeteroNN", {"guest": HeteroNNGuest, "host": HeteroNNHost}, party, inputs,
                {"guest": [GUEST], "host": [HOST]}, timeout=3600)
    total = time.perf_counter() - start
    print(f"HeteroNN, breast 569 rows, {args.key_length}-bit Paillier: {args.epochs} epochs + train predict "
          f"in {total:.1f} s ({total / (args.epochs + 0.5):.2f} s per epoch, counting the predict as half one)")


if __name__ == "__main__":
    main()
