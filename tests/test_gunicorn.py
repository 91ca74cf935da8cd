"""The same app under gunicorn with two workers runs jobs with exactly one scheduler."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys

import psutil
import pytest
import requests

from tests.flow_server import ROOT, FlowServer, wait_until

pytest.importorskip("gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scheduler_processes(root_pid: int) -> list[psutil.Process]:
    children = psutil.Process(root_pid).children(recursive=True)
    return [p for p in children if "--scheduler-only" in p.cmdline()]


def test_gunicorn_two_workers_one_scheduler(tmp_path):
    server = FlowServer(tmp_path / "work")
    server.address = f"127.0.0.1:{free_port()}"
    conf = server.write_conf()
    env = dict(server.env, FATE_FLOW_CONF=str(conf), FATE_FLOW_WORKERS="2")
    with open(tmp_path / "gunicorn.out", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "conf/gunicorn.conf.py"),
                                 "fate_flow.wsgi:create_wsgi_app()"], cwd=str(tmp_path), env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _answers(server), 30, what="gunicorn to answer")
        wait_until(lambda: len(scheduler_processes(proc.pid)) == 1, 30, what="the scheduler process")
        workers = [p for p in psutil.Process(proc.pid).children() if "--scheduler-only" not in p.cmdline()]
        assert len(workers) == 2
        toy = ROOT / "examples/toy_example"
        answer = server.post("/v1/job/submit", {"job_dsl": json.loads((toy / "toy_example_dsl.json").read_text()),
                                                "job_runtime_conf": json.loads((toy / "toy_example_conf.json").read_text())})
        job_id = answer["jobId"]
        assert server.wait_job(job_id, timeout=60)["f_status"] == "success"
        # the dashboard is served by the workers too, at the address board_url names
        assert answer["data"]["board_url"].startswith(server.url + "/index.html#/dashboard?job_id=" + job_id)
        assert requests.get(server.url + "/index.html", timeout=10).status_code == 200
        jobs = server.post("/v1/board/jobs", {"job_id": job_id})["data"]["jobs"]
        assert {j["f_status"] for j in jobs} == {"success"}
        upload = server.client("-f", "upload", "-c", str(ROOT / "examples/upload_host.json"))
        assert server.wait_job(upload["jobId"], timeout=60)["f_status"] == "success"
        info = server.post("/v1/table/table_info", {"namespace": "fate_flow_test_breast_hetero",
                                                    "table_name": "breast_hetero_host"})
        assert info["data"]["count"] == 569
        second = subprocess.run([sys.executable, "-m", "fate_flow.server", "--scheduler-only", "--conf", str(conf)],
                                env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode != 0 and "another scheduler runs" in second.stderr
        assert len(scheduler_processes(proc.pid)) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert not psutil.pid_exists(proc.pid) or psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE


def _answers(server) -> bool:
    try:
        return server.post("/v1/version/get", {"module": "FATE"})["retcode"] == 0
    except requests.RequestException:
        return False
