"""The toy example end to end: real server, real client, real task processes."""
from __future__ import annotations

import json

import pytest

from tests.conftest import DB_BACKENDS, database_for
from tests.flow_server import ROOT, FlowServer

TOY = ROOT / "examples" / "toy_example"


# one worker sets up the module's shared fixtures (servers, engines) once
pytestmark = pytest.mark.xdist_group("e2e_toy")


@pytest.fixture(scope="module", params=DB_BACKENDS)
def toy_run(request, tmp_path_factory):
    """One server per database that ran the toy example through the CLI, shared by the read-only checks."""
    tmp = tmp_path_factory.mktemp("toy")
    with database_for(request.param, tmp) as url:
        server = FlowServer(tmp / "server", database_url=url).start()
        submit = server.client("-f", "submit_job", "-c", str(TOY / "toy_example_conf.json"),
                               "-d", str(TOY / "toy_example_dsl.json"))
        assert submit["retcode"] == 0, submit
        job = server.wait_job(submit["jobId"], timeout=60)
        yield server, submit, job
        server.stop()


def test_toy_example_succeeds(toy_run):
    server, submit, job = toy_run
    assert job["f_status"] == "success", job
    assert job["f_progress"] == 100
    assert job["f_end_time"] >= job["f_start_time"] >= job["f_create_time"]
    assert submit["data"]["model_info"] == {"model_id": "guest-10000#host-10000#model",
                                           "model_version": submit["jobId"]}
    assert len(submit["jobId"]) == 21 and submit["jobId"].isdigit()


def test_guest_log_has_the_exact_sum(toy_run, tmp_path):
    """What FATE's run_toy_example.py does: job_log through the client path, grep the guest INFO.log."""
    server, submit, _ = toy_run
    job_id = submit["jobId"]
    answer = server.client("-f", "job_log", "-j", job_id, "-o", str(tmp_path), script="fate_flow/fate_flow_client.py")
    assert answer["retcode"] == 0, answer
    log_dir = tmp_path / f"job_{job_id}_log"
    info = (log_dir / "guest" / "10000" / "secure_add_example_0" / "INFO.log").read_text()
    lines = [line for line in info.splitlines() if "secure_add_guest.py[line" in line]
    assert any("Secure Add Result is 2000.0000" in line for line in lines), info
    result = [line.rsplit("it is ", 1)[1] for line in lines if "success to calculate secure_sum" in line]
    assert len(result) == 1 and abs(float(result[0]) - 2000.0) < 1e-6, lines
    for level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        assert (log_dir / "host" / "10000" / "secure_add_example_0" / f"{level}.log").exists()
        assert (log_dir / "guest" / "10000" / f"{level}.log").exists()
    assert (log_dir / "guest" / "10000" / "secure_add_example_0" / "std.log").exists()
    assert "admitted" in (log_dir / "fate_flow_schedule.log").read_text()


def test_query_job_rows_as_fate(toy_run):
    server, submit, _ = toy_run
    answer = server.client("-f", "query_job", "-j", submit["jobId"])
    assert answer["retcode"] == 0
    rows = answer["data"]
    assert [(r["f_role"], r["f_party_id"], r["f_is_initiator"]) for r in rows] == [("guest", "10000", 1),
                                                                                 ("host", "10000", 0)]
    for row in rows:
        assert "f_dsl" not in row and "f_runtime_conf" not in row  # stripped by the client
        assert row["f_status"] == "success" and row["f_tag"] == "job_end"
        assert json.loads(row["f_roles"]) == {"guest": [10000], "host": [10000]}
        assert json.loads(row["f_current_tasks"]) == [f"{submit['jobId']}_secure_add_example_0"]
    raw = server.post("/v1/job/query", {"job_id": submit["jobId"], "role": "guest"})
    assert set(raw) == {"retcode", "retmsg", "data"} and len(raw["data"]) == 1
    assert "f_dsl" in raw["data"][0] and "f_runtime_conf" in raw["data"][0]


def test_query_task_records_processes(toy_run):
    server, submit, _ = toy_run
    answer = server.client("-f", "query_task", "-j", submit["jobId"])
    tasks = answer["data"]
    assert sorted(t["f_role"] for t in tasks) == ["guest", "host"]
    pids = {t["f_run_pid"] for t in tasks}
    assert len(pids) == 2 and all(pids), "each party's task is its own process"
    for task in tasks:
        assert task["f_status"] == "success"
        assert task["f_task_id"] == f"{submit['jobId']}_secure_add_example_0"
        assert task["f_operator"] == "python_operator"
        assert task["f_end_time"] >= task["f_start_time"]


def test_job_config_writes_files(toy_run, tmp_path):
    server, submit, _ = toy_run
    job_id = submit["jobId"]
    answer = server.client("-f", "job_config", "-j", job_id, "-r", "guest", "-p", "10000", "-o", str(tmp_path))
    assert answer["retcode"] == 0, answer
    directory = tmp_path / f"job_{job_id}_config"
    assert json.loads((directory / "dsl.json").read_text()) == json.loads((TOY / "toy_example_dsl.json").read_text())
    conf = json.loads((directory / "runtime_conf.json").read_text())
    assert conf["job_parameters"]["model_version"] == job_id
    assert json.loads((directory / "model_info.json").read_text())["model_id"] == "guest-10000#host-10000#model"
    assert answer["data"]["train_runtime_conf"] == {}


