"""FATE's own HeteroSecureBoost examples end to end (binary, multi-class, regression, predict) and confs of
our own in FATE's format (early stopping, missing values, two hosts), through a real server."""
from __future__ import annotations

import copy
import json
import time

import pytest

from tests.flow_server import ROOT, FlowServer

# one worker runs the module: its server (and trained model) is set up once
pytestmark = pytest.mark.xdist_group("e2e_hetero_secureboost")

EXAMPLE = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_secureboost"
DATA = ROOT / "examples" / "data"
TABLES = ("breast_hetero_guest", "breast_hetero_host", "vehicle_scale_hetero_guest", "vehicle_scale_hetero_host",
          "student_hetero_guest", "student_hetero_host")
# our own confs keep the trees few and the key short: they test behaviour, the examples test quality
FAST = {"num_trees": 3, "encrypt_param": {"method": "paillier", "key_length": 512}, "tree_param": {"max_depth": 3}}


def upload(server, table: str, partition: int = 4, file: str | None = None) -> None:
    answer = server.post("/v1/data/upload", {"file": str(file or DATA / f"{table}.csv"), "head": 1,
                                             "partition": partition, "work_mode": 0, "namespace": "experiment",
                                             "table_name": table, "use_local_data": 0, "drop": 1})
    assert server.wait_job(answer["jobId"])["f_status"] == "success"


def metric(server, job_id: str, component: str, role: str = "guest", party: int = 10000) -> dict:
    answer = server.post("/v1/tracking/component/metric/all", {"job_id": job_id, "component_name": component,
                                                              "role": role, "party_id": party})
    assert answer["retcode"] == 0, answer
    return answer.get("data", {})


def example(name: str) -> tuple[dict, dict]:
    dsl = json.loads((EXAMPLE / "test_secureboost_train_dsl.json").read_text())
    return dsl, json.loads((EXAMPLE / name).read_text())  # fresh copies: tests edit them


def run(server, dsl: dict, conf: dict, timeout: float = 300) -> tuple[str, dict, float]:
    start = time.monotonic()
    answer = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
    assert answer["retcode"] == 0, answer
    job = server.wait_job(answer["jobId"], timeout=timeout)
    assert job["f_status"] == "success", (job["f_status_reason"], [(t["f_component_name"], t["f_status_reason"])
                                                                  for t in server.tasks(answer["jobId"])])
    return answer["jobId"], answer["data"]["model_info"], time.monotonic() - start


def output_rows(server, job_id: str, role: str = "guest", party: int = 10000) -> list:
    query = {"job_id": job_id, "component_name": "secureboost_0", "role": role, "party_id": party}
    return server.post("/v1/tracking/component/output/data", query)


def summary(server, job_id: str) -> dict:
    return dict(metric(server, job_id, "evaluation_0")["train"]["secureboost_0"]["data"])


def with_params(conf: dict, **params) -> dict:
    conf = copy.deepcopy(conf)
    conf["algorithm_parameters"]["secureboost_0"].update(copy.deepcopy(params))
    return conf


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = FlowServer(tmp_path_factory.mktemp("sbt") / "server", conf={"federation": {"timeout": 300}}).start()
    for table in TABLES:
        upload(server, table)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def binary(server):
    dsl, conf = example("test_secureboost_train_binary_conf.json")
    return run(server, dsl, conf)


def test_binary_example_reaches_fate_quality(server, binary):
    job_id, _, _ = binary
    assert summary(server, job_id)["auc"] >= 0.995
    loss = metric(server, job_id, "secureboost_0")["train"]["loss"]
    points = loss["data"]
    assert [p[0] for p in points] == [0, 1, 2, 3, 4] and points[-1][1] < points[0][1]
    assert loss["meta"]["Best"] == pytest.approx(min(p[1] for p in points))
    validation = metric(server, job_id, "secureboost_0")["validate"]
    assert sorted(validation) == [f"iteration_{r}" for r in range(5)]


def test_binary_outputs_and_models_keep_host_thresholds_on_the_host(server, binary):
    job_id, _, _ = binary
    data = output_rows(server, job_id)
    assert data["meta"]["total"] == 569  # the eval data is the train data: its rows are output once
    assert data["meta"]["header"][1:] == ["label", "predict_result", "predict_score", "predict_detail", "type"]
    query = {"job_id": job_id, "component_name": "secureboost_0", "role": "guest", "party_id": 10000}
    guest = server.post("/v1/tracking/component/output/model", query)
    host = server.post("/v1/tracking/component/output/model", dict(query, role="host"))
    assert guest["meta"]["module_name"] == "HeteroSecureBoost"
    assert len(guest["data"]["trees_"]) == 5 and guest["data"]["tree_dim"] == 1
    host_nodes = [(t, n) for t, tree in enumerate(host["data"]["trees_"]) for n in tree["tree_"]
                  if n["sitename"] == "host:10000" and not n["is_leaf"]]
    assert host_nodes, "the host won some splits"
    for t, node in host_nodes:
        assert str(node["id"]) in host["data"]["trees_"][t]["split_maskdict"]
        assert guest["data"]["trees_"][t]["split_maskdict"] == {}
    assert all(n["weight"] == 0 for tree in host["data"]["trees_"] for n in tree["tree_"])


