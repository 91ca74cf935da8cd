"""The one logging setup: server logs, per-job schedule logs and FATE's task log layout.

Lines name the source file and line as FATE's logger does
(``secure_add_guest.py[line:42]``), which FATE's scripts grep for.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

FATE_FORMAT = "[%(levelname)s] [%(asctime)s] [%(process)s:%(thread)s] - %(filename)s[line:%(lineno)d]: %(message)s"
LEVEL_FILES = (("DEBUG", logging.DEBUG), ("INFO", logging.INFO),
               ("WARNING", logging.WARNING), ("ERROR", logging.ERROR))


class JobLogHandler(logging.Handler):
    """Copies records that carry a ``job_id`` to logs/<job_id>/fate_flow_schedule.log."""

    def __init__(self, logs_dir: Path, max_open: int = 64) -> None:
        super().__init__(logging.DEBUG)
        self.logs_dir = logs_dir
        self.max_open = max_open
        self._files: OrderedDict[str, logging.FileHandler] = OrderedDict()
        self._guard = threading.Lock()
        self.setFormatter(logging.Formatter(FATE_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        job_id = getattr(record, "job_id", None)
        if not job_id:
            return
        try:
            self._handler(job_id).emit(record)
        except Exception:  # logging must never break the caller
            self.handleError(record)

    def _handler(self, job_id: str) -> logging.FileHandler:
        with self._guard:
            handler = self._files.pop(job_id, None)
            if handler is None:
                job_dir = self.logs_dir / job_id
                job_dir.mkdir(parents=True, exist_ok=True)
                handler = logging.FileHandler(job_dir / "fate_flow_schedule.log", encoding="utf-8")
                handler.setFormatter(self.formatter)
            self._files[job_id] = handler
            while len(self._files) > self.max_open:
                self._files.popitem(last=False)[1].close()
            return handler

    def close(self) -> None:
        with self._guard:
            for handler in self._files.values():
                handler.close()
            self._files.clear()
        super().close()


class JobAdapter(logging.LoggerAdapter):
    """Adds job_id (and task_id) to every record, so they reach the job's own log."""

    def process(self, msg, kwargs):
        extra = dict(self.extra)
        extra.update(kwargs.get("extra") or {})
        kwargs["extra"] = extra
        return f"[{extra['job_id']}] {msg}", kwargs


def job_logger(job_id: str, name: str = "fate_flow.schedule", **extra) -> JobAdapter:
    """The logger of a job: its records go to logs/<job_id>/fate_flow_schedule.log too."""
    return JobAdapter(logging.getLogger(name), {"job_id": job_id, **extra})


def setup_server_logging(logs_dir: Path, level: int = logging.INFO, console: bool = True) -> None:
    """Configure the ``fate_flow`` logger of a server process (call once, from main)."""
    server_dir = logs_dir / "fate_flow"
    server_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger("fate_flow")
    root.setLevel(level)
    root.propagate = False
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    stat = logging.FileHandler(server_dir / "fate_flow_stat.log", encoding="utf-8")
    stat.setFormatter(logging.Formatter(FATE_FORMAT))
    root.addHandler(stat)
    root.addHandler(JobLogHandler(logs_dir))
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter(FATE_FORMAT))
        stream.setLevel(logging.WARNING)
        root.addHandler(stream)


def setup_task_logging(component_dir: Path, party_dir: Path) -> logging.Logger:
    """Configure a task process: DEBUG/INFO/WARNING/ERROR.log in the component and party dirs.

    Each level file holds records of that level and above, as FATE's task logs do.
    """
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    formatter = logging.Formatter(FATE_FORMAT)
    for directory in (component_dir, party_dir):
        directory.mkdir(parents=True, exist_ok=True)
        for name, level in LEVEL_FILES:
            handler = logging.FileHandler(directory / f"{name}.log", encoding="utf-8")
            handler.setLevel(level)
            handler.setFormatter(formatter)
            root.addHandler(handler)
    return root
