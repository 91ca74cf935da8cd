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
    from fate_flow.driver.work_dir_lock import WorkDirLock
    from fate_flow.root import Services

logger = logging.getLogger("fate_flow.server")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The server's command line: ``[start|stop] [--conf F] [--host H] [--port P] [--work-dir D] ...``."""
    parser = argparse.ArgumentParser(description="FATE-Flow 1.4 compatible server")
    parser.add_argument("command", nargs="?", choices=("start", "stop"), default="start",
                        help="start a server (the default), or stop the one running on the work dir; "
                             "'key --help' manages API keys, 'demo --help' runs three parties here")
    parser.add_argument("--conf", help="service_conf.yaml (default: $FATE_FLOW_CONF or conf/service_conf.yaml)")
    parser.add_argument("--host", help="bind address (overrides fate_flow.host)")
    parser.add_argument("--port", type=int, help="HTTP port, 0 for any free one (overrides fate_flow.http_port)")
    parser.add_argument("--work-dir", help="where the database, tables, jobs, logs and models live")
    parser.add_argument("--database-url", help="sqlite:///path or mysql://user:pw@host:port/db")
    parser.add_argument("--scheduler-only", action="store_true", help="run the scheduler without HTTP (gunicorn)")
    parser.add_argument("--standalone_node", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="stop: seconds to wait for running tasks before killing them (default 60)")
    return parser.parse_args(argv)


def settings_of(args: argparse.Namespace) -> Settings:
    """Settings from the conf and the command-line overrides (nothing is created)."""
    return load_settings(args.conf, host=args.host, port=args.port, work_dir=args.work_dir,
                         database_url=args.database_url)


def prepare(settings: Settings) -> None:
    """Directories made, logging configured, database ready."""
    from fate_flow.db import init_db
    from fate_flow.utils.log import setup_server_logging

    for directory in (settings.work_dir, settings.jobs_dir, settings.logs_dir, settings.run_dir,
                      settings.model_dir, settings.federation_dir):
        directory.mkdir(parents=True, exist_ok=True)
    setup_server_logging(settings.logs_dir)
    init_db(settings.database)


class StopSignals:
    """First SIGTERM/SIGINT asks a warm stop, the second a cold one. Handlers only set flags."""

    def __init__(self) -> None:
        self.warm = threading.Event()
        self.cold = threading.Event()

    def install(self) -> None:
        """Route SIGTERM and SIGINT to the flags."""
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame) -> None:
        (self.cold if self.warm.is_set() else self.warm).set()


def run_scheduler_until_stopped(services: "Services", signals: StopSignals, lock: "WorkDirLock") -> None:
    """Run the scheduler; on a warm stop wait for running tasks, on a cold one kill them."""
    from fate_flow.root import build_scheduler

    settings = services.settings
    scheduler = build_scheduler(services, lock)
    scheduler.start()
    signals.warm.wait()
    logger.warning("stop requested: admitting no new job, waiting for running tasks")
    scheduler.stop(graceful=True)
    deadline = time.monotonic() + settings.scheduler.kill_grace * 10
    while scheduler.launcher.has_children() and not signals.cold.is_set() and time.monotonic() < deadline:
        signals.cold.wait(0.2)
    scheduler.launcher.kill_all(settings.scheduler.kill_grace)
    scheduler.close_lease()
    scheduler.waker.close()


def serve(settings: Settings, signals: StopSignals, lock: "WorkDirLock") -> None:
    """Serve HTTP with werkzeug and run the scheduler in this process (``lock`` is held)."""
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
        run_scheduler_until_stopped(services, signals, lock)
    finally:
        server.shutdown()
        _withdraw(settings)


def _request_log_handler():
    """werkzeug's request handler, logging the successful calls of parties and tasks at DEBUG.

    A job makes tens of internal calls (create, status syncs, run, reports, clean) per party;
    at INFO they buried the requests users make. Users' calls, and internal calls answered
    with an HTTP error, stay at INFO.
    """
    from werkzeug.serving import WSGIRequestHandler

    from fate_flow.apps import is_internal_call
    from fate_flow.apps._app_auth import APP_KEY_ENVIRON
    from fate_flow.utils.app_auth import APP_KEY_HEADER

    class RequestLogHandler(WSGIRequestHandler):
        def make_environ(self) -> dict:
            environ = super().make_environ()
            # werkzeug drops headers named with '_' (one could pose as its '-' twin); FATE's signing
            # clients send APP_KEY: keep that one, apart, where only the app-key guard reads it
            app_key = self.headers.get(APP_KEY_HEADER)
            if app_key:
                environ[APP_KEY_ENVIRON] = app_key
            return environ

        def log_request(self, code="-", size="-") -> None:
            path = getattr(self, "path", "").split("?", 1)[0]
            if not (str(code).startswith("2") and is_internal_call(path)):
                super().log_request(code, size)
                return
            line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in self.requestline)
            self.log("debug", '"%s" %s %s', line, code, size)

    return RequestLogHandler


