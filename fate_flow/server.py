"""Process entry of a FATE-Flow server: load conf, init db, serve HTTP, run the scheduler.

``fate_flow_server.py`` (werkzeug, threaded) runs both in one process. Under gunicorn
the HTTP workers come from ``fate_flow.wsgi`` and the scheduler runs alone with
``--scheduler-only`` (started by conf/gunicorn.conf.py), so there is exactly one per party.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

from fate_flow.settings import Settings, apply_overrides, load_settings

if TYPE_CHECKING:
    from fate_flow.root import Services

logger = logging.getLogger("fate_flow.server")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="FATE-Flow 1.4 compatible server")
    parser.add_argument("--conf", help="service_conf.yaml (default: $FATE_FLOW_CONF or conf/service_conf.yaml)")
    parser.add_argument("--host", help="bind address (overrides fate_flow.host)")
    parser.add_argument("--port", type=int, help="HTTP port, 0 for any free one (overrides fate_flow.http_port)")
    parser.add_argument("--work-dir", help="where the database, tables, jobs, logs and models live")
    parser.add_argument("--database-url", help="sqlite:///path or mysql://user:pw@host:port/db")
    parser.add_argument("--scheduler-only", action="store_true", help="run the scheduler without HTTP (gunicorn)")
    parser.add_argument("--standalone_node", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def prepare(args: argparse.Namespace) -> Settings:
    """Settings from conf and flags, directories made, logging configured, database ready."""
    from fate_flow.db import init_db
    from fate_flow.utils.log import setup_server_logging

    settings = load_settings(args.conf, host=args.host, port=args.port, work_dir=args.work_dir,
                             database_url=args.database_url)
    for directory in (settings.work_dir, settings.jobs_dir, settings.logs_dir, settings.run_dir,
                      settings.model_dir, settings.federation_dir):
        directory.mkdir(parents=True, exist_ok=True)
    setup_server_logging(settings.logs_dir)
    init_db(settings.database)
    return settings


class StopSignals:
    """First SIGTERM/SIGINT asks a warm stop, the second a cold one. Handlers only set flags."""

    def __init__(self) -> None:
        self.warm = threading.Event()
        self.cold = threading.Event()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame) -> None:
        (self.cold if self.warm.is_set() else self.warm).set()


def run_scheduler_until_stopped(services: "Services", signals: StopSignals) -> None:
    """Run the scheduler; on a warm stop wait for running tasks, on a cold one kill them."""
    from fate_flow.root import build_scheduler

    settings = services.settings
    scheduler = build_scheduler(services)
    scheduler.start()
    signals.warm.wait()
    logger.warning("stop requested: admitting no new job, waiting for running tasks")
    scheduler.stop(graceful=True)
    deadline = time.monotonic() + settings.scheduler.kill_grace * 10
    while scheduler.launcher.has_children() and not signals.cold.is_set() and time.monotonic() < deadline:
        signals.cold.wait(0.2)
    scheduler.launcher.kill_all(settings.scheduler.kill_grace)
    scheduler.waker.close()


def serve(settings: Settings, signals: StopSignals) -> None:
    """Serve HTTP with werkzeug and run the scheduler in this process."""
    from werkzeug.serving import make_server

    from fate_flow.app import create_app
    from fate_flow.root import build_services

    holder = {}
    server = make_server(settings.host, settings.port, lambda env, start: holder["app"](env, start), threaded=True,
                         request_handler=_request_log_handler())
    settings = apply_overrides(settings, port=server.server_port)
    services = build_services(settings)
    holder["app"] = create_app(settings, services)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    _announce(settings)
    try:
        run_scheduler_until_stopped(services, signals)
    finally:
        server.shutdown()


def _request_log_handler():
    """werkzeug's request handler, logging the successful calls of parties and tasks at DEBUG.

    A job makes tens of internal calls (create, status syncs, run, reports, clean) per party;
    at INFO they buried the requests users make. Users' calls, and internal calls answered
    with an HTTP error, stay at INFO.
    """
    from werkzeug.serving import WSGIRequestHandler

    from fate_flow.apps import is_internal_call

    class RequestLogHandler(WSGIRequestHandler):
        def log_request(self, code="-", size="-") -> None:
            path = getattr(self, "path", "").split("?", 1)[0]
            if not (str(code).startswith("2") and is_internal_call(path)):
                super().log_request(code, size)
                return
            line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in self.requestline)
            self.log("debug", '"%s" %s %s', line, code, size)

    return RequestLogHandler


def _announce(settings: Settings) -> None:
    info = {"pid": os.getpid(), "host": settings.host, "port": settings.port, "address": settings.address}
    (settings.run_dir / "server.json").write_text(json.dumps(info), encoding="utf-8")
    print(f"fate_flow server listening on http://{settings.address}", flush=True)
    logger.info("listening on %s, work dir %s, database %s", settings.address, settings.work_dir,
                settings.database.engine)


def main(argv: list[str] | None = None) -> int:
    from fate_flow.driver.scheduler import SchedulerLocked
    from fate_flow.utils.signing import SecurityConfigError

    args = parse_args(argv)
    settings = prepare(args)
    signals = StopSignals()
    signals.install()
    try:
        if args.scheduler_only:
            from fate_flow.root import build_services

            run_scheduler_until_stopped(build_services(settings), signals)
        else:
            serve(settings, signals)
    except (SchedulerLocked, SecurityConfigError, OSError) as exc:
        print(f"fate_flow server: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
