"""Intersection: parameters, RSA and raw protocols between threads, what crosses, and one real job."""
from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from fate_flow.components import ComponentContext, get_spec
from fate_flow.components.intersection import cache as id_cache
from fate_flow.components.intersection import kernels, protocols, rsa, wire
from fate_flow.components.intersection.encode import encode_ids
from fate_flow.components.intersection.intersect_model import IntersectGuest, IntersectHost
from fate_flow.components.intersection.param import EncodeParam, IntersectParam
from fate_flow.components.intersection.transfer import RsaIntersectTransferVariable
from fate_flow.computing import ComputingConf, create_session
from fate_flow.federation.memory import MemoryBoard, MemoryFederation
from fate_flow.secureprotol.gmpy_math import invert, powmod
from fate_flow.storage import TableMeta, iter_line_batches, open_storage
from fate_flow.storage.partitioner import partition_of
from tests.component_harness import (
    FakeTracker, RecordingFederation, quiet_logger, run_in_threads, upload_breast_hetero,
)
from tests.flow_server import ROOT

DATA = ROOT / "examples" / "data"
GUEST_CSV, HOST_CSV = DATA / "breast_hetero_guest.csv", DATA / "breast_hetero_host.csv"
ONE_HOST = {"guest": [9999], "host": [10000]}
TWO_HOSTS = {"guest": [9999], "host": [10000, 10001]}
METRIC_META = {"name": "intersection", "metric_type": "INTERSECTION"}


# ---- helpers -----------------------------------------------------------------------------------

@dataclass
class PartyRun:
    ctx: ComponentContext
    component: Any
    output: Any = None
    error: BaseException | None = None
    inputs: dict = field(default_factory=dict)
    # the output table's ids of each partition, and its rows sorted by id (None without output)
    partition_ids: list | None = None
    rows: list | None = None
    # pids of the computing pool's workers that were running at the end
    worker_pids: list = field(default_factory=list)


def upload(storage, path: Path, name: str):
    """The table an upload of ``path`` makes: id = first field, value = rest of the line."""
    writer = storage.writer("ns", name)
    lines = iter_line_batches(str(path), head=True)
    for ids, values in lines:
        writer.write_batch(ids, values)
    storage.commit(writer, TableMeta(namespace="ns", name=name, partitions=4, schema=lines.header), "create")
    return storage.open("ns", name)


def make_table(storage, name: str, ids: list[str], header: str = "x0,x1"):
    writer = storage.writer("ns", name)
    writer.write_batch(pa.array(ids), pa.array([f"{len(i)},{i}-v" for i in ids]))
    storage.commit(writer, TableMeta(namespace="ns", name=name, schema={"header": header, "sid": "id"}), "create")
    return storage.open("ns", name)


def run_parties(tables: dict, conf: dict | None = None, roles: dict = ONE_HOST, party_conf: dict | None = None,
                timeout: float = 60, partitions: int = 4, keep_open: bool = False,
                id_cache_redis: str = id_cache.DEFAULT_REDIS) -> dict[tuple[str, int], PartyRun]:
    """Run Intersection for every (role, party) of ``tables`` in threads over one memory board.

    ``conf`` is every party's parameters, ``party_conf[role]`` more of them for one role; every
    party computes in ``partitions`` partitions on a local engine of its own, closed at the end unless
    ``keep_open`` (the caller closes it then).
    """
    board, spec = MemoryBoard(), get_spec("Intersection")
    runs = {}
    for (role, party), table in tables.items():
        federation = RecordingFederation("task_intersect", role, party, roles, {"board": board, "timeout": timeout})
        computing = functools.partial(create_session, ComputingConf(partitions=partitions, cores=2))
        ctx = ComponentContext("job", "task_intersect", "intersection_0", role, party, roles, federation,
                               FakeTracker(), quiet_logger(role), computing_opener=computing,
                               id_cache_redis=id_cache_redis)
        params = spec.default_params().update(conf or {}).update((party_conf or {}).get(role, {}))
        runs[(role, party)] = {"ctx": ctx, "component": spec.program(role)(params),
                               "inputs": {"data": {"data": table}}}
    run_in_threads(runs, timeout)  # errors are kept for the test to judge
    assert board.pending() == [], "a message was sent but never received"
    done = {}
    for key, entry in runs.items():
        done[key] = PartyRun(entry["ctx"], entry["component"], entry.get("output"), entry.get("error"), entry["inputs"])
        if done[key].output is not None and done[key].output.data is not None:
            blocks = done[key].output.data.blocks()  # the lazy output table, computed before its session ends
            done[key].partition_ids = [block.column("id").to_pylist() for block in blocks]
            done[key].rows = sorted(row for block in blocks for row in zip(block.column("id").to_pylist(),
                                                                            block.column("value").to_pylist()))
        done[key].worker_pids = entry["ctx"].computing.engine.worker_pids()
        if not keep_open:
            entry["ctx"].close_computing()
    return done


