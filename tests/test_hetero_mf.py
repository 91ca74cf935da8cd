"""HeteroMF with guest, host and arbiter over the memory federation on synthetic ratings of a low-rank
matrix (guest and host rate their own items for partly shared users): the embeddings equal the same
epochs and user-embedding averages computed centrally in numpy, the loss falls, predictions are u . v."""
from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pytest

from fate_flow.components import ComponentContext, get_spec
from fate_flow.components.hetero_mf.mf import HeteroMFClient, mf_gradient
from fate_flow.components.linear_model.optim import Optimizer
from fate_flow.computing import ComputingConf, Instances, create_session
from tests.component_harness import FakeTracker, quiet_logger, rows_by_id, store, tracked
from tests.rec_harness import (  # noqa: F401 (an autouse fixture)
    _close_computing_sessions, HOST, ROLES, logged_losses, run_parties,
)

TIMEOUT = 60.0
CONF = {"max_iter": 5, "aggregate_every_n_epoch": 2, "batch_size": -1,
        "optimizer": {"optimizer": "Adam", "learning_rate": 0.05}, "early_stop": {"early_stop": "diff", "eps": 1e-12},
        "init_param": {"embed_dim": 3, "init_method": "random_normal", "random_seed": 4}}


def ratings(seed: int, users: range, items: int, rows: int, offset: int) -> Instances:
    rng = np.random.default_rng(seed)
    true_u, true_v = np.random.default_rng(0).normal(size=(40, 2)), rng.normal(size=(items, 2))
    pairs = {(int(u), int(i)) for u, i in zip(rng.choice(list(users), rows), rng.integers(0, items, rows))}
    uid, iid = np.array(sorted(pairs)).T
    rating = np.sum(true_u[uid] * true_v[iid], axis=1) + rng.normal(0, 0.1, len(uid))
    ids = pa.array([str(offset + k) for k in range(len(uid))])
    return Instances(ids=ids, features=np.column_stack([uid, iid + 100 * offset // 1000, rating]),
                     header=["uid", "iid", "rate"])


@pytest.fixture(scope="module")
def trained():
    data = {"guest": ratings(1, range(0, 30), 20, 300, 0), "host": ratings(2, range(10, 40), 15, 250, 1000)}
    return data, run_parties("HeteroMF", CONF, data, TIMEOUT)


def central(data: dict) -> tuple[dict, list]:
    users = np.union1d(data["guest"].features[:, 0], data["host"].features[:, 0])
    parties = {}
    for role, rows in data.items():
        rng = np.random.RandomState(4)
        items = np.unique(rows.features[:, 1])
        u, v = rng.normal(0, 0.05, (len(users), 3)), rng.normal(0, 0.05, (len(items), 3))
        parties[role] = {"u": u, "v": v, "users": np.searchsorted(users, rows.features[:, 0]),
                         "items": np.searchsorted(items, rows.features[:, 1]), "r": rows.features[:, 2],
                         "opt": Optimizer("adam", 0.05, 0.0, False)}
    losses = []
    for epoch in range(CONF["max_iter"]):
        for party in parties.values():
            party["opt"].set_iters(epoch)
            gu, gv, _ = mf_gradient(party["users"], party["items"], party["r"], party["u"], party["v"])
            delta = party["opt"].apply(np.concatenate([gu.ravel(), gv.ravel()]))
            party["u"] = party["u"] - delta[:gu.size].reshape(gu.shape)
            party["v"] = party["v"] - delta[gu.size:].reshape(gv.shape)
        if (epoch + 1) % 2 == 0 or epoch + 1 == CONF["max_iter"]:
            mean = (parties["guest"]["u"] + parties["host"]["u"]) / 2  # one batch per epoch each: equal weights
            for party in parties.values():
                party["u"] = mean.copy()
            errors = [np.sum(p["u"][p["users"]] * p["v"][p["items"]], 1) - p["r"] for p in parties.values()]
            losses.append(float(np.mean(np.concatenate(errors) ** 2)))
    return parties, losses


def embeddings(model: dict) -> tuple[np.ndarray, np.ndarray]:
    import base64
    import io

    saved = np.load(io.BytesIO(base64.b64decode(model["MatrixModelParam"]["saved_model_bytes"])), allow_pickle=False)
    return saved["user_embedding"], saved["item_embedding"]


def test_embeddings_equal_the_central_computation(trained):
    data, runs = trained
    parties, losses = central(data)
    for role in ("guest", "host"):
        u, v = embeddings(runs[role]["output"].model)
        np.testing.assert_allclose(u, parties[role]["u"], atol=1e-6)
        np.testing.assert_allclose(v, parties[role]["v"], atol=1e-6)
    logged = logged_losses(runs["arbiter"])
    np.testing.assert_allclose(logged, losses, atol=1e-6)
    assert logged[-1] < logged[0]


def test_model_layout_and_predictions(trained):
    data, runs = trained
    model = runs["guest"]["output"].model
    assert model["MatrixModelMeta"]["params"]["optimizer"] == {"optimizer": "Adam", "args": {"learning_rate": 0.05}}
    param = model["MatrixModelParam"]
    assert len(param["user_ids"]) == 40 and param["header"] == ["uid", "iid", "rate"]
    u, v = embeddings(model)
    rows = rows_by_id(runs["guest"]["output"].data)
    guest = data["guest"]
    items = np.unique(guest.features[:, 1])
    for k in (0, 7, 42):
        uid, iid, rate = guest.features[k]
        score = u[int(uid)] @ v[int(np.searchsorted(items, iid))]
        label, result, got, detail, kind = rows[guest.ids[k].as_py()].split(",")
        assert float(got) == pytest.approx(score, abs=1e-12) and result == str(int(score > 0.5))
        assert kind == "train" and detail == f'{{"label":{result}}}'


def test_fate_default_init_method_is_refused():
    with pytest.raises(ValueError, match="init_param.init_method 'uniform'"):
        get_spec("HeteroMF").default_params().check()


def test_predict_job_with_the_saved_model(trained):
    data, runs = trained
    params = get_spec("HeteroMF").default_params().update(CONF)
    ctx = tracked(ComponentContext(
        job_id="job", task_id="predict", component_name="hetero_mf_0", role="host", party_id=HOST, roles=ROLES,
        federation=None, tracker=FakeTracker(), logger=quiet_logger("host"),
        computing_opener=lambda: create_session(ComputingConf(partitions=2))))
    output = HeteroMFClient(params).run(ctx, {
        "data": {"eval_data": store(data["host"], f"mf_eval_{uuid.uuid4().hex[:6]}", 2)},
        "model": {"hetero_mf_0": runs["host"]["output"].model}})
    again, trained_rows = rows_by_id(output.data), rows_by_id(runs["host"]["output"].data)
    assert {i: v.rsplit(",", 1)[0] for i, v in again.items()} == {i: v.rsplit(",", 1)[0] for i, v in trained_rows.items()}
