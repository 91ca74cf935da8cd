"""FATE's own hetero LR example end to end: DataIO -> Intersection -> HeteroLR -> Evaluation, then predict."""
from __future__ import annotations

import json

import pytest

from tests.flow_server import ROOT

# one worker runs the module: its server (and trained model) is set up once
pytestmark = pytest.mark.xdist_group("e2e_hetero_lr")

EXAMPLE = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_logistic_regression"
DATA = ROOT / "examples" / "data"


def upload(server, file: str, table: str) -> None:
    answer = server.post("/v1/data/upload", {"file": str(DATA / file), "head": 1, "partition": 4, "work_mode": 0,
                                             "namespace": "experiment", "table_name": table, "use_local_data": 0})
    assert server.wait_job(answer["jobId"])["f_status"] == "success"


def metric(server, job_id: str, component: str, role: str = "guest", party: int = 10000) -> dict:
    answer = server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": component,
                                                              "role": role, "party_id": party})
    assert answer["retcode"] == 0, answer
    return answer.get("data", {})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.flow_server import FlowServer

    server = FlowServer(tmp_path_factory.mktemp("hetero_lr") / "server", conf={"federation": {"timeout": 300}}).start()
    upload(server, "breast_hetero_guest.csv", "breast_hetero_guest")
    upload(server, "breast_hetero_host.csv", "breast_hetero_host")
    dsl = json.loads((EXAMPLE / "test_hetero_lr_train_job_dsl.json").read_text())
    conf = json.loads((EXAMPLE / "test_hetero_lr_train_job_conf.json").read_text())
    answer = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
    assert answer["retcode"] == 0, answer
    job = server.wait_job(answer["jobId"], timeout=300)
    yield server, answer, job
    server.stop()


def test_example_trains_to_fate_quality(trained):
    server, answer, job = trained
    assert job["f_status"] == "success", job["f_status_reason"]
    summary = dict(metric(server, answer["jobId"], "evaluation_0")["train"]["hetero_lr_0"]["data"])
    assert summary["auc"] >= 0.98, summary
    intersect = dict(metric(server, answer["jobId"], "intersection_0")["train"]["intersection"]["data"])
    assert intersect["intersect_count"] == 569
    loss = metric(server, answer["jobId"], "hetero_lr_0", role="arbiter")["train"]["loss"]["data"]
    assert loss[-1][1] < loss[0][1], "the loss goes down"


def test_outputs_and_model_routes(trained):
    server, answer, _ = trained
    query = {"job_id": answer["jobId"], "component_name": "hetero_lr_0", "role": "guest", "party_id": 10000}
    data = server.post("/v1/tracking/component/output/data", query)
    assert data["meta"]["total"] == 569
    assert data["meta"]["header"][1:] == ["label", "predict_result", "predict_score", "predict_detail", "type"]
    model = server.post("/v1/tracking/component/output/model", query)
    assert model["meta"]["module_name"] == "HeteroLR" and len(model["data"]["weight"]) == 10
    host = server.post("/v1/tracking/component/output/model", dict(query, role="host"))
    assert len(host["data"]["weight"]) == 20


def test_predict_job_reproduces_the_training_scores(trained):
    server, answer, _ = trained
    conf = json.loads((EXAMPLE / "test_predict_conf.json").read_text())
    conf["job_parameters"].update(answer["data"]["model_info"])
    predict = server.post("/v1/job/submit", {"job_dsl": {}, "job_runtime_conf": conf})
    assert predict["retcode"] == 0, predict
    job = server.wait_job(predict["jobId"], timeout=300)
    assert job["f_status"] == "success", job["f_status_reason"]
    query = {"component_name": "hetero_lr_0", "role": "guest", "party_id": 10000}
    trained_rows = server.post("/v1/tracking/component/output/data", dict(query, job_id=answer["jobId"]))["data"]
    predicted = server.post("/v1/tracking/component/output/data", dict(query, job_id=predict["jobId"]))["data"]
    scores = {row[0]: float(row[3]) for row in trained_rows}
    assert all(abs(scores[row[0]] - float(row[3])) < 1e-9 for row in predicted if row[0] in scores)