def succeeded(runs) -> dict:
    for key, entry in runs.items():
        assert entry.error is None, f"{key}: {entry.error!r}"
    return runs


def rows(entry: PartyRun) -> list[tuple[str, str]]:
    """The party's output rows (id, value), sorted: the output is in partition order, not input order."""
    return entry.rows


def ids_out(entry: PartyRun) -> list[str]:
    return [i for i, _ in entry.rows]


def table_rows(table) -> list[tuple[str, str]]:
    out = []
    for batch in table.iter_batches():
        out.extend(zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()))
    return out


def metrics(entry: PartyRun) -> dict:
    [(namespace, name, data)] = entry.ctx.tracker.metrics
    assert (namespace, name) == ("train", "intersection")
    assert entry.ctx.tracker.metas == [("train", "intersection", METRIC_META)]
    return dict(data)


def sent_objects(entry: PartyRun) -> list:
    return [obj for *_, obj in entry.ctx.federation.sent]


def received_objects(entry: PartyRun) -> list:
    return [obj for *_, obj in entry.ctx.federation.received]


def flatten(obj) -> list:
    """Every value a message carries: strings of a string message, each row of a rows message as
    its bytes and as the big-endian integer they make, and plain values as they are."""
    if isinstance(obj, dict) and "offsets" in obj:
        return wire.read_strings(obj, "test", obj["partitions"]).to_pylist()
    if isinstance(obj, dict) and "rows" in obj:
        return [x for row in obj["rows"] for x in (row.tobytes(), int.from_bytes(row.tobytes(), "big"))]
    if isinstance(obj, (list, tuple)):
        return [x for item in obj for x in flatten(item)]
    if isinstance(obj, dict):
        return [x for pair in obj.items() for x in flatten(list(pair))]
    return [obj]


@pytest.fixture
def storage():
    return open_storage("memory")


@pytest.fixture
def breast(storage):
    return upload(storage, GUEST_CSV, "guest"), upload(storage, HOST_CSV, "host")


# Partial overlap: the hosts hold other orders and some ids of their own; ids are not only ASCII.
GUEST_IDS = [f"id{i}" for i in range(300)] + ["名前-1", "ünï code", "a,b"]
HOST_IDS = [f"id{i}" for i in range(449, 149, -1)] + ["ünï code", "host-only"]
HOST2_IDS = [f"id{i}" for i in range(0, 400, 3)] + ["名前-1", "ünï code"]


@pytest.fixture
def overlap(storage):
    return (make_table(storage, "g", GUEST_IDS, "y,x0"), make_table(storage, "h", HOST_IDS),
            make_table(storage, "h2", HOST2_IDS, "x9"))


def expected(own: list[str], *others: list[str]) -> list[str]:
    common = set(own).intersection(*others)
    return [i for i in own if i in common]


# ---- parameters and registry -------------------------------------------------------------------

def test_param_defaults_default_conf_and_registry():
    assert IntersectParam().to_dict() == {
        "intersect_method": "raw", "random_bit": 128, "sync_intersect_ids": True, "join_role": "guest",
        "with_encode": False, "only_output_key": False,
        "encode_params": {"salt": "", "encode_method": "none", "base64": False},
        "intersect_cache_param": {"use_cache": False, "id_type": "phone", "encrypt_type": "sha256"},
        "repeated_id_process": False, "repeated_id_owner": "guest", "allow_info_share": False,
        "info_owner": "guest", "need_run": True}
    spec = get_spec("Intersection")
    assert spec.roles == {"guest", "host"} and spec.need_deploy
    assert spec.param_name() == "IntersectParam" and spec.param_type() is IntersectParam
    assert spec.program("guest") is IntersectGuest and spec.program("host") is IntersectHost
    effective = spec.default_params()
    effective.check()
    assert effective.intersect_method == "rsa" and effective.sync_intersect_ids is True
    assert spec.code_path("host") == "fate_flow/components/intersection/intersect_model.py/IntersectHost"


def test_check_lower_cases_choices():
    param = IntersectParam(intersect_method="RSA", join_role="Host", info_owner="HOST",
                           encode_params=EncodeParam(encode_method="SHA256"))
    param.check()
    assert (param.intersect_method, param.join_role, param.info_owner) == ("rsa", "host", "host")
    assert param.encode_params.encode_method == "sha256"


