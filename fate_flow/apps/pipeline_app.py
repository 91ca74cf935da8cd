"""/v1/pipeline: the DAG of a job, as fate-board draws it."""
from __future__ import annotations

from flask import Blueprint

from fate_flow.apps._openapi import OBJECT, api
from fate_flow.apps._request import json_body, require
from fate_flow.apps._response import ok
from fate_flow.apps._services import services
from fate_flow.driver import dsl_parser, job_queries
from fate_flow.errors import FlowError, NotFound

bp = Blueprint("pipeline", __name__, url_prefix="/v1/pipeline")


@bp.route("/dag/dependency", methods=["POST"])
@api("role", "party_id", optional=("job_id", "job_dsl", "job_runtime_conf", "job_train_runtime_conf"), data=OBJECT)
def dag_dependency():
    """The job's DAG as FATEBoard draws it: of a stored job, or of a DSL and conf sent along."""
    body = json_body()
    role, party_id = require(body, "role", "party_id")
    if body.get("job_id"):
        parser = job_queries.job_parser(job_queries.initiator_job(body["job_id"]))
    else:
        try:
            parser = dsl_parser.parse_job(body.get("job_dsl"), body.get("job_runtime_conf"),
                                          body.get("job_train_runtime_conf") or None,
                                          max_components=services().settings.scheduler.max_job_components)
        except FlowError as exc:  # 1.4's retcode, with the parser's message (1.4 sent none)
            raise NotFound(exc.retmsg) from None
    return ok(parser.dependency_answer(role, int(party_id)), keep_data=True)
