"""Finds what went wrong without anyone reporting it, and resolves it.

- a task whose process died without a final report -> failed, with the reason;
- a job past its timeout -> timeout, its tasks killed;
- at start, what a dead server left running -> killed and failed, so the queue moves on.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Callable

from fate_flow.db import Job, Task, now_ms
from fate_flow.driver.launcher import kill_process_group, process_matches
from fate_flow.driver.status import JobStatus, TaskStatus
from fate_flow.errors import FlowError
from fate_flow.party.client import all_parties
from fate_flow.utils.log import job_logger

logger = logging.getLogger("fate_flow.detector")

# seconds a task process may outlive its failed task before the server that runs it kills it
KILL_ENDED_AFTER_S = 5.0


def _local_unfinished_tasks(settings):
    query = Task.select().where(Task.f_status.in_([str(TaskStatus.WAITING), str(TaskStatus.RUNNING)]))
    # in cluster mode the db also holds copies of other parties' tasks; with a lease, the tasks
    # of the other servers sharing the database
    if settings.work_mode != 0 or settings.uses_lease:
        query = query.where(Task.f_run_ip == settings.address)
    return query


def fail_dead_tasks(settings, party_jobs, launcher, collect_exits: Callable[[], None] = lambda: None) -> int:
    """Fail this server's running tasks whose process is gone unwatched; kill what is left of their groups.

    ``collect_exits`` applies the exits the launcher has reported: a child's exit is reported
    before it stops being a child, so applying them first gives such a task its real cause.
    """
    dead = [task for task in _local_unfinished_tasks(settings).where(Task.f_run_pid.is_null(False))
            if not launcher.is_child(task.f_run_pid)
            and not process_matches(task.f_run_pid, task.f_run_pid_create_time)]
    if dead:
        collect_exits()
    count = 0
    for task in dead:
        # nobody may have watched it end (a task of an earlier server): kill what is left of its group
        kill_process_group(task.f_run_pid, task.f_run_pid_create_time, settings.scheduler.kill_grace)
        reason = f"task process {task.f_run_pid} is gone"
        if party_jobs.set_task_status(task, TaskStatus.FAILED, reason):  # unless its exit was applied
            job_logger(task.f_job_id).error("%s %s %s: %s", task.f_task_id, task.f_role, task.f_party_id, reason)
            count += 1
    return count


def fail_tasks_of_dead_servers(settings, party_jobs) -> int:
    """Leader: fail the unfinished tasks run by servers of this database whose heartbeat lapsed.

    Such a server was killed or lost the database: its task processes ended with it (a task
    whose server is gone kills its own group), and nobody else can watch them, since they ran
    on its machine. The jobs then fail with the reason, like any job with a failed task.
    """
    if not settings.uses_lease:
        return 0
    from fate_flow.driver.lease import expired_servers

    rows = list(Task.select().where(Task.f_status.in_([str(TaskStatus.WAITING), str(TaskStatus.RUNNING)]),
                                    Task.f_run_ip.is_null(False), Task.f_run_ip != "",
                                    Task.f_run_ip != settings.address))
    dead = expired_servers({task.f_run_ip for task in rows})
    count = 0
    for task in rows:
        if task.f_run_ip not in dead:
            continue
        reason = (f"the server {task.f_run_ip} that ran this task stopped renewing its lease in the shared "
                  f"database {dead[task.f_run_ip] / 1000:.0f} s ago (killed or cut off); its task processes "
                  f"end with it")
        if party_jobs.set_task_status(task, TaskStatus.FAILED, reason):
            job_logger(task.f_job_id).error("%s %s %s: %s", task.f_task_id, task.f_role, task.f_party_id, reason)
            count += 1
    return count


def kill_finished_children(settings, launcher) -> int:
    """Kill this server's task processes whose task was failed or timed out elsewhere (a stop that
    reached another server of the party).

    A task that reported its own end exits by itself, so a succeeded one is never killed, and a
    failed one only when it is still there ``KILL_ENDED_AFTER_S`` seconds after its end.
    """
    pids = launcher.child_pids()
    if not pids:
        return 0
    count = 0
    before = now_ms() - int(max(settings.scheduler.kill_grace, KILL_ENDED_AFTER_S) * 1000)
    for task in Task.select().where(Task.f_run_ip == settings.address, Task.f_run_pid.in_(pids),
                                    Task.f_update_time < before,
                                    Task.f_status.in_([str(TaskStatus.FAILED), str(TaskStatus.TIMEOUT)])):
        if kill_process_group(task.f_run_pid, task.f_run_pid_create_time, settings.scheduler.kill_grace):
            job_logger(task.f_job_id).warning("%s %s %s is %s: killed its process %s", task.f_task_id, task.f_role,
                                              task.f_party_id, task.f_status, task.f_run_pid)
            count += 1
    return count


def stop_timed_out_jobs(settings, stopper) -> int:
    """Stop jobs initiated here that ran longer than their timeout."""
    now = now_ms()
    count = 0
    for job in list(Job.select().where(Job.f_is_initiator == 1, Job.f_status == str(JobStatus.RUNNING))):
        timeout = job_timeout(json.loads(job.f_runtime_conf), settings.scheduler.job_timeout)
        if job.f_start_time and now - job.f_start_time > timeout * 1000:
            try:
                stopper.stop_job(job.f_job_id, JobStatus.TIMEOUT, f"job ran longer than its timeout of {timeout} s")
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


def recover_in_flight(settings, party_jobs, stopper) -> None:
    """At start: kill and fail tasks left by a dead server (and their groups' helpers), then fail its jobs.

    With a lease the jobs are left to whoever leads: another server may be running them, and
    the leader fails a job whose task failed here, with that task's reason.
    """
    for task in list(_local_unfinished_tasks(settings)):
        kill_process_group(task.f_run_pid, task.f_run_pid_create_time, grace=1.0)
        party_jobs.set_task_status(task, TaskStatus.FAILED, "the server stopped while the task was running")
    if settings.uses_lease:
        return
    for job in list(Job.select().where(Job.f_is_initiator == 1, Job.f_status == str(JobStatus.RUNNING))):
        job_logger(job.f_job_id).warning("server restarted while the job was running: failing it")
        try:
            stopper.stop_job(job.f_job_id, JobStatus.FAILED, "the server stopped while the job was running")
        except FlowError as exc:
            logger.warning("recovering %s: %s", job.f_job_id, exc)


class PartyMonitor:
    """The initiator's check on the other parties' servers (cluster mode).

    A party's tasks report their status to the initiator as they change. When the initiator's
    copy of a running task has not changed for ``party_poll_interval`` seconds, it asks the party
    for its task rows (a lost report converges); a party that stays unreachable for
    ``party_timeout`` seconds fails the job, naming the party.
    """

    def __init__(self, settings, api, party_jobs, stopper) -> None:
        self.settings = settings
        self.api = api
        self.party_jobs = party_jobs
        self.stopper = stopper
        self._last_contact: dict[tuple[str, str, str], float] = {}

    def check(self, now: float | None = None) -> None:
        """Poll the parties whose task reports are overdue; fail a job whose party stays unreachable."""
        now = time.monotonic() if now is None else now
        poll_after_ms = self.settings.scheduler.party_poll_interval * 1000
        active = set()
        for job in list(Job.select().where(Job.f_is_initiator == 1, Job.f_status == str(JobStatus.RUNNING))):
            overdue = self._overdue_parties(job, now_ms() - poll_after_ms)
            for role, party_id in overdue:
                key = (job.f_job_id, role, party_id)
                active.add(key)
                if not self._poll(job, role, party_id, key, now):
                    break
        self._last_contact = {k: v for k, v in self._last_contact.items() if k in active}

    def _overdue_parties(self, job, before_ms: float) -> list[tuple[str, str]]:
        """Remote parties with an unfinished task whose initiator copy is older than ``before_ms``."""
        remote = {(r, p) for r, p in all_parties(json.loads(job.f_roles))
                  if self.api.address_of(p) != self.settings.address}
        rows = Task.select(Task.f_role, Task.f_party_id).where(
            Task.f_job_id == job.f_job_id, Task.f_update_time < before_ms,
            Task.f_status.in_([str(TaskStatus.WAITING), str(TaskStatus.RUNNING)]))
        return sorted({(t.f_role, t.f_party_id) for t in rows} & remote)

    def _poll(self, job, role: str, party_id: str, key: tuple, now: float) -> bool:
        """Ask one party for its tasks and apply what changed; False if the job was failed."""
        path = f"/v1/schedule/{job.f_job_id}/{role}/{party_id}/tasks"
        try:
            answer = self.api.call(role, party_id, path, {}, timeout=10)
        except FlowError as exc:
            first = self._last_contact.setdefault(key, now)
            silent = now - first
            logger.warning("job %s: %s %s did not answer the status poll for %.0f s: %s",
                           job.f_job_id, role, party_id, silent, exc.retmsg)
            if silent >= self.settings.scheduler.party_timeout:
                reason = (f"role {role} party {party_id} unreachable for {silent:.0f} s "
                          f"({self.api.address_of(party_id)}): {exc.retmsg}")
                try:
                    self.stopper.stop_job(job.f_job_id, JobStatus.FAILED, reason)
                except FlowError as stop_error:
                    logger.warning("failing %s: %s", job.f_job_id, stop_error)
                return False
            return True
        self._last_contact[key] = now
        if answer.get("retcode") != 0:
            logger.warning("job %s: status poll of %s %s: %s", job.f_job_id, role, party_id, answer.get("retmsg"))
            return True
        for row in answer.get("data") or []:
            report = {k: v for k, v in row.items() if k not in ("f_component_name", "f_task_id")}
            self.party_jobs.report_task_status(job.f_job_id, row["f_component_name"], role, party_id, report)
        # the copy is current now: the next poll waits another interval
        Task.update(f_update_time=now_ms()).where(
            Task.f_job_id == job.f_job_id, Task.f_role == role, Task.f_party_id == party_id,
            Task.f_status.in_([str(TaskStatus.WAITING), str(TaskStatus.RUNNING)])).execute()
        return True
