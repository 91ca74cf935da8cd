"""/v1/version: the FATE version this server is compatible with."""
from __future__ import annotations

from flask import Blueprint

from fate_flow.apps._openapi import OBJECT, api
from fate_flow import FATE_VERSION
from fate_flow.apps._request import json_body
from fate_flow.apps._response import ok

bp = Blueprint("version", __name__, url_prefix="/v1/version")


@bp.route("/get", methods=["POST", "GET"])
@api(optional=("module",), data=OBJECT)
def get_version():
    """The FATE version this server is compatible with."""
    module = json_body().get("module")
    return ok({module: FATE_VERSION}, keep_data=True)
