"""/v1/model load, load/do and bind, and the built-in serving: FATE-Serving's inference API.

- ``/v1/model/load`` (initiator) -> ``/v1/model/load/do`` on every guest and host party;
- ``/v1/model/bind`` binds a service id to the initiator's model at its servings;
- ``/federation/v1/inference`` and ``/federation/v1/batchInference``: the guest entry;
- ``/v1/serving/host/inference``: a host's share of the score, asked by the guest;
- ``/v1/serving/load`` and ``/v1/serving/bind``: what a party's server asks a serving.

These are static rules, so they win over model_app's ``/v1/model/<path:operation>``.
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify

from fate_flow.apps._openapi import INFERENCE, OBJECT, SERVING_ANSWER, api
from fate_flow import serving
from fate_flow.apps._request import json_body
from fate_flow.apps._response import ok
from fate_flow.apps._services import services
from fate_flow.serving import protocol
from fate_flow.utils.response import envelope

bp = Blueprint("model_serving", __name__)


def _publisher() -> "serving.ModelPublisher":
    """This party's publisher and its serving (built on first use: the engine loads numpy)."""
    return services().publisher.get()


def _serving() -> "serving.ServingService":
    return _publisher().serving


@bp.route("/v1/model/load", methods=["POST"])
@api(body=OBJECT, data=OBJECT)
def load():
    """Ask every guest and host party of a model to load it at their servings."""
    job_id, retcode, retmsg, data = _publisher().load(json_body())
    return jsonify(envelope(retcode, retmsg, data, job_id=job_id))


@bp.route("/v1/model/load/do", methods=["POST"])
@api(body=OBJECT)
def load_do():
    """Load this party's share of a model at its servings (called by the initiator)."""
    _publisher().load_do(json_body())
    return ok()


@bp.route("/v1/model/bind", methods=["POST"])
@api("service_id", optional=("servings",), body=None)
def bind():
    """Bind a service id to the initiator's model at its servings."""
    return ok(retmsg=_publisher().bind(json_body()))


@bp.route("/federation/v1/inference", methods=["POST"])
@api(body=INFERENCE, answer="json", answer_schema=SERVING_ANSWER)
def inference():
    """FATE-Serving's single inference: the guest scores one row, asking the hosts for their shares."""
    request = protocol.parse_single(json_body())
    result = _serving().infer(request.service_id, request.features, request.remotes)
    if result.errors:
        raise result.errors[0]
    return jsonify(protocol.single_answer(result.scores[0], result.model.entry, result.warnings.get(0)))


@bp.route("/federation/v1/batchInference", methods=["POST"])
@api(body=INFERENCE, answer="json", answer_schema=SERVING_ANSWER)
def batch_inference():
    """FATE-Serving's batch inference: one score (or error) per row."""
    request = protocol.parse_batch(json_body())
    result = _serving().infer(request.service_id, request.features, request.remotes)
    return jsonify(protocol.batch_answer(request.indexes, result.scores, result.errors, result.model.entry,
                                         result.warnings))


@bp.route("/v1/serving/host/inference", methods=["POST"])
@api("role", "party_id", "model_id", "model_version", optional=("featureIdList",), data=OBJECT)
def host_inference():
    """A host's share of the scores of the guest's rows (party call)."""
    body = json_body()
    # the guard leaves the signed caller's party in g when party calls are signed
    return ok(_serving().host_share(serving.serving_key(body), body.get("featureIdList"), g.get("fate_party")))


@bp.route("/v1/serving/load", methods=["POST"])
@api("role", "party_id", "model_id", "model_version", optional=("transfer_address",), data=OBJECT)
def serving_load():
    """Load a model on this serving, from the cache or pulled from its server."""
    body = json_body()
    return ok(_serving().load(serving.serving_key(body), body.get("transfer_address")))


@bp.route("/v1/serving/bind", methods=["POST"])
@api("service_id", "role", "party_id", "model_id", "model_version")
def serving_bind():
    """Bind a service id to a model loaded on this serving."""
    body = json_body()
    _serving().bind(body.get("service_id"), serving.serving_key(body))
    return ok()

