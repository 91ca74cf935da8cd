#!/usr/bin/env python3
"""Hetero LR at scale on one machine: time and peak memory per task as the table grows.

    python bench/bench_scale.py [--rows 1000000,4000000] [--rows-per-partition 62500] [--cores 2]
                                [--engine local|spark] [--master local[2]] [--keep]

Generates a guest table (id, y, 10 features) and a host table (id, 10 features) with a fixed
seed (the same files for the same row count), uploads them in rows / ``--rows-per-partition``
partitions (the job's computing_partitions too: a partition stays the same size, so a
task's memory should not grow with the table) and
runs DataIO -> Intersection -> HeteroLR (full batch, 1 iteration) -> Evaluation on one
standalone server. Prints the job's create -> end time, each component's span, and every
task's peak RSS with its pool workers (the task record's f_peak_memory), then the ratios
between the largest and the smallest run (memory should stay flat, time grow linearly).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from machine import describe_machine  # noqa: E402
from tests.flow_server import FlowServer  # noqa: E402

GUEST, HOST, ARBITER = 9999, 10000, 10001
FEATURES = 10
NAMESPACE = "bench_scale"


def generate(directory: Path, rows: int, seed: int = 20261206) -> tuple[Path, Path]:
    """guest.csv and host.csv of ``rows`` rows (cached by row count): y depends on both parties' features."""
    import numpy as np

    guest, host = directory / f"guest_{rows}.csv", directory / f"host_{rows}.csv"
    if guest.exists() and host.exists():
        return guest, host
    rng = np.random.default_rng(seed)
    true_weights = rng.normal(size=2 * FEATURES)
    with open(guest, "w") as g, open(host, "w") as h:
        g.write("id,y," + ",".join(f"x{i}" for i in range(FEATURES)) + "\n")
        h.write("id," + ",".join(f"x{i}" for i in range(FEATURES, 2 * FEATURES)) + "\n")
        for start in range(0, rows, 200_000):
            n = min(200_000, rows - start)
            x = rng.normal(size=(n, 2 * FEATURES)).round(6)
            y = (x @ true_weights + rng.normal(size=n) > 0).astype(int)
            ids = np.arange(start, start + n)
            g.writelines(f"{i},{label}," + ",".join(map(str, row)) + "\n"
                         for i, label, row in zip(ids, y, x[:, :FEATURES].tolist()))
            h.writelines(f"{i}," + ",".join(map(str, row)) + "\n" for i, row in zip(ids, x[:, FEATURES:].tolist()))
    return guest, host


def job(rows: int, partitions: int, cores: int, engine: str, master: str) -> tuple[dict, dict]:
    dsl = {"components": {
        "dataio_0": {"module": "DataIO", "input": {"data": {"data": ["args.train_data"]}},
                     "output": {"data": ["train"], "model": ["dataio"]}},
        "intersection_0": {"module": "Intersection", "input": {"data": {"data": ["dataio_0.train"]}},
                           "output": {"data": ["train"]}},
        "hetero_lr_0": {"module": "HeteroLR", "input": {"data": {"train_data": ["intersection_0.train"]}},
                        "output": {"data": ["train"], "model": ["hetero_lr"]}},
        "evaluation_0": {"module": "Evaluation", "input": {"data": {"data": ["hetero_lr_0.train"]}},
                         "output": {"data": ["evaluate"]}}}}
    parameters = {"work_mode": 0, "computing_partitions": partitions, "task_cores": cores}
    if engine == "spark":
        parameters.update(backend=1, spark_run={"master": master})
    table = {"namespace": NAMESPACE}
    conf = {"initiator": {"role": "guest", "party_id": GUEST}, "job_parameters": parameters,
            "role": {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]},
            "role_parameters": {
                "guest": {"args": {"data": {"train_data": [dict(table, name=f"guest_{rows}")]}},
                          "dataio_0": {"with_label": [True], "label_name": ["y"], "output_format": ["dense"]}},
                "host": {"args": {"data": {"train_data": [dict(table, name=f"host_{rows}")]}},
                         "dataio_0": {"with_label": [False], "output_format": ["dense"]}}},
            "algorithm_parameters": {
                "intersection_0": {"intersect_method": "raw"},
                "hetero_lr_0": {"penalty": "L2", "optimizer": "sgd", "alpha": 0.01, "learning_rate": 0.15,
                                "max_iter": 1, "batch_size": -1, "init_param": {"init_method": "zeros"}},
                "evaluation_0": {"eval_type": "binary"}}}
    return dsl, conf


