"""Load, bind and online inference on a real server: the built-in serving answers as FATE-Serving does.

One hetero LR model (breast, 5 iterations) and its batch predict job are shared by the module;
online scores must equal the predict job's for the same ids.
"""
from __future__ import annotations

import csv
import json

import pytest
import requests

from tests.flow_server import ROOT, FlowServer
from tests.test_e2e_hetero_lr import EXAMPLE, upload

# one worker runs the module: its server (and trained model) is set up once
pytestmark = pytest.mark.xdist_group("e2e_serving")

GUEST_CSV = ROOT / "examples" / "data" / "breast_hetero_guest.csv"
ROLES = {"guest": ["10000"], "host": ["10000"], "arbiter": ["10000"]}
SERVICE_ID = "breast-lr"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    server = FlowServer(tmp_path_factory.mktemp("serving") / "server", conf={"federation": {"timeout": 300}}).start()
    try:
        upload(server, "breast_hetero_guest.csv", "breast_hetero_guest")
        upload(server, "breast_hetero_host.csv", "breast_hetero_host")
        dsl = json.loads((EXAMPLE / "test_hetero_lr_train_job_dsl.json").read_text())
        conf = json.loads((EXAMPLE / "test_hetero_lr_train_job_conf.json").read_text())
        conf["algorithm_parameters"]["hetero_lr_0"]["max_iter"] = 5
        train = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
        assert server.wait_job(train["jobId"], timeout=300)["f_status"] == "success"
        model = train["data"]["model_info"]
        predict_conf = json.loads((EXAMPLE / "test_predict_conf.json").read_text())
        predict_conf["job_parameters"].update(model)
        predict = server.post("/v1/job/submit", {"job_dsl": {}, "job_runtime_conf": predict_conf})
        assert server.wait_job(predict["jobId"], timeout=300)["f_status"] == "success"
        rows = server.post("/v1/tracking/component/output/data", {
            "job_id": predict["jobId"], "component_name": "hetero_lr_0", "role": "guest", "party_id": 10000})["data"]
        yield server, model, {row[0]: float(row[3]) for row in rows}
    finally:
        server.stop()


def conf_file(tmp_path, name: str, conf: dict):
    path = tmp_path / name
    path.write_text(json.dumps(conf))
    return str(path)


def load_conf(model: dict, version: str | None = None) -> dict:
    """publish_load_model.json with this test's parties and model."""
    return {"initiator": {"party_id": "10000", "role": "guest"}, "role": ROLES,
            "job_parameters": {"work_mode": 0, "model_id": model["model_id"],
                               "model_version": version or model["model_version"]}}


@pytest.fixture(scope="module")
def served(trained, tmp_path_factory):
    server, model, _ = trained
    folder = tmp_path_factory.mktemp("confs")
    loaded = server.client("-f", "load", "-c", conf_file(folder, "publish_load_model.json", load_conf(model)))
    bind = dict(load_conf(model), service_id=SERVICE_ID, servings=[])  # bind_model_service.json
    bound = server.client("-f", "bind", "-c", conf_file(folder, "bind_model_service.json", bind))
    return loaded, bound


def guest_rows(count: int) -> list[dict]:
    with open(GUEST_CSV, newline="") as f:
        return list(csv.DictReader(f))[:count]


def request(service_id: str, row: dict) -> dict:
    features = {name: float(value) for name, value in row.items() if name.startswith("x")}
    return {"head": {"serviceId": service_id},
            "body": {"featureData": features, "sendToRemoteFeatureData": {"id": row["id"]}}}


def test_load_and_bind_answer_as_fate_flow(served):
    loaded, bound = served
    assert loaded["retcode"] == 0 and loaded["retmsg"] == "success" and loaded["jobId"]
    assert loaded["data"]["guest"] == {"10000": 0} and loaded["data"]["host"] == {"10000": 0}
    assert "arbiter" not in loaded["data"]  # the arbiter holds no servable model
    assert loaded["data"]["detail"]["host"]["10000"] == {"retcode": 0, "retmsg": "success"}
    assert bound == {"retcode": 0, "retmsg": f"service id is {SERVICE_ID}"}


