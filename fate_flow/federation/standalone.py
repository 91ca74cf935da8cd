"""Federation between task processes on one machine, through a file mailbox.

Layout: ``<root>/<session_id>/<name>+<tag>+<src_role>+<src_party>+<dst_role>+<dst_party>``,
every part percent-escaped (a name too long for the file system is replaced by its
SHA-256). The sender writes a hidden temporary file in the session directory and
renames it to the message's name, so a receiver sees a whole message or none. The
receiver polls for the name with a growing pause (1 ms up to 2 ms): a message that
is already waiting costs one ``open``, an idle wait costs little CPU (an ``open`` of a missing
file every 2 ms), and a protocol of many short round trips (a SecureBoost tree has a few per
depth) loses at most 2 ms on each.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from fate_flow.federation.base import Federation, MessageKey

_FIRST_PAUSE = 0.001
_LONGEST_PAUSE = 0.002
_MAX_FILE_NAME = 200


class StandaloneFederation(Federation):
    """File-mailbox federation; ``options["root"]`` is the directory all parties share."""

    def __init__(self, session_id: str, local_role: str, local_party: int | str,
                 roles: Mapping[str, Sequence[int | str]],
                 options: Mapping[str, Any] | None = None) -> None:
        super().__init__(session_id, local_role, local_party, roles, options)
        root = self.options.get("root")
        if not root:
            raise ValueError("the standalone federation needs options['root'], a shared directory")
        self.session_dir = session_dir(root, self.session_id)
        os.makedirs(self.session_dir, exist_ok=True)

    def _put_message(self, key: MessageKey, payload: bytes) -> None:
        write_atomically(self._message_path(key), payload)

    def _take_message(self, key: MessageKey, timeout: float) -> bytes | None:
        path = self._message_path(key)
        deadline = time.monotonic() + timeout
        pause = _FIRST_PAUSE
        while True:
            try:
                with open(path, "rb") as f:
                    payload = f.read()
            except FileNotFoundError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                time.sleep(min(pause, remaining))
                pause = min(pause * 2, _LONGEST_PAUSE)
                continue
            os.remove(path)
            return payload

    @classmethod
    def release_session(cls, session_id: str, local_role: str, local_party: int | str,
                        roles: Mapping[str, Sequence[int | str]], options: Mapping[str, Any]) -> None:
        """Remove the session's mailbox directory under ``options["root"]``."""
        cleanup_session(options["root"], session_id)

    def _message_path(self, key: MessageKey) -> str:
        return os.path.join(self.session_dir, message_file_name(key))


def message_file_name(key: MessageKey) -> str:
    """A file name for ``key`` within its session directory, safe whatever the key holds."""
    name = "+".join(_escape(part) for part in key[1:])
    if len(name) > _MAX_FILE_NAME:
        name = "sha256-" + hashlib.sha256(name.encode()).hexdigest()
    return name


def session_dir(root: str | os.PathLike, session_id: str) -> str:
    """The directory holding the messages of ``session_id`` under ``root``."""
    if not session_id:
        # An empty id would name ``root`` itself, which cleanup_session would then remove.
        raise ValueError("a federation session id must not be empty")
    return os.path.join(os.fspath(root), _escape(str(session_id)))


def cleanup_session(root: str | os.PathLike, session_id: str) -> None:
    """Remove the mailbox of ``session_id`` (messages never received included); used when a job ends."""
    shutil.rmtree(session_dir(root, session_id), ignore_errors=True)


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``path`` through a temporary file in its directory, so a reader sees all of ``data`` or nothing.

    The temporary name is hidden and random: escaped message names never start with a dot,
    and threads or processes writing the same path at once do not share a temporary file.
    """
    directory, _ = os.path.split(os.fspath(path))
    tmp_path = os.path.join(directory, f".tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp_path, "wb") as f:
            f.write(data)
        os.replace(tmp_path, path)
    except BaseException:
        remove_quietly(tmp_path)
        raise


def remove_quietly(path: str | os.PathLike) -> None:
    """Remove a file that may already be gone."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _escape(part: str) -> str:
    # quote() keeps letters, digits and "_.-~" and escapes "/" and "+"; a leading dot is
    # escaped too so that "." and ".." never name a directory and temp files stay distinct.
    escaped = quote(part, safe="")
    return "%2E" + escaped[1:] if escaped.startswith(".") else escaped
