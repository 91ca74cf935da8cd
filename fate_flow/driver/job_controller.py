"""Creates, stops and cleans jobs: the one owner of job and task state on a party.

Routes of /v1/job and /v1/schedule call in here; so does the scheduler. Every status
change goes through ``status.transition``. Calls to other parties (including this
server itself in standalone) go through the federated client.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any, Callable

from fate_flow.components.data_access.param import UPLOAD_TMP_DIR
from fate_flow.db import DB, Job, Queue, StorageTableMeta, Task, TrackingMetric, now_ms
from fate_flow.driver import dsl_parser
from fate_flow.driver.federated_api import FederatedClient, all_parties
from fate_flow.driver.launcher import kill_process_group
from fate_flow.driver.status import (JOB_FINISHED, TASK_UNFINISHED, JobStatus, QueueState, TaskStatus,
                                     transition)
from fate_flow.errors import FlowError, JobNotFound, NotFound
from fate_flow.federation import release_task_session
from fate_flow.manager.model_center import record_model, record_restored_models
from fate_flow.settings import Settings
from fate_flow.utils import ids, validate
from fate_flow.utils.log import job_logger

logger = logging.getLogger("fate_flow.job_controller")

SYNCABLE_JOB_FIELDS = frozenset({
    "f_start_time", "f_end_time", "f_elapsed", "f_progress", "f_current_tasks", "f_current_steps",
    "f_tag", "f_description", "f_status_reason"})
TASK_REPORT_FIELDS = frozenset({
    "f_start_time", "f_end_time", "f_elapsed", "f_run_ip", "f_run_pid", "f_operator", "f_status_reason"})


def schedule_path(job_id: str, role: str, party_id: Any, action: str) -> str:
    return f"/v1/schedule/{job_id}/{role}/{party_id}/{action}"


def task_path(job_id: str, component: str, role: str, party_id: Any, action: str) -> str:
    return f"/v1/schedule/{job_id}/{component}/{ids.task_id(job_id, component)}/{role}/{party_id}/{action}"


class JobController:
    """Job life cycle on this party. ``wake`` nudges the scheduler after a change."""

    def __init__(self, settings: Settings, api: FederatedClient, wake: Callable[[], None]) -> None:
        self.settings = settings
        self.api = api
        self.wake = wake

    # ---- submission (initiator) -------------------------------------------------

    def submit(self, dsl: Any, runtime_conf: Any, job_id: str | None = None) -> tuple[str, dict]:
        """Validate, create the job on every party, queue it; return (job_id, answer data)."""
        conf = dsl_parser.validate_runtime_conf(runtime_conf, self.settings.work_mode)
        self._check_routes(conf["role"])
        job_id = job_id or ids.generate_job_id()
        params = conf["job_parameters"]
        train_conf: dict = {}
        mode = "predict" if params.get("job_type", "train") == "predict" else "train"
        if mode == "predict":
            dsl, train_conf = self._trained_pipeline(conf)
        else:
            params["model_id"] = dsl_parser.gen_model_id(conf["role"])
            params["model_version"] = job_id
        parser = dsl_parser.parse_job(dsl, conf, train_conf or None, mode=mode,
                                      max_components=self.settings.scheduler.max_job_components)
        parser.validate_all_parameters()
        self._write_job_files(job_id, dsl, conf, train_conf)
        self._create_on_parties(job_id, dsl, conf, train_conf)
        self._enqueue(job_id, conf["initiator"])
        job_logger(job_id).info("submitted by initiator %s", conf["initiator"])
        return job_id, self._submit_answer(job_id, conf)

    def _check_routes(self, roles: dict) -> None:
        """Refuse a job naming a party this server can't reach (cluster mode: no route)."""
        for role, party_id in all_parties(roles):
            try:
                self.api.address_of(party_id)
            except FlowError:
                raise FlowError(f"role {role} party {party_id} has no route: add it to routes in this "
                                f"server's service_conf.yaml") from None

    def _trained_pipeline(self, conf: dict) -> tuple[dict, dict]:
        """The initiator's stored predict DSL and train runtime conf of ``model_id``/``model_version``."""
        params, initiator = conf["job_parameters"], conf["initiator"]
        party_model = ids.party_model_id(initiator["role"], initiator["party_id"], params["model_id"])
        path = self.settings.model_dir / party_model / str(params["model_version"]) / "pipeline.json"
        if not path.is_file():
            raise FlowError(f"model {params['model_id']} version {params['model_version']} has no pipeline for "
                            f"role {initiator['role']} party {initiator['party_id']}: was it trained (or imported) here?")
        pipeline = json.loads(path.read_text(encoding="utf-8"))
        return pipeline["inference_dsl"], pipeline["train_runtime_conf"]

    def _create_on_parties(self, job_id: str, dsl: dict, conf: dict, train_conf: dict) -> None:
        initiator = conf["initiator"]
        row = {"f_job_id": job_id, "f_roles": json.dumps(conf["role"]), "f_work_mode": conf["job_parameters"]["work_mode"],
               "f_initiator_party_id": str(initiator["party_id"]), "f_dsl": json.dumps(dsl),
               "f_runtime_conf": json.dumps(conf), "f_train_runtime_conf": json.dumps(train_conf),
               "f_status": str(JobStatus.WAITING), "f_progress": 0, "f_create_time": now_ms()}
        created = []
        for role, party_id in all_parties(conf["role"]):
            body = dict(row, f_role=role, f_party_id=party_id,
                        f_is_initiator=int(role == initiator["role"] and party_id == str(initiator["party_id"])))
            answer = self.call_party(role, party_id, schedule_path(job_id, role, party_id, "create"), body)
            if answer.get("retcode") != 0:
                self._sync_status(job_id, created, {"f_status": str(JobStatus.CANCELED),
                                                    "f_status_reason": "creation failed on another party"})
                raise FlowError(f"an error occurred while creating the job: role {role} party_id {party_id}\n"
                                f"{answer.get('retmsg', '')}")
            created.append((role, party_id))

    def _enqueue(self, job_id: str, initiator: dict) -> None:
        event = {"job_id": job_id, "initiator_role": initiator["role"], "initiator_party_id": initiator["party_id"]}
        Queue.create(f_job_id=job_id, f_event=json.dumps(event), f_is_waiting=QueueState.WAITING)
        self.wake()

    def _submit_answer(self, job_id: str, conf: dict) -> dict:
        initiator = conf["initiator"]
        job_dir = self.settings.job_dir(job_id)
        return {
            "job_dsl_path": str(job_dir / "job_dsl.json"),
            "job_runtime_conf_path": str(job_dir / "job_runtime_conf.json"),
            "model_info": {"model_id": conf["job_parameters"]["model_id"],
                           "model_version": conf["job_parameters"]["model_version"]},
            "board_url": (f"http://{self.settings.fateboard_host}:{self.settings.fateboard_port}/index.html#/dashboard"
                          f"?job_id={job_id}&role={initiator['role']}&party_id={initiator['party_id']}"),
            "logs_directory": str(self.settings.job_log_dir(job_id)),
        }

    def _write_job_files(self, job_id: str, dsl: dict, conf: dict, train_conf: dict) -> None:
        job_dir = self.settings.job_dir(job_id)
        job_dir.mkdir(parents=True, exist_ok=True)
        for name, content in (("job_dsl.json", dsl), ("job_runtime_conf.json", conf),
                              ("train_runtime_conf.json", train_conf), ("pipeline_dsl.json", {})):
            (job_dir / name).write_text(json.dumps(content, indent=4), encoding="utf-8")

    # ---- party side of /v1/schedule -----------------------------------------------

    def create_party_job(self, job_id: str, role: str, party_id: str, row: dict) -> None:
        """Insert this party's job row (schedule/create); refuses a job that already exists here."""
        conf = validate.parse_json_text("f_runtime_conf", row.get("f_runtime_conf"))
        dsl = validate.parse_json_text("f_dsl", row.get("f_dsl"))
        train_conf = validate.parse_json_text("f_train_runtime_conf", row.get("f_train_runtime_conf") or "{}")
        mode = "predict" if train_conf else "train"
        # each party checks what it is given
        parser = dsl_parser.parse_job(dsl, conf, train_conf or None, mode=mode,
                                      max_components=self.settings.scheduler.max_job_components)
        self._check_party_inputs(parser, conf, role, party_id)
        if Job.select().where(Job.f_job_id == job_id, Job.f_role == role, Job.f_party_id == party_id).exists():
            raise FlowError(f"job {job_id} already exists for role {role} party {party_id}")
        if not self.settings.job_dir(job_id).exists():
            self._write_job_files(job_id, dsl, conf, train_conf)
        if conf["job_parameters"].get("job_type", "train") != "predict":
            self._create_model_dir(role, party_id, conf)
        fields = {k: v for k, v in row.items() if k in Job._meta.fields}
        fields.update(f_job_id=job_id, f_role=role, f_party_id=str(party_id), f_run_ip=self.settings.address,
                      f_status=str(JobStatus.WAITING), f_update_time=now_ms())
        fields.setdefault("f_create_time", now_ms())
        with DB.atomic():
            Job.insert(**fields).execute()
            self._save_job_view(job_id, role, party_id, conf)

    def _check_party_inputs(self, parser, conf: dict, role: str, party_id: str) -> None:
        """Cluster mode: this server answers for the party, which is in the job, and its input tables exist.

        (Standalone keeps FATE's behaviour: a missing table fails the task that reads it.)
        """
        if self.settings.work_mode == 0 or str(party_id) == "0":
            return
        if int(party_id) not in self.settings.party_ids:
            raise FlowError(f"party {party_id} is not served here (this server answers for "
                            f"{list(self.settings.party_ids)})")
        if str(party_id) not in [str(p) for p in conf["role"].get(role, [])]:
            raise FlowError(f"role {role} party {party_id} is not in the job's roles {conf['role']}")
        for ref in parser.job_args(role, int(party_id)).get("data", {}).values():
            if not isinstance(ref, dict) or "name" not in ref:
                continue
            if not StorageTableMeta.select().where(StorageTableMeta.f_namespace == ref.get("namespace"),
                                                   StorageTableMeta.f_name == ref["name"]).exists():
                raise FlowError(f"role {role} party {party_id}: input table {ref.get('namespace')}."
                                f"{ref['name']} does not exist here")

    def party_tasks(self, job_id: str, role: str, party_id: str) -> list[dict]:
        """This party's task rows of a job, for the initiator's status poll (schedule/tasks)."""
        self._party_job(job_id, role, party_id)
        fields = ("f_component_name", "f_task_id", "f_status", "f_status_reason", "f_start_time", "f_end_time",
                  "f_elapsed", "f_run_ip", "f_run_pid")
        return [{k: getattr(t, k) for k in fields} for t in Task.select().where(
            Task.f_job_id == job_id, Task.f_role == role, Task.f_party_id == str(party_id))]

    def _create_model_dir(self, role: str, party_id: str, conf: dict) -> None:
        params = conf["job_parameters"]
        model_dir = (self.settings.model_dir / ids.party_model_id(role, party_id, params["model_id"])
                     / params["model_version"])
        for sub in ("define/proto", "variables/index", "variables/data"):
            (model_dir / sub).mkdir(parents=True, exist_ok=True)

    def _save_job_view(self, job_id: str, role: str, party_id: str, conf: dict) -> None:
        is_initiator = role == conf["initiator"]["role"] and str(conf["initiator"]["party_id"]) == str(party_id)
        view = job_view(conf, role, party_id, is_initiator)
        for key, value in view.items():
            TrackingMetric.create(f_job_id=job_id, f_component_name="dag", f_task_id=f"{job_id}_pipeline",
                                  f_role=role, f_party_id=str(party_id), f_metric_namespace="job",
                                  f_metric_name="job_view", f_key=key, f_value=json.dumps(value), f_type=2)

    def update_party_job(self, job_id: str, role: str, party_id: str, fields: dict) -> bool:
        """Apply a status sync from the initiator (schedule/status); never moves a finished job back."""
        where = {"f_job_id": job_id, "f_role": role, "f_party_id": party_id}
        extra = {k: v for k, v in fields.items() if k in SYNCABLE_JOB_FIELDS}
        if not Job.select().where(Job.f_job_id == job_id, Job.f_role == role, Job.f_party_id == party_id).exists():
            raise JobNotFound()
        if fields.get("f_status"):
            return transition(Job, where, JobStatus(fields["f_status"]), **extra)
        if extra:
            extra["f_update_time"] = now_ms()
            Job.update(**extra).where(Job.f_job_id == job_id, Job.f_role == role, Job.f_party_id == party_id).execute()
        return True

    def request_task_run(self, job_id: str, component: str, role: str, party_id: str, body: dict) -> None:
        """Prepare a task of this party (schedule/run): write its config, queue it for launch."""
        job = self._party_job(job_id, role, party_id)
        if job.f_status != str(JobStatus.RUNNING):
            raise FlowError(f"job {job_id} is {job.f_status} on role {role} party {party_id}, can not run tasks")
        parser = self.job_parser(job)
        task_id = ids.task_id(job_id, component)
        config = self._task_config(job, parser, component, role, party_id, body)
        config_path = self.task_dir(job_id, role, party_id, component) / "task_config.json"
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(json.dumps(config, indent=4), encoding="utf-8")
        self.ensure_task_row(job_id, component, role, party_id)
        Task.update(f_run_ip=self.settings.address, f_update_time=now_ms()).where(
            Task.f_job_id == job_id, Task.f_task_id == task_id, Task.f_role == role,
            Task.f_party_id == str(party_id), Task.f_status == str(TaskStatus.WAITING)).execute()
        self.wake()

    def _task_config(self, job: Job, parser, component: str, role: str, party_id: str, body: dict) -> dict:
        conf = json.loads(job.f_runtime_conf)
        initiator = conf["initiator"]
        return {
            "job_id": job.f_job_id, "component_name": component, "task_id": ids.task_id(job.f_job_id, component),
            "role": role, "party_id": int(party_id), "module_name": parser.module(component),
            "roles": conf["role"], "job_initiator": initiator, "job_parameters": conf["job_parameters"],
            "component_parameters": parser.component_parameters(component, role, int(party_id)),
            "job_args": parser.job_args(role, int(party_id)),
            "input": parser.component_input(component), "output": parser.component_output(component),
            # upstream components with no task for this party give None inputs (FATE's arbiter case)
            "runs_here": [c for c in parser.component_list() if (role, int(party_id)) in parser.parties(c)],
            "task_parameters": body.get("task_parameters") or {},
            "own_server": self.settings.address,
            "initiator_server": self.api.address_of(initiator["party_id"]),
            "federation": {"backend": self.settings.federation.backend, "timeout": self.settings.federation.timeout,
                           "root": str(self.settings.federation_dir), "job_id": job.f_job_id,
                           "server": self.settings.address, "chunk_size": self.settings.federation.chunk_size,
                           "rabbitmq_url": self.settings.federation.rabbitmq_url,
                           "party_servers": {str(p): self.api.address_of(p) for _, p in all_parties(conf["role"])}},
            "work_dir": str(self.settings.work_dir),
            "storage": {"engine": self.settings.data_access.storage_engine, "root": str(self.settings.data_dir)},
            "model": {"root": str(self.settings.model_dir), "model_version": conf["job_parameters"].get("model_version"),
                      "party_model_id": ids.party_model_id(role, party_id, conf["job_parameters"].get("model_id"))},
            "log_dir": str(self.task_log_dir(job.f_job_id, role, party_id, component)),
        }

    def ensure_task_row(self, job_id: str, component: str, role: str, party_id: Any) -> None:
        """Insert a waiting task row if there is none (initiator copy or party row)."""
        now = now_ms()
        Task.insert(f_job_id=job_id, f_component_name=component, f_task_id=ids.task_id(job_id, component),
                    f_role=role, f_party_id=str(party_id), f_status=str(TaskStatus.WAITING),
                    f_create_time=now, f_update_time=now).on_conflict_ignore().execute()

    def report_task_status(self, job_id: str, component: str, role: str, party_id: str, fields: dict) -> bool:
        """Record a task status report (from its executor, its launcher or a kill)."""
        where = {"f_job_id": job_id, "f_task_id": ids.task_id(job_id, component), "f_role": role,
                 "f_party_id": str(party_id)}
        if not Job.select().where(Job.f_job_id == job_id).exists():  # no task rows for jobs never created
            raise JobNotFound()
        self.ensure_task_row(job_id, component, role, party_id)
        extra = {k: v for k, v in fields.items() if k in TASK_REPORT_FIELDS}
        changed = True
        if fields.get("f_status"):
            changed = transition(Task, where, TaskStatus(fields["f_status"]), **extra)
        elif extra:
            Task.update(f_update_time=now_ms(), **extra).where(
                *[getattr(Task, k) == v for k, v in where.items()]).execute()
        self.wake()
        return changed

    def set_task_status(self, task: Task, status: TaskStatus, reason: str = "", **fields: Any) -> bool:
        """Change a local task's status and tell the initiator's server (if it is another one)."""
        report = {"f_status": str(status), "f_status_reason": reason, **fields}
        changed = self.report_task_status(task.f_job_id, task.f_component_name, task.f_role, task.f_party_id, report)
        if changed:
            self._forward_to_initiator(task, report)
        return changed

    def _forward_to_initiator(self, task: Task, report: dict) -> None:
        job = Job.get_or_none(Job.f_job_id == task.f_job_id, Job.f_role == task.f_role, Job.f_party_id == task.f_party_id)
        if job is None:
            return
        initiator_party = json.loads(job.f_runtime_conf)["initiator"]["party_id"]
        if self.api.address_of(initiator_party) == self.settings.address:
            return
        path = task_path(task.f_job_id, task.f_component_name, task.f_role, task.f_party_id, "status")
        self.call_party("initiator", initiator_party, path, report)

    def kill_party_tasks(self, job_id: str, role: str, party_id: str, component: str = "",
                         is_timeout: bool = False) -> int:
        """Kill the unfinished tasks of this party's job (schedule/kill); return how many."""
        query = Task.select().where(Task.f_job_id == job_id, Task.f_role == role, Task.f_party_id == str(party_id),
                                    Task.f_status.in_([str(s) for s in TASK_UNFINISHED]))
        if component:
            query = query.where(Task.f_component_name == component)
        status = TaskStatus.TIMEOUT if is_timeout else TaskStatus.FAILED
        count = 0
        for task in query:
            if self.runs_here(task):
                kill_process_group(task.f_run_pid, task.f_run_pid_create_time, self.settings.scheduler.kill_grace)
            self.set_task_status(task, status, "killed: the job was stopped")
            count += 1
        return count

    def clean_party_job(self, job_id: str, role: str, party_id: str) -> None:
        """Remove this party's temporary files of a finished job: federation sessions, received uploads."""
        for task in Task.select(Task.f_task_id, Task.f_component_name).where(
                Task.f_job_id == job_id, Task.f_role == role, Task.f_party_id == str(party_id)):
            release_task_session(self.task_dir(job_id, role, party_id, task.f_component_name) / "task_config.json")
        shutil.rmtree(self.settings.job_dir(job_id) / UPLOAD_TMP_DIR, ignore_errors=True)

    def save_pipeline(self, job_id: str, role: str, party_id: str) -> None:
        """Store the job's pipeline (train DSL, predict DSL, confs) in this party's model dir."""
        job = self._party_job(job_id, role, party_id)
        conf = json.loads(job.f_runtime_conf)
        params = conf["job_parameters"]
        if params.get("job_type", "train") == "predict":
            return
        parser = self.job_parser(job)
        if role == "local":
            record_restored_models(self.settings, conf, {c: parser.module(c) for c in parser.component_list()})
        pipeline = {"inference_dsl": parser.predict_dsl(role), "train_dsl": json.loads(job.f_dsl),
                    "train_runtime_conf": conf, "fate_version": "1.4.5",
                    "model_id": params["model_id"], "model_version": params["model_version"]}
        model_dir = self.settings.model_dir / ids.party_model_id(role, party_id, params["model_id"]) / params["model_version"]
        model_dir.mkdir(parents=True, exist_ok=True)
        (model_dir / "pipeline.json").write_text(json.dumps(pipeline, indent=4), encoding="utf-8")
        record_model(self.settings, role, party_id, params["model_id"], params["model_version"])

    # ---- stop / cancel (initiator) ---------------------------------------------------

    def stop_job(self, job_id: str, end_status: JobStatus = JobStatus.CANCELED, reason: str = "") -> str:
        """Stop a job on every party from its initiator; return FATE's answer message."""
        job = self.initiator_job(job_id)
        if job.f_status in {str(s) for s in JOB_FINISHED}:
            raise FlowError(f"job {job_id} is already {job.f_status}, nothing to stop")
        log = job_logger(job_id)
        roles = json.loads(job.f_roles)
        reason = reason or f"stopped: {end_status}"
        dequeued = Queue.update(f_is_waiting=QueueState.CANCELED).where(
            Queue.f_job_id == job_id, Queue.f_is_waiting == QueueState.WAITING).execute()
        self._sync_status(job_id, all_parties(roles), {"f_status": str(end_status), "f_status_reason": reason})
        if dequeued:
            log.info("removed from the queue: %s", reason)
            self.api.call_all(all_parties(roles), lambda r, p: schedule_path(job_id, r, p, "clean"), {})
            return "cancel job success"
        self._kill_everywhere(job_id, roles, is_timeout=end_status == JobStatus.TIMEOUT)
        log.info("stopped (%s): %s", end_status, reason)
        self.wake()
        return "kill job success"

    def forward_stop(self, job_id: str, operate: str | None = None) -> str:
        """Ask the job's initiator (this server or another) to stop it (job/stop)."""
        job = self.initiator_job(job_id)
        initiator = json.loads(job.f_runtime_conf)["initiator"]
        body = {"job_id": job_id, "operate": operate or ""}
        return _answer_or_raise(self.call_party(initiator["role"], initiator["party_id"], "/v1/job/stop/do", body))

    def _kill_everywhere(self, job_id: str, roles: dict, component: str = "", is_timeout: bool = False) -> None:
        body = {"component_name": component, "timeout": is_timeout}
        self.api.call_all(all_parties(roles), lambda r, p: schedule_path(job_id, r, p, "kill"), body)

    def clean_queue(self) -> list[dict]:
        """Cancel every job waiting in this server's queue."""
        waiting = list(Queue.select().where(Queue.f_is_waiting == QueueState.WAITING).order_by(Queue.id))
        if not waiting:
            raise FlowError("There are no jobs in the queue")
        canceled = []
        for row in waiting:
            try:
                self.stop_job(row.f_job_id, JobStatus.CANCELED, "canceled by clean_queue")
                canceled.append({"job_id": row.f_job_id})
            except FlowError as exc:
                logger.warning("clean_queue: %s", exc)
        return canceled

    def clean_job(self, filters: dict) -> None:
        """Delete the tracked metrics of the matching tasks (job/clean)."""
        tasks = list(Task.select().where(*[getattr(Task, f"f_{k}") == str(v) for k, v in filters.items()]))
        if not tasks:
            raise FlowError("no found task")
        for task in tasks:
            TrackingMetric.delete().where(
                TrackingMetric.f_job_id == task.f_job_id, TrackingMetric.f_role == task.f_role,
                TrackingMetric.f_party_id == task.f_party_id,
                TrackingMetric.f_component_name == task.f_component_name).execute()
            shutil.rmtree(self.settings.federation_dir / task.f_task_id, ignore_errors=True)

    def component_parameters(self, job_id: str, component: str, role: str, party_id: str) -> dict:
        """``{"module": M, "<XxxParam>": {...}}`` of one component for one party (tracking route)."""
        job = Job.get_or_none(Job.f_job_id == job_id, Job.f_role == role, Job.f_party_id == str(party_id))
        if job is None:
            job = Job.select().where(Job.f_job_id == job_id).first()
        if job is None:
            raise NotFound("can not found this job")
        parser = self.job_parser(job)
        try:
            params = parser.component_parameters(component, role, int(party_id))
        except (KeyError, ValueError, FlowError):
            raise FlowError("can not found this component parameters") from None
        return {"module": params.get("module"), **{k: v for k, v in params.items() if k.endswith("Param")}}

    def component_model(self, job_id: str, component: str, role: str, party_id: str) -> dict | None:
        """The model a component saved (``{"param", "meta", "module"}``), or None."""
        from fate_flow.utils.model_layout import component_module, load_component_model, version_dir

        job = self._party_job(job_id, role, party_id)
        params = json.loads(job.f_runtime_conf)["job_parameters"]
        root = version_dir(self.settings.model_dir, ids.party_model_id(role, party_id, params["model_id"]),
                           params["model_version"])
        messages = load_component_model(root, component)
        if not messages:
            return None
        pick = lambda suffix: next((v for k, v in messages.items() if k.endswith(suffix)), {})  # noqa: E731
        return {"param": pick("Param"), "meta": pick("Meta"), "module": component_module(root, component)}

    def update_notes(self, job_id: str, role: str, party_id: str, notes: str) -> None:
        self.update_party_job(job_id, role, str(party_id), {"f_description": notes})

    # ---- helpers shared with the scheduler ---------------------------------------------

    def sync_job(self, job: Job, fields: dict) -> None:
        """Send a status/field update for ``job`` to every party (the initiator included)."""
        self._sync_status(job.f_job_id, all_parties(json.loads(job.f_roles)), fields)

    def _sync_status(self, job_id: str, parties: list[tuple[str, str]], fields: dict) -> None:
        answers = self.api.call_all(parties, lambda r, p: schedule_path(job_id, r, p, "status"), fields)
        for (role, party_id), answer in answers.items():
            if answer.get("retcode") != 0:
                job_logger(job_id).warning("status sync to %s %s failed: %s", role, party_id, answer.get("retmsg"))

    def call_party(self, role: str, party_id: Any, path: str, body: dict) -> dict:
        """Call one party's server; an unreachable party becomes a retcode 100 answer."""
        try:
            return self.api.call(role, party_id, path, body)
        except FlowError as exc:
            return {"retcode": exc.retcode, "retmsg": exc.retmsg}

    def initiator_job(self, job_id: str) -> Job:
        job = (Job.select().where(Job.f_job_id == job_id).order_by(Job.f_is_initiator.desc()).first())
        if job is None:
            raise FlowError(f"can not found job: {job_id}")
        return job

    def _party_job(self, job_id: str, role: str, party_id: Any) -> Job:
        job = Job.get_or_none(Job.f_job_id == job_id, Job.f_role == role, Job.f_party_id == str(party_id))
        if job is None:
            raise NotFound(f"job {job_id} not found for role {role} party {party_id}")
        return job

    @staticmethod
    def job_parser(job: Job):
        train_conf = json.loads(job.f_train_runtime_conf or "{}")
        mode = "predict" if train_conf else "train"
        return dsl_parser.parse_job(json.loads(job.f_dsl), json.loads(job.f_runtime_conf), train_conf or None, mode=mode)

    def runs_here(self, task: Task) -> bool:
        """True if the task's process is (or was) on this machine: always so in standalone."""
        return self.settings.work_mode == 0 or task.f_run_ip == self.settings.address

    def task_dir(self, job_id: str, role: str, party_id: Any, component: str) -> Path:
        return self.settings.job_dir(job_id) / role / str(party_id) / component

    def task_log_dir(self, job_id: str, role: str, party_id: Any, component: str) -> Path:
        return self.settings.job_log_dir(job_id) / role / str(party_id) / component


