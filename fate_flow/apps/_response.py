"""Flask answers in FATE's {retcode, retmsg, data, jobId, meta} envelope."""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from fate_flow.errors import SUCCESS
from fate_flow.utils.response import envelope


def ok(data: Any = None, retmsg: str = "success", job_id: str | None = None, meta: Any = None,
       keep_data: bool = False) -> Response:
    """A retcode 0 answer."""
    return jsonify(envelope(SUCCESS, retmsg, data, job_id, meta, keep_data))
