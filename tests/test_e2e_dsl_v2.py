"""DSL v2 jobs on a real server: every module's v2 example, the same model from v1 and v2, the Reader's
metric, deploy and predict over HTTP, rerun, and the bad inputs refused with what is wrong."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import requests

from tests.flow_server import FlowServer

ROOT = Path(__file__).resolve().parent.parent
V2 = ROOT / "examples" / "dsl_v2"
V1 = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_logistic_regression"
DATA = ROOT / "examples" / "data"
TABLES = ("breast_hetero_guest", "breast_hetero_host", "breast_homo_guest", "breast_homo_host")


# one worker runs the module: its server, uploads and trained jobs are shared by its tests
pytestmark = pytest.mark.xdist_group("dsl_v2")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = FlowServer(tmp_path_factory.mktemp("dsl_v2")).start()
    jobs = []
    for table in TABLES:
        answer = server.post("/v1/data/upload", {"file": str(DATA / f"{table}.csv"), "head": 1, "partition": 2,
                                                 "work_mode": 0, "namespace": "experiment", "table_name": table,
                                                 "use_local_data": 0})
        assert answer["retcode"] == 0, answer
        jobs.append(answer["jobId"])
    for job_id in jobs:
        assert server.wait_job(job_id, timeout=120)["f_status"] == "success"
    yield server
    server.stop()


def load(name: str) -> tuple[dict, dict]:
    folder = V2 / name
    return (json.loads(next(folder.glob("*_dsl.json")).read_text()),
            json.loads(next(folder.glob("*_conf.json")).read_text()))


def model_param(server: FlowServer, job_id: str, component: str, role: str, party_id: int) -> dict:
    answer = server.post("/v1/tracking/component/output/model", {"job_id": job_id, "component_name": component,
                                                                 "role": role, "party_id": party_id})
    assert answer["retcode"] == 0, answer
    return answer["data"]


@pytest.fixture(scope="module")
def example_jobs(server) -> dict[str, str]:
    """Every module's v2 example, submitted at once and finished: example name -> job id."""
    names = sorted(p.name for p in V2.iterdir() if p.is_dir())
    jobs = {name: server.submit(*load(name)) for name in names}
    for name, job_id in jobs.items():
        job = server.wait_job(job_id, timeout=240)
        assert job["f_status"] == "success", (name, job.get("f_status_reason"))
    return jobs


def test_every_module_runs_from_its_v2_example(server, example_jobs):
    jobs = example_jobs
    metric = server.post("/v1/tracking/component/metric/all", {"job_id": jobs["intersect"], "component_name":
                                                               "reader_0", "role": "guest", "party_id": 10000})
    meta = metric["data"]["reader_namespace"]["reader_name"]["meta"]
    assert (meta["metric_type"], meta["table_name"], meta["count"]) == ("data_info", "breast_hetero_guest", 569)
    assert len(meta["table_info"]["x0"]) == 5
    tables = server.post("/v1/table/list", {"job_id": jobs["intersect"], "role": "guest", "party_id": 10000})
    assert tables["data"]["reader_0"]["input"] == [{"name": "breast_hetero_guest", "namespace": "experiment"}]
    dag = server.post("/v1/pipeline/dag/dependency", {"job_id": jobs["hetero_lr"], "role": "guest",
                                                      "party_id": 10000})
    assert dag["data"]["dependencies"]["hetero_lr_0"][0]["type"] == "train_data"


def test_fate_14_modules_of_step_6_run_from_a_v2_conf(server, example_jobs):
    """FederatedSample, HeteroPearson and LocalBaseline (guest only: the host's need_run is false) in one v2 job."""
    job_id = example_jobs["more_modules"]
    sample = server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": "federated_sample_0",
                                                               "role": "guest", "party_id": 10000})["data"]
    assert sample["original_count"]["stratified"]["data"] == [[0, 212], [1, 357]]
    assert sample["sample_count"]["stratified"]["data"] == [[0, 106], [1, 357]]  # label 0 down to half
    pearson = model_param(server, job_id, "hetero_pearson_0", "guest", 10000)
    assert pearson["shapes"] == [10, 20]
    summary = server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": "evaluation_0",
                                                                "role": "guest", "party_id": 10000})["data"]
    assert dict(summary["train"]["local_baseline_0"]["data"])["auc"] > 0.95
    assert not [t for t in server.tasks(job_id) if t["f_component_name"] == "local_baseline_0" and t["f_role"] == "host"]


