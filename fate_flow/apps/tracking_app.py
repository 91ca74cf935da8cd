"""/v1/tracking: metrics and views of jobs and components; metric writes from task processes."""
from __future__ import annotations

import re
import shutil

from flask import Blueprint, jsonify, send_file

from fate_flow.apps._openapi import COMPONENT, OBJECT, api
from fate_flow.apps._request import as_text, json_body, require
from fate_flow.apps._response import HTTP_BAD_REQUEST, HTTP_NOT_FOUND, errors_as_http_status, ok
from fate_flow.apps._services import services
from fate_flow.driver import job_queries
from fate_flow.errors import ArgumentError, FlowError, NotFound
from fate_flow.stores import tracking
from fate_flow.stores.output_data import NoOutputData
from fate_flow.stores.tracking import MetricTracker
from fate_flow.utils import validate

bp = Blueprint("tracking", __name__, url_prefix="/v1/tracking")
TASK_PREFIX = "/<job_id>/<component_name>/<task_id>/<role>/<party_id>"
# the routes under TASK_PREFIX, which only task processes call
TASK_REPORT_PATH = re.compile(r"/v1/tracking(/[^/]+){5}/(metric_data/save|metric_meta/save|metric/batch_save|output/table)")


def _component_request(*extra: str, lookup=job_queries.require_component) -> list[str]:
    """job_id, component_name, role, party_id (+ extra) of a component that ``lookup`` finds.

    Role and party default to the initiator's (FATE fills them when both are absent). A job,
    role/party or component that does not exist is a NotFound naming it, so that "no data"
    only ever means an existing component without metrics or output.
    """
    body = json_body()
    if body.get("role") in (None, "") and body.get("party_id") in (None, ""):
        job = job_queries.require_job(require(body, "job_id")[0])
        body = dict(body, role=job.f_role, party_id=job.f_party_id)
    names = ("job_id", "component_name", "role", "party_id", *extra)
    job_id, *rest = require(body, *names)
    rest = as_text(names[1:], rest)
    if lookup is not None:
        lookup(job_id, rest[0], rest[1], rest[2])
    return [job_id, *rest]


@bp.route("/job/data_view", methods=["POST"])
@api("job_id", "role", "party_id", data=OBJECT)
def job_data_view():
    """The job's view for one party: partners, datasets, roles."""
    body = json_body()
    job_id, role, party_id = require(body, "job_id", "role", "party_id")
    role, party_id = as_text(("role", "party_id"), (role, party_id))
    job_queries.party_job(job_id, role, party_id)
    view = tracking.read_job_view(job_id, role, party_id)
    if not view:
        raise NotFound("error")
    return ok(view)


@bp.route("/component/metric/all", methods=["POST"])
@api(*COMPONENT, data=OBJECT)
def component_metric_all():
    """Every metric of a component: namespaces, names, data points and metas."""
    metrics = tracking.read_metrics(*_component_request())
    return ok(metrics) if metrics else ok(retmsg="no data")


@bp.route("/component/metrics", methods=["POST"])
@api(*COMPONENT, data=OBJECT)
def component_metrics():
    """The metric names of a component, by namespace."""
    metrics = tracking.read_metrics(*_component_request())
    names = {namespace: list(entries) for namespace, entries in metrics.items()}
    return ok(names) if names else ok(retmsg="no data")


@bp.route("/component/metric_data", methods=["POST"])
@api(*COMPONENT, "metric_namespace", "metric_name", data={"type": "array"})
def component_metric_data():
    """One metric's data points and meta."""
    job_id, component, role, party_id, namespace, name = _component_request("metric_namespace", "metric_name")
    entry = tracking.read_metrics(job_id, component, role, party_id).get(namespace, {}).get(name, {})
    meta = entry.get("meta") or {"name": None, "metric_type": None}
    return ok(entry.get("data"), meta=meta)


