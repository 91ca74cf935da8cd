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

A task process started afresh spends about half a CPU second starting the interpreter and
importing numpy, pyarrow, gmpy2 and its component; several tasks of a job start together. So when
a task is known to be coming (an upload request is being received, or tasks were just started),
``prewarm`` starts the task forker (``task_forker``), which does those imports once and then forks
each task from itself in a few milliseconds. A forked task is in its own session like any other; the
forker reports its exit. The forker is told to exit (its stdin is closed) once no task came for
``FORKER_TTL_S`` and none of its tasks runs, so an idle server keeps no extra process. A task waits up to
``FORKER_READY_WAIT_S`` for a forker still importing; past that, without a forker, or if it died, tasks
start afresh.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import psutil

from fate_flow.driver import task_forker
from fate_flow.driver.watchdog import PARENT_ENV
from fate_flow.utils.signing import PARTY_ENV, SECRET_ENV

logger = logging.getLogger("fate_flow.launcher")

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
EXECUTOR = "fate_flow.driver.task_executor"
FORKER = task_forker.__name__
FORKER_TTL_S = 30.0
# the forker answers an order with the pid within milliseconds; past this it is taken for hung
FORK_TIMEOUT_S = 60.0
# how long a task waits for a forker that is still importing before it starts afresh
FORKER_READY_WAIT_S = 2.0
UNKNOWN_EXIT = 255  # the exit code of a forked task whose forker died before it could report it


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


class _ForkedTask:
    """A task the forker forked: what the watcher needs of a ``Popen`` (``pid``, ``wait``)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._ended = threading.Event()

    def ended(self, returncode: int) -> None:
        if self.returncode is None:
            self.returncode = returncode
        self._ended.set()

    def wait(self, timeout: float | None = None) -> int | None:
        self._ended.wait(timeout)
        return self.returncode


class _Forker:
    """The task forker process, its answers read by a thread; orders go one at a time."""

    def __init__(self, proc: subprocess.Popen, cwd: Path) -> None:
        self.proc = proc
        self.cwd = cwd
        self.ready = threading.Event()
        self.gone = threading.Event()
        self.tasks: dict[int, _ForkedTask] = {}
        self.last_used = time.monotonic()
        self._order_lock = threading.Lock()
        self._started: "queue.SimpleQueue[_ForkedTask | None]" = queue.SimpleQueue()

    def fork(self, order: dict) -> _ForkedTask:
        """Have the forker fork the task of ``order``; raises OSError if it can not."""
        with self._order_lock:
            self.last_used = time.monotonic()
            self.proc.stdin.write(json.dumps(order).encode() + b"\n")
            self.proc.stdin.flush()
            try:
                task = self._started.get(timeout=FORK_TIMEOUT_S)
            except queue.Empty:  # not started afresh either: the forker may still fork it
                self.proc.kill()
                raise TaskStartError(f"the task forker did not fork within {FORK_TIMEOUT_S:.0f} s") from None
            if task is None:
                raise OSError("the task forker ended")
            return task

    def read_answers(self) -> None:
        """Thread: turn the forker's lines into ready, started and exit events until it ends."""
        for line in self.proc.stdout:
            word, *values = line.decode().split()
            if word == task_forker.READY:
                self.ready.set()
            elif word == task_forker.STARTED:
                task = self.tasks[int(values[0])] = _ForkedTask(int(values[0]))
                self._started.put(task)
            elif word == task_forker.EXITED:
                task = self.tasks.pop(int(values[0]), None)
                if task is not None:
                    task.ended(int(values[1]))
        self.proc.wait()
        self.gone.set()
        self._started.put(None)  # an order in flight gets its answer
        for task in list(self.tasks.values()):  # their exits can no longer be reported: watch them
            threading.Thread(target=_await_orphan, args=(task,), name=f"orphan-{task.pid}", daemon=True).start()

    def idle(self, ttl: float) -> bool:
        return not self.tasks and time.monotonic() - self.last_used >= ttl


