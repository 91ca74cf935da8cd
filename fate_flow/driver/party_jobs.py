"""The party side of a job: what this server does when the initiator calls /v1/schedule.

Create the party's job row, apply status syncs, prepare and record its tasks, kill them,
save the pipeline and clean up. Every status change goes through ``status.transition``;
a local task's change is forwarded to the initiator when that is another server.
"""
from __future__ import annotations

import json
import shutil
from typing import Any, Callable

from fate_flow.components.data_access.param import UPLOAD_TMP_DIR
from fate_flow.computing.engine import conf_for_job
from fate_flow.db import DB, Job, StorageTableMeta, Task, TrackingMetric, now_ms
from fate_flow.driver import dsl_parser, dsl_v2
from fate_flow.driver.job_files import create_model_dir, write_job_files
from fate_flow.driver.job_queries import job_parser, party_job
from fate_flow.driver.launcher import kill_process_group
from fate_flow.driver.party_calls import task_path
from fate_flow.driver.status import TASK_FINISHED, TASK_UNFINISHED, JobStatus, TaskStatus, transition
from fate_flow.errors import ArgumentError, FlowError, JobNotFound
from fate_flow.federation import release_task_session
from fate_flow.party.client import FederatedClient, all_parties
from fate_flow.settings import Settings
from fate_flow.stores.model_catalogue import ModelCatalogue
from fate_flow.utils import ids, metrics, validate

SYNCABLE_JOB_FIELDS = frozenset({
    "f_start_time", "f_end_time", "f_elapsed", "f_progress", "f_current_tasks", "f_current_steps",
    "f_tag", "f_description", "f_status_reason"})
TASK_REPORT_FIELDS = frozenset({
    "f_start_time", "f_end_time", "f_elapsed", "f_run_ip", "f_run_pid", "f_operator", "f_status_reason",
    "f_engine", "f_partitions", "f_peak_memory"})


