"""Federation layer: codec, memory and standalone backends, transfer variables."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import OrderedDict, namedtuple

import msgpack
import numpy as np
import pytest

from fate_flow.federation import (
    DuplicateRemoteError, Federation, FederationTimeout, TransferVariables, UnknownBackendError,
    Variable, cleanup_session, codec, create_federation, register_backend, release_session,
)
from fate_flow.federation import base as federation_base
from fate_flow.federation.base import RetryPause, chunk_size_option, split_payload
from fate_flow.federation.memory import MemoryBoard, MemoryFederation
from fate_flow.federation.standalone import session_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLES = {"guest": [9999], "host": [10000, 10001], "arbiter": [10000]}


# ----------------------------------------------------------------------------- codec

# one worker sets up the module's shared fixtures (servers, engines) once
pytestmark = pytest.mark.xdist_group("federation")


def assert_same(expected, actual):
    """Equal value and equal type, recursively; arrays also equal in dtype and shape."""
    assert type(actual) is type(expected), (expected, actual)
    if isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        np.testing.assert_array_equal(actual, expected)
    elif isinstance(expected, np.generic):
        assert actual.dtype == expected.dtype and actual == expected
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for e, a in zip(expected, actual):
            assert_same(e, a)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert_same(expected[key], actual[key])
    else:
        assert actual == expected


BIG = 2 ** 2048 - 12345


@pytest.mark.parametrize("value", [
    None, True, False, 0, -1, 2 ** 63 - 1, -2 ** 63, 2 ** 64 - 1, 2 ** 64, -2 ** 63 - 1,
    BIG, -BIG, 1.5, -0.0, float("inf"), "", "héllo", b"", b"\x00\xff",
    [], (), [1, [2, [3, (4, 5)]]], (1, "a", (None, b"x")), ((),),
    {"a": 1, 2: "b", (1, 2): [3], b"k": None, BIG: -BIG},
    {"nested": {"list": [(1, 2), {"x": [BIG]}]}},
])
def test_codec_round_trips_plain_values(value):
    assert_same(value, codec.loads(codec.dumps(value)))


def test_codec_keeps_tuples_apart_from_lists():
    decoded = codec.loads(codec.dumps({"t": (1, [2, (3,)]), "l": [1, (2,)]}))
    assert decoded == {"t": (1, [2, (3,)]), "l": [1, (2,)]}
    assert type(decoded["t"]) is tuple and type(decoded["t"][1]) is list
    assert type(decoded["t"][1][1]) is tuple and type(decoded["l"][1]) is tuple


def test_codec_big_ints_2048_bit_exact():
    rng = np.random.default_rng(7)
    for _ in range(20):
        value = int.from_bytes(rng.bytes(256), "big")
        for signed in (value, -value, value | (1 << 2047)):
            assert codec.loads(codec.dumps(signed)) == signed


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int16", "uint16", "int32", "int64",
                                   "uint64", "float16", "float32", "float64", "complex64",
                                   "complex128", ">f8", ">i4", "<u2"])
@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (5,), (2, 3), (2, 3, 4)])
def test_codec_round_trips_arrays(dtype, shape):
    size = int(np.prod(shape))
    array = (np.arange(size) % 7).astype(dtype).reshape(shape)
    decoded = codec.loads(codec.dumps(array))
    assert_same(array, decoded)
    assert decoded.flags.writeable and decoded.flags.c_contiguous


def test_codec_arrays_in_fortran_order_and_strided_views():
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    for array in (np.asfortranarray(base), base[:, ::2], base.T, base[::-1]):
        assert_same(np.ascontiguousarray(array), codec.loads(codec.dumps(array)))


@pytest.mark.parametrize("scalar", [np.float64(1.25), np.float32(-3.5), np.int64(-7),
                                    np.uint8(255), np.bool_(True), np.complex128(1 + 2j)])
def test_codec_round_trips_numpy_scalars(scalar):
    assert_same(scalar, codec.loads(codec.dumps(scalar)))


def test_codec_sends_subclasses_of_builtins_as_their_base_type():
    Point = namedtuple("Point", "x y")
    decoded = codec.loads(codec.dumps([OrderedDict(a=1), Point(1, 2)]))
    assert decoded == [{"a": 1}, (1, 2)]
    assert type(decoded[0]) is dict and type(decoded[1]) is tuple


def test_codec_large_array_is_fast():
    array = np.random.default_rng(0).random(10 ** 6)
    start = time.perf_counter()
    decoded = codec.loads(codec.dumps(array))
    assert time.perf_counter() - start < 1.0
    np.testing.assert_array_equal(array, decoded)


class Opaque:
    pass


@pytest.mark.parametrize("value, type_name", [
    (object(), "object"),
    (Opaque(), "Opaque"),
    ({1, 2}, "set"),
    ({"deep": [1, (2, Opaque())]}, "Opaque"),
    (np.array([1, "a"], dtype=object), "object"),
    (np.array(["a", "b"]), "<U1"),
    (np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]), "a"),
    (len, "builtin_function_or_method"),
])
def test_codec_refuses_unsupported_values(value, type_name):
    with pytest.raises(TypeError, match="cannot encode") as info:
        codec.dumps(value)
    assert type_name in str(info.value)


def _ext(code, items):
    return msgpack.packb(msgpack.ExtType(code, msgpack.packb(items)))


@pytest.mark.parametrize("data", [
    b"", b"\xc1", b"\x92\x01", b"\x01\x02", b"\xd4\x09x", b"\x81\x90\x01",
    _ext(3, ["<f8", [2], b"\x00" * 15]),            # buffer one byte short
    _ext(3, ["|O8", [1], b"\x00" * 8]),             # object dtype
    _ext(3, ["[('a','<i4')]", [1], b"\x00" * 4]),   # structured dtype description
    _ext(3, ["<f8", [-1], b""]),                     # negative dimension
    _ext(3, ["<f8", [1]]),                           # missing buffer
    _ext(4, ["<f8", b"\x00"]),                       # scalar of the wrong size
    msgpack.packb(msgpack.ExtType(2, b"\x01")),      # tuple payload not an array
])
def test_codec_rejects_malformed_bytes_with_value_error(data):
    with pytest.raises(ValueError, match="malformed federation message"):
        codec.loads(data)


def test_codec_loads_wants_bytes():
    with pytest.raises(TypeError, match="bytes"):
        codec.loads("not bytes")


# ----------------------------------------------------------------------------- backends

@pytest.fixture(scope="module")
def mailbox_server(tmp_path_factory):
    """A real FATE-Flow server: its /v1/federation routes carry the http backend's messages."""
    from tests.flow_server import FlowServer

    server = FlowServer(tmp_path_factory.mktemp("federation") / "server").start()
    yield server
    server.stop()


