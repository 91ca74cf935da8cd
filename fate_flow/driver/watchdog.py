"""A task process ends itself when the server that started it is gone.

Tasks run in their own session so that a stop can kill their whole process group; the
price is that they outlive a server killed with -9. A task whose parent changed (it was
re-parented to init or a subreaper) has nobody to report to, and in cluster mode the
other parties' initiator fails the job on its own: so the task kills its group and exits.
"""
from __future__ import annotations

import logging
import os
import signal
import threading

logger = logging.getLogger("fate_flow.task_executor")


PARENT_ENV = "FATE_FLOW_TASK_PARENT"


def exit_when_orphaned(interval: float = 1.0) -> threading.Thread:
    """Watch the server from a daemon thread; once it is gone, kill this process group.

    The launcher names itself in ``FATE_FLOW_TASK_PARENT``, so a server that died while the
    task was still importing is noticed too. A task forked by the task forker is the forker's
    child, not the server's: the server is watched by pid and start time, not as the parent.
    """
    server = int(os.environ.get(PARENT_ENV) or os.getppid())
    started = _start_time(server)

    def watch() -> None:
        pause = threading.Event()
        while started is not None and _start_time(server) == started:
            pause.wait(interval)
        logger.error("the server that started this task (pid %s) is gone: stopping the task", server)
        logging.shutdown()
        try:
            os.killpg(os.getpgrp(), signal.SIGKILL)
        finally:
            os._exit(1)

    thread = threading.Thread(target=watch, name="orphan-watchdog", daemon=True)
    thread.start()
    return thread


def _start_time(pid: int) -> float | None:
    """The start time of ``pid``, None if no such process or a zombie: a pid reused by another process has
    another start time."""
    import psutil

    try:
        process = psutil.Process(pid)
        return None if process.status() == psutil.STATUS_ZOMBIE else process.create_time()
    except psutil.Error:
        return None
