"""/v1/job: submit, stop, query, update, config, log, task/query, data/view/query, clean; FATE 1.5+'s
list, rerun, parameter/update, dsl/generate, url/get, log/download and log/path."""
from __future__ import annotations

from flask import Blueprint

from fate_flow.apps._openapi import LIST_FIELDS, OBJECT, ROWS, api
from fate_flow.apps._archive import send_directory_as_tar
from fate_flow.apps._request import as_text, column_filters, json_body, require
from fate_flow.apps._response import errors_as_http_status, ok
from fate_flow.apps._services import services
from fate_flow.db import DataView, Job, Task
from fate_flow.driver import job_queries
from fate_flow.driver.status import JobStatus
from fate_flow.errors import DataViewNotFound, FlowError, JobNotFound, TaskNotFound
from fate_flow.services.model_deploy import ModelDeployer

bp = Blueprint("job", __name__, url_prefix="/v1/job")


@bp.route("/submit", methods=["POST"])
@api(optional=("job_dsl", "job_runtime_conf", "dsl", "runtime_conf"), data=OBJECT)
def submit_job():
    """Submit a job (DSL + runtime conf); answers its id, model info and paths."""
    body = json_body()
    if "job_runtime_conf" not in body and "runtime_conf" in body:  # FATE 1.7+'s {dsl, runtime_conf}
        body = {"job_runtime_conf": body["runtime_conf"], "job_dsl": body.get("dsl")}
    (runtime_conf,) = require(body, "job_runtime_conf")
    job_id, data = services().submitter.submit(body.get("job_dsl") or {}, runtime_conf)
    return ok(data, job_id=job_id)


@bp.route("/stop", methods=["POST"])
@api("job_id", optional=("operate",))
def stop_job():
    """Stop a job: forwarded to its initiator, which stops it on every party."""
    (job_id,) = require(json_body(), "job_id")
    svc = services()
    answer = svc.stopper.forward_stop(job_id, json_body().get("operate"))
    return ok(retmsg=answer)


@bp.route("/stop/do", methods=["POST"])
@api("job_id", optional=("operate", "reason"))
def stop_job_do():
    """Stop a job this server initiated (the initiator's end of job/stop)."""
    body = json_body()
    (job_id,) = require(body, "job_id")
    end_status = JobStatus.FAILED if body.get("operate") == "kill" else JobStatus.CANCELED
    return ok(retmsg=services().stopper.stop_job(job_id, end_status, body.get("reason") or ""))


@bp.route("/query", methods=["POST"])
@api(optional=("job_id", "role", "party_id", "status"), data=ROWS)
def query_job():
    """Job rows matching the given columns (job_id, role, party_id, status, ...).

    No match: FATE 1.4 answered 101 "find job failed", FATE 1.5+ answers retcode 0 with an
    empty list (the pipeline SDK and flow CLI poll on it). The 1.4 client sends its whole
    command conf, ``function`` included, which no 1.5+ client sends: that tells them apart.
    A body with no column to filter on is refused by both.
    """
    body = json_body()
    filters = column_filters(Job, body)
    rows = job_queries.query_jobs(filters) if filters else []
    if not rows and (not filters or "function" in body):
        raise JobNotFound()
    if not rows:
        return ok([], retmsg="no job could be found", keep_data=True)
    return ok(rows, keep_data=True)


@bp.route("/update", methods=["POST"])
@api("job_id", "role", "party_id", optional=("notes",))
def update_job():
    """Set a party's notes on a job."""
    body = json_body()
    job_id, role, party_id = require(body, "job_id", "role", "party_id")
    role, party_id = as_text(("role", "party_id"), (role, party_id))
    services().party_jobs.update_notes(job_id, role, party_id, body.get("notes", ""))
    return ok()


@bp.route("/config", methods=["POST"])
@api(optional=("job_id", "role", "party_id"), data=OBJECT)
def job_config():
    """A job's DSL, runtime confs and model info."""
    filters = column_filters(Job, json_body())
    rows = job_queries.query_jobs(filters, with_position=False) if filters else []
    if not rows:
        raise JobNotFound()
    return ok(job_queries.job_config(rows[0]), keep_data=True)


@bp.route("/log", methods=["GET", "POST"])
@bp.route("/log/download", methods=["GET", "POST"])
@errors_as_http_status
@api("job_id", answer="file")
def job_log():
    """A tar.gz of the job's log directory (empty if it has none yet); 404 naming a job not found."""
    (job_id,) = require(json_body(), "job_id")
    job_queries.require_job(job_id)
    log_dir = services().settings.job_log_dir(job_id)
    return send_directory_as_tar(log_dir, f"job_{job_id}_log.tar.gz", services().settings.run_dir)


