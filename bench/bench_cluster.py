#!/usr/bin/env python3
"""The same hetero LR job standalone, and across three servers over http and over RabbitMQ.

    python bench/bench_cluster.py [--max-iter 10] [--runs 1]

FATE's fate_flow hetero LR example (DataIO -> binning -> selection -> HeteroLR -> Evaluation)
with guest 9999, host 10000 and arbiter 10001 and a fixed seed, run (1) on one standalone server
(the file mailbox federation), (2) on three cluster-mode servers with the http federation
backend (messages through the destination party's server), (3) the same with RabbitMQ. Prints
the job's create -> end time, the train AUC, and the bytes and messages the tasks sent to other
parties (summed from each task's "federation sent N bytes in M messages" log line).
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cluster import ARBITER, DATA, GUEST, HOST, Cluster  # noqa: E402
from machine import describe_machine  # noqa: E402
from tests.flow_server import FlowServer, wait_until  # noqa: E402

SENT = re.compile(r"federation sent (\d+) bytes in (\d+) messages")


def federation_traffic(work_dirs: list[Path], job_id: str) -> tuple[int, int]:
    """(bytes, messages) sent by every task of the job, from the tasks' INFO logs."""
    total_bytes = total_messages = 0
    for work_dir in work_dirs:
        for log in (work_dir / "logs" / job_id).glob("*/*/*/INFO.log"):
            for match in SENT.finditer(log.read_text(errors="replace")):
                total_bytes += int(match.group(1))
                total_messages += int(match.group(2))
    return total_bytes, total_messages


def job_seconds(server: FlowServer, job_id: str) -> float:
    job = server.job(job_id)
    return (job["f_end_time"] - job["f_create_time"]) / 1000


def run_standalone(root: Path, max_iter: int) -> dict:
    server = FlowServer(root / "standalone", conf={"party_id": [GUEST, HOST, ARBITER],
                                                   "federation": {"timeout": 300}}).start()
    try:
        for name in ("breast_hetero_guest", "breast_hetero_host"):
            answer = server.post("/v1/data/upload", {
                "file": str(DATA / f"{name}.csv"), "head": 1, "partition": 4, "work_mode": 0,
                "namespace": "fate_flow_test_breast_hetero", "table_name": name, "use_local_data": 0, "drop": 1})
            assert server.wait_job(answer["jobId"])["f_status"] == "success"
        dsl, conf = Cluster.hetero_lr_job(max_iter)
        conf["job_parameters"]["work_mode"] = 0
        job_id = server.submit(dsl, conf)
        status = server.wait_job(job_id, timeout=1800)["f_status"]
        answer = server.post("/v1/tracking/component/metric/all", {
            "job_id": job_id, "component_name": "evaluation_0", "role": "guest", "party_id": GUEST})
        auc = dict(answer["data"]["train"]["hetero_lr_0"]["data"])["auc"] if status == "success" else None
        sent = federation_traffic([server.work_dir], job_id)
        return {"label": "standalone", "status": status, "seconds": job_seconds(server, job_id), "auc": auc,
                "bytes": sent[0], "messages": sent[1]}
    finally:
        server.stop()


def run_cluster(root: Path, backend: str, max_iter: int) -> dict:
    cluster = Cluster(root / f"cluster_{backend}", backend=backend).start()
    try:
        cluster.upload_breast()
        dsl, conf = Cluster.hetero_lr_job(max_iter)
        job_id = cluster[GUEST].submit(dsl, conf)
        job = cluster[GUEST].wait_job(job_id, timeout=1800)
        # the other parties hear of the end from the initiator: wait for their last logs
        wait_until(lambda: all(s.job(job_id)["f_status"] == job["f_status"] for s in cluster.servers.values()),
                   60, interval=0.2, what="every party finished")
        auc = cluster.auc(job_id) if job["f_status"] == "success" else None
        sent = federation_traffic([s.work_dir for s in cluster.servers.values()], job_id)
        return {"label": f"cluster, {backend}", "status": job["f_status"],
                "seconds": job_seconds(cluster[GUEST], job_id), "auc": auc, "bytes": sent[0], "messages": sent[1]}
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    print(describe_machine())
    print(f"job       fate_flow hetero LR example, max_iter {args.max_iter}, seed 1")
    print(f"\n{'setup':20s} {'status':8s} {'create->end':>12s} {'AUC':>9s} {'sent between parties':>24s}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for run in range(args.runs):
            for result in (run_standalone(root / str(run), args.max_iter),
                           run_cluster(root / str(run), "http", args.max_iter),
                           run_cluster(root / str(run), "rabbitmq", args.max_iter)):
                auc = f"{result['auc']:.6f}" if result["auc"] is not None else "-"
                traffic = f"{result['bytes'] / 2 ** 20:.2f} MiB in {result['messages']} msgs"
                print(f"{result['label']:20s} {result['status']:8s} {result['seconds']:10.2f} s {auc:>9s} "
                      f"{traffic:>24s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