def backend_options(request, backend, tmp_path):
    """Options of one backend for the parties of ROLES; skips rabbitmq without a broker."""
    if backend == "memory":
        return {"board": MemoryBoard()}
    if backend == "standalone":
        return {"root": str(tmp_path / "federation")}
    if backend == "http":
        server = request.getfixturevalue("mailbox_server")
        parties = {str(p) for ids in ROLES.values() for p in ids}
        return {"server": server.address, "party_servers": dict.fromkeys(parties, server.address),
                "root": str(server.work_dir / "federation")}
    if not broker_is_up():
        pytest.skip(f"no RabbitMQ broker at {RABBITMQ_URL}")
    return {"rabbitmq_url": RABBITMQ_URL}


def broker_is_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
        return True
    except OSError:
        return False


RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@pytest.fixture(params=["memory", "standalone", "http", "rabbitmq"])
def connect(request, tmp_path):
    """Factory: connect(role, party, session="task_1", **options) -> Federation of one backend.

    The http and rabbitmq backends outlive a test (server, broker), so their session ids get
    a prefix of the test's own, and their sessions are released afterwards.
    """
    backend = request.param
    options = backend_options(request, backend, tmp_path)
    prefix = "" if backend in ("memory", "standalone") else f"t{uuid.uuid4().hex[:12]}_"
    opened = []

    def _connect(role, party, session="task_1", **extra):
        federation = create_federation(backend, prefix + session, role, party, ROLES, {**options, **extra})
        opened.append(federation)
        return federation

    _connect.backend = backend
    yield _connect
    for federation in opened:
        federation.close()
        release_session(backend, federation.session_id, federation.local_role, federation.local_party,
                        ROLES, options)