@bp.route("/task/query", methods=["POST"])
@api(optional=("job_id", "role", "party_id", "component_name", "task_id", "status"), data=ROWS)
def query_task():
    """Task rows matching the given columns."""
    rows = job_queries.query_rows(Task, column_filters(Task, json_body()))
    if not rows:
        raise TaskNotFound()
    return ok(rows, keep_data=True)


@bp.route("/data/view/query", methods=["POST"])
@api(optional=("job_id", "role", "party_id", "component_name"), data=ROWS)
def query_data_view():
    """Data view rows (output tables of tasks) matching the given columns."""
    filters = column_filters(DataView, json_body())
    rows = job_queries.query_rows(DataView, filters) if filters else []
    if not rows:
        raise DataViewNotFound()
    return ok(rows, keep_data=True)


@bp.route("/clean", methods=["POST"])
@api("job_id", optional=("role", "party_id", "component_name"), data=OBJECT)
def clean_job():
    """Remove what a job's ended tasks left here: metrics, output tables, sessions; answer what went."""
    body = json_body()
    (job_id,) = require(body, "job_id")
    keys = ("role", "party_id", "component_name")
    given = {k: body[k] for k in keys if body.get(k) not in (None, "")}
    scope = dict(zip(given, as_text(list(given), list(given.values()))))
    return ok(services().stopper.clean_job(job_id, **scope))


@bp.route("/clean/queue", methods=["POST"])
@api(data=OBJECT)
def clean_queue():
    """Cancel every job waiting in this server's queue."""
    return ok(services().stopper.clean_queue())


@bp.route("/log/path", methods=["POST"])
@api("job_id", data=OBJECT)
def job_log_path():
    """Where the job's logs are on this server (FATE 1.7+)."""
    (job_id,) = require(json_body(), "job_id")
    job_queries.require_job(job_id)
    return ok({"logs_directory": str(services().settings.job_log_dir(job_id))})


@bp.route("/list/job", methods=["POST"])
@api(optional=LIST_FIELDS)
def list_job():
    """The newest job rows (FATE 1.5-1.7.1: a list), or a page of them (1.7.2+: {jobs, count})."""
    rows, count = job_queries.list_rows(Job, json_body())
    if count is not None:
        return ok({"jobs": rows, "count": count}, keep_data=True)
    if not rows:
        raise JobNotFound()
    return ok(rows, keep_data=True)


@bp.route("/list/task", methods=["POST"])
@api(optional=LIST_FIELDS)
def list_task():
    """The newest task rows (a list), or a page of them ({tasks, count})."""
    rows, count = job_queries.list_rows(Task, json_body())
    if count is not None:
        return ok({"tasks": rows, "count": count}, keep_data=True)
    if not rows:
        raise FlowError("no task found")
    return ok(rows, keep_data=True)


@bp.route("/rerun", methods=["POST"])
@api("job_id", optional=("component_name", "force"), data=OBJECT)
def rerun_job():
    """Run a failed, canceled or timed-out job again from its failed component (or component_name)."""
    body = json_body()
    (job_id,) = require(body, "job_id")
    force = str(body.get("force", False)).lower() in ("true", "1")
    components = services().rerunner.rerun(job_id, str(body.get("component_name") or ""), force)
    return ok({"components": components}, job_id=str(job_id))


@bp.route("/parameter/update", methods=["POST"])
@api("job_id", optional=("job_parameters", "component_parameters"), data=OBJECT)
def update_parameters():
    """Change job or component parameters of an ended job before a rerun (FATE 1.7+)."""
    body = json_body()
    (job_id,) = require(body, "job_id")
    conf = services().rerunner.update_parameters(job_id, body.get("job_parameters"), body.get("component_parameters"))
    return ok({"job_parameters": conf.get("job_parameters"),
               "component_parameters": conf.get("component_parameters") or {}}, job_id=str(job_id))


@bp.route("/dsl/generate", methods=["POST"])
@api("train_dsl", optional=("cpn_str", "cpn_list"), data=OBJECT)
def generate_dsl():
    """The predict DSL of chosen components of a v2 train DSL (the 1.5.0 SDK's deploy)."""
    body = json_body()
    (train_dsl,) = require(body, "train_dsl")
    return ok(ModelDeployer.generate(train_dsl, body.get("cpn_str") or body.get("cpn_list")))


@bp.route("/url/get", methods=["POST"])
@api("job_id", "role", "party_id", data=OBJECT)
def job_url():
    """FATEBoard's address of the job for one party."""
    body = json_body()
    job_id, role, party_id = require(body, "job_id", "role", "party_id")
    job = job_queries.party_job(job_id, *as_text(("role", "party_id"), (role, party_id)))
    return ok({"board_url": [job_queries.board_url(services().settings, job.f_job_id, job.f_role, job.f_party_id)]})
