"""Read-only queries of jobs and tasks: rows as the original answers them, a job's parser, its models."""
from __future__ import annotations

import json
from typing import Any

from fate_flow.db import Job, Queue
from fate_flow.driver import dsl_parser
from fate_flow.driver.status import JobStatus, QueueState
from fate_flow.errors import FlowError, NotFound
from fate_flow.settings import Settings
from fate_flow.utils import ids
from fate_flow.utils.model_layout import component_module, load_component_model, version_dir
from fate_flow.utils.redact import redact

CONF_COLUMNS = ("f_runtime_conf", "f_train_runtime_conf")


def query_rows(model, filters: dict[str, Any]) -> list[dict]:
    """All rows of ``model`` matching ``filters`` (column names without ``f_``), in DB order."""
    query = model.select()
    for key, value in filters.items():
        query = query.where(getattr(model, f"f_{key}") == (str(value) if not isinstance(value, int) else value))
    return [row.to_json() for row in query]


def query_jobs(filters: dict[str, Any], with_position: bool = True) -> list[dict]:
    """Job rows; waiting ones also tell their place in the queue (``f_queue_position``, 1-based)."""
    rows = [_redacted(row) for row in query_rows(Job, filters)]
    if with_position and any(r["f_status"] == str(JobStatus.WAITING) for r in rows):
        order = [q.f_job_id for q in Queue.select(Queue.f_job_id)
                 .where(Queue.f_is_waiting == QueueState.WAITING).order_by(Queue.id)]
        for row in rows:
            if row["f_status"] == str(JobStatus.WAITING) and row["f_job_id"] in order:
                row["f_queue_position"] = order.index(row["f_job_id"]) + 1
    return rows


def job_config(row: dict) -> dict:
    """The /v1/job/config answer for one job row."""
    runtime_conf = json.loads(row["f_runtime_conf"])
    params = runtime_conf.get("job_parameters", {})
    return {"job_id": row["f_job_id"], "dsl": json.loads(row["f_dsl"]), "runtime_conf": redact(runtime_conf),
            "train_runtime_conf": redact(json.loads(row["f_train_runtime_conf"] or "{}")),
            "model_info": {"model_id": params.get("model_id"), "model_version": params.get("model_version")}}


def _redacted(row: dict) -> dict:
    """The row with store passwords and URL credentials of its confs masked."""
    for column in CONF_COLUMNS:
        if row.get(column):
            try:
                row[column] = json.dumps(redact(json.loads(row[column])))
            except ValueError:
                pass
    return row


def initiator_job(job_id: str) -> Job:
    """The job's initiator row if this server holds it, else any row of the job; FlowError if none."""
    job = Job.select().where(Job.f_job_id == job_id).order_by(Job.f_is_initiator.desc()).first()
    if job is None:
        raise FlowError(f"can not found job: {job_id}")
    return job


def party_job(job_id: str, role: str, party_id: Any) -> Job:
    """One party's row of the job; NotFound naming the job, role and party."""
    job = Job.get_or_none(Job.f_job_id == job_id, Job.f_role == role, Job.f_party_id == str(party_id))
    if job is None:
        raise NotFound(f"job {job_id} not found for role {role} party {party_id}")
    return job


def job_parser(job: Job) -> dsl_parser.DSLParser:
    """The parsed DSL and confs of a stored job row."""
    train_conf = json.loads(job.f_train_runtime_conf or "{}")
    mode = "predict" if train_conf else "train"
    return dsl_parser.parse_job(json.loads(job.f_dsl), json.loads(job.f_runtime_conf), train_conf or None, mode=mode)


def component_parameters(job_id: str, component: str, role: str, party_id: str) -> dict:
    """``{"module": M, "<XxxParam>": {...}}`` of one component for one party (tracking route)."""
    job = Job.get_or_none(Job.f_job_id == job_id, Job.f_role == role, Job.f_party_id == str(party_id))
    if job is None:
        job = Job.select().where(Job.f_job_id == job_id).first()
    if job is None:
        raise NotFound("can not found this job")
    try:
        params = job_parser(job).component_parameters(component, role, int(party_id))
    except (KeyError, ValueError, FlowError):
        raise FlowError("can not found this component parameters") from None
    return {"module": params.get("module"), **{k: v for k, v in params.items() if k.endswith("Param")}}


def component_model(settings: Settings, job_id: str, component: str, role: str, party_id: str) -> dict | None:
    """The model a component saved (``{"param", "meta", "module"}``), or None."""
    job = party_job(job_id, role, party_id)
    params = json.loads(job.f_runtime_conf)["job_parameters"]
    root = version_dir(settings.model_dir, ids.party_model_id(role, party_id, params["model_id"]),
                       params["model_version"])
    messages = load_component_model(root, component)
    if not messages:
        return None
    pick = lambda suffix: next((v for k, v in messages.items() if k.endswith(suffix)), {})  # noqa: E731
    return {"param": pick("Param"), "meta": pick("Meta"), "module": component_module(root, component)}