def test_message_arrives_with_its_name_and_tag_in_any_order(connect):
    guest, host = connect("guest", 9999), connect("host", 10000)
    for i in range(3):
        guest.remote({"i": i}, "var", f"tag.{i}", "host", 10000)
    guest.remote("other", "other_var", "tag.0", "host", 10000)
    assert host.get("other_var", "tag.0", "guest", 9999, timeout=5) == "other"
    assert [host.get("var", f"tag.{i}", "guest", 9999, timeout=5)["i"] for i in (2, 0, 1)] == [2, 0, 1]


def test_messages_are_addressed_to_one_party(connect):
    guest = connect("guest", 9999)
    host_a, host_b = connect("host", 10000), connect("host", 10001)
    guest.remote("for a", "var", "t", "host", 10000)
    guest.remote("for b", "var", "t", "host", "10001")   # str and int party ids agree
    assert host_b.get("var", "t", "guest", 9999, timeout=5) == "for b"
    assert host_a.get("var", "t", "guest", "9999", timeout=5) == "for a"


def test_one_party_can_play_two_roles(connect):
    host, arbiter = connect("host", 10000), connect("arbiter", 10000)
    host.remote(1, "var", "t", "arbiter", 10000)
    arbiter.remote(2, "var", "t", "host", 10000)
    assert arbiter.get("var", "t", "host", 10000, timeout=5) == 1
    assert host.get("var", "t", "arbiter", 10000, timeout=5) == 2


def test_sessions_do_not_collide(connect):
    guest_1, guest_2 = connect("guest", 9999, "task_1"), connect("guest", 9999, "task_2")
    host_1, host_2 = connect("host", 10000, "task_1"), connect("host", 10000, "task_2")
    guest_1.remote("one", "var", "t", "host", 10000)
    guest_2.remote("two", "var", "t", "host", 10000)
    assert host_2.get("var", "t", "guest", 9999, timeout=5) == "two"
    assert host_1.get("var", "t", "guest", 9999, timeout=5) == "one"


def test_remote_twice_with_the_same_key_raises(connect):
    guest, host = connect("guest", 9999), connect("host", 10000)
    guest.remote(1, "var", "t", "host", 10000)
    assert host.get("var", "t", "guest", 9999, timeout=5) == 1
    with pytest.raises(DuplicateRemoteError, match="remote duplicate tag: var tag t"):
        guest.remote(2, "var", "t", "host", 10000)
    guest.remote(3, "var", "t2", "host", 10000)      # another tag is another message
    guest.remote(4, "var", "t", "host", 10001)       # so is another party


def test_get_times_out_naming_variable_tag_and_source(connect):
    host = connect("host", 10000)
    start = time.monotonic()
    with pytest.raises(FederationTimeout) as info:
        host.get("HeteroLRTransferVariable.paillier_pubkey", "fit.0", "guest", 9999, timeout=0.2)
    assert time.monotonic() - start >= 0.2
    assert isinstance(info.value, TimeoutError)
    message = str(info.value)
    assert "HeteroLRTransferVariable.paillier_pubkey" in message
    assert "tag fit.0" in message and "guest 9999" in message
    assert (info.value.name, info.value.tag, info.value.src_party) == (
        "HeteroLRTransferVariable.paillier_pubkey", "fit.0", 9999)


def test_default_timeout_comes_from_options(connect):
    host = connect("host", 10000, timeout=0.1)
    with pytest.raises(FederationTimeout, match="waited 0.1 s"):
        host.get("var", "t", "guest", 9999)


def test_get_blocks_until_the_message_is_sent(connect):
    guest, host = connect("guest", 9999), connect("host", 10000)
    received = {}

    def receive():
        start = time.monotonic()
        received["value"] = host.get("var", "t", "guest", 9999, timeout=10)
        received["waited"] = time.monotonic() - start

    receiver = threading.Thread(target=receive)
    receiver.start()
    time.sleep(0.2)
    assert receiver.is_alive()
    guest.remote(np.arange(5), "var", "t", "host", 10000)
    receiver.join(10)
    np.testing.assert_array_equal(received["value"], np.arange(5))
    assert 0.2 <= received["waited"] < 5


