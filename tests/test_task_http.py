"""The task processes' HTTP client: one JSON POST per connection over a plain socket."""
from __future__ import annotations

import json
import socket
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from fate_flow.utils.http import post_json
from fate_flow.utils.signing import PARTY_ENV, SECRET_ENV


@pytest.fixture
def recording_server():
    seen = []

    @Request.application
    def app(request):
        seen.append({"path": request.path, "json": request.get_json(silent=True), "headers": dict(request.headers)})
        if request.path == "/text":
            return Response("not json", status=500)
        return Response(json.dumps({"retcode": 0, "echo": request.get_json()}) + " " * 100_000,
                        content_type="application/json")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}", seen
    server.shutdown()


def test_post_json_sends_json_and_reads_a_long_answer(recording_server, monkeypatch):
    address, seen = recording_server
    monkeypatch.delenv(SECRET_ENV, raising=False)
    body = {"f_status": "running", "text": "é中文", "n": [1, 2]}
    answer = post_json(address, "/v1/schedule/j/upload_0/j_upload_0/local/0/status", body)
    assert answer == {"retcode": 0, "echo": body}
    assert seen[0]["path"] == "/v1/schedule/j/upload_0/j_upload_0/local/0/status"
    assert seen[0]["headers"]["Content-Type"] == "application/json"
    assert "X-Fate-Signature" not in seen[0]["headers"]


def test_post_json_signs_when_the_task_may(recording_server, monkeypatch):
    address, seen = recording_server
    monkeypatch.setenv(SECRET_ENV, "s" * 32)
    monkeypatch.setenv(PARTY_ENV, "9999")
    post_json(address, "/v1/x", {})
    assert seen[0]["headers"]["X-Fate-Party"] == "9999" and seen[0]["headers"]["X-Fate-Signature"]


def test_post_json_errors(recording_server):
    address, _ = recording_server
    with pytest.raises(ValueError, match="HTTP 500, answer is not JSON"):
        post_json(address, "/text", {})
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with pytest.raises(OSError):
        post_json(f"127.0.0.1:{closed}", "/v1/x", {})


def test_post_json_reads_up_to_the_content_length_without_waiting_for_the_close():
    """A server may close the connection some time after its answer: the body's length is enough."""
    import time

    listener = socket.create_server(("127.0.0.1", 0))
    release = threading.Event()

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            body = b'{"retcode": 0}'
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
            conn.sendall(body)
            release.wait(10)  # keeps the connection open

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        assert post_json("127.0.0.1:%d" % listener.getsockname()[1], "/v1/x", {}) == {"retcode": 0}
        assert time.monotonic() - started < 5
    finally:
        release.set()
        thread.join()
        listener.close()
