"""Federation through the parties' FATE-Flow servers over HTTP: no broker, just the route table.

A message for another party is POSTed, in chunks of ``chunk_size`` bytes, to the destination
party's server, which keeps it on disk (fate_flow/party/mailbox.py) until the receiving task
takes it from its own server. Routes under ``/v1/federation/<session>/message/``:

- ``put``: body msgpack ``[header, chunk bytes]``, header ``{"key": [name, tag, src_role,
  src_party, dst_role, dst_party], "message_id", "chunk", "chunks"}``; answers JSON
  ``data: {"complete": bool}``.
- ``take``: JSON ``{name, tag, src_role, src_party, dst_role, dst_party, wait}``; answers the
  whole message as ``application/octet-stream`` (its id in header X-Fate-Message-Id), or JSON
  ``data: {"arrived": false}`` once ``wait`` seconds passed without it.
- ``ack``: JSON ``{key fields, message_id}``: the receiver has it; the server drops the chunks.

The key travels in the body, not the URL, so that a signed request covers it. A random
message id per message makes a retried chunk harmless and a second message under a used key
refused. Requests use one keep-alive connection per thread and server (stdlib http.client: a
task starts fast), are signed when the task's environment holds a party secret, and are
retried on connection errors with a growing pause until the federation's timeout.
"""
from __future__ import annotations

import http.client
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Mapping, Sequence
from urllib.parse import quote

import msgpack

from fate_flow.errors import FederationError
from fate_flow.federation.base import (
    DuplicateRemoteError,
    Federation,
    MessageKey,
    RetryPause,
    chunk_size_option,
    split_payload,
)
from fate_flow.federation.standalone import cleanup_session
from fate_flow.utils.signing import env_signer

logger = logging.getLogger("fate_flow.federation.http")

# a server refuses bigger chunks, which keeps the memory of one put request bounded
MAX_CHUNK_SIZE = 64 << 20
MAX_CHUNKS = 1 << 20
MESSAGE_ID_HEADER = "X-Fate-Message-Id"
KEY_FIELDS = MessageKey._fields[1:]
_MESSAGE_ID = re.compile(r"^[0-9a-f]{32}$")
# longest wait asked of the server in one take; a longer get asks again
_LONGEST_POLL = 20.0
# seconds an answer may take beyond the server's wait before the request counts as lost
_ANSWER_SLACK = 30.0


@dataclass(frozen=True)
class Chunk:
    """One decoded ``put`` body: key fields (name ... dst_party), message id, index, count, bytes."""

    fields: tuple[str, ...]
    message_id: str
    index: int
    count: int
    data: bytes


def pack_chunk(key: MessageKey, message_id: str, index: int, count: int, data: bytes | memoryview) -> bytes:
    """The body of a ``put`` request carrying chunk ``index`` of ``count``."""
    header = {"key": list(key[1:]), "message_id": message_id, "chunk": index, "chunks": count}
    return msgpack.packb([header, data], use_bin_type=True)


def unpack_chunk(body: bytes) -> Chunk:
    """Decode and check a ``put`` body.

    Raises:
        ValueError: the body is not a well-formed chunk (the message says what is wrong).
    """
    try:
        header, data = msgpack.unpackb(body, raw=False)
    except (ValueError, TypeError, msgpack.UnpackException):
        raise ValueError("is not a msgpack [header, bytes] chunk") from None
    if not isinstance(header, dict) or not isinstance(data, bytes):
        raise ValueError("is not a msgpack [header, bytes] chunk")
    fields, message_id = header.get("key"), header.get("message_id")
    index, count = header.get("chunk"), header.get("chunks")
    if not (isinstance(fields, list) and len(fields) == len(KEY_FIELDS)
            and all(isinstance(f, str) and f for f in fields)):
        raise ValueError(f"key must be the {len(KEY_FIELDS)} strings {', '.join(KEY_FIELDS)}")
    if not (isinstance(message_id, str) and _MESSAGE_ID.match(message_id)):
        raise ValueError("message_id must be 32 hex digits")
    if not (type(count) is int and 1 <= count <= MAX_CHUNKS and type(index) is int and 0 <= index < count):
        raise ValueError(f"chunk {index!r} of {count!r} is not a chunk index and count")
    return Chunk(tuple(fields), message_id, index, count, data)


