"""/v1/info, /v1/component and /v1/checkpoint: FATE 1.5+'s service facts, DSL validation and checkpoints."""
from __future__ import annotations

from flask import Blueprint

from fate_flow.apps._openapi import OBJECT, ROWS, api
from fate_flow.apps._request import json_body, require
from fate_flow.apps._response import errors_as_http_status, ok
from fate_flow.apps._services import services
from fate_flow.errors import CheckpointNotFound, CheckpointRequestError, FlowError

info_bp = Blueprint("info", __name__, url_prefix="/v1/info")
component_bp = Blueprint("component", __name__, url_prefix="/v1/component")
checkpoint_bp = Blueprint("checkpoint", __name__, url_prefix="/v1/checkpoint")


@info_bp.route("/fateboard", methods=["POST", "GET"])
@api(data=OBJECT)
def fateboard():
    """Where this party's FATEBoard is: service_conf.yaml's fateboard section, else this server's own dashboard."""
    host, port = services().settings.board_address.rsplit(":", 1)
    return ok({"host": host, "port": int(port)})


@info_bp.route("/<path:what>", methods=["POST", "GET"])
@api()
def other_info(what):
    """EggRoll, MySQL and the other 1.7+ facts: this server has no such service to describe."""
    raise FlowError(f"/v1/info/{what} is not available: this server runs no EggRoll or FATE cluster services "
                    f"(it computes on its local engine or Spark); see /v1/info/fateboard")


@component_bp.route("/validate", methods=["POST"])
@api(optional=("dsl", "runtime_conf", "job_dsl", "job_runtime_conf"), data=OBJECT)
def validate_dsl():
    """Check a DSL and runtime conf as a submit would, without creating anything; the warnings."""
    body = json_body()
    dsl = body.get("dsl") or body.get("job_dsl") or {}
    conf = body.get("runtime_conf") or body.get("job_runtime_conf") or {}
    warnings = services().submitter.validate(dsl, conf)
    return ok({"warnings": warnings} if warnings else None, retmsg="validate success")


CHECKPOINT_FIELDS = ("role", "party_id", "model_id", "model_version", "component_name")


def _checkpoint_component(body: dict) -> str:
    """The component a checkpoint request names; FATE 1.7's 400 if a field is missing."""
    try:
        return str(require(body, *CHECKPOINT_FIELDS)[-1])
    except FlowError as exc:
        raise CheckpointRequestError(exc.retmsg) from None


# FATE-Flow 1.7+ answers these routes' errors with the HTTP status of their retcode (400, 404)
@checkpoint_bp.route("/list", methods=["POST"])
@errors_as_http_status
@api(*CHECKPOINT_FIELDS, data=ROWS)
def list_checkpoints():
    """A component's checkpoints (FATE 1.7+): an empty list, since no component of this server keeps any."""
    _checkpoint_component(json_body())
    return ok([], keep_data=True)


@checkpoint_bp.route("/get", methods=["POST"])
@errors_as_http_status
@api(*CHECKPOINT_FIELDS, optional=("step_index", "step_name"))
def get_checkpoint():
    """One checkpoint by ``step_index`` or ``step_name``: FATE's 404 "not found", naming component and step."""
    body = json_body()
    component = _checkpoint_component(body)
    if "step_index" in body:
        try:
            step = f"step_index {int(body['step_index'])}"
        except (TypeError, ValueError):
            raise CheckpointRequestError("Invalid 'step_index'") from None
    elif "step_name" in body:
        step = f"step_name {body['step_name']}"
    else:
        raise CheckpointRequestError("'step_index' or 'step_name' is required")
    raise CheckpointNotFound(component, step)
