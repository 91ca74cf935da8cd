"""Job-scoped lookups say what does not exist; an existing component without data keeps FATE's answers.

The job here is made of rows as a standalone server holds them for guest 9999 and host 10000;
host 10001 and arbiter 10002 are in the job's roles, but their rows live on other parties' servers.
"""
from __future__ import annotations

import io
import json
import logging
import tarfile

import pytest

JOB = "202001010000000000001"
OTHER_JOB = "202001010000000000002"
MISSING = "202001010000000000999"
ROLES = {"guest": [9999], "host": [10000, 10001], "arbiter": [10002]}
COMPONENTS = ["secure_add_0", "secure_add_1"]
ROLES_TEXT = json.dumps(ROLES, sort_keys=True)

COMPONENT_ROUTES = ["/v1/tracking/component/metric/all", "/v1/tracking/component/metrics",
                    "/v1/tracking/component/metric_data", "/v1/tracking/component/parameters",
                    "/v1/tracking/component/output/model", "/v1/tracking/component/output/data",
                    "/v1/tracking/component/output/data/table", "/v1/tracking/component/output/data/download"]
DOWNLOADS = {"/v1/tracking/component/output/data/download", "/v1/job/log"}


def make_job(job_id: str = JOB, status: str = "success") -> None:
    """The job's rows for guest 9999 (initiator) and host 10000, and one task per component and party."""
    from fate_flow.db import Job, Task, now_ms

    dsl = {"components": {name: {"module": "SecureAddExample"} for name in COMPONENTS}}
    conf = {"initiator": {"role": "guest", "party_id": 9999}, "role": ROLES,
            "job_parameters": {"work_mode": 0, "model_id": "guest-9999#host-10000#model", "model_version": job_id}}
    for role, party_id, initiator in (("guest", "9999", 1), ("host", "10000", 0)):
        Job.create(f_job_id=job_id, f_role=role, f_party_id=party_id, f_is_initiator=initiator,
                   f_roles=json.dumps(ROLES), f_work_mode=0, f_dsl=json.dumps(dsl), f_runtime_conf=json.dumps(conf),
                   f_train_runtime_conf="{}", f_status=status, f_initiator_party_id="9999",
                   f_create_time=now_ms(), f_start_time=now_ms())
        for component in COMPONENTS:
            Task.create(f_job_id=job_id, f_component_name=component, f_task_id=f"{job_id}_{component}", f_role=role,
                        f_party_id=party_id, f_status="success" if status == "success" else "running")


def body(**changes) -> dict:
    query = {"job_id": JOB, "component_name": "secure_add_0", "role": "guest", "party_id": 9999,
             "metric_namespace": "train", "metric_name": "loss"}
    query.update(changes)
    return {k: v for k, v in query.items() if v is not None}


def ask(client, route: str, query: dict) -> tuple[int, dict]:
    answer = client.open(route, method="GET" if route in DOWNLOADS else "POST", json=query)
    return answer.status_code, answer.get_json()


@pytest.fixture
def job(app):
    make_job()
    return JOB


@pytest.fixture
def no_tracebacks(caplog):
    """Fails the test if a request ended in the server's unexpected-error handler."""
    caplog.set_level(logging.ERROR, logger="fate_flow.app")
    yield
    assert not [r for r in caplog.records if r.name == "fate_flow.app"], caplog.text


# ---------------------------------------------------------------- what does not exist is named

@pytest.mark.parametrize("route", COMPONENT_ROUTES)
def test_a_missing_job_role_party_or_component_is_named(client, job, route, no_tracebacks):
    not_found = 404 if route in DOWNLOADS else 200
    cases = [
        (body(job_id=MISSING), f"job {MISSING} not found"),
        (body(role="guest", party_id=1234), f"job {JOB} has no role guest party 1234 (its roles: {ROLES_TEXT})"),
        (body(role="arbiter", party_id=9999), f"job {JOB} has no role arbiter party 9999 (its roles: {ROLES_TEXT})"),
        (body(component_name="nope"), f"job {JOB} has no component nope (its components: {', '.join(COMPONENTS)})"),
    ]
    for query, message in cases:
        assert ask(client, route, query) == (not_found, {"retcode": 101, "retmsg": message}), query


