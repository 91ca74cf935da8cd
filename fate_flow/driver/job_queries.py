"""Read-only queries behind /v1/job: rows as the original answers them."""
from __future__ import annotations

import json
from typing import Any

from fate_flow.db import Job, Queue
from fate_flow.driver.status import JobStatus, QueueState
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