def test_a_message_is_consumed_by_get(connect):
    guest, host = connect("guest", 9999), connect("host", 10000)
    guest.remote("once", "var", "t", "host", 10000)
    assert host.get("var", "t", "guest", 9999, timeout=5) == "once"
    with pytest.raises(FederationTimeout):
        host.get("var", "t", "guest", 9999, timeout=0.05)


def test_parties_outside_the_job_are_refused(connect):
    guest = connect("guest", 9999)
    with pytest.raises(ValueError, match="host 12345 is not a party of this job"):
        guest.remote(1, "var", "t", "host", 12345)
    with pytest.raises(ValueError, match="arbiter 9999 is not a party"):
        guest.get("var", "t", "arbiter", 9999, timeout=0.01)
    with pytest.raises(ValueError, match="guest 1 is not a party"):
        connect("guest", 1)


def test_unencodable_object_is_refused_before_anything_is_sent(connect):
    guest, host = connect("guest", 9999), connect("host", 10000)
    with pytest.raises(TypeError, match="Opaque"):
        guest.remote(Opaque(), "var", "t", "host", 10000)
    guest.remote("fine", "var", "t", "host", 10000)   # the failed send did not count
    assert host.get("var", "t", "guest", 9999, timeout=5) == "fine"


def test_closed_federation_refuses_calls(connect):
    guest = connect("guest", 9999)
    guest.close()
    with pytest.raises(RuntimeError, match="closed"):
        guest.remote(1, "var", "t", "host", 10000)


