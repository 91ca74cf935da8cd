"""In-process federation for tests: parties are threads sharing one :class:`MemoryBoard`.

Messages still go through the codec, so a test sees exactly what another process would.
"""
from __future__ import annotations

import threading
from typing import Any, Mapping, Sequence

from fate_flow.federation.base import Federation, MessageKey


class MemoryBoard:
    """A thread-safe mailbox: message key -> encoded payload."""

    def __init__(self) -> None:
        self._messages: dict[MessageKey, bytes] = {}
        self._arrived = threading.Condition()

    def put(self, key: MessageKey, payload: bytes) -> None:
        """Store ``payload`` under ``key`` and wake the waiting receivers."""
        with self._arrived:
            self._messages[key] = payload
            self._arrived.notify_all()

    def take(self, key: MessageKey, timeout: float) -> bytes | None:
        """Remove and return the payload under ``key``; None if it is not there within ``timeout``."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: key in self._messages, timeout):
                return None
            return self._messages.pop(key)

    def pending(self, session_id: str | None = None) -> list[MessageKey]:
        """Keys sent but not yet received, of one session or of all."""
        with self._arrived:
            return [k for k in self._messages if session_id is None or k.session_id == session_id]


# The board shared by memory federations created without options["board"], so that
# two threads calling create_federation("memory", ...) talk to each other. Keys carry
# the session id, so tests using distinct task ids never see each other's messages.
_PROCESS_BOARD = MemoryBoard()


class MemoryFederation(Federation):
    """Federation over a :class:`MemoryBoard` (``options["board"]``, else the process-wide one)."""

    def __init__(self, session_id: str, local_role: str, local_party: int | str,
                 roles: Mapping[str, Sequence[int | str]],
                 options: Mapping[str, Any] | None = None) -> None:
        super().__init__(session_id, local_role, local_party, roles, options)
        self.board: MemoryBoard = self.options.get("board") or _PROCESS_BOARD

    def _put_message(self, key: MessageKey, payload: bytes) -> None:
        self.board.put(key, payload)

    def _take_message(self, key: MessageKey, timeout: float) -> bytes | None:
        return self.board.take(key, timeout)
