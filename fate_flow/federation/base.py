"""The federation interface: how a task sends objects to and receives them from other parties.

A message is addressed by :class:`MessageKey`, the tuple
``(session_id, name, tag, src_role, src_party, dst_role, dst_party)``. The session id
is the task id, so messages of different tasks never collide. Objects cross the
boundary encoded by :mod:`fate_flow.federation.codec` (msgpack, never pickle); a
backend only moves opaque bytes from one key to the same key on the other side.
"""
from __future__ import annotations

import abc
import logging
import threading
import time
from typing import Any, Mapping, NamedTuple, Sequence, TypeVar


DEFAULT_TIMEOUT = 600.0
# bytes per chunk of the backends that cut a message (http, rabbitmq) when options say nothing
DEFAULT_CHUNK_SIZE = 4 << 20
_LONGEST_RETRY_PAUSE = 2.0

Sliceable = TypeVar("Sliceable", bytes, memoryview)

logger = logging.getLogger("fate_flow.federation")


class MessageKey(NamedTuple):
    """Address of one message; party ids are kept as strings so 10000 and "10000" agree."""

    session_id: str
    name: str
    tag: str
    src_role: str
    src_party: str
    dst_role: str
    dst_party: str


class FederationTimeout(TimeoutError):
    """A ``get`` waited ``timeout`` seconds and the message did not arrive."""

    def __init__(self, name: str, tag: str, src_role: str, src_party: Any, timeout: float) -> None:
        self.name, self.tag, self.src_role, self.src_party = name, tag, src_role, src_party
        self.timeout = timeout
        super().__init__(
            f"waited {timeout:g} s for {name} tag {tag} from {src_role} {src_party}: not received")


class DuplicateRemoteError(RuntimeError):
    """The same message key was sent twice (FATE's "remote duplicate tag")."""

    def __init__(self, key: MessageKey) -> None:
        self.key = key
        super().__init__(
            f"remote duplicate tag: {key.name} tag {key.tag} was already sent "
            f"to {key.dst_role} {key.dst_party} in session {key.session_id}")


class UnknownBackendError(ValueError):
    """No federation backend is registered under this name."""

    def __init__(self, backend: str, known: Sequence[str]) -> None:
        self.backend, self.known = backend, list(known)
        super().__init__(
            f"unknown federation backend {backend!r}; known: {', '.join(self.known)}")