@pytest.mark.parametrize("conf, name", [
    ({"intersect_method": "ecdh"}, "intersect_method"), ({"intersect_method": None}, "intersect_method"),
    ({"random_bit": 0}, "random_bit"), ({"random_bit": "128"}, "random_bit"), ({"random_bit": True}, "random_bit"),
    ({"sync_intersect_ids": "true"}, "sync_intersect_ids"), ({"join_role": "arbiter"}, "join_role"),
    ({"with_encode": 1}, "with_encode"), ({"only_output_key": None}, "only_output_key"),
    ({"repeated_id_process": "no"}, "repeated_id_process"), ({"repeated_id_owner": "host"}, "repeated_id_owner"),
    ({"allow_info_share": 0}, "allow_info_share"), ({"info_owner": "arbiter"}, "info_owner"),
    ({"need_run": "false"}, "need_run"), ({"encode_params": None}, "encode_params"),
    ({"encode_params": {"encode_method": "sha3"}}, "encode_method"), ({"encode_params": {"salt": 1}}, "salt"),
    ({"encode_params": {"base64": "yes"}}, "base64"), ({"intersect_cache_param": {"use_cache": 1}}, "use_cache"),
    ({"intersect_cache_param": {"id_type": 3}}, "id_type"), ({"intersect_cache_param": {"encrypt_type": ""}},
                                                             "encrypt_type"),
])
def test_check_names_the_bad_parameter(conf, name):
    with pytest.raises(ValueError, match=rf"param's {name} "):
        get_spec("Intersection").default_params().update(conf).check()


# ---- RSA primitives ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def key():
    return rsa.generate_rsa_key()


def test_rsa_key_is_a_1024_bit_textbook_key(key):
    assert key.n == key.p * key.q and key.n.bit_length() == 1024 and key.e == 65537
    lam = (key.p - 1) * (key.q - 1) // math.gcd(key.p - 1, key.q - 1)
    assert key.e * key.d % lam == 1
    assert key.public() == {"e": 65537, "n": key.n} and all(type(v) is int for v in key.public().values())


def test_crt_signature_blinding_and_unblinding_agree_with_the_formulas(key):
    ids = ["1", "abc", "名前"]
    digests = [int(hashlib.sha256(i.encode()).hexdigest(), 16) for i in ids]
    direct = [hashlib.sha256(str(powmod(h, key.d, key.n)).encode()).digest() for h in digests]
    assert rsa.sign_own_ids(ids, key) == direct
    blinded, unblinders = rsa.blind_ids(ids, key.e, key.n, 128)
    assert all(type(x) is int and 0 <= x < key.n for x in blinded)
    assert blinded[0] != digests[0] and len(set(blinded)) == 3
    for x, r_inverse, h in zip(blinded, unblinders, digests):
        r_to_e = x * invert(h, key.n) % key.n   # what the host sees is h times a random r^e
        assert powmod(r_inverse, key.e, key.n) * r_to_e % key.n == 1
    signed = rsa.sign_blinded(blinded, key)
    assert signed == [int(powmod(x, key.d, key.n)) for x in blinded]
    assert rsa.unblind_and_hash(signed, unblinders, key.n) == direct


def test_integers_travel_as_fixed_width_rows(key):
    width = rsa.modulus_bytes(key.n)
    values = [0, 1, key.n - 1, 1 << 600]
    rows = rsa.to_rows(values, width)
    assert width == 128 and rows.shape == (4, 128) and rows.dtype.name == "uint8"
    assert rsa.from_rows(rows) == values and rsa.from_rows(rsa.to_rows([], width)) == []


def test_encode_ids_matches_hashlib_with_salt_and_base64():
    import base64
    ids = ["id1", "名前"]
    assert encode_ids(ids, EncodeParam()) == ids
    assert encode_ids(ids, EncodeParam(salt="s", encode_method="md5")) == [
        hashlib.md5(f"{i}s".encode()).hexdigest() for i in ids]
    assert encode_ids(ids, EncodeParam(encode_method="sha512", base64=True)) == [
        base64.b64encode(hashlib.sha512(i.encode()).digest()).decode() for i in ids]


# ---- the protocols between threads ---------------------------------------------------------------

@pytest.mark.parametrize("conf", [
    {"intersect_method": "rsa"},
    {"intersect_method": "raw"},
    {"intersect_method": "raw", "join_role": "host"},
], ids=["rsa", "raw", "raw-join-host"])
def test_breast_guest_and_host_share_569_rows_kept_unchanged(breast, conf):
    guest, host = breast
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}, conf))
    for entry, table in ((runs[("guest", 9999)], guest), (runs[("host", 10000)], host)):
        assert rows(entry) == sorted(table_rows(table)), "every row kept, values unchanged"
        assert entry.output.data.schema == table.meta.schema and entry.output.model is None
        assert metrics(entry) == {"intersect_count": 569, "intersect_rate": 1.0}
        assert entry.component.intersect_num_ == 569
    assert runs[("guest", 9999)].output.data.schema == {"header": "y,x0,x1,x2,x3,x4,x5,x6,x7,x8,x9", "sid": "id"}


