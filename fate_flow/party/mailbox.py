"""The server side of the http federation: messages for this party's tasks, held on disk until taken.

Layout: ``<federation_dir>/<session>/inbox/<message>/``, the session and message names escaped
as the standalone backend escapes them. A message directory holds

- ``meta.json``: ``{"message_id", "chunks"}``, made once by linking a complete file, so the
  first chunk of a message fixes its id and chunk count;
- ``chunk-<i>``: one file per chunk, written under a temporary name and renamed (whole or absent);
- ``complete``: made once every chunk is there; the receiver may then take the message;
- ``taken``: made when the receiver acknowledged the message, whose chunks are then removed.

The directory outlives its message, so a second message under the same key (another message
id) is refused, as the sender's own check does within one task; a retried chunk of the same
message is harmless. The job's clean removes the session directory and everything in it.
Memory stays bounded: chunks go to disk as they arrive and a take streams them back.

A take waits on a condition that puts of this process notify, and looks at the disk again
every few milliseconds for puts that another gunicorn worker received.
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from fate_flow.errors import ArgumentError, DuplicateMessage
from fate_flow.federation.base import MessageKey
from fate_flow.federation.standalone import message_file_name, remove_quietly, session_dir, write_atomically

# longest a take waits in one request; the task asks again if it wants to wait longer
MAX_WAIT = 30.0
_FIRST_PAUSE = 0.005
_LONGEST_PAUSE = 0.05
_READ_BLOCK = 1 << 20
_META, _COMPLETE, _TAKEN, _CHUNK = "meta.json", "complete", "taken", "chunk-"


@dataclass(frozen=True)
class StoredMessage:
    """A complete message on disk: its id, its size and its chunk files in order."""

    message_id: str
    size: int
    chunk_paths: tuple[Path, ...]

    def blocks(self) -> Iterator[bytes]:
        """The message's bytes, read a block at a time (for a streamed answer)."""
        for path in self.chunk_paths:
            with open(path, "rb") as f:
                while block := f.read(_READ_BLOCK):
                    yield block


class Mailbox:
    """Messages for the tasks of this server's parties, under ``root`` (settings.federation_dir)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._arrived = threading.Condition()

    def put_chunk(self, key: MessageKey, message_id: str, index: int, count: int, data: bytes) -> bool:
        """Store chunk ``index`` of ``count`` of message ``message_id`` sent under ``key``.

        Returns:
            True once every chunk of the message is stored.
        Raises:
            DuplicateMessage: another message was already sent under ``key``.
            ArgumentError: ``count`` differs from what the message's first chunk said.
        """
        if not 0 <= index < count:
            raise ArgumentError("chunk", f"{index} is not a chunk of a message of {count} chunks")
        directory = self._message_dir(key)
        directory.mkdir(parents=True, exist_ok=True)
        meta = _claim(directory, {"message_id": message_id, "chunks": count})
        if meta["message_id"] != message_id:
            raise DuplicateMessage(key)
        if meta["chunks"] != count:
            raise ArgumentError("chunks", f"is {count}, but the message's first chunk said {meta['chunks']}")
        if (directory / _TAKEN).exists():
            return True  # a retried chunk of a message already delivered
        write_atomically(directory / f"{_CHUNK}{index}", data)
        stored = sum(1 for name in os.listdir(directory) if name.startswith(_CHUNK))
        if stored < count:
            return False
        write_atomically(directory / _COMPLETE, b"")
        with self._arrived:
            self._arrived.notify_all()
        return True

    def wait_message(self, key: MessageKey, wait: float) -> StoredMessage | None:
        """The complete message under ``key``, waiting up to ``wait`` seconds (at most MAX_WAIT).

        The message stays until :meth:`acknowledge`, so a receiver that lost the answer
        can take it again. Returns None if it is not complete in time.
        """
        directory = self._message_dir(key)
        deadline = time.monotonic() + min(max(wait, 0.0), MAX_WAIT)
        pause = _FIRST_PAUSE
        with self._arrived:
            while True:
                # Checked under the lock a put notifies under, so no wake-up slips in between.
                message = _complete_message(directory)
                remaining = deadline - time.monotonic()
                if message is not None or remaining <= 0:
                    return message
                self._arrived.wait(min(pause, remaining))
                pause = min(pause * 2, _LONGEST_PAUSE)

    def acknowledge(self, key: MessageKey, message_id: str) -> None:
        """Drop the chunks of a message its receiver has; the key stays used.

        Raises:
            ArgumentError: no message ``message_id`` was sent under ``key``.
        """
        directory = self._message_dir(key)
        meta = _read_meta(directory)
        if meta is None or meta["message_id"] != message_id:
            raise ArgumentError("message_id", f"names no message {key.name} tag {key.tag} here")
        write_atomically(directory / _TAKEN, b"")
        for name in os.listdir(directory):
            if name.startswith(_CHUNK) or name == _COMPLETE:
                remove_quietly(directory / name)

    def _message_dir(self, key: MessageKey) -> Path:
        return Path(session_dir(self.root, key.session_id)) / "inbox" / message_file_name(key)


def _claim(directory: Path, meta: dict) -> dict:
    """The message's meta: ours if we are first (atomic link of a whole file), else the stored one."""
    existing = _read_meta(directory)
    if existing is not None:
        return existing
    tmp = directory / f".tmp-{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    try:
        os.link(tmp, directory / _META)
        return meta
    except FileExistsError:  # a concurrent first chunk won
        return _read_meta(directory) or meta
    finally:
        remove_quietly(tmp)


def _read_meta(directory: Path) -> dict | None:
    try:
        return json.loads((directory / _META).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _complete_message(directory: Path) -> StoredMessage | None:
    if not (directory / _COMPLETE).exists() or (directory / _TAKEN).exists():
        return None
    meta = _read_meta(directory)
    paths = tuple(directory / f"{_CHUNK}{i}" for i in range(meta["chunks"]))
    return StoredMessage(meta["message_id"], sum(p.stat().st_size for p in paths), paths)

