"""Federation through a RabbitMQ broker (pika), for cluster deployments that run one.

Names: one direct exchange per job, ``fate_flow.<job_id>``, and one queue per session,
destination party and source party, ``fate_flow.<session>.<dst_role>-<dst_party>.<src_role>-<src_party>``,
bound to the exchange under its own name. Sender and receiver both declare the queue before
using it, so a message sent before its receiver listens waits in the queue. A message is
published in chunks of ``chunk_size`` bytes with publisher confirms; AMQP headers carry its
name, tag and chunk index and count, the AMQP message id its random id. The receiver
consumes the queue of each source it reads from and keeps complete messages that arrive for
other (name, tag) keys in memory until asked. ``release_session`` deletes the queues and
the exchange when the job ends.

pika's BlockingConnection is not thread-safe: sending uses one connection under a lock,
receiving another, whose events one thread at a time pumps. Heartbeats are off, so a task
that computes for a long time between two calls keeps its connections; a dropped
connection is opened again (a chunk published twice is recognised by its message id).
"""
from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, TypeVar
from urllib.parse import quote

import pika
import pika.exceptions

from fate_flow.errors import FederationError
from fate_flow.federation.base import Federation, MessageKey, RetryPause, chunk_size_option, split_payload

logger = logging.getLogger("fate_flow.federation.rabbitmq")

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
_MAX_NAME = 255
# seconds one thread pumps the receiving connection before letting another have a go
_PUMP_SLICE = 0.1
# errors after which the connection is opened again and the step retried
_RETRYABLE = (pika.exceptions.AMQPConnectionError, pika.exceptions.ConnectionWrongStateError,
              pika.exceptions.ChannelWrongStateError)

T = TypeVar("T")
Party = tuple[str, str]


def exchange_name(job_id: str) -> str:
    """The job's exchange."""
    return _bounded(f"fate_flow.{_escape(job_id)}")


def queue_name(session_id: str, dst: Party, src: Party) -> str:
    """The queue of the messages ``src`` (role, party) sends to ``dst`` in one session."""
    return _bounded(f"fate_flow.{_escape(session_id)}.{_escape(dst[0])}-{_escape(dst[1])}."
                    f"{_escape(src[0])}-{_escape(src[1])}")


@dataclass
class _Partial:
    """Chunks of one message received so far."""

    name: str
    tag: str
    count: int
    chunks: dict[int, bytes] = field(default_factory=dict)


class _Link:
    """A lazily opened connection and channel, opened again after the broker drops them."""

    def __init__(self, parameters: pika.ConnectionParameters, confirm: bool) -> None:
        self.parameters = parameters
        self.confirm = confirm
        self._connection: pika.BlockingConnection | None = None
        self._channel = None

    def channel(self):
        """The open channel (opening connection and channel first if needed)."""
        if self._channel is None or not self._channel.is_open:
            self.reset()
            _quiet_pika()
            self._connection = pika.BlockingConnection(self.parameters)
            self._channel = self._connection.channel()
            if self.confirm:
                self._channel.confirm_delivery()
        return self._channel

    def reset(self) -> None:
        """Close the connection (quietly: it may be dead already)."""
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (pika.exceptions.AMQPError, OSError):
                pass