@pytest.mark.parametrize("conf", [
    {"intersect_method": "rsa"},
    {"intersect_method": "rsa", "random_bit": 16},
    {"intersect_method": "raw"},
    {"intersect_method": "raw", "with_encode": True,
     "encode_params": {"encode_method": "sha256", "salt": "12345", "base64": True}},
    {"intersect_method": "raw", "with_encode": True, "encode_params": {"encode_method": "md5"}},
    {"intersect_method": "raw", "with_encode": True},  # encode_method none: ids as they are
    {"intersect_method": "raw", "join_role": "host", "with_encode": True,
     "encode_params": {"encode_method": "sha1", "salt": "x"}},
], ids=["rsa", "rsa-16-bit-r", "raw", "raw-sha256-b64", "raw-md5", "raw-encode-none", "raw-join-host-sha1"])
def test_partial_overlap_gives_the_exact_common_rows_on_both_sides(overlap, conf):
    guest, host, _ = overlap
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}, conf))
    guest_rows, host_rows = dict(table_rows(guest)), dict(table_rows(host))
    want_guest, want_host = expected(GUEST_IDS, HOST_IDS), expected(HOST_IDS, GUEST_IDS)
    assert len(want_guest) == 151
    assert rows(runs[("guest", 9999)]) == sorted((i, guest_rows[i]) for i in want_guest)
    assert rows(runs[("host", 10000)]) == sorted((i, host_rows[i]) for i in want_host)
    assert metrics(runs[("guest", 9999)]) == {"intersect_count": 151, "intersect_rate": 151 / len(GUEST_IDS)}
    assert metrics(runs[("host", 10000)]) == {"intersect_count": 151, "intersect_rate": 151 / len(HOST_IDS)}


def test_different_salts_on_the_two_sides_find_nothing(overlap):
    guest, host, _ = overlap
    conf = {"intersect_method": "raw", "with_encode": True, "encode_params": {"encode_method": "md5"}}
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}, conf,
                                 party_conf={"host": {"encode_params": {"salt": "other"}}}))
    assert rows(runs[("guest", 9999)]) == [] and rows(runs[("host", 10000)]) == []


@pytest.mark.parametrize("conf, without_output", [
    ({"intersect_method": "rsa", "sync_intersect_ids": False}, "host"),
    ({"intersect_method": "raw", "sync_intersect_ids": False}, "host"),
    ({"intersect_method": "raw", "sync_intersect_ids": False, "join_role": "host"}, "guest"),
], ids=["rsa", "raw", "raw-join-host"])
def test_without_sync_only_the_joining_party_has_output(overlap, conf, without_output):
    guest, host, _ = overlap
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}, conf))
    guest_run, host_run = runs[("guest", 9999)], runs[("host", 10000)]
    silent, joiner, own, other = ((guest_run, host_run, HOST_IDS, GUEST_IDS) if without_output == "guest"
                                  else (host_run, guest_run, GUEST_IDS, HOST_IDS))
    assert silent.output.data is None and silent.output.model is None
    assert metrics(silent) == {"intersect_count": -1, "intersect_rate": -1}
    assert ids_out(joiner) == sorted(expected(own, other))
    names = {name.split(".")[1] for entry in runs.values() for name, *_ in entry.ctx.federation.sent}
    assert not names & {"intersect_ids", "intersect_ids_guest", "intersect_ids_host"}


@pytest.mark.parametrize("conf", [
    {"intersect_method": "rsa"},
    {"intersect_method": "raw"},
    {"intersect_method": "raw", "join_role": "host", "with_encode": True,
     "encode_params": {"encode_method": "sha224"}},
], ids=["rsa", "raw", "raw-join-host"])
def test_two_hosts_all_keep_the_ids_common_to_the_three(overlap, conf):
    guest, host, host2 = overlap
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host, ("host", 10001): host2},
                                 conf, roles=TWO_HOSTS))
    everywhere = set(GUEST_IDS) & set(HOST_IDS) & set(HOST2_IDS)
    assert len(everywhere) == 51
    for (role, party), own in ((("guest", 9999), GUEST_IDS), (("host", 10000), HOST_IDS),
                               (("host", 10001), HOST2_IDS)):
        assert ids_out(runs[(role, party)]) == sorted(i for i in own if i in everywhere)
        assert metrics(runs[(role, party)])["intersect_count"] == 51
    if conf["intersect_method"] == "rsa":  # each host has its own key: its own encrypted form of the ids
        synced = {0: set(), 1: set()}
        for name, _, _, party, obj in runs[("guest", 9999)].ctx.federation.sent:
            if name.endswith(".intersect_ids"):
                synced[TWO_HOSTS["host"].index(party)].update(row.tobytes() for row in obj["rows"])
        assert len(synced[0]) == len(synced[1]) == 51 and not synced[0] & synced[1]


