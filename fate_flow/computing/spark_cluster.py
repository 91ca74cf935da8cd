"""A throwaway Spark standalone cluster on this machine: one master and N workers on 127.0.0.1.

Tests and benchmarks use it to run the Spark engine against a real cluster manager (separate
executor JVMs and Python workers) without installing Spark: the master and workers are the
classes in the pyspark package's own jars. Every port is chosen by Spark (port 0) and read
back from the master's log, so two clusters on one machine never race for a port. Each
daemon runs in its own process group, which its executors inherit, so ``stop`` kills them all.

    with SparkStandaloneCluster(workers=2) as cluster:
        engine = SparkEngine(master=cluster.master_url, spark_conf=cluster.client_conf)
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from fate_flow.computing.engine import EngineError

HOST = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
# the master and worker daemons only keep books; the executors they start get their own memory
DAEMON_HEAP = "-Xmx512m"


def pyspark_home() -> Path:
    """The installed pyspark package's directory (its jars/ is a Spark distribution's), without importing it."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.origin:
        raise EngineError("a Spark standalone cluster needs pyspark: run pip install -e '.[spark]'")
    return Path(spec.origin).parent


def scala_version(home: Path) -> str:
    """The Scala version the jars were built for ("2.12"), from the name of spark-core's jar."""
    for jar in (home / "jars").glob("spark-core_*.jar"):
        return jar.name.split("_", 1)[1].split("-", 1)[0]
    raise EngineError(f"no spark-core jar in {home / 'jars'}: reinstall pyspark (pip install -e '.[spark]')")


