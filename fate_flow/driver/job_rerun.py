"""Rerun an ended job from where it failed, and update its parameters before a rerun (FATE 1.5+/1.7+).

The initiator decides which components run again (those that did not succeed, or the one the
user names, and everything below them), asks every party to forget those tasks and to put the
job back to waiting, then queues it: the scheduler dispatches the components whose upstream
succeeded, so finished components are not run again.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

from fate_flow.db import DB, Job, Queue, Task, now_ms
from fate_flow.driver import dsl_v2
from fate_flow.driver.job_files import write_job_files
from fate_flow.driver.job_queries import job_parser, party_job, require_job
from fate_flow.driver.launcher import process_matches
from fate_flow.driver.party_calls import call_every_party
from fate_flow.driver.scheduler import component_states
from fate_flow.driver.status import JobStatus, QueueState, restart_job
from fate_flow.errors import ArgumentError, FlowError
from fate_flow.party.client import FederatedClient, all_parties
from fate_flow.settings import Settings
from fate_flow.utils.log import job_logger

RERUNNABLE = (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.TIMEOUT)


class JobRerunner:
    """The initiator's rerun and parameter update, and each party's side of them."""

    def __init__(self, settings: Settings, api: FederatedClient, wake: Callable[[], None]) -> None:
        self.settings = settings
        self.api = api
        self.wake = wake

    def rerun(self, job_id: Any, component_name: str = "", force: bool = False) -> list[str]:
        """Queue an ended job again from its failed component (or ``component_name``); the components to run.

        Raises:
            FlowError: the job is still waiting or running, or it succeeded and ``force`` is not set.
            ArgumentError: ``component_name`` is not a component of the job.
        """
        job = _initiator(job_id)
        status = JobStatus(job.f_status)
        if status not in RERUNNABLE and not (force and status == JobStatus.SUCCESS):
            what = "has succeeded (set force to run it again)" if status == JobStatus.SUCCESS else f"is {status}"
            raise FlowError(f"job {job.f_job_id} {what}: only a failed, canceled or timed-out job can be rerun")
        parser = job_parser(job)
        components = self._components_to_run(job, parser, component_name)
        if not components:
            raise FlowError(f"job {job.f_job_id}: every component succeeded, nothing to rerun "
                            f"(name a component_name to run it again)")
        self._ask_every_party(job, "rerun", {"components": components}, "rerun")
        event = {"job_id": job.f_job_id, "initiator_role": job.f_role, "initiator_party_id": job.f_party_id}
        with DB.atomic():  # to the end of the queue, as a new submit would be
            Queue.delete().where(Queue.f_job_id == job.f_job_id).execute()
            Queue.create(f_job_id=job.f_job_id, f_event=json.dumps(event), f_is_waiting=QueueState.WAITING)
        job_logger(job.f_job_id).info("rerun of %s requested", ", ".join(components))
        self.wake()
        return components

    @staticmethod
    def _components_to_run(job: Job, parser, component_name: str) -> list[str]:
        order = parser.component_list()
        if component_name:
            if component_name not in order:
                raise ArgumentError("component_name", f"{component_name} is not a component of job {job.f_job_id}")
            start = {component_name}
        else:
            tasks = list(Task.select().where(Task.f_job_id == job.f_job_id))
            start = {c for c, (state, _) in component_states(parser, tasks).items() if state != "success"}
        chosen = set(start)
        for name in order:  # topological: an upstream is decided before its readers
            if any(up in chosen for up in parser.upstream(name)):
                chosen.add(name)
        return [name for name in order if name in chosen]

    def prepare_party(self, job_id: str, role: str, party_id: str, components: list[str]) -> None:
        """This party's side: forget the tasks of ``components`` and put the job back to waiting."""
        party_job(job_id, role, party_id)
        if not isinstance(components, list) or not all(isinstance(c, str) for c in components):
            raise ArgumentError("components", "should be a list of component names")
        self._wait_for_exits(job_id, role, party_id)
        with DB.atomic():
            Task.delete().where(Task.f_job_id == job_id, Task.f_role == role, Task.f_party_id == str(party_id),
                                Task.f_component_name.in_(components)).execute()
            restart_job({"f_job_id": job_id, "f_role": role, "f_party_id": str(party_id)},
                        [str(s) for s in (*RERUNNABLE, JobStatus.SUCCESS)])

    def _wait_for_exits(self, job_id: str, role: str, party_id: str) -> None:
        """Let the killed tasks of the last run exit first: a late report of theirs must not reach the new run."""
        deadline = time.monotonic() + self.settings.scheduler.kill_grace + 2
        for task in Task.select().where(Task.f_job_id == job_id, Task.f_role == role, Task.f_party_id == str(party_id),
                                        Task.f_run_pid.is_null(False)):
            while process_matches(task.f_run_pid, task.f_run_pid_create_time):
                if time.monotonic() > deadline:
                    raise FlowError(f"task {task.f_task_id} of role {role} party {party_id} is still exiting "
                                    f"(pid {task.f_run_pid}): rerun in a moment")
                time.sleep(0.1)

    def update_parameters(self, job_id: Any, job_parameters: Any = None, component_parameters: Any = None) -> dict:
        """Merge new job/component parameters into an ended job's conf on every party; the new conf.

        The merged conf is checked as a submit would check it before anything is written.
        """
        job = _initiator(job_id)
        if JobStatus(job.f_status) not in RERUNNABLE:
            raise FlowError(f"job {job.f_job_id} is {job.f_status}: parameters can only be updated on a failed, "
                            f"canceled or timed-out job, before a rerun")
        conf = json.loads(job.f_runtime_conf)
        conf = _merged_conf(conf, job_parameters, component_parameters)
        parser = job_parser(job, runtime_conf=conf)
        parser.validate_all_parameters()
        self._ask_every_party(job, "conf/update", {"runtime_conf": conf}, "parameter update")
        return conf

    def _ask_every_party(self, job, path: str, body: dict, what: str) -> None:
        """Send ``body`` to ``path`` of every party of ``job``; the first refusal is raised, naming its party."""
        answers = call_every_party(self.api, job.f_job_id, all_parties(json.loads(job.f_roles)), path, body)
        refused = [(party, a) for party, a in answers.items() if a.get("retcode") != 0]
        if refused:
            (role, party_id), answer = refused[0]
            raise FlowError(f"{what} refused by role {role} party {party_id}: {answer.get('retmsg')}")

    def update_party_conf(self, job_id: str, role: str, party_id: str, conf: Any) -> None:
        """This party's side of a parameter update: store the new runtime conf of its ended job."""
        job = party_job(job_id, role, party_id)
        _check_updated_conf(job, conf)
        Job.update(f_runtime_conf=json.dumps(conf), f_update_time=now_ms()).where(
            Job.f_job_id == job_id, Job.f_role == role, Job.f_party_id == str(party_id)).execute()
        write_job_files(self.settings, job_id, json.loads(job.f_dsl), conf,
                        json.loads(job.f_train_runtime_conf or "{}"))


