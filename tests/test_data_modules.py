"""Union, FederatedSample and Rsa on the breast hetero tables (4 partitions), each checked against a
plain central computation written here: a dict union, per-label counts, Python's own RSA."""
from __future__ import annotations

import hashlib
import uuid

import numpy as np
import pytest

from fate_flow.components import ComponentContext, get_spec
from fate_flow.components.federated_sample.sampler import FederatedSample
from fate_flow.components.rsa.rsa import RsaModel
from fate_flow.components.union.union import Union
from fate_flow.computing import ComputingConf, create_session
from fate_flow.federation.base import FederationTimeout
from fate_flow.federation.memory import MemoryBoard
from fate_flow.storage import open_storage
from tests.component_harness import (
    FakeTracker, RecordingFederation, close_contexts, quiet_logger, read_breast_hetero, rows_by_id, run_in_threads,
    store, tracked,
)

GUEST, HOST = 9999, 10000
ROLES = {"guest": [GUEST], "host": [HOST]}
PARTITIONS = 4
TIMEOUT = 20.0


@pytest.fixture(autouse=True, scope="module")
def _close_computing_sessions():
    yield
    close_contexts()


@pytest.fixture(scope="module")
def breast():
    return read_breast_hetero()


def make_ctx(role: str, federation=None, roles=ROLES, storage=None) -> ComponentContext:
    party = GUEST if role == "guest" else HOST
    storage = storage or open_storage("memory")
    return tracked(ComponentContext(
        job_id="job", task_id=getattr(federation, "session_id", "task"), component_name="c", role=role,
        party_id=party, roles=roles, federation=federation, tracker=FakeTracker(), logger=quiet_logger(role),
        storage_opener=lambda: storage,
        computing_opener=lambda: create_session(ComputingConf(partitions=PARTITIONS))))


def params(module: str, conf: dict):
    p = get_spec(module).default_params().update(conf)
    p.check()
    return p


def run_two_parties(component_class, module: str, conf: dict, tables: dict) -> dict:
    """Run guest and host in threads over one board; {role: (output, ctx)}."""
    board, task_id = MemoryBoard(), f"task_{uuid.uuid4().hex[:8]}"
    runs = {}
    for role, party in (("guest", GUEST), ("host", HOST)):
        federation = RecordingFederation(task_id, role, party, ROLES, {"board": board, "timeout": TIMEOUT})
        runs[role] = {"component": component_class(params(module, conf)), "ctx": make_ctx(role, federation),
                      "inputs": {"data": {"data": tables[role]}}}
    errors = run_in_threads(runs, TIMEOUT)
    if errors:
        raise next((e for e in errors if not isinstance(e, FederationTimeout)), errors[0])
    assert board.pending() == [], "a message was sent but never received"
    return {role: (run["output"], run["ctx"]) for role, run in runs.items()}


# ---- Union -----------------------------------------------------------------------------------

def union_inputs(breast):
    """Two overlapping guest tables; the second's rows are changed so that it shows which row won."""
    guest = breast[0]
    first = guest.take(np.arange(0, 400))
    second = guest.take(np.arange(300, len(guest)))
    second = second.with_features(second.features + 1000.0)
    return [store(first, f"u1_{uuid.uuid4().hex[:6]}", PARTITIONS), store(second, f"u2_{uuid.uuid4().hex[:6]}", 2)]


@pytest.mark.parametrize("keep_duplicate", [False, True])
def test_union_matches_a_central_union(breast, keep_duplicate):
    tables = union_inputs(breast)
    ctx = make_ctx("guest")
    inputs = {"data": {"data": tables}, "data_sources": {"data": ["dataio_0", "dataio_1"]}}
    output = Union(params("Union", {"keep_duplicate": keep_duplicate})).run(ctx, inputs).data
    expected = dict(_stored_rows(tables[0]))
    for row_id, value in _stored_rows(tables[1]).items():
        if row_id not in expected:
            expected[row_id] = value
        elif keep_duplicate:
            expected[f"{row_id}_dataio_1"] = value
    assert rows_by_id(output) == expected
    assert output.schema["header"] == tables[0].meta.schema["header"]
    (namespace, name, points), = ctx.tracker.metrics
    assert (namespace, name) == ("train", "union")
    assert points == [("dataio_0", 400), ("dataio_1", 269), ("Total", len(expected))]


def test_union_refuses_other_headers_and_incomplete_rows(breast):
    guest, host = breast
    tables = [store(guest, "uh1", PARTITIONS), store(host, "uh2", PARTITIONS)]
    with pytest.raises(ValueError, match="input dataio_1 has label_name None"):
        Union(params("Union", {})).run(make_ctx("guest"), {"data": {"data": tables},
                                                          "data_sources": {"data": ["dataio_0", "dataio_1"]}})
    short = _stored_with_short_row(guest)
    with pytest.raises(ValueError, match="allow_missing"):
        Union(params("Union", {})).run(make_ctx("guest"), {"data": {"data": [short]}})
    output = Union(params("Union", {"allow_missing": True})).run(make_ctx("guest"), {"data": {"data": [short]}})
    assert len(rows_by_id(output.data)) == len(guest)


def _stored_rows(stored) -> dict:
    ids, values = [], []
    for batch in stored.iter_batches():
        ids += batch.column(0).to_pylist()
        values += batch.column(1).to_pylist()
    return dict(zip(ids, values))


