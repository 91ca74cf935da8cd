"""Task-to-task messages between parties, with backends chosen by name.

``create_federation(conf.federation.backend, task_id, role, party_id, roles, options)``
returns a :class:`Federation`. Built-in backends: ``memory`` (threads of one process,
for tests), ``standalone`` (a file mailbox shared by the task processes of one
machine), ``http`` (through the destination party's FATE-Flow server) and ``rabbitmq``
(through a broker). Backends are registered as ``"module:Class"`` paths so that their
client libraries load only when chosen. ``release_session`` removes what a backend kept
for a session once its job has ended.
"""
from __future__ import annotations

import importlib
import json
import os
from typing import Any, Mapping, Sequence

from fate_flow.federation.base import (
    DEFAULT_TIMEOUT, DuplicateRemoteError, Federation, FederationTimeout, MessageKey,
    UnknownBackendError,
)
from fate_flow.federation.standalone import cleanup_session
from fate_flow.federation.transfer import TransferVariables, Variable

__all__ = [
    "DEFAULT_TIMEOUT", "DuplicateRemoteError", "Federation", "FederationTimeout", "MessageKey",
    "TransferVariables", "UnknownBackendError", "Variable", "cleanup_session",
    "create_federation", "register_backend", "release_session", "release_task_session", "task_session",
]

_BACKENDS: dict[str, type[Federation] | str] = {
    "memory": "fate_flow.federation.memory:MemoryFederation",
    "standalone": "fate_flow.federation.standalone:StandaloneFederation",
    "http": "fate_flow.federation.http:HttpFederation",
    "rabbitmq": "fate_flow.federation.rabbitmq:RabbitMQFederation",
}


def register_backend(name: str, cls: type[Federation] | str) -> None:
    """Make ``cls`` (a Federation subclass or its ``"module:Class"`` path) available as ``name``."""
    _BACKENDS[name] = cls


def create_federation(backend: str, session_id: str, local_role: str, local_party: int | str,
                      roles: Mapping[str, Sequence[int | str]],
                      options: Mapping[str, Any] | None = None) -> Federation:
    """Build the federation of one task with the backend registered as ``backend``.

    Raises:
        UnknownBackendError: no backend has that name.
    """
    return _backend_class(backend)(session_id, local_role, local_party, roles, options)


def release_session(backend: str, session_id: str, local_role: str, local_party: int | str,
                    roles: Mapping[str, Sequence[int | str]], options: Mapping[str, Any] | None = None) -> None:
    """Remove what ``backend`` keeps for one party's part of a session: its mailbox, queues, exchange.

    Takes what ``create_federation`` took; call it once the job has ended.
    """
    _backend_class(backend).release_session(session_id, local_role, local_party, roles, options or {})


def release_task_session(task_config_path: str | os.PathLike) -> None:
    """:func:`release_session` with the backend and options a task ran with.

    Reads the task's task_config.json (keys ``federation``, ``task_id``, ``role``,
    ``party_id``, ``roles``, as the task executor does); a task that never got one
    had no session, and nothing is done.
    """
    try:
        with open(task_config_path, encoding="utf-8") as f:
            config = json.load(f)
    except FileNotFoundError:
        return
    release_session(*task_session(config))


def task_session(config: Mapping[str, Any]) -> tuple:
    """(backend, session id, role, party id, roles, options) of a task, from its task_config."""
    federation = config["federation"]
    options = {k: v for k, v in federation.items() if k != "backend"}
    return federation["backend"], config["task_id"], config["role"], config["party_id"], config["roles"], options


def _backend_class(backend: str) -> type[Federation]:
    try:
        cls = _BACKENDS[backend]
    except KeyError:
        raise UnknownBackendError(backend, sorted(_BACKENDS)) from None
    if isinstance(cls, str):
        module, name = cls.split(":")
        cls = getattr(importlib.import_module(module), name)
    return cls
