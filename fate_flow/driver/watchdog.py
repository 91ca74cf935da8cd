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
    """Watch the parent pid from a daemon thread; on a change, kill this process group.

    The launcher names itself in ``FATE_FLOW_TASK_PARENT``, so a server that died while the
    task was still importing is noticed too.
    """
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())

    def watch() -> None:
        pause = threading.Event()
        while os.getppid() == parent:
            pause.wait(interval)
        logger.error("the server that started this task (pid %s) is gone: stopping the task", parent)
        logging.shutdown()
        try:
            os.killpg(os.getpgrp(), signal.SIGKILL)
        finally:
            os._exit(1)

    thread = threading.Thread(target=watch, name="orphan-watchdog", daemon=True)
    thread.start()
    return thread
