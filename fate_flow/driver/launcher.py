"""Starts, watches and kills task processes; reports their exits as events.

Each task is ``python -m fate_flow.driver.task_executor ...`` in its own session
(process group) so that a stop kills everything it started. A kill checks the
process create time first, so a reused pid is never hit.

No process outlives its task: however a task ends (it reported, crashed, was killed,
stopped or timed out), the watcher kills what is left of its group, because helpers the
task started (the Paillier pool's forkserver, workers and resource tracker) do not end
on their own when it dies. They get SIGTERM first: the resource tracker ignores it and
exits once the others are gone, after unlinking the pool's named semaphores (a SIGKILL
would leave them in /dev/shm); SIGKILL follows after the grace period.

A task process spends its first few hundred milliseconds starting the interpreter and
importing numpy and pyarrow. When a task is known to be coming (an upload request is
being received, or tasks were just started), ``prewarm`` starts an executor ahead in
standby (up to ``standbys`` of them): it does those imports, then waits on its stdin.
``start`` hands the next task to the oldest one (argv, the party's
environment, the log file) instead of starting a new process; its pid, create time and
process group are those of a task started the usual way. A standby that gets no task
within ``STANDBY_TTL_S`` is told to exit (its stdin is closed), so an idle server keeps
no extra process.
"""
from __future__ import annotations

import json
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
EXECUTOR = "fate_flow.driver.task_executor"
STANDBY_FLAG = "--standby"  # the executor's argument to wait for its task on stdin
STANDBY_TTL_S = 30.0


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


class _Standby:
    """An executor started ahead that waits on its stdin; ``key`` is set once it got a task."""

    def __init__(self, proc: subprocess.Popen, created: int, cwd: Path) -> None:
        self.proc = proc
        self.created = created
        self.cwd = cwd
        self.key: TaskKey | None = None


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
    """SIGTERM the task's process group, then SIGKILL what is left of it after ``grace`` seconds.

    The group is killed even when the task process itself is gone (a server restart finds
    it so), since its helpers may have survived it; a group whose number now belongs to
    another process is left alone. Returns True if the task process itself was alive.
    The KILL is sent from a daemon timer so that callers (HTTP handlers) do not block.
    """
    if not pid or not _owns_group(pid, create_time):
        return False
    was_alive = process_matches(pid, create_time)
    if _signal_group(pid, signal.SIGTERM):
        timer = threading.Timer(grace, _kill_group_if_ours, args=(pid, create_time))
        timer.daemon = True
        timer.start()
    return was_alive


def _owns_group(pgid: int, create_time: int | None) -> bool:
    """True if process group ``pgid`` is the task's: led by the task (maybe a zombie) or leaderless.

    A group keeps its number while it has members, so a leaderless group numbered after
    the task's pid is what is left of the task. A living process with that pid and another
    create time means the pid was reused: its group is someone else's.
    """
    started = process_create_time(pgid)
    return started is None or create_time is None or abs(started - int(create_time)) < 1000


