"""HeteroFM with guest, host and arbiter over the memory federation (512-bit Paillier keys): the
federated training gives the weights, embeddings and losses of the same updates computed centrally
in plain numpy on the joined breast data, the model has FATE's layout, and its predictions are the
FM's sigmoid."""
from __future__ import annotations


import numpy as np
import pytest

from fate_flow.components.linear_model.optim import Optimizer
from tests.component_harness import (
    read_breast_hetero, rows_by_id,
)
from tests.rec_harness import (  # noqa: F401 (an autouse fixture)
    _close_computing_sessions, logged_losses, run_parties,
)
from tests.test_data_modules import PARTITIONS

TIMEOUT = 120.0
CONF = {"max_iter": 3, "batch_size": 300, "learning_rate": 0.1, "optimizer": "adam", "alpha": 0.01,
        "init_param": {"embed_size": 3, "random_seed": 5}, "tol": 1e-9}


@pytest.fixture(scope="module")
def trained():
    guest, host = read_breast_hetero()

    def short_key(role, component):
        component.key_length = 512

    runs = run_parties("HeteroFM", CONF, {"guest": guest, "host": host}, TIMEOUT, PARTITIONS, prepare=short_key)
    return guest, host, runs


def central_fm(guest, host, conf):
    """The same updates on the joined data in plain numpy: FATE's FM gradients, clipped fore gradient, adam."""
    from fate_flow.components.linear_model.optim import initial_weights
    from fate_flow.components.linear_model.param import InitParam

    parts = PARTITIONS  # the component's row order: sorted by id within hash partitions
    from fate_flow.storage.partitioner import partition_of

    partition = partition_of(guest.ids, parts)
    order = np.concatenate([sorted(np.flatnonzero(partition == p), key=lambda i: guest.ids[i].as_py())
                            for p in range(parts)])
    xg, y = guest.features[order], np.where(guest.labels[order] == 1, 1.0, -1.0)
    xh = host.align_to(guest.ids.take(order)).features
    k, seed, alpha = conf["init_param"]["embed_size"], conf["init_param"]["random_seed"], conf["alpha"]
    init = InitParam(init_method="random_normal", random_seed=seed)
    model = {}
    for side, x in (("guest", xg), ("host", xh)):
        model[side] = {"w": initial_weights(x.shape[1], init, False),
                       "v": np.random.RandomState(seed).normal(0, 1 / np.sqrt(k), (x.shape[1], k)), "b": 0.0}
    optimizers = {side: Optimizer("adam", conf["learning_rate"], 1, True) for side in model}
    losses = []
    for n_iter in range(conf["max_iter"]):
        for optimizer in optimizers.values():
            optimizer.set_iters(n_iter)
        batch_losses = []
        for start in range(0, len(y), conf["batch_size"]):
            part = slice(start, start + conf["batch_size"])
            out = {}
            for side, x in (("guest", xg[part]), ("host", xh[part])):
                m = model[side]
                vx = x @ m["v"]
                out[side] = (x @ m["w"] + 0.5 * np.sum(vx ** 2 - (x ** 2) @ (m["v"] ** 2), axis=1), vx)
            f = out["guest"][0] + model["guest"]["b"] + out["host"][0] + np.sum(out["guest"][1] * out["host"][1], 1)
            yb, n = y[part], len(y[part])
            reg = sum(0.5 * alpha * (np.sum(m["w"] ** 2) + np.sum(m["v"] ** 2)) for m in model.values())
            batch_losses.append(np.log(2) - 0.5 * np.mean(yb * f) + np.mean(f ** 2) / 8 + reg)
            d = np.clip(0.25 * f - 0.5 * yb, -1, 1)
            agg = (out["guest"][1] + out["host"][1]) * d[:, None]
            for side, x in (("guest", xg[part]), ("host", xh[part])):
                m = model[side]
                gw = x.T @ d / n + alpha * m["w"]
                gv = (x.T @ agg - m["v"] * ((x * x).T @ d)[:, None]) / n + alpha * m["v"]
                flat = np.concatenate([gw, gv.ravel()] + ([[np.sum(d) / n]] if side == "guest" else []))
                delta = optimizers[side].apply(flat)
                m["w"] = m["w"] - delta[:len(gw)]
                m["v"] = m["v"] - delta[len(gw):len(gw) + gv.size].reshape(gv.shape)
                if side == "guest":
                    m["b"] -= delta[-1]
        losses.append(float(np.mean(batch_losses)))
    return model, losses


