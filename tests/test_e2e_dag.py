"""DAG scheduling: independent components run at once, dependent ones wait for their inputs."""
from __future__ import annotations

ROLES = {"guest": [9999], "host": [10000]}


def dag_job(components: dict, seconds: float) -> tuple[dict, dict]:
    conf = {"initiator": {"role": "guest", "party_id": 9999}, "role": ROLES, "job_parameters": {"work_mode": 0},
            "algorithm_parameters": {name: {"seconds": seconds} for name in components}}
    return {"components": components}, conf


def component_spans(server, job_id: str) -> dict[str, tuple[int, int]]:
    spans = {}
    for task in server.tasks(job_id):
        start, end = spans.get(task["f_component_name"], (None, None))
        spans[task["f_component_name"]] = (min(filter(None, [start, task["f_start_time"]])),
                                           max(filter(None, [end, task["f_end_time"]])))
    return spans


def test_independent_components_run_in_parallel_and_dependents_wait(flow_server):
    server = flow_server()
    components = {
        "test_sleep_0": {"module": "TestSleep", "output": {"model": ["m"]}},
        "test_sleep_1": {"module": "TestSleep", "output": {"model": ["m"]}},
        "test_sleep_2": {"module": "TestSleep", "input": {"model": ["test_sleep_0.m"]}},
    }
    job_id = server.submit(*dag_job(components, 1.0))
    job = server.wait_job(job_id, timeout=60)
    assert job["f_status"] == "success", job
    spans = component_spans(server, job_id)
    (a_start, a_end), (b_start, b_end), (c_start, _) = (spans[f"test_sleep_{i}"] for i in range(3))
    assert a_start < b_end and b_start < a_end, "independent components overlap"
    assert c_start >= a_end, "a dependent component starts after its input is done"
    dag = server.post("/v1/pipeline/dag/dependency", {"job_id": job_id, "role": "guest", "party_id": 9999})
    assert dag["data"]["dependencies"]["test_sleep_2"] == [{"component_name": "test_sleep_0", "type": "model"}]


def test_failed_upstream_stops_the_dag(flow_server):
    server = flow_server()
    components = {
        "test_sleep_0": {"module": "TestSleep", "output": {"model": ["m"]}},
        "test_sleep_1": {"module": "TestSleep", "input": {"model": ["test_sleep_0.m"]}},
    }
    dsl, conf = dag_job(components, 0)
    conf["role_parameters"] = {"host": {"test_sleep_0": {"fail": [True]}}}
    job = server.wait_job(server.submit(dsl, conf), timeout=60)
    assert job["f_status"] == "failed"
    assert "test_sleep_0 of role host party 10000 failed" in job["f_status_reason"], job["f_status_reason"]
    assert {t["f_component_name"] for t in server.tasks(job["f_job_id"])} == {"test_sleep_0"}


def test_metrics_logged_by_tasks_are_read_back(flow_server):
    server = flow_server()
    job_id = server.submit(*dag_job({"test_sleep_0": {"module": "TestSleep"}}, 0.25))
    assert server.wait_job(job_id)["f_status"] == "success"
    body = {"job_id": job_id, "component_name": "test_sleep_0", "role": "host", "party_id": 10000}
    answer = server.post("/v1/tracking/component/metric/all", body)
    assert answer["data"] == {"train": {"sleep": {"data": [["seconds", 0.25]], "meta": {}}}}
    assert server.post("/v1/tracking/component/metrics", body)["data"] == {"train": ["sleep"]}
    data = server.post("/v1/tracking/component/metric_data", dict(body, metric_namespace="train", metric_name="sleep"))
    assert data["data"] == [["seconds", 0.25]]
    assert server.post("/v1/tracking/component/metric/delete", {"job_id": job_id})["retcode"] == 0
    assert server.post("/v1/tracking/component/metric/all", body) == {"retcode": 0, "retmsg": "no data"}
