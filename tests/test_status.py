"""The job/task state machine: legal moves only, terminal states final, end time always set."""
from __future__ import annotations

import pytest

from fate_flow.driver.status import (JOB_FINISHED, JOB_TRANSITIONS, TASK_FINISHED, TASK_TRANSITIONS, JobStatus,
                                     TaskStatus, allowed_from, transition)
from fate_flow.utils.ids import generate_job_id
from fate_flow.utils.response import envelope


@pytest.fixture
def db(settings):
    from fate_flow.db import DB, init_db

    init_db(settings.database)
    with DB.connection_context():
        yield


def make_job(**overrides):
    from fate_flow.db import Job

    fields = dict(f_job_id="j1", f_role="guest", f_party_id="9999", f_roles="{}", f_work_mode=0, f_dsl="{}",
                  f_runtime_conf="{}", f_status="waiting")
    fields.update(overrides)
    return Job.create(**fields)


def status_of(job_id="j1"):
    from fate_flow.db import Job

    return Job.get(Job.f_job_id == job_id).f_status


WHERE = {"f_job_id": "j1", "f_role": "guest", "f_party_id": "9999"}


def test_no_terminal_state_moves(db):
    from fate_flow.db import Job

    make_job()
    assert transition(Job, WHERE, JobStatus.RUNNING, f_start_time=1000)
    assert transition(Job, WHERE, JobStatus.SUCCESS)
    for target in JobStatus:
        assert not transition(Job, WHERE, target), target
    assert status_of() == "success"


def test_canceled_is_sticky_and_end_time_is_set(db):
    from fate_flow.db import Job

    make_job()
    assert transition(Job, WHERE, JobStatus.CANCELED)
    job = Job.get(Job.f_job_id == "j1")
    assert job.f_end_time and job.f_elapsed is None  # it never started
    assert not transition(Job, WHERE, JobStatus.RUNNING)
    assert not transition(Job, WHERE, JobStatus.FAILED)
    assert status_of() == "canceled"


def test_elapsed_from_start(db):
    from fate_flow.db import Job

    make_job(f_status="running", f_start_time=1000)
    assert transition(Job, WHERE, JobStatus.FAILED, f_end_time=4000, f_status_reason="boom")
    job = Job.get(Job.f_job_id == "j1")
    assert (job.f_elapsed, job.f_status_reason) == (3000, "boom")


def test_waiting_job_can_not_succeed_directly(db):
    from fate_flow.db import Job

    make_job()
    assert not transition(Job, WHERE, JobStatus.SUCCESS)
    assert status_of() == "waiting"


def test_transition_table_is_closed():
    finished = {str(s) for s in JOB_FINISHED | TASK_FINISHED}
    for target in [*JOB_TRANSITIONS, *TASK_TRANSITIONS]:
        assert not finished & allowed_from(target), f"{target} may be entered from a terminal state"
    assert allowed_from(TaskStatus.RUNNING) == {"waiting"}
    assert allowed_from(JobStatus.SUCCESS) == {"running"}
    assert allowed_from(TaskStatus.SUCCESS) == {"waiting", "running"}


def test_job_id_format_and_uniqueness():
    ids = [generate_job_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(i.isdigit() and len(i) >= 21 for i in ids)


def test_envelope_drops_falsy_keys_but_keeps_retcode():
    assert envelope(0, "success", data={}, job_id=None, meta=[]) == {"retcode": 0, "retmsg": "success"}
    assert envelope(0, "success", data=[], keep_data=True) == {"retcode": 0, "retmsg": "success", "data": []}
    assert envelope(101, "") == {"retcode": 101}
    assert envelope(0, "ok", data={"a": 1}, job_id="j") == {"retcode": 0, "retmsg": "ok", "data": {"a": 1},
                                                            "jobId": "j"}
