"""One server per work dir: an exclusive flock on ``run/scheduler.lock`` for the life of the process.

The lock is taken before anything else binds (HTTP port, wake-up socket), so a second server
started on the same work dir says so and exits without ever claiming to listen.
"""
from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import IO


class SchedulerLocked(RuntimeError):
    """Another server (or scheduler) already runs on this work dir."""


class WorkDirLock:
    """The exclusive lock of a work dir's ``run/`` directory."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._file: IO[str] | None = None

    @property
    def is_held(self) -> bool:
        return self._file is not None

    def acquire(self) -> None:
        """Take the lock; SchedulerLocked naming the server that holds it (from run/server.json)."""
        if self._file is not None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.run_dir / "scheduler.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise SchedulerLocked(self._holder_message()) from None
        self._file = handle

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _holder_message(self) -> str:
        work_dir = self.run_dir.parent
        holder = ""
        try:
            info = json.loads((self.run_dir / "server.json").read_text(encoding="utf-8"))
            holder = f" (FATE-Flow server pid {info['pid']}, http://{info['address']})"
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return (f"another scheduler runs on work dir {work_dir}{holder}: stop it with "
                f"'python fate_flow_server.py stop --work-dir {work_dir}', or start this one with "
                f"--work-dir <another directory>")
