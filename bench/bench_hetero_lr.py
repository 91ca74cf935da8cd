#!/usr/bin/env python3
"""Hetero LR end to end: FATE's own confs on the breast data, time per component and task memory.

    python bench/bench_hetero_lr.py [--iters 3,30] [--skip-federatedml]

Runs, on one standalone server (SQLite): (a) fate_flow/examples' test_hetero_lr_job conf + DSL
(DataIO -> binning -> selection -> HeteroLR -> Evaluation) with work_mode 0 at each max_iter
given, and (b) the federatedml-1.x hetero LR train conf (DataIO -> Intersection -> HeteroLR ->
Evaluation, 30 iterations, full batch). Prints job create -> end, each component's span
(first task start -> last task end), the training AUC and the peak RSS of every task.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_upload import Sampler  # noqa: E402
from machine import describe_machine  # noqa: E402
from tests.flow_server import FlowServer  # noqa: E402

EXAMPLES = ROOT / "examples"
FATE_145 = {"a3": 32.4, "a30": 131.6}


def upload(server: FlowServer, file: str, namespace: str, table: str) -> None:
    answer = server.post("/v1/data/upload", {"file": str(EXAMPLES / "data" / file), "head": 1, "partition": 4,
                                             "work_mode": 0, "namespace": namespace, "table_name": table,
                                             "use_local_data": 0, "drop": 1})
    assert server.wait_job(answer["jobId"], timeout=120)["f_status"] == "success", answer


def run_job(server: FlowServer, sampler: Sampler, dsl: dict, conf: dict, label: str) -> dict:
    sampler.set_phase(label)
    answer = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
    assert answer["retcode"] == 0, answer
    job = server.wait_job(answer["jobId"], timeout=1800)
    sampler.set_phase(None)
    tasks = server.tasks(answer["jobId"])
    spans = {}
    for task in tasks:
        start, end = spans.get(task["f_component_name"], (task["f_start_time"], task["f_end_time"]))
        spans[task["f_component_name"]] = (min(start, task["f_start_time"]), max(end, task["f_end_time"] or end))
    peaks = sampler.phases.get(label, {}).get("tasks", {})
    memory = {f"{t['f_component_name']}/{t['f_role']}": peaks.get(t["f_run_pid"], 0) / 2 ** 20 for t in tasks}
    metrics = server.post("/v1/tracking/component/metric/all", {"job_id": answer["jobId"], "role": "guest",
                                                               "party_id": conf["initiator"]["party_id"],
                                                               "component_name": "evaluation_0"})
    auc = dict((metrics.get("data") or {}).get("train", {}).get("hetero_lr_0", {}).get("data", [])).get("auc")
    return {"label": label, "status": job["f_status"], "reason": job.get("f_status_reason"),
            "seconds": (job["f_end_time"] - job["f_create_time"]) / 1000, "auc": auc,
            "components": {c: (e - s) / 1000 for c, (s, e) in spans.items()}, "task_rss_mb": memory}


def report(result: dict) -> None:
    print(f"\n{result['label']}: {result['status']} in {result['seconds']:.2f} s (create -> end), "
          f"train AUC {result['auc']}")
    if result["status"] != "success":
        print(f"   reason: {result['reason']}")
    for component, seconds in result["components"].items():
        print(f"   {component:32s} {seconds:8.2f} s")
    for task, rss in sorted(result["task_rss_mb"].items()):
        print(f"   peak RSS {task:38s} {rss:7.1f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", default="3,30")
    parser.add_argument("--skip-federatedml", action="store_true")
    parser.add_argument("--seed", type=int, default=None,
                        help="init_param.random_seed for (b): the same iterations run on every build compared")
    args = parser.parse_args(argv)
    print(describe_machine())
    with tempfile.TemporaryDirectory() as tmp:
        server = FlowServer(Path(tmp) / "server", conf={"federation": {"timeout": 900}}).start()
        sampler = Sampler(server.proc.pid, interval=0.05)
        sampler.start()
        try:
            for namespace in ("fate_flow_test_breast_hetero", "experiment"):
                upload(server, "breast_hetero_guest.csv", namespace, "breast_hetero_guest")
                upload(server, "breast_hetero_host.csv", namespace, "breast_hetero_host")
            dsl = json.loads((EXAMPLES / "fate_flow" / "test_hetero_lr_job_dsl.json").read_text())
            for iters in [int(i) for i in args.iters.split(",") if i]:
                conf = json.loads((EXAMPLES / "fate_flow" / "test_hetero_lr_job_conf.json").read_text())
                conf["job_parameters"]["work_mode"] = 0
                conf["algorithm_parameters"]["hetero_lr_0"]["max_iter"] = iters
                result = run_job(server, sampler, dsl, conf, f"(a) fate_flow example, max_iter {iters}")
                report(result)
                if f"a{iters}" in FATE_145:
                    print(f"   FATE 1.4.5: {FATE_145[f'a{iters}']} s -> {FATE_145[f'a{iters}'] / result['seconds']:.1f}x")
            if not args.skip_federatedml:
                folder = EXAMPLES / "federatedml-1.x-examples" / "hetero_logistic_regression"
                conf = json.loads((folder / "test_hetero_lr_train_job_conf.json").read_text())
                if args.seed is not None:  # the shipped conf's random init differs per run, and so may its iterations
                    conf["algorithm_parameters"]["hetero_lr_0"]["init_param"]["random_seed"] = args.seed
                result = run_job(server, sampler, json.loads((folder / "test_hetero_lr_train_job_dsl.json").read_text()),
                                 conf, "(b) federatedml-1.x hetero LR train (30 iterations, full batch)")
                report(result)
        finally:
            sampler.stop()
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