def test_only_output_key_outputs_fate_placeholders(overlap):
    guest, host, _ = overlap
    for method, guest_value, host_value in (("rsa", "1", "id"), ("raw", "intersect_id", "intersect_id")):
        runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host},
                                     {"intersect_method": method, "only_output_key": True}))
        guest_run, host_run = runs[("guest", 9999)], runs[("host", 10000)]
        assert rows(guest_run) == sorted((i, guest_value) for i in expected(GUEST_IDS, HOST_IDS))
        assert rows(host_run) == sorted((i, host_value) for i in expected(HOST_IDS, GUEST_IDS))
        assert guest_run.output.data.schema == {"sid": "id"} and host_run.output.data.schema == {"sid": "id"}


@pytest.mark.parametrize("method", ["rsa", "raw"])
def test_rsa_kernels_of_many_ids_run_in_the_workers(overlap, monkeypatch, method):
    guest, host, _ = overlap
    monkeypatch.setattr(protocols, "RSA_POOL_MIN_IDS", 100)  # 300 ids a side are "many"
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}, {"intersect_method": method}))
    for entry in runs.values():
        assert len(entry.rows) == 151
        assert bool(entry.worker_pids) == (method == "rsa"), "small tables of cheap kernels stay in the task"


def test_no_common_id_gives_empty_tables(storage):
    guest, host = make_table(storage, "a", ["1", "2"]), make_table(storage, "b", ["3"])
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}))
    assert rows(runs[("guest", 9999)]) == [] and rows(runs[("host", 10000)]) == []
    assert metrics(runs[("guest", 9999)]) == {"intersect_count": 0, "intersect_rate": 0.0}


def local_table(storage, name: str, ids: list[str], partitions: int):
    writer = storage.writer("ns", name, partitions)
    writer.write_batch(pa.array(ids), pa.array([f"{i}-v" for i in ids]))
    storage.commit(writer, TableMeta(namespace="ns", name=name, partitions=partitions,
                                     schema={"header": "x", "sid": "id"}), "create")
    return storage.open("ns", name)


@pytest.mark.parametrize("method, pool", [("rsa", False), ("raw", False), ("rsa", True), ("raw", True)],
                         ids=["rsa", "raw", "rsa-pool", "raw-pool"])
def test_tables_of_other_partition_counts_meet_in_the_job_partitioning(tmp_path, monkeypatch, method, pool):
    if pool:  # small tables are computed inline: make every kernel run in the workers
        monkeypatch.setattr("fate_flow.computing.table.INLINE_ROWS", 0)
    storage = open_storage("local", tmp_path / "tables")
    guest_ids = [f"u{i}" for i in range(0, 3000, 2)] + ["名前-1"]
    host_ids = [f"u{i}" for i in range(0, 3000, 3)] + ["名前-1", "h-only"]
    with local_table(storage, "g", guest_ids, 3) as guest, local_table(storage, "h", host_ids, 8) as host:
        assert (guest.partition_count, host.partition_count) == (3, 8)
        runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host},
                                     {"intersect_method": method}, partitions=5))
    common = sorted(set(guest_ids) & set(host_ids))
    assert len(common) == 501
    for entry in runs.values():
        assert rows(entry) == [(i, f"{i}-v") for i in common]
        assert metrics(entry)["intersect_count"] == 501
        assert len(entry.partition_ids) == 5, "the output is in the job's partition count"
        for number, ids in enumerate(entry.partition_ids):  # partition i holds only ids that hash to i
            assert ids and (partition_of(pa.array(ids), 5) == number).all()
        assert bool(entry.worker_pids) == pool
    partitions_sent = {tag for name, tag, *_ in runs[("host", 10000)].ctx.federation.sent if "pubkey" not in name}
    assert partitions_sent == {f"default.{i}" for i in range(5)}, "one message per partition and variable"


def test_the_output_keeps_the_input_delimiter(tmp_path):
    storage = open_storage("local", tmp_path / "tables")
    tables = {}
    for role, party, ids in (("guest", 9999, ["a", "b", "c"]), ("host", 10000, ["b", "c", "d"])):
        writer = storage.writer("ns", role, 2)
        writer.write_batch(pa.array(ids), pa.array([f"{i}\t1" for i in ids]))
        storage.commit(writer, TableMeta(namespace="ns", name=role, partitions=2, delimiter="\t",
                                         schema={"header": "x\ty", "sid": "id"}), "create")
        tables[(role, party)] = storage.open("ns", role)
    runs = succeeded(run_parties(tables, {"intersect_method": "raw"}, partitions=2, keep_open=True))
    for (role, _), entry in runs.items():
        meta = entry.output.data.save(storage, "out", role)
        assert (meta.delimiter, meta.count, meta.partitions) == ("\t", 2, 2)
        entry.ctx.close_computing()


# ---- what crosses the federation ---------------------------------------------------------------

RSA_NAMES = {f"RsaIntersectTransferVariable.{n}" for n in
             ("rsa_pubkey", "intersect_host_ids_process", "intersect_guest_ids", "intersect_guest_ids_process",
              "intersect_ids")}