def _await_orphan(task: _ForkedTask, interval: float = 0.2) -> None:
    """A forked task whose forker died: its exit code is lost; notice its end by polling."""
    created = process_create_time(task.pid)
    while process_matches(task.pid, created):
        time.sleep(interval)
    logger.warning("task process %s ended after its forker: exit code unknown", task.pid)
    task.ended(UNKNOWN_EXIT)


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
                 task_env: Callable[[str], dict[str, str]] | None = None, kill_grace: float = 3.0) -> None:
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
        self._forker: _Forker | None = None

    def start(self, key: TaskKey, config_path: Path, log_dir: Path, job_server: str,
              cwd: Path) -> tuple[int, int]:
        """Start the executor for ``key``; return (pid, create time ms). Raises TaskStartError."""
        log_dir.mkdir(parents=True, exist_ok=True)
        argv = ["-j", key.job_id, "-n", key.task_id[len(key.job_id) + 1:], "-t", key.task_id,
                "-r", key.role, "-p", key.party_id, "-c", str(config_path), "--job_server", job_server]
        task_env = self.task_env(key.party_id) if self.task_env else {}
        forked = self._fork(key, argv, task_env, log_dir / "std.log", cwd)
        if forked is not None:
            return forked
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

    def prewarm(self, cwd: Path, ttl: float = FORKER_TTL_S) -> bool:
        """Start the task forker in ``cwd`` unless it runs; True if it was started.

        It is told to exit once no task came for ``ttl`` seconds and none of its tasks runs.
        """
        with self._lock:
            if self._forker is not None and not self._forker.gone.is_set():
                self._forker.last_used = time.monotonic()
                return False
            try:
                proc = subprocess.Popen([self.python, "-m", FORKER], cwd=str(cwd), env=self._base_env(),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        start_new_session=True, close_fds=True)
            except OSError as exc:
                logger.warning("can not start the task forker: %s", exc)
                return False
            forker = self._forker = _Forker(proc, Path(cwd))
        threading.Thread(target=forker.read_answers, name=f"forker-{proc.pid}", daemon=True).start()
        threading.Thread(target=self._retire_when_idle, args=(forker, ttl), name=f"forker-ttl-{proc.pid}",
                         daemon=True).start()
        return True

    def _fork(self, key: TaskKey, argv: list[str], task_env: dict[str, str], log_path: Path,
              cwd: Path) -> tuple[int, int] | None:
        """Have the ready forker fork the task; (pid, create time), or None to start it afresh."""
        forker = self._forker
        if forker is None or forker.gone.is_set() or Path(cwd) != forker.cwd:
            return None
        # a forker still importing is ready within a second or so: a task started afresh meanwhile would do the
        # same imports beside it on the same cores, so it is worth waiting for, a little
        if not forker.ready.wait(FORKER_READY_WAIT_S) or forker.gone.is_set():
            return None
        try:
            task = forker.fork({"argv": argv, "env": task_env, "log": str(log_path), "cwd": str(cwd)})
        except (OSError, ValueError) as exc:  # it died or hung: start the task afresh
            logger.warning("task forker %s unusable (%s): starting the task afresh", forker.proc.pid, exc)
            return None
        create_time = process_create_time(task.pid) or int(time.time() * 1000)
        with self._lock:
            self._children[task.pid] = task
            self._groups[task.pid] = create_time
        threading.Thread(target=self._watch, args=(key, task, create_time), name=f"watch-{task.pid}",
                         daemon=True).start()
        return task.pid, create_time

    def _retire_when_idle(self, forker: _Forker, ttl: float) -> None:
        """Close the forker's input once it was idle for ``ttl`` seconds (it exits when its tasks have)."""
        while not forker.gone.wait(min(ttl, 1.0)):
            with self._lock:
                if forker.idle(ttl):
                    if self._forker is forker:
                        self._forker = None
                    _close_quietly(forker.proc.stdin)
                    return

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

        The task forker is told to exit (it does once its tasks are gone).
        """
        with self._lock:
            forker, self._forker = self._forker, None
            groups = dict(self._groups)
        if forker is not None:
            _close_quietly(forker.proc.stdin)
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