def test_online_scores_equal_the_batch_predict_scores(trained, served):
    server, model, batch_scores = trained
    rows = [row for row in guest_rows(569) if row["id"] in batch_scores][:10]
    assert len(rows) == 10
    for row in rows:
        answer = server.post("/federation/v1/inference", request(SERVICE_ID, row))
        assert answer["retcode"] == 0, answer
        assert abs(answer["data"]["score"] - batch_scores[row["id"]]) < 1e-9
        assert answer["data"]["modelVersion"] == model["model_version"] and answer["flag"] == 0
        assert answer["data"]["modelId"] == f"guest#10000#{model['model_id']}"
    flat = request(SERVICE_ID, rows[0])  # FATE-Serving's older flat shape
    flat = {"serviceId": SERVICE_ID, **flat["body"]}
    assert server.post("/federation/v1/inference", flat)["data"]["score"] == pytest.approx(
        batch_scores[rows[0]["id"]], abs=1e-9)
    batch = {"head": {"serviceId": SERVICE_ID},
             "body": {"batchDataList": [dict(request(SERVICE_ID, row)["body"], index=i) for i, row in enumerate(rows)]}}
    answer = server.post("/federation/v1/batchInference", batch)
    assert [item["index"] for item in answer["batchDataList"]] == list(range(10))
    for item, row in zip(answer["batchDataList"], rows):
        assert item["retcode"] == 0 and abs(item["data"]["score"] - batch_scores[row["id"]]) < 1e-9


def test_inference_latency_is_in_the_metrics_by_service_id(trained, served):
    from tests.test_metrics import scrape, value

    server, _, _ = trained
    sample = "fate_flow_inference_latency_seconds_count"
    before = value(scrape(server), sample, service_id=SERVICE_ID)
    for row in guest_rows(3):
        assert server.post("/federation/v1/inference", request(SERVICE_ID, row))["retcode"] == 0
    server.post("/federation/v1/inference", request("no-such-service", guest_rows(1)[0]))
    after = scrape(server)
    assert value(after, sample, service_id=SERVICE_ID) == before + 3
    assert value(after, "fate_flow_inference_latency_seconds_sum", service_id=SERVICE_ID) > 0
    assert value(after, sample, service_id="no-such-service") == 0  # only bound ids: the label stays bounded


def test_errors_have_their_own_retcodes(trained, served):
    server, _, _ = trained
    row = guest_rows(1)[0]
    unknown = server.post("/federation/v1/inference", request("no-such-service", row))
    assert unknown["retcode"] == 1104 and "no-such-service" in unknown["retmsg"]
    no_id = request(SERVICE_ID, row)
    no_id["body"]["sendToRemoteFeatureData"] = {"id": "not-an-id"}
    missing = server.post("/federation/v1/inference", no_id)
    assert missing["retcode"] == 2113 and "not-an-id" in missing["retmsg"]
    assert server.post("/federation/v1/inference", {"head": {}})["retcode"] == 1100
    assert server.post("/v1/model/bind", dict(load_conf(trained[1]), service_id=""))["retmsg"] == "no service id"


def test_load_of_an_unknown_version_writes_nothing(trained, served, tmp_path):
    server, model, _ = trained

    def snapshot():
        files = sorted(p for p in (server.work_dir / "serving").rglob("*") if p.is_file())
        models = sorted(p.name for p in (server.work_dir / "model_local_cache").iterdir())
        return {str(p): p.read_bytes() for p in files}, models

    before = snapshot()
    answer = server.client("-f", "load", "-c", conf_file(tmp_path, "load.json", load_conf(model, "20200101000000000")))
    assert answer["retcode"] == 101 and answer["retmsg"] == "failed"
    for role in ("guest", "host"):
        detail = answer["data"]["detail"][role]["10000"]
        assert detail["retcode"] == 101 and "20200101000000000 not found" in detail["retmsg"]
    assert snapshot() == before


def test_a_separate_serving_pulls_the_model_and_answers_for_it(trained, served, tmp_path):
    server, model, batch_scores = trained
    # a serving pulls models only from servers it knows: the party's server is in its routes
    serving = FlowServer(tmp_path / "serving", conf={"routes": {"10000": server.address}}).start()
    try:
        body = dict(load_conf(model), local={"role": "guest", "party_id": "10000"}, servings=[serving.address])
        assert server.post("/v1/model/load/do", body)["retcode"] == 0
        pulled = serving.work_dir / "serving" / "models" / f"guest#10000#{model['model_id']}" / model["model_version"]
        assert (pulled / "pipeline.json").is_file()
        bound = server.post("/v1/model/bind", dict(load_conf(model), service_id="remote", servings=[serving.address]))
        assert bound == {"retcode": 0, "retmsg": "service id is remote"}
        # the serving runs standalone: its host party is itself, which has not loaded the host's part
        answer = serving.post("/federation/v1/inference", request("remote", guest_rows(1)[0]))
        assert answer["retcode"] == 2104 and "host 10000" in answer["retmsg"]
        host = dict(body, local={"role": "host", "party_id": "10000"})
        refused = server.post("/v1/model/load/do", host)
        assert refused["retcode"] == 1107 and "experiment.breast_hetero_host" in refused["retmsg"]
    finally:
        serving.stop()


def test_served_models_survive_a_restart(trained, served):
    server, _, batch_scores = trained
    row = next(row for row in guest_rows(569) if row["id"] in batch_scores)
    server.stop()
    server.start()
    answer = server.post("/federation/v1/inference", request(SERVICE_ID, row))
    assert answer["retcode"] == 0 and abs(answer["data"]["score"] - batch_scores[row["id"]]) < 1e-9


