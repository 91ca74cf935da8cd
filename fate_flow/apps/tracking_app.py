"""/v1/tracking: metric writes from task processes (reads come with the components)."""
from __future__ import annotations

from flask import Blueprint

from fate_flow.app import services
from fate_flow.apps._request import json_body, require
from fate_flow.errors import ArgumentError
from fate_flow.manager.tracking import MetricTracker
from fate_flow.utils.response import ok

bp = Blueprint("tracking", __name__, url_prefix="/v1/tracking")
TASK_PREFIX = "/<job_id>/<component_name>/<task_id>/<role>/<party_id>"


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
    meta = services().tables.commit_task_output(job_id, component_name, task_id, role, party_id, json_body())
    return ok(meta)
