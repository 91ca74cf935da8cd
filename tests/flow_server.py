"""A real FATE-Flow server in a subprocess, on a free port, for end-to-end tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PLUGINS = "tests.plugin_components"


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class FlowServer:
    """Start/stop a server with its own work dir and database; call its API and the CLI."""

    def __init__(self, work_dir: Path, database_url: str | None = None, conf: dict | None = None,
                 env: dict | None = None, root: Path | None = None) -> None:
        self.root = Path(root or ROOT)  # the checkout whose server and client run (benchmarks compare two)
        self.work_dir = Path(work_dir)
        self.database_url = database_url or f"sqlite:///{self.work_dir / 'fate_flow_sqlite.db'}"
        self.conf = conf or {}
        self.env = dict(os.environ, PYTHONPATH=str(self.root), FATE_FLOW_COMPONENT_PLUGINS=PLUGINS, **(env or {}))
        self.proc: subprocess.Popen | None = None
        self.address = ""

    # ---- life cycle -----------------------------------------------------------------

    def write_conf(self) -> Path:
        scheduler = {"max_concurrent_jobs": 5, "detect_interval": 0.5, "kill_grace": 1}
        scheduler.update(self.conf.get("scheduler", {}))
        # server-side paths are confined to the work dir and these: the example data, and the
        # temporary directory where tests keep their inputs and outputs
        data_access = {"allowed_dirs": [str(ROOT / "examples"), tempfile.gettempdir()]}
        data_access.update(self.conf.get("data_access", {}))
        port = int(self.address.rsplit(":", 1)[1]) if self.address else 0  # a restart keeps its port
        conf = {"work_mode": 0, "party_id": [9999, 10000], "fate_flow": {"host": "127.0.0.1", "http_port": port},
                "work_dir": str(self.work_dir), "database": {"url": self.database_url},
                "scheduler": scheduler, "data_access": data_access,
                "federation": {"backend": "standalone", "timeout": 60}}
        conf.update({k: v for k, v in self.conf.items() if k not in ("scheduler", "data_access")})
        self.work_dir.mkdir(parents=True, exist_ok=True)
        path = self.work_dir / "service_conf.yaml"
        path.write_text(json.dumps(conf), encoding="utf-8")  # JSON is valid YAML
        return path

    def start(self, timeout: float = 30) -> "FlowServer":
        conf = self.write_conf()
        ready = self.work_dir / "run" / "server.json"
        if ready.exists():
            ready.unlink()
        log = open(self.work_dir / "server.out", "ab")
        self.proc = subprocess.Popen([PYTHON, str(self.root / "fate_flow_server.py"), "--conf", str(conf)],
                                     cwd=str(self.work_dir), env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        info = wait_until(lambda: self._ready_info(ready), timeout, what="server start")
        self.address = info["address"]
        wait_until(lambda: self._answers(), timeout, what="server answering")
        return self

    def _ready_info(self, ready: Path):
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited with {self.proc.returncode}: {self.output()[-3000:]}")
        if ready.exists():
            try:
                info = json.loads(ready.read_text())
            except ValueError:  # caught while the server writes it
                return None
            return info if info["pid"] == self.proc.pid else None
        return None

    def _answers(self) -> bool:
        try:
            return self.post("/v1/version/get", {"module": "FATE"})["retcode"] == 0
        except requests.RequestException:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        path = self.work_dir / "server.out"
        return path.read_text(errors="replace") if path.exists() else ""

    # ---- API and CLI ----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def post(self, path: str, body: Any = None, **kwargs) -> dict:
        return requests.post(self.url + path, json=body, timeout=30, **kwargs).json()

    def client(self, *args: str, cwd: Path | None = None, script: str = "fate_flow_client.py") -> dict:
        """Run the CLI as a user would and parse what it prints."""
        env = dict(self.env, FATE_FLOW_SERVER=self.url)
        out = subprocess.run([PYTHON, str(self.root / script), *args], cwd=str(cwd or self.root), env=env,
                             capture_output=True, text=True, timeout=60)
        try:
            return json.loads(out.stdout)
        except ValueError:
            raise AssertionError(f"client printed no JSON: {out.stdout!r} {out.stderr!r}") from None

    def submit(self, dsl: dict, conf: dict) -> str:
        answer = self.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
        assert answer["retcode"] == 0, answer
        return answer["jobId"]

    def job(self, job_id: str, role: str | None = None) -> dict:
        body = {"job_id": job_id, **({"role": role} if role else {})}
        answer = self.post("/v1/job/query", body)
        assert answer["retcode"] == 0 and answer["data"], answer
        return next((j for j in answer["data"] if j["f_is_initiator"] == 1), answer["data"][0])

    def tasks(self, job_id: str) -> list[dict]:
        answer = self.post("/v1/job/task/query", {"job_id": job_id})
        return answer.get("data", [])

    def wait_job(self, job_id: str, statuses=("success", "failed", "canceled", "timeout"), timeout: float = 60) -> dict:
        return wait_until(lambda: (lambda j: j if j["f_status"] in statuses else None)(self.job(job_id)),
                          timeout, interval=0.05, what=f"job {job_id} in {statuses}")

    def wait_tasks_running(self, job_id: str, count: int, timeout: float = 30) -> list[dict]:
        def running():
            tasks = [t for t in self.tasks(job_id) if t["f_status"] == "running" and t.get("f_run_pid")]
            return tasks if len(tasks) >= count else None
        return wait_until(running, timeout, what=f"{count} running tasks of {job_id}")


def unique_mysql_url() -> str | None:
    """A fresh MariaDB database URL, or None if no MySQL server is reachable."""
    try:
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", connect_timeout=2)
        conn.close()
    except Exception:
        return None
    return f"mysql://root@127.0.0.1:3306/ff_test_{uuid.uuid4().hex[:10]}"


def mysql_admin(sql: str) -> None:
    """Run one statement as root on the local MariaDB."""
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def drop_mysql_database(url: str) -> None:
    mysql_admin(f"DROP DATABASE IF EXISTS `{url.rsplit('/', 1)[1]}`")
