"""/v1/data: upload, download, upload history. Uploads and downloads are local jobs."""
from __future__ import annotations

import logging

from flask import Blueprint, request

from fate_flow.apps._openapi import OBJECT, ROWS, api
from fate_flow.apps._request import json_body, raw_body
from fate_flow.apps._response import ok
from fate_flow.apps._services import services
from fate_flow.errors import ArgumentError, FlowError
from fate_flow.utils import validate
from fate_flow.utils.ids import generate_job_id

bp = Blueprint("data_access", __name__, url_prefix="/v1/data")
logger = logging.getLogger("fate_flow.data_access")


def _query_conf() -> dict:
    """The upload conf of a multipart request: key=value query args, or the JSON text as the only key.

    FATE 1.4's client (and fate-client 1.5.0) send ``file=..&head=..&namespace=..``;
    fate-client 1.5.1+ sends the URL-encoded JSON text of the whole conf (1.7+ without work_mode), which Flask
    reads as one key with an empty value (a key starting with ``{``, or ``[`` for JSON that
    is not an object, is read as such text). Anything else is taken as key=value pairs, so
    that a conf without ``namespace`` or ``table_name`` is refused naming those fields.
    """
    args = request.args.to_dict()
    if len(args) != 1:
        return args
    (text, value), = args.items()
    if value or not text.lstrip().startswith(("{", "[")):
        return args
    try:
        conf = validate.parse_json_text("query string", text)  # depth-checked
    except ArgumentError:
        raise ArgumentError("query string", "is not valid JSON text") from None
    if not isinstance(conf, dict):
        raise ArgumentError("query string", "JSON text must be an object")
    conf.setdefault("work_mode", services().settings.work_mode)  # fate-client 1.7+ no longer sends it
    return conf


@bp.route("/upload", methods=["POST"])
@raw_body
@api(form=True, data=OBJECT)
def upload():
    """Upload a file (multipart, or a server path with use_local_data 0) as a table: a local job."""
    svc = services()
    svc.data_access.expect_task()  # its task process starts while the file comes in
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
@api("namespace", "table_name", "output_path", optional=("work_mode", "delimitor"), data=OBJECT)
def download():
    """Write a table to a server path as delimited text: a local job."""
    return _answer(*services().data_access.submit_download(json_body(), generate_job_id()))


@bp.route("/upload/history", methods=["POST"])
@api(optional=("job_id", "limit"), data=ROWS)
def upload_history():
    """Successful uploads, newest first."""
    body = json_body()
    return ok(services().data_access.upload_history(body.get("job_id"), body.get("limit")), keep_data=True)


@bp.route("/<operation>", methods=["POST"])
@api()
def unsupported(operation):
    """Any other /v1/data operation: FATE's 'can not support' answer."""
    raise FlowError(f"can not support this operating: {operation}")


def _answer(job_id: str, data: dict):
    return ok(data, job_id=job_id)
