"""The Flask application factory: one app, one blueprint per /v1 group, one error handler."""
from __future__ import annotations

import logging

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from fate_flow.apps import BLUEPRINTS
from fate_flow.apps._request import FlowRequest
from fate_flow.apps._security import install_security
from fate_flow.apps._services import EXTENSION
from fate_flow.db import close_db, connect_db
from fate_flow.errors import GENERIC_ERROR, FlowError
from fate_flow.root import Services, build_services
from fate_flow.settings import Settings
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
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_error_handler(FlowError, _render_flow_error)
    app.register_error_handler(Exception, _render_unexpected)
    return app


def _render_flow_error(exc: FlowError):
    return envelope(exc.retcode, exc.retmsg, exc.data), 200


def _render_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return exc
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return envelope(GENERIC_ERROR, f"{type(exc).__name__}: {exc}"), 200
