"""Malformed requests get a clean retcode and a message naming the problem, and leave no rows."""
from __future__ import annotations

import copy
import io
import json
from urllib.parse import quote, urlencode

import pytest

from tests.flow_server import ROOT

TOY_DSL = json.loads((ROOT / "examples/toy_example/toy_example_dsl.json").read_text())
TOY_CONF = json.loads((ROOT / "examples/toy_example/toy_example_conf.json").read_text())


def conf_with(**changes):
    conf = copy.deepcopy(TOY_CONF)
    for path, value in changes.items():
        node = conf
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        if value is DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return conf


DELETE = object()
CYCLE = {"components": {"a_0": {"module": "SecureAddExample", "input": {"model": ["b_0.m"]}, "output": {"model": ["m"]}},
                        "b_0": {"module": "SecureAddExample", "input": {"model": ["a_0.m"]}, "output": {"model": ["m"]}}}}

# (request body, expected retcode, words the message must contain)
MALFORMED = [
    ({"job_dsl": TOY_DSL}, 100, ["job_runtime_conf"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": "not a dict"}, 101, ["job_runtime_conf"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(role=DELETE)}, 100, ["role"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(initiator=DELETE)}, 100, ["initiator"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(initiator__party_id=DELETE)}, 100, ["party_id"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(job_parameters=DELETE)}, 100, ["job_parameters"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(job_parameters__work_mode=1)}, 100, ["standalone", "cluster"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(job_parameters__work_mode="zero")}, 101, ["work_mode"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(initiator__party_id=4242)}, 100,
     ["initiator is guest 4242", "not one of the job's guest parties", "role.guest is [10000]"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(role={"guest": ["abc"], "host": [10000]})}, 101, ["role.guest[0]"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(role=[10000])}, 101, ["role"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(role={})}, 101, ["role"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(job_parameters__timeout="soon")}, 101, ["timeout"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(algorithm_parameters=[1])}, 101, ["algorithm_parameters"]),
    ({"job_dsl": TOY_DSL, "job_runtime_conf": conf_with(algorithm_parameters__secure_add_example_0__data_num=-5)},
     100, ["secure_add_example_0", "data_num"]),
    ({"job_dsl": {"components": {}}, "job_runtime_conf": TOY_CONF}, 100, ["components"]),
    ({"job_dsl": {"components": {"x_0": {"module": "NoSuchModule"}}}, "job_runtime_conf": TOY_CONF}, 100,
     ["x_0", "NoSuchModule"]),
    ({"job_dsl": {"components": {"x_0": {"module": "SecureAddExample", "input": {"data": {"data": ["y_0.train"]}}}}},
      "job_runtime_conf": TOY_CONF}, 100, ["x_0", "y_0.train"]),
    ({"job_dsl": CYCLE, "job_runtime_conf": TOY_CONF}, 100, ["loop"]),
    ({"job_dsl": {"components": {"secure_add_1": {"module": "SecureAddExample"}}}, "job_runtime_conf": TOY_CONF},
     100, ["index"]),
    ({"job_dsl": {"components": {"x_0": {"input": {}}}}, "job_runtime_conf": TOY_CONF}, 100, ["x_0", "module"]),
    ({"job_dsl": {"components": "none"}, "job_runtime_conf": TOY_CONF}, 100, ["components"]),
]


@pytest.mark.parametrize("body,retcode,words", MALFORMED, ids=[f"case{i}" for i in range(len(MALFORMED))])
def test_malformed_submit_is_refused_cleanly(client, body, retcode, words):
    from fate_flow.db import Job, Queue, Task, TrackingMetric

    answer = client.post("/v1/job/submit", json=body)
    assert answer.status_code == 200
    data = answer.get_json()
    assert data["retcode"] == retcode, data
    assert set(data) == {"retcode", "retmsg"}
    assert "Traceback" not in data["retmsg"]
    for word in words:
        assert word in data["retmsg"], (word, data["retmsg"])
    assert Job.select().count() == Queue.select().count() == Task.select().count() == TrackingMetric.select().count() == 0


def test_body_that_is_not_json(client):
    answer = client.post("/v1/job/submit", data=b"{not json", content_type="application/json").get_json()
    assert answer["retcode"] == 101 and "JSON" in answer["retmsg"]
    answer = client.post("/v1/job/query", data=b"[1, 2]", content_type="application/json").get_json()
    assert answer["retcode"] == 101 and "object" in answer["retmsg"]


def test_envelope_rules(client):
    assert client.post("/v1/job/query", json={}).get_json() == {"retcode": 101, "retmsg": "find job failed"}
    assert client.post("/v1/job/query", json={"job_id": "1", "function": "query_job", "config": "/x.json",
                                              "local": {"role": "guest"}}).get_json()["retcode"] == 101
    assert client.post("/v1/job/task/query", json={"job_id": "1"}).get_json() == {"retcode": 101,
                                                                                  "retmsg": "find task failed"}
    assert client.post("/v1/job/data/view/query", json={}).get_json()["retcode"] == 101
    assert client.post("/v1/job/stop", json={}).get_json() == {
        "retcode": 100, "retmsg": "the following arguments are required: job_id"}
    assert client.post("/v1/job/update", json={"job_id": "1", "role": "guest", "party_id": 9}).get_json()[
        "retcode"] == 101
    assert client.post("/v1/no/such/route", json={}).status_code == 404
    # GET with a JSON body, as the original client sends job_log
    answer = client.open("/v1/version/get", method="GET", json={"module": "FATE"}).get_json()
    assert answer == {"retcode": 0, "retmsg": "success", "data": {"FATE": "1.4.5"}}
    answer = client.post("/v1/version/get", json={}).get_json()
    assert answer["data"] == {"null": "1.4.5"}


def test_job_log_of_unknown_job_says_so(client):
    # not an empty tar (FATE 1.4's answer): a client reads a non-200 answer as the JSON envelope
    answer = client.open("/v1/job/log", method="GET", json={"job_id": "123"})
    assert answer.status_code == 404
    assert answer.get_json() == {"retcode": 101, "retmsg": "job 123 not found"}


def test_dag_dependency_of_a_dsl(client):
    body = {"job_dsl": TOY_DSL, "job_runtime_conf": TOY_CONF, "role": "guest", "party_id": 10000}
    answer = client.post("/v1/pipeline/dag/dependency", json=body).get_json()
    assert answer["retcode"] == 0
    assert answer["data"]["component_need_run"] == {"secure_add_example_0": True}
    bad = client.post("/v1/pipeline/dag/dependency", json=dict(body, job_dsl={"components": {}})).get_json()
    # 1.4's retcode; 1.4 sent no message, this server gives the parser's
    assert bad == {"retcode": 101, "retmsg": "there are no components in dsl, please have a check!"}


UPLOAD_CONF = {"file": "x.csv", "head": "1", "partition": "2", "work_mode": "0", "namespace": "ns", "table_name": "t"}


def _without(*fields: str) -> dict:
    return {k: v for k, v in UPLOAD_CONF.items() if k not in fields}


# (query string, expected retcode, words the message must contain): a conf missing fields names them
UPLOAD_QUERIES = [
    (urlencode(_without("namespace")), 100, ["required", "namespace"]),
    (urlencode(_without("namespace", "table_name")), 100, ["required", "namespace,table_name"]),
    (urlencode(_without("head", "partition", "work_mode", "namespace", "table_name")), 100,
     ["required", "work_mode,namespace,table_name,head,partition"]),
    ("", 100, ["required", "work_mode,namespace,table_name"]),
    (urlencode({"file": "x.csv"}), 100, ["required", "namespace,table_name"]),
    (quote(json.dumps(_without("table_name"))), 100, ["required", "table_name"]),  # fate-client 1.5.1+
    (quote('{"namespace": "ns", '), 101, ["query string", "not valid JSON"]),
]


@pytest.mark.parametrize("query,retcode,words", UPLOAD_QUERIES, ids=[f"case{i}" for i in range(len(UPLOAD_QUERIES))])
def test_multipart_upload_conf_names_missing_fields(client, query, retcode, words):
    from fate_flow.db import Job

    answer = client.post("/v1/data/upload?" + query, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b"id,x\n1,2\n"), "x.csv")}).get_json()
    assert answer["retcode"] == retcode, answer
    assert "neither key=value" not in answer["retmsg"]
    for word in words:
        assert word in answer["retmsg"], (word, answer)
    assert Job.select().count() == 0
