"""Serve FATE-Flow with gunicorn: several HTTP workers, exactly one scheduler per party.

    FATE_FLOW_CONF=conf/service_conf.yaml gunicorn -c conf/gunicorn.conf.py 'fate_flow.wsgi:create_wsgi_app()'

Workers only answer HTTP. ``when_ready`` starts the party's scheduler as its own
process (``python -m fate_flow.server --scheduler-only``); a file lock in the work dir
refuses a second one. Every process of the server (workers, scheduler) writes its Prometheus
values under <work_dir>/run/prometheus (or PROMETHEUS_MULTIPROC_DIR if set), emptied at start,
and /metrics in any worker sums them. FATE_FLOW_WORK_DIR, FATE_FLOW_HOST, FATE_FLOW_PORT and
FATE_FLOW_WORKERS override the conf as the server's flags do.
"""
import os
import subprocess
import sys

from fate_flow.settings import load_settings
from fate_flow.utils.metrics import MULTIPROC_ENV, prepare_multiprocess_dir, process_gone

_env = os.environ
_settings = load_settings(_env.get("FATE_FLOW_CONF"), work_dir=_env.get("FATE_FLOW_WORK_DIR"),
                          host=_env.get("FATE_FLOW_HOST"), port=_env.get("FATE_FLOW_PORT"))

# before any worker imports prometheus_client: it picks its multiprocess mode at import
_env.setdefault(MULTIPROC_ENV, str(_settings.run_dir / "prometheus"))
prepare_multiprocess_dir(_env[MULTIPROC_ENV])

bind = f"{_settings.host}:{_settings.port}"
workers = int(_env.get("FATE_FLOW_WORKERS", "2"))
worker_class = "gthread"
threads = 8
timeout = 300
# gunicorn 22+ drops request headers named with '_'; FATE's signing clients send APP_KEY (the
# signature covers its value, so a '-' twin can not pose as it); older gunicorn ignores this
header_map = "dangerous"
_scheduler = None


def when_ready(server):
    global _scheduler
    cmd = [sys.executable, "-m", "fate_flow.server", "--scheduler-only", "--conf", str(_settings.conf_path),
           "--work-dir", str(_settings.work_dir), "--host", _settings.host, "--port", str(_settings.port)]
    _scheduler = subprocess.Popen(cmd)
    server.log.info("scheduler started, pid %s", _scheduler.pid)


def child_exit(server, worker):
    process_gone(worker.pid)


def on_exit(server):
    if _scheduler and _scheduler.poll() is None:
        _scheduler.terminate()
        try:
            _scheduler.wait(30)
        except subprocess.TimeoutExpired:
            _scheduler.kill()
