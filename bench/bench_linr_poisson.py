#!/usr/bin/env python3
"""FATE's HeteroLinR and HeteroPoisson example jobs, unchanged, on one standalone server.

    python bench/bench_linr_poisson.py [--runs 1]

Uploads the whole motor_hetero (800 rows) and dvisits_hetero (5190 rows) tables, submits
examples/federatedml-1.x-examples/hetero_linear_regression (train, then its predict conf) and
hetero_poisson_regression (train) through the original client, and prints each job's
create -> end time, the model's iterations and final loss, and the Evaluation summary.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import describe_machine  # noqa: E402
from tests.flow_server import FlowServer  # noqa: E402

EXAMPLES = ROOT / "examples" / "federatedml-1.x-examples"
DATA = ROOT / "examples" / "data"
JOBS = [("HeteroLinR", "hetero_linear_regression", "test_hetero_linr_train_job", "hetero_linr_0"),
        ("HeteroPoisson", "hetero_poisson_regression", "test_hetero_poisson_train_job", "hetero_poisson_0")]


def upload(server: FlowServer, name: str) -> None:
    answer = server.post("/v1/data/upload", {"file": str(DATA / f"{name}.csv"), "head": 1, "partition": 4,
                                             "work_mode": 0, "namespace": "experiment", "table_name": name,
                                             "use_local_data": 0, "drop": 1})
    assert server.wait_job(answer["jobId"], timeout=300)["f_status"] == "success"


def run(server: FlowServer, conf: Path, dsl: Path | None = None) -> tuple[str, dict, float]:
    args = ["-f", "submit_job", "-c", str(conf)] + (["-d", str(dsl)] if dsl else [])
    answer = server.client(*args)
    assert answer["retcode"] == 0, answer
    job = server.wait_job(answer["jobId"], timeout=3600)
    assert job["f_status"] == "success", job.get("f_status_reason")
    return answer["jobId"], answer, (job["f_end_time"] - job["f_create_time"]) / 1000


def summary(server: FlowServer, job_id: str, component: str) -> tuple[int, float, dict]:
    query = {"job_id": job_id, "component_name": component, "role": "arbiter", "party_id": 10000}
    loss = server.post("/v1/tracking/component/metric/all", query)["data"]["train"]["loss"]["data"]
    evaluation = server.post("/v1/tracking/component/metric/all", dict(query, component_name="evaluation_0",
                                                                      role="guest"))["data"]["train"][component]
    return len(loss), loss[-1][1], {k: round(v, 4) for k, v in evaluation["data"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print(describe_machine())
    with tempfile.TemporaryDirectory() as tmp:
        server = FlowServer(Path(tmp) / "server", conf={"federation": {"timeout": 600}}).start()
        try:
            for name in ("motor_hetero_guest", "motor_hetero_host", "dvisits_hetero_guest", "dvisits_hetero_host"):
                upload(server, name)
            for _ in range(args.runs):
                for module, folder, stem, component in JOBS:
                    job_id, answer, seconds = run(server, EXAMPLES / folder / f"{stem}_conf.json",
                                                  EXAMPLES / folder / f"{stem}_dsl.json")
                    iters, loss, evaluation = summary(server, job_id, component)
                    print(f"{module:14s} train   {seconds:7.1f} s  {iters} iterations, loss {loss:.5f}, {evaluation}")
                    if module == "HeteroLinR":
                        conf = json.loads((EXAMPLES / folder / "test_predict_conf.json").read_text())
                        conf["job_parameters"].update(answer["data"]["model_info"])
                        (Path(tmp) / "predict.json").write_text(json.dumps(conf))
                        _, _, seconds = run(server, Path(tmp) / "predict.json")
                        print(f"{module:14s} predict {seconds:7.1f} s")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