def test_small_message_latency_is_a_few_milliseconds(connect):
    guest, host = connect("guest", 9999), connect("host", 10000)
    latencies = []

    def echo():
        for i in range(30):
            host.remote(host.get("ping", str(i), "guest", 9999, timeout=5), "pong", str(i), "guest", 9999)

    echoer = threading.Thread(target=echo)
    echoer.start()
    for i in range(30):
        start = time.perf_counter()
        guest.remote(i, "ping", str(i), "host", 10000)
        assert guest.get("pong", str(i), "host", 10000, timeout=5) == i
        latencies.append((time.perf_counter() - start) / 2)
    echoer.join(5)
    assert sorted(latencies)[len(latencies) // 2] < 0.015


def test_unknown_backend_is_named():
    with pytest.raises(UnknownBackendError, match="'carrier-pigeon'.*http, memory, .*rabbitmq, standalone"):
        create_federation("carrier-pigeon", "task_1", "guest", 9999, ROLES)


def test_register_backend_adds_a_backend_by_class_or_path():
    class Quiet(MemoryFederation):
        pass

    register_backend("quiet-test", Quiet)
    register_backend("quiet-path-test", "fate_flow.federation.memory:MemoryFederation")
    assert type(create_federation("quiet-test", "t", "guest", 9999, ROLES)) is Quiet
    assert type(create_federation("quiet-path-test", "t", "guest", 9999, ROLES)) is MemoryFederation
    assert issubclass(Quiet, Federation)


# ----------------------------------------------------------------------------- chunking and retries

@pytest.mark.parametrize("size, chunk_size, lengths", [
    (0, 4, [0]), (1, 4, [1]), (8, 4, [4, 4]), (9, 4, [4, 4, 1]), (3, 100, [3]),
])
def test_split_payload_cuts_into_chunks_that_join_back(size, chunk_size, lengths):
    payload = bytes(range(size))
    for whole in (payload, memoryview(payload)):
        chunks = split_payload(whole, chunk_size)
        assert [len(c) for c in chunks] == lengths
        assert b"".join(chunks) == payload
    assert all(isinstance(c, memoryview) for c in split_payload(memoryview(payload), chunk_size))


def test_chunk_size_option_defaults_and_bounds():
    assert chunk_size_option({}) == chunk_size_option({"chunk_size": None}) == 4 << 20
    assert chunk_size_option({"chunk_size": "1024"}, maximum=1024) == 1024
    with pytest.raises(ValueError, match="chunk_size must be between 1 and 1024 bytes, not 1025"):
        chunk_size_option({"chunk_size": 1025}, maximum=1024)
    with pytest.raises(ValueError, match="chunk_size must be a positive number of bytes, not -1"):
        chunk_size_option({"chunk_size": -1})


def test_retry_pause_grows_and_stops_at_the_deadline(monkeypatch):
    class Clock:
        now = 100.0
        slept = []

        def monotonic(self):
            return self.now

        def sleep(self, seconds):
            self.slept.append(seconds)
            self.now += seconds

    clock = Clock()
    monkeypatch.setattr(federation_base, "time", clock)
    retry = RetryPause(deadline=108.0)
    while retry.sleep():
        pass
    assert clock.slept == [0.0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]   # first retry at once; capped at 2 s
    assert clock.now == pytest.approx(107.15)                             # one more pause would pass 108


# ----------------------------------------------------------------------------- standalone files

def test_standalone_needs_a_root():
    with pytest.raises(ValueError, match="options\\['root'\\]"):
        create_federation("standalone", "task_1", "guest", 9999, ROLES)


def test_standalone_leaves_no_files_behind_and_cleans_one_session(tmp_path):
    root = tmp_path / "federation"
    options = {"root": str(root)}
    guest = create_federation("standalone", "task_1", "guest", 9999, ROLES, options)
    host = create_federation("standalone", "task_1", "host", 10000, ROLES, options)
    other = create_federation("standalone", "task_2", "guest", 9999, ROLES, options)
    guest.remote(b"x" * 1000, "var", "t", "host", 10000)
    other.remote("unread", "var", "t", "host", 10000)
    assert host.get("var", "t", "guest", 9999, timeout=5) == b"x" * 1000
    assert os.listdir(session_dir(root, "task_1")) == []
    for federation in (guest, host, other):
        federation.close()
    assert len(os.listdir(session_dir(root, "task_2"))) == 1   # close removes nothing
    cleanup_session(root, "task_2")
    assert sorted(os.listdir(root)) == ["task_1"]
    cleanup_session(root, "never_existed")                    # no error
    with pytest.raises(ValueError, match="must not be empty"):
        cleanup_session(root, "")


def test_standalone_file_names_are_safe_for_any_key(tmp_path):
    root = tmp_path / "federation"
    roles = {"guest": ["../../etc"], "host": ["a/b"]}
    options = {"root": str(root)}
    guest = create_federation("standalone", "..", "guest", "../../etc", roles, options)
    host = create_federation("standalone", "..", "host", "a/b", roles, options)
    long_name = "Variable." + "x" * 400
    for name, tag in [("../name", "."), ("a+b", "/t/"), (long_name, "ü.1.2"), ("%2E", "..")]:
        guest.remote(name, name, tag, "host", "a/b")
        assert host.get(name, tag, "guest", "../../etc", timeout=5) == name
    assert os.listdir(tmp_path) == ["federation"]
    assert os.listdir(root) == ["%2E."]


CHILD = """
import sys
import numpy as np
from fate_flow.federation import create_federation
root = sys.argv[1]
roles = {"guest": [9999], "host": [10000]}
host = create_federation("standalone", "task_proc", "host", 10000, roles, {"root": root})
array = host.get("array", "0", "guest", 9999, timeout=60)
host.remote((array.dtype.str, array.shape, float(array.sum())), "summary", "0", "guest", 9999)
host.remote(array * 2, "doubled", "0", "guest", 9999)
"""


def test_two_processes_exchange_a_million_floats(tmp_path):
    root = str(tmp_path / "federation")
    env = {**os.environ, "PYTHONPATH": ROOT}
    child = subprocess.Popen([sys.executable, "-c", CHILD, root], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        guest = create_federation("standalone", "task_proc", "guest", 9999,
                                  {"guest": [9999], "host": [10000]}, {"root": root})
        array = np.random.default_rng(1).standard_normal(10 ** 6)
        guest.remote(array, "array", "0", "host", 10000)
        assert guest.get("summary", "0", "host", 10000, timeout=60) == (
            "<f8", (10 ** 6,), pytest.approx(float(array.sum())))
        np.testing.assert_array_equal(guest.get("doubled", "0", "host", 10000, timeout=60), array * 2)
        _, stderr = child.communicate(timeout=60)
        assert child.returncode == 0, stderr
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


# ----------------------------------------------------------------------------- transfer variables

class DemoTransferVariable(TransferVariables):
    to_host = Variable("to_host", src=("guest",), dst=("host",))
    from_hosts = Variable("from_hosts", src=("host",), dst=("guest", "arbiter"))
    to_all = Variable("to_all", src=("arbiter",), dst=("guest", "host"))


@pytest.fixture
def parties():
    """role -> {party: DemoTransferVariable bound to that party's memory federation}."""
    board = MemoryBoard()
    options = {"board": board, "timeout": 5}
    return {role: {party: DemoTransferVariable(
        MemoryFederation("task_tv", role, party, ROLES, options)) for party in ids}
        for role, ids in ROLES.items()}


def test_variable_full_name_is_class_dot_name():
    assert DemoTransferVariable.to_host.full_name == "DemoTransferVariable.to_host"
    assert DemoTransferVariable.to_host.src == ("guest",)
    with pytest.raises(ValueError, match="declared as attribute 'shares'"):
        class Wrong(TransferVariables):
            shares = Variable("share", src=("guest",), dst=("host",))


def test_remote_to_one_party_by_idx_and_get_by_idx(parties):
    guest = parties["guest"][9999]
    guest.to_host.remote("second host", role="host", idx=1)
    assert parties["host"][10001].to_host.get(idx=0) == "second host"


def test_remote_idx_minus_one_reaches_every_party_and_get_returns_a_list(parties):
    for party, variables in parties["host"].items():
        variables.from_hosts.remote(party, role="guest", idx=-1)
    assert parties["guest"][9999].from_hosts.get(idx=-1) == [10000, 10001]
    with pytest.raises(FederationTimeout):   # role="guest" sent nothing to the arbiter
        parties["arbiter"][10000].from_hosts.get(idx=0, timeout=0.05)


def test_remote_without_role_goes_to_every_dst_role(parties):
    parties["arbiter"][10000].to_all.remote("all")
    assert parties["guest"][9999].to_all.get(idx=0) == "all"
    assert [parties["host"][p].to_all.get(idx=0) for p in (10000, 10001)] == ["all", "all"]


def test_tag_is_flowid_and_suffix_joined_by_dots(parties):
    guest = parties["guest"][9999]
    guest.set_flowid("fit")
    guest.to_host.remote("x", role="host", idx=0, suffix=(3, 7))
    raw = parties["host"][10000].federation
    assert raw.get("DemoTransferVariable.to_host", "fit.3.7", "guest", 9999, timeout=1) == "x"
    guest.to_host.remote("y", role="host", idx=0)
    assert raw.get("DemoTransferVariable.to_host", "fit", "guest", 9999, timeout=1) == "y"


def test_default_flowid_is_default(parties):
    parties["guest"][9999].to_host.remote("z", role="host", idx=0, suffix=(0,))
    raw = parties["host"][10000].federation
    assert raw.get("DemoTransferVariable.to_host", "default.0", "guest", 9999, timeout=1) == "z"


def test_unauthorised_roles_are_refused_naming_the_variable(parties):
    host = parties["host"][10000]
    guest = parties["guest"][9999]
    with pytest.raises(ValueError, match="DemoTransferVariable.to_host can not be sent by role host"):
        host.to_host.remote("x", role="host", idx=0)
    with pytest.raises(ValueError, match="DemoTransferVariable.to_host can not be received by role guest"):
        guest.to_host.get(idx=0)
    with pytest.raises(ValueError, match="DemoTransferVariable.to_host can not be sent to role arbiter"):
        guest.to_host.remote("x", role="arbiter", idx=0)


def test_idx_outside_the_role_list_is_refused(parties):
    with pytest.raises(ValueError, match="DemoTransferVariable.to_host: idx 2 is not a party of role host"):
        parties["guest"][9999].to_host.remote("x", role="host", idx=2)
    with pytest.raises(ValueError, match="idx 5"):
        parties["host"][10000].to_host.get(idx=5)


def test_get_by_index_needs_a_single_src_role():
    class Multi(TransferVariables):
        up = Variable("up", src=("guest", "host"), dst=("arbiter",))

    arbiter = Multi(MemoryFederation("t", "arbiter", 10000, ROLES, {"board": MemoryBoard()}))
    with pytest.raises(ValueError, match="several src roles"):
        arbiter.up.get(idx=0)


def test_transfer_variables_take_the_flowid_only_by_keyword():
    federation = MemoryFederation("t", "guest", 9999, ROLES, {"board": MemoryBoard()})
    with pytest.raises(TypeError):
        DemoTransferVariable(federation, "guest")
    assert DemoTransferVariable(federation, flowid="predict").flowid == "predict"
