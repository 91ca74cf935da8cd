"""/v1/data: upload, download, upload history. Uploads and downloads are local jobs."""
from __future__ import annotations

import json
import logging

from flask import Blueprint, request

from fate_flow.app import services
from fate_flow.apps._request import json_body
from fate_flow.driver.waker import PREWARM, notify, socket_path
from fate_flow.errors import ArgumentError, FlowError
from fate_flow.utils.ids import generate_job_id
from fate_flow.utils.response import ok

bp = Blueprint("data_access", __name__, url_prefix="/v1/data")
logger = logging.getLogger("fate_flow.data_access")


def _query_conf() -> dict:
    """The upload conf of a multipart request: key=value query args, or the JSON text as the only key."""
    args = request.args.to_dict()
    if "namespace" in args and "table_name" in args or not args:
        return args
    try:
        conf = json.loads(next(iter(args)))
    except ValueError:
        raise ArgumentError("query string", "is neither key=value pairs nor JSON text") from None
    if not isinstance(conf, dict):
        raise ArgumentError("query string", "JSON text must be an object")
    return conf


@bp.route("/upload", methods=["POST"])
def upload():
    svc = services()
    notify(socket_path(svc.settings.run_dir), PREWARM)  # its task process starts while the file comes in
    job_id = generate_job_id()
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict) and str(body.get("use_local_data", "")) == "0":
        return _answer(*svc.data_access.submit_upload(body, job_id, None))
    request.environ["fate_flow.upload_dir"] = str(svc.data_access.upload_dir(job_id))
    logger.info("upload %s: receiving the file", job_id)  # the benchmark's phases read these two lines
    received = request.files.get("file")
    if received is None:
        raise ArgumentError("file", "is required: send the file as the multipart part 'file', "
                                    "or a JSON body with use_local_data 0 and a server path")
    received.close()
    logger.info("upload %s: file received", job_id)
    return _answer(*svc.data_access.submit_upload(_query_conf(), job_id, received.stream.name))


@bp.route("/download", methods=["POST"])
def download():
    return _answer(*services().data_access.submit_download(json_body(), generate_job_id()))


@bp.route("/upload/history", methods=["POST"])
def upload_history():
    body = json_body()
    return ok(services().data_access.upload_history(body.get("job_id"), body.get("limit")), keep_data=True)


@bp.route("/<operation>", methods=["POST"])
def unsupported(operation):
    raise FlowError(f"can not support this operating: {operation}")


def _answer(job_id: str, data: dict):
    return ok(data, job_id=job_id)
