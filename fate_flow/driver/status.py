"""Job and task statuses, their legal transitions, and the one function that writes them.

A status moves only along ``TRANSITIONS``. ``transition`` is a conditional UPDATE
(``WHERE f_status IN allowed_from(to)``): when it matches no row the event was late
or duplicated, and nothing changes, so a finished job never moves back to running.
"""
from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from fate_flow.db import DB, Job, now_ms

logger = logging.getLogger("fate_flow.status")


class JobStatus(str, Enum):
    WAITING = "waiting"      # accepted, in the queue
    RUNNING = "running"      # admitted by the initiator's scheduler
    SUCCESS = "success"      # every component succeeded
    FAILED = "failed"        # a task failed, or the job was killed
    TIMEOUT = "timeout"      # ran past its timeout
    CANCELED = "canceled"    # stopped by a user (sticky, as in FATE 1.4)

    def __str__(self) -> str:
        return self.value


class TaskStatus(str, Enum):
    WAITING = "waiting"      # requested on this party, process not started yet
    RUNNING = "running"      # process started
    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"

    def __str__(self) -> str:
        return self.value


class QueueState:
    """Values of t_queue.f_is_waiting, as FATE 1.4 numbers them."""

    WAITING = 1
    DISPATCHED = 0
    CANCELED = 2


JOB_FINISHED = frozenset({JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.TIMEOUT, JobStatus.CANCELED})
JOB_UNFINISHED = frozenset({JobStatus.WAITING, JobStatus.RUNNING})
TASK_FINISHED = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILED, TaskStatus.TIMEOUT})
TASK_UNFINISHED = frozenset({TaskStatus.WAITING, TaskStatus.RUNNING})

# Two tables: job and task statuses are str enums, so "success" of one would
# collide with "success" of the other as a key of a single dict.
JOB_TRANSITIONS: dict[JobStatus, frozenset] = {
    JobStatus.WAITING: frozenset(),
    JobStatus.RUNNING: frozenset({JobStatus.WAITING}),
    JobStatus.SUCCESS: frozenset({JobStatus.RUNNING}),
    JobStatus.FAILED: JOB_UNFINISHED,
    JobStatus.TIMEOUT: JOB_UNFINISHED,
    JobStatus.CANCELED: JOB_UNFINISHED,
}
TASK_TRANSITIONS: dict[TaskStatus, frozenset] = {
    TaskStatus.WAITING: frozenset(),
    TaskStatus.RUNNING: frozenset({TaskStatus.WAITING}),
    TaskStatus.SUCCESS: TASK_UNFINISHED,
    TaskStatus.FAILED: TASK_UNFINISHED,
    TaskStatus.TIMEOUT: TASK_UNFINISHED,
}


def allowed_from(to: Enum) -> frozenset[str]:
    """Statuses from which ``to`` may be entered."""
    table = JOB_TRANSITIONS if isinstance(to, JobStatus) else TASK_TRANSITIONS
    return frozenset(str(s) for s in table[to])


def is_finished(status: str) -> bool:
    """True for a terminal job or task status."""
    return status in {str(s) for s in JOB_FINISHED | TASK_FINISHED}


def transition(model, where: dict[str, Any], to: Enum, **fields: Any) -> bool:
    """Move the row(s) matching ``where`` to status ``to`` if the move is legal.

    A terminal status also sets ``f_end_time``/``f_elapsed`` (from the row's start
    time) when the caller did not. Returns True if a row changed; False means the
    event was late or duplicated and is dropped.
    """
    now = now_ms()
    values = {"f_status": str(to), "f_update_time": now, **fields}
    if to in JOB_FINISHED or to in TASK_FINISHED:
        values.setdefault("f_end_time", now)
    cond = [getattr(model, k) == str(v) for k, v in where.items()]
    cond.append(model.f_status.in_(list(allowed_from(to))))
    with DB.atomic():
        changed = model.update(**values).where(*cond).execute()
        if changed and "f_end_time" in values and "f_elapsed" not in fields:
            _set_elapsed(model, where)
    if not changed:
        logger.debug("dropped %s -> %s for %s %s", model.__name__, to, where, fields)
    return bool(changed)


def _set_elapsed(model, where: dict[str, Any]) -> None:
    cond = [getattr(model, k) == str(v) for k, v in where.items()]
    model.update(f_elapsed=model.f_end_time - model.f_start_time).where(
        *cond, model.f_start_time.is_null(False)).execute()


def restart_job(where: dict[str, Any], from_statuses: list[str]) -> bool:
    """Put an ended job row back to waiting for a rerun: the one move out of a terminal status.

    Only a user's rerun calls it (never a task or party event), so a late message still can not
    revive a finished job. Returns True if the row changed.
    """
    cond = [getattr(Job, k) == str(v) for k, v in where.items()]
    changed = Job.update(f_status=str(JobStatus.WAITING), f_end_time=None, f_elapsed=None, f_progress=0,
                         f_status_reason="", f_update_time=now_ms(), f_tag="rerun").where(
        *cond, Job.f_status.in_(from_statuses)).execute()
    return bool(changed)
