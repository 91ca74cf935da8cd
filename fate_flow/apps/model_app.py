"""/v1/model: store, restore, export, import, transfer (load and bind: model_serving_app)."""
from __future__ import annotations

import io
import json
from pathlib import Path

from flask import Blueprint, Response, request, send_file

from fate_flow.apps._openapi import MIGRATE_BODY, MODEL, OBJECT, ROWS, api
from fate_flow.apps._request import json_body, raw_body
from fate_flow.apps._response import errors_as_http_status_now, ok
from fate_flow.apps._services import services
from fate_flow.errors import ArgumentError, FlowError, RequiredModelArgumentsError
from fate_flow.services.model_center import ModelCenter
from fate_flow.stores.model_catalogue import ModelRef, check_name
from fate_flow.utils.ids import generate_job_id

bp = Blueprint("model", __name__, url_prefix="/v1/model")
MODEL_FIELDS = ("role", "party_id", "model_id", "model_version")


def center() -> ModelCenter:
    """This party's model center."""
    return services().model_center


def _required(body: dict, fields: tuple[str, ...]) -> list[str]:
    """The fields' values as strings; FATE's "arguments are required" (101) if any is missing."""
    missing = [f for f in fields if body.get(f) in (None, "")]
    if missing:
        raise RequiredModelArgumentsError(missing)
    return [str(body[f]) for f in fields]


def _model_ref(body: dict) -> ModelRef:
    """The party's model named by the request (its model_id becomes ``role#party_id#model_id``)."""
    return ModelRef(*_required(body, MODEL_FIELDS))


def _flag(body: dict, field: str) -> bool:
    value = body.get(field, False)
    if value in (True, False, 0, 1) or str(value).lower() in ("true", "false", "0", "1", ""):
        return str(value).lower() in ("true", "1")
    raise ArgumentError(field, f"should be true or false, got {value!r}")


@bp.route("/store", methods=["GET", "POST"])
@api(*MODEL, optional=("force_update", "store_address"), data=OBJECT)
def store():
    """Queue a job that puts a model version into the model store (MySQL or Redis)."""
    body = json_body()
    job_id = generate_job_id()
    data = center().submit_store(_model_ref(body), job_id, _flag(body, "force_update"), body.get("store_address"))
    return ok(data, job_id=job_id)


@bp.route("/restore", methods=["GET", "POST"])
@api(*MODEL, optional=("store_address",), data=OBJECT)
def restore():
    """Queue a job that brings a stored model version back into the model cache."""
    body = json_body()
    job_id = generate_job_id()
    data = center().submit_restore(_model_ref(body), job_id, body.get("store_address"))
    return ok(data, job_id=job_id)


@bp.route("/export", methods=["GET", "POST"])
@api(*MODEL, answer="file")
def export():
    """A zip of a model version."""
    stream, name = center().export(_model_ref(json_body()))
    response = send_file(stream, mimetype="application/zip", as_attachment=True, download_name=name)
    # unquoted, as 1.4 sent it: the client reads the name with the regex filename=(.+)
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response


@bp.route("/import", methods=["POST"])
@raw_body
@api(form=True)
def import_model():
    """Unpack an uploaded model zip as a model version of this party."""
    models = center()
    models.check_upload_size(request.content_length)  # before the body is streamed to disk
    upload_dir = models.new_upload_dir()
    request.environ["fate_flow.upload_dir"] = str(upload_dir)  # the archive is streamed there
    try:
        ref = _model_ref(request.form.to_dict())
        received = request.files.get("file")
        if received is None:
            raise ArgumentError("file", "is required: send the model archive as the multipart part 'file'")
        received.close()
        models.import_archive(ref, Path(received.stream.name))
    finally:
        models.discard_upload(upload_dir)
    return ok()


@bp.route("/transfer", methods=["POST"])
@api("namespace", "name", data=OBJECT)
def transfer():
    """Every file of a model version, base64-encoded (what a serving pulls)."""
    return ok(center().transfer(*_required(json_body(), ("namespace", "name"))))


@bp.route("/deploy", methods=["POST"])
@api("model_id", "model_version", optional=("cpn_list", "predict_dsl", "dsl"), data=OBJECT)
def deploy():
    """A new model version of chosen components of a DSL v2 model on every party of it (FATE 1.5.1+)."""
    body = json_body()
    model_id, model_version = _required(body, ("model_id", "model_version"))
    predict_dsl = body.get("predict_dsl") or body.get("dsl")  # the SDK's key, and the 1.6 CLI's (--dsl-path)
    return ok(services().deployer.deploy(model_id, model_version, body.get("cpn_list"), predict_dsl))


@bp.route("/deploy/do", methods=["POST"])
@api("model_id", "model_version", "child_model_version", "local", "predict_dsl")
def deploy_do():
    """This party's share of a deploy (the initiator's party call): its copy of the new version."""
    return ok(retmsg=services().deployer.deploy_party(json_body()))