class PartyJobs:
    """This party's jobs and tasks; ``wake`` nudges the scheduler after a change."""

    def __init__(self, settings: Settings, api: FederatedClient, wake: Callable[[], None],
                 models: ModelCatalogue) -> None:
        self.settings = settings
        self.api = api
        self.wake = wake
        self.models = models

    # ---- the job row ------------------------------------------------------------------

    def create(self, job_id: str, role: str, party_id: str, row: dict) -> None:
        """Insert this party's job row (schedule/create); refuses a job that already exists here."""
        conf = validate.parse_json_text("f_runtime_conf", row.get("f_runtime_conf"))
        dsl = validate.parse_json_text("f_dsl", row.get("f_dsl"))
        train_conf = validate.parse_json_text("f_train_runtime_conf", row.get("f_train_runtime_conf") or "{}")
        mode = "predict" if train_conf else "train"
        # each party checks what it is given
        parser = dsl_parser.parse_job(dsl, conf, train_conf or None, mode=mode,
                                      max_components=self.settings.scheduler.max_job_components)
        self._check_inputs(parser, conf, role, party_id)
        if Job.select().where(Job.f_job_id == job_id, Job.f_role == role, Job.f_party_id == party_id).exists():
            raise FlowError(f"job {job_id} already exists for role {role} party {party_id}")
        if not self.settings.job_dir(job_id).exists():
            write_job_files(self.settings, job_id, dsl, conf, train_conf)
        if conf["job_parameters"].get("job_type", "train") != "predict":
            create_model_dir(self.settings, role, party_id, conf)
        fields = {k: v for k, v in row.items() if k in Job._meta.fields}
        fields.update(f_job_id=job_id, f_role=role, f_party_id=str(party_id), f_run_ip=self.settings.address,
                      f_status=str(JobStatus.WAITING), f_update_time=now_ms())
        fields.setdefault("f_create_time", now_ms())
        with DB.atomic():
            Job.insert(**fields).execute()
            self._save_job_view(job_id, role, party_id, conf)

    def _check_inputs(self, parser, conf: dict, role: str, party_id: str) -> None:
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

    def _save_job_view(self, job_id: str, role: str, party_id: str, conf: dict) -> None:
        is_initiator = role == conf["initiator"]["role"] and str(conf["initiator"]["party_id"]) == str(party_id)
        view = job_view(conf, role, party_id, is_initiator)
        for key, value in view.items():
            TrackingMetric.create(f_job_id=job_id, f_component_name="dag", f_task_id=f"{job_id}_pipeline",
                                  f_role=role, f_party_id=str(party_id), f_metric_namespace="job",
                                  f_metric_name="job_view", f_key=key, f_value=json.dumps(value), f_type=2)

    def update(self, job_id: str, role: str, party_id: str, fields: dict) -> bool:
        """Apply a status sync from the initiator (schedule/status); never moves a finished job back."""
        where = {"f_job_id": job_id, "f_role": role, "f_party_id": party_id}
        extra = {k: v for k, v in fields.items() if k in SYNCABLE_JOB_FIELDS}
        party_job(job_id, role, party_id)
        if fields.get("f_status"):
            return transition(Job, where, JobStatus(fields["f_status"]), **extra)
        if extra:
            extra["f_update_time"] = now_ms()
            Job.update(**extra).where(Job.f_job_id == job_id, Job.f_role == role, Job.f_party_id == party_id).execute()
        return True

    def update_notes(self, job_id: str, role: str, party_id: str, notes: str) -> None:
        """Set the job's description (job/update)."""
        self.update(job_id, role, str(party_id), {"f_description": notes})

    # ---- tasks --------------------------------------------------------------------------

    def tasks(self, job_id: str, role: str, party_id: str) -> list[dict]:
        """This party's task rows of a job, for the initiator's status poll (schedule/tasks)."""
        party_job(job_id, role, party_id)
        fields = ("f_component_name", "f_task_id", "f_status", "f_status_reason", "f_start_time", "f_end_time",
                  "f_elapsed", "f_run_ip", "f_run_pid")
        return [{k: getattr(t, k) for k in fields} for t in Task.select().where(
            Task.f_job_id == job_id, Task.f_role == role, Task.f_party_id == str(party_id))]

    def request_task_run(self, job_id: str, component: str, role: str, party_id: str, body: dict) -> None:
        """Prepare a task of this party (schedule/run): write its config, queue it for launch."""
        job = party_job(job_id, role, party_id)
        if job.f_status != str(JobStatus.RUNNING):
            raise FlowError(f"job {job_id} is {job.f_status} on role {role} party {party_id}, can not run tasks")
        task_id = ids.task_id(job_id, component)
        config = self._task_config(job, job_parser(job), component, role, party_id, body)
        config_path = self.settings.task_dir(job_id, role, party_id, component) / "task_config.json"
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
        settings = self.settings
        job_parameters = dsl_v2.party_job_parameters(conf, role, party_id)
        return {
            "job_id": job.f_job_id, "component_name": component, "task_id": ids.task_id(job.f_job_id, component),
            "role": role, "party_id": int(party_id), "module_name": parser.module(component),
            "roles": conf["role"], "job_initiator": initiator, "job_parameters": job_parameters,
            "component_parameters": parser.component_parameters(component, role, int(party_id)),
            "job_args": parser.job_args(role, int(party_id)),
            "input": pass_through_inputs(parser, component, role, int(party_id)),
            "output": parser.component_output(component),
            # upstream components with no task for this party give None inputs (FATE's arbiter case)
            "runs_here": [c for c in parser.component_list() if (role, int(party_id)) in parser.parties(c)],
            "task_parameters": body.get("task_parameters") or {},
            "own_server": settings.address,
            "initiator_server": self.api.address_of(initiator["party_id"]),
            "federation": {"backend": settings.federation.backend, "timeout": settings.federation.timeout,
                           "root": str(settings.federation_dir), "job_id": job.f_job_id,
                           "server": settings.address, "chunk_size": settings.federation.chunk_size,
                           "rabbitmq_url": settings.federation.rabbitmq_url,
                           "party_servers": {str(p): self.api.address_of(p) for _, p in all_parties(conf["role"])}},
            "work_dir": str(settings.work_dir),
            "storage": {"engine": settings.data_access.storage_engine, "root": str(settings.data_dir)},
            "computing": conf_for_job(job_parameters, settings.computing, str(
                settings.task_dir(job.f_job_id, role, party_id, component) / "computing")).to_dict(),
            "model": {"root": str(settings.model_dir), "model_version": conf["job_parameters"].get("model_version"),
                      "party_model_id": ids.party_model_id(role, party_id, conf["job_parameters"].get("model_id"))},
            "log_dir": str(settings.task_log_dir(job.f_job_id, role, party_id, component)),
            "id_cache_redis": settings.id_cache_redis,
        }

    def ensure_task_row(self, job_id: str, component: str, role: str, party_id: Any) -> None:
        """Insert a waiting task row if there is none (initiator copy or party row)."""
        now = now_ms()
        Task.insert(f_job_id=job_id, f_component_name=component, f_task_id=ids.task_id(job_id, component),
                    f_role=role, f_party_id=str(party_id), f_status=str(TaskStatus.WAITING),
                    f_create_time=now, f_update_time=now).on_conflict_ignore().execute()

    def report_task_status(self, job_id: str, component: str, role: str, party_id: str, fields: dict) -> bool:
        """Record a task status or progress report (from its executor, its launcher or a kill)."""
        where = {"f_job_id": job_id, "f_task_id": ids.task_id(job_id, component), "f_role": role,
                 "f_party_id": str(party_id)}
        if not Job.select().where(Job.f_job_id == job_id).exists():  # no task rows for jobs never created
            raise JobNotFound(job_id)
        self.ensure_task_row(job_id, component, role, party_id)
        extra = {k: v for k, v in fields.items() if k in TASK_REPORT_FIELDS}
        changed = True
        if fields.get("f_status"):
            status = TaskStatus(fields["f_status"])
            if status == TaskStatus.SUCCESS:
                extra["f_progress"] = 100
            changed = transition(Task, where, status, **extra)
            if changed and status in TASK_FINISHED:
                self._count_federation_bytes(party_id, fields.get("federation_sent_bytes"))
        elif extra:
            Task.update(f_update_time=now_ms(), **extra).where(
                *[getattr(Task, k) == v for k, v in where.items()]).execute()
        if fields.get("f_progress") is not None and not fields.get("f_status"):
            changed = _raise_task_progress(where, fields["f_progress"])
        if changed:
            self.wake()
        return changed

    def _count_federation_bytes(self, party_id: str, sent: Any) -> None:
        """Count what a task of this server's party sent (the initiator also hears other parties' tasks)."""
        if isinstance(sent, bool) or not isinstance(sent, int):
            return
        if self.settings.work_mode == 0 or str(party_id) in {str(p) for p in self.settings.party_ids}:
            metrics.federation_sent(self.settings.federation.backend, sent)

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
        self.api.try_call("initiator", initiator_party, path, report)

    def kill_tasks(self, job_id: str, role: str, party_id: str, component: str = "",
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

    def runs_here(self, task: Task) -> bool:
        """True if the task's process is (or was) on this machine: always so in standalone with one server.

        With a lease, other servers sharing the database may run the party's tasks on their machines.
        """
        if self.settings.uses_lease:
            return task.f_run_ip == self.settings.address
        return self.settings.work_mode == 0 or task.f_run_ip == self.settings.address

    # ---- end of a job -------------------------------------------------------------------

    def save_pipeline(self, job_id: str, role: str, party_id: str) -> None:
        """Store the job's pipeline (train DSL, predict DSL, confs) in this party's model dir."""
        job = party_job(job_id, role, party_id)
        conf = json.loads(job.f_runtime_conf)
        params = conf["job_parameters"]
        if params.get("job_type", "train") == "predict":
            return
        parser = job_parser(job)
        if role == "local":
            self.models.record_restored(conf, {c: parser.module(c) for c in parser.component_list()})
        pipeline = {"inference_dsl": parser.predict_dsl(role), "train_dsl": json.loads(job.f_dsl),
                    "train_runtime_conf": conf, "fate_version": "1.4.5", "dsl_version": parser.version,
                    "model_id": params["model_id"], "model_version": params["model_version"]}
        model_dir = self.settings.model_dir / ids.party_model_id(role, party_id, params["model_id"]) / params["model_version"]
        model_dir.mkdir(parents=True, exist_ok=True)
        (model_dir / "pipeline.json").write_text(json.dumps(pipeline, indent=4), encoding="utf-8")
        self.models.record_quietly(role, party_id, params["model_id"], params["model_version"])

    def clean(self, job_id: str, role: str, party_id: str) -> None:
        """Remove this party's temporary files of a finished job: federation sessions, received uploads."""
        for task in Task.select(Task.f_task_id, Task.f_component_name).where(
                Task.f_job_id == job_id, Task.f_role == role, Task.f_party_id == str(party_id)):
            release_task_session(self.settings.task_dir(job_id, role, party_id, task.f_component_name)
                                 / "task_config.json")
        shutil.rmtree(self.settings.job_dir(job_id) / UPLOAD_TMP_DIR, ignore_errors=True)


def _raise_task_progress(where: dict[str, str], progress: Any) -> bool:
    """Set an unfinished task's progress (0-100) if it is higher than the recorded one; True if it was."""
    if isinstance(progress, bool) or not isinstance(progress, (int, float)):
        raise ArgumentError("f_progress", f"must be a number from 0 to 100, not {progress!r}")
    progress = max(0, min(100, int(progress)))
    return bool(Task.update(f_progress=progress, f_update_time=now_ms()).where(
        *[getattr(Task, k) == v for k, v in where.items()],
        Task.f_status.in_([str(s) for s in TASK_UNFINISHED]),
        Task.f_progress.is_null() | (Task.f_progress < progress)).execute())


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
            for key, ref in _party_tables(conf, r, i).items():
                dataset.setdefault(r, {}).setdefault(str(p), {})[key] = f"{ref.get('namespace')}.{ref.get('name')}"
    return {"partner": {r: v for r, v in partner.items() if v}, "dataset": dataset, "roles": visible}


def _party_tables(conf: dict, role: str, index: int) -> dict[str, dict]:
    """The tables a party reads: v1's ``args.data`` entries, or v2's Reader ``table`` parameters by component."""
    if dsl_v2.dsl_version(conf) == 2:
        sections = ((conf.get("component_parameters") or {}).get("role") or {}).get(role) or {}
        merged: dict = {}
        for _, section in dsl_v2.party_sections(sections, index):
            merged = dsl_v2.deep_merge(merged, section)
        return {name: params["table"] for name, params in merged.items()
                if isinstance(params, dict) and isinstance(params.get("table"), dict)}
    data = (((conf.get("role_parameters") or {}).get(role) or {}).get("args") or {}).get("data") or {}
    return {key: refs[index] for key, refs in data.items()
            if isinstance(refs, list) and index < len(refs) and isinstance(refs[index], dict)}


def pass_through_inputs(parser, component: str, role: str, party_id: int) -> dict:
    """The component's inputs, a data reference to an upstream component that this party skips
    (``need_run`` false, as FATE's FeatureScale in the Poisson example) replaced by what that
    component reads, as FATE's skipped component passes its input on."""
    inputs = json.loads(json.dumps(parser.component_input(component) or {}))
    data = inputs.get("data") or {}
    for key, refs in data.items():
        refs = [refs] if isinstance(refs, str) else list(refs)
        data[key] = [new for ref in refs for new in _followed(parser, ref, role, party_id, 0)]
    return inputs


def _followed(parser, ref: str, role: str, party_id: int, depth: int) -> list:
    source = ref.partition(".")[0]
    if source == "args" or depth > 32 or not parser.runs_on(source, role) or \
            parser.need_run(source, role, party_id):
        return [ref]
    upstream = (parser.component_input(source) or {}).get("data") or {}
    refs = [r for value in upstream.values() for r in ([value] if isinstance(value, str) else value)]
    return [new for r in refs for new in _followed(parser, r, role, party_id, depth + 1)] or [ref]
