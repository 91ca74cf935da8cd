"""The initiator's status poll (cluster mode): lost reports converge, a silent party fails the job."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from fate_flow.db import DB, Job, Task, init_db, now_ms
from fate_flow.driver.detector import PartyMonitor
from fate_flow.driver.job_stopper import JobStopper
from fate_flow.driver.party_jobs import PartyJobs
from fate_flow.errors import FederationError
from fate_flow.stores.model_catalogue import ModelCatalogue
from fate_flow.stores.table_catalogue import TableCatalogue

ROLES = {"guest": [9999], "host": [10000], "arbiter": [10001]}


class FakeApi:
    """Party 9999 is this server; the others answer ``answers[party]`` or raise if it is None."""

    def __init__(self, own: str) -> None:
        self.own = own
        self.answers: dict[str, dict | None] = {}
        self.calls: list[tuple[str, str, str]] = []

    def address_of(self, party_id) -> str:
        return self.own if str(party_id) == "9999" else f"10.0.0.{str(party_id)[-1]}:9380"

    def call(self, role, party_id, endpoint, body=None, method="POST", timeout=None):
        self.calls.append((role, str(party_id), endpoint))
        if str(party_id) == "9999":  # this server: run the schedule route's call
            job_id, role_, party, action = endpoint.split("/")[3:7]
            if action == "status":
                self.party_jobs.update(job_id, role_, party, body)
            elif action == "kill":
                self.party_jobs.kill_tasks(job_id, role_, party)
            return {"retcode": 0, "retmsg": "success"}
        answer = self.answers.get(str(party_id))
        if answer is None:
            raise FederationError(role, party_id, endpoint, "server unreachable (ConnectionError)")
        return answer if endpoint.endswith("/tasks") else {"retcode": 0, "retmsg": "success"}

    def call_all(self, parties, endpoint_for, body=None, stop_on_error=False):
        answers = {}
        for r, p in parties:
            try:
                answers[(r, str(p))] = self.call(r, p, endpoint_for(r, p), body)
            except FederationError as exc:  # as the real client: an unreachable party is an answer
                answers[(r, str(p))] = {"retcode": exc.retcode, "retmsg": exc.retmsg}
        return answers


@pytest.fixture
def monitor(settings):
    settings = replace(settings, work_mode=1, party_ids=(9999,),
                       scheduler=replace(settings.scheduler, party_poll_interval=0, party_timeout=30))
    init_db(settings.database)
    api = FakeApi(settings.address)
    party_jobs = PartyJobs(settings, api, lambda: None, ModelCatalogue(settings.model_dir))
    api.party_jobs = party_jobs
    with DB.connection_context():
        conf = {"initiator": {"role": "guest", "party_id": 9999}, "role": ROLES,
                "job_parameters": {"work_mode": 1}}
        Job.create(f_job_id="j1", f_role="guest", f_party_id="9999", f_is_initiator=1, f_status="running",
                   f_roles=json.dumps(ROLES), f_runtime_conf=json.dumps(conf), f_dsl="{}",
                   f_train_runtime_conf="{}", f_initiator_party_id="9999", f_work_mode=1,
                   f_create_time=now_ms(), f_start_time=now_ms())
        for role, party in (("guest", "9999"), ("host", "10000"), ("arbiter", "10001")):
            Task.create(f_job_id="j1", f_component_name="hetero_lr_0", f_task_id="j1_hetero_lr_0", f_role=role,
                        f_party_id=party, f_status="running", f_create_time=now_ms(), f_update_time=now_ms() - 10_000,
                        f_run_ip=api.address_of(party))
        stopper = JobStopper(settings, api, lambda: None, TableCatalogue(settings))
        yield PartyMonitor(settings, api, party_jobs, stopper), api


def task_status(role: str) -> str:
    return Task.get(Task.f_job_id == "j1", Task.f_role == role).f_status


def test_a_lost_report_converges_through_the_poll(monitor):
    mon, api = monitor
    api.answers["10000"] = {"retcode": 0, "data": [{"f_component_name": "hetero_lr_0", "f_task_id": "j1_hetero_lr_0",
                                                    "f_status": "success", "f_status_reason": ""}]}
    api.answers["10001"] = {"retcode": 0, "data": [{"f_component_name": "hetero_lr_0", "f_task_id": "j1_hetero_lr_0",
                                                    "f_status": "running", "f_status_reason": ""}]}
    with DB.connection_context():
        mon.check(now=100.0)
        assert task_status("host") == "success"
        assert task_status("arbiter") == "running"
        assert task_status("guest") == "running"
    polled = {party for _, party, endpoint in api.calls if endpoint.endswith("/tasks")}
    assert polled == {"10000", "10001"}  # never the initiator's own tasks


def test_an_unreachable_party_fails_the_job_after_the_party_timeout(monitor):
    mon, api = monitor
    api.answers["10001"] = {"retcode": 0, "data": []}
    with DB.connection_context():
        mon.check(now=100.0)
        assert Job.get(Job.f_job_id == "j1").f_status == "running"  # silent for 0 s
        mon.check(now=120.0)
        assert Job.get(Job.f_job_id == "j1").f_status == "running"  # 20 s < 30 s
        mon.check(now=131.0)
        job = Job.get(Job.f_job_id == "j1")
        assert job.f_status == "failed"
        assert "host" in job.f_status_reason and "10000" in job.f_status_reason and "unreachable" in job.f_status_reason
    kills = [endpoint for _, _, endpoint in api.calls if endpoint.endswith("/kill")]
    assert kills, "the other parties were told to kill their tasks"


def test_a_party_that_answers_again_is_not_failed(monitor):
    mon, api = monitor
    api.answers["10001"] = {"retcode": 0, "data": []}
    with DB.connection_context():
        mon.check(now=100.0)
        api.answers["10000"] = {"retcode": 0, "data": []}
        mon.check(now=125.0)
        del api.answers["10000"]
        Task.update(f_update_time=0).execute()
        mon.check(now=140.0)  # unreachable again, but only for 0 s since its last answer
        assert Job.get(Job.f_job_id == "j1").f_status == "running"
