"""HeteroLR's and HomoLR's training options end to end, one real job each through one server, submitted
with the original client: cross validation (hetero and homo), one-vs-rest on vehicle (evaluated as multi),
validation with early stopping, stepwise, the sqn optimizer. The confs are derived from FATE's LR examples (FATE 1.4's repository does
not ship these under federatedml-1.x-examples here); small keys and few iterations keep the jobs short.
"""
from __future__ import annotations

import json

import pytest

from tests.flow_server import ROOT, FlowServer

HETERO = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_logistic_regression"
HOMO = ROOT / "examples" / "federatedml-1.x-examples" / "homo_logistic_regression"
DATA = ROOT / "examples" / "data"
TABLES = ("breast_hetero_guest", "breast_hetero_host", "breast_hetero_mini_guest", "breast_hetero_mini_host",
          "vehicle_scale_hetero_guest", "vehicle_scale_hetero_host",
          "breast_homo_guest", "breast_homo_host")
JOBS = {  # name: (example dir, conf/dsl stem, module key, overrides of its algorithm parameters)
    "hetero_cv": (HETERO, "test_hetero_lr_cv_job", "hetero_lr_0", {"max_iter": 3, "cv_param": {"n_splits": 3}}),
    "homo_cv": (HOMO, "test_homolr_cv_job", "homo_lr_0", {"cv_param": {"n_splits": 3}}),
    "ovr": (HETERO, "test_hetero_lr_one_vs_rest_job", "hetero_lr_0", {}),
    "validate": (HETERO, "test_hetero_lr_validate_job", "hetero_lr_0", {"max_iter": 6}),
    "stepwise": (HETERO, "test_hetero_lr_stepwise_job", "hetero_lr_0", {}),
    "sqn": (HETERO, "test_hetero_lr_sqn_job", "hetero_lr_0", {"max_iter": 10}),
}
pytestmark = pytest.mark.xdist_group("e2e_lr_options")


def merge(base: dict, overrides: dict) -> dict:
    for key, value in overrides.items():
        base[key] = merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return base


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """Every job submitted at once with the client (the server runs them side by side), then awaited."""
    work = tmp_path_factory.mktemp("lr_options")
    server = FlowServer(work / "server", conf={"federation": {"timeout": 600}}).start()
    for table in TABLES:
        answer = server.post("/v1/data/upload", {"file": str(DATA / f"{table}.csv"), "head": 1, "partition": 2,
                                                 "work_mode": 0, "namespace": "experiment", "table_name": table,
                                                 "use_local_data": 0})
        assert server.wait_job(answer["jobId"], timeout=120)["f_status"] == "success"
    submitted = {}
    for name, (folder, stem, module, overrides) in JOBS.items():
        conf = json.loads((folder / f"{stem}_conf.json").read_text())
        merge(conf["algorithm_parameters"][module], dict(overrides, encrypt_param={"key_length": 512}))
        (work / f"{name}_conf.json").write_text(json.dumps(conf))
        reply = server.client("-f", "submit_job", "-c", str(work / f"{name}_conf.json"), "-d",
                              str(folder / f"{stem}_dsl.json"))
        assert reply["retcode"] == 0, reply
        submitted[name] = reply["jobId"]
    done = {name: server.wait_job(job_id, timeout=900) for name, job_id in submitted.items()}
    yield server, submitted, done
    server.stop()


def metrics(server, job_id: str, component: str, role: str = "guest") -> dict:
    answer = server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": component,
                                                              "role": role, "party_id": 10000})
    assert answer["retcode"] == 0, answer
    return answer["data"]


@pytest.mark.timeout(1200)
def test_hetero_cross_validation_logs_every_fold(jobs):
    server, ids, done = jobs
    assert done["hetero_cv"]["f_status"] == "success", done["hetero_cv"]["f_status_reason"]
    logged = metrics(server, ids["hetero_cv"], "hetero_lr_0")
    for k in range(3):
        assert dict(logged["train"][f"train_fold_{k}"]["data"])["auc"] > 0.9
        assert dict(logged["validate"][f"validate_fold_{k}"]["data"])["auc"] > 0.9
    assert set(metrics(server, ids["hetero_cv"], "hetero_lr_0", "arbiter")["train"]) == {"loss.0", "loss.1", "loss.2"}


@pytest.mark.timeout(1200)
def test_homo_cross_validation_logs_every_fold_on_each_client(jobs):
    server, ids, done = jobs
    assert done["homo_cv"]["f_status"] == "success", done["homo_cv"]["f_status_reason"]
    for role in ("guest", "host"):
        logged = metrics(server, ids["homo_cv"], "homo_lr_0", role)
        assert {f"validate_fold_{k}" for k in range(3)} <= set(logged["validate"])


@pytest.mark.timeout(1200)
def test_one_vs_rest_job_is_evaluated_as_multi(jobs):
    server, ids, done = jobs
    assert done["ovr"]["f_status"] == "success", done["ovr"]["f_status_reason"]
    summary = dict(metrics(server, ids["ovr"], "evaluation_0")["train"]["hetero_lr_0"]["data"])
    assert summary["accuracy"] >= 0.66, summary  # sklearn's one-vs-rest LR: 0.69 on these rows
    query = {"job_id": ids["ovr"], "component_name": "hetero_lr_0", "role": "guest", "party_id": 10000}
    model = server.post("/v1/tracking/component/output/model", query)
    assert model["data"]["need_one_vs_rest"] is True
    assert model["data"]["one_vs_rest_result"]["one_vs_rest_classes"] == ["0", "1", "2", "3"]


@pytest.mark.timeout(1200)
def test_validation_logs_each_iteration(jobs):
    server, ids, done = jobs
    assert done["validate"]["f_status"] == "success", done["validate"]["f_status_reason"]
    logged = metrics(server, ids["validate"], "hetero_lr_0")
    iterations = sorted(int(name.split("_")[1]) for name in logged["validate"] if name.count("_") == 1)
    assert iterations and iterations == list(range(len(iterations)))
    assert set(dict(logged["validate"]["iteration_0"]["data"])) == {"auc", "ks"}


@pytest.mark.timeout(1200)
def test_stepwise_logs_each_step_and_outputs_the_chosen_model(jobs):
    server, ids, done = jobs
    assert done["stepwise"]["f_status"] == "success", done["stepwise"]["f_status_reason"]
    logged = metrics(server, ids["stepwise"], "hetero_lr_0", "arbiter")
    assert logged["train"]["stepwise_0"]["meta"]["metric_type"] == "STEPWISE"
    assert logged["train"]["stepwise_0"]["meta"]["number_in"] == 6
    summary = dict(metrics(server, ids["stepwise"], "evaluation_0")["train"]["hetero_lr_0"]["data"])
    assert summary["auc"] > 0.9


@pytest.mark.timeout(1200)
def test_sqn_job_trains_to_lr_quality(jobs):
    server, ids, done = jobs
    assert done["sqn"]["f_status"] == "success", done["sqn"]["f_status_reason"]
    summary = dict(metrics(server, ids["sqn"], "evaluation_0")["train"]["hetero_lr_0"]["data"])
    assert summary["auc"] >= 0.98, summary
    assert len(metrics(server, ids["sqn"], "hetero_lr_0", "arbiter")["train"]["loss"]["data"]) >= 2
