"""HeteroSVD, HeteroSVDpp and HeteroGMF on HeteroMF's synthetic ratings (whose protocol test_hetero_mf checks against a
central computation): the shared user side is the same on both parties, mu is FATE's global mean, the
loss falls, and predictions follow the model's formula from its saved weights."""
from __future__ import annotations

import base64
import io
import uuid

import numpy as np
import pytest

from fate_flow.components import ComponentContext, get_spec
from fate_flow.computing import ComputingConf, create_session
from fate_flow.federation.base import FederationTimeout
from fate_flow.federation.memory import MemoryBoard
from tests.component_harness import (
    FakeTracker, RecordingFederation, close_contexts, quiet_logger, rows_by_id, run_in_threads, store, tracked,
)
from tests.test_hetero_mf import ARBITER, GUEST, HOST, ROLES, TIMEOUT, ratings

CONF = {"max_iter": 6, "aggregate_every_n_epoch": 1, "batch_size": 100,
        "optimizer": {"optimizer": "Adam", "learning_rate": 0.05},
        "init_param": {"embed_dim": 3, "init_method": "random_normal", "random_seed": 4}}


@pytest.fixture(autouse=True, scope="module")
def _close_computing_sessions():
    yield
    close_contexts()


def train(module: str, implicit: bool = False) -> tuple[dict, dict]:
    data = {"guest": ratings(1, range(0, 30), 20, 300, 0), "host": ratings(2, range(10, 40), 15, 250, 1000)}
    if implicit:  # GMF's data: every row a positive interaction
        data = {role: rows.with_features(np.column_stack([rows.features[:, :2], np.ones(len(rows))]))
                for role, rows in data.items()}
    spec = get_spec(module)
    board, task_id = MemoryBoard(), f"task_{uuid.uuid4().hex[:8]}"
    runs = {}
    for role, party in (("guest", GUEST), ("host", HOST), ("arbiter", ARBITER)):
        federation = RecordingFederation(task_id, role, party, ROLES, {"board": board, "timeout": TIMEOUT})
        params = spec.default_params().update(CONF)
        params.check()
        ctx = tracked(ComponentContext(
            job_id="job", task_id=task_id, component_name="svd_0", role=role, party_id=party, roles=ROLES,
            federation=federation, tracker=FakeTracker(), logger=quiet_logger(role),
            computing_opener=lambda: create_session(ComputingConf(partitions=2))))
        table = store(data[role], f"svd_{role}_{uuid.uuid4().hex[:6]}", 2) if role in data else None
        runs[role] = {"component": spec.program(role)(params), "ctx": ctx, "inputs": {"data": {"train_data": table}}}
    errors = run_in_threads(runs, TIMEOUT)
    if errors:
        raise next((e for e in errors if not isinstance(e, FederationTimeout)), errors[0])
    assert board.pending() == []
    return data, runs


def saved(model: dict) -> dict:
    with np.load(io.BytesIO(base64.b64decode(model["MatrixModelParam"]["saved_model_bytes"])),
                 allow_pickle=False) as weights:
        return {name: weights[name] for name in weights.files}


@pytest.mark.parametrize("module", ["HeteroSVD", "HeteroSVDpp"])
def test_svd_variants_train_with_a_shared_user_side(module):
    data, runs = train(module)
    weights = {role: saved(runs[role]["output"].model) for role in ("guest", "host")}
    for name in ("user_embedding", "user_bias"):
        np.testing.assert_allclose(weights["guest"][name], weights["host"][name], atol=1e-6)
    counts = {role: len(rows) for role, rows in data.items()}
    means = {role: float(np.mean(rows.features[:, 2])) for role, rows in data.items()}
    mu = (means["guest"] + means["host"]) / (counts["guest"] + counts["host"])  # FATE's quirk
    assert float(weights["guest"]["global_mean"]) == pytest.approx(mu, abs=1e-12)
    logged = [value for _, _, points in runs["arbiter"]["ctx"].tracker.metrics for _, value in points]
    assert len(logged) == 6 and logged[-1] < logged[0]

    guest, w = data["guest"], weights["guest"]
    users = np.union1d(data["guest"].features[:, 0], data["host"].features[:, 0])
    items = np.unique(guest.features[:, 1])
    rows = rows_by_id(runs["guest"]["output"].data)
    for k in (0, 9, 77):
        uid, iid, _ = guest.features[k]
        u, i = int(np.searchsorted(users, uid)), int(np.searchsorted(items, iid))
        vector = w["user_embedding"][u]
        if module == "HeteroSVDpp":
            rated = w["rating_matrix"][u]
            vector = vector + rated @ w["implicit_embedding"] / np.sqrt(rated.sum())
        score = mu + w["user_bias"][u] + w["item_bias"][i] + vector @ w["item_embedding"][i]
        assert float(rows[guest.ids[k].as_py()].split(",")[2]) == pytest.approx(score, abs=1e-9)
    if module == "HeteroSVDpp":
        matrix = runs["guest"]["output"].model["MatrixModelParam"]["rating_matrix"]
        assert (matrix["height"], matrix["width"]) == (len(users), len(items))
        assert sum(matrix["values"]) == len(guest)


def test_gmf_trains_with_negative_samples():
    data, runs = train("HeteroGMF", implicit=True)
    models = {role: runs[role]["output"].model for role in ("guest", "host")}
    assert set(models["guest"]) == {"GMFModelMeta", "GMFModelParam"}
    assert models["guest"]["GMFModelMeta"]["params"]["neg_count"] == 4
    param = models["guest"]["GMFModelParam"]
    assert param["user_num"] == 40 and param["item_num"] == 20
    weights = {role: saved({"MatrixModelParam": m["GMFModelParam"]}) for role, m in models.items()}
    np.testing.assert_allclose(weights["guest"]["user_embedding"], weights["host"]["user_embedding"], atol=1e-6)
    logged = [value for _, _, points in runs["arbiter"]["ctx"].tracker.metrics for _, value in points]
    assert logged[-1] < logged[0]
    guest, w = data["guest"], weights["guest"]
    items = np.unique(guest.features[:, 1])
    rows = rows_by_id(runs["guest"]["output"].data)
    for k in (0, 9, 77):
        uid, iid, _ = guest.features[k]
        score = w["user_embedding"][int(uid)] @ w["item_embedding"][int(np.searchsorted(items, iid))]
        assert float(rows[guest.ids[k].as_py()].split(",")[2]) == pytest.approx(score, abs=1e-9)