def test_rsa_guest_never_receives_host_ids_and_host_never_receives_guest_ids(overlap):
    guest, host, _ = overlap
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}, {"intersect_method": "rsa"}))
    g, h = runs[("guest", 9999)], runs[("host", 10000)]
    assert {name for name, *_ in g.ctx.federation.sent + h.ctx.federation.sent} == RSA_NAMES
    for obj in sent_objects(g) + sent_objects(h):  # only ints and numeric arrays cross
        assert isinstance(obj, dict) and all(type(v) is int or isinstance(v, np.ndarray) for v in obj.values())

    def leaks(ids):  # an id, its SHA-256 digest, hex or integer
        return set(ids) | {hashlib.sha256(i.encode()).digest() for i in ids} | \
            {hashlib.sha256(i.encode()).hexdigest() for i in ids} | \
            {int(hashlib.sha256(i.encode()).hexdigest(), 16) for i in ids}

    host_seen = set(flatten(received_objects(h)))
    guest_seen = set(flatten(received_objects(g)))
    assert not host_seen & leaks(GUEST_IDS), "the host saw a guest id"
    assert not guest_seen & leaks(HOST_IDS), "the guest saw a host id"
    # what the host got back at the end is one hashed value per common id, nothing more
    synced = [row.tobytes() for name, _, _, _, obj in h.ctx.federation.received if name.endswith(".intersect_ids")
              for row in obj["rows"]]
    assert len(synced) == 151 and set(synced) <= set(flatten(sent_objects(h)))


def test_raw_with_encoding_sends_no_raw_id_either_way(overlap):
    guest, host, _ = overlap
    conf = {"intersect_method": "raw", "with_encode": True, "encode_params": {"encode_method": "sha256", "salt": "s"}}
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}, conf))
    crossed = set()
    for entry in runs.values():
        crossed |= set(flatten(sent_objects(entry))) | set(flatten(received_objects(entry)))
    assert crossed and not crossed & (set(GUEST_IDS) | set(HOST_IDS))
    names = [name for name, *_ in runs[("host", 10000)].ctx.federation.sent]
    assert names == ["RawIntersectTransferVariable.send_ids_host"] * 4, "one message per partition"
    names = [name for name, *_ in runs[("guest", 9999)].ctx.federation.sent]
    assert names == ["RawIntersectTransferVariable.intersect_ids_guest"] * 4


def test_guest_refuses_a_malformed_public_key(overlap):
    guest, _, _ = overlap
    board = MemoryBoard()
    host_fed = MemoryFederation("t", "host", 10000, ONE_HOST, {"board": board})
    RsaIntersectTransferVariable(host_fed).rsa_pubkey.remote({"e": 3, "n": 35}, role="guest", idx=0)
    federation = MemoryFederation("t", "guest", 9999, ONE_HOST, {"board": board, "timeout": 5})
    ctx = ComponentContext("j", "t", "i", "guest", 9999, ONE_HOST, federation, FakeTracker())
    params = get_spec("Intersection").default_params()
    with pytest.raises(ValueError, match="rsa_pubkey is not a usable RSA key"):
        IntersectGuest(params).run(ctx, {"data": {"data": guest}})


def test_received_values_are_checked_before_use(key):
    width = rsa.modulus_bytes(key.n)
    with pytest.raises(ValueError, match="intersect_guest_ids should hold integers between 0 and the RSA modulus"):
        kernels.sign_received(key, rsa.to_rows([1, key.n], width))
    blinded = kernels.blind(key.e, key.n, 128, pa.table({"id": ["a", "b"], "value": ["", ""]}))
    with pytest.raises(ValueError, match="intersect_guest_ids_process holds 1 values, 2 were sent"):
        kernels.unblind(key.n, blinded, rsa.to_rows([1], width))
    with pytest.raises(ValueError, match="intersect_guest_ids should hold rows of 128 bytes"):
        wire.read_rows(wire.rows_message(np.zeros((2, 64), np.uint8), 4), "intersect_guest_ids", 4, width)
    with pytest.raises(ValueError, match="send_ids_host should be a dict"):
        wire.read_strings(["a", 1], "send_ids_host", 4)
    bad_text = {"partitions": 4, "offsets": np.array([0, 2], np.int32), "data": np.array([0xC3, 0x28], np.uint8)}
    with pytest.raises(ValueError, match="send_ids_host should be a list of strings"):
        wire.read_strings(bad_text, "send_ids_host", 4)
    past_the_end = {"partitions": 4, "offsets": np.array([0, 9], np.int32), "data": np.array([65], np.uint8)}
    with pytest.raises(ValueError, match="send_ids_host should be a list of strings"):
        wire.read_strings(past_the_end, "send_ids_host", 4)
    with pytest.raises(ValueError, match="from a party computing with 8 partitions, this one with 4"):
        wire.read_strings(wire.strings_message(pa.array(["a"]), 8), "send_ids_host", 4)
    assert wire.read_strings(wire.strings_message(pa.array(["x", "名前"]).slice(1), 4), "s", 4).to_pylist() == ["名前"]


