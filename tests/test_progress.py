"""Progress: a task reports its own, the scheduler counts the job's from its components, never backwards."""
from __future__ import annotations

import argparse

import pytest

from fate_flow.db import Task
from fate_flow.driver.scheduler import component_states, job_progress
from fate_flow.driver.task_executor import HttpTracker

JOB = "202001010000000000001"


class Parser:
    """The two questions job_progress asks of a parsed DSL."""

    def __init__(self, parties: dict[str, list[tuple[str, int]]]) -> None:
        self._parties = parties

    def component_list(self) -> list[str]:
        return list(self._parties)

    def parties(self, component: str) -> list[tuple[str, int]]:
        return self._parties[component]


def task(component: str, role: str, party_id: int, status: str, progress: int | None = 0) -> Task:
    return Task(f_job_id=JOB, f_component_name=component, f_task_id=f"{JOB}_{component}", f_role=role,
                f_party_id=str(party_id), f_status=status, f_progress=progress)


PARSER = Parser({"reader_0": [("guest", 9999), ("host", 10000)],
                 "lr_0": [("guest", 9999), ("host", 10000), ("arbiter", 10001)],
                 "evaluation_0": [("guest", 9999)],
                 "report_0": [("guest", 9999)]})


def progress_of(tasks: list[Task]) -> int:
    return job_progress(PARSER, tasks, component_states(PARSER, tasks))


def test_done_components_count_one_and_a_running_one_its_reported_fraction():
    done = [task("reader_0", "guest", 9999, "success"), task("reader_0", "host", 10000, "success")]
    assert progress_of([]) == 0
    assert progress_of(done) == 25
    # lr_0 is running: guest at 60 %, host at 30 %, the arbiter's task not yet reported
    lr = [task("lr_0", "guest", 9999, "running", 60), task("lr_0", "host", 10000, "running", 30)]
    assert progress_of(done + lr) == int(100 * (1 + 0.3) / 4)
    lr.append(task("lr_0", "arbiter", 10001, "success", None))
    assert progress_of(done + lr) == int(100 * (1 + (0.6 + 0.3 + 1) / 3) / 4)
    every = done + [task("lr_0", r, p, "success") for r, p in PARSER.parties("lr_0")] + [
        task("evaluation_0", "guest", 9999, "success"), task("report_0", "guest", 9999, "running", 100)]
    assert progress_of(every) == 99, "100 is the job's success, set when it finishes"


def test_a_failed_or_pending_component_counts_nothing():
    tasks = [task("reader_0", "guest", 9999, "failed", 80), task("reader_0", "host", 10000, "running", 50)]
    assert progress_of(tasks) == 0


class Reporter:
    def __init__(self):
        self.sent = []

    def report_progress(self, percent):
        self.sent.append(percent)


def tracker(interval: float) -> tuple[HttpTracker, Reporter]:
    args = argparse.Namespace(job_server="127.0.0.1:1", job_id=JOB, component_name="lr_0", task_id=f"{JOB}_lr_0",
                              role="guest", party_id="9999")
    reporter = Reporter()
    return HttpTracker(args, reporter, progress_interval=interval), reporter


def test_the_tracker_sends_progress_forward_only_and_at_most_once_per_interval():
    fast, reporter = tracker(interval=3600)
    for n_iter in range(1000):  # a fast loop: one request, not a thousand
        fast.set_progress(100 * (n_iter + 1) / 1000)
    assert reporter.sent == [1]  # int(0.1) .. int(0.9) are no progress yet
    every, reporter = tracker(interval=0)
    for percent in (10, 10, 5, 20.7, 150, -3):
        every.set_progress(percent)
    assert reporter.sent == [10, 20, 100]


# ---------------------------------------------------------------- the party records its tasks' progress

STATUS = f"/v1/schedule/{JOB}/lr_0/{JOB}_lr_0/guest/9999/status"


def recorded() -> tuple[str, int]:
    row = Task.get(Task.f_job_id == JOB, Task.f_role == "guest")
    return row.f_status, row.f_progress


@pytest.fixture
def job_row(client):
    """The job's row on this party: task reports for a job that was never created are refused."""
    from fate_flow.db import DB, Job

    with DB.connection_context():
        Job.create(f_job_id=JOB, f_role="guest", f_party_id="9999", f_status="running", f_is_initiator=1,
                   f_roles="{}", f_runtime_conf="{}", f_dsl="{}", f_train_runtime_conf="{}", f_work_mode=0,
                   f_initiator_party_id="9999")
    return client


def test_a_task_progress_report_never_goes_back_and_success_is_100(job_row):
    client = job_row
    assert client.post(STATUS, json={"f_status": "running"}).get_json()["retcode"] == 0
    for percent in (40, 30, 55):
        assert client.post(STATUS, json={"f_progress": percent}).get_json()["retcode"] == 0
    assert recorded() == ("running", 55)
    answer = client.post(STATUS, json={"f_progress": "half"}).get_json()
    assert answer == {"retcode": 101, "retmsg": "f_progress should be an integer, not a string"}
    client.post(STATUS, json={"f_status": "success"})
    assert recorded() == ("success", 100)
    client.post(STATUS, json={"f_progress": 70})  # late: a finished task keeps its 100
    assert recorded() == ("success", 100)


def test_a_failed_task_keeps_what_it_reached(job_row):
    client = job_row
    client.post(STATUS, json={"f_status": "running"})
    client.post(STATUS, json={"f_progress": 35})
    client.post(STATUS, json={"f_status": "failed", "f_status_reason": "boom"})
    client.post(STATUS, json={"f_progress": 90})
    assert recorded() == ("failed", 35)


@pytest.mark.parametrize("component", ["HeteroLR", "HomoLR"])
def test_iterative_components_report_once_per_iteration(component):
    """The per-iteration report comes from LinearModelBase: a fake run of three of five iterations."""
    from fate_flow.components.hetero_lr.base import HeteroLRBase
    from fate_flow.components.homo_lr.base import HomoLRBase
    from tests.component_harness import FakeTracker

    base = {"HeteroLR": HeteroLRBase, "HomoLR": HomoLRBase}[component]
    model = base.__new__(base)
    model.params = argparse.Namespace(max_iter=5)
    model.ctx = argparse.Namespace(tracker=FakeTracker())
    for n_iter in range(3):
        model.report_progress(n_iter)
    assert model.ctx.tracker.progress == [20, 40, 60]
