"""Worker processes of a pool end when the process that made the pool is gone, however it ends."""
from __future__ import annotations

import os
import threading
import time

import psutil


def exit_with_owner(owner_pid: int, owner_create_time: float) -> None:
    """Worker initializer: end this worker once the process that made the pool is gone.

    Nothing else would end it when the owner is killed: a forkserver worker's parent is the
    forkserver (so a parent-death signal never fires), the forkserver lives while any worker
    holds its "alive" pipe, and a worker blocks on a call queue whose write end it holds
    itself, so none of them sees EOF. Once the workers are gone the forkserver and the
    resource tracker see EOF and exit, the tracker after unlinking the pool's semaphores.
    """
    try:
        owner = psutil.Process(owner_pid)
        is_owner = abs(owner.create_time() - owner_create_time) < 0.01
    except psutil.NoSuchProcess:
        is_owner = False
    if not is_owner:  # gone (and maybe its pid reused) before this worker even started
        os._exit(1)
    threading.Thread(target=_watch_owner, args=(owner,), name="pool-owner-watch", daemon=True).start()


def _watch_owner(owner: psutil.Process, interval: float = 0.5) -> None:
    # is_running() also tells a reused pid apart (it compares create times); a zombie owner is gone too
    while True:
        try:
            if not owner.is_running() or owner.status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(interval)
    os._exit(1)
