"""A light JSON-over-HTTP client for task processes, which must start fast.

One POST per connection, in HTTP/1.0 over a plain socket: the server answers with the
whole body (no chunked encoding, no keep-alive). The body is read up to its
Content-Length, not to the server's close, which may come later. http.client would do
the same but imports the email package and ssl, which cost a task process about a tenth
of its start-up.
"""
from __future__ import annotations

import json
import socket
from typing import Any

from fate_flow.utils.signing import env_signer


def post_json(address: str, path: str, body: Any, timeout: float = 30.0) -> dict:
    """POST ``body`` as JSON to ``http://address{path}`` (signed if the task may sign); return the answer.

    Raises OSError on connection problems (a timeout included) and ValueError if the
    answer is not an HTTP answer with a JSON body.
    """
    host, _, port = address.rpartition(":")
    payload = json.dumps(body).encode("utf-8")
    headers = {"Host": address, "Content-Type": "application/json", "Content-Length": str(len(payload))}
    signer = env_signer()  # set by the launcher when this party signs its calls
    if signer is not None:
        headers.update(signer("POST", path, payload))
    head = f"POST {path} HTTP/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + payload)
        status, data = _read_answer(sock, path)
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ValueError(f"{path}: HTTP {status}, answer is not JSON: {data[:200]!r}") from exc


def _read_answer(sock: socket.socket, path: str) -> tuple[int, bytes]:
    """(status code, body) of the HTTP/1.x answer on ``sock``."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    head, separator, data = received.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status_line = lines[0].split()
    if not separator or len(status_line) < 2 or not status_line[0].startswith(b"HTTP/") \
            or not status_line[1].isdigit():
        raise ValueError(f"{path}: not an HTTP answer: {received[:200]!r}")
    length = next((int(value) for name, _, value in (line.partition(b":") for line in lines[1:])
                   if name.strip().lower() == b"content-length" and value.strip().isdigit()), None)
    chunks = [data]
    size = len(data)
    while length is None or size < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    return int(status_line[1]), body if length is None else body[:length]