def java_executable() -> str:
    """``$JAVA_HOME/bin/java`` or ``java`` on PATH; EngineError when there is none."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not candidate or not os.access(candidate, os.X_OK):
        raise EngineError("a Spark standalone cluster needs Java (17): install it or set JAVA_HOME")
    return candidate


class SparkStandaloneCluster:
    """Start, wait for, and stop a master and ``workers`` workers of ``cores`` cores and ``memory`` each.

    Args:
        workers: how many worker daemons (each starts its own executors).
        cores: cores each worker offers.
        memory: memory each worker offers (an executor asks for 1g by default).
        root: where logs and work dirs go; a temporary directory (removed by ``stop``) when None.
        start_timeout: seconds to wait for the master and the workers' registration.
    """

    def __init__(self, workers: int = 2, cores: int = 1, memory: str = "1g", root: str | Path | None = None,
                 start_timeout: float = 90.0) -> None:
        self.workers, self.cores, self.memory = workers, cores, memory
        self.start_timeout = start_timeout
        self._owns_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="spark_cluster_"))
        self.master_url = ""
        self.web_url = ""
        self._processes: list[subprocess.Popen] = []

    @property
    def client_conf(self) -> dict[str, str]:
        """Settings a driver needs to be reached by this cluster's executors (all on 127.0.0.1)."""
        return {"spark.driver.host": HOST, "spark.driver.bindAddress": HOST}

    def start(self) -> "SparkStandaloneCluster":
        """Start the master, then the workers; return once every worker is registered and ALIVE."""
        deadline = time.monotonic() + self.start_timeout
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            master = self._launch("master", MASTER_CLASS, ["--host", HOST, "--port", "0", "--webui-port", "0"])
            self.master_url, self.web_url = self._wait_for_master(master, deadline)
            for index in range(self.workers):
                self._launch(f"worker-{index}", WORKER_CLASS, self._worker_arguments(index))
            self._wait_for_workers(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def alive_workers(self) -> list[dict]:
        """The master's view of its ALIVE workers (its web UI's JSON)."""
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=5) as answer:
            state = json.load(answer)
        return [worker for worker in state.get("workers", []) if worker.get("state") == "ALIVE"]

    def pids(self) -> set[int]:
        """Every live process of this cluster: the daemons, their executors and the executors' Python workers.

        A daemon's executors share its process group; pyspark's Python daemon makes a group of its own,
        so the descendants of the group's members count too.
        """
        return {process.pid for process in self._members()}

    def stop(self, grace: float = 10.0) -> None:
        """Kill every process the cluster started (SIGTERM, SIGKILL after ``grace`` s); idempotent."""
        victims = self._members()
        for process in reversed(self._processes):
            _signal_group(process.pid, signal.SIGTERM)
        if not self._wait_until_gone(victims, grace):
            for process in self._processes:
                _signal_group(process.pid, signal.SIGKILL)
            for process in victims | self._members():
                _kill(process)
            self._wait_until_gone(victims, 5.0)
        for process in self._processes:
            process.wait(timeout=5)
        self._processes = []
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "SparkStandaloneCluster":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _worker_arguments(self, index: int) -> list[str]:
        work_dir = self.root / f"worker-{index}"
        work_dir.mkdir(parents=True, exist_ok=True)
        return ["--host", HOST, "--cores", str(self.cores), "--memory", self.memory, "--webui-port", "0",
                "--work-dir", str(work_dir), self.master_url]

    def _launch(self, name: str, main_class: str, arguments: list[str]) -> subprocess.Popen:
        home = pyspark_home()
        local_dir = self.root / f"{name}-local"
        local_dir.mkdir(parents=True, exist_ok=True)
        # SPARK_HOME and the Scala version let a worker build the classpath of the executors it starts
        # (Spark's scripts would set the version; this has no scripts); the local dirs keep
        # their shuffle and block files under root
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_SCALA_VERSION": scala_version(home),
               "SPARK_LOCAL_IP": HOST, "SPARK_LOCAL_DIRS": str(local_dir)}
        command = [java_executable(), "-cp", f"{home / 'jars'}/*", DAEMON_HEAP, main_class, *arguments]
        with open(self.root / f"{name}.log", "ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       cwd=str(self.root), env=env, start_new_session=True, close_fds=True)
        self._processes.append(process)
        return process

    def _wait_for_master(self, master: subprocess.Popen, deadline: float) -> tuple[str, str]:
        """The master's URL and web UI address, read from its log as soon as both are there."""
        log = self.root / "master.log"
        while True:
            text = log.read_text(errors="replace") if log.exists() else ""
            url = re.search(r"Starting Spark master at (spark://\S+)", text)
            web = re.search(r"Successfully started service 'MasterUI' on port (\d+)", text)
            if url and web:
                return url.group(1), f"http://{HOST}:{web.group(1)}"
            self._check_running(master, "master", deadline)
            time.sleep(0.2)

    def _wait_for_workers(self, deadline: float) -> None:
        while True:
            try:
                if len(self.alive_workers()) >= self.workers:
                    return
            except OSError:
                pass  # the web UI answers a moment after it binds
            for index, process in enumerate(self._processes[1:]):
                self._check_running(process, f"worker-{index}", deadline)
            time.sleep(0.3)

    def _check_running(self, process: subprocess.Popen, name: str, deadline: float) -> None:
        """EngineError with the end of ``name``'s log if it exited or the deadline passed."""
        if process.poll() is None and time.monotonic() < deadline:
            return
        why = f"exited with {process.returncode}" if process.returncode is not None else \
            f"was not ready within {self.start_timeout:.0f} s"
        log = self.root / f"{name}.log"
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""
        raise EngineError(f"Spark standalone {name} {why}; the end of its log:\n{tail}")

    def _members(self) -> set[psutil.Process]:
        groups = {process.pid for process in self._processes}
        members = set()
        for process in psutil.process_iter():
            try:
                if os.getpgid(process.pid) in groups:
                    members.add(process)
                    members.update(process.children(recursive=True))
            except (ProcessLookupError, psutil.Error):
                continue
        return {process for process in members if _is_running(process)}

    def _wait_until_gone(self, victims: set[psutil.Process], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._members() or any(_is_running(process) for process in victims):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass  # already gone


def _kill(process: psutil.Process) -> None:
    try:
        process.kill()  # psutil checks the create time first: never a reused pid
    except psutil.Error:
        pass


def _is_running(process: psutil.Process) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for init, which may be slow to reap it)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
