"""Identifiers in FATE 1.4's formats (job id, task id, session id, party model id)."""
from __future__ import annotations

import itertools
import threading
from datetime import datetime

_counter = itertools.count(1)
_lock = threading.Lock()


def generate_job_id() -> str:
    """``%Y%m%d%H%M%S%f`` followed by a process-wide counter starting at 1, as FATE does."""
    with _lock:
        return datetime.now().strftime("%Y%m%d%H%M%S%f") + str(next(_counter))


def task_id(job_id: str, component_name: str) -> str:
    """FATE's task id: ``<job_id>_<component>``."""
    return f"{job_id}_{component_name}"


def session_id(task: str, role: str, party_id) -> str:
    """The federation session of a task."""
    return f"{task}_{role}_{party_id}"


def party_model_id(role: str, party_id, model_id: str) -> str:
    """FATE's party model id: ``<role>#<party_id>#<model_id>``."""
    return f"{role}#{party_id}#{model_id}"