@bp.route("/get/predict/dsl", methods=["POST"])
@api("model_id", "model_version", optional=("filename",), data=OBJECT)
def get_predict_dsl():
    """The predict DSL of a model version (a deployed one, for DSL v2); a JSON file if ``filename`` is given."""
    body = json_body()
    model_id, model_version = _required(body, ("model_id", "model_version"))
    return _json_or_file(body, lambda: services().deployer.predict_dsl(model_id, model_version))


@bp.route("/get/predict/conf", methods=["POST"])
@api("model_id", "model_version", optional=("filename",), data=OBJECT)
def get_predict_conf():
    """A predict conf template of a deployed version (its Reader tables left to fill in); a file with ``filename``."""
    body = json_body()
    model_id, model_version = _required(body, ("model_id", "model_version"))
    return _json_or_file(body, lambda: services().deployer.predict_conf(model_id, model_version))


def _json_or_file(body: dict, read) -> Response:
    """``read()`` as the answer's data, or, as FATE 1.5+ answers the CLI (which sends ``filename`` and
    writes an HTTP 200 body to that file), as a JSON file; errors then come at HTTP 400/404."""
    if body.get("filename") in (None, ""):
        return ok(read(), keep_data=True)
    errors_as_http_status_now()
    name = check_name("filename", body["filename"])
    content = json.dumps(read(), indent=4).encode("utf-8")
    return send_file(io.BytesIO(content), mimetype="application/json", as_attachment=True, download_name=name)


@bp.route("/query", methods=["POST"])
@api(optional=("model_id", "model_version", "role", "party_id"), data=ROWS)
def query():
    """Model versions of this server's parties, by model_id, model_version, role and party_id."""
    body = json_body()
    rows = services().models.models(body.get("role"), body.get("party_id"), body.get("model_id"),
                                    body.get("model_version"))
    if not rows:
        raise FlowError("No model found, please check if arguments are specified correctly.")
    return ok(rows, keep_data=True)


@bp.route("/migrate", methods=["POST"])
@api(body=MIGRATE_BODY, data=OBJECT)
def migrate():
    """A model under new party ids (FATE 1.5's ``flow model migrate``), asked of every execute party."""
    return ok(center().migrate(json_body()), retmsg="migrating model successfully")


@bp.route("/migrate/do", methods=["POST"])
@api(body=MIGRATE_BODY)
def migrate_do():
    """This party's share of a migrate (the initiator's party call): its model under the new party ids."""
    return ok(retmsg=center().migrate_party(json_body()))


# ---- FATE 1.5's tags: /tag/* (flow tag) and /model_tag/* (flow model tag-model, tag-list)

@bp.route("/tag/create", methods=["POST"])
@api("tag_name", optional=("tag_desc",))
def create_tag():
    body = json_body()
    return ok(retmsg=services().model_tags.create(body.get("tag_name"), body.get("tag_desc")))


@bp.route("/tag/retrieve", methods=["POST"])
@api("tag_name", optional=("with_model",), data=OBJECT)
def retrieve_tag():
    body = json_body()
    return ok(services().model_tags.retrieve(body.get("tag_name"), _flag(body, "with_model")))


@bp.route("/tag/update", methods=["POST"])
@api("tag_name", optional=("new_tag_name", "new_tag_desc"))
def update_tag():
    body = json_body()
    return ok(retmsg=services().model_tags.update(body.get("tag_name"), body.get("new_tag_name"),
                                                  body.get("new_tag_desc")))


@bp.route("/tag/destroy", methods=["POST"])
@api("tag_name")
def destroy_tag():
    return ok(retmsg=services().model_tags.destroy(json_body().get("tag_name")))


@bp.route("/tag/list", methods=["POST"])
@api(optional=("limit",), data=ROWS)
def list_tags():
    return ok(services().model_tags.list(json_body().get("limit")), keep_data=True)


@bp.route("/model_tag/create", methods=["POST"])
@api("job_id", "tag_name", optional=("remove",))
def tag_model():
    """Tag the model of ``job_id``; with ``remove`` (the CLI's --remove) take the tag off instead."""
    body = json_body()
    tags = services().model_tags
    if _flag(body, "remove"):
        return ok(retmsg=tags.untag_model(body.get("job_id"), body.get("tag_name")))
    return ok(retmsg=tags.tag_model(body.get("job_id"), body.get("tag_name")))


@bp.route("/model_tag/remove", methods=["POST"])
@api("job_id", "tag_name")
def untag_model():
    body = json_body()
    return ok(retmsg=services().model_tags.untag_model(body.get("job_id"), body.get("tag_name")))


@bp.route("/model_tag/retrieve", methods=["POST"])
@api("job_id", data=ROWS)
def model_tags():
    return ok(services().model_tags.model_tags(json_body().get("job_id")))


@bp.route("/<path:operation>", methods=["GET", "POST"])
@api()
def unsupported(operation):
    """Any other /v1/model operation: FATE's 'can not support' answer."""
    raise FlowError(f"Can not support this operating now: {operation}")
