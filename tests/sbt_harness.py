"""Running HeteroSecureBoost's guest and hosts in threads on memory tables (shared by the SBT unit tests)."""
from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa

from fate_flow.components import ComponentContext
from fate_flow.components.hetero_secureboost.guest import HeteroSecureBoostGuest
from fate_flow.components.hetero_secureboost.host import HeteroSecureBoostHost
from fate_flow.components.hetero_secureboost.param import BoostingTreeParam
from fate_flow.components.hetero_secureboost.spec import DEFAULT_CONF
from fate_flow.computing import Instances, create_session
from fate_flow.federation.memory import MemoryBoard
from tests.component_harness import (
    DATA, FakeTracker, RecordingFederation, quiet_logger, read_csv, run_in_threads, store, tracked,
)

GUEST, HOST, HOST2 = 9999, 10000, 10001
KEY_BITS = 256


def read_hetero(name: str) -> tuple[Instances, Instances]:
    """(guest with label, host) of examples/data/<name>_hetero_{guest,host}.csv."""
    return read_csv(DATA / f"{name}_hetero_guest.csv", True), read_csv(DATA / f"{name}_hetero_host.csv", False)


def split_columns(data: Instances, columns: list[int]) -> Instances:
    return data.select_features(columns)


def run_sbt(conf: dict, inputs: dict, hosts=(HOST,), timeout: float = 120.0, computing=None) -> dict:
    """Run the guest and hosts in threads; ``inputs`` maps "guest", "host" or ("host", i) to inputs."""
    roles = {"guest": [GUEST], "host": list(hosts)}
    board = MemoryBoard()
    task_id = f"task_{uuid.uuid4().hex[:8]}"
    merged = {"encrypt_param": {"key_length": KEY_BITS}, **conf}
    parties = [("guest", GUEST, HeteroSecureBoostGuest, inputs.get("guest", {}))]
    parties += [("host", party, HeteroSecureBoostHost, inputs.get(("host", i), inputs.get("host", {})))
                for i, party in enumerate(hosts)]
    runs = {}
    for role, party, cls, party_inputs in parties:
        federation = RecordingFederation(task_id, role, party, roles, {"board": board, "timeout": timeout})
        ctx = ComponentContext(job_id="job", task_id=task_id, component_name="secureboost_0", role=role,
                               party_id=party, roles=roles, federation=federation, tracker=FakeTracker(),
                               logger=quiet_logger(role),
                               computing_opener=None if computing is None else lambda: create_session(computing))
        tracked(ctx)
        params = BoostingTreeParam().update(DEFAULT_CONF).update(merged)
        runs[(role, party)] = {"component": cls(params), "ctx": ctx, "inputs": party_inputs, "federation": federation}
    errors = run_in_threads(runs, timeout)
    if errors:
        raise errors[0]
    assert board.pending() == [], "a message was sent but never received"
    return runs


def train_inputs(guest: Instances, hosts: list[Instances], eval_data: bool = False, partitions: int = 1) -> dict:
    inputs = {"guest": {"data": {"train_data": store(guest, "g", partitions)}}}
    for i, host in enumerate(hosts):
        inputs[("host", i)] = {"data": {"train_data": store(host, f"h{i}", partitions)}}
    if eval_data:
        inputs["guest"]["data"]["eval_data"] = store(guest, "ge", partitions)
        for i, host in enumerate(hosts):
            inputs[("host", i)]["data"]["eval_data"] = store(host, f"he{i}", partitions)
    return inputs


def guest_rows(output) -> dict[str, list[str]]:
    """{id: [label, predict_result, predict_score, predict_detail, type]} of the guest's output."""
    block = output.data.collect()
    return {i: v.split(",") for i, v in zip(block.column("id").to_pylist(), block.column("value").to_pylist())}


def scores_in_order(rows: dict, ids: pa.Array | list) -> np.ndarray:
    return np.array([float(rows[str(i)][2]) for i in (ids.to_pylist() if hasattr(ids, "to_pylist") else ids)])
