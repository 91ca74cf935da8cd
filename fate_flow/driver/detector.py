"""Finds what went wrong without anyone reporting it, and resolves it.

- a task whose process died without a final report -> failed, with the reason;
- a job past its timeout -> timeout, its tasks killed;
- at start, what a dead server left running -> killed and failed, so the queue moves on.
"""
from __future__ import annotations

import json
import logging

from fate_flow.db import Job, Task, now_ms
from fate_flow.driver.launcher import kill_process_group, process_matches
from fate_flow.driver.status import JobStatus, TaskStatus
from fate_flow.errors import FlowError
from fate_flow.utils.log import job_logger

logger = logging.getLogger("fate_flow.detector")


def _local_unfinished_tasks(settings):
    query = Task.select().where(Task.f_status.in_([str(TaskStatus.WAITING), str(TaskStatus.RUNNING)]))
    if settings.work_mode != 0:  # in cluster mode the db also holds copies of other parties' tasks
        query = query.where(Task.f_run_ip == settings.address)
    return query


def fail_dead_tasks(settings, controller, launcher) -> int:
    """Fail running tasks of this server whose process is gone (and is not a watched child)."""
    count = 0
    for task in list(_local_unfinished_tasks(settings).where(Task.f_run_pid.is_null(False))):
        if launcher.is_child(task.f_run_pid) or process_matches(task.f_run_pid, task.f_run_pid_create_time):
            continue
        reason = f"task process {task.f_run_pid} is gone"
        job_logger(task.f_job_id).error("%s %s %s: %s", task.f_task_id, task.f_role, task.f_party_id, reason)
        controller.set_task_status(task, TaskStatus.FAILED, reason)
        count += 1
    return count


def stop_timed_out_jobs(settings, controller) -> int:
    """Stop jobs initiated here that ran longer than their timeout."""
    now = now_ms()
    count = 0
    for job in list(Job.select().where(Job.f_is_initiator == 1, Job.f_status == str(JobStatus.RUNNING))):
        timeout = job_timeout(json.loads(job.f_runtime_conf), settings.scheduler.job_timeout)
        if job.f_start_time and now - job.f_start_time > timeout * 1000:
            try:
                controller.stop_job(job.f_job_id, JobStatus.TIMEOUT, f"job ran longer than its timeout of {timeout} s")
                count += 1
            except FlowError as exc:
                logger.warning("timeout of %s: %s", job.f_job_id, exc)
    return count


def job_timeout(conf: dict, default: int) -> float:
    """The job's own positive ``job_parameters.timeout``, else the server default (seconds)."""
    value = (conf.get("job_parameters") or {}).get("timeout")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return value
    return default


def recover_in_flight(settings, controller) -> None:
    """At start: kill and fail tasks left by a dead server, then fail the jobs it was running."""
    for task in list(_local_unfinished_tasks(settings)):
        kill_process_group(task.f_run_pid, task.f_run_pid_create_time, grace=1.0)
        controller.set_task_status(task, TaskStatus.FAILED, "the server stopped while the task was running")
    for job in list(Job.select().where(Job.f_is_initiator == 1, Job.f_status == str(JobStatus.RUNNING))):
        job_logger(job.f_job_id).warning("server restarted while the job was running: failing it")
        try:
            controller.stop_job(job.f_job_id, JobStatus.FAILED, "the server stopped while the job was running")
        except FlowError as exc:
            logger.warning("recovering %s: %s", job.f_job_id, exc)