def test_training_equals_the_central_computation(trained):
    guest, host, runs = trained
    model, losses = central_fm(guest, host, CONF)
    for side in ("guest", "host"):
        param = runs[side]["output"].model["HeteroFactorizationMachineParam"]
        header = param["header"]
        np.testing.assert_allclose([param["weight"][h] for h in header], model[side]["w"], atol=1e-6)
        np.testing.assert_allclose([param["embedding"][h]["weight"] for h in header], model[side]["v"], atol=1e-6)
    assert runs["guest"]["output"].model["HeteroFactorizationMachineParam"]["intercept"] == \
        pytest.approx(model["guest"]["b"], abs=1e-6)
    logged = logged_losses(runs["arbiter"])
    np.testing.assert_allclose(logged, losses, atol=1e-6)
    assert logged[-1] < logged[0]


def test_model_layout_and_predictions(trained):
    guest, host, runs = trained
    model = runs["guest"]["output"].model
    meta = model["HeteroFactorizationMachineMeta"]
    assert meta["optimizer"] == "adam" and meta["fit_intercept"] is True and meta["need_one_vs_rest"] is False
    param = model["HeteroFactorizationMachineParam"]
    assert param["embed_size"] == 3 and param["iters"] == 3 and param["header"] == guest.header
    assert runs["host"]["output"].data is None
    arbiter = runs["arbiter"]["output"].model["HeteroFactorizationMachineParam"]  # the history, no weights
    assert arbiter["weight"] == {} and arbiter["loss_history"] == logged_losses(runs["arbiter"])
    rows = rows_by_id(runs["guest"]["output"].data)
    host_param = runs["host"]["output"].model["HeteroFactorizationMachineParam"]
    aligned = host.align_to(guest.ids)
    for i in (0, 100, 400):
        xg, xh = guest.features[i], aligned.features[i]
        vg = np.array([param["embedding"][h]["weight"] for h in guest.header])
        vh = np.array([host_param["embedding"][h]["weight"] for h in host.header])
        wg = np.array([param["weight"][h] for h in guest.header])
        wh = np.array([host_param["weight"][h] for h in host.header])
        fm = lambda x, w, v: x @ w + 0.5 * np.sum((x @ v) ** 2 - (x ** 2) @ (v ** 2))  # noqa: E731
        score = fm(xg, wg, vg) + param["intercept"] + fm(xh, wh, vh) + (xg @ vg) @ (xh @ vh)
        label, result, prob, _, kind = rows[guest.ids[i].as_py()].split(",")
        assert float(prob) == pytest.approx(1 / (1 + np.exp(-score)), abs=1e-9) and kind == "train"


def test_predict_job_with_the_saved_models(trained):
    """A predict job: guest and host load their models and score eval_data; the arbiter has nothing to do."""
    guest, host, runs = trained
    models = {role: run["output"].model for role, run in runs.items()}
    predict = run_parties("HeteroFM", CONF, {"guest": guest, "host": host}, TIMEOUT, PARTITIONS, models=models)
    trained_rows = rows_by_id(runs["guest"]["output"].data)
    again = rows_by_id(predict["guest"]["output"].data)
    assert {i: v.rsplit(",", 1)[0] for i, v in again.items()} == {i: v.rsplit(",", 1)[0] for i, v in trained_rows.items()}
    assert all(v.endswith(",predict") for v in again.values())
