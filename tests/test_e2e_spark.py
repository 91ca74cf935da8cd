"""FATE's fate_flow hetero LR example with backend 1: on Spark local[2], on a real standalone cluster, and
the errors of a Spark job that cannot run. The answers must be the local engine's.

On local[2] the job is the example's DataIO -> HeteroLR only, its weights compared with the local
engine's: each task on Spark starts a driver JVM, the most costly thing this suite starts. The whole
example (binning, selection, evaluation too) runs on the standalone cluster."""
from __future__ import annotations

import importlib.util
import shutil
import socket

import pytest

from tests.cluster import ARBITER, DATA, GUEST, HOST, Cluster
from tests.flow_server import FlowServer

pytestmark = [
    pytest.mark.xdist_group("e2e_spark"),
    pytest.mark.spark,
    pytest.mark.skipif(importlib.util.find_spec("pyspark") is None,
                       reason="pyspark is not installed: pip install -e '.[spark]'"),
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 on PATH"),
]
MAX_ITER = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = FlowServer(tmp_path_factory.mktemp("spark_jobs") / "server",
                        conf={"party_id": [GUEST, HOST, ARBITER], "federation": {"timeout": 300}}).start()
    for name in ("breast_hetero_guest", "breast_hetero_host"):
        answer = server.post("/v1/data/upload", {
            "file": str(DATA / f"{name}.csv"), "head": 1, "partition": 4, "work_mode": 0,
            "namespace": "fate_flow_test_breast_hetero", "table_name": name, "use_local_data": 0, "drop": 1})
        assert server.wait_job(answer["jobId"])["f_status"] == "success"
    yield server
    server.stop()


def run_example(server: FlowServer, **job_parameters) -> tuple[dict, float | None]:
    dsl, conf = Cluster.hetero_lr_job(MAX_ITER)
    conf["job_parameters"].update(work_mode=0, **job_parameters)
    job = server.wait_job(server.submit(dsl, conf), timeout=600)
    if job["f_status"] != "success":
        return job, None
    answer = server.post("/v1/tracking/component/metric/all", {
        "job_id": job["f_job_id"], "component_name": "evaluation_0", "role": "guest", "party_id": GUEST})
    return job, dict(answer["data"]["train"]["hetero_lr_0"]["data"])["auc"]


@pytest.fixture(scope="module")
def local_auc(server):
    job, auc = run_example(server, backend=0)
    assert job["f_status"] == "success", job
    return auc


def lr_weights(server: FlowServer, **job_parameters) -> tuple[dict, dict | None]:
    """The example's DataIO -> HeteroLR (breast's two tables have the same ids); (job, guest's model)."""
    dsl, conf = Cluster.hetero_lr_job(MAX_ITER)
    dsl["components"] = {"dataio_0": dsl["components"]["dataio_0"], "hetero_lr_0": dsl["components"]["hetero_lr_0"]}
    dsl["components"]["hetero_lr_0"]["input"]["data"]["train_data"] = ["dataio_0.train"]
    conf["job_parameters"].update(work_mode=0, **job_parameters)
    job = server.wait_job(server.submit(dsl, conf), timeout=600)
    if job["f_status"] != "success":
        return job, None
    model = server.post("/v1/tracking/component/output/model", {
        "job_id": job["f_job_id"], "component_name": "hetero_lr_0", "role": "guest", "party_id": GUEST})["data"]
    return job, {"weight": model["weight"], "intercept": model["intercept"]}


def engines_of(server: FlowServer, job_id: str) -> set[str]:
    return {task["f_engine"] for task in server.tasks(job_id)}


@pytest.mark.timeout(900)
def test_backend_1_on_spark_local_gives_the_local_engine_s_model(server):
    local_job, local = lr_weights(server, backend=0)
    assert local_job["f_status"] == "success", local_job
    job, model = lr_weights(server, backend=1, spark_run={"master": "local[2]"})
    assert job["f_status"] == "success", job
    assert engines_of(server, job["f_job_id"]) == {"spark"}
    assert model["intercept"] == pytest.approx(local["intercept"], abs=1e-9)
    assert model["weight"].keys() == local["weight"].keys()
    assert all(model["weight"][k] == pytest.approx(local["weight"][k], abs=1e-9) for k in local["weight"])
    logs = list(server.work_dir.glob(f"logs/{job['f_job_id']}/guest/{GUEST}/dataio_0/INFO.log"))
    assert logs and "computing on the spark engine" in logs[0].read_text()


@pytest.mark.timeout(900)
def test_backend_1_on_a_standalone_cluster_of_two_workers(server, local_auc, tmp_path):
    from fate_flow.computing.spark_cluster import SparkStandaloneCluster

    with SparkStandaloneCluster(workers=2, cores=1, memory="1g", root=tmp_path / "spark") as cluster:
        # one core per task: the guest's and the host's tasks run at once on the two workers
        job, auc = run_example(server, backend=1, task_cores=1,
                               spark_run={"master": cluster.master_url, **cluster.client_conf})
        pids = cluster.pids()
    assert job["f_status"] == "success", job
    assert engines_of(server, job["f_job_id"]) == {"spark"}
    assert auc == pytest.approx(local_auc, abs=1e-9)
    import psutil

    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def test_an_unreachable_master_fails_the_job_naming_it(server):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    job, _ = run_example(server, backend=1, spark_run={"master": f"spark://127.0.0.1:{port}"})
    assert job["f_status"] == "failed"
    reasons = " ".join(t["f_status_reason"] or "" for t in server.tasks(job["f_job_id"]))
    assert f"spark://127.0.0.1:{port}" in reasons, reasons
