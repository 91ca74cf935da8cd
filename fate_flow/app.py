"""The Flask application factory: one app, one blueprint per /v1 group, one error handler."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from flask import Flask, Request, current_app, request
from werkzeug.exceptions import HTTPException

from fate_flow.db import close_db, connect_db
from fate_flow.driver.federated_api import FederatedClient
from fate_flow.driver.job_controller import JobController
from fate_flow.driver.waker import notify, socket_path
from fate_flow.errors import GENERIC_ERROR, FlowError, NestingTooDeep
from fate_flow.manager.data_access import DataAccess
from fate_flow.manager.output_data import OutputData
from fate_flow.manager.table_manager import TableManager
from fate_flow.settings import Settings
from fate_flow.utils import validate
from fate_flow.utils.response import envelope

logger = logging.getLogger("fate_flow.app")


@dataclass
class Services:
    """What routes call into; built once per app from the settings."""

    settings: Settings
    api: FederatedClient
    controller: JobController
    tables: TableManager
    data_access: DataAccess
    output_data: OutputData


def build_services(settings: Settings) -> Services:
    wake_path = socket_path(settings.run_dir)
    api = FederatedClient(settings)
    controller = JobController(settings, api, lambda: notify(wake_path))
    tables = TableManager(settings)
    return Services(settings, api, controller, tables, DataAccess(settings, controller, tables), OutputData(tables))


class FlowRequest(Request):
    """The request of every route: JSON bodies parsed with a nesting limit, uploads streamed to disk.

    The upload routes set ``environ["fate_flow.upload_dir"]`` before reading the form, so
    a big file is written once, where the task reads it, and never held in memory. The
    client's file name is reduced to a safe base name there, never followed as a path.
    """

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        """As Flask's, but a body nested deeper than ``validate.MAX_JSON_DEPTH`` is refused (100)."""
        try:
            value = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:  # deeper than the parser itself goes
            raise NestingTooDeep("request body", validate.MAX_JSON_DEPTH) from None
        if value is not getattr(self, "_depth_checked", None):  # routes ask for the cached body again
            validate.check_depth(value, "request body")
            self._depth_checked = value
        return value

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        target = self.environ.get("fate_flow.upload_dir")
        if not target:
            return super()._get_file_stream(total_content_length, content_type, filename, content_length)
        os.makedirs(target, exist_ok=True)
        name = validate.safe_file_name(filename, "upload.csv")
        return open(os.path.join(target, name), "w+b")


def services() -> Services:
    return current_app.extensions["fate_flow"]


def create_app(settings: Settings, svc: Services | None = None) -> Flask:
    """Build the WSGI app. The database must already be initialised (``db.init_db``)."""
    from fate_flow.apps import BLUEPRINTS
    from fate_flow.apps._request import check_request
    from fate_flow.apps._security import install_security

    app = Flask("fate_flow")
    app.request_class = FlowRequest
    app.extensions["fate_flow"] = svc or build_services(settings)
    app.before_request(connect_db)
    app.teardown_request(close_db)
    install_security(app, settings)  # after connect_db: the guard reads nonces and privileges
    app.before_request(check_request)  # after the party guard, which refuses oversized bodies unread
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
    # the log has the exception; the answer never carries its text (paths, internals)
    rule = request.url_rule.rule if request.url_rule else "the request"
    return envelope(GENERIC_ERROR, f"{rule} failed on the server: see its log"), 200
