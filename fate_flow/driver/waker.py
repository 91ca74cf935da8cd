"""Wakes the scheduler when something happened, across processes.

Whoever changes state that the scheduler must act on (a submit, a task report, a
run request) sends one datagram to the scheduler's Unix socket; the scheduler sleeps
on that socket instead of polling, so it reacts within a millisecond. Under gunicorn
the HTTP workers and the scheduler are different processes; the same path works.

A datagram ``PREWARM`` also asks the scheduler to start a task process ahead, because
a task is about to come (an upload is being received).
"""
from __future__ import annotations

import hashlib
import os
import select
import socket
import tempfile
from pathlib import Path

_MAX_SOCKET_PATH = 100
WAKE = b"!"
PREWARM = b"prewarm"


def socket_path(run_dir: Path) -> str:
    """Path of the wake socket for a work dir (shortened under /tmp if too long)."""
    path = str(run_dir / "scheduler.sock")
    if len(path) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(path.encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"fate_flow_{digest}.sock")


def notify(path: str, message: bytes = WAKE) -> None:
    """Wake the scheduler listening on ``path`` (``PREWARM``: and have it start a task process ahead).

    A no-op if none listens.
    """
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(message, path)
    except OSError:
        pass  # no scheduler (yet), or its buffer is full: it is awake anyway


class Waker:
    """The scheduler's end: bind the socket, then ``wait`` for a nudge or a timeout."""

    def __init__(self, path: str) -> None:
        self.path = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if os.path.exists(path):
            os.unlink(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(path)
        self._sock.setblocking(False)
        self._prewarm_requested = False

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; return True if woken. Drains pending nudges."""
        ready, _, _ = select.select([self._sock], [], [], max(timeout, 0))
        if not ready:
            return False
        try:
            while True:
                if self._sock.recv(64) == PREWARM:
                    self._prewarm_requested = True
        except BlockingIOError:
            pass
        return True

    def take_prewarm_request(self) -> bool:
        """True once after one or more ``PREWARM`` nudges were received."""
        requested, self._prewarm_requested = self._prewarm_requested, False
        return requested

    def wake(self) -> None:
        """Nudge this waker's own scheduler."""
        notify(self.path)

    def close(self) -> None:
        """Close and remove the socket."""
        self._sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