def _stored_with_short_row(instances):
    from fate_flow.storage import TableMeta

    data = instances.to_table_data()
    values = data.values.to_pylist()
    values[3] = values[3].rsplit(",", 1)[0]
    storage = open_storage("memory")
    writer = storage.writer("ns", "short")
    import pyarrow as pa

    writer.write_batch(data.ids, pa.array(values))
    storage.commit(writer, TableMeta(namespace="ns", name="short", partitions=PARTITIONS, schema=data.schema), "replace")
    return storage.open("ns", "short")


# ---- FederatedSample -------------------------------------------------------------------------

def sample_tables(breast):
    guest, host = breast
    return {"guest": store(guest, f"sg_{uuid.uuid4().hex[:6]}", PARTITIONS),
            "host": store(host, f"sh_{uuid.uuid4().hex[:6]}", PARTITIONS)}


def test_random_downsample_hetero(breast):
    tables = sample_tables(breast)
    out = run_two_parties(FederatedSample, "FederatedSample", {"fractions": 0.3, "random_state": 7}, tables)
    guest_rows, host_rows = rows_by_id(out["guest"][0].data), rows_by_id(out["host"][0].data)
    assert len(guest_rows) == int(0.3 * 569)
    assert set(guest_rows) == set(host_rows)  # the hosts follow the guest's draw
    assert all(guest_rows[i] == v for i, v in _stored_rows(tables["guest"]).items() if i in guest_rows)
    assert all(host_rows[i] == v for i, v in _stored_rows(tables["host"]).items() if i in host_rows)
    for role in ("guest", "host"):
        assert out[role][1].tracker.metrics == [("sample_count", "random", [("count", len(guest_rows))])]


def test_stratified_downsample_keeps_the_fractions(breast):
    tables = sample_tables(breast)
    fractions = [[0, 0.5], [1, 0.2]]
    out = run_two_parties(FederatedSample, "FederatedSample", {"mode": "stratified", "fractions": fractions}, tables)
    labels = dict(zip(breast[0].ids.to_pylist(), breast[0].labels))
    sampled = rows_by_id(out["guest"][0].data)
    for label, rate in fractions:
        total = int(np.sum(breast[0].labels == label))
        assert sum(labels[i] == label for i in sampled) == max(1, int(rate * total))
    assert set(rows_by_id(out["host"][0].data)) == set(sampled)
    metrics = {namespace: dict(points) for namespace, _, points in out["guest"][1].tracker.metrics}
    assert metrics["original_count"] == {0: int(np.sum(breast[0].labels == 0)), 1: int(np.sum(breast[0].labels == 1))}
    assert out["host"][1].tracker.metrics == []  # only the party that drew logs the stratified counts


def test_stratified_upsample_rekeys_the_same_rows_on_both_parties(breast):
    tables = sample_tables(breast)
    fractions = [[0, 1.5], [1, 2.0]]
    conf = {"mode": "stratified", "method": "upsample", "fractions": fractions, "random_state": 3}
    out = run_two_parties(FederatedSample, "FederatedSample", conf, tables)
    guest_rows, host_rows = rows_by_id(out["guest"][0].data), rows_by_id(out["host"][0].data)
    counts = {label: max(1, int(rate * np.sum(breast[0].labels == label))) for label, rate in fractions}
    assert sorted(guest_rows, key=int) == [str(i) for i in range(sum(counts.values()))]
    assert set(host_rows) == set(guest_rows)
    guest_by_value = {v: i for i, v in _stored_rows(tables["guest"]).items()}
    host_source = _stored_rows(tables["host"])
    origins = [guest_by_value[guest_rows[key]] for key in guest_rows]
    assert all(host_rows[key] == host_source[origin] for key, origin in zip(guest_rows, origins))
    drawn_labels = [int(guest_rows[key].split(",")[0]) for key in guest_rows]
    assert {label: drawn_labels.count(label) for label in counts} == counts


def test_sample_checks():
    with pytest.raises(ValueError, match="fractions"):
        params("FederatedSample", {"mode": "stratified", "fractions": 0.5})
    with pytest.raises(ValueError, match="mode"):
        params("FederatedSample", {"mode": "systematic"})


# ---- Rsa -------------------------------------------------------------------------------------

def test_rsa_saves_the_signed_id_table(breast):
    from fate_flow.components.intersection.rsa import generate_rsa_key

    key = generate_rsa_key(512)
    conf = {"rsa_key_n": int(key.n), "rsa_key_e": int(key.e), "rsa_key_d": int(key.d),
            "save_out_table_namespace": "rsa_ns", "save_out_table_name": f"signed_{uuid.uuid4().hex[:6]}"}
    storage = open_storage("memory")
    ctx = make_ctx("host", storage=storage)
    output = RsaModel(params("Rsa", conf)).run(ctx, {"data": {"data": store(breast[1], "rsa_in", PARTITIONS)}})
    assert output.data is None and output.model is None
    saved = _stored_rows(storage.open("rsa_ns", conf["save_out_table_name"]))

    def sha(text):
        return hashlib.sha256(text.encode()).hexdigest()

    ids = breast[1].ids.to_pylist()
    assert saved == {sha(str(pow(int(sha(i), 16), int(key.d), int(key.n)))): i for i in ids}


def test_rsa_param_needs_every_field():
    with pytest.raises(ValueError, match="rsa_key_n"):
        params("Rsa", {})