def _announce(settings: Settings) -> None:
    info = {"pid": os.getpid(), "host": settings.host, "port": settings.port, "address": settings.address,
            "work_dir": str(settings.work_dir)}
    target = settings.run_dir / "server.json"
    staged = target.with_name(f".server.json.{os.getpid()}")
    staged.write_text(json.dumps(info), encoding="utf-8")
    os.replace(staged, target)  # readers (stop, the tests) never see a half-written file
    print(f"fate_flow server listening on http://{settings.address}", flush=True)
    logger.info("listening on %s, work dir %s, database %s", settings.address, settings.work_dir,
                settings.database.engine)


def _withdraw(settings: Settings) -> None:
    """Remove run/server.json when it is this process's own."""
    path = settings.run_dir / "server.json"
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def stop_server(settings: Settings, timeout: float) -> int:
    """Stop the server of ``settings.work_dir`` found in run/server.json; 0 when none is left running.

    The first SIGTERM asks a warm stop (running tasks may finish); after ``timeout`` seconds a
    second SIGTERM kills them. A server.json whose process is gone (or is not a FATE-Flow
    server) is stale: it is removed. Only that one process is signalled, never others by name.
    """
    import psutil

    path = settings.run_dir / "server.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        pid = int(info["pid"])
    except FileNotFoundError:
        print(f"no FATE-Flow server runs on work dir {settings.work_dir} (no {path})")
        return 0
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"{path} is unreadable ({exc}): removed it")
        path.unlink(missing_ok=True)
        return 0
    process = _server_process(psutil, pid)
    if process is None:
        path.unlink(missing_ok=True)
        print(f"removed a stale {path}: pid {pid} is not a running FATE-Flow server")
        return 0
    print(f"stopping the FATE-Flow server pid {pid} (http://{info.get('address')}): waiting up to "
          f"{timeout:g} s for running tasks")
    process.terminate()
    if not _wait_gone(psutil, process, timeout):
        print("running tasks did not finish in time: killing them")
        process.terminate()  # the second SIGTERM is the server's cold stop
        if not _wait_gone(psutil, process, 30.0):
            print(f"pid {pid} did not stop", file=sys.stderr)
            return 1
    path.unlink(missing_ok=True)  # the server removes it; a killed one can not
    print(f"stopped pid {pid}")
    return 0


def _wait_gone(psutil, process, timeout: float) -> bool:
    """Wait until ``process`` has exited (a zombie counts: its parent reaps it); False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def _server_process(psutil, pid: int):
    """The process ``pid`` if it is a live FATE-Flow server, else None."""
    try:
        process = psutil.Process(pid)
        command = " ".join(process.cmdline())
        alive = process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return process if alive and ("fate_flow_server" in command or "fate_flow.server" in command) else None


def key_command(argv: list[str]) -> int:
    """``key create --user NAME [--description D] | key list | key delete APP_KEY`` on the party's database.

    ``create`` prints the app key and its secret key once, as JSON; nothing else shows a secret.
    """
    parser = argparse.ArgumentParser(prog="fate_flow_server.py key", description="API keys of the user routes")
    parser.add_argument("action", choices=("create", "list", "delete"))
    parser.add_argument("app_key", nargs="?", help="delete: the app key to revoke")
    parser.add_argument("--user", help="create: the user or application the key is for")
    parser.add_argument("--description", default="", help="create: a note kept with the key")
    for flag in ("--conf", "--work-dir", "--database-url"):
        parser.add_argument(flag)
    args = parser.parse_args(argv)
    from fate_flow.db import init_db
    from fate_flow.errors import ArgumentError
    from fate_flow.services import app_keys

    settings = load_settings(args.conf, work_dir=args.work_dir, database_url=args.database_url)
    init_db(settings.database)
    if args.action == "create":
        try:
            app_key, secret_key = app_keys.create_key(args.user or "", args.description)
        except ArgumentError as exc:
            parser.error(exc.retmsg)
        print(json.dumps({"user": args.user, "app_key": app_key, "secret_key": secret_key}, indent=4))
    elif args.action == "list":
        print(json.dumps(app_keys.list_keys(), indent=4))
    elif not args.app_key or not app_keys.delete_key(args.app_key):
        print(f"no app key {args.app_key!r}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start a server (or ``stop`` the one running on the work dir); the process's exit code.

    ``key ...`` manages the API keys, ``demo ...`` runs three parties on this machine.
    """
    from fate_flow.driver.work_dir_lock import SchedulerLocked, WorkDirLock
    from fate_flow.utils.signing import SecurityConfigError

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["key"]:
        return key_command(argv[1:])
    if argv[:1] == ["demo"]:
        from fate_flow.demo import demo_command

        return demo_command(argv[1:])
    args = parse_args(argv)
    settings = settings_of(args)
    if args.command == "stop":
        return stop_server(settings, args.timeout)
    signals = StopSignals()
    signals.install()
    lock = WorkDirLock(settings.run_dir)
    try:
        lock.acquire()  # before anything else: a second server on this work dir stops here
        prepare(settings)
        if args.scheduler_only:
            from fate_flow.root import build_services

            run_scheduler_until_stopped(build_services(settings), signals, lock)
        else:
            serve(settings, signals, lock)
    except (SchedulerLocked, SecurityConfigError, OSError) as exc:
        print(f"fate_flow server: {exc}", file=sys.stderr)
        return 1
    finally:
        lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
