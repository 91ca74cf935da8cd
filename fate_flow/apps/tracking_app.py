"""/v1/tracking: metrics and views of jobs and components; metric writes from task processes."""
from __future__ import annotations

import shutil

from flask import Blueprint, jsonify, send_file

from fate_flow.app import services
from fate_flow.apps._request import json_body, require
from fate_flow.errors import ArgumentError, FlowError, NotFound
from fate_flow.manager import tracking
from fate_flow.manager.output_data import NoOutputData
from fate_flow.manager.tracking import MetricTracker
from fate_flow.utils import validate
from fate_flow.utils.response import ok

bp = Blueprint("tracking", __name__, url_prefix="/v1/tracking")
TASK_PREFIX = "/<job_id>/<component_name>/<task_id>/<role>/<party_id>"


def _component_request(*extra: str) -> list:
    """job_id, component_name, role, party_id (+ extra); role/party default to the initiator's."""
    body = json_body()
    if body.get("role") in (None, "") and body.get("party_id") in (None, ""):
        job = services().controller.initiator_job(str(require(body, "job_id")[0]))
        body = dict(body, role=job.f_role, party_id=job.f_party_id)
    values = require(body, "job_id", "component_name", "role", "party_id", *extra)
    return [str(v) for v in values]


@bp.route("/job/data_view", methods=["POST"])
def job_data_view():
    body = json_body()
    job_id, role, party_id = require(body, "job_id", "role", "party_id")
    view = tracking.read_job_view(str(job_id), str(role), str(party_id))
    if not view:
        raise NotFound("error")
    return ok(view)


@bp.route("/component/metric/all", methods=["POST"])
def component_metric_all():
    metrics = tracking.read_metrics(*_component_request())
    return ok(metrics) if metrics else ok(retmsg="no data")


@bp.route("/component/metrics", methods=["POST"])
def component_metrics():
    metrics = tracking.read_metrics(*_component_request())
    names = {namespace: list(entries) for namespace, entries in metrics.items()}
    return ok(names) if names else ok(retmsg="no data")


@bp.route("/component/metric_data", methods=["POST"])
def component_metric_data():
    job_id, component, role, party_id, namespace, name = _component_request("metric_namespace", "metric_name")
    entry = tracking.read_metrics(job_id, component, role, party_id).get(namespace, {}).get(name, {})
    meta = entry.get("meta") or {"name": None, "metric_type": None}
    return ok(entry.get("data"), meta=meta)


@bp.route("/component/metric/delete", methods=["POST"])
def component_metric_delete():
    body = json_body()
    if body.get("model"):
        raise FlowError("metrics are one table here, not one per day: delete them by job_id")
    (job_id,) = require(body, "job_id")
    keys = ("job_id", "role", "party_id", "component_name", "task_id", "metric_namespace", "metric_name")
    filters = {k: body[k] for k in keys if body.get(k) not in (None, "")}
    return ok(f"deleted {tracking.delete_metrics(filters)} metric rows of job {job_id}")


@bp.route("/component/parameters", methods=["POST"])
def component_parameters():
    job_id, component, role, party_id = _component_request()
    return ok(services().controller.component_parameters(job_id, component, role, party_id), keep_data=True)


@bp.route("/component/output/model", methods=["POST"])
def component_output_model():
    model = services().controller.component_model(*_component_request())
    if model is None:
        return ok(retmsg="no data")
    return ok(model["param"], meta={"meta_data": model["meta"], "module_name": model["module"]})


@bp.route("/component/output/data", methods=["POST"])
def component_output_data():
    try:
        rows, meta = services().output_data.preview(*_component_request())
    except NoOutputData:
        return ok(retmsg="no data")
    return ok(rows, meta=meta)


@bp.route("/component/output/data/download", methods=["GET", "POST"])
def component_output_data_download():
    job_id, component, role, party_id = _component_request()
    body = json_body()
    limit = validate.check_limit("limit", body["limit"]) if body.get("limit") not in (None, "") else -1
    head = body.get("head", True) not in (False, 0, "false", "0")
    if limit == 0:
        return jsonify({"retcode": 500, "retmsg": "limit is 0"}), 500
    try:
        archive = services().output_data.archive(job_id, component, role, party_id, limit, head,
                                                 services().settings.run_dir)
    except NoOutputData:
        return jsonify({"retcode": 500, "retmsg": "no data"}), 500
    stream = open(archive, "rb")
    shutil.rmtree(archive.parent)  # the open handle keeps the data until it is sent
    return send_file(stream, mimetype="application/gzip", as_attachment=True,
                     download_name=f"job_{job_id}_{component}_{role}_{party_id}_output_data.tar.gz")


@bp.route("/component/output/data/table", methods=["POST"])
def component_output_data_table():
    try:
        namespace, name = services().output_data.table_of(*_component_request())
    except NoOutputData:
        raise FlowError("No found table, please check if the parameters are correct") from None
    return ok({"table_name": name, "table_namespace": namespace})


@bp.route(TASK_PREFIX + "/metric_data/save", methods=["POST"])
def save_metric_data(job_id, component_name, task_id, role, party_id):
    body = json_body()
    namespace, name, metrics = require(body, "metric_namespace", "metric_name", "metrics")
    if not isinstance(metrics, list) or any(not isinstance(p, list) or len(p) != 2 for p in metrics):
        raise ArgumentError("metrics", "must be a list of [key, value] pairs")
    MetricTracker(job_id, component_name, task_id, role, party_id).save_metric_data(namespace, name, metrics)
    return ok()


@bp.route(TASK_PREFIX + "/metric_meta/save", methods=["POST"])
def save_metric_meta(job_id, component_name, task_id, role, party_id):
    body = json_body()
    namespace, name, meta = require(body, "metric_namespace", "metric_name", "metric_meta")
    if not isinstance(meta, dict):
        raise ArgumentError("metric_meta", "must be an object")
    MetricTracker(job_id, component_name, task_id, role, party_id).save_metric_meta(namespace, name, meta)
    return ok()


@bp.route(TASK_PREFIX + "/output/table", methods=["POST"])
def commit_output_table(job_id, component_name, task_id, role, party_id):
    meta = services().tables.record_task_output(job_id, component_name, task_id, role, party_id, json_body())
    return ok(meta)
