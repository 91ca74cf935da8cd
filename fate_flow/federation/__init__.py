"""Task-to-task messages between parties, with backends chosen by name.

``create_federation(conf.federation.backend, task_id, role, party_id, roles, options)``
returns a :class:`Federation`. Built-in backends: ``memory`` (threads of one process,
for tests) and ``standalone`` (a file mailbox shared by the task processes of one
machine). Cluster backends (``http``, ``rabbitmq``) register the same way, as a
``"module:Class"`` path so that their client libraries load only when chosen.
"""
from __future__ import annotations

import importlib
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
    "create_federation", "register_backend",
]

_BACKENDS: dict[str, type[Federation] | str] = {
    "memory": "fate_flow.federation.memory:MemoryFederation",
    "standalone": "fate_flow.federation.standalone:StandaloneFederation",
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
    try:
        cls = _BACKENDS[backend]
    except KeyError:
        raise UnknownBackendError(backend, sorted(_BACKENDS)) from None
    if isinstance(cls, str):
        module, name = cls.split(":")
        cls = getattr(importlib.import_module(module), name)
    return cls(session_id, local_role, local_party, roles, options)
