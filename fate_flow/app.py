"""The Flask application factory: one app, one blueprint per /v1 group, one error handler."""
from __future__ import annotations

import logging

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException

from fate_flow.apps import BLUEPRINTS
from fate_flow.apps._app_auth import install_app_auth
from fate_flow.apps._request import FlowRequest, check_request
from fate_flow.apps._response import error_status
from fate_flow.apps._security import install_security
from fate_flow.apps._services import EXTENSION
from fate_flow.dashboard import install_dashboard
from fate_flow.db import close_db, connect_db
from fate_flow.errors import GENERIC_ERROR, FlowError
from fate_flow.root import Services, build_services
from fate_flow.settings import Settings
from fate_flow.utils import metrics
from fate_flow.utils.response import envelope

logger = logging.getLogger("fate_flow.app")


def create_app(settings: Settings, services: Services | None = None) -> Flask:
    """Build the WSGI app over ``services`` (built from ``settings`` if not given).

    The database must already be initialised (``db.init_db``).
    """
    app = Flask("fate_flow")
    app.request_class = FlowRequest
    app.extensions[EXTENSION] = services or build_services(settings)
    app.before_request(connect_db)
    app.teardown_request(close_db)
    install_security(app, settings)  # after connect_db: the guard reads nonces and privileges
    install_app_auth(app, settings)  # app keys on the user routes, before anything reads their body
    app.before_request(check_request)  # after the party guard, which refuses oversized bodies unread
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    install_dashboard(app, settings)  # FATEBoard's pages at /index.html, so board_url works as printed
    app.register_error_handler(FlowError, _render_flow_error)
    app.register_error_handler(Exception, _render_unexpected)
    app.after_request(_count_answer)
    return app


# answers bigger than this are not parsed for their retcode (a data preview, a query of many rows)
_RETCODE_READ_LIMIT = 256 << 10


def _count_answer(response):
    """Flask after_request: count the answer by route (the rule, never the raw path), method and retcode."""
    route = request.url_rule.rule if request.url_rule else "unmatched"
    retcode = "-"  # not a JSON envelope (a file, a page), or too big to read here
    if response.is_json and not response.is_streamed and (response.content_length or 0) <= _RETCODE_READ_LIMIT:
        body = response.get_json(silent=True)
        if isinstance(body, dict) and "retcode" in body:
            retcode = str(body["retcode"])
    metrics.http_answered(route, request.method, retcode)
    return response


def _render_flow_error(exc: FlowError):
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return envelope(exc.retcode, exc.retmsg, exc.data), error_status(exc, view)


def _render_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return exc
    logger.exception("unhandled error on %s %s", request.method, request.path)
    # the log has the exception; the answer never carries its text (paths, internals)
    rule = request.url_rule.rule if request.url_rule else "the request"
    return envelope(GENERIC_ERROR, f"{rule} failed on the server: see its log"), 200