def test_predict_job_reproduces_the_training_scores(server, binary):
    job_id, model, _ = binary
    conf = json.loads((EXAMPLE / "test_predict_conf.json").read_text())
    conf["job_parameters"].update(model)
    predict = server.post("/v1/job/submit", {"job_dsl": {}, "job_runtime_conf": conf})
    assert predict["retcode"] == 0, predict
    job = server.wait_job(predict["jobId"], timeout=300)
    assert job["f_status"] == "success", job["f_status_reason"]
    trained = {row[0]: float(row[3]) for row in output_rows(server, job_id)["data"] if row[5] == "train"}
    answer = output_rows(server, predict["jobId"])
    predicted = answer["data"]  # the first rows the route shows
    assert answer["meta"]["total"] == 569 and all(row[5] == "predict" for row in predicted)
    shared = [row for row in predicted if row[0] in trained]
    assert shared and all(abs(trained[row[0]] - float(row[3])) < 1e-9 for row in shared)


def test_multi_class_example(server):
    dsl, conf = example("test_secureboost_train_multi_conf.json")
    job_id, _, _ = run(server, dsl, with_params(conf, num_trees=2))
    model = server.post("/v1/tracking/component/output/model", {"job_id": job_id, "component_name": "secureboost_0",
                                                                "role": "guest", "party_id": 10000})["data"]
    assert model["tree_dim"] == 4 and len(model["trees_"]) == 8 and model["num_classes"] == 4
    rows = output_rows(server, job_id)["data"]
    accuracy = sum(row[1] == row[2] for row in rows) / len(rows)
    assert accuracy >= 0.8
    assert set(json.loads(rows[0][4].replace(";", ","))) == {"0", "1", "2", "3"}


def test_regression_example(server):
    dsl, conf = example("test_secureboost_train_regression_conf.json")
    job_id, _, _ = run(server, dsl, conf)
    errors = summary(server, job_id)
    assert "root_mean_squared_error" in errors
    rows = output_rows(server, job_id)["data"]
    assert all(row[2] == row[3] for row in rows)  # predict_result is the prediction
    loss = metric(server, job_id, "secureboost_0")["train"]["loss"]["data"]
    assert loss[-1][1] < loss[0][1]


def test_early_stopping_on_validation(server, tmp_path):
    # validate on the train rows with their labels flipped: the better the model, the worse the validation
    header, *rows = (DATA / "breast_hetero_guest.csv").read_text().splitlines()
    flipped = [",".join([r.split(",")[0], str(1 - int(r.split(",")[1]))] + r.split(",")[2:]) for r in rows]
    path = tmp_path / "breast_hetero_guest_flipped.csv"
    path.write_text("\n".join([header] + flipped) + "\n")
    upload(server, "breast_hetero_guest_flipped", file=path)
    dsl, conf = example("test_secureboost_train_binary_conf.json")
    conf = with_params(conf, **dict(FAST, num_trees=6, early_stopping_rounds=2, validation_freqs=1))
    conf["role_parameters"]["guest"]["args"]["data"]["eval_data"][0]["name"] = "breast_hetero_guest_flipped"
    job_id, _, _ = run(server, dsl, conf)
    query = {"job_id": job_id, "component_name": "secureboost_0", "role": "guest", "party_id": 10000}
    model = server.post("/v1/tracking/component/output/model", query)["data"]
    host = server.post("/v1/tracking/component/output/model", dict(query, role="host"))["data"]
    loss = metric(server, job_id, "secureboost_0")["train"]["loss"]["data"]
    assert len(loss) == 3, "two rounds without improvement stop the training"
    assert model["best_iteration"] == 0 and len(model["trees_"]) == 1
    assert len(host["trees_"]) == len(model["trees_"]) and host["best_iteration"] == model["best_iteration"]


def test_missing_values_learn_a_direction(server, tmp_path):
    rows = (DATA / "breast_hetero_host.csv").read_text().splitlines()
    holed = [rows[0]] + [",".join("" if (i + j) % 7 == 0 and j > 0 else v for j, v in enumerate(r.split(",")))
                         for i, r in enumerate(rows[1:])]
    path = tmp_path / "breast_hetero_host_missing.csv"
    path.write_text("\n".join(holed) + "\n")
    upload(server, "breast_hetero_host_missing", file=path)
    dsl, conf = example("test_secureboost_train_binary_conf.json")
    conf = with_params(conf, **FAST, use_missing=True)
    for args in conf["role_parameters"]["host"]["args"]["data"].values():
        args[0]["name"] = "breast_hetero_host_missing"
    conf["role_parameters"]["host"]["dataio_0"].update(missing_fill=[False])
    job_id, _, _ = run(server, dsl, conf)
    assert summary(server, job_id)["auc"] >= 0.98
    host = server.post("/v1/tracking/component/output/model", {"job_id": job_id, "component_name": "secureboost_0",
                                                               "role": "host", "party_id": 10000})["data"]
    assert any(tree["missing_dir_maskdict"] for tree in host["trees_"])