# ---- run dispatch ------------------------------------------------------------------------------

def test_need_run_false_passes_the_input_through_without_messages(overlap):
    guest, _, _ = overlap
    federation = RecordingFederation("t", "guest", 9999, ONE_HOST, {"board": MemoryBoard()})
    ctx = ComponentContext("j", "t", "i", "guest", 9999, ONE_HOST, federation, FakeTracker())
    params = get_spec("Intersection").default_params().update({"need_run": False})
    output = IntersectGuest(params).run(ctx, {"data": {"data": guest}})
    assert output.data is guest and output.model is None
    assert federation.sent == [] and ctx.tracker.metrics == []


@pytest.mark.parametrize("conf, message", [
    ({"repeated_id_process": True}, "repeated_id_process true is not supported"),
    ({"allow_info_share": True}, "allow_info_share true is not supported"),
])
def test_unsupported_options_fail_before_any_message(overlap, conf, message):
    guest, _, _ = overlap
    federation = RecordingFederation("t", "host", 10000, ONE_HOST, {"board": MemoryBoard()})
    ctx = ComponentContext("j", "t", "i", "host", 10000, ONE_HOST, federation, FakeTracker())
    with pytest.raises(NotImplementedError, match=message):
        IntersectHost(get_spec("Intersection").default_params().update(conf)).run(ctx, {"data": {"data": guest}})
    assert federation.sent == []


def test_one_input_table_is_required(overlap):
    guest, host, _ = overlap
    ctx = ComponentContext("j", "t", "i", "guest", 9999, ONE_HOST, None, FakeTracker())
    component = IntersectGuest(get_spec("Intersection").default_params())
    with pytest.raises(ValueError, match="exactly one input data table, got 2"):
        component.run(ctx, {"data": {"data": [guest, host]}})
    with pytest.raises(ValueError, match="exactly one input data table, got 0"):
        component.run(ctx, {"data": {}})


# ---- through a real server ---------------------------------------------------------------------

def test_intersection_job_on_uploaded_tables_through_the_server(flow_server):
    server = flow_server()
    upload_breast_hetero(server, "intersect_test")
    dsl = {"components": {"intersection_0": {"module": "Intersection", "input": {"data": {"data": ["args.data"]}},
                                             "output": {"data": ["train"]}}}}
    conf = {"initiator": {"role": "guest", "party_id": 9999}, "job_parameters": {"work_mode": 0},
            "role": {"guest": [9999], "host": [10000]},
            "role_parameters": {role: {"args": {"data": {"data": [{"name": f"breast_hetero_{role}",
                                                                   "namespace": "intersect_test"}]}}}
                                for role in ("guest", "host")}}
    job_id = server.submit(dsl, conf)
    assert server.wait_job(job_id, timeout=90)["f_status"] == "success"
    for role, party, path in (("guest", 9999, GUEST_CSV), ("host", 10000, HOST_CSV)):
        query = {"job_id": job_id, "component_name": "intersection_0", "role": role, "party_id": party}
        answer = server.post("/v1/tracking/component/metric/all", query)
        assert answer["data"]["train"]["intersection"] == {
            "data": [["intersect_count", 569], ["intersect_rate", 1.0]], "meta": METRIC_META}, answer
        preview = server.post("/v1/tracking/component/output/data", query)
        assert preview["meta"]["total"] == 569
        assert preview["meta"]["header"] == path.read_text().splitlines()[0].split(",")
        source_rows = {line.split(",")[0]: line.split(",") for line in path.read_text().splitlines()[1:]}
        assert preview["data"][0] == source_rows[preview["data"][0][0]]
        [log] = server.work_dir.glob(f"**/{job_id}/{role}/{party}/intersection_0/INFO.log")
        assert f"rsa intersection of 569 ids as {role}" in log.read_text(), "the default method is RSA"


# ---- RSA with the id cache in Redis (intersect_cache_param) -------------------------------------

@pytest.fixture
def redis_cache(monkeypatch):
    """A unique id_type per test (its own namespaces) on the machine's Redis; its keys removed after.
    The host's keys are 512-bit here: these tests are about the cache, not the cipher."""
    import uuid

    monkeypatch.setattr(rsa, "generate_rsa_key", functools.partial(rsa.generate_rsa_key, 512))

    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(id_cache.DEFAULT_REDIS)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"no Redis at {id_cache.DEFAULT_REDIS}: {exc}")
    id_type = f"test-{uuid.uuid4().hex[:8]}"
    yield client, id_type
    keys = list(client.scan_iter(match=f"*{id_type}*"))
    if keys:
        client.delete(*keys)


def cache_conf(id_type: str, **cache) -> dict:
    return {"intersect_method": "rsa",
            "intersect_cache_param": {"use_cache": True, "id_type": id_type, "encrypt_type": "sha256", **cache}}


