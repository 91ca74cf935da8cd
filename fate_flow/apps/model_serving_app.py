"""/v1/model load, load/do and bind, and the built-in serving: FATE-Serving's inference API.

- ``/v1/model/load`` (initiator) -> ``/v1/model/load/do`` on every guest and host party;
- ``/v1/model/bind`` binds a service id to the initiator's model at its servings;
- ``/federation/v1/inference`` and ``/federation/v1/batchInference``: the guest entry;
- ``/v1/serving/host/inference``: a host's share of the score, asked by the guest;
- ``/v1/serving/load`` and ``/v1/serving/bind``: what a party's server asks a serving.

These are static rules, so they win over model_app's ``/v1/model/<path:operation>``.
"""
from __future__ import annotations

import threading

from flask import Blueprint, current_app, jsonify

from fate_flow.app import services
from fate_flow.apps._request import json_body
from fate_flow.serving import ModelKey, ModelPublisher, ServingService
from fate_flow.serving import protocol
from fate_flow.utils.response import envelope, ok

bp = Blueprint("model_serving", __name__)
_EXTENSION = "fate_flow.serving"
_create_lock = threading.Lock()


def _serving() -> tuple[ServingService, ModelPublisher]:
    """This app's serving service and publisher, made on first use from the app's settings."""
    found = current_app.extensions.get(_EXTENSION)
    if found is None:
        with _create_lock:
            found = current_app.extensions.get(_EXTENSION)
            if found is None:
                svc = services()
                serving = ServingService(svc.settings, svc.api, lambda: svc.tables.storage)
                found = current_app.extensions[_EXTENSION] = (serving, ModelPublisher(svc.settings, svc.api, serving))
    return found


@bp.route("/v1/model/load", methods=["POST"])
def load():
    job_id, retcode, retmsg, data = _serving()[1].load(json_body())
    return jsonify(envelope(retcode, retmsg, data, job_id=job_id))


@bp.route("/v1/model/load/do", methods=["POST"])
def load_do():
    _serving()[1].load_do(json_body())
    return ok()


@bp.route("/v1/model/bind", methods=["POST"])
def bind():
    return ok(retmsg=_serving()[1].bind(json_body()))


@bp.route("/federation/v1/inference", methods=["POST"])
def inference():
    request = protocol.parse_single(json_body())
    result = _serving()[0].infer(request.service_id, request.features, request.remotes)
    if result.errors:
        raise result.errors[0]
    return jsonify(protocol.single_answer(result.scores[0], result.model.entry))


@bp.route("/federation/v1/batchInference", methods=["POST"])
def batch_inference():
    request = protocol.parse_batch(json_body())
    result = _serving()[0].infer(request.service_id, request.features, request.remotes)
    return jsonify(protocol.batch_answer(request.indexes, result.scores, result.errors, result.model.entry))


@bp.route("/v1/serving/host/inference", methods=["POST"])
def host_inference():
    body = json_body()
    return ok(_serving()[0].host_share(_model_key(body), body.get("featureIdList")))


@bp.route("/v1/serving/load", methods=["POST"])
def serving_load():
    body = json_body()
    return ok(_serving()[0].load(_model_key(body), body.get("transfer_address")))


@bp.route("/v1/serving/bind", methods=["POST"])
def serving_bind():
    body = json_body()
    _serving()[0].bind(str(body.get("service_id") or ""), _model_key(body))
    return ok()


def _model_key(body: dict) -> ModelKey:
    """The model a serving route names: role, party_id, model_id, model_version."""
    from fate_flow.serving.publish import model_key

    return model_key({"job_parameters": body, "local": body}, "local")
