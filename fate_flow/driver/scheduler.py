"""The party's scheduler: admits queued jobs, runs their DAGs, launches local tasks.

Exactly one leads per party: a file lock guards the work dir, and when several servers
share one MySQL database the holder of the scheduler lease (``lease.py``) leads. It sleeps
on the waker and acts as soon as something changes: a submit, a run request, a task report
or a task process exit. Periodic chores (dead processes, timeouts) run on a timer.
``run_once`` is a list of named steps; an error in one is logged and the loop goes on.
Every server runs the steps about its own task processes (launch the tasks it was asked to
run, collect their exits); only the leader runs the party-wide ones (admit jobs, advance
DAGs, sync progress, timeouts, other parties, servers that stopped renewing their heartbeat).
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any

from fate_flow.db import DB, Job, Queue, Task, now_ms
from fate_flow.driver import detector
from fate_flow.driver.job_queries import job_parser
from fate_flow.driver.job_stopper import JobStopper
from fate_flow.driver.launcher import Launcher, TaskExit, TaskKey, TaskStartError, describe_exit, kill_process_group
from fate_flow.driver.lease import LeaseKeeper, SoleLease
from fate_flow.driver.party_calls import call_every_party, sync_job_status, task_path
from fate_flow.driver.party_jobs import PartyJobs
from fate_flow.driver.status import JobStatus, QueueState, TaskStatus, transition
from fate_flow.driver.waker import Waker
from fate_flow.driver.work_dir_lock import WorkDirLock
from fate_flow.errors import FlowError
from fate_flow.party.client import FederatedClient, all_parties
from fate_flow.settings import Settings
from fate_flow.utils import metrics
from fate_flow.utils.log import job_logger
from fate_flow.utils.signing import task_environment

logger = logging.getLogger("fate_flow.scheduler")


class Scheduler:
    """Decides and writes state for the jobs this party initiates and the tasks it runs."""

    def __init__(self, settings: Settings, api: FederatedClient, party_jobs: PartyJobs, stopper: JobStopper,
                 waker: Waker, lock: WorkDirLock | None = None, lease: LeaseKeeper | SoleLease | None = None) -> None:
        self.settings = settings
        self.api = api
        self.party_jobs = party_jobs
        self.stopper = stopper
        self.waker = waker
        self.launcher = Launcher(settings.task_python, self._on_task_exit,
                                 task_env=lambda party_id: task_environment(settings, party_id),
                                 kill_grace=settings.scheduler.kill_grace)
        self._events: queue.SimpleQueue[TaskExit] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._admitting = True
        self._thread: threading.Thread | None = None
        self.lock = lock or WorkDirLock(settings.run_dir)
        self._parsers: dict[str, Any] = {}
        self._last_chores = 0.0
        self._last_leader_chores = float("-inf")
        self.party_monitor = detector.PartyMonitor(settings, api, party_jobs, stopper)
        self.lease = lease or SoleLease()
        self._was_leader = False
        self._started: dict[int, tuple[str, float]] = {}  # pid -> (module, monotonic start), for the metrics

    # ---- life cycle ----------------------------------------------------------------

    def start(self) -> None:
        """Take the work dir lock (if the server has not) and the leases it can, resolve what a dead
        server left, start the loop."""
        self.lock.acquire()
        self.lease.start(self.waker.wake)
        if self.lease.holds_address:  # else a live twin claims this address: its tasks are not ours
            with DB.connection_context():
                detector.recover_in_flight(self.settings, self.party_jobs, self.stopper)
        self._thread = threading.Thread(target=self.run, name="scheduler", daemon=True)
        self._thread.start()

    def run(self) -> None:
        """The loop: a pass, then sleep until woken or the detect interval passed, until stopped."""
        try:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except Exception:  # the database went away mid-pass: the next pass reconnects
                    logger.exception("scheduler pass failed")
                self.waker.wait(self._idle_wait())
        finally:
            self.teardown()

    def stop(self, graceful: bool = True, timeout: float = 10.0) -> None:
        """Warm stop: admit nothing more and let running tasks finish. Cold: kill them all."""
        self._admitting = False
        self.lease.resign()  # a peer may lead now; this server's running tasks stay its own
        if not graceful:
            self.launcher.kill_all(self.settings.scheduler.kill_grace)
        self._stop.set()
        self.waker.wake()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def teardown(self) -> None:
        """Release the work dir lock when the loop ends."""
        self.lock.release()

    def close_lease(self) -> None:
        """Release this server's leases once its tasks have ended (the last step of a stop)."""
        self.lease.close()

    def _idle_wait(self) -> float:
        """Seconds to sleep when nothing wakes the loop.

        With a lease, reports and submits that reach another server of the party change the
        shared database without waking this one, so the leader looks at least once a renewal.
        """
        interval = self.settings.scheduler.detect_interval
        if isinstance(self.lease, LeaseKeeper):
            return min(interval, self.lease.interval)
        return interval

    def _on_task_exit(self, event: TaskExit) -> None:
        self._events.put(event)
        self.waker.wake()

    # ---- one pass ---------------------------------------------------------------------

    def run_once(self, now: float | None = None) -> None:
        """One pass of named steps (``now`` injected by tests); an error in one step is logged."""
        now = time.monotonic() if now is None else now
        if not self.lease.holds_address:
            return  # another live process claims this server's address: wait for its heartbeat to lapse
        # tasks dispatched in this pass start in this pass; progress is bookkeeping, last
        steps = [self._prewarm_task_process, self._collect_task_events, self._admit_waiting_jobs,
                 self._advance_running_jobs, self._launch_requested_tasks, self._sync_progress]
        lag = None
        if now - self._last_chores >= self.settings.scheduler.detect_interval:
            lag = now - self._last_chores - self.settings.scheduler.detect_interval if self._last_chores else 0.0
            self._last_chores = now
            steps.append(self._periodic_chores)
        began = time.monotonic()
        with DB.connection_context():
            self._notice_leadership()
            for step in steps:
                if step in self._leader_steps() and not self.lease.is_leader:
                    continue  # checked before each step: a lease lost mid-pass stops the pass's decisions
                try:
                    step()
                except Exception:
                    logger.exception("scheduler step %s failed", step.__name__)
            if self.lease.is_leader:
                self._run_leader_chores(now)
        metrics.scheduler_pass(time.monotonic() - began, lag)

    def _leader_steps(self) -> tuple:
        return (self._admit_waiting_jobs, self._advance_running_jobs, self._sync_progress)

    def _notice_leadership(self) -> None:
        """On taking the lease over: forget cached state and resolve the tasks of servers that died."""
        is_leader = self.lease.is_leader
        if is_leader and not self._was_leader:
            logger.info("leading the scheduler of this party (%s)", self.settings.address)
            self._parsers.clear()
            self.party_monitor = detector.PartyMonitor(self.settings, self.api, self.party_jobs, self.stopper)
            self._last_leader_chores = float("-inf")
        self._was_leader = is_leader

    def _run_leader_chores(self, now: float) -> None:
        """The party-wide periodic chores, run by the leader only."""
        if now - self._last_leader_chores < self.settings.scheduler.detect_interval:
            return
        self._last_leader_chores = now
        chores = [lambda: detector.fail_tasks_of_dead_servers(self.settings, self.party_jobs),
                  lambda: detector.stop_timed_out_jobs(self.settings, self.stopper), self.party_monitor.check]
        for chore in chores:
            try:
                chore()
            except Exception:
                logger.exception("scheduler chore failed")

    def _prewarm_task_process(self) -> None:
        """Start a task process ahead when a task is about to come (an upload is being received)."""
        if self._admitting and self.waker.take_prewarm_request():
            self.launcher.prewarm(self.settings.work_dir)

    def _collect_task_events(self) -> None:
        """Turn exits of task processes that did not report an end into failures."""
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            task = _task(event.key)
            self._record_task_end(event, task)
            if task is None or task.f_status not in (str(TaskStatus.WAITING), str(TaskStatus.RUNNING)):
                continue
            if task.f_run_pid is not None and int(task.f_run_pid) != event.pid:
                continue  # the exit of an earlier run of a rerun task, not of this one
            reason = f"task process {event.pid} ended without reporting a result: {describe_exit(event.returncode)}"
            job_logger(task.f_job_id).error("%s %s %s: %s", task.f_task_id, task.f_role, task.f_party_id, reason)
            self.party_jobs.set_task_status(task, TaskStatus.FAILED, reason)

    def _record_task_end(self, event: TaskExit, task: Task | None) -> None:
        """Count a task process's end by module and final status (failed if it ended without reporting one)."""
        module, began = self._started.pop(event.pid, ("unknown", None))
        status = task.f_status if task is not None else "unknown"
        if status in (str(TaskStatus.WAITING), str(TaskStatus.RUNNING)):
            status = str(TaskStatus.FAILED)  # what _collect_task_events makes of it next
        metrics.task_ended(module, status, time.monotonic() - began if began is not None else 0.0)

    def _launch_requested_tasks(self) -> None:
        """Start a process for every task that a run request queued on this server."""
        requested = Task.select().where(Task.f_status == str(TaskStatus.WAITING),
                                        Task.f_run_ip == self.settings.address, Task.f_run_pid.is_null())
        launched = list(requested)
        for task in launched:
            self._launch(task)
        if launched and self._admitting:
            # more tasks tend to follow (the next component, the other parties, the next upload):
            # keep the task forker for them; it exits if none comes within its TTL
            self.launcher.prewarm(self.settings.work_dir)

    def _launch(self, task: Task) -> None:
        key = TaskKey(task.f_job_id, task.f_task_id, task.f_role, task.f_party_id)
        settings = self.settings
        config = settings.task_dir(task.f_job_id, task.f_role, task.f_party_id, task.f_component_name) / "task_config.json"
        log_dir = settings.task_log_dir(task.f_job_id, task.f_role, task.f_party_id, task.f_component_name)
        try:
            pid, created = self.launcher.start(key, config, log_dir, self.settings.address, self.settings.work_dir)
        except TaskStartError as exc:
            job_logger(task.f_job_id).error("%s: %s", task.f_task_id, exc)
            self.party_jobs.set_task_status(task, TaskStatus.FAILED, str(exc))
            return
        where = {"f_job_id": task.f_job_id, "f_task_id": task.f_task_id, "f_role": task.f_role,
                 "f_party_id": task.f_party_id}
        started = transition(Task, where, TaskStatus.RUNNING, f_run_pid=pid, f_run_pid_create_time=created,
                             f_start_time=now_ms(), f_run_ip=self.settings.address)
        if not started:  # stopped while we launched it
            kill_process_group(pid, created, self.settings.scheduler.kill_grace)
        self._started[pid] = (_task_module(config), time.monotonic())
        metrics.task_started(self._started[pid][0])
        job_logger(task.f_job_id).info("started %s %s %s pid %s", task.f_task_id, task.f_role, task.f_party_id, pid)

    def _admit_waiting_jobs(self) -> None:
        """Move queued jobs to running, in FIFO order, under the running-job limit."""
        if not self._admitting:
            return
        limit = self.settings.scheduler.max_concurrent_jobs
        running = _initiated_jobs(JobStatus.RUNNING).count()
        for row in Queue.select().where(Queue.f_is_waiting == QueueState.WAITING).order_by(Queue.id):
            if running >= limit:
                return
            taken = Queue.update(f_is_waiting=QueueState.DISPATCHED).where(
                Queue.id == row.id, Queue.f_is_waiting == QueueState.WAITING).execute()
            if not taken:
                continue
            job = _initiator_row(row.f_job_id)
            if job is None or job.f_status != str(JobStatus.WAITING):
                continue
            self._sync_job(job, {"f_status": str(JobStatus.RUNNING), "f_start_time": now_ms(),
                                 "f_tag": "end_waiting"})
            job_logger(job.f_job_id).info("admitted, %s jobs running", running + 1)
            running += 1

    def _advance_running_jobs(self) -> None:
        for job in list(_initiated_jobs(JobStatus.RUNNING)):
            try:
                self._advance(job)
            except Exception as exc:
                job_logger(job.f_job_id).exception("scheduling failed")
                self._fail_job(job, f"scheduling failed: {exc}")

    def _advance(self, job: Job) -> None:
        """Dispatch ready components, fail the job on a failed task, finish it when all succeeded."""
        parser = self._parser(job)
        states = component_states(parser, _job_tasks(job.f_job_id))
        failed = [c for c, (state, _) in states.items() if state == "failed"]
        if failed:
            self._fail_job(job, states[failed[0]][1])
            return
        if all(state == "success" for state, _ in states.values()):
            self._finish_job(job, parser)
            return
        for component in parser.component_list():
            if states[component][0] == "pending" and all(states[u][0] == "success" for u in parser.upstream(component)):
                self._dispatch(job, parser, component)

    def _sync_progress(self) -> None:
        """Tell every party the progress and current tasks of running jobs, when they changed."""
        for job in list(_initiated_jobs(JobStatus.RUNNING)):
            self._update_progress(job, self._parser(job), _job_tasks(job.f_job_id))

    def _dispatch(self, job: Job, parser, component: str) -> None:
        """Ask every party that runs ``component`` to run its task."""
        log = job_logger(job.f_job_id)
        conf = json.loads(job.f_runtime_conf)
        body = {"job_parameters": conf["job_parameters"], "job_initiator": conf["initiator"],
                "task_parameters": {}, "module_name": parser.module(component),
                "input": parser.component_input(component), "output": parser.component_output(component),
                "job_server": {"address": self.settings.address}}
        parties = parser.parties(component)
        for role, party_id in parties:
            self.party_jobs.ensure_task_row(job.f_job_id, component, role, party_id)
        answers = self.api.call_all(parties, lambda r, p: task_path(job.f_job_id, component, r, p, "run"), body)
        for (role, party_id), answer in answers.items():
            if answer.get("retcode") != 0:
                reason = f"role {role} party {party_id} refused to run {component}: {answer.get('retmsg')}"
                log.error("%s", reason)
                self.party_jobs.report_task_status(job.f_job_id, component, role, party_id,
                                                   {"f_status": str(TaskStatus.FAILED), "f_status_reason": reason})
        log.info("dispatched %s to %s", component, parser.parties(component))

    def _update_progress(self, job: Job, parser, tasks: list[Task]) -> None:
        states = component_states(parser, tasks)
        # never back: what the parties were told stays true whatever order reports arrive in
        progress = max(job_progress(parser, tasks, states), job.f_progress or 0)
        current = json.dumps([f"{job.f_job_id}_{c}" for c, (s, _) in states.items() if s == "running"] or
                             json.loads(job.f_current_tasks or "[]"))
        if progress != job.f_progress or current != job.f_current_tasks:
            self._sync_job(job, {"f_progress": progress, "f_current_tasks": current})

    def _finish_job(self, job: Job, parser) -> None:
        parties = all_parties(json.loads(job.f_roles))
        saved = call_every_party(self.api, job.f_job_id, parties, "pipeline/save")
        refused = [(party, a) for party, a in saved.items() if a.get("retcode") != 0]
        if refused:
            (role, party_id), answer = refused[0]
            self._fail_job(job, f"saving the pipeline failed on role {role} party {party_id}: {answer.get('retmsg')}")
            return
        last = json.dumps([f"{job.f_job_id}_{c}" for c in parser.component_list()[-1:]])
        self._sync_job(job, {"f_status": str(JobStatus.SUCCESS), "f_progress": 100, "f_tag": "job_end",
                             "f_current_tasks": last})
        call_every_party(self.api, job.f_job_id, parties, "clean")
        self._parsers.pop(job.f_job_id, None)
        job_logger(job.f_job_id).info("job finished: success")
        self.waker.wake()  # a slot is free: admit the next job now

    def _fail_job(self, job: Job, reason: str) -> None:
        job_logger(job.f_job_id).error("job failed: %s", reason)
        try:
            self.stopper.stop_job(job.f_job_id, JobStatus.FAILED, reason)
        except FlowError as exc:
            logger.warning("failing job %s: %s", job.f_job_id, exc)
        self._parsers.pop(job.f_job_id, None)
        call_every_party(self.api, job.f_job_id, all_parties(json.loads(job.f_roles)), "clean")

    def _periodic_chores(self) -> None:
        """This server's own chores: task processes that died unwatched, finished tasks still running."""
        detector.fail_dead_tasks(self.settings, self.party_jobs, self.launcher, self._collect_task_events)
        if isinstance(self.lease, LeaseKeeper):
            detector.kill_finished_children(self.settings, self.launcher)

    def _parser(self, job: Job):
        parser = self._parsers.get(job.f_job_id)
        if parser is None:
            parser = self._parsers[job.f_job_id] = job_parser(job)
        return parser

    def _sync_job(self, job: Job, fields: dict) -> None:
        """Send a status/field update for ``job`` to every party (the initiator included)."""
        sync_job_status(self.api, job.f_job_id, all_parties(json.loads(job.f_roles)), fields)


