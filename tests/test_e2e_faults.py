"""Stops, crashes, timeouts and restarts: every job ends in a final state, nothing is left running."""
from __future__ import annotations

import os
import signal
import time

import psutil

from tests.flow_server import FlowServer, wait_until

ROLES = {"guest": [9999], "host": [10000]}


def sleep_job(seconds: float = 30, timeout: float | None = None, **guest_params) -> tuple[dict, dict]:
    dsl = {"components": {"test_sleep_0": {"module": "TestSleep"}}}
    params = {"initiator": {"role": "guest", "party_id": 9999}, "role": ROLES,
              "job_parameters": {"work_mode": 0, **({"timeout": timeout} if timeout else {})},
              "algorithm_parameters": {"test_sleep_0": {"seconds": seconds}}}
    if guest_params:
        params["role_parameters"] = {"guest": {"test_sleep_0": {k: [v] for k, v in guest_params.items()}}}
    return dsl, params


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_processes_gone(pids, timeout: float = 10) -> None:
    wait_until(lambda: not any(alive(p) for p in pids), timeout, what=f"task processes {pids} to end")


def test_stop_running_job_kills_every_task(flow_server):
    server = flow_server()
    job_id = server.submit(*sleep_job(30))
    pids = [t["f_run_pid"] for t in server.wait_tasks_running(job_id, 2)]
    answer = server.client("-f", "stop_job", "-j", job_id)
    assert answer == {"retcode": 0, "retmsg": "kill job success"}
    job = server.wait_job(job_id, timeout=15)
    assert job["f_status"] == "canceled" and job["f_end_time"]
    assert_processes_gone(pids)
    wait_until(lambda: {t["f_status"] for t in server.tasks(job_id)} == {"failed"}, 10, what="tasks killed")
    assert server.job(job_id, role="host")["f_status"] == "canceled"


def test_killed_task_fails_job_with_reason(flow_server):
    server = flow_server()
    job_id = server.submit(*sleep_job(30))
    tasks = server.wait_tasks_running(job_id, 2)
    guest = next(t for t in tasks if t["f_role"] == "guest")
    os.kill(guest["f_run_pid"], signal.SIGKILL)
    job = server.wait_job(job_id, timeout=15)
    assert job["f_status"] == "failed"
    assert "killed by signal 9" in job["f_status_reason"] and "guest" in job["f_status_reason"], job
    assert_processes_gone([t["f_run_pid"] for t in tasks])
    assert server.post("/v1/version/get", {"module": "FATE"})["retcode"] == 0
    toy = server.submit(*sleep_job(0))
    assert server.wait_job(toy)["f_status"] == "success", "the server keeps running jobs"


def test_task_exception_and_exit_code(flow_server):
    server = flow_server()
    failing = server.submit(*sleep_job(0, fail=True))
    exiting = server.submit(*sleep_job(0, exit_code=3))
    job = server.wait_job(failing)
    assert job["f_status"] == "failed" and "RuntimeError: asked to fail" in job["f_status_reason"]
    job = server.wait_job(exiting)
    assert job["f_status"] == "failed" and "exit 3" in job["f_status_reason"], job


def test_task_that_cannot_start_fails_fast(flow_server):
    server = flow_server(conf={"task_python": "/nonexistent/python3"})
    started = time.monotonic()
    job_id = server.submit(*sleep_job(0))
    job = server.wait_job(job_id, timeout=10)
    assert time.monotonic() - started < 5
    assert job["f_status"] == "failed" and "can not start task process" in job["f_status_reason"], job


def test_job_timeout(flow_server):
    server = flow_server()
    job_id = server.submit(*sleep_job(30, timeout=1))
    pids = [t["f_run_pid"] for t in server.wait_tasks_running(job_id, 2)]
    job = server.wait_job(job_id, timeout=15)
    assert job["f_status"] == "timeout" and "timeout of 1 s" in job["f_status_reason"]
    # the job's status is synced first, then every party kills its tasks
    wait_until(lambda: {t["f_status"] for t in server.tasks(job_id)} == {"timeout"}, 10, what="tasks timed out")
    assert_processes_gone(pids)


def test_queue_cancel_and_clean_queue(flow_server):
    server = flow_server(conf={"scheduler": {"max_concurrent_jobs": 1}})
    running = server.submit(*sleep_job(30))
    server.wait_tasks_running(running, 2)
    waiting = [server.submit(*sleep_job(0)) for _ in range(3)]
    rows = [server.job(j) for j in waiting]
    assert [r["f_status"] for r in rows] == ["waiting"] * 3
    assert [r["f_queue_position"] for r in rows] == [1, 2, 3]
    assert server.client("-f", "stop_job", "-j", waiting[0]) == {"retcode": 0, "retmsg": "cancel job success"}
    assert server.job(waiting[0])["f_status"] == "canceled"
    assert server.client("-f", "clean_queue")["retcode"] == 0
    assert {server.job(j)["f_status"] for j in waiting} == {"canceled"}
    assert server.client("-f", "clean_queue") == {"retcode": 100, "retmsg": "There are no jobs in the queue"}
    assert server.job(running)["f_status"] == "running"
    assert server.client("-f", "stop_job", "-j", running)["retcode"] == 0


def test_server_killed_mid_job_recovers_on_restart(tmp_path):
    server = FlowServer(tmp_path / "server", conf={"scheduler": {"max_concurrent_jobs": 1}}).start()
    try:
        first = server.submit(*sleep_job(60))
        pids = [t["f_run_pid"] for t in server.wait_tasks_running(first, 2)]
        second = server.submit(*sleep_job(0))
        assert server.job(second)["f_status"] == "waiting"
        server.stop(signal.SIGKILL)
        assert_processes_gone(pids)  # a task whose server died ends itself
        server.start()
        job = server.wait_job(first, timeout=20)
        assert job["f_status"] == "failed" and "server stopped" in job["f_status_reason"]
        assert server.wait_job(second, timeout=30)["f_status"] == "success"
    finally:
        server.stop()
