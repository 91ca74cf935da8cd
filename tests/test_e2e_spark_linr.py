"""FATE's HeteroLinR example conf with backend 1 on Spark local[2], on a tiny cut of motor_hetero: the
model must be the local engine's. The DSL is the example's less Intersection and Evaluation (the two
tables have the same ids), so that few Spark tasks start."""
from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

from tests.flow_server import ROOT, FlowServer

pytestmark = [
    pytest.mark.spark,
    pytest.mark.xdist_group("spark_linr"),
    pytest.mark.skipif(importlib.util.find_spec("pyspark") is None,
                       reason="pyspark is not installed: pip install -e '.[spark]'"),
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 on PATH"),
]
EXAMPLE = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_linear_regression"
ROWS, MAX_ITER = 120, 3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("spark_linr")
    server = FlowServer(work / "server", conf={"federation": {"timeout": 300}}).start()
    for side in ("guest", "host"):
        lines = (ROOT / "examples" / "data" / f"motor_hetero_{side}.csv").read_text().splitlines()[:ROWS + 1]
        (work / f"{side}.csv").write_text("\n".join(lines) + "\n")
        answer = server.post("/v1/data/upload", {"file": str(work / f"{side}.csv"), "head": 1, "partition": 2,
                                                 "work_mode": 0, "namespace": "experiment",
                                                 "table_name": f"motor_hetero_{side}", "use_local_data": 0})
        assert server.wait_job(answer["jobId"])["f_status"] == "success"
    yield server
    server.stop()


def weights(server: FlowServer, **job_parameters) -> dict:
    conf = json.loads((EXAMPLE / "test_hetero_linr_train_job_conf.json").read_text())
    conf["job_parameters"].update(job_parameters)
    conf["algorithm_parameters"]["hetero_linr_0"].update(max_iter=MAX_ITER, encrypt_param={"key_length": 512})
    dsl = json.loads((EXAMPLE / "test_hetero_linr_train_job_dsl.json").read_text())
    for name in ("intersection_0", "evaluation_0"):
        del dsl["components"][name]
    dsl["components"]["hetero_linr_0"]["input"]["data"]["train_data"] = ["dataio_0.train"]
    job_id = server.submit(dsl, conf)
    job = server.wait_job(job_id, timeout=600)
    assert job["f_status"] == "success", job["f_status_reason"]
    engines = {task["f_engine"] for task in server.tasks(job_id)}
    model = server.post("/v1/tracking/component/output/model", {"job_id": job_id, "component_name": "hetero_linr_0",
                                                                "role": "guest", "party_id": 10000})["data"]
    return {"engines": engines, "weight": model["weight"], "intercept": model["intercept"]}


@pytest.mark.timeout(900)
def test_linr_on_spark_local_gives_the_local_engine_s_model(server):
    local = weights(server, backend=0)
    spark = weights(server, backend=1, spark_run={"master": "local[2]"})
    assert spark["engines"] == {"spark"} and local["engines"] != {"spark"}
    assert spark["weight"] == pytest.approx(local["weight"], abs=1e-9)
    assert spark["intercept"] == pytest.approx(local["intercept"], abs=1e-9)
