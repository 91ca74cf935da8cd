"""HomoFM with two clients and an arbiter over the memory federation: the models after masked
aggregation equal the same local steps and row-weighted averages computed centrally in numpy (breast
homo data), the arbiter logs the row-weighted loss, predictions are the local FM's sigmoid."""
from __future__ import annotations


import numpy as np
import pytest

from fate_flow.components.hetero_fm.hetero_fm import initial_embedding
from fate_flow.components.homo_fm.homo_fm import logistic_fm_gradient, logistic_loss
from fate_flow.components.linear_model.optim import Optimizer, initial_weights
from fate_flow.components.linear_model.param import InitParam
from tests.component_harness import DATA, read_csv, rows_by_id
from tests.rec_harness import (  # noqa: F401 (an autouse fixture)
    _close_computing_sessions, logged_losses, run_parties,
)

TIMEOUT = 60.0
CONF = {"max_iter": 4, "aggregate_iters": 2, "batch_size": -1, "learning_rate": 0.05, "optimizer": "rmsprop",
        "alpha": 0.01, "encrypt_param": {"method": None}, "init_param": {"embed_size": 4, "random_seed": 2}}


@pytest.fixture(scope="module")
def trained():
    clients = {"guest": read_csv(DATA / "breast_homo_guest.csv"), "host": read_csv(DATA / "breast_homo_host.csv")}
    return clients, run_parties("HomoFM", CONF, clients, TIMEOUT)


def central(clients: dict, conf: dict = CONF) -> tuple[np.ndarray, list[float]]:
    """Each client's full-batch steps from the same start, averaged by rows every aggregate_iters iterations."""
    seed, k, alpha = conf["init_param"]["random_seed"], conf["init_param"]["embed_size"], conf["alpha"]
    data = {role: (c.features, np.where(c.labels == 1, 1.0, -1.0)) for role, c in clients.items()}
    m = clients["guest"].n_features
    start = np.concatenate([initial_weights(m, InitParam(init_method="random_normal", random_seed=seed), False),
                            initial_embedding(m, k, seed).reshape(-1), [0.0]])
    models = {role: start.copy() for role in data}
    optimizers = {role: Optimizer(conf["optimizer"], conf["learning_rate"], 1, True) for role in data}
    losses = []

    def unpack(flat):
        return flat[:m], flat[m:-1].reshape(m, k), flat[-1]

    for n_iter in range(conf["max_iter"]):
        for role, (x, y) in data.items():
            optimizers[role].set_iters(n_iter)
            w, v, b = unpack(models[role])
            gw, gv, gb = logistic_fm_gradient(x, y, w, v, b)
            flat = np.concatenate([gw + alpha * w, (gv + alpha * v).reshape(-1), [gb]])
            models[role] = models[role] - optimizers[role].apply(flat)
        if (n_iter + 1) % conf["aggregate_iters"] == 0:
            rows = {role: len(y) * conf["aggregate_iters"] for role, (_, y) in data.items()}
            average = sum(models[r] * rows[r] for r in models) / sum(rows.values())
            models = {role: average.copy() for role in models}
            w, v, b = unpack(average)
            per_client = {role: logistic_loss(x, y, w, v, b) + 0.5 * alpha * (np.sum(w ** 2) + np.sum(v ** 2))
                          for role, (x, y) in data.items()}
            losses.append(sum(per_client[r] * len(data[r][1]) for r in data) / sum(len(d[1]) for d in data.values()))
    return models["guest"], losses


def test_aggregated_model_equals_the_central_computation(trained):
    clients, runs = trained
    expected, losses = central(clients)
    m, k = clients["guest"].n_features, CONF["init_param"]["embed_size"]
    for role in ("guest", "host"):
        param = runs[role]["output"].model["HomoFactorizationMachineParam"]
        header = param["header"]
        got = np.concatenate([[param["weight"][h] for h in header],
                              np.reshape([param["embedding"][h]["weight"] for h in header], -1), [param["intercept"]]])
        np.testing.assert_allclose(got, expected, atol=1e-6)
        assert param["embed_size"] == k and len(header) == m and param["iters"] == 4
    np.testing.assert_allclose(logged_losses(runs["arbiter"]), losses, atol=1e-6)


def test_local_predictions(trained):
    clients, runs = trained
    param = runs["host"]["output"].model["HomoFactorizationMachineParam"]
    rows = rows_by_id(runs["host"]["output"].data)
    host = clients["host"]
    w = np.array([param["weight"][h] for h in host.header])
    v = np.array([param["embedding"][h]["weight"] for h in host.header])
    for i in (0, 50, 200):
        x = host.features[i]
        score = x @ w + 0.5 * np.sum((x @ v) ** 2 - (x ** 2) @ (v ** 2)) + param["intercept"]
        prob = float(rows[host.ids[i].as_py()].split(",")[2])
        assert prob == pytest.approx(1 / (1 + np.exp(-score)), abs=1e-9)
    arbiter = runs["arbiter"]["output"].model["HomoFactorizationMachineParam"]  # the history, no weights
    assert arbiter["weight"] == {} and arbiter["iters"] == len(arbiter["loss_history"]) == 2
    assert runs["guest"]["output"].model["HomoFactorizationMachineMeta"]["optimizer"] == "rmsprop"
