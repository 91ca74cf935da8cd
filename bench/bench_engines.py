#!/usr/bin/env python3
"""The same seeded jobs on the local engine with 1 and 16 partitions and on Spark: the same models?

    python bench/bench_engines.py [--master local[2]] [--skip-spark]

Runs on one standalone server (a) FATE's federatedml-1.x hetero LR train conf (DataIO ->
Intersection (RSA) -> HeteroLR, 30 iterations, full batch) with init_param.random_seed 7, and the
same with batch_size 320 (mini-batches drawn by id hash), and (b) FATE's fate_flow hetero LR
example (DataIO -> binning -> selection -> HeteroLR -> Evaluation, max_iter 5, seed 1), each with
computing_partitions 1 and 16 on the local engine and 16 on Spark (backend 1). Prints the largest
difference of the guest's and the host's weights and intercept against the 1-partition run, and
whether the intersection counts, the binning models (split points, counts, WOE, IV) and the
evaluation metrics are equal.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from machine import describe_machine  # noqa: E402
from tests.cluster import ARBITER, GUEST, HOST, Cluster  # noqa: E402
from tests.flow_server import FlowServer  # noqa: E402

FML = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_logistic_regression"
DATA = ROOT / "examples" / "data"


def upload(server: FlowServer, namespace: str, name: str, partitions: int) -> None:
    answer = server.post("/v1/data/upload", {"file": str(DATA / f"{name}.csv"), "head": 1, "partition": partitions,
                                             "work_mode": 0, "namespace": namespace, "table_name": name,
                                             "use_local_data": 0, "drop": 1})
    assert server.wait_job(answer["jobId"], timeout=120)["f_status"] == "success", answer


def federatedml_job(batch_size: int) -> tuple[dict, dict, int, int]:
    dsl = json.loads((FML / "test_hetero_lr_train_job_dsl.json").read_text())
    conf = json.loads((FML / "test_hetero_lr_train_job_conf.json").read_text())
    conf["initiator"] = {"role": "guest", "party_id": GUEST}
    conf["role"] = {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]}
    lr = conf["algorithm_parameters"]["hetero_lr_0"]
    lr["init_param"]["random_seed"] = 7
    lr["batch_size"] = batch_size
    return dsl, conf, GUEST, HOST


def fate_flow_example() -> tuple[dict, dict, int, int]:
    dsl, conf = Cluster.hetero_lr_job(5, seed=1)
    conf["job_parameters"]["work_mode"] = 0
    return dsl, conf, GUEST, HOST


def model(server: FlowServer, job_id: str, component: str, role: str, party: int) -> dict:
    return server.post("/v1/tracking/component/output/model", {"job_id": job_id, "component_name": component,
                                                               "role": role, "party_id": party}).get("data") or {}


def metrics(server: FlowServer, job_id: str, component: str, party: int) -> dict:
    return server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": component,
                                                             "role": "guest", "party_id": party}).get("data") or {}


def run(server: FlowServer, job: tuple, **parameters) -> dict:
    dsl, conf, guest, host = copy.deepcopy(job)
    conf["job_parameters"].update(parameters)
    started = time.monotonic()
    job_id = server.submit(dsl, conf)
    record = server.wait_job(job_id, timeout=1800)
    assert record["f_status"] == "success", record
    out = {"seconds": time.monotonic() - started, "engines": sorted({t["f_engine"] for t in server.tasks(job_id)})}
    for role, party in (("guest", guest), ("host", host)):
        weights = model(server, job_id, "hetero_lr_0", role, party)
        out[f"{role}_weights"] = {**weights.get("weight", {}), "_intercept": weights.get("intercept", 0.0)}
        binning = model(server, job_id, "hetero_feature_binning_0", role, party)
        if binning:  # the whole binning model: split points, counts, WOE and IV
            out[f"{role}_binning"] = binning
    components = {c for c in dsl["components"]}
    intersect = next((c for c in components if c.startswith("intersect")), None)
    if intersect:
        out["intersection"] = metrics(server, job_id, intersect, guest)
    if "evaluation_0" in components:
        out["evaluation"] = metrics(server, job_id, "evaluation_0", guest)
    return out


def largest_difference(a: dict, b: dict) -> float:
    return max(abs(a[key] - b[key]) for key in a) if a.keys() == b.keys() else float("inf")


def compare(name: str, runs: dict) -> None:
    base = runs["local, 1 partition"]
    print(f"\n{name}")
    for label, result in runs.items():
        weights = max(largest_difference(base[f"{r}_weights"], result[f"{r}_weights"]) for r in ("guest", "host"))
        same = [key for key in ("intersection", "evaluation", "guest_binning", "host_binning")
                if key in base and result.get(key) == base[key]]
        differ = [key for key in ("intersection", "evaluation", "guest_binning", "host_binning")
                  if key in base and result.get(key) != base[key]]
        print(f"  {label:<24} {result['seconds']:6.1f} s  engines {','.join(result['engines']):<6} "
              f"max |weight diff| {weights:.2e}  equal: {', '.join(same) or '-'}"
              + (f"  DIFFERENT: {', '.join(differ)}" if differ else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--skip-spark", action="store_true")
    args = parser.parse_args()
    print(describe_machine())
    server = FlowServer(Path(tempfile.mkdtemp(prefix="bench_engines_")) / "server",
                        conf={"party_id": [GUEST, HOST, ARBITER], "federation": {"timeout": 600}}).start()
    try:
        for namespace in ("experiment", "fate_flow_test_breast_hetero"):
            for name in ("breast_hetero_guest", "breast_hetero_host"):
                upload(server, namespace, name, 16)
        jobs = {"federatedml-1.x hetero LR, full batch, seed 7": federatedml_job(-1),
                "federatedml-1.x hetero LR, batch 320, seed 7": federatedml_job(320),
                "fate_flow hetero LR example (binning, selection, evaluation), seed 1": fate_flow_example()}
        for name, job in jobs.items():
            runs = {"local, 1 partition": run(server, job, computing_partitions=1),
                    "local, 16 partitions": run(server, job, computing_partitions=16)}
            if not args.skip_spark:
                runs[f"spark {args.master}, 16"] = run(server, job, computing_partitions=16, backend=1,
                                                       spark_run={"master": args.master})
            compare(name, runs)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
