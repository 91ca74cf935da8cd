"""HeteroSecureBoost with backend 1 (Spark local[2]) on small data: the local engine's model and scores.

The DSL is FATE's binary example's less Intersection and Evaluation (the mini tables have the same
ids, and the scores are compared row by row): each task on Spark starts a driver JVM, so fewer tasks
is most of this test's time."""
from __future__ import annotations

import copy
import importlib.util
import shutil

import pytest

from tests.flow_server import FlowServer
from tests.test_e2e_hetero_secureboost import example, output_rows, run, upload

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(importlib.util.find_spec("pyspark") is None,
                       reason="pyspark is not installed: pip install -e '.[spark]'"),
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 on PATH"),
]


def mini_job(**job_parameters) -> tuple[dict, dict]:
    dsl, conf = example("test_secureboost_train_binary_conf.json")
    dsl = copy.deepcopy(dsl)
    for name in ("dataio_1", "intersection_1", "intersection_0", "evaluation_0"):
        del dsl["components"][name]
    dsl["components"]["secureboost_0"]["input"]["data"] = {"train_data": ["dataio_0.train"]}
    conf["job_parameters"].update(job_parameters)
    conf["algorithm_parameters"]["secureboost_0"].update(
        num_trees=1, validation_freqs=None, tree_param={"max_depth": 2},
        encrypt_param={"method": "paillier", "key_length": 512})
    for role in ("guest", "host"):
        data = conf["role_parameters"][role]["args"]["data"]
        data.pop("eval_data")
        data["train_data"][0]["name"] = f"breast_hetero_mini_{role}"
    return dsl, conf


@pytest.mark.timeout(900)
def test_backend_1_on_spark_local_gives_the_local_engine_s_scores(tmp_path):
    server = FlowServer(tmp_path / "server", conf={"federation": {"timeout": 300}}).start()
    try:
        for role in ("guest", "host"):
            upload(server, f"breast_hetero_mini_{role}")
        local_id, _, _ = run(server, *mini_job(backend=0))
        spark_id, _, _ = run(server, *mini_job(backend=1, spark_run={"master": "local[2]"}), timeout=600)
        assert {t["f_engine"] for t in server.tasks(spark_id) if t["f_component_name"] == "secureboost_0"} == {"spark"}
        local = {row[0]: float(row[3]) for row in output_rows(server, local_id)["data"]}
        spark = {row[0]: float(row[3]) for row in output_rows(server, spark_id)["data"]}
        assert local and local.keys() == spark.keys()
        assert all(abs(local[k] - spark[k]) < 1e-9 for k in local)
    finally:
        server.stop()
