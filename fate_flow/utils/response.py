"""The {retcode, retmsg, data, jobId, meta} envelope of every answer.

FATE 1.4 drops every falsy key except ``retcode``; clients index ``data`` after a
retcode 0, so routes whose clients do that pass ``keep_data=True``.
"""
from __future__ import annotations

from typing import Any

from fate_flow.errors import SUCCESS


def envelope(retcode: int = SUCCESS, retmsg: str = "success", data: Any = None,
             job_id: str | None = None, meta: Any = None, keep_data: bool = False) -> dict:
    """Build the answer dict with FATE's falsy-key rule."""
    body = {"retcode": retcode}
    for key, value in (("retmsg", retmsg), ("data", data), ("jobId", job_id), ("meta", meta)):
        if value or (key == "data" and keep_data and value is not None):
            body[key] = value
    return body
