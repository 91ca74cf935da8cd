#!/usr/bin/env python3
"""Online inference of the built-in serving: latency and throughput for a hetero LR model.

    python bench/bench_serving.py [--requests 1000] [--iters 5] [--json FILE]

Starts a standalone server (SQLite), uploads the breast data, trains the federatedml-1.x
hetero LR job (guest 10 features, host 20) with ``--iters`` iterations, loads and binds it,
then sends single-id ``POST /federation/v1/inference`` requests (featureData: a guest row of
breast_hetero_guest.csv, sendToRemoteFeatureData: its id), each one a guest pipeline run, one
HTTP call to the host party (this same server in standalone) and the host's pipeline run:
(1) one client, ``--requests`` requests one after another: p50/p90/p99/max latency;
(2) two client processes at once, ``--requests`` requests in all: requests/s and latencies.
Clients use keep-alive sessions; the server and clients share the machine's cores.
"""
from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench_model_center import DATA, EXAMPLE, upload  # noqa: E402
from machine import machine  # noqa: E402
from tests.flow_server import FlowServer  # noqa: E402

SERVICE_ID = "bench-lr"


def prepare(server: FlowServer, iters: int) -> dict:
    """Upload, train, load and bind; return the model info."""
    upload(server, "breast_hetero_guest.csv", "breast_hetero_guest")
    upload(server, "breast_hetero_host.csv", "breast_hetero_host")
    dsl = json.loads((EXAMPLE / "test_hetero_lr_train_job_dsl.json").read_text())
    conf = json.loads((EXAMPLE / "test_hetero_lr_train_job_conf.json").read_text())
    conf["algorithm_parameters"]["hetero_lr_0"]["max_iter"] = iters
    train = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
    assert server.wait_job(train["jobId"], timeout=600)["f_status"] == "success", train
    model = train["data"]["model_info"]
    load = {"initiator": {"party_id": 10000, "role": "guest"},
            "role": {"guest": [10000], "host": [10000], "arbiter": [10000]},
            "job_parameters": {"work_mode": 0, **model}}
    loaded = server.post("/v1/model/load", load)
    assert loaded["retcode"] == 0, loaded
    bound = server.post("/v1/model/bind", dict(load, service_id=SERVICE_ID))
    assert bound["retcode"] == 0, bound
    return model


def bodies() -> list[bytes]:
    """One request body per guest row."""
    with open(DATA / "breast_hetero_guest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        features = {k: float(v) for k, v in row.items() if k.startswith("x")}
        out.append(json.dumps({"head": {"serviceId": SERVICE_ID},
                               "body": {"featureData": features, "sendToRemoteFeatureData": {"id": row["id"]}}})
                   .encode())
    return out


def client(url: str, payloads: list[bytes], start: int, count: int, results) -> None:
    """Send ``count`` requests one after another; put the latencies (s) in ``results``."""
    import requests

    session = requests.Session()
    session.trust_env = False
    headers = {"Content-Type": "application/json"}
    latencies = []
    for i in range(start, start + count):
        began = time.perf_counter()
        answer = session.post(url, data=payloads[i % len(payloads)], headers=headers, timeout=30).json()
        latencies.append(time.perf_counter() - began)
        if answer.get("retcode") != 0:
            raise RuntimeError(f"inference failed: {answer}")
    results.put(latencies)


def percentiles(latencies: list[float]) -> dict:
    ordered = sorted(latencies)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 2),
            "mean_ms": round(sum(ordered) / len(ordered) * 1000, 2)}


def run_clients(url: str, payloads: list[bytes], total: int, n_clients: int) -> dict:
    results = multiprocessing.Queue()
    per_client = total // n_clients
    procs = [multiprocessing.Process(target=client, args=(url, payloads, i * per_client, per_client, results))
             for i in range(n_clients)]
    began = time.perf_counter()
    for proc in procs:
        proc.start()
    latencies = []
    for _ in procs:
        latencies.extend(results.get(timeout=600))
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - began
    return dict(percentiles(latencies), clients=n_clients, requests=len(latencies), seconds=round(elapsed, 2),
                requests_per_s=round(len(latencies) / elapsed, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    print("machine:", machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_serving_") as work:
        server = FlowServer(Path(work) / "server", conf={"federation": {"timeout": 300}}).start()
        try:
            model = prepare(server, args.iters)
            url = server.url + "/federation/v1/inference"
            payloads = bodies()
            run_clients(url, payloads, 50, 1)  # warm-up: pipelines built, sessions open
            figures = {"model": model, "sequential": run_clients(url, payloads, args.requests, 1),
                       "two_clients": run_clients(url, payloads, args.requests, 2), "machine": machine()}
        finally:
            server.stop()
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
