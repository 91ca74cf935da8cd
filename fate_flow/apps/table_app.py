"""/v1/table: table_info and delete; FATE 1.5+'s list, add and bind."""
from __future__ import annotations

from flask import Blueprint

from fate_flow.apps._openapi import OBJECT, ROWS, api
from fate_flow.apps._request import json_body
from fate_flow.apps._response import ok
from fate_flow.apps._services import services
from fate_flow.apps._request import require
from fate_flow.driver import job_queries
from fate_flow.driver.status import JobStatus
from fate_flow.utils.ids import generate_job_id
from fate_flow.errors import FlowError, TableNotFound

bp = Blueprint("table", __name__, url_prefix="/v1/table")


@bp.route("/table_info", methods=["POST"])
@api(optional=("namespace", "table_name", "name"), data=OBJECT)
def table_info():
    """A table's count, partitions and schema (count 0 for a missing table)."""
    return ok(services().data_access.table_info(json_body()), keep_data=True)


@bp.route("/delete", methods=["POST"])
@api(optional=("namespace", "table_name", "job_id", "role", "party_id", "component_name"), data=ROWS)
def delete_table():
    """Delete a table, or the output tables of a job's tasks."""
    deleted = services().data_access.delete_tables(json_body())
    if not deleted:
        raise TableNotFound()
    return ok(deleted)


@bp.route("/list", methods=["POST"])
@api("job_id", "role", "party_id", data=OBJECT)
def list_tables():
    """A party's input and output tables of a job, by component (FATE 1.5.1+)."""
    job_id, role, party_id = require(json_body(), "job_id", "role", "party_id")
    return ok(job_queries.job_tables(job_id, str(role), str(party_id)))


@bp.route("/add", methods=["POST"])
@bp.route("/bind", methods=["POST"])
@api(optional=("engine", "namespace", "name"))
def add_table():
    """A table from a file already on this machine (FATE 1.5's add, 1.10's bind): read in, answered when there."""
    access = services().data_access
    job_id, _ = access.submit_table_add(json_body(), generate_job_id())
    status = access.wait_local_job(job_id)
    body = json_body()
    table = {"table_name": body["name"], "namespace": body["namespace"]}
    if status == str(JobStatus.SUCCESS):
        return ok(table, job_id=job_id)
    if status in (str(JobStatus.WAITING), str(JobStatus.RUNNING)):
        return ok(table, retmsg=f"the file is still being read in by job {job_id}", job_id=job_id)
    raise FlowError(f"reading address.path into {body['namespace']}.{body['name']} {status} (job {job_id}): "
                    f"{access.failure_reason(job_id) or 'see the job log'}")