@bp.route("/component/metric/delete", methods=["POST"])
@api("job_id", optional=("role", "party_id", "component_name", "task_id", "metric_namespace", "metric_name"))
def component_metric_delete():
    """Delete tracked metrics by job (and optionally role, party, component, metric)."""
    body = json_body()
    if body.get("model"):
        raise FlowError("metrics are one table here, not one per day: delete them by job_id")
    (job_id,) = require(body, "job_id")
    keys = ("role", "party_id", "component_name", "task_id", "metric_namespace", "metric_name")
    given = {k: body[k] for k in keys if body.get(k) not in (None, "")}
    filters = dict(zip(given, as_text(list(given), list(given.values()))), job_id=job_id)
    job_queries.require_scope(job_id, filters.get("role"), filters.get("party_id"), filters.get("component_name"))
    return ok(f"deleted {tracking.delete_metrics(filters)} metric rows of job {job_id}")


@bp.route("/component/summary/download", methods=["POST"])
@api(*COMPONENT, data=OBJECT)
def component_summary_download():
    """A component's summary (FATE 1.5+): its single-valued metrics, ``{metric_name: {key: value}}``."""
    summary = tracking.summary(tracking.read_metrics(*_component_request()))
    if not summary:
        raise FlowError("no summary: the component recorded no metrics")
    return ok(summary)


@bp.route("/component/list", methods=["POST"])
@api("job_id", data=OBJECT)
def component_list():
    """The job's component names in run order (FATE 1.5+)."""
    (job_id,) = require(json_body(), "job_id")
    return ok({"components": job_queries.job_parser(job_queries.require_job(job_id)).component_list()})


@bp.route("/component/parameters", methods=["POST"])
@api(*COMPONENT, data=OBJECT)
def component_parameters():
    """A component's merged parameters for one party."""
    job_id, component, role, party_id = _component_request(lookup=None)  # it checks the job's conf
    return ok(job_queries.component_parameters(job_id, component, role, party_id), keep_data=True)


@bp.route("/component/output/model", methods=["POST"])
@api(*COMPONENT, data=OBJECT)
def component_output_model():
    """The model messages a component saved (param and meta)."""
    model = job_queries.component_model(services().settings, *_component_request(lookup=None))
    if model is None:
        return ok(retmsg="no data")
    return ok(model["param"], meta={"meta_data": model["meta"], "module_name": model["module"]})


@bp.route("/component/output/data", methods=["POST"])
@api(*COMPONENT, data={"type": "array"})
def component_output_data():
    """A preview of a component's output table (its first rows and header)."""
    try:
        rows, meta = services().output_data.preview(*_component_request())
    except NoOutputData:
        return ok(retmsg="no data")
    return ok(rows, meta=meta)


@bp.route("/component/output/data/download", methods=["GET", "POST"])
@errors_as_http_status
@api(*COMPONENT, optional=("limit", "head"), answer="file")
def component_output_data_download():
    """A tar.gz of a component's output table as delimited text."""
    body = json_body()
    limit = validate.check_limit("limit", body["limit"]) if body.get("limit") not in (None, "") else -1
    head = body.get("head", True) not in (False, 0, "false", "0")
    # 1.4's retcode 500 in the body, but not its HTTP 500: nothing failed on the server, and clients
    # (1.4's too) read any status but 200 as an error answer
    if limit == 0:  # refused before any lookup, as 1.4 does
        return jsonify({"retcode": 500, "retmsg": "limit is 0"}), HTTP_BAD_REQUEST
    job_id, component, role, party_id = _component_request()
    try:
        archive = services().output_data.archive(job_id, component, role, party_id, limit, head,
                                                 services().settings.run_dir, job_queries.is_dsl_v2(job_id))
    except NoOutputData:
        return jsonify({"retcode": 500, "retmsg": "no data"}), HTTP_NOT_FOUND
    stream = open(archive, "rb")
    shutil.rmtree(archive.parent)  # the open handle keeps the data until it is sent
    return send_file(stream, mimetype="application/gzip", as_attachment=True,
                     download_name=f"job_{job_id}_{component}_{role}_{party_id}_output_data.tar.gz")