class RabbitMQFederation(Federation):
    """Messages through a RabbitMQ broker.

    Options: ``rabbitmq_url`` (``amqp://user:password@host:port/vhost``, default the local
    broker as guest), ``job_id`` (names the exchange; the session id if absent),
    ``chunk_size`` (bytes per AMQP message, default 4 MiB) and ``timeout``.
    """

    def __init__(self, session_id: str, local_role: str, local_party: int | str,
                 roles: Mapping[str, Sequence[int | str]],
                 options: Mapping[str, Any] | None = None) -> None:
        super().__init__(session_id, local_role, local_party, roles, options)
        self.exchange = exchange_name(str(self.options.get("job_id") or self.session_id))
        self.chunk_size = chunk_size_option(self.options)
        parameters = _parameters(self.options)
        self._sender = _Link(parameters, confirm=True)
        self._receiver = _Link(parameters, confirm=False)
        self._send_lock = threading.Lock()
        self._pump_lock = threading.Lock()
        self._arrived = threading.Condition()
        self._declared: tuple[Any, set[str]] = (None, set())     # (sending channel, its queues)
        self._consuming: tuple[Any, set[str]] = (None, set())    # (receiving channel, its queues)
        self._sources: dict[str, Party] = {}                     # queue -> source it holds
        self._partial: dict[str, _Partial] = {}                  # message id -> chunks so far
        self._completed: set[str] = set()                        # ids of assembled messages
        self._ready: dict[MessageKey, bytes] = {}
        self._taken: set[MessageKey] = set()

    @classmethod
    def release_session(cls, session_id: str, local_role: str, local_party: int | str,
                        roles: Mapping[str, Sequence[int | str]], options: Mapping[str, Any]) -> None:
        """Delete the session's queues to and from this party, and the job's exchange.

        A broker that can not be reached is logged, not raised: the job is over either way.
        """
        me = (local_role, str(local_party))
        parties = list(dict.fromkeys((role, str(p)) for role, ids in roles.items() for p in ids))
        queues = {queue_name(session_id, dst, src) for dst in parties for src in parties
                  if dst != src and me in (dst, src)}
        try:
            _quiet_pika()
            connection = pika.BlockingConnection(_parameters(options))
            try:
                channel = connection.channel()
                for queue in sorted(queues):
                    channel.queue_delete(queue)
                channel.exchange_delete(exchange_name(str(options.get("job_id") or session_id)))
            finally:
                connection.close()
        except (pika.exceptions.AMQPError, OSError) as exc:
            logger.warning("could not delete the rabbitmq queues of session %s: %r", session_id, exc)

    def close(self) -> None:
        """Close both connections, then the handle; unread messages stay in their queues."""
        with self._send_lock:
            self._sender.reset()
        with self._pump_lock:
            self._receiver.reset()
        super().close()

    # ---- sending ---------------------------------------------------------------------

    def _put_message(self, key: MessageKey, payload: bytes) -> None:
        queue = queue_name(self.session_id, (key.dst_role, key.dst_party), (key.src_role, key.src_party))
        deadline = time.monotonic() + self.default_timeout
        message_id = uuid.uuid4().hex
        chunks = split_payload(payload, self.chunk_size)
        with self._send_lock:
            for index, body in enumerate(chunks):
                properties = pika.BasicProperties(
                    message_id=message_id, content_type="application/octet-stream",
                    headers={"name": key.name, "tag": key.tag, "chunk": index, "chunks": len(chunks)})
                publish = functools.partial(self._publish, queue, body, properties)
                self._retrying(self._sender, publish, deadline, key, queue)

    def _publish(self, queue: str, body: bytes, properties: pika.BasicProperties, channel) -> None:
        if self._declared[0] is not channel:
            self._declared = (channel, set())
        if queue not in self._declared[1]:
            self._declare(channel, queue)
            self._declared[1].add(queue)
        # mandatory + confirms: returns once the broker has put the chunk in the queue
        channel.basic_publish(self.exchange, queue, body, properties, mandatory=True)

    def _declare(self, channel, queue: str) -> None:
        channel.exchange_declare(self.exchange, exchange_type="direct")
        channel.queue_declare(queue)
        channel.queue_bind(queue, self.exchange, routing_key=queue)

    # ---- receiving -------------------------------------------------------------------

    def _take_message(self, key: MessageKey, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        self._subscribe(key, deadline)
        while True:
            with self._arrived:
                if key in self._ready:
                    self._taken.add(key)
                    return self._ready.pop(key)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._pump(key, min(remaining, _PUMP_SLICE), deadline)

    def _subscribe(self, key: MessageKey, deadline: float) -> None:
        """Consume the queue of ``key``'s source from now on."""
        queue = queue_name(self.session_id, (key.dst_role, key.dst_party), (key.src_role, key.src_party))
        if queue in self._sources:
            return
        with self._pump_lock:
            self._sources.setdefault(queue, (key.src_role, key.src_party))
            self._retrying(self._receiver, self._ensure_consumers, deadline, key, queue)

    def _ensure_consumers(self, channel) -> None:
        """Declare and consume every known source queue on ``channel`` (again, after a reconnect)."""
        if self._consuming[0] is not channel:
            self._consuming = (channel, set())
        for queue, source in list(self._sources.items()):
            if queue not in self._consuming[1]:
                self._declare(channel, queue)
                channel.basic_consume(queue, functools.partial(self._on_delivery, source))
                self._consuming[1].add(queue)

    def _pump(self, key: MessageKey, seconds: float, deadline: float) -> None:
        """Deliver what the broker has for up to ``seconds``, or wait while another thread does."""
        if not self._pump_lock.acquire(blocking=False):
            with self._arrived:
                if key not in self._ready:
                    self._arrived.wait(seconds)
            return
        try:
            self._retrying(self._receiver, functools.partial(self._process_events, seconds), deadline, key,
                           self.exchange)
        finally:
            self._pump_lock.release()
            with self._arrived:  # a waiting thread may take over the pumping
                self._arrived.notify_all()

    def _process_events(self, seconds: float, channel) -> None:
        self._ensure_consumers(channel)
        channel.connection.process_data_events(time_limit=seconds)

    def _on_delivery(self, source: Party, channel, method, properties, body: bytes) -> None:
        try:
            name, tag, index, count = _chunk_headers(properties)
        except ValueError as exc:
            logger.warning("dropped a malformed message from %s %s: %s", *source, exc)
        else:
            self._collect(source, str(properties.message_id), name, tag, index, count, body)
        channel.basic_ack(method.delivery_tag)

    def _collect(self, source: Party, message_id: str, name: str, tag: str, index: int, count: int,
                 body: bytes) -> None:
        if message_id in self._completed:
            return  # delivered again after a reconnect
        partial = self._partial.setdefault(message_id, _Partial(name, tag, count))
        if (partial.name, partial.tag, partial.count) != (name, tag, count):
            logger.warning("dropped a chunk of message %s: its headers changed between chunks", message_id)
            return
        partial.chunks[index] = body
        if len(partial.chunks) < count:
            return
        del self._partial[message_id]
        self._completed.add(message_id)
        key = MessageKey(self.session_id, name, tag, *source, self.local_role, str(self.local_party))
        with self._arrived:
            if key in self._ready or key in self._taken:
                logger.warning("dropped a second message %s tag %s from %s %s (remote duplicate tag)",
                               name, tag, *source)
            else:
                self._ready[key] = b"".join(partial.chunks[i] for i in range(count))
            self._arrived.notify_all()

    # ---- connection trouble ----------------------------------------------------------

    def _retrying(self, link: _Link, action: Callable[[Any], T], deadline: float, key: MessageKey,
                  what: str) -> T:
        """``action(channel)``, opening the connection again after a drop, until ``deadline``."""
        retry = RetryPause(deadline)
        while True:
            try:
                return action(link.channel())
            except _RETRYABLE as exc:
                link.reset()
                if not retry.sleep():
                    raise FederationError(key.dst_role, key.dst_party, what,
                                          f"rabbitmq broker unreachable ({exc!r})") from exc
            except pika.exceptions.AMQPError as exc:
                link.reset()
                raise FederationError(key.dst_role, key.dst_party, what, f"rabbitmq refused ({exc!r})") from exc


def _chunk_headers(properties: pika.BasicProperties) -> tuple[str, str, int, int]:
    headers = properties.headers or {}
    name, tag, index, count = (headers.get(k) for k in ("name", "tag", "chunk", "chunks"))
    if isinstance(name, bytes) or isinstance(tag, bytes):
        name, tag = (v.decode("utf-8") if isinstance(v, bytes) else v for v in (name, tag))
    if not (isinstance(name, str) and isinstance(tag, str) and properties.message_id):
        raise ValueError("no name, tag or message id")
    if not (type(count) is int and type(index) is int and 0 <= index < count):
        raise ValueError(f"chunk {index!r} of {count!r} is not a chunk index and count")
    return name, tag, index, count


def _parameters(options: Mapping[str, Any]) -> pika.URLParameters:
    parameters = pika.URLParameters(str(options.get("rabbitmq_url") or DEFAULT_URL))
    parameters.heartbeat = 0
    return parameters


def _escape(part: str) -> str:
    # "." and "-" separate the parts of a name, so they are escaped inside a part.
    return quote(str(part), safe="").replace(".", "%2E").replace("-", "%2D")


def _bounded(name: str) -> str:
    if len(name.encode("utf-8")) <= _MAX_NAME:
        return name
    return "fate_flow.sha256-" + hashlib.sha256(name.encode("utf-8")).hexdigest()


def _quiet_pika() -> None:
    """Keep pika's per-connection chatter out of the task's DEBUG/INFO logs, unless someone set its level."""
    pika_logger = logging.getLogger("pika")
    if pika_logger.level == logging.NOTSET:
        pika_logger.setLevel(logging.WARNING)