def component_states(parser, tasks: list[Task]) -> dict[str, tuple[str, str]]:
    """State of each component from its tasks: pending, running, success or failed (+ reason)."""
    by_component: dict[str, list[Task]] = {}
    for task in tasks:
        by_component.setdefault(task.f_component_name, []).append(task)
    states = {}
    for component in parser.component_list():
        expected = {(r, str(p)) for r, p in parser.parties(component)}
        rows = [t for t in by_component.get(component, []) if (t.f_role, t.f_party_id) in expected]
        bad = [t for t in rows if t.f_status in (str(TaskStatus.FAILED), str(TaskStatus.TIMEOUT))]
        if bad:
            t = bad[0]
            states[component] = ("failed", f"task {t.f_task_id} of role {t.f_role} party {t.f_party_id} "
                                           f"{t.f_status}: {t.f_status_reason or 'no reason given'}")
        elif not expected:  # no party runs it (need_run false): done once what it passes on is
            states[component] = ("skipped", "")
        elif len(rows) == len(expected) and all(t.f_status == str(TaskStatus.SUCCESS) for t in rows):
            states[component] = ("success", "")
        elif rows:
            states[component] = ("running", "")
        else:
            states[component] = ("pending", "")
    for component in [c for c, (state, _) in states.items() if state == "skipped"]:
        states[component] = ("success", "") if _upstream_done(parser, states, component, 0) else ("pending", "")
    return states