@pytest.mark.parametrize("route", COMPONENT_ROUTES)
def test_a_party_served_elsewhere_is_said_to_be_elsewhere(client, job, route):
    status, answer = ask(client, route, body(role="host", party_id=10001))
    if route == "/v1/tracking/component/parameters":  # read from the job's conf, which this server has
        assert (status, answer["retcode"], answer["data"]["module"]) == (200, 0, "SecureAddExample")
        return
    assert answer == {"retcode": 101, "retmsg": f"job {JOB} role host party 10001 is not on this server: "
                                                f"ask the server of that party"}


@pytest.mark.parametrize("route", COMPONENT_ROUTES)
def test_a_job_id_that_is_not_a_string_is_refused_by_name(client, job, route, no_tracebacks):
    refused = 400 if route in DOWNLOADS else 200
    for job_id, kind in (([JOB, JOB], "a list"), ({"id": JOB}, "an object"), (5, "an integer")):
        assert ask(client, route, body(job_id=job_id)) == (
            refused, {"retcode": 101, "retmsg": f"job_id should be a string, not {kind}"})
    assert ask(client, route, body(job_id="../../etc")) == (
        refused, {"retcode": 101, "retmsg": "job_id '../../etc' is not a job id (1 to 25 letters, digits, _ or -)"})
    assert ask(client, route, body(role=["guest"])) == (
        refused, {"retcode": 101, "retmsg": "role should be a string, not a list"})


# the job-scoped routes that name a job they do not find
LOOKUPS = [("/v1/job/log", {}), ("/v1/job/clean", {}), ("/v1/job/update", {"role": "guest", "party_id": 9999}),
           ("/v1/tracking/component/metric/delete", {}),
           ("/v1/tracking/job/data_view", {"role": "guest", "party_id": 9999})]
# and those that keep FATE's answer for it (see test_fate_answers_stay_where_they_apply)
JOB_ROUTES = LOOKUPS + [("/v1/job/stop", {}), ("/v1/job/stop/do", {}), ("/v1/job/query", {}), ("/v1/job/config", {}),
                        ("/v1/job/task/query", {}), ("/v1/job/data/view/query", {}),
                        ("/v1/pipeline/dag/dependency", {"role": "guest", "party_id": 9999})]


@pytest.mark.parametrize("route,extra", JOB_ROUTES, ids=[r for r, _ in JOB_ROUTES])
def test_job_routes_refuse_a_job_id_that_is_not_a_string(client, job, route, extra, no_tracebacks):
    status, answer = ask(client, route, dict(extra, job_id=[JOB, "x"]))
    assert answer == {"retcode": 101, "retmsg": "job_id should be a string, not a list"}
    assert status == (400 if route in DOWNLOADS else 200)


@pytest.mark.parametrize("route,extra", LOOKUPS, ids=[r for r, _ in LOOKUPS])
def test_job_routes_name_a_missing_job(client, job, route, extra, no_tracebacks):
    status, answer = ask(client, route, dict(extra, job_id=MISSING))
    assert answer == {"retcode": 101, "retmsg": f"job {MISSING} not found"}
    assert status == (404 if route in DOWNLOADS else 200)


