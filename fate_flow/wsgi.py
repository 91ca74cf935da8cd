"""WSGI entry for gunicorn: ``gunicorn -c conf/gunicorn.conf.py 'fate_flow.wsgi:create_wsgi_app()'``.

Workers serve HTTP only; the scheduler runs once, in the process that
conf/gunicorn.conf.py starts next to them.
"""
from __future__ import annotations

import os

from fate_flow.settings import load_settings


def create_wsgi_app():
    """The app of a gunicorn worker, from the conf in the environment (no scheduler)."""
    from fate_flow.app import create_app
    from fate_flow.db import init_db
    from fate_flow.utils.log import setup_server_logging

    settings = load_settings(os.environ.get("FATE_FLOW_CONF"), work_dir=os.environ.get("FATE_FLOW_WORK_DIR"),
                             port=os.environ.get("FATE_FLOW_PORT"), host=os.environ.get("FATE_FLOW_HOST"))
    setup_server_logging(settings.logs_dir, console=False)
    init_db(settings.database)
    return create_app(settings)