def counting_signatures(monkeypatch) -> list:
    """Count the host's signings of its own ids (the RSA kernels of these small tables run in-process)."""
    calls, sign = [], rsa.sign_own_ids
    monkeypatch.setattr(rsa, "sign_own_ids", lambda ids, key: calls.append(len(ids)) or sign(ids, key))
    return calls


def names_sent(entry: PartyRun) -> set:
    return {name.rpartition(".")[2] for name, *_ in entry.ctx.federation.sent}


def test_rsa_cache_hit_reads_redis_and_does_not_sign_again(overlap, redis_cache, monkeypatch):
    client, id_type = redis_cache
    guest, host, _ = overlap
    tables, conf = {("guest", 9999): guest, ("host", 10000): host}, cache_conf(id_type)
    signed = counting_signatures(monkeypatch)
    first = succeeded(run_parties(tables, conf))
    assert sum(signed) == len(HOST_IDS), "the first job signs every host id"
    namespace = id_cache.cache_namespace(10000, 9999, id_type, "sha256")
    host_cache, guest_cache = (id_cache.IdCache(role, party, namespace, client)
                               for role, party in (("host", 10000), ("guest", 9999)))
    version = host_cache.current_version()
    assert version and guest_cache.current_version() == version, "the guest keeps its copy under the host's version"
    assert client.get(host_cache.prefix) is None, "the write lock is released"

    signed.clear()
    second = succeeded(run_parties(tables, conf))
    g, h = second[("guest", 9999)], second[("host", 10000)]
    assert signed == [], "the host reused its cached signed ids"
    assert "intersect_host_ids_process" not in names_sent(h)
    assert {"cache_version_info"} <= names_sent(g) and {"cache_version_match_info"} <= names_sent(h)
    match = next(obj for name, *_, obj in h.ctx.federation.sent if name.endswith("cache_version_match_info"))
    assert match == {"version_match": True, "version": version, "namespace": namespace}
    assert rows(g) == rows(first[("guest", 9999)]) and rows(h) == rows(first[("host", 10000)])
    assert sent_objects(h)[0] == sent_objects(first[("host", 10000)])[0], "the same cached RSA key"

    # the guest really reads its Redis copy: empty one partition of it and that partition's ids go missing
    client.set(f"{guest_cache.prefix}:{version}:0", b"")
    third = succeeded(run_parties(tables, conf))
    lost = set(ids_out(first[("guest", 9999)])) - set(ids_out(third[("guest", 9999)]))
    assert lost and lost == set(first[("guest", 9999)].partition_ids[0]) & set(ids_out(first[("guest", 9999)]))


def test_rsa_cache_options_namespace_stale_ids_and_off(overlap, redis_cache, monkeypatch, storage):
    client, id_type = redis_cache
    guest, host, _ = overlap
    signed = counting_signatures(monkeypatch)
    succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}, cache_conf(id_type)))
    # another encrypt_type (or id_type) is another id library: no hit, a namespace of its own
    signed.clear()
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host},
                                 cache_conf(id_type, encrypt_type="md5")))
    assert signed and "intersect_host_ids_process" in names_sent(runs[("host", 10000)])
    assert client.get(f"fate_flow:id_cache:host:10000:{id_cache.cache_namespace(10000, 9999, id_type, 'md5')}"
                      ":version")
    # the host's ids changed: the cached version does not serve them, they are signed anew as a new version
    namespace = id_cache.cache_namespace(10000, 9999, id_type, "sha256")
    before = id_cache.IdCache("host", 10000, namespace, client).current_version()
    signed.clear()
    changed = make_table(storage, "h3", HOST_IDS[:-1] + ["new-id"])
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): changed}, cache_conf(id_type)))
    after = id_cache.IdCache("host", 10000, namespace, client).current_version()
    assert sum(signed) == len(HOST_IDS) and after != before
    assert ids_out(runs[("guest", 9999)]) == sorted(expected(GUEST_IDS, HOST_IDS[:-1]))
    assert not list(client.scan_iter(match=f"fate_flow:id_cache:host:10000:{namespace}:{before}:*")), \
        "the replaced version is dropped"
    # use_cache false touches nothing
    keys = set(client.scan_iter(match=f"*{id_type}*"))
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host},
                                 cache_conf(id_type, use_cache=False)))
    assert set(client.scan_iter(match=f"*{id_type}*")) == keys
    assert "cache_version_info" not in names_sent(runs[("guest", 9999)])


def test_rsa_cache_without_redis_fails_on_both_sides_naming_it(overlap):
    guest, host, _ = overlap
    runs = run_parties({("guest", 9999): guest, ("host", 10000): host}, cache_conf("phone"), timeout=5,
                       id_cache_redis="redis://127.0.0.1:1/0")
    for entry in runs.values():
        assert isinstance(entry.error, RuntimeError)
        assert "use_cache needs the Redis at redis://127.0.0.1:1/0" in str(entry.error)
