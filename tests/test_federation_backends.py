"""The cluster federation backends beyond the shared conformance tests: http (through a real
FATE-Flow server) and rabbitmq (the local broker): chunking, big objects, duplicates across
handles, release of the session, traffic totals, signing, retries; and the mailbox itself."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pika
import pika.exceptions
import pytest
import requests

from fate_flow.errors import ArgumentError, DuplicateMessage, FederationError
from fate_flow.federation import (
    DuplicateRemoteError, FederationTimeout, codec, create_federation, release_session,
)
from fate_flow.federation.base import MessageKey
from fate_flow.federation.http import pack_chunk
from fate_flow.federation.rabbitmq import exchange_name, queue_name
from fate_flow.party.mailbox import Mailbox
from tests.flow_server import ROOT, FlowServer, wait_until
from tests.test_federation import RABBITMQ_URL, broker_is_up

ROLES = {"guest": [9999], "host": [10000], "arbiter": [10000]}
MB = 1 << 20


# one worker sets up the module's shared fixtures (servers, engines) once
pytestmark = pytest.mark.xdist_group("federation_backends")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = FlowServer(tmp_path_factory.mktemp("federation_backends") / "server").start()
    yield server
    server.stop()


def http_options(server: FlowServer, **extra) -> dict:
    return {"server": server.address, "party_servers": {"9999": server.address, "10000": server.address},
            "root": str(server.work_dir / "federation"), "timeout": 30, **extra}


@pytest.fixture(params=["http", "rabbitmq"])
def parties(request):
    """Factory: parties(**options) -> (guest, host, release) on one backend, in a fresh session."""
    backend = request.param
    if backend == "http":
        base = http_options(request.getfixturevalue("server"))
    elif broker_is_up():
        base = {"rabbitmq_url": RABBITMQ_URL, "timeout": 30}
    else:
        pytest.skip("no RabbitMQ broker on 127.0.0.1:5672")
    session = f"job{uuid.uuid4().hex[:10]}_component_0"
    opened = []

    def _parties(**extra):
        options = {**base, "job_id": session.split("_")[0], **extra}
        pair = [create_federation(backend, session, role, party, ROLES, options)
                for role, party in (("guest", 9999), ("host", 10000))]
        opened.extend(pair)

        def release():
            for federation in pair:
                release_session(backend, session, federation.local_role, federation.local_party, ROLES, options)
        return pair[0], pair[1], release

    _parties.backend = backend
    yield _parties
    for federation in opened:
        federation.close()
        release_session(backend, session, federation.local_role, federation.local_party, ROLES,
                        {**base, "job_id": session.split("_")[0]})


def test_numpy_arrays_and_big_ints_round_trip(parties):
    guest, host, _ = parties()
    rng = np.random.default_rng(3)
    ciphertexts = [int.from_bytes(rng.bytes(512), "big") for _ in range(50)]   # 4096-bit, as Paillier's
    obj = {"weights": rng.standard_normal((30, 4)), "mask": rng.random(100) > 0.5,
           "ids": np.arange(1000, dtype=np.int64), "ciphertexts": ciphertexts, "n": -(2 ** 2048 + 1),
           "meta": ("fit", 3, np.float32(0.5))}
    guest.remote(obj, "bundle", "0", "host", 10000)
    got = host.get("bundle", "0", "guest", 9999, timeout=10)
    assert got["ciphertexts"] == ciphertexts and got["n"] == -(2 ** 2048 + 1)
    for name in ("weights", "mask", "ids"):
        assert got[name].dtype == obj[name].dtype
        np.testing.assert_array_equal(got[name], obj[name])
    assert got["meta"] == ("fit", 3, np.float32(0.5)) and type(got["meta"][2]) is np.float32


def test_a_20_mb_object_travels_in_1_mb_chunks(parties, server):
    guest, host, _ = parties(chunk_size=MB)
    array = np.random.default_rng(5).standard_normal(20 * MB // 8)
    guest.remote(array, "big", "0", "host", 10000)
    payload_size = len(codec.dumps(array))
    assert guest.bytes_sent == payload_size and guest.messages_sent == 1
    assert stored_chunks(parties.backend, server, guest.session_id) == -(-payload_size // MB) == 21
    np.testing.assert_array_equal(host.get("big", "0", "guest", 9999, timeout=60), array)


def stored_chunks(backend: str, server: FlowServer, session: str) -> int:
    """Chunks waiting for the host: chunk files in the mailbox, or AMQP messages in its queue."""
    if backend == "http":
        inbox = server.work_dir / "federation" / session / "inbox"
        return sum(name.startswith("chunk-") for d in inbox.iterdir() for name in os.listdir(d))
    with broker() as channel:
        queue = queue_name(session, ("host", "10000"), ("guest", "9999"))
        return channel.queue_declare(queue, passive=True).method.message_count


def test_gets_in_another_order_than_the_remotes(parties):
    guest, host, _ = parties(chunk_size=64 << 10)
    sent = {f"t{i}": np.full(i * 10_000, i, dtype=np.int32) for i in range(6)}   # up to 240 kB: chunked too
    for tag, array in sent.items():
        guest.remote(array, "var", tag, "host", 10000)
    host.remote("reply", "other", "0", "guest", 9999)
    for tag in reversed(sent):
        np.testing.assert_array_equal(host.get("var", tag, "guest", 9999, timeout=10), sent[tag])
    assert guest.get("other", "0", "host", 10000, timeout=10) == "reply"


def test_get_times_out(parties):
    _, host, _ = parties()
    start = time.monotonic()
    with pytest.raises(FederationTimeout, match="waited 0.3 s for var tag 9 from guest 9999"):
        host.get("var", "9", "guest", 9999, timeout=0.3)
    assert 0.3 <= time.monotonic() - start < 3


def test_a_second_message_under_a_used_key_is_refused(parties):
    guest, host, _ = parties()
    other_guest, _, _ = parties()                    # another handle: the sender's own check can't see it
    guest.remote("first", "var", "t", "host", 10000)
    with pytest.raises(DuplicateRemoteError):
        guest.remote("again", "var", "t", "host", 10000)
    if parties.backend == "http":                    # the receiving server refuses it too
        with pytest.raises(DuplicateRemoteError, match="remote duplicate tag: var tag t"):
            other_guest.remote("second", "var", "t", "host", 10000)
    else:                                            # the broker can't refuse: the receiver drops it
        other_guest.remote("second", "var", "t", "host", 10000)
    assert host.get("var", "t", "guest", 9999, timeout=10) == "first"
    with pytest.raises(FederationTimeout):
        host.get("var", "t", "guest", 9999, timeout=0.3)


def test_traffic_is_counted_and_logged_on_close(parties, caplog):
    guest, host, _ = parties()
    objects = [np.arange(1000), {"k": 2 ** 300}, "x"]
    for i, obj in enumerate(objects):
        guest.remote(obj, "var", str(i), "host", 10000)
    expected = sum(len(codec.dumps(obj)) for obj in objects)
    assert (guest.bytes_sent, guest.messages_sent) == (expected, 3)
    assert (host.bytes_sent, host.messages_sent) == (0, 0)
    with caplog.at_level(logging.INFO, logger="fate_flow.federation"):
        guest.close()
        guest.close()
    lines = [r.getMessage() for r in caplog.records if "federation sent" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith(f"federation sent {expected} bytes in 3 messages")


# ----------------------------------------------------------------------------- release

def test_release_removes_the_http_mailbox_of_one_session(server):
    options = http_options(server)
    sessions = [f"job{uuid.uuid4().hex[:8]}_c{i}" for i in range(2)]
    for session in sessions:
        guest = create_federation("http", session, "guest", 9999, ROLES, options)
        guest.remote("never read", "var", "t", "host", 10000)
        guest.close()
    mailbox_dirs = [server.work_dir / "federation" / session for session in sessions]
    assert all((d / "inbox").is_dir() for d in mailbox_dirs)
    release_session("http", sessions[0], "host", 10000, ROLES, options)
    assert not mailbox_dirs[0].exists() and mailbox_dirs[1].is_dir()
    release_session("http", sessions[0], "host", 10000, ROLES, options)   # nothing left: no error


@pytest.mark.skipif(not broker_is_up(), reason="no RabbitMQ broker on 127.0.0.1:5672")
def test_release_deletes_the_rabbitmq_queues_and_exchange():
    job_id = f"job{uuid.uuid4().hex[:10]}"
    session = f"{job_id}_hetero_lr_0"
    options = {"rabbitmq_url": RABBITMQ_URL, "job_id": job_id, "timeout": 10}
    guest = create_federation("rabbitmq", session, "guest", 9999, ROLES, options)
    host = create_federation("rabbitmq", session, "host", 10000, ROLES, options)
    arbiter = create_federation("rabbitmq", session, "arbiter", 10000, ROLES, options)
    guest.remote("to host", "var", "t", "host", 10000)
    arbiter.remote("unread", "var", "t", "guest", 9999)
    assert host.get("var", "t", "guest", 9999, timeout=10) == "to host"
    queues = [queue_name(session, ("host", "10000"), ("guest", "9999")),
              queue_name(session, ("guest", "9999"), ("arbiter", "10000"))]
    assert all(exists(queue=q) for q in queues) and exists(exchange=exchange_name(job_id))
    for federation in (guest, host, arbiter):
        federation.close()
    release_session("rabbitmq", session, "guest", 9999, ROLES, options)
    assert not any(exists(queue=q) for q in queues) and not exists(exchange=exchange_name(job_id))
    release_session("rabbitmq", session, "host", 10000, ROLES, options)   # nothing left: no error


@contextlib.contextmanager
def broker():
    """A channel on the local broker; its connection is closed afterwards."""
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def exists(queue: str | None = None, exchange: str | None = None) -> bool:
    """A passive declare: True if the broker has the queue or exchange."""
    with broker() as channel:
        try:
            if queue:
                channel.queue_declare(queue, passive=True)
            else:
                channel.exchange_declare(exchange, passive=True)
            return True
        except pika.exceptions.ChannelClosedByBroker as exc:
            assert exc.reply_code == 404
            return False


def test_release_with_no_broker_only_logs(caplog):
    options = {"rabbitmq_url": "amqp://guest:guest@127.0.0.1:1/%2F"}
    with caplog.at_level(logging.WARNING, logger="fate_flow.federation.rabbitmq"):
        release_session("rabbitmq", "job_x_c", "guest", 9999, ROLES, options)
    assert "could not delete the rabbitmq queues of session job_x_c" in caplog.text


# ----------------------------------------------------------------------------- http specifics

def test_http_put_retries_while_the_destination_server_restarts(server):
    options = http_options(server, timeout=30)
    session = f"job{uuid.uuid4().hex[:8]}_c"
    guest = create_federation("http", session, "guest", 9999, ROLES, options)
    host = create_federation("http", session, "host", 10000, ROLES, options)
    guest.remote("before", "var", "0", "host", 10000)   # a keep-alive connection the restart breaks
    server.stop()
    restarter = threading.Timer(0.5, server.start)
    restarter.start()
    try:
        start = time.monotonic()
        guest.remote("while down", "var", "1", "host", 10000)
        assert time.monotonic() - start >= 0.3
    finally:
        restarter.join()
    assert [host.get("var", str(i), "guest", 9999, timeout=10) for i in (0, 1)] == ["before", "while down"]


def test_http_unreachable_party_fails_after_the_timeout(server):
    options = http_options(server, timeout=0.5, party_servers={"9999": server.address, "10000": "127.0.0.1:1"})
    guest = create_federation("http", "job_unreachable_c", "guest", 9999, ROLES, options)
    start = time.monotonic()
    with pytest.raises(FederationError, match="role host party 10000 .* server 127.0.0.1:1 unreachable"):
        guest.remote("x", "var", "t", "host", 10000)
    assert time.monotonic() - start < 5


def test_http_needs_every_party_address(server):
    with pytest.raises(ValueError, match="no server address for parties 10000"):
        create_federation("http", "s", "guest", 9999, ROLES, {"server": server.address,
                                                               "party_servers": {"9999": server.address}})
    with pytest.raises(ValueError, match="options\\['server'\\]"):
        create_federation("http", "s", "guest", 9999, ROLES, {"party_servers": {}})
    with pytest.raises(ValueError, match="chunk_size"):
        create_federation("http", "s", "guest", 9999, ROLES, http_options(server, chunk_size=1 << 30))


def test_http_answer_that_is_not_json_names_the_route():
    """A proxy in the way answering HTML: the error names the route and the status, not a JSON traceback."""

    class BadGateway(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b"<html>bad gateway</html>"
            self.send_response(502)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), BadGateway)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        address = f"127.0.0.1:{proxy.server_address[1]}"
        options = {"server": address, "party_servers": {"9999": address, "10000": address}, "timeout": 5}
        guest = create_federation("http", "job_proxy_c", "guest", 9999, ROLES, options)
        with pytest.raises(FederationError, match="/v1/federation/job_proxy_c/message/put failed: "
                                                  "server 127.0.0.1:[0-9]+ answered HTTP 502 without a JSON"):
            guest.remote("x", "var", "t", "host", 10000)
        guest.close()
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.mark.parametrize("body, field", [
    (b"not msgpack at all", "request body is not a msgpack"),
    (pack_chunk(MessageKey("s", "n", "t", "guest", "9999", "host", "10000"), "short-id", 0, 1, b"x"),
     "message_id must be 32 hex digits"),
    (pack_chunk(MessageKey("s", "n", "t", "guest", "9999", "host", "10000"), "a" * 32, 3, 2, b"x"),
     "chunk 3 of 2 is not a chunk index"),
    (pack_chunk(MessageKey("s", "", "t", "guest", "9999", "host", "10000"), "a" * 32, 0, 1, b"x"),
     "key must be the 6 strings"),
])
def test_http_put_refuses_malformed_chunks_naming_the_problem(server, body, field):
    answer = requests.post(f"{server.url}/v1/federation/s/message/put", data=body, timeout=10).json()
    assert answer["retcode"] == ArgumentError.retcode and field in answer["retmsg"]


def test_http_take_and_ack_check_their_fields(server):
    url = f"{server.url}/v1/federation/s/message"
    key = {"name": "n", "tag": "t", "src_role": "guest", "src_party": "9999", "dst_role": "host",
           "dst_party": "10000"}
    answer = requests.post(f"{url}/take", json=dict(key, tag=""), timeout=10).json()
    assert answer["retcode"] == ArgumentError.retcode and answer["retmsg"].startswith("tag ")
    answer = requests.post(f"{url}/take", json=dict(key, wait=-1), timeout=10).json()
    assert answer["retcode"] == ArgumentError.retcode and "wait" in answer["retmsg"]
    answer = requests.post(f"{url}/take", json=dict(key, wait=0), timeout=10).json()
    assert answer == {"retcode": 0, "retmsg": "not arrived", "data": {"arrived": False}}
    answer = requests.post(f"{url}/ack", json=dict(key, message_id="b" * 32), timeout=10).json()
    assert answer["retcode"] == ArgumentError.retcode and "names no message" in answer["retmsg"]


@pytest.fixture(scope="module")
def signing_server(tmp_path_factory):
    conf = {"security": {"sign_requests": True, "secret": "guest-and-host-secret"}}
    server = FlowServer(tmp_path_factory.mktemp("federation_signed") / "server", conf=conf).start()
    yield server
    server.stop()


def test_http_signs_with_the_task_secret_and_the_server_checks_the_party(signing_server, monkeypatch):
    options = http_options(signing_server)
    monkeypatch.setenv("FATE_FLOW_PARTY_SECRET", "guest-and-host-secret")
    monkeypatch.setenv("FATE_FLOW_SIGN_PARTY", "9999")
    guest = create_federation("http", "job_signed_c", "guest", 9999, ROLES, options)
    guest.remote("signed", "var", "t", "host", 10000)
    posing_host = create_federation("http", "job_signed_c", "host", 10000, ROLES, options)
    with pytest.raises(FederationError, match="party 9999 can not act for party 10000"):
        posing_host.get("var", "t", "guest", 9999, timeout=1)
    monkeypatch.setenv("FATE_FLOW_SIGN_PARTY", "10000")
    host = create_federation("http", "job_signed_c", "host", 10000, ROLES, options)
    assert host.get("var", "t", "guest", 9999, timeout=10) == "signed"
    monkeypatch.delenv("FATE_FLOW_PARTY_SECRET")
    unsigned = create_federation("http", "job_signed_c", "guest", 9999, ROLES, options)
    with pytest.raises(FederationError, match="unsigned"):
        unsigned.remote("x", "var", "t2", "host", 10000)


# ----------------------------------------------------------------------------- the mailbox

KEY = MessageKey("job_1_c", "var", "t", "guest", "9999", "host", "10000")


def test_mailbox_completes_a_message_when_every_chunk_is_there(tmp_path):
    mailbox = Mailbox(tmp_path)
    message_id = uuid.uuid4().hex
    assert mailbox.put_chunk(KEY, message_id, 2, 3, b"cc") is False
    assert mailbox.put_chunk(KEY, message_id, 0, 3, b"aa") is False
    assert mailbox.wait_message(KEY, 0) is None
    assert mailbox.put_chunk(KEY, message_id, 0, 3, b"aa") is False   # a retried chunk
    assert mailbox.put_chunk(KEY, message_id, 1, 3, b"b") is True
    message = mailbox.wait_message(KEY, 0)
    assert (message.message_id, message.size, b"".join(message.blocks())) == (message_id, 5, b"aabcc")
    assert mailbox.wait_message(KEY, 0) is not None                     # still there until acknowledged
    mailbox.acknowledge(KEY, message_id)
    assert mailbox.wait_message(KEY, 0) is None
    assert mailbox.put_chunk(KEY, message_id, 1, 3, b"b") is True       # late retry: harmless
    assert mailbox.wait_message(KEY, 0) is None
    with pytest.raises(DuplicateMessage, match="remote duplicate tag: var tag t"):
        mailbox.put_chunk(KEY, uuid.uuid4().hex, 0, 1, b"new")


def test_mailbox_refuses_inconsistent_chunks(tmp_path):
    mailbox = Mailbox(tmp_path)
    message_id = uuid.uuid4().hex
    mailbox.put_chunk(KEY, message_id, 0, 2, b"a")
    with pytest.raises(ArgumentError, match="chunks is 3, but the message's first chunk said 2"):
        mailbox.put_chunk(KEY, message_id, 1, 3, b"b")
    with pytest.raises(ArgumentError, match="chunk 2 is not a chunk of a message of 2 chunks"):
        mailbox.put_chunk(KEY, message_id, 2, 2, b"b")
    with pytest.raises(ArgumentError, match="message_id"):
        mailbox.acknowledge(KEY, uuid.uuid4().hex)


def test_mailbox_wait_wakes_on_a_put_and_keeps_sessions_apart(tmp_path):
    mailbox = Mailbox(tmp_path)
    other_session = KEY._replace(session_id="job_2_c")
    threading.Timer(0.2, mailbox.put_chunk, (other_session, uuid.uuid4().hex, 0, 1, b"other")).start()
    threading.Timer(0.3, mailbox.put_chunk, (KEY, uuid.uuid4().hex, 0, 1, b"mine")).start()
    start = time.monotonic()
    message = mailbox.wait_message(KEY, 5)
    assert b"".join(message.blocks()) == b"mine" and 0.3 <= time.monotonic() - start < 1
    assert sorted(os.listdir(tmp_path)) == ["job_1_c", "job_2_c"]
    wait_until(lambda: mailbox.wait_message(other_session, 0), 2, what="the other session's message")


def test_http_mailbox_under_gunicorn_workers(tmp_path):
    """Puts, takes and acks land on different workers: a take still sees a put another worker stored."""
    pytest.importorskip("gunicorn")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    server = FlowServer(tmp_path / "work")
    server.address = address
    env = dict(server.env, FATE_FLOW_CONF=str(server.write_conf()), FATE_FLOW_WORKERS="2")
    with open(tmp_path / "gunicorn.out", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "conf/gunicorn.conf.py"),
                                 "fate_flow.wsgi:create_wsgi_app()"], cwd=str(tmp_path), env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: server._answers(), 30, what="gunicorn to answer")
        options = http_options(server, chunk_size=64 << 10)
        guest = create_federation("http", "job_gunicorn_c", "guest", 9999, ROLES, options)
        host = create_federation("http", "job_gunicorn_c", "host", 10000, ROLES, options)
        for i in range(10):
            threading.Timer(0.05, guest.remote, (np.full(30_000, i), "var", str(i), "host", 10000)).start()
            np.testing.assert_array_equal(host.get("var", str(i), "guest", 9999, timeout=10), np.full(30_000, i))
        inbox = server.work_dir / "federation" / "job_gunicorn_c" / "inbox"
        assert len(os.listdir(inbox)) == 10 and not any((d / "complete").exists() for d in inbox.iterdir())
        guest.close()
        host.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