def test_v2_conf_and_its_v1_equivalent_train_the_same_model(server, example_jobs):
    _, conf2 = load("hetero_lr")
    dsl1 = json.loads((V1 / "test_hetero_lr_train_job_dsl.json").read_text())
    conf1 = json.loads((V1 / "test_hetero_lr_train_job_conf.json").read_text())
    conf1["role"] = copy.deepcopy(conf2["role"])
    conf1["algorithm_parameters"]["hetero_lr_0"].update(max_iter=5, init_param={"init_method": "zeros"})
    for role in ("guest", "host"):  # v1's eval_data input is not read by this DSL
        conf1["role_parameters"][role]["args"]["data"].pop("eval_data")
    v1_job, v2_job = server.submit(dsl1, conf1), example_jobs["hetero_lr"]
    assert server.wait_job(v1_job, timeout=240)["f_status"] == "success"
    for role, party_id in (("guest", 10000), ("host", 9999)):
        one, two = (model_param(server, j, "hetero_lr_0", role, party_id) for j in (v1_job, v2_job))
        assert one["weight"].keys() == two["weight"].keys()
        for name, weight in one["weight"].items():
            assert abs(weight - two["weight"][name]) < 1e-9, (role, name)
        assert abs(one.get("intercept", 0) - two.get("intercept", 0)) < 1e-9


def test_deploy_predict_dsl_conf_and_predict_over_http(server, example_jobs):
    dsl, conf = load("hetero_lr")
    job_id = example_jobs["hetero_lr"]
    model = json.loads(server.job(job_id)["f_runtime_conf"])["job_parameters"]
    ids = {"model_id": model["model_id"], "model_version": model["model_version"]}
    refused = server.post("/v1/model/get/predict/dsl", ids)
    assert refused["retcode"] != 0 and "has not been deployed" in refused["retmsg"]
    deployed = server.post("/v1/model/deploy", dict(ids, cpn_list=["reader_0", "dataio_0", "intersection_0",
                                                                  "hetero_lr_0"]))
    assert deployed["retcode"] == 0, deployed
    version = deployed["data"]["model_version"]
    assert version != model["model_version"] and deployed["data"]["guest"] == {"10000": 0}
    predict_dsl = server.post("/v1/model/get/predict/dsl", dict(ids, model_version=version))["data"]
    assert predict_dsl["components"]["hetero_lr_0"]["input"]["data"] == {"test_data": ["intersection_0.data"]}
    template = server.post("/v1/model/get/predict/conf", dict(ids, model_version=version))["data"]
    assert template["component_parameters"]["role"]["guest"]["0"]["reader_0"]["table"]["name"] == "name_to_be_filled_0"
    for role, table in (("guest", "breast_hetero_guest"), ("host", "breast_hetero_host")):
        template["component_parameters"]["role"][role]["0"]["reader_0"]["table"] = {"name": table,
                                                                                   "namespace": "experiment"}
    predict = server.submit(predict_dsl, template)
    assert server.wait_job(predict, timeout=240)["f_status"] == "success"
    generated = server.post("/v1/job/dsl/generate", {"train_dsl": json.dumps(dsl), "cpn_str": "dataio_0,hetero_lr_0",
                                                     "version": "2"})
    assert generated["data"]["components"]["hetero_lr_0"]["input"]["data"] == {"test_data": ["dataio_0.data"]}
    listed = server.post("/v1/model/query", dict(ids, model_version=version, role="guest", party_id=10000))
    assert listed["retcode"] == 0 and listed["data"][0]["f_model_version"] == version


def test_list_routes_answer_both_shapes(server):
    plain = server.post("/v1/job/list/job", {"limit": 2})
    assert plain["retcode"] == 0 and len(plain["data"]) == 2 and "f_job_id" in plain["data"][0]
    paged = server.post("/v1/job/list/job", {"limit": 2, "page": 1, "role": "guest", "order_by": "create_time"})
    assert paged["retcode"] == 0 and paged["data"]["count"] >= 2 and "job_id" in paged["data"]["jobs"][0]
    assert "partners" in paged["data"]["jobs"][0]
    tasks = server.post("/v1/job/list/task", {"limit": 3, "page": 1})
    assert len(tasks["data"]["tasks"]) == 3 and "component_name" in tasks["data"]["tasks"][0]
    none = server.post("/v1/job/list/task", {"limit": 3, "job_id": "20000101000000000000"})
    assert none["data"] == {"tasks": [], "count": 0}


@pytest.mark.parametrize("change,words", [
    (lambda c: c.update(algorithm_parameters={}), ["algorithm_parameters", "DSL v1 section"]),
    (lambda c: c["component_parameters"]["role"]["host"].update({"2": {}}), ["host.2", "index 2 is beyond"]),
    (lambda c: c["component_parameters"]["role"]["guest"]["0"]["reader_0"].update(
        table={"name": "no_such_table", "namespace": "experiment"}),
     ["component_parameters.role.guest.0.reader_0.table", "experiment.no_such_table", "does not exist"]),
    (lambda c: c["component_parameters"]["common"]["hetero_lr_0"].update(max_iterr=3),
     ["component_parameters.common.hetero_lr_0.max_iterr", "did you mean max_iter"]),
], ids=["v1-keys", "index-beyond", "missing-table", "unknown-param"])
def test_bad_v2_confs_are_refused_naming_the_problem(server, change, words):
    dsl, conf = load("hetero_lr")
    change(conf)
    answer = server.post("/v1/job/submit", {"dsl": dsl, "runtime_conf": conf})  # FATE 1.7's body keys
    assert answer["retcode"] != 0
    for word in words:
        assert word in answer["retmsg"], answer["retmsg"]