@bp.route("/component/output/data/table", methods=["POST"])
@api(*COMPONENT, data=OBJECT)
def component_output_data_table():
    """The name and namespace of a component's output table."""
    try:
        namespace, name = services().output_data.table_of(*_component_request())
    except NoOutputData:
        raise FlowError("No found table, please check if the parameters are correct") from None
    return ok({"table_name": name, "table_namespace": namespace})


@bp.route(TASK_PREFIX + "/metric_data/save", methods=["POST"])
@api("metric_namespace", "metric_name", "metrics")
def save_metric_data(job_id, component_name, task_id, role, party_id):
    """Store metric data points a task sends (task processes only)."""
    body = json_body()
    namespace, name, metrics = require(body, "metric_namespace", "metric_name", "metrics")
    _check_points("metrics", metrics)
    MetricTracker(job_id, component_name, task_id, role, party_id).save_metric_data(namespace, name, metrics)
    return ok()


@bp.route(TASK_PREFIX + "/metric_meta/save", methods=["POST"])
@api("metric_namespace", "metric_name", "metric_meta")
def save_metric_meta(job_id, component_name, task_id, role, party_id):
    """Store a metric's meta a task sends (task processes only)."""
    body = json_body()
    namespace, name, meta = require(body, "metric_namespace", "metric_name", "metric_meta")
    _check_meta("metric_meta", meta)
    MetricTracker(job_id, component_name, task_id, role, party_id).save_metric_meta(namespace, name, meta)
    return ok()


METRIC_BATCH_BODY = {"type": "object", "required": ["entries"], "properties": {"entries": {
    "type": "array", "items": {"type": "object", "required": ["metric_namespace", "metric_name"], "properties": {
        "metric_namespace": {"type": "string"}, "metric_name": {"type": "string"},
        "metrics": {"type": "array"}, "metric_meta": OBJECT}}}}}


@bp.route(TASK_PREFIX + "/metric/batch_save", methods=["POST"])
@api(body=METRIC_BATCH_BODY)
def save_metric_batch(job_id, component_name, task_id, role, party_id):
    """Store, in order and in one transaction, the metric data points and metas a task queued (task processes
    only): ``{"entries": [{metric_namespace, metric_name, metrics | metric_meta}, ...]}``."""
    entries = require(json_body(), "entries")[0]
    if not isinstance(entries, list):
        raise ArgumentError("entries", "must be a list")
    for i, entry in enumerate(entries):
        _check_metric_entry(i, entry)
    MetricTracker(job_id, component_name, task_id, role, party_id).save_batch(entries)
    return ok()


def _check_metric_entry(i: int, entry) -> None:
    field = f"entries[{i}]"
    if not isinstance(entry, dict) or not entry.get("metric_namespace") or not entry.get("metric_name"):
        raise ArgumentError(field, "must be an object with metric_namespace and metric_name")
    if ("metrics" in entry) == ("metric_meta" in entry):
        raise ArgumentError(field, "must have exactly one of metrics and metric_meta")
    _check_points(f"{field}.metrics", entry.get("metrics", []))
    _check_meta(f"{field}.metric_meta", entry.get("metric_meta", {}))


def _check_points(field: str, metrics) -> None:
    if not isinstance(metrics, list) or any(not isinstance(p, list) or len(p) != 2 for p in metrics):
        raise ArgumentError(field, "must be a list of [key, value] pairs")


def _check_meta(field: str, meta) -> None:
    if not isinstance(meta, dict):
        raise ArgumentError(field, "must be an object")


@bp.route(TASK_PREFIX + "/output/table", methods=["POST"])
@api("meta", optional=("upload_count", "party_model_id", "model_version"), data=OBJECT)
def commit_output_table(job_id, component_name, task_id, role, party_id):
    """Record an output table a task committed (catalogue row and data view)."""
    meta = services().tables.record_task_output(job_id, component_name, task_id, role, party_id, json_body())
    return ok(meta)