def _upstream_done(parser, states: dict, component: str, depth: int) -> bool:
    """Whether every upstream of a skipped component succeeded (skipped ones through their own upstream)."""
    for upstream in parser.upstream(component):
        state = states.get(upstream, ("success", ""))[0]
        if state == "skipped" and depth < 64:
            if not _upstream_done(parser, states, upstream, depth + 1):
                return False
        elif state != "success":
            return False
    return True


def job_progress(parser, tasks: list[Task], states: dict[str, tuple[str, str]]) -> int:
    """The job's percentage: a succeeded component counts 1, a running one the mean fraction its
    parties' tasks reported (a succeeded task 1), the others 0. Below 100 until the job succeeds.
    """
    reported = {(t.f_component_name, t.f_role, t.f_party_id): t for t in tasks}
    done = 0.0
    for component, (state, _) in states.items():
        if state == "success":
            done += 1
        elif state == "running":
            parties = parser.parties(component)
            fractions = [_task_fraction(reported.get((component, role, str(party_id)))) for role, party_id in parties]
            done += sum(fractions) / max(len(fractions), 1)
    return min(99, int(100 * done / max(len(states), 1)))


def _task_fraction(task: Task | None) -> float:
    if task is None:
        return 0.0
    if task.f_status == str(TaskStatus.SUCCESS):
        return 1.0
    return min(max(task.f_progress or 0, 0), 100) / 100


def _initiated_jobs(status: JobStatus):
    return Job.select().where(Job.f_is_initiator == 1, Job.f_status == str(status))


def _initiator_row(job_id: str) -> Job | None:
    return Job.get_or_none(Job.f_job_id == job_id, Job.f_is_initiator == 1)


def _job_tasks(job_id: str) -> list[Task]:
    return list(Task.select().where(Task.f_job_id == job_id))


def _task_module(config: Path) -> str:
    """The component module a task config names (for the metrics); "unknown" if it can not be read."""
    try:
        return str(json.loads(config.read_text(encoding="utf-8")).get("module_name") or "unknown")
    except (OSError, ValueError, AttributeError):
        return "unknown"


def _task(key: TaskKey) -> Task | None:
    return Task.get_or_none(Task.f_job_id == key.job_id, Task.f_task_id == key.task_id,
                            Task.f_role == key.role, Task.f_party_id == key.party_id)
