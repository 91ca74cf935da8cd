"""FATE 1.4's HomoNN and HeteroNN example confs through the original client against a real server:
train, then the DSL's second component predicts with the trained model.

The HomoNN conf runs unchanged. The HeteroNN conf runs with two changes only, to stay within the
test budget: 2 epochs instead of 100 and 512-bit Paillier keys (the unchanged conf takes about three
minutes on two loaded cores, bench/RESULTS.md "HeteroNN"; FATE 1.4.5 needs more than six for its
Paillier operations alone).
"""
from __future__ import annotations


import pytest

pytest.importorskip("torch", reason="torch is the optional extra 'nn' (pip install -e '.[nn]')")

from tests.flow_server import ROOT, FlowServer  # noqa: E402

EXAMPLES = ROOT / "examples" / "federatedml-1.x-examples"
DATA = ROOT / "examples" / "data"

pytestmark = pytest.mark.xdist_group("e2e_nn")


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """One server; both examples submitted through the client at once (they run side by side)."""
    tmp = tmp_path_factory.mktemp("nn")
    server = FlowServer(tmp / "server", conf={"federation": {"timeout": 300}}).start()
    for name in ("breast_homo_guest", "breast_homo_host", "breast_hetero_guest", "breast_hetero_host"):
        answer = server.post("/v1/data/upload", {
            "file": str(DATA / f"{name}.csv"), "head": 1, "partition": 2, "work_mode": 0,
            "namespace": "experiment", "table_name": name, "use_local_data": 0})
        assert server.wait_job(answer["jobId"])["f_status"] == "success"
    submitted = {
        "homo": submit(server, EXAMPLES / "homo_nn" / "test_homo_dnn_single_layer.json",
                       EXAMPLES / "homo_nn" / "test_homo_dnn_dsl.json"),
        "hetero": submit(server, EXAMPLES / "hetero_nn" / "test_hetero_nn_keras.json",
                         EXAMPLES / "hetero_nn" / "test_hetero_nn_dsl.json"),
    }
    yield server, submitted
    server.stop()


def submit(server, conf, dsl) -> str:
    answer = server.client("-f", "submit_job", "-c", str(conf), "-d", str(dsl))
    assert answer["retcode"] == 0, answer
    return answer["jobId"]


def finished(server, job_id) -> str:
    job = server.wait_job(job_id, timeout=600)
    assert job["f_status"] == "success", [(t["f_component_name"], t["f_role"], t["f_status_reason"])
                                          for t in server.tasks(job_id)]
    return job_id


def output_rows(server, job_id, component, role="guest") -> dict:
    return server.post("/v1/tracking/component/output/data", {"job_id": job_id, "component_name": component,
                                                              "role": role, "party_id": 10000})


def metric(server, job_id, component, role):
    return server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": component,
                                                            "role": role, "party_id": 10000})["data"]


def test_homo_nn_example(jobs):
    server, submitted = jobs
    job_id = finished(server, submitted["homo"])
    loss = metric(server, job_id, "homo_nn_0", "arbiter")["train"]["loss"]
    assert loss["meta"]["metric_type"] == "LOSS" and loss["data"][-1][1] < loss["data"][0][1]
    for component in ("homo_nn_0", "homo_nn_1"):
        rows = output_rows(server, job_id, component)
        assert rows["meta"]["total"] == 227 and rows["meta"]["header"][1:3] == ["label", "predict_result"]
    model = server.post("/v1/tracking/component/output/model", {"job_id": job_id, "component_name": "homo_nn_0",
                                                                "role": "host", "party_id": 10000})
    assert model["meta"]["module_name"] == "HomoNN"


def test_hetero_nn_example(jobs):
    server, submitted = jobs
    job_id = finished(server, submitted["hetero"])
    loss = metric(server, job_id, "hetero_nn_0", "guest")["train"]["loss"]
    assert loss["meta"]["metric_type"] == "LOSS" and loss["data"][-1][1] < loss["data"][0][1]
    rows = output_rows(server, job_id, "hetero_nn_1")
    assert rows["meta"]["total"] == 569


def test_a_server_without_torch_fails_the_job_saying_how_to_install_it(tmp_path):
    """The task processes of this server find a 'torch' that does not import, as if it were not installed."""
    hidden = tmp_path / "no_torch" / "torch"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    server = FlowServer(tmp_path / "server")
    server.env["PYTHONPATH"] = f"{ROOT}:{hidden.parent}"
    server.start()
    try:
        for name in ("breast_homo_guest", "breast_homo_host"):
            answer = server.post("/v1/data/upload", {
                "file": str(DATA / f"{name}.csv"), "head": 1, "partition": 1, "work_mode": 0,
                "namespace": "experiment", "table_name": name, "use_local_data": 0})
            assert server.wait_job(answer["jobId"])["f_status"] == "success"
        job_id = submit(server, EXAMPLES / "homo_nn" / "test_homo_dnn_single_layer.json",
                        EXAMPLES / "homo_nn" / "test_homo_dnn_dsl.json")
        assert server.wait_job(job_id, timeout=300)["f_status"] == "failed"
        reasons = [t["f_status_reason"] for t in server.tasks(job_id) if t["f_component_name"] == "homo_nn_0"
                   and t["f_status"] == "failed"]
        assert any("HomoNN runs on PyTorch" in r and "pip install -e '.[nn]'" in r for r in reasons), reasons
    finally:
        server.stop()