def test_two_hosts(server, tmp_path):
    header, *rows = (DATA / "breast_hetero_host.csv").read_text().splitlines()
    names = header.split(",")
    for k, columns in ((1, range(1, 11)), (2, range(11, 21))):
        text = [",".join([names[0]] + [names[c] for c in columns])]
        text += [",".join([r.split(",")[0]] + [r.split(",")[c] for c in columns]) for r in rows]
        path = tmp_path / f"breast_hetero_host{k}.csv"
        path.write_text("\n".join(text) + "\n")
        upload(server, f"breast_hetero_host{k}", file=path)
    dsl, conf = example("test_secureboost_train_binary_conf.json")
    conf = with_params(conf, **FAST)
    conf["role"]["host"] = [10000, 9999]
    host = conf["role_parameters"]["host"]
    for key in ("train_data", "eval_data"):
        host["args"]["data"][key] = [{"name": f"breast_hetero_host{k}", "namespace": "experiment"} for k in (1, 2)]
    host["dataio_0"] = {key: value * 2 for key, value in host["dataio_0"].items()}
    job_id, _, _ = run(server, dsl, conf)
    assert summary(server, job_id)["auc"] >= 0.98
    model = server.post("/v1/tracking/component/output/model", {"job_id": job_id, "component_name": "secureboost_0",
                                                                "role": "guest", "party_id": 10000})["data"]
    sites = {n["sitename"] for tree in model["trees_"] for n in tree["tree_"] if not n["is_leaf"]}
    assert {"host:10000", "host:9999"} & sites


def test_online_inference_equals_the_batch_scores(server, binary, tmp_path):
    from tests.test_e2e_serving import conf_file, guest_rows, request

    job_id, model, _ = binary
    batch = {row[0]: float(row[3]) for row in output_rows(server, job_id)["data"]}
    load = {"initiator": {"party_id": "10000", "role": "guest"},
            "role": {"guest": ["10000"], "host": ["10000"]},
            "job_parameters": {"work_mode": 0, "model_id": model["model_id"], "model_version": model["model_version"]}}
    loaded = server.client("-f", "load", "-c", conf_file(tmp_path, "load.json", load))
    assert loaded["retcode"] == 0, loaded
    bound = server.client("-f", "bind", "-c", conf_file(tmp_path, "bind.json", dict(load, service_id="breast-sbt")))
    assert bound["retcode"] == 0, bound
    rows = [row for row in guest_rows(569) if row["id"] in batch][:10]
    assert len(rows) == 10
    for row in rows:
        answer = server.post("/federation/v1/inference", request("breast-sbt", row))
        assert answer["retcode"] == 0, answer
        assert abs(answer["data"]["score"] - batch[row["id"]]) < 1e-9
    many = {"head": {"serviceId": "breast-sbt"},
            "body": {"batchDataList": [dict(request("breast-sbt", row)["body"], index=i) for i, row in enumerate(rows)]}}
    answer = server.post("/federation/v1/batchInference", many)
    for item, row in zip(answer["batchDataList"], rows):
        assert item["retcode"] == 0 and abs(item["data"]["score"] - batch[row["id"]]) < 1e-9


def test_cross_validation(server):
    dsl, conf = example("test_secureboost_train_binary_conf.json")
    for name in ("dataio_1", "intersection_1", "evaluation_0"):
        del dsl["components"][name]
    del dsl["components"]["secureboost_0"]["input"]["data"]["eval_data"]
    for role in ("guest", "host"):
        conf["role_parameters"][role]["args"]["data"].pop("eval_data")
    conf = with_params(conf, **dict(FAST, num_trees=2, validation_freqs=None,
                                    cv_param={"n_splits": 3, "shuffle": True, "random_seed": 103, "need_cv": True}))
    job_id, _, _ = run(server, dsl, conf)
    metrics = metric(server, job_id, "secureboost_0")
    for k in range(3):
        assert dict(metrics["train"][f"train_fold_{k}"]["data"])["auc"] > 0.95
        assert dict(metrics["validate"][f"validate_fold_{k}"]["data"])["auc"] > 0.9
        assert f"loss.{k}" in metrics["train"]


@pytest.mark.parametrize("params,name", [({"tree_param": {"max_depth": 0}}, "max_depth"), ({"bin_num": 1}, "bin_num"),
                                         ({"objective_param": {"objective": "poisson"}}, "objective")])
def test_bad_parameters_are_refused_at_submit(server, params, name):
    dsl, conf = example("test_secureboost_train_binary_conf.json")
    answer = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": with_params(conf, **params)})
    assert answer["retcode"] != 0 and name in answer["retmsg"] and "secureboost_0" in answer["retmsg"], answer