def test_dag_dependency_and_version(toy_run):
    server, submit, _ = toy_run
    dag = server.post("/v1/pipeline/dag/dependency", {"job_id": submit["jobId"], "role": "guest", "party_id": 10000})
    assert dag["retcode"] == 0
    assert dag["data"]["component_list"] == ["secure_add_example_0"]
    assert dag["data"]["component_module"] == {"secure_add_example_0": "SecureAddExample"}
    assert server.post("/v1/version/get", {"module": "FATE"}) == {"retcode": 0, "retmsg": "success",
                                                                  "data": {"FATE": "1.4.5"}}


def test_unknown_job_answers_101(toy_run):
    server, _, _ = toy_run
    # FATE 1.4's client (its conf carries "function") gets 101; 1.5+ clients an empty list
    assert server.post("/v1/job/query", {"job_id": "123", "function": "query_job"}) == {
        "retcode": 101, "retmsg": "find job failed"}
    assert server.post("/v1/job/query", {"job_id": "123"}) == {"retcode": 0, "retmsg": "no job could be found",
                                                                "data": []}
    assert server.post("/v1/job/query", {"function": "query_job"})["retcode"] == 101
    assert server.client("-f", "stop_job", "-j", "123")["retcode"] == 100


def test_clean_job_removes_metrics(toy_run):
    server, submit, _ = toy_run
    answer = server.client("-f", "clean_job", "-j", submit["jobId"])
    assert answer["retcode"] == 0 and answer["retmsg"] == "success"
    assert {(t["role"], t["party_id"]) for t in answer["data"]["tasks"]} == {("guest", "10000"), ("host", "10000")}
    assert server.client("-f", "clean_job", "-j", "nope") == {"retcode": 101, "retmsg": "job nope not found"}


def test_run_toy_example_script(toy_run):
    import subprocess
    import sys

    server, _, _ = toy_run
    env = dict(server.env, FATE_FLOW_SERVER=server.url)
    out = subprocess.run([sys.executable, str(TOY / "run_toy_example.py"), "9999", "10000", "0"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Secure Add Result is 2000.0000" in out.stdout
    assert out.stdout.rstrip().endswith("success")


def test_tracking_views_and_parameters(toy_run):
    server, submit, _ = toy_run
    job_id = submit["jobId"]
    view = server.post("/v1/tracking/job/data_view", {"job_id": job_id, "role": "guest", "party_id": 10000})
    assert view["retcode"] == 0 and view["data"]["roles"] == {"guest": [10000], "host": [10000]}
    assert server.post("/v1/tracking/job/data_view", {"job_id": "1", "role": "guest", "party_id": 1}) == {
        "retcode": 101, "retmsg": "job 1 not found"}
    params = server.client("-f", "component_parameters", "-j", job_id, "-cpn", "secure_add_example_0",
                           "-r", "host", "-p", "10000")
    assert params["data"]["module"] == "SecureAddExample"
    assert params["data"]["SecureAddExampleParam"] == {"seed": 321, "partition": 48, "data_num": 1000}
    # the toy example logs no metric: FATE answers "no data" with no data key
    none = server.client("-f", "component_metric_all", "-j", job_id, "-cpn", "secure_add_example_0",
                         "-r", "guest", "-p", "10000")
    assert none == {"retcode": 0, "retmsg": "no data"}
    query = {"job_id": job_id, "component_name": "secure_add_example_0", "role": "guest", "party_id": 10000,
             "metric_namespace": "a", "metric_name": "b"}
    # FATE's quirk for a metric an existing component never logged
    data = server.post("/v1/tracking/component/metric_data", query)
    assert data == {"retcode": 0, "retmsg": "success", "meta": {"name": None, "metric_type": None}}
    data = server.post("/v1/tracking/component/metric_data", dict(query, component_name="x"))
    assert data == {"retcode": 101, "retmsg": f"job {job_id} has no component x (its components: secure_add_example_0)"}


def test_predict_job_runs_the_stored_inference_dsl(toy_run):
    server, submit, _ = toy_run
    model = submit["data"]["model_info"]
    conf = {"initiator": {"role": "guest", "party_id": 10000}, "role": {"guest": [10000], "host": [10000]},
            "job_parameters": {"work_mode": 0, "job_type": "predict", **model}}
    answer = server.post("/v1/job/submit", {"job_dsl": {}, "job_runtime_conf": conf})
    assert answer["retcode"] == 0, answer
    assert server.wait_job(answer["jobId"])["f_status"] == "success"
    dsl = server.post("/v1/job/config", {"job_id": answer["jobId"], "role": "guest", "party_id": 10000})["data"]
    assert list(dsl["dsl"]["components"]) == ["secure_add_example_0"]
    assert dsl["train_runtime_conf"]["job_parameters"]["model_version"] == model["model_version"]
    params = server.post("/v1/tracking/component/parameters", {"job_id": answer["jobId"], "role": "host",
                                                               "party_id": 10000, "component_name": "secure_add_example_0"})
    assert params["data"]["SecureAddExampleParam"]["seed"] == 321, "parameters come from the train conf"
    missing = server.post("/v1/job/submit", {"job_dsl": {}, "job_runtime_conf": dict(
        conf, job_parameters={"work_mode": 0, "job_type": "predict", "model_id": "x", "model_version": "1"})})
    assert missing["retcode"] == 100 and "has no pipeline" in missing["retmsg"]
