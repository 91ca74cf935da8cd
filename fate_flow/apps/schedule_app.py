"""/v1/schedule: the internal party-to-party routes (the initiator calls them, itself included)."""
from __future__ import annotations

from flask import Blueprint

from fate_flow.app import services
from fate_flow.apps._request import json_body
from fate_flow.driver.status import JobStatus, TaskStatus
from fate_flow.utils import validate
from fate_flow.utils.response import ok

bp = Blueprint("schedule", __name__, url_prefix="/v1/schedule")


@bp.route("/<job_id>/<role>/<party_id>/create", methods=["POST"])
def create_job(job_id, role, party_id):
    validate.check_report(json_body(), JobStatus)
    services().controller.create_party_job(job_id, role, party_id, json_body())
    return ok()


@bp.route("/<job_id>/<role>/<party_id>/status", methods=["POST"])
def sync_job_status(job_id, role, party_id):
    validate.check_report(json_body(), JobStatus)
    services().controller.update_party_job(job_id, role, party_id, json_body())
    return ok()


@bp.route("/<job_id>/<role>/<party_id>/tasks", methods=["POST"])
def query_party_tasks(job_id, role, party_id):
    """This party's tasks of the job: the initiator polls it when status reports are overdue."""
    return ok(data=services().controller.party_tasks(job_id, role, party_id))


@bp.route("/<job_id>/<role>/<party_id>/kill", methods=["POST"])
def kill_job(job_id, role, party_id):
    body = json_body()
    services().controller.kill_party_tasks(job_id, role, party_id, body.get("component_name") or "",
                                           bool(body.get("timeout")))
    return ok()


@bp.route("/<job_id>/<role>/<party_id>/pipeline/save", methods=["POST"])
def save_pipeline(job_id, role, party_id):
    services().controller.save_pipeline(job_id, role, party_id)
    return ok()


@bp.route("/<job_id>/<role>/<party_id>/clean", methods=["POST"])
def clean_job(job_id, role, party_id):
    services().controller.clean_party_job(job_id, role, party_id)
    return ok()


@bp.route("/<job_id>/<component_name>/<task_id>/<role>/<party_id>/run", methods=["POST"])
def run_task(job_id, component_name, task_id, role, party_id):
    services().controller.request_task_run(job_id, component_name, role, party_id, json_body())
    return ok()


@bp.route("/<job_id>/<component_name>/<task_id>/<role>/<party_id>/status", methods=["POST"])
def report_task_status(job_id, component_name, task_id, role, party_id):
    validate.check_report(json_body(), TaskStatus)
    services().controller.report_task_status(job_id, component_name, role, party_id, json_body())
    return ok()