# ---------------------------------------------------------------------------------- cluster mode

@pytest.fixture(scope="module")
def cluster_served(tmp_path_factory):
    """Three servers, signed calls: FATE's fate_flow hetero LR example (binning, selection, LR)
    trained and batch predicted, then loaded from the guest to the guest's and the host's servers."""
    from tests.cluster import ARBITER, GUEST, HOST, Cluster

    cluster = Cluster(tmp_path_factory.mktemp("serving_cluster")).start()
    try:
        cluster.upload_breast()
        dsl, conf = Cluster.hetero_lr_job(max_iter=3)
        guest = cluster[GUEST]
        train = guest.submit(dsl, conf)
        assert guest.wait_job(train, timeout=300)["f_status"] == "success"
        model = guest.post("/v1/job/query", {"job_id": train, "role": "guest"})["data"][0]
        model = json.loads(model["f_runtime_conf"])["job_parameters"]
        info = {"model_id": model["model_id"], "model_version": model["model_version"]}
        predict_conf = {"initiator": conf["initiator"], "role": conf["role"],
                        "job_parameters": dict(info, work_mode=1, job_type="predict"),
                        "role_parameters": {role: {"args": {"data": {"eval_data": conf["role_parameters"][role]["args"]
                                                                     ["data"]["train_data"]}}}
                                            for role in ("guest", "host")}}
        predict = guest.submit({}, predict_conf)
        assert guest.wait_job(predict, timeout=300)["f_status"] == "success"
        rows = guest.post("/v1/tracking/component/output/data", {
            "job_id": predict, "component_name": "hetero_lr_0", "role": "guest", "party_id": GUEST})["data"]
        load = {"initiator": {"role": "guest", "party_id": GUEST},
                "role": {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]},
                "job_parameters": dict(info, work_mode=1)}
        loaded = guest.post("/v1/model/load", load)
        bound = guest.post("/v1/model/bind", dict(load, service_id=SERVICE_ID))
        yield cluster, loaded, bound, {row[0]: float(row[3]) for row in rows}, info
    finally:
        cluster.stop()


def test_cluster_online_scores_equal_the_batch_predict_scores(cluster_served):
    from tests.cluster import GUEST, HOST

    cluster, loaded, bound, batch_scores, info = cluster_served
    assert loaded["retcode"] == 0, loaded
    assert loaded["data"]["guest"] == {str(GUEST): 0} and loaded["data"]["host"] == {str(HOST): 0}
    assert bound["retcode"] == 0, bound
    rows = [row for row in guest_rows(569) if row["id"] in batch_scores][:10]
    assert len(rows) == 10
    for row in rows:
        answer = cluster[GUEST].post("/federation/v1/inference", request(SERVICE_ID, row))
        assert answer["retcode"] == 0, answer
        assert abs(answer["data"]["score"] - batch_scores[row["id"]]) < 1e-9
    # the host's server holds the host's part only: a guest service is not found there
    assert cluster[HOST].post("/federation/v1/inference", request(SERVICE_ID, rows[0]))["retcode"] == 1104
    # the host gives its partial scores to the model's guest only: a signed call from the arbiter is refused
    from fate_flow.utils.signing import sign_headers
    from tests.cluster import ARBITER

    body = json.dumps({"role": "host", "party_id": str(HOST), **info,
                       "featureIdList": [{"id": rows[0]["id"]}]}).encode()
    path = "/v1/serving/host/inference"
    headers = sign_headers(cluster.secrets[str(ARBITER)], str(ARBITER), "POST", path, body)
    refused = requests.post(cluster[HOST].url + path, data=body,
                            headers={**headers, "Content-Type": "application/json"}).json()
    assert refused["retcode"] == 2100 and f"party {ARBITER} is not a guest" in refused["retmsg"], refused
    cluster[HOST].stop()
    down = cluster[GUEST].post("/federation/v1/inference", request(SERVICE_ID, rows[0]))
    assert down["retcode"] == 1105 and f"host {HOST}" in down["retmsg"]


def test_a_serving_refuses_to_pull_from_an_unknown_server(trained, tmp_path):
    server, model, _ = trained
    serving = FlowServer(tmp_path / "lonely_serving").start()  # no route to the party's server
    try:
        answer = serving.post("/v1/serving/load", {"role": "guest", "party_id": "10000", "model_id": model["model_id"],
                                                   "model_version": model["model_version"],
                                                   "transfer_address": server.address})
        assert answer["retcode"] == 101 and "transfer_address" in answer["retmsg"], answer
        assert not (serving.work_dir / "serving" / "models").exists()
    finally:
        serving.stop()
