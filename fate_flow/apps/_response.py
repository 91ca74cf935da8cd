"""Flask answers in FATE's {retcode, retmsg, data, jobId, meta} envelope."""
from __future__ import annotations

from typing import Any, Callable

from flask import Response, g, jsonify

from fate_flow.errors import SUCCESS, FlowError, NotFound
from fate_flow.utils.response import envelope

HTTP_NOT_FOUND, HTTP_BAD_REQUEST = 404, 400


def ok(data: Any = None, retmsg: str = "success", job_id: str | None = None, meta: Any = None,
       keep_data: bool = False) -> Response:
    """A retcode 0 answer."""
    return jsonify(envelope(SUCCESS, retmsg, data, job_id, meta, keep_data))


def errors_as_http_status(route: Callable) -> Callable:
    """Mark a route that answers a file: its FlowErrors are answered with HTTP 404 (NotFound) or 400.

    Clients (FATE 1.4's among them) read an HTTP 200 answer of these routes as the archive and
    the JSON envelope only from another status, so an error answered 200 would reach the user as
    "download failed" instead of what was not found. The app's one error renderer applies it,
    so errors of the checks run before the route are answered the same way.
    """
    route.errors_as_http_status = True
    return route


def errors_as_http_status_now() -> None:
    """Answer this request's FlowErrors as ``errors_as_http_status`` does: for a route that answers
    a file only when asked for one (a ``filename`` in the request)."""
    g.errors_as_http_status = True


def error_status(exc: FlowError, view: Callable | None) -> int:
    """The HTTP status of a FlowError's envelope: 200 (1.4's way), or 404/400 on a route marked above."""
    if not (getattr(view, "errors_as_http_status", False) or g.get("errors_as_http_status", False)):
        return 200
    return HTTP_NOT_FOUND if isinstance(exc, NotFound) else HTTP_BAD_REQUEST
