"""The toy example and FATE's hetero LR example on breast, run through each federation backend
(standalone, http, rabbitmq) by conf alone: the same results, and nothing left behind."""
from __future__ import annotations

import json
import re

import pytest

from fate_flow.federation.rabbitmq import exchange_name, queue_name
from tests.flow_server import ROOT, FlowServer, wait_until
from tests.test_e2e_hetero_lr import EXAMPLE, metric, upload
from tests.test_federation import broker_is_up
from tests.test_federation_backends import exists

TOY = ROOT / "examples" / "toy_example"
BACKENDS = ["standalone", "http", "rabbitmq"]
SENT = re.compile(r"federation sent (\d+) bytes in (\d+) messages")


# one worker sets up the module's shared fixtures (servers, engines) once
pytestmark = pytest.mark.xdist_group("e2e_federation_backends")


def hetero_lr_job() -> tuple[dict, dict]:
    """FATE's example, 5 iterations from zeros: every backend must train the very same model."""
    dsl = json.loads((EXAMPLE / "test_hetero_lr_train_job_dsl.json").read_text())
    conf = json.loads((EXAMPLE / "test_hetero_lr_train_job_conf.json").read_text())
    conf["algorithm_parameters"]["hetero_lr_0"].update(max_iter=5, init_param={"init_method": "zeros"})
    return dsl, conf


def toy_job() -> tuple[dict, dict]:
    return (json.loads((TOY / "toy_example_dsl.json").read_text()),
            json.loads((TOY / "toy_example_conf.json").read_text()))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One server restarted with each backend; backend -> {"toy": job_id, "lr": job_id}."""
    server = FlowServer(tmp_path_factory.mktemp("federation_e2e") / "server")
    results = {}
    try:
        for backend in BACKENDS:
            if backend == "rabbitmq" and not broker_is_up():
                continue
            # small chunks, so that the bigger messages (ciphertext arrays) travel in several
            server.conf["federation"] = {"backend": backend, "timeout": 120, "chunk_size": 64 << 10}
            server.stop()
            server.start()
            if not results:
                upload(server, "breast_hetero_guest.csv", "breast_hetero_guest")
                upload(server, "breast_hetero_host.csv", "breast_hetero_host")
            results[backend] = {"toy": server.submit(*toy_job()), "lr": server.submit(*hetero_lr_job())}
            for job_id in results[backend].values():
                job = server.wait_job(job_id, timeout=300)
                assert job["f_status"] == "success", (backend, job["f_status_reason"])
        yield server, results
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request, runs):
    if request.param not in runs[1]:
        pytest.skip(f"backend {request.param} did not run (no broker)")
    return request.param


def task_log(server: FlowServer, job_id: str, role: str, component: str) -> str:
    return (server.work_dir / "logs" / job_id / role / "10000" / component / "INFO.log").read_text()


def test_toy_sum_is_the_same(runs, backend):
    """The shares are fresh random numbers each run (as in FATE), so the last bits of the exact
    sum vary; the 4-decimal result the example prints does not."""
    server, results = runs

    def toy_sums(job_id):
        log = task_log(server, job_id, "guest", "secure_add_example_0")
        return (re.search(r"Secure Add Result is (\S+)", log).group(1),
                float(re.search(r"success to calculate secure_sum, it is (\S+)", log).group(1)))

    printed, exact = toy_sums(results[backend]["toy"])
    assert printed == toy_sums(results["standalone"]["toy"])[0] == "2000.0000"
    assert abs(exact - 2000.0) < 1e-6


def test_hetero_lr_trains_the_same_model(runs, backend):
    server, results = runs

    def outcome(job_id):
        auc = dict(metric(server, job_id, "evaluation_0")["train"]["hetero_lr_0"]["data"])["auc"]
        query = {"job_id": job_id, "component_name": "hetero_lr_0", "role": "guest", "party_id": 10000}
        weights = server.post("/v1/tracking/component/output/model", query)["data"]["weight"]
        return auc, weights

    auc, weights = outcome(results[backend]["lr"])
    assert (auc, weights) == outcome(results["standalone"]["lr"])
    assert auc > 0.95


def test_the_backend_carried_the_messages_and_counted_them(runs, backend):
    server, results = runs
    job_id = results[backend]["lr"]
    config = json.loads((server.work_dir / "jobs" / job_id / "guest" / "10000" / "hetero_lr_0" /
                         "task_config.json").read_text())
    assert config["federation"]["backend"] == backend

    def counts(jobs):
        return {role: [int(n) for n in SENT.search(task_log(server, jobs["lr"], role, "hetero_lr_0")).groups()]
                for role in ("guest", "host", "arbiter")}

    mine, reference = counts(results[backend]), counts(results["standalone"])
    assert all(nbytes > 10_000 and messages > 5 for nbytes, messages in mine.values()), mine
    # the same protocol sends the same messages whatever carries them
    assert {r: m for r, (_, m) in mine.items()} == {r: m for r, (_, m) in reference.items()}


def test_nothing_is_left_after_the_jobs(runs, backend):
    server, results = runs
    federation_dir = server.work_dir / "federation"
    for job_id in results[backend].values():
        wait_until(lambda: not [p for p in federation_dir.iterdir() if p.name.startswith(job_id)], 30,
                   what=f"the federation sessions of {job_id} to be removed")
        if backend == "rabbitmq":
            assert not exists(exchange=exchange_name(job_id))
            parties = [("guest", "10000"), ("host", "10000"), ("arbiter", "10000")]
            for task_id in {task["f_task_id"] for task in server.tasks(job_id)}:
                assert not any(exists(queue=queue_name(task_id, dst, src))
                               for dst in parties for src in parties if src != dst)