class HttpFederation(Federation):
    """Messages through the FATE-Flow servers of the destination parties.

    Options: ``server`` (``host:port`` of this party's server, where messages for this task
    arrive), ``party_servers`` (party id -> ``host:port``, every party of the job),
    ``chunk_size`` (bytes per put request, default 4 MiB), ``root`` (the server's federation
    dir; only :meth:`release_session` uses it) and ``timeout``.
    """

    def __init__(self, session_id: str, local_role: str, local_party: int | str,
                 roles: Mapping[str, Sequence[int | str]],
                 options: Mapping[str, Any] | None = None) -> None:
        super().__init__(session_id, local_role, local_party, roles, options)
        self.server = self.options.get("server")
        self.party_servers = {str(p): str(a) for p, a in (self.options.get("party_servers") or {}).items()}
        if not self.server:
            raise ValueError("the http federation needs options['server'], this party's server address")
        missing = sorted({str(p) for ids in self.roles.values() for p in ids} - set(self.party_servers))
        if missing:
            raise ValueError(f"the http federation has no server address for parties {', '.join(missing)}")
        self.chunk_size = chunk_size_option(self.options, MAX_CHUNK_SIZE)
        self._path_prefix = f"/v1/federation/{quote(self.session_id, safe='')}/message/"
        self._signer = env_signer()  # set by the launcher when this party signs its calls
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._connections_lock = threading.Lock()

    @classmethod
    def release_session(cls, session_id: str, local_role: str, local_party: int | str,
                        roles: Mapping[str, Sequence[int | str]], options: Mapping[str, Any]) -> None:
        """Remove the session's mailbox on this server (under ``options["root"]``)."""
        if options.get("root"):
            cleanup_session(options["root"], session_id)

    def close(self) -> None:
        """Close every connection this handle opened, then the handle."""
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        super().close()

    def _put_message(self, key: MessageKey, payload: bytes) -> None:
        address = self.party_servers[key.dst_party]
        deadline = time.monotonic() + self.default_timeout
        message_id = uuid.uuid4().hex
        chunks = split_payload(memoryview(payload), self.chunk_size)
        for index, chunk in enumerate(chunks):
            body = pack_chunk(key, message_id, index, len(chunks), chunk)
            self._call(address, "put", body, "application/octet-stream", deadline, key)

    def _take_message(self, key: MessageKey, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        fields = dict(zip(KEY_FIELDS, key[1:]))
        while True:
            wait = max(0.0, min(deadline - time.monotonic(), _LONGEST_POLL))
            body = json.dumps({**fields, "wait": wait}).encode("utf-8")
            status, headers, data = self._post(self.server, "take", body, "application/json", deadline,
                                               key, read_timeout=wait + _ANSWER_SLACK)
            if headers.get("content-type", "").startswith("application/octet-stream"):
                self._acknowledge(fields, headers.get(MESSAGE_ID_HEADER.lower(), ""), key)
                return data
            self._check_answer("take", self.server, status, data, key)  # a success here: not arrived yet
            if time.monotonic() >= deadline:
                return None

    def _acknowledge(self, fields: dict, message_id: str, key: MessageKey) -> None:
        body = json.dumps({**fields, "message_id": message_id}).encode("utf-8")
        deadline = time.monotonic() + self.default_timeout
        try:
            self._call(self.server, "ack", body, "application/json", deadline, key)
        except FederationError as exc:
            # The task has the message; a copy left behind is removed with the session.
            logger.warning("acknowledging %s tag %s failed: %s", key.name, key.tag, exc)

    def _call(self, address: str, action: str, body: bytes, content_type: str, deadline: float,
              key: MessageKey) -> None:
        """POST ``body`` to ``action``; raise as :meth:`_check_answer` does unless the server answers success."""
        status, _, data = self._post(address, action, body, content_type, deadline, key)
        self._check_answer(action, address, status, data, key)

    def _check_answer(self, action: str, address: str, status: int, data: bytes, key: MessageKey) -> None:
        """Check that the server answered ``action`` with a JSON success.

        Raises:
            DuplicateRemoteError: the server already holds a message under ``key``.
            FederationError: the answer is not JSON, or its retcode is not 0.
        """
        path = self._path_prefix + action
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise FederationError(key.dst_role, key.dst_party, path,
                                  f"server {address} answered HTTP {status} without a JSON object: {data[:200]!r}")
        if answer.get("retcode") != 0:
            if (answer.get("data") or {}).get("duplicate"):
                raise DuplicateRemoteError(key)
            raise FederationError(key.dst_role, key.dst_party, path, str(answer.get("retmsg")))

    def _post(self, address: str, action: str, body: bytes, content_type: str, deadline: float,
              key: MessageKey, read_timeout: float = _ANSWER_SLACK) -> tuple[int, dict[str, str], bytes]:
        """POST ``body`` to the server of ``key``'s destination (ours for take and ack).

        Connection errors are retried with a growing pause until ``deadline``.
        """
        path = self._path_prefix + action
        retry = RetryPause(deadline)
        while True:
            headers = {"Content-Type": content_type}
            if self._signer is not None:  # signed per attempt: a nonce is good once
                headers.update(self._signer("POST", path, body))
            connection = self._connection(address)
            try:
                connection.timeout = read_timeout
                if connection.sock is not None:
                    connection.sock.settimeout(read_timeout)
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                if response.will_close:
                    self._drop(address)
                return response.status, {k.lower(): v for k, v in response.getheaders()}, data
            except (OSError, http.client.HTTPException) as exc:
                self._drop(address)
                if not retry.sleep():
                    raise FederationError(key.dst_role, key.dst_party, path,
                                          f"server {address} unreachable ({exc!r})") from exc

    def _connection(self, address: str) -> http.client.HTTPConnection:
        connections = self._thread_connections()
        connection = connections.get(address)
        if connection is None:
            host, _, port = address.rpartition(":")
            connection = connections[address] = http.client.HTTPConnection(host, int(port))
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def _thread_connections(self) -> dict[str, http.client.HTTPConnection]:
        connections = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = {}
        return connections

    def _drop(self, address: str) -> None:
        connection = self._thread_connections().pop(address, None)
        if connection is not None:
            connection.close()
            with self._connections_lock:
                if connection in self._connections:
                    self._connections.remove(connection)