def _kill_group_if_ours(pgid: int, create_time: int | None) -> None:
    if _owns_group(pgid, create_time):
        _signal_group(pgid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to process group ``pgid``; False if the group has no process left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        logger.warning("no permission to signal process group %s", pgid)
    return True


def _wait_for_exit(proc: subprocess.Popen) -> None:
    """Block until child ``proc`` has exited, leaving it unreaped (a zombie) where the OS allows.

    While the zombie exists its pid, and so its group's number, can not be reused: the
    group can be signalled safely before the child is reaped.
    """
    waitid = getattr(os, "waitid", None)
    try:
        if waitid is not None:
            waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            return
    except ChildProcessError:
        pass
    proc.wait()  # reaped now: the group number stays reserved only while the group has members


class Launcher:
    """Starts task processes and calls ``on_exit(TaskExit)`` from a watcher thread when one ends.

    The watcher then kills what is left of the task's process group: SIGTERM at once,
    SIGKILL after ``kill_grace`` seconds if anything is still there.
    """

    def __init__(self, python: str, on_exit: Callable[[TaskExit], None],
                 task_env: Callable[[str], dict[str, str]] | None = None, kill_grace: float = 3.0,
                 standbys: int = 1) -> None:
        self.python = python or sys.executable
        self.on_exit = on_exit
        # party id -> extra environment of that party's tasks (the signing secret when signing is on)
        self.task_env = task_env
        self.kill_grace = kill_grace
        self._children: dict[int, subprocess.Popen] = {}
        # process groups (numbered by their leader's pid) not yet seen empty -> leader create time
        self._groups: dict[int, int] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._cold_stop = threading.Event()
        # standbys waiting for a task, oldest first; at most ``standbys`` of them
        self._standbys: list[_Standby] = []
        self.standbys = max(0, int(standbys))

    def start(self, key: TaskKey, config_path: Path, log_dir: Path, job_server: str,
              cwd: Path) -> tuple[int, int]:
        """Start the executor for ``key``; return (pid, create time ms). Raises TaskStartError."""
        log_dir.mkdir(parents=True, exist_ok=True)
        argv = ["-j", key.job_id, "-n", key.task_id[len(key.job_id) + 1:], "-t", key.task_id,
                "-r", key.role, "-p", key.party_id, "-c", str(config_path), "--job_server", job_server]
        task_env = self.task_env(key.party_id) if self.task_env else {}
        handed = self._hand_to_standby(key, argv, task_env, log_dir / "std.log", cwd)
        if handed is not None:
            return handed
        cmd = [self.python, "-m", EXECUTOR, *argv]
        env = dict(self._base_env(), **task_env)
        with open(log_dir / "std.log", "ab") as std:
            try:
                proc = subprocess.Popen(cmd, cwd=str(cwd), env=env, stdout=std, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True, close_fds=True)
            except OSError as exc:
                raise TaskStartError(f"can not start task process {cmd[0]}: {exc}") from exc
        create_time = process_create_time(proc.pid) or int(time.time() * 1000)
        with self._lock:
            self._children[proc.pid] = proc
            self._groups[proc.pid] = create_time
        threading.Thread(target=self._watch, args=(key, proc, create_time), name=f"watch-{proc.pid}",
                         daemon=True).start()
        return proc.pid, create_time

    @staticmethod
    def _base_env() -> dict[str, str]:
        """The environment of every task process, before its party's own entries."""
        env = dict(os.environ)
        # numpy's BLAS would start a spinning thread per core in every task at import,
        # and tasks of several parties start together: one thread each unless told otherwise
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(name, "1")
        # glibc raises its mmap threshold to the largest block freed (up to 32 MB), after which a task's
        # partition-sized arrays and buffers come from the heap, which keeps them once freed: a SecureBoost
        # task held 100 MB more at 500k rows. A fixed threshold gives them back (its pool workers inherit it).
        env.setdefault("MALLOC_MMAP_THRESHOLD_", "131072")
        env.setdefault("MALLOC_ARENA_MAX", "2")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        for name in (SECRET_ENV, PARTY_ENV):  # never a secret the server itself inherited
            env.pop(name, None)
        env[PARENT_ENV] = str(os.getpid())  # the task ends itself if this process dies
        return env

    @property
    def _standby(self) -> _Standby | None:
        """The standby the next task goes to, if any."""
        with self._lock:
            return self._standbys[0] if self._standbys else None

    def prewarm(self, cwd: Path, ttl: float = STANDBY_TTL_S) -> bool:
        """Start a standby executor in ``cwd`` unless ``standbys`` are waiting; return True if one was started.

        The standby is retired (told to exit) if no task took it within ``ttl`` seconds.
        """
        with self._lock:
            if len(self._standbys) >= self.standbys:
                return False
            try:
                proc = subprocess.Popen([self.python, "-m", EXECUTOR, STANDBY_FLAG], cwd=str(cwd),
                                        env=self._base_env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
            except OSError as exc:
                logger.warning("can not start a standby task process: %s", exc)
                return False
            created = process_create_time(proc.pid) or int(time.time() * 1000)
            standby = _Standby(proc, created, Path(cwd))
            self._standbys.append(standby)
        threading.Thread(target=self._watch_standby, args=(standby,), name=f"standby-{proc.pid}",
                         daemon=True).start()
        timer = threading.Timer(ttl, self._retire_standby, args=(standby,))
        timer.daemon = True
        timer.start()
        return True

    def _hand_to_standby(self, key: TaskKey, argv: list[str], task_env: dict[str, str], log_path: Path,
                         cwd: Path) -> tuple[int, int] | None:
        """Give the task to the waiting standby; (pid, create time), or None if there is none or it is gone.

        Done under the lock so that the standby's watcher sees the task key if the process
        ends at any point after it got the order.
        """
        with self._lock:
            standby = self._standbys.pop(0) if self._standbys else None
            if standby is None:
                return None
            order = json.dumps({"argv": argv, "env": task_env, "log": str(log_path)}).encode() + b"\n"
            try:
                if Path(cwd) != standby.cwd:
                    raise BrokenPipeError("the standby runs in another directory")
                standby.proc.stdin.write(order)
                standby.proc.stdin.close()
            except (OSError, ValueError) as exc:  # it died while waiting: start the task afresh
                logger.warning("standby task process %s unusable (%s): starting a new one", standby.proc.pid, exc)
                _close_quietly(standby.proc.stdin)
                return None
            standby.key = key
            self._children[standby.proc.pid] = standby.proc
            self._groups[standby.proc.pid] = standby.created
        return standby.proc.pid, standby.created

    def _retire_standby(self, standby: _Standby) -> None:
        """Tell a standby that got no task to exit (it does so on end of input)."""
        with self._lock:
            if standby not in self._standbys:
                return
            self._standbys.remove(standby)
        _close_quietly(standby.proc.stdin)

    def _watch_standby(self, standby: _Standby) -> None:
        """Watch a standby: once it got a task its end is a task's end, else it just goes away."""
        _wait_for_exit(standby.proc)
        with self._lock:
            if standby in self._standbys:
                self._standbys.remove(standby)
            key = standby.key
        if key is not None:
            self._after_exit(key, standby.proc, standby.created)
            return
        returncode = standby.proc.wait()
        if returncode != 0:
            logger.warning("standby task process %s ended before it got a task: %s", standby.proc.pid,
                           describe_exit(returncode))

    def has_children(self) -> bool:
        """True while a task process of this launcher runs."""
        with self._lock:
            return bool(self._children)

    def child_pids(self) -> list[int]:
        """Pids of the task processes this launcher started and watches."""
        with self._lock:
            return list(self._children)

    def is_child(self, pid: int | None) -> bool:
        """True if ``pid`` is a task process this launcher started and watches."""
        with self._lock:
            return pid in self._children

    def _watch(self, key: TaskKey, proc: subprocess.Popen, create_time: int) -> None:
        _wait_for_exit(proc)
        self._after_exit(key, proc, create_time)

    def _after_exit(self, key: TaskKey, proc: subprocess.Popen, create_time: int) -> None:
        """A task process ended (not yet reaped): clean its group, report its exit, forget it."""
        # the leader is gone whatever the cause: whatever is left in its group are its orphans
        _signal_group(proc.pid, signal.SIGTERM)
        returncode = proc.wait()
        try:
            self.on_exit(TaskExit(key, proc.pid, returncode))
        except Exception:
            logger.exception("exit handler failed for %s", key)
        # only now, so that a task that is no child any more has its exit already reported
        with self._changed:
            self._children.pop(proc.pid, None)
            self._changed.notify_all()
        self._end_group(proc.pid, create_time)

    def _end_group(self, pgid: int, create_time: int) -> None:
        """Wait up to the grace period for the reaped leader's group to empty, then SIGKILL it."""
        deadline = time.monotonic() + self.kill_grace
        while _signal_group(pgid, 0) and time.monotonic() < deadline:
            self._cold_stop.wait(0.05)  # a cold stop does not wait for the grace period
        if _signal_group(pgid, 0):
            logger.warning("processes of task group %s outlived it by %.1f s: killing them", pgid, self.kill_grace)
            _kill_group_if_ours(pgid, create_time)
        with self._lock:
            self._groups.pop(pgid, None)

    def kill_all(self, grace: float = 3.0) -> None:
        """Kill every task's process group (cold shutdown): SIGTERM, then SIGKILL after ``grace``.

        A standby waiting for a task just exits.
        """
        with self._lock:
            waiting, self._standbys = self._standbys, []
            groups = dict(self._groups)
        for standby in waiting:
            _close_quietly(standby.proc.stdin)
        for pgid in groups:
            _signal_group(pgid, signal.SIGTERM)
        with self._changed:
            self._changed.wait_for(lambda: not self._children.keys() & groups.keys(), timeout=grace)
            groups = dict(self._groups)
        self._cold_stop.set()
        for pgid, create_time in groups.items():
            _kill_group_if_ours(pgid, create_time)


def _close_quietly(stream) -> None:
    try:
        stream.close()
    except OSError:
        pass