def job_view(conf: dict, role: str, party_id: Any, is_initiator: bool) -> dict:
    """FATE's job view: partners, datasets and roles visible to this party."""
    roles = conf["role"]
    partner = {r: [p for p in ids_ if not (r == role and str(p) == str(party_id))] for r, ids_ in roles.items()}
    dataset, visible = {}, {}
    for r, ids_ in roles.items():
        for i, p in enumerate(ids_):
            if not is_initiator and not (r == role and str(p) == str(party_id)):
                continue
            visible.setdefault(r, []).append(p)
            data = (((conf.get("role_parameters") or {}).get(r) or {}).get("args") or {}).get("data") or {}
            for key, refs in data.items():
                if isinstance(refs, list) and i < len(refs) and isinstance(refs[i], dict):
                    ref = refs[i]
                    dataset.setdefault(r, {}).setdefault(str(p), {})[key] = f"{ref.get('namespace')}.{ref.get('name')}"
    return {"partner": {r: v for r, v in partner.items() if v}, "dataset": dataset, "roles": visible}


def _answer_or_raise(answer: dict) -> str:
    if answer.get("retcode") != 0:
        error = FlowError(answer.get("retmsg", "failed"))
        error.retcode = answer.get("retcode", error.retcode)
        raise error
    return answer.get("retmsg", "success")
