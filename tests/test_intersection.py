"""Intersection: parameters, RSA and raw protocols between threads, what crosses, and one real job."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from fate_flow.components import ComponentContext, get_spec
from fate_flow.components.intersection import protocols, rsa
from fate_flow.components.intersection.encode import encode_ids
from fate_flow.components.intersection.intersect_model import IntersectGuest, IntersectHost
from fate_flow.components.intersection.param import EncodeParam, IntersectParam
from fate_flow.components.intersection.transfer import RsaIntersectTransferVariable
from fate_flow.federation.memory import MemoryBoard, MemoryFederation
from fate_flow.secureprotol.gmpy_math import invert, powmod
from fate_flow.storage import TableMeta, iter_line_batches, open_storage
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
                timeout: float = 60) -> dict[tuple[str, int], PartyRun]:
    """Run Intersection for every (role, party) of ``tables`` in threads over one memory board.

    ``conf`` is every party's parameters, ``party_conf[role]`` more of them for one role.
    """
    board, spec = MemoryBoard(), get_spec("Intersection")
    runs = {}
    for (role, party), table in tables.items():
        federation = RecordingFederation("task_intersect", role, party, roles, {"board": board, "timeout": timeout})
        ctx = ComponentContext("job", "task_intersect", "intersection_0", role, party, roles, federation,
                               FakeTracker(), quiet_logger(role))
        params = spec.default_params().update(conf or {}).update((party_conf or {}).get(role, {}))
        runs[(role, party)] = {"ctx": ctx, "component": spec.program(role)(params),
                               "inputs": {"data": {"data": table}}}
    run_in_threads(runs, timeout)  # errors are kept for the test to judge
    assert board.pending() == [], "a message was sent but never received"
    return {key: PartyRun(entry["ctx"], entry["component"], entry.get("output"), entry.get("error"), entry["inputs"])
            for key, entry in runs.items()}


def succeeded(runs) -> dict:
    for key, entry in runs.items():
        assert entry.error is None, f"{key}: {entry.error!r}"
    return runs


def rows(table_data) -> list[tuple[str, str]]:
    ids = pa.concat_arrays(table_data.ids).to_pylist()
    values = pa.concat_arrays(table_data.values).to_pylist()
    return list(zip(ids, values))


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
    ({"intersect_cache_param": {"id_type": "email"}}, "id_type"),
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
    direct = [hashlib.sha256(str(powmod(h, key.d, key.n)).encode()).hexdigest() for h in digests]
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


def test_large_batches_are_split_over_the_worker_pool(key, monkeypatch):
    ids = [str(i) for i in range(240)]
    serial = rsa.sign_own_ids(ids, key)
    calls = []
    real_run_chunks = rsa._parallel.run_chunks

    def counting(worker, chunks):
        calls.append((worker.__name__, [len(chunk[0]) for chunk in chunks]))
        return real_run_chunks(worker, chunks)

    monkeypatch.setattr(rsa, "PARALLEL_MIN_IDS", 100)
    monkeypatch.setattr(rsa._parallel, "run_chunks", counting)
    monkeypatch.setattr(rsa._parallel, "worker_count", lambda: 2)
    assert rsa.sign_own_ids(ids, key) == serial
    blinded, unblinders = rsa.blind_ids(ids, key.e, key.n, 128)
    assert rsa.unblind_and_hash(rsa.sign_blinded(blinded, key), unblinders, key.n) == serial
    assert [name for name, _ in calls] == ["_sign_own_ids_chunk", "_blind_chunk", "_sign_chunk", "_unblind_chunk"]
    assert all(sizes == [120, 120] for _, sizes in calls)


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
        assert rows(entry.output.data) == table_rows(table), "every row kept, values unchanged, input order"
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
    assert rows(runs[("guest", 9999)].output.data) == [(i, guest_rows[i]) for i in want_guest]
    assert rows(runs[("host", 10000)].output.data) == [(i, host_rows[i]) for i in want_host]
    assert metrics(runs[("guest", 9999)]) == {"intersect_count": 151, "intersect_rate": 151 / len(GUEST_IDS)}
    assert metrics(runs[("host", 10000)]) == {"intersect_count": 151, "intersect_rate": 151 / len(HOST_IDS)}


def test_different_salts_on_the_two_sides_find_nothing(overlap):
    guest, host, _ = overlap
    conf = {"intersect_method": "raw", "with_encode": True, "encode_params": {"encode_method": "md5"}}
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}, conf,
                                 party_conf={"host": {"encode_params": {"salt": "other"}}}))
    assert rows(runs[("guest", 9999)].output.data) == [] and rows(runs[("host", 10000)].output.data) == []


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
    assert [i for i, _ in rows(joiner.output.data)] == expected(own, other)
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
        assert [i for i, _ in rows(runs[(role, party)].output.data)] == [i for i in own if i in everywhere]
        assert metrics(runs[(role, party)])["intersect_count"] == 51
    if conf["intersect_method"] == "rsa":  # each host has its own key: its own encrypted form of the ids
        synced = [obj for name, _, _, party, obj in runs[("guest", 9999)].ctx.federation.sent
                  if name.endswith(".intersect_ids")]
        assert len(synced) == 2 and len(synced[0]) == 51 and not set(synced[0]) & set(synced[1])


def test_only_output_key_outputs_fate_placeholders(overlap):
    guest, host, _ = overlap
    for method, guest_value, host_value in (("rsa", "1", "id"), ("raw", "intersect_id", "intersect_id")):
        runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host},
                                     {"intersect_method": method, "only_output_key": True}))
        guest_out, host_out = runs[("guest", 9999)].output.data, runs[("host", 10000)].output.data
        assert rows(guest_out) == [(i, guest_value) for i in expected(GUEST_IDS, HOST_IDS)]
        assert rows(host_out) == [(i, host_value) for i in expected(HOST_IDS, GUEST_IDS)]
        assert guest_out.schema == {"sid": "id"} and host_out.schema == {"sid": "id"}


def test_many_ids_are_signed_and_blinded_in_the_worker_pool(storage, monkeypatch):
    guest_ids = [f"g{i}" for i in range(rsa.PARALLEL_MIN_IDS + 1000)]
    host_ids = [f"g{i}" for i in range(3000, 3000 + rsa.PARALLEL_MIN_IDS + 1000)] + ["h"]
    pooled = []
    real_run_chunks = rsa._parallel.run_chunks

    def spy(worker, chunks):
        pooled.append(worker.__name__)
        return real_run_chunks(worker, chunks)

    monkeypatch.setattr(rsa._parallel, "run_chunks", spy)
    monkeypatch.setattr(rsa._parallel, "worker_count", lambda: 2)
    runs = succeeded(run_parties({("guest", 9999): make_table(storage, "big_g", guest_ids),
                                  ("host", 10000): make_table(storage, "big_h", host_ids)}))
    assert [i for i, _ in rows(runs[("guest", 9999)].output.data)] == expected(guest_ids, host_ids)
    assert [i for i, _ in rows(runs[("host", 10000)].output.data)] == expected(host_ids, guest_ids)
    assert sorted(pooled) == ["_blind_chunk", "_sign_chunk", "_sign_own_ids_chunk", "_unblind_chunk"]


def test_no_common_id_gives_empty_tables(storage):
    guest, host = make_table(storage, "a", ["1", "2"]), make_table(storage, "b", ["3"])
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}))
    assert rows(runs[("guest", 9999)].output.data) == [] and rows(runs[("host", 10000)].output.data) == []
    assert metrics(runs[("guest", 9999)]) == {"intersect_count": 0, "intersect_rate": 0.0}


# ---- what crosses the federation ---------------------------------------------------------------

RSA_NAMES = {f"RsaIntersectTransferVariable.{n}" for n in
             ("rsa_pubkey", "intersect_host_ids_process", "intersect_guest_ids", "intersect_guest_ids_process",
              "intersect_ids")}


def test_rsa_guest_never_receives_host_ids_and_host_never_receives_guest_ids(overlap):
    guest, host, _ = overlap
    runs = succeeded(run_parties({("guest", 9999): guest, ("host", 10000): host}, {"intersect_method": "rsa"}))
    g, h = runs[("guest", 9999)], runs[("host", 10000)]
    assert {name for name, *_ in g.ctx.federation.sent + h.ctx.federation.sent} == RSA_NAMES
    for obj in sent_objects(g) + sent_objects(h):  # only plain values cross
        assert all(type(x) in (int, str) for x in flatten(obj))

    def leaks(ids):  # an id, its SHA-256 hex or its digest as an integer
        return set(ids) | {hashlib.sha256(i.encode()).hexdigest() for i in ids} | \
            {int(hashlib.sha256(i.encode()).hexdigest(), 16) for i in ids}

    host_seen = set(flatten(received_objects(h)))
    guest_seen = set(flatten(received_objects(g)))
    assert not host_seen & leaks(GUEST_IDS), "the host saw a guest id"
    assert not guest_seen & leaks(HOST_IDS), "the guest saw a host id"
    # what the host got back at the end is one hashed value per common id, nothing more
    [synced] = [obj for name, _, _, _, obj in h.ctx.federation.received if name.endswith(".intersect_ids")]
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
    assert names == ["RawIntersectTransferVariable.send_ids_host"]
    names = [name for name, *_ in runs[("guest", 9999)].ctx.federation.sent]
    assert names == ["RawIntersectTransferVariable.intersect_ids_guest"]


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


def test_host_refuses_signed_values_outside_the_modulus(key):
    with pytest.raises(ValueError, match="intersect_guest_ids should hold integers"):
        protocols._ints([1, key.n], "intersect_guest_ids", key.n)
    with pytest.raises(ValueError, match="intersect_guest_ids_process holds 1 values, 2 were sent"):
        protocols._ints([1], "intersect_guest_ids_process", key.n, 2)
    with pytest.raises(ValueError, match="send_ids_host should be a list of strings"):
        protocols._strings(["a", 1], "send_ids_host")


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
