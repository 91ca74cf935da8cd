"""A real server: a job's progress moves through a long step, and internal calls stay out of the INFO log."""
from __future__ import annotations

import re
import time

from tests.test_e2e_dag import dag_job

REQUEST_LINE = re.compile(r'"(GET|POST) (\S+) HTTP/1\.\d"')


def test_progress_moves_through_a_long_step_and_internal_calls_log_at_debug(flow_server, tmp_path):
    server = flow_server()
    # one component, one step of ~3 s on each party, reporting progress five times on the way
    dsl, conf = dag_job({"test_sleep_0": {"module": "TestSleep"}}, 3.0)
    conf["algorithm_parameters"]["test_sleep_0"]["steps"] = 5
    job_id = server.submit(dsl, conf)
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = server.job(job_id)
        seen.append(job["f_progress"])
        if job["f_status"] not in ("waiting", "running"):
            break
        time.sleep(0.1)
    assert job["f_status"] == "success", job
    assert seen == sorted(seen), f"progress went back: {seen}"
    assert seen[-1] == 100
    assert len({p for p in seen if 0 < p < 100}) >= 2, f"progress jumped over the step: {seen}"
    assert {t["f_progress"] for t in server.tasks(job_id)} == {100}

    # every line of the request log is a user's call: the job's dozens of schedule calls and
    # task reports are DEBUG, which the server does not print
    paths = [m.group(2) for m in REQUEST_LINE.finditer(server.output())]
    assert "/v1/job/submit" in paths and "/v1/job/query" in paths
    internal = [p for p in paths if p.startswith(("/v1/schedule/", "/v1/federation/"))
                or re.fullmatch(r"/v1/tracking(/[^/]+){5}/\S+", p)]
    assert internal == []

    # a job that does not exist is named by the client's downloads, not "download successfully"
    answer = server.client("-f", "job_log", "-j", "202001010000000000999", "-o", str(tmp_path))
    assert answer == {"retcode": 101, "retmsg": "job 202001010000000000999 not found"}
    answer = server.client("-f", "component_output_data", "-j", job_id, "-cpn", "nope", "-r", "guest",
                           "-p", "9999", "-o", str(tmp_path))
    assert answer == {"retcode": 101, "retmsg": f"job {job_id} has no component nope (its components: test_sleep_0)"}