def test_fate_answers_stay_where_they_apply(client, job):
    assert ask(client, "/v1/job/stop", {"job_id": MISSING})[1] == {"retcode": 100,
                                                                 "retmsg": f"can not found job: {MISSING}"}
    assert ask(client, "/v1/job/query", {"job_id": MISSING, "function": "query_job"})[1] == {
        "retcode": 101, "retmsg": "find job failed"}  # FATE 1.4's client; 1.5+ clients get [] (test_fate_client_gaps)
    assert ask(client, "/v1/job/task/query", {"job_id": MISSING})[1] == {"retcode": 101,
                                                                       "retmsg": "find task failed"}
    update = ask(client, "/v1/job/update", {"job_id": JOB, "role": "host", "party_id": 10001, "notes": "n"})[1]
    assert update["retcode"] == 101 and "role host party 10001 is not on this server" in update["retmsg"]
    assert ask(client, "/v1/job/update", {"job_id": JOB, "role": "guest", "party_id": 9999, "notes": "n"})[1] == {
        "retcode": 0, "retmsg": "success"}


# ---------------------------------------------------------------- an existing component without data

def test_an_existing_component_without_metrics_or_output_answers_no_data(client, job):
    query = body()
    assert ask(client, "/v1/tracking/component/metric/all", query) == (200, {"retcode": 0, "retmsg": "no data"})
    assert ask(client, "/v1/tracking/component/metrics", query) == (200, {"retcode": 0, "retmsg": "no data"})
    assert ask(client, "/v1/tracking/component/metric_data", query) == (
        200, {"retcode": 0, "retmsg": "success", "meta": {"name": None, "metric_type": None}})
    assert ask(client, "/v1/tracking/component/output/model", query) == (200, {"retcode": 0, "retmsg": "no data"})
    assert ask(client, "/v1/tracking/component/output/data", query) == (200, {"retcode": 0, "retmsg": "no data"})
    assert ask(client, "/v1/tracking/component/output/data/table", query) == (
        200, {"retcode": 100, "retmsg": "No found table, please check if the parameters are correct"})
    assert ask(client, "/v1/tracking/component/output/data/download", query) == (
        404, {"retcode": 500, "retmsg": "no data"})


def test_metrics_of_an_existing_component_are_read_and_deleted(client, job):
    from fate_flow.stores.tracking import MetricTracker

    MetricTracker(JOB, "secure_add_0", f"{JOB}_secure_add_0", "guest", "9999").save_metric_data(
        "train", "loss", [[0, 0.5], [1, 0.25]])
    # role and party default to the initiator's, as in FATE
    answer = ask(client, "/v1/tracking/component/metric/all", {"job_id": JOB, "component_name": "secure_add_0"})[1]
    assert answer["data"] == {"train": {"loss": {"data": [[0, 0.5], [1, 0.25]], "meta": {}}}}
    assert ask(client, "/v1/tracking/component/metric/delete", {"job_id": JOB, "component_name": "nope"})[1] == {
        "retcode": 101, "retmsg": f"job {JOB} has no component nope (its components: {', '.join(COMPONENTS)})"}
    assert ask(client, "/v1/tracking/component/metric/delete", {"job_id": JOB, "role": "local"})[1][
        "retmsg"] == f"job {JOB} has no role local (its roles: {ROLES_TEXT})"
    deleted = ask(client, "/v1/tracking/component/metric/delete", {"job_id": JOB, "component_name": "secure_add_0"})
    assert deleted == (200, {"retcode": 0, "retmsg": "success", "data": f"deleted 2 metric rows of job {JOB}"})
    assert ask(client, "/v1/tracking/job/data_view", {"job_id": JOB, "role": "guest", "party_id": 9999})[1][
        "retcode"] == 101  # no view was saved for these hand-made rows: FATE's "error"


def test_log_of_an_existing_job_without_logs_is_an_empty_tar(client, job):
    answer = client.open("/v1/job/log", method="GET", json={"job_id": JOB})
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == f"attachment; filename=job_{JOB}_log.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(answer.data), mode="r:gz") as tar:
        assert tar.getnames() == []


def test_parameters_of_a_component_that_does_not_run_on_the_role(client, job):
    answer = ask(client, "/v1/tracking/component/parameters", body(role="arbiter", party_id=10002))[1]
    assert answer["retcode"] == 101 and "does not run on role arbiter" in answer["retmsg"], answer
