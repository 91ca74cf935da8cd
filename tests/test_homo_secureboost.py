"""HomoSecureboost: two clients and an arbiter in threads; the arbiter sees only masked sums."""
from __future__ import annotations

import uuid

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fate_flow.components import ComponentContext, get_spec
from fate_flow.components.hetero_secureboost.param import BoostingTreeParam
from fate_flow.components.hetero_secureboost.spec import DEFAULT_CONF
from fate_flow.components.homo_secureboost.arbiter import HomoSecureBoostArbiter
from fate_flow.components.homo_secureboost.client import HomoSecureBoostClient, raw_quantiles
from fate_flow.components.homo_secureboost.online import load_online
from fate_flow.federation.memory import MemoryBoard
from tests.component_harness import (
    DATA, FakeTracker, RecordingFederation, close_contexts, quiet_logger, read_csv, run_in_threads, store, tracked,
)
from tests.sbt_harness import guest_rows, scores_in_order

GUEST, HOST, ARBITER = 9999, 10000, 10002


@pytest.fixture(autouse=True)
def _end_computing_sessions():
    yield
    close_contexts()


def run_homo(conf: dict, inputs: dict, timeout: float = 120.0) -> dict:
    roles = {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]}
    board, task_id, runs = MemoryBoard(), f"task_{uuid.uuid4().hex[:8]}", {}
    for role, party, cls in (("guest", GUEST, HomoSecureBoostClient), ("host", HOST, HomoSecureBoostClient),
                             ("arbiter", ARBITER, HomoSecureBoostArbiter)):
        federation = RecordingFederation(task_id, role, party, roles, {"board": board, "timeout": timeout})
        ctx = tracked(ComponentContext(job_id="job", task_id=task_id, component_name="secureboost_0", role=role,
                                       party_id=party, roles=roles, federation=federation, tracker=FakeTracker(),
                                       logger=quiet_logger(role)))
        params = BoostingTreeParam().update(DEFAULT_CONF).update(conf)
        runs[role] = {"component": cls(params), "ctx": ctx, "inputs": inputs.get(role, {}), "federation": federation}
    errors = run_in_threads(runs, timeout)
    if errors:
        raise errors[0]
    assert board.pending() == [], "a message was sent but never received"
    return runs


@pytest.fixture(scope="module")
def breast():
    return read_csv(DATA / "breast_homo_guest.csv"), read_csv(DATA / "breast_homo_host.csv")


def test_raw_quantiles_keep_duplicates_and_skip_missing():
    x = np.array([[1.0, np.nan], [2.0, np.nan], [2.0, 5.0], [4.0, np.nan]])
    points = raw_quantiles(x, 4)
    assert points[:, 0].tolist() == [1.0, 2.0, 2.0, 4.0] and points[:, 1].tolist() == [5.0] * 4


def test_two_clients_train_on_masked_histograms(breast):
    guest, host = breast
    inputs = {"guest": {"data": {"train_data": store(guest, "g")}}, "host": {"data": {"train_data": store(host, "h")}},
              "arbiter": {"data": {"train_data": None}}}
    runs = run_homo({"num_trees": 3, "tree_param": {"max_depth": 3}, "validation_freqs": 1}, inputs)
    out = runs["guest"]["output"]
    assert roc_auc_score(guest.labels, scores_in_order(guest_rows(out), guest.ids)) > 0.98
    host_out = runs["host"]["output"]
    assert roc_auc_score(host.labels, scores_in_order(guest_rows(host_out), host.ids)) > 0.98
    guest_trees = out.model["HomoSecureBoostingTreeGuestParam"]["trees_"]
    assert guest_trees == host_out.model["HomoSecureBoostingTreeGuestParam"]["trees_"]  # one shared model
    assert runs["arbiter"]["output"].model is None and runs["arbiter"]["output"].data is None
    losses = [d[0][1] for _, name, d in runs["arbiter"]["ctx"].tracker.metrics if name == "loss"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    received = [obj for name, *_, obj in runs["arbiter"]["federation"].received if name.endswith(".histograms")]
    assert all(np.asarray(obj).dtype == np.uint64 for obj in received)  # masked fixed point only
    online = load_online(out.model, "guest", "secureboost_0")
    scores = online.score(online.share(guest), [])
    assert np.allclose(scores, scores_in_order(guest_rows(out), guest.ids), atol=1e-12)


def test_registered_with_an_arbiter():
    spec = get_spec("HomoSecureboost")
    assert spec.required_roles == {"arbiter"} and spec.roles == {"guest", "host", "arbiter"}
