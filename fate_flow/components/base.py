"""The contract between the task executor and a component.

A component is a class whose ``__init__`` only stores its parameter object and
whose ``run(ctx, inputs)`` does the work. It receives everything through ``ctx``
(role, party, federation handle, tracker, logger) and ``inputs``; it never imports
flask, peewee or anything of ``fate_flow.db``/``fate_flow.apps``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from fate_flow.components.param import BaseParam
from fate_flow.computing.table_data import TableData
from fate_flow.settings import DEFAULT_ID_CACHE_REDIS

__all__ = ["ComponentBase", "ComponentContext", "ComponentOutput", "TableData", "Tracker"]


class Tracker(Protocol):
    """What a component may record about its run (metrics go to its own party's server)."""

    def log_metric_data(self, namespace: str, name: str, data: list[tuple[Any, Any]]) -> None:
        """Append ``[(key, value), ...]`` data points to metric ``namespace``/``name``."""

    def set_metric_meta(self, namespace: str, name: str, meta: dict[str, Any]) -> None:
        """Set the meta of a metric; ``meta`` holds at least ``name`` and ``metric_type``."""

    def set_progress(self, percent: float) -> None:
        """Report how far this task got (0-100); call it as often as is natural (once per iteration).

        The job's progress counts a running component by what its tasks reported. Reports
        that do not go forward are dropped, and the tracker may send only some of them.
        """


@dataclass
class ComponentContext:
    """Who and where a component runs: passed to ``run`` by the task executor."""

    job_id: str
    task_id: str
    component_name: str
    role: str
    party_id: int
    roles: dict[str, list[int]]
    federation: Any
    tracker: Tracker
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("fate_flow.component"))
    # returns this party's fate_flow.storage.TableStorage; called on first use of ``storage``
    # so that a component without tables never loads pyarrow
    storage_opener: Any = None
    # returns the task's fate_flow.computing.ComputingSession (its engine, partitions, scratch)
    computing_opener: Any = None
    # the Redis URL of RSA intersection's id cache (the server's ``id_cache.redis`` setting)
    id_cache_redis: str = DEFAULT_ID_CACHE_REDIS
    _storage: Any = field(default=None, init=False, repr=False)
    _computing: Any = field(default=None, init=False, repr=False)

    @property
    def storage(self) -> Any:
        """This party's table storage (opened on first use)."""
        if self._storage is None and self.storage_opener is not None:
            self._storage = self.storage_opener()
        return self._storage

    @property
    def computing(self) -> Any:
        """The task's computing session (started on first use): ``computing.load(stored_table)`` gives
        a partitioned ``Table``; ``computing.partitions`` is the job's partition count."""
        if self._computing is None:
            if self.computing_opener is None:
                from fate_flow.computing import ComputingConf, create_session

                self._computing = create_session(ComputingConf())
            else:
                self._computing = self.computing_opener()
        return self._computing

    def close_computing(self) -> None:
        """Stop the session's workers and remove its spill files (if it was started)."""
        if self._computing is not None:
            self._computing.close()
            self._computing = None

    def parties(self, role: str) -> list[int]:
        """Party ids playing ``role`` in this job, in runtime-conf order."""
        return list(self.roles.get(role, []))


@dataclass
class ComponentOutput:
    """What a component hands back: output data (TableData, an input table passed through, or
    None) and model messages."""

    data: Any = None
    model: dict[str, Any] | None = None


class ComponentBase:
    """Base of every component implementation.

    Subclasses override ``run``. ``params`` is the merged, checked parameter object.
    """

    def __init__(self, params: BaseParam) -> None:
        self.params = params

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        """Do the component's work for ``ctx.role``; return its outputs."""
        raise NotImplementedError(f"{type(self).__name__} does not implement run()")
