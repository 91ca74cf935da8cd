"""/v1/table: table_info and delete."""
from __future__ import annotations

from flask import Blueprint

from fate_flow.apps._request import json_body
from fate_flow.apps._response import ok
from fate_flow.apps._services import services
from fate_flow.errors import TableNotFound

bp = Blueprint("table", __name__, url_prefix="/v1/table")


@bp.route("/table_info", methods=["POST"])
def table_info():
    """A table's count, partitions and schema (count 0 for a missing table)."""
    return ok(services().data_access.table_info(json_body()), keep_data=True)


@bp.route("/delete", methods=["POST"])
def delete_table():
    """Delete a table, or the output tables of a job's tasks."""
    deleted = services().data_access.delete_tables(json_body())
    if not deleted:
        raise TableNotFound()
    return ok(deleted)
