"""/v1/table: table_info and delete; FATE 1.5+'s list, add and bind."""
from __future__ import annotations

from flask import Blueprint

from fate_flow.apps._openapi import OBJECT, ROWS, api
from fate_flow.apps._request import json_body
from fate_flow.apps._response import ok
from fate_flow.apps._services import services
from fate_flow.apps._request import require
from fate_flow.driver import job_queries
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
    """Register a table kept elsewhere (an EggRoll, HDFS or MySQL address): not possible here."""
    engine = json_body().get("engine") or "another engine"
    raise FlowError(f"tables of {engine} can not be added or bound here: this server keeps its tables itself; "
                    f"upload the data instead (/v1/data/upload, flow data upload)")