class Federation(abc.ABC):
    """One task's link to the other parties of its job.

    Args:
        session_id: the task id; it scopes every message key.
        local_role: the role this task plays (``guest``, ``host``, ``arbiter``).
        local_party: this task's party id.
        roles: the runtime conf ``role`` dict, role -> list of party ids.
        options: backend options; ``timeout`` (seconds) is the default wait of ``get``.

    Not meant to be shared between tasks; one task may use it from several threads.
    ``bytes_sent`` and ``messages_sent`` count the encoded messages this handle sent
    (what crossed to other parties), and are logged when it closes.
    """

    def __init__(self, session_id: str, local_role: str, local_party: int | str,
                 roles: Mapping[str, Sequence[int | str]],
                 options: Mapping[str, Any] | None = None) -> None:
        self.session_id = str(session_id)
        self.local_role = local_role
        self.local_party = local_party
        self.roles = {role: list(parties) for role, parties in roles.items()}
        self.options = dict(options or {})
        self.default_timeout = float(self.options.get("timeout", DEFAULT_TIMEOUT))
        self._check_party(local_role, local_party)
        self._sent: set[MessageKey] = set()
        self._sent_lock = threading.Lock()
        self._is_closed = False
        self.bytes_sent = 0
        self.messages_sent = 0

    def remote(self, obj: Any, name: str, tag: str, dest_role: str, dest_party: int | str) -> None:
        """Send ``obj`` as variable ``name`` with ``tag`` to one party.

        Returns once the message is handed to the backend; the receiver need not be
        waiting yet, and a later ``get`` on the other side finds it.

        Raises:
            DuplicateRemoteError: this (name, tag, destination) was already sent.
            ValueError: the destination is not a party of the job.
            TypeError: ``obj`` holds a value the codec cannot encode.
        """
        self._check_open()
        self._check_party(dest_role, dest_party)
        key = MessageKey(self.session_id, name, tag, self.local_role, str(self.local_party),
                         dest_role, str(dest_party))
        with self._sent_lock:
            if key in self._sent:
                raise DuplicateRemoteError(key)
            self._sent.add(key)
        try:
            from fate_flow.federation import codec  # numpy: loaded by tasks, not by the server

            payload = codec.dumps(obj)
            self._put_message(key, payload)
        except BaseException:
            # Not sent (unencodable object, full disk): a retry of the key is no duplicate.
            with self._sent_lock:
                self._sent.discard(key)
            raise
        with self._sent_lock:
            self.bytes_sent += len(payload)
            self.messages_sent += 1

    def get(self, name: str, tag: str, src_role: str, src_party: int | str,
            timeout: float | None = None) -> Any:
        """Receive variable ``name`` with ``tag`` sent by one party, consuming the message.

        Blocks until the message arrives or ``timeout`` seconds pass (the ``timeout``
        option, 600 s by default, when None).

        Returns:
            The decoded object, equal to what the sender passed to ``remote``.
        Raises:
            FederationTimeout: nothing arrived in time; names variable, tag and source.
            ValueError: the source is not a party of the job, or the message is malformed.
        """
        self._check_open()
        self._check_party(src_role, src_party)
        key = MessageKey(self.session_id, name, tag, src_role, str(src_party),
                         self.local_role, str(self.local_party))
        wait = self.default_timeout if timeout is None else float(timeout)
        payload = self._take_message(key, wait)
        if payload is None:
            raise FederationTimeout(name, tag, src_role, src_party, wait)
        from fate_flow.federation import codec

        return codec.loads(payload)

    def close(self) -> None:
        """Release this handle's resources; later ``remote``/``get`` calls raise RuntimeError.

        Messages of this or other sessions that are still in flight are left alone.
        The first close logs the traffic totals (the benchmark compares backends by them).
        """
        if not self._is_closed:
            logger.info("federation sent %d bytes in %d messages (session %s, %s %s)", self.bytes_sent,
                        self.messages_sent, self.session_id, self.local_role, self.local_party)
        self._is_closed = True

    def __enter__(self) -> "Federation":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @classmethod
    def release_session(cls, session_id: str, local_role: str, local_party: int | str,
                        roles: Mapping[str, Sequence[int | str]], options: Mapping[str, Any]) -> None:
        """Remove what the backend keeps for one party's part of a session once the job has ended.

        Takes the arguments ``create_federation`` took, so a backend can name its resources
        again. Must not fail when there is nothing to remove; the default removes nothing.
        """

    @abc.abstractmethod
    def _put_message(self, key: MessageKey, payload: bytes) -> None:
        """Store ``payload`` under ``key`` so that the destination's ``_take_message`` finds it.

        Must make the whole payload visible at once (never a partial message).
        """

    @abc.abstractmethod
    def _take_message(self, key: MessageKey, timeout: float) -> bytes | None:
        """Wait up to ``timeout`` seconds for the payload stored under ``key``.

        Returns:
            The payload, removed from the backend, or None if it did not arrive in time.
        """

    def _check_party(self, role: str, party: int | str) -> None:
        if str(party) not in {str(p) for p in self.roles.get(role, ())}:
            raise ValueError(f"{role} {party} is not a party of this job (roles {self.roles})")

    def _check_open(self) -> None:
        if self._is_closed:
            raise RuntimeError(f"federation session {self.session_id} is closed")


def chunk_size_option(options: Mapping[str, Any], maximum: int | None = None) -> int:
    """The ``chunk_size`` option of a chunking backend (DEFAULT_CHUNK_SIZE when absent).

    Raises:
        ValueError: it is not positive, or above ``maximum``.
    """
    size = int(options.get("chunk_size") or DEFAULT_CHUNK_SIZE)
    if size <= 0 or (maximum is not None and size > maximum):
        bound = f"between 1 and {maximum} bytes" if maximum is not None else "a positive number of bytes"
        raise ValueError(f"chunk_size must be {bound}, not {size}")
    return size


def split_payload(payload: Sliceable, chunk_size: int) -> list[Sliceable]:
    """``payload`` cut into chunks of at most ``chunk_size`` bytes; an empty one is a single empty chunk.

    Slices of a memoryview are views, so cutting one copies nothing.
    """
    return [payload[start:start + chunk_size] for start in range(0, max(len(payload), 1), chunk_size)]


class RetryPause:
    """Growing pauses (0, 50 ms, doubling up to 2 s) between attempts of a call, until ``deadline``.

    The first retry is immediate: a dropped keep-alive connection usually works again at once.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._pause = 0.0

    def sleep(self) -> bool:
        """Sleep before the next attempt; False, without sleeping, if that attempt would start past the deadline."""
        if time.monotonic() + self._pause >= self.deadline:
            return False
        time.sleep(self._pause)
        self._pause = min(max(self._pause * 2, 0.05), _LONGEST_RETRY_PAUSE)
        return True
