"""/v1/job: submit, stop, query, update, config, log, task/query, data/view/query, clean."""
from __future__ import annotations

import json

from flask import Blueprint

from fate_flow.app import services
from fate_flow.apps._request import column_filters, json_body, require
from fate_flow.db import DataView, Job, Task
from fate_flow.driver import job_queries
from fate_flow.driver.status import JobStatus
from fate_flow.errors import DataViewNotFound, JobNotFound, TaskNotFound
from fate_flow.utils.archive import send_directory_as_tar
from fate_flow.utils.response import ok

bp = Blueprint("job", __name__, url_prefix="/v1/job")


@bp.route("/submit", methods=["POST"])
def submit_job():
    body = json_body()
    (runtime_conf,) = require(body, "job_runtime_conf")
    job_id, data = services().controller.submit(body.get("job_dsl") or {}, runtime_conf)
    return ok(data, job_id=job_id)


@bp.route("/stop", methods=["POST"])
def stop_job():
    (job_id,) = require(json_body(), "job_id")
    svc = services()
    answer = svc.controller.forward_stop(job_id, json_body().get("operate"))
    return ok(retmsg=answer)


@bp.route("/stop/do", methods=["POST"])
def stop_job_do():
    body = json_body()
    (job_id,) = require(body, "job_id")
    end_status = JobStatus.FAILED if body.get("operate") == "kill" else JobStatus.CANCELED
    return ok(retmsg=services().controller.stop_job(job_id, end_status, body.get("reason") or ""))


@bp.route("/query", methods=["POST"])
def query_job():
    filters = column_filters(Job, json_body())
    rows = job_queries.query_jobs(filters) if filters else []
    if not rows:
        raise JobNotFound()
    return ok(rows, keep_data=True)


@bp.route("/update", methods=["POST"])
def update_job():
    body = json_body()
    job_id, role, party_id = require(body, "job_id", "role", "party_id")
    services().controller.update_notes(job_id, role, str(party_id), body.get("notes", ""))
    return ok()


@bp.route("/config", methods=["POST"])
def job_config():
    filters = column_filters(Job, json_body())
    rows = job_queries.query_jobs(filters, with_position=False) if filters else []
    if not rows:
        raise JobNotFound()
    return ok(job_queries.job_config(rows[0]), keep_data=True)


@bp.route("/log", methods=["GET", "POST"])
def job_log():
    (job_id,) = require(json_body(), "job_id")
    log_dir = services().settings.job_log_dir(str(job_id))
    return send_directory_as_tar(log_dir, f"job_{job_id}_log.tar.gz", services().settings.run_dir)


@bp.route("/task/query", methods=["POST"])
def query_task():
    rows = job_queries.query_rows(Task, column_filters(Task, json_body()))
    if not rows:
        raise TaskNotFound()
    return ok(rows, keep_data=True)


@bp.route("/data/view/query", methods=["POST"])
def query_data_view():
    filters = column_filters(DataView, json_body())
    rows = job_queries.query_rows(DataView, filters) if filters else []
    if not rows:
        raise DataViewNotFound()
    return ok(rows, keep_data=True)


@bp.route("/clean", methods=["POST"])
def clean_job():
    body = json_body()
    require(body, "job_id")
    filters = {k: body[k] for k in ("job_id", "role", "party_id", "component_name") if body.get(k) not in (None, "")}
    services().controller.clean_job(filters)
    return ok()


@bp.route("/clean/queue", methods=["POST"])
def clean_queue():
    return ok(services().controller.clean_queue())
