"""The task forker: one process that imports what tasks need once, then forks each task from itself.

``python -m fate_flow.driver.task_forker`` (started by ``launcher.Launcher``) imports numpy, pyarrow,
gmpy2 and the usual pipeline's programs, says ``ready`` on stdout, then reads orders from stdin, one
JSON line each: ``{"argv": [...], "env": {...}, "log": path, "cwd": dir}``. For each it forks a child
that leaves the forker's session (its own process group, as a task started afresh has), moves to
``cwd``, takes the party's environment and ``log`` as stdout/stderr, and runs
``task_executor.main(argv)``; the forker answers ``started <pid>``. When a child ends it answers
``exit <pid> <code>`` (negative: the signal, as subprocess gives it). A fork costs a few milliseconds;
each task started afresh spent about half a CPU second importing the same modules, and several tasks of
a job start together on a 2-core machine.

The forker runs no thread (forking a threaded process can copy a held lock into the child). At the end
of its input it exits once its children have ended and been reported.
"""
from __future__ import annotations

import json
import os
import select
import signal
import sys
import traceback

# the modules of FATE's usual pipeline (its programs import gmpy2, pyarrow.compute, the Paillier and
# RSA code): a task of one of them finds nothing left to import
PRELOADED_MODULES = ("DataIO", "Intersection", "Evaluation", "HeteroSecureBoost", "HeteroLR")
READY, STARTED, EXITED = "ready", "started", "exit"


def preload() -> None:
    """Import the modules every task imports anyway, then the usual pipeline's programs."""
    import fate_flow.components  # noqa: F401
    import fate_flow.driver.task_executor  # noqa: F401
    import fate_flow.driver.task_io  # noqa: F401
    import fate_flow.federation  # noqa: F401
    import fate_flow.storage.csv_lines  # noqa: F401  (numpy, pyarrow)
    import psutil  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    from fate_flow.components import get_spec

    for module in PRELOADED_MODULES:
        try:
            spec = get_spec(module)
            for role in ("guest", "host"):
                spec.program(role)
        except Exception:  # noqa: BLE001 - one that does not load here fails in its own task, which says why
            pass


def serve(orders_fd: int = 0, replies_fd: int = 1) -> int:
    """Fork a task for every order on ``orders_fd``; report starts and exits on ``replies_fd``."""
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wakeup fd hears of exits
    signal.set_wakeup_fd(wake_w)
    replies = os.fdopen(os.dup(replies_fd), "w", buffering=1)
    replies.write(READY + "\n")
    children: set[int] = set()
    pending, open_input = b"", True
    while open_input or children:
        readable = select.select([orders_fd, wake_r] if open_input else [wake_r], [], [], 1.0)[0]
        if wake_r in readable:
            _drain(wake_r)
        for pid, code in _reap(children):
            replies.write(f"{EXITED} {pid} {code}\n")
        if orders_fd in readable:
            chunk = os.read(orders_fd, 65536)
            open_input = bool(chunk)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    pid = _fork_task(json.loads(line), (orders_fd, replies.fileno(), wake_r, wake_w))
                    children.add(pid)
                    replies.write(f"{STARTED} {pid}\n")
    return 0


def _fork_task(order: dict, own_fds: tuple[int, ...]) -> int:
    """Fork the order's task; returns its pid once it leads its own session (so its group can be killed)."""
    in_session_r, in_session_w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(in_session_w)
        os.read(in_session_r, 1)  # a byte once the child called setsid; end of file if it died first
        os.close(in_session_r)
        return pid
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in set(own_fds) - {0, 1, 2}:
            os.close(fd)
        os.setsid()
        os.close(in_session_r)
        os.write(in_session_w, b"s")
        os.close(in_session_w)
        code = _run_order(order)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - the child must never return into the forker's loop
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _run_order(order: dict) -> int:
    import numpy as np

    from fate_flow.driver import task_executor

    os.chdir(order["cwd"])
    os.environ.update(order.get("env") or {})
    task_executor.redirect_output(order["log"])
    np.random.seed()  # the legacy global generator was seeded once in the forker: each task gets its own
    return task_executor.main(order["argv"])


def _reap(children: set[int]) -> list[tuple[int, int]]:
    """(pid, exit code) of every child that ended; the code negative for a signal, as subprocess has it."""
    ended = []
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        children.discard(pid)
        ended.append((pid, os.waitstatus_to_exitcode(status)))
    return ended


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def main() -> int:
    preload()
    return serve()


if __name__ == "__main__":
    sys.exit(main())