# what a parameter update may not change: who runs the job, and the model it trains
_FIXED_SECTIONS = ("initiator", "role")
_FIXED_JOB_PARAMETERS = ("model_id", "model_version")


def _check_updated_conf(job: Job, conf: Any) -> None:
    """A runtime conf sent to replace ``job``'s: one its DSL parses, for the same parties and model.

    Raises ArgumentError naming the field, or the parser's DSLError, before anything is written
    (a conf stored without job_parameters would fail every later step of the job).
    """
    if not isinstance(conf, dict):
        raise ArgumentError("runtime_conf", "should be a dict")
    stored = json.loads(job.f_runtime_conf)
    for section in _FIXED_SECTIONS:
        if conf.get(section) != stored.get(section):
            raise ArgumentError(f"runtime_conf.{section}", "can not change in a parameter update")
    params, stored_params = conf.get("job_parameters"), stored.get("job_parameters") or {}
    if not isinstance(params, dict):
        raise ArgumentError("runtime_conf.job_parameters", "should be a dict")
    for name in _FIXED_JOB_PARAMETERS:
        if _flat_job_parameter(params, name) != _flat_job_parameter(stored_params, name):
            raise ArgumentError(f"runtime_conf.job_parameters.{name}", "can not change in a parameter update")
    job_parser(job, runtime_conf=conf)


def _flat_job_parameter(params: dict, name: str) -> Any:
    """A job parameter of a v1 conf, or of a v2 conf's ``common`` section."""
    common = params.get("common")
    return params.get(name, common.get(name) if isinstance(common, dict) else None)


def _initiator(job_id: Any) -> Job:
    job = require_job(job_id)
    if not job.f_is_initiator:
        raise FlowError(f"job {job.f_job_id} was not initiated by this server: rerun it at its initiator")
    return job


def _merged_conf(conf: dict, job_parameters: Any, component_parameters: Any) -> dict:
    for name, value in (("job_parameters", job_parameters), ("component_parameters", component_parameters)):
        if value not in (None, {}) and not isinstance(value, dict):
            raise ArgumentError(name, "should be a dict")
    if dsl_v2.dsl_version(conf) == 2:
        if job_parameters:
            conf["job_parameters"] = dsl_v2.deep_merge(conf["job_parameters"], job_parameters)
            conf["job_parameters"].update(conf["job_parameters"].get("common") or {})
        if component_parameters:
            conf["component_parameters"] = dsl_v2.deep_merge(conf.get("component_parameters") or {},
                                                             component_parameters)
        return conf
    if job_parameters:
        conf["job_parameters"] = dsl_v2.deep_merge(conf["job_parameters"], job_parameters)
    if component_parameters:  # a v1 conf: algorithm_parameters / role_parameters sections
        conf = dsl_v2.deep_merge(conf, component_parameters)
    return conf