def test_predict_on_a_model_never_deployed_and_rerun_of_a_successful_job_are_refused(server, example_jobs):
    dsl, conf = load("intersect")
    job_id = example_jobs["intersect"]
    model = json.loads(server.job(job_id)["f_runtime_conf"])["job_parameters"]
    predict = {key: conf[key] for key in ("dsl_version", "initiator", "role", "component_parameters")}
    predict["job_parameters"] = {"common": {"job_type": "predict", "model_id": model["model_id"],
                                            "model_version": model["model_version"]}}
    answer = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": predict})
    assert answer["retcode"] != 0 and f"version {model['model_version']} has not been deployed" in answer["retmsg"]
    rerun = server.post("/v1/job/rerun", {"job_id": job_id})
    assert rerun["retcode"] != 0 and "has succeeded" in rerun["retmsg"]
    forced = server.post("/v1/job/rerun", {"job_id": job_id, "component_name": "intersect_0", "force": True})
    assert forced["retcode"] == 0 and forced["data"]["components"] == ["intersect_0"]
    running = server.post("/v1/job/rerun", {"job_id": job_id})
    assert running["retcode"] != 0 and ("is waiting" in running["retmsg"] or "is running" in running["retmsg"])
    assert server.wait_job(job_id, timeout=120)["f_status"] == "success"


def test_own_client_has_the_fate_15_commands(server, example_jobs, tmp_path):
    dsl, conf = load("scale")
    job_id = example_jobs["scale"]
    assert len(server.client("-f", "list_job", "-limit", "2")["data"]) == 2
    assert server.client("-f", "component_list", "-j", job_id)["data"]["components"][-1] == "feature_scale_0"
    refused = server.client("-f", "rerun_job", "-j", job_id)
    assert refused["retcode"] != 0 and "has succeeded" in refused["retmsg"]
    forced = server.client("-f", "rerun_job", "-j", job_id, "-cpn", "feature_scale_0", "--force")
    assert forced["retcode"] == 0 and forced["data"]["components"] == ["feature_scale_0"]
    assert server.wait_job(job_id, timeout=120)["f_status"] == "success"
    model = json.loads(server.job(job_id)["f_runtime_conf"])["job_parameters"]
    ids = ("--model-id", model["model_id"], "--model-version", model["model_version"])
    deployed = server.client("-f", "deploy", *ids, "--cpn-list", "reader_0,dataio_0,intersection_0,feature_scale_0")
    assert deployed["retcode"] == 0, deployed
    predict_dsl = server.client("-f", "get_predict_dsl", "--model-id", model["model_id"], "--model-version",
                                deployed["data"]["model_version"])
    assert predict_dsl["data"]["components"]["feature_scale_0"]["input"]["model"] == ["pipeline.feature_scale_0.model"]
    (tmp_path / "dsl.json").write_text(json.dumps(dsl))
    (tmp_path / "conf.json").write_text(json.dumps(conf))
    checked = server.client("-f", "validate_dsl", "-d", str(tmp_path / "dsl.json"), "-c", str(tmp_path / "conf.json"))
    assert checked["retcode"] == 0, checked


def test_the_other_fate_15_routes_answer_or_say_why_not(server, example_jobs):
    job_id = example_jobs["intersect"]
    party = {"job_id": job_id, "role": "guest", "party_id": 10000}
    assert server.post("/v1/job/url/get", party)["data"]["board_url"][0].endswith(
        f"job_id={job_id}&role=guest&party_id=10000")
    assert server.post("/v1/job/log/path", {"job_id": job_id})["data"]["logs_directory"].endswith(job_id)
    log = requests.post(server.url + "/v1/job/log/download", json={"job_id": job_id}, timeout=30)
    assert log.status_code == 200 and log.content[:2] == b"\x1f\x8b"  # a tar.gz
    # the dashboard is served by the server itself unless service_conf names another fateboard
    assert server.post("/v1/info/fateboard")["data"] == {"host": "127.0.0.1", "port": int(server.address.rsplit(":", 1)[1])}
    # checkpoints, table add/bind, tags and migrate: tests/test_fate_client_gaps.py
    for path, words in (("/v1/info/eggroll", "no EggRoll"),):
        answer = server.post(path, {"engine": "EGGROLL"})
        assert answer["retcode"] != 0 and words in answer["retmsg"], (path, answer)
    granted = server.post("/v1/permission/grant", {"party_id": 9999, "role": "host",
                                                    "privilege_command": "create"})
    assert granted["retcode"] == 0, granted
    assert "create" in json.dumps(server.post("/v1/permission/query", {"party_id": 9999, "role": "host"})["data"])
    assert server.post("/v1/job/parameter/update", {"job_id": job_id, "component_parameters": {}})["retcode"] != 0