def upload(server: FlowServer, path: Path, name: str, partitions: int) -> float:
    started = time.monotonic()
    answer = server.post("/v1/data/upload", {"file": str(path), "head": 1, "partition": partitions, "work_mode": 0,
                                             "namespace": NAMESPACE, "table_name": name, "drop": 1, "use_local_data": 0})
    status = server.wait_job(answer["jobId"], timeout=3600)["f_status"]
    assert status == "success", answer
    return time.monotonic() - started


def run(server: FlowServer, data_dir: Path, rows: int, args) -> dict:
    guest, host = generate(data_dir, rows)
    partitions = max(1, -(-rows // args.rows_per_partition))
    uploaded = upload(server, guest, f"guest_{rows}", partitions) + upload(server, host, f"host_{rows}", partitions)
    dsl, conf = job(rows, partitions, args.cores, args.engine, args.master)
    job_id = server.submit(dsl, conf)
    record = server.wait_job(job_id, timeout=6 * 3600)
    tasks = server.post("/v1/job/task/query", {"job_id": job_id})["data"]
    spans = {}
    for task in tasks:
        start, end = spans.get(task["f_component_name"], (task["f_start_time"], task["f_end_time"]))
        spans[task["f_component_name"]] = (min(start, task["f_start_time"]), max(end, task["f_end_time"] or end))
    metrics = server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "role": "guest",
                                                               "party_id": GUEST, "component_name": "evaluation_0"})
    auc = dict(((metrics.get("data") or {}).get("train") or {}).get("hetero_lr_0", {}).get("data", [])).get("auc")
    return {"rows": rows, "partitions": partitions, "engine": args.engine, "status": record["f_status"], "reason": record.get("f_status_reason"),
            "upload_s": uploaded, "job_s": (record["f_end_time"] - record["f_create_time"]) / 1000, "auc": auc,
            "components_s": {c: (e - s) / 1000 for c, (s, e) in spans.items()},
            "peak_mb": {f"{t['f_component_name']}/{t['f_role']}": (t.get("f_peak_memory") or 0) / 2 ** 20
                        for t in tasks}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1000000,4000000")
    parser.add_argument("--rows-per-partition", type=int, default=62_500)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--engine", choices=("local", "spark"), default="local")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "fate_flow_bench_scale"))
    parser.add_argument("--keep", action="store_true", help="keep the server's work dir")
    args = parser.parse_args()
    print(describe_machine())
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    server = FlowServer(work / "server", conf={"party_id": [GUEST, HOST, ARBITER],
                                               "federation": {"timeout": 6 * 3600}}).start()
    results = []
    try:
        for rows in [int(r) for r in args.rows.split(",")]:
            result = run(server, data_dir, rows, args)
            results.append(result)
            print(json.dumps(result, indent=1), flush=True)
    finally:
        server.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    if len(results) > 1:
        small, large = results[0], results[-1]
        scale = large["rows"] / small["rows"]
        worst = max(large["peak_mb"].values())
        print(f"rows x{scale:g}: job time x{large['job_s'] / small['job_s']:.2f} "
              f"(linear: x{scale:g}, ratio to linear {large['job_s'] / small['job_s'] / scale:.2f}); "
              f"largest task peak {max(small['peak_mb'].values()):.0f} MB -> {worst:.0f} MB "
              f"(x{worst / max(small['peak_mb'].values()):.2f})")


if __name__ == "__main__":
    main()
