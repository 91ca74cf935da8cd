"""/metrics: every family is exposed, and a real toy job and upload move them, under the server's own
HTTP threads and under gunicorn's workers in multiprocess mode (values summed over processes)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import requests

from tests.flow_server import ROOT, FlowServer, wait_until
from tests.test_gunicorn import free_port, scheduler_processes

pytestmark = pytest.mark.xdist_group("metrics")

TOY = ROOT / "examples" / "toy_example"
UPLOAD = ROOT / "examples" / "upload_host.json"
FAMILIES = ("fate_flow_jobs", "fate_flow_job_queue_length", "fate_flow_task_starts", "fate_flow_task_ends",
            "fate_flow_task_duration_seconds", "fate_flow_scheduler_loop_lag_seconds", "fate_flow_scheduler_pass_seconds",
            "fate_flow_http_requests", "fate_flow_federation_sent_bytes", "fate_flow_upload_rows",
            "fate_flow_inference_latency_seconds")


def scrape(server: FlowServer) -> dict[str, dict[tuple, float]]:
    """Family name -> {(sample name, sorted labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    answer = requests.get(server.url + "/metrics", timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    return {family.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
            for family in text_string_to_metric_families(answer.text)}


def value(families: dict, sample: str, **labels) -> float:
    """The sum of ``sample``'s values whose labels include ``labels`` (0 when there is none)."""
    family = next((f for f in families.values() if any(name == sample for name, _ in f)), {})
    return sum(v for (name, found), v in family.items()
               if name == sample and set(labels.items()) <= set(found))


def run_toy_and_upload(server: FlowServer) -> str:
    answer = server.post("/v1/job/submit", {"job_dsl": json.loads((TOY / "toy_example_dsl.json").read_text()),
                                            "job_runtime_conf": json.loads((TOY / "toy_example_conf.json").read_text())})
    assert answer["retcode"] == 0, answer
    assert server.wait_job(answer["jobId"], timeout=60)["f_status"] == "success"
    upload = server.client("-f", "upload", "-c", str(UPLOAD))
    assert server.wait_job(upload["jobId"], timeout=60)["f_status"] == "success"
    return answer["jobId"]


def assert_moved(before: dict, after: dict) -> None:
    assert set(FAMILIES) <= set(after), set(FAMILIES) - set(after)
    assert value(after, "fate_flow_jobs", status="success") == value(before, "fate_flow_jobs", status="success") + 2
    assert "fate_flow_job_queue_length" in after
    module = "SecureAddExample"
    assert value(after, "fate_flow_task_starts_total", module=module) - value(before, "fate_flow_task_starts_total",
                                                                             module=module) == 2  # guest and host
    assert value(after, "fate_flow_task_ends_total", module=module, status="success") == 2 + value(
        before, "fate_flow_task_ends_total", module=module, status="success")
    assert value(after, "fate_flow_task_duration_seconds_count", module=module) >= 2
    assert value(after, "fate_flow_task_duration_seconds_sum", module=module) > 0
    assert value(after, "fate_flow_task_starts_total", module="Upload") >= 1
    assert value(after, "fate_flow_scheduler_pass_seconds_count") > value(before, "fate_flow_scheduler_pass_seconds_count")
    assert value(after, "fate_flow_http_requests_total", route="/v1/job/submit", method="POST", retcode="0") >= 1
    assert value(after, "fate_flow_http_requests_total", route="/v1/schedule/<job_id>/<component_name>/<task_id>/"
                                                              "<role>/<party_id>/status", retcode="0") >= 3
    assert value(after, "fate_flow_federation_sent_bytes_total", backend="standalone") > value(
        before, "fate_flow_federation_sent_bytes_total", backend="standalone")
    assert value(after, "fate_flow_upload_rows_total") - value(before, "fate_flow_upload_rows_total") == 569


def test_metrics_move_after_a_toy_job_and_an_upload(flow_server):
    server = flow_server("server")
    before = scrape(server)
    assert set(FAMILIES) <= set(before), set(FAMILIES) - set(before)  # every family from the first scrape
    run_toy_and_upload(server)
    after = scrape(server)
    assert_moved(before, after)
    assert value(after, "fate_flow_scheduler_loop_lag_seconds") >= 0
    assert value(after, "fate_flow_http_requests_total", route="/metrics", retcode="-") >= 1


def test_metrics_under_gunicorn_sum_the_workers_and_the_scheduler(tmp_path):
    server = FlowServer(tmp_path / "work")
    server.address = f"127.0.0.1:{free_port()}"
    env = dict(server.env, FATE_FLOW_CONF=str(server.write_conf()), FATE_FLOW_WORKERS="2")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(tmp_path / "gunicorn.out", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "conf/gunicorn.conf.py"),
                                 "fate_flow.wsgi:create_wsgi_app()"], cwd=str(tmp_path), env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _answers(server), 30, what="gunicorn to answer")
        wait_until(lambda: len(scheduler_processes(proc.pid)) == 1, 30, what="the scheduler process")
        before = scrape(server)
        run_toy_and_upload(server)
        scrapes = [scrape(server) for _ in range(6)]  # the workers answer in turn: each sums every process
        for after in scrapes:
            assert_moved(before, after)
        starts = {value(s, "fate_flow_task_starts_total") for s in scrapes}
        assert len(starts) == 1, starts
        files = list((server.work_dir / "run" / "prometheus").glob("*.db"))
        assert files, "no multiprocess files in the work dir"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def _answers(server) -> bool:
    try:
        return server.post("/v1/version/get", {"module": "FATE"})["retcode"] == 0
    except requests.RequestException:
        return False
