"""/v1/schedule: the internal party-to-party routes (the initiator calls them, itself included)."""
from __future__ import annotations

from flask import Blueprint

from fate_flow.apps._openapi import OBJECT, ROWS, api
from fate_flow.apps._request import json_body
from fate_flow.apps._response import ok
from fate_flow.apps._services import services
from fate_flow.driver.status import JobStatus, TaskStatus
from fate_flow.utils import validate

bp = Blueprint("schedule", __name__, url_prefix="/v1/schedule")


@bp.route("/<job_id>/<role>/<party_id>/create", methods=["POST"])
@api(body=OBJECT)
def create_job(job_id, role, party_id):
    """Create this party's share of a job the initiator submitted."""
    validate.check_report(json_body(), JobStatus)
    services().party_jobs.create(job_id, role, party_id, json_body())
    return ok()


@bp.route("/<job_id>/<role>/<party_id>/status", methods=["POST"])
@api(body=OBJECT)
def sync_job_status(job_id, role, party_id):
    """Apply the initiator's status (or progress) update to this party's job row."""
    validate.check_report(json_body(), JobStatus)
    services().party_jobs.update(job_id, role, party_id, json_body())
    return ok()


@bp.route("/<job_id>/<role>/<party_id>/tasks", methods=["POST"])
@api(data=ROWS)
def query_party_tasks(job_id, role, party_id):
    """This party's tasks of the job: the initiator polls it when status reports are overdue."""
    return ok(data=services().party_jobs.tasks(job_id, role, party_id))


@bp.route("/<job_id>/<role>/<party_id>/kill", methods=["POST"])
@api(optional=("component_name", "timeout"))
def kill_job(job_id, role, party_id):
    """Kill this party's unfinished tasks of the job (a stop or a timeout at the initiator)."""
    body = json_body()
    services().party_jobs.kill_tasks(job_id, role, party_id, body.get("component_name") or "",
                                     bool(body.get("timeout")))
    return ok()


@bp.route("/<job_id>/<role>/<party_id>/pipeline/save", methods=["POST"])
@api()
def save_pipeline(job_id, role, party_id):
    """Save the finished job's pipeline in this party's model directory."""
    services().party_jobs.save_pipeline(job_id, role, party_id)
    return ok()


@bp.route("/<job_id>/<role>/<party_id>/rerun", methods=["POST"])
@api(optional=("components",))
def prepare_rerun(job_id, role, party_id):
    """Forget this party's tasks of the components to rerun and put its job back to waiting."""
    services().rerunner.prepare_party(job_id, role, party_id, json_body().get("components"))
    return ok()


@bp.route("/<job_id>/<role>/<party_id>/conf/update", methods=["POST"])
@api(optional=("runtime_conf",))
def update_conf(job_id, role, party_id):
    """Store the initiator's updated runtime conf of this party's ended job."""
    services().rerunner.update_party_conf(job_id, role, party_id, json_body().get("runtime_conf"))
    return ok()


@bp.route("/<job_id>/<role>/<party_id>/clean", methods=["POST"])
@api()
def clean_job(job_id, role, party_id):
    """Remove this party's temporary files of an ended job."""
    services().party_jobs.clean(job_id, role, party_id)
    return ok()


@bp.route("/<job_id>/<component_name>/<task_id>/<role>/<party_id>/run", methods=["POST"])
@api(body=OBJECT)
def run_task(job_id, component_name, task_id, role, party_id):
    """Prepare this party's task of a component and queue it for launch."""
    services().party_jobs.request_task_run(job_id, component_name, role, party_id, json_body())
    return ok()


@bp.route("/<job_id>/<component_name>/<task_id>/<role>/<party_id>/status", methods=["POST"])
@api(body=OBJECT)
def report_task_status(job_id, component_name, task_id, role, party_id):
    """Record a task's status report (from its process, or forwarded by its party's server)."""
    validate.check_report(json_body(), TaskStatus)
    services().party_jobs.report_task_status(job_id, component_name, role, party_id, json_body())
    return ok()
