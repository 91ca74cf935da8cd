"""Starts, watches and kills task processes; reports their exits as events.

Each task is ``python -m fate_flow.driver.task_executor ...`` in its own session
(process group) so that a stop kills everything it started. A kill checks the
process create time first, so a reused pid is never hit.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import psutil

from fate_flow.driver.watchdog import PARENT_ENV
from fate_flow.utils.signing import PARTY_ENV, SECRET_ENV

logger = logging.getLogger("fate_flow.launcher")

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class TaskKey:
    job_id: str
    task_id: str
    role: str
    party_id: str


@dataclass(frozen=True)
class TaskExit:
    """A task process ended: ``returncode`` as Popen gives it (negative = signal)."""

    key: TaskKey
    pid: int
    returncode: int


class TaskStartError(RuntimeError):
    """The task process could not be started at all."""


def describe_exit(returncode: int) -> str:
    """Human-readable exit reason: ``exit 1`` or ``killed by signal 9 (SIGKILL)``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown"
        return f"killed by signal {-returncode} ({name})"
    return f"exit {returncode}"


def process_create_time(pid: int) -> int | None:
    """Create time of ``pid`` in ms, or None if there is no such process."""
    try:
        return int(psutil.Process(pid).create_time() * 1000)
    except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
        return None


def process_matches(pid: int | None, create_time: int | None) -> bool:
    """True if ``pid`` is alive and is the very process that was started at ``create_time``."""
    if not pid:
        return False
    actual = process_create_time(pid)
    if actual is None:
        return False
    try:
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return False
    except psutil.Error:
        return False
    return create_time is None or abs(actual - int(create_time)) < 1000


def kill_process_group(pid: int | None, create_time: int | None, grace: float = 3.0) -> bool:
    """SIGTERM the task's process group, then SIGKILL it after ``grace`` seconds.

    Returns False if the process is already gone (or the pid was reused). The KILL
    is sent from a daemon timer so that callers (HTTP handlers) do not block.
    """
    if not process_matches(pid, create_time):
        return False
    _signal_group(pid, signal.SIGTERM)
    timer = threading.Timer(grace, _kill_if_alive, args=(pid, create_time))
    timer.daemon = True
    timer.start()
    return True


def _kill_if_alive(pid: int, create_time: int | None) -> None:
    # the leader may be gone while children of the group linger: kill the group anyway
    _signal_group(pid, signal.SIGKILL)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        logger.warning("no permission to signal process group %s", pid)


class Launcher:
    """Starts task processes and calls ``on_exit(TaskExit)`` from a watcher thread when one ends."""

    def __init__(self, python: str, on_exit: Callable[[TaskExit], None],
                 task_env: Callable[[str], dict[str, str]] | None = None) -> None:
        self.python = python or sys.executable
        self.on_exit = on_exit
        # party id -> extra environment of that party's tasks (the signing secret when signing is on)
        self.task_env = task_env
        self._children: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()

    def start(self, key: TaskKey, config_path: Path, log_dir: Path, job_server: str,
              cwd: Path) -> tuple[int, int]:
        """Start the executor for ``key``; return (pid, create time ms). Raises TaskStartError."""
        log_dir.mkdir(parents=True, exist_ok=True)
        cmd = [self.python, "-m", "fate_flow.driver.task_executor",
               "-j", key.job_id, "-n", key.task_id[len(key.job_id) + 1:], "-t", key.task_id,
               "-r", key.role, "-p", key.party_id, "-c", str(config_path), "--job_server", job_server]
        env = dict(os.environ)
        # numpy's BLAS would start a spinning thread per core in every task at import,
        # and tasks of several parties start together: one thread each unless told otherwise
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(name, "1")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        for name in (SECRET_ENV, PARTY_ENV):  # never a secret the server itself inherited
            env.pop(name, None)
        env.update(self.task_env(key.party_id) if self.task_env else {})
        env[PARENT_ENV] = str(os.getpid())  # the task ends itself if this process dies
        with open(log_dir / "std.log", "ab") as std:
            try:
                proc = subprocess.Popen(cmd, cwd=str(cwd), env=env, stdout=std, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True, close_fds=True)
            except OSError as exc:
                raise TaskStartError(f"can not start task process {cmd[0]}: {exc}") from exc
        with self._lock:
            self._children[proc.pid] = proc
        create_time = process_create_time(proc.pid) or int(time.time() * 1000)
        threading.Thread(target=self._watch, args=(key, proc), name=f"watch-{proc.pid}", daemon=True).start()
        return proc.pid, create_time

    def has_children(self) -> bool:
        with self._lock:
            return bool(self._children)

    def is_child(self, pid: int | None) -> bool:
        with self._lock:
            return pid in self._children

    def _watch(self, key: TaskKey, proc: subprocess.Popen) -> None:
        returncode = proc.wait()
        with self._lock:
            self._children.pop(proc.pid, None)
        try:
            self.on_exit(TaskExit(key, proc.pid, returncode))
        except Exception:
            logger.exception("exit handler failed for %s", key)

    def kill_all(self, grace: float = 3.0) -> None:
        """Kill every running child's process group (cold shutdown)."""
        with self._lock:
            children = list(self._children.values())
        for proc in children:
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in children:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
