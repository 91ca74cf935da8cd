"""What the component unit tests share: the breast CSVs as Instances, memory-engine tables, a tracker
and a federation that keep what they are given, and parties run as threads."""
from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa

from fate_flow.computing import Instances
from fate_flow.federation.memory import MemoryFederation
from fate_flow.storage import TableMeta, open_storage

DATA = Path(__file__).resolve().parents[1] / "examples" / "data"
# a party thread may outlive its own federation timeout by this much before it counts as hung
JOIN_GRACE = 30.0


def read_csv(path: Path, has_label: bool = True) -> Instances:
    """A CSV of examples/data (id[, label], features...) as the Instances DataIO would make of it."""
    with open(path) as f:
        header = f.readline().strip().split(",")
    matrix = np.loadtxt(path, delimiter=",", skiprows=1, dtype=str)
    ids = pa.array(matrix[:, 0].tolist(), type=pa.string())
    numbers = matrix[:, 1:].astype(np.float64)
    if has_label:
        return Instances(ids=ids, features=numbers[:, 1:], labels=numbers[:, 0], header=header[2:],
                         sid_name=header[0], label_name=header[1])
    return Instances(ids=ids, features=numbers, header=header[1:], sid_name=header[0])


def read_breast_hetero() -> tuple[Instances, Instances]:
    """(guest: y + x0..x9, host: x0..x19) of the breast hetero example data."""
    return read_csv(DATA / "breast_hetero_guest.csv", True), read_csv(DATA / "breast_hetero_host.csv", False)


def store(instances: Instances, name: str = "t", partitions: int = 1):
    """The instances as a stored memory-engine table, the way DataIO/Intersection leave them."""
    storage = open_storage("memory")
    data = instances.to_table_data()
    writer = storage.writer("ns", name)
    writer.write_batch(data.ids, data.values)
    meta = TableMeta(namespace="ns", name=name, partitions=partitions, schema=data.schema)
    storage.commit(writer, meta, "create")
    return storage.open("ns", name)


def read_back(table_data) -> Instances:
    """An output TableData or computing Table read back as the downstream component would read it."""
    storage = open_storage("memory")
    if hasattr(table_data, "save"):  # a Table: saved partition by partition, as the task executor does
        table_data.save(storage, "ns", "out")
        return Instances.from_table(storage.open("ns", "out"))
    writer = storage.writer("ns", "out")
    writer.write_batch(table_data.ids, table_data.values)
    storage.commit(writer, TableMeta(namespace="ns", name="out", schema=table_data.schema), "create")
    return Instances.from_table(storage.open("ns", "out"))


def rows_by_id(data) -> dict[str, str]:
    """{id: stored value} of output data (a Table or TableData): rows compared whatever their order."""
    storage = open_storage("memory")
    if hasattr(data, "save"):
        data.save(storage, "ns", "rows")
    else:
        writer = storage.writer("ns", "rows")
        writer.write_batch(data.ids, data.values)
        storage.commit(writer, TableMeta(namespace="ns", name="rows", schema=data.schema), "create")
    with storage.open("ns", "rows") as table:
        ids, values = [], []
        for batch in table.iter_batches():
            ids += batch.column(0).to_pylist()
            values += batch.column(1).to_pylist()
    return dict(zip(ids, values))


class FakeTracker:
    """Keeps every metric, metric meta and progress a component reports."""

    def __init__(self):
        self.metrics, self.metas, self.progress = [], [], []

    def log_metric_data(self, namespace, name, data):
        self.metrics.append((namespace, name, list(data)))

    def set_metric_meta(self, namespace, name, meta):
        self.metas.append((namespace, name, meta))

    def set_progress(self, percent):
        self.progress.append(percent)


class RecordingFederation(MemoryFederation):
    """Notes every object sent and received as (name, tag, role, party, obj), to check what crosses."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent, self.received = [], []

    def remote(self, obj, name, tag, dest_role, dest_party):
        self.sent.append((name, tag, dest_role, dest_party, obj))
        super().remote(obj, name, tag, dest_role, dest_party)

    def get(self, name, tag, src_role, src_party, timeout=None):
        obj = super().get(name, tag, src_role, src_party, timeout)
        self.received.append((name, tag, src_role, src_party, obj))
        return obj


# contexts whose computing sessions (pool workers, spill files) end with the test; see close_contexts
OPEN_CONTEXTS: list = []


def tracked(ctx):
    """``ctx``, noted so that ``close_contexts`` ends its computing session after the test."""
    OPEN_CONTEXTS.append(ctx)
    return ctx


def close_contexts() -> None:
    """End the computing sessions of every tracked context (a test's outputs read their spill files until then)."""
    while OPEN_CONTEXTS:
        OPEN_CONTEXTS.pop().close_computing()


def quiet_logger(role: str) -> logging.Logger:
    """A logger of its own for one party that keeps the test output clean."""
    logger = logging.getLogger(f"test.{role}.{uuid.uuid4().hex}")
    logger.propagate = False
    return logger


def run_in_threads(runs: dict, timeout: float) -> list[BaseException]:
    """Run each entry's ``component.run(ctx, inputs)`` in a thread of its own and wait for them all.

    Args:
        runs: {key: {"component", "ctx", "inputs", ...}}; each entry gets "output" or "error".
        timeout: the parties' federation timeout; a thread still running JOIN_GRACE seconds after
            it gets a TimeoutError as its error.

    Returns:
        The errors in the order of ``runs``; what to do with them is the caller's policy.
    """
    def work(entry):
        try:
            entry["output"] = entry["component"].run(entry["ctx"], entry["inputs"])
        except BaseException as exc:  # handed to the test thread
            entry["error"] = exc

    threads = {key: threading.Thread(target=work, args=(entry,), daemon=True) for key, entry in runs.items()}
    for thread in threads.values():
        thread.start()
    for key, thread in threads.items():
        thread.join(timeout + JOIN_GRACE)
        if thread.is_alive():
            runs[key]["error"] = TimeoutError(f"{key} still running {timeout + JOIN_GRACE:.0f}s after the start")
    return [entry["error"] for entry in runs.values() if "error" in entry]


def upload_breast_hetero(server, namespace: str) -> None:
    """Upload breast_hetero_guest/host.csv through ``server`` as tables of the same names in ``namespace``."""
    for side in ("guest", "host"):
        answer = server.post("/v1/data/upload", {
            "file": str(DATA / f"breast_hetero_{side}.csv"), "head": 1, "partition": 4, "work_mode": 0,
            "namespace": namespace, "table_name": f"breast_hetero_{side}", "use_local_data": 0})
        assert answer["retcode"] == 0, answer
        assert server.wait_job(answer["jobId"], timeout=120)["f_status"] == "success"
