"""HeteroLinR's and HeteroPoisson's training options over the in-memory harness: cross validation, stepwise
selection, validation with early stopping (``model_selection``), each checked against a central computation.

The central side replays the protocol in the clear on the joined data (``central_fit``: the same optimizer
steps, exact to 1e-6 as the fits are) and scores it with scikit-learn's metrics (logged rounded to 6
decimals, as FATE does); folds come from scikit-learn's KFold on the guest's table order. 512-bit keys, a few
iterations and 150 rows per fit.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error
from sklearn.model_selection import KFold

from fate_flow.computing import Instances
from tests.component_harness import DATA, read_csv
from tests.test_hetero_linr_poisson import (
    ARBITER, GUEST, HOST, LINR, POISSON, central_fit, close_contexts, columns, head, run_parties,
)

PARAMS = {"HeteroLinR": "HeteroLinearRegressionParam", "HeteroPoisson": "HeteroPoissonRegressionParam"}
ROWS = 150


@pytest.fixture(autouse=True)
def _end_computing_sessions():
    yield
    close_contexts()


def with_noise(data: Instances, seed: int) -> Instances:
    """``data`` with one more column of uniform noise, ``noise``, last."""
    noise = np.random.RandomState(seed).uniform(-1, 1, (len(data), 1))
    return Instances(ids=data.ids, features=np.hstack([data.features, noise]), labels=data.labels,
                     header=list(data.header) + ["noise"], sid_name=data.sid_name, label_name=data.label_name)


def with_labels(data: Instances, labels: np.ndarray) -> Instances:
    return Instances(ids=data.ids, features=data.features, labels=labels, header=list(data.header),
                     sid_name=data.sid_name, label_name=data.label_name)


def motor_data():
    guest = head(read_csv(DATA / "motor_hetero_guest.csv", True), ROWS)
    host = head(read_csv(DATA / "motor_hetero_host.csv", False), ROWS)
    return columns(guest, ["pm", "stator_yoke"]), columns(host, ["u_q", "torque"])


def dvisits_data():
    guest = head(read_csv(DATA / "dvisits_hetero_guest.csv", True), ROWS)
    host = head(read_csv(DATA / "dvisits_hetero_host.csv", False), ROWS)
    return columns(guest, ["chcond1", "chcond2"]), columns(host, ["sex", "age", "income"])


# (module, data, link, the base conf): FATE's stepwise examples' settings for the optimizer
CASES = {
    "linr": (LINR, motor_data, "identity",
             {"penalty": "L2", "alpha": 0.01, "optimizer": "sgd", "learning_rate": 0.5, "decay": 0.0,
              "decay_sqrt": False, "max_iter": 3, "early_stop": "weight_diff", "tol": 1e-12, "batch_size": -1,
              "init_param": {"init_method": "zeros"}}),
    "poisson": (POISSON, dvisits_data, "exp",
                {"penalty": "L2", "alpha": 0.01, "optimizer": "sgd", "learning_rate": 0.3, "decay": 0.0,
                 "decay_sqrt": False, "max_iter": 3, "early_stop": "weight_diff", "tol": 1e-12, "batch_size": -1,
                 "init_param": {"init_method": "zeros"}}),
}


def joined(guest: Instances, host: Instances) -> np.ndarray:
    return np.hstack([guest.features, host.features])


def central_predict(weights: np.ndarray, x: np.ndarray, link: str, offset: np.ndarray | None = None) -> np.ndarray:
    eta = np.hstack([x, np.ones((len(x), 1))]) @ weights + (0.0 if offset is None else offset)
    return eta if link == "identity" else np.exp(eta)


def regression_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {"root_mean_squared_error": math.sqrt(mean_squared_error(y, predicted)),
            "mean_absolute_error": mean_absolute_error(y, predicted)}


def logged(run) -> dict:
    """{(namespace, name): {key: value}} of every point a party logged."""
    out: dict = {}
    for namespace, name, data in run["ctx"].tracker.metrics:
        out.setdefault((namespace, name), {}).update(dict(data))
    return out


# ---------------------------------------------------------------------------------- cross validation

@pytest.mark.parametrize("case", ["linr", "poisson"])
def test_cross_validation_folds_and_metrics_match_the_central_folds(case):
    """k folds as scikit-learn's KFold(n_splits, shuffle, seed) on the guest's table order (ids sorted), each
    fold's train/validate metrics (FATE's regression defaults rmse and mae, as ``metrics`` is empty) equal to
    the central fit of the fold's train rows, and the unfitted model as the output."""
    module, data, link, base = CASES[case]
    guest, host = data()
    conf = dict(base, cv_param={"need_cv": True, "n_splits": 3, "shuffle": True, "random_seed": 5})
    runs = run_parties(module, conf, guest, [host])
    out = runs[("guest", GUEST)]["output"]
    assert out.data is None and out.model[PARAMS[module[4]]] == {}
    ids = guest.ids.to_pylist()
    order = sorted(range(len(ids)), key=lambda i: ids[i])  # one partition: the rows sorted by id
    x, y = joined(guest, host), guest.labels
    guest_metrics, losses = logged(runs[("guest", GUEST)]), logged(runs[("arbiter", ARBITER)])
    splits = KFold(3, shuffle=True, random_state=5).split(np.zeros((len(ids), 1)))
    for k, (train_pos, test_pos) in enumerate(splits):
        train, test = np.array(order)[train_pos], np.array(order)[test_pos]
        weights, fold_losses = central_fit(conf, x[train], y[train], link)
        for namespace, name, rows in (("train", f"train_fold_{k}", train), ("validate", f"validate_fold_{k}", test)):
            expected = regression_metrics(y[rows], central_predict(weights, x[rows], link))
            got = guest_metrics[(namespace, name)]
            assert set(got) == set(expected)
            for metric, value in expected.items():
                assert got[metric] == pytest.approx(value, abs=1e-6), (k, namespace, metric)
        np.testing.assert_allclose(list(losses[("train", f"loss.{k}")].values()), fold_losses, rtol=1e-6)
    assert not [m for m in runs[("host", HOST)]["ctx"].tracker.metrics if "fold" in m[1]], "hosts do not evaluate"


# ---------------------------------------------------------------------------------- stepwise

def central_ic(module: tuple, conf: dict, x: np.ndarray, y: np.ndarray, link: str, offset, mask, k: float) -> float:
    """FATE's IC of the model on the masked columns: LinR k dfe + n ln(2 loss), Poisson k dfe + 2 n loss."""
    _, losses = central_fit(conf, x[:, mask], y, link, offset)
    dfe, n = int(mask.sum()) + 1, len(y)
    return k * dfe + (n * math.log(2 * losses[-1]) if link == "identity" else 2 * n * losses[-1])


def central_backward(module, conf, x, y, link, offset, n_host: int, k: float) -> tuple[list[tuple[str, float]], str]:
    """FATE's backward search (host columns first) in the clear: (the recorded (mask, IC) of each step, the
    final mask: the step that stops the search is not recorded, but its choice is the model)."""
    step_param = conf["stepwise_param"]
    mask = np.ones(x.shape[1], dtype=bool)
    recorded = [("".join("1" for _ in mask), central_ic(module, conf, x, y, link, offset, mask, k))]
    for step in range(1, step_param["max_step"] + 1):
        candidates = [mask]
        for i in np.flatnonzero(mask):
            side = mask[:n_host] if i < n_host else mask[n_host:]
            if side.sum() > 1:
                candidates.append(mask.copy())
                candidates[-1][i] = False
        scores = [central_ic(module, conf, x, y, link, offset, c, k) for c in candidates]
        best = candidates[int(np.argmin(scores))]
        stop = (best == mask).all() or (best.sum() == step_param["nvmin"] and mask.sum() >= step_param["nvmin"]) \
            or step >= step_param["max_step"]
        mask = best
        if stop:
            break
        recorded.append(("".join("1" if b else "0" for b in mask), min(scores)))
    return recorded, "".join("1" if b else "0" for b in mask)


@pytest.mark.parametrize("case,score_name", [("linr", "AIC"), ("poisson", "BIC")])
def test_stepwise_takes_the_central_backward_steps(case, score_name):
    """Backward stepwise with a noise column on each side: every recorded step's mask and IC (LinR's
    n ln(2 loss), Poisson's 2 n loss; AIC k = 2, BIC k = ln n) equal the central search's; the Poisson
    guest's exposure column stays out of the search and stays the offset."""
    module, data, link, base = CASES[case]
    guest, host = data()
    guest, host = with_noise(guest, 1), with_noise(host, 2)
    offset = None
    conf = dict(base, penalty="None", alpha=0.0, max_iter=4,
                stepwise_param={"need_stepwise": True, "direction": "backward", "max_step": 3,
                                "score_name": score_name, "nvmin": 2})
    train_guest = guest
    if case == "poisson":
        exposure = 1.0 + (np.arange(len(guest)) % 3)
        offset = np.log(exposure)
        train_guest = Instances(ids=guest.ids, features=np.hstack([guest.features, exposure[:, None]]),
                                labels=guest.labels, header=list(guest.header) + ["exposure"],
                                sid_name=guest.sid_name, label_name=guest.label_name)
        conf["exposure_colname"] = "exposure"
    runs = run_parties(module, conf, train_guest, [host], timeout=300)
    x, y = np.hstack([host.features, guest.features]), guest.labels
    k = 2.0 if score_name == "AIC" else math.log(len(y))
    expected, final = central_backward(module, conf, x, y, link, offset, host.features.shape[1], k)
    metas = sorted((meta for _, name, meta in runs[("arbiter", ARBITER)]["ctx"].tracker.metas
                    if name.startswith("stepwise_")), key=lambda meta: meta["name"])
    got = [("".join(map(str, meta["host_mask"] + meta["guest_mask"])), meta["current_ic_val"]) for meta in metas]
    assert [mask for mask, _ in got] == [mask for mask, _ in expected]
    np.testing.assert_allclose([ic for _, ic in got], [ic for _, ic in expected], rtol=1e-6)
    assert all(meta["metric_type"] == "STEPWISE" and meta["score_name"] == score_name.lower() for meta in metas)
    # the final model is the last chosen mask's, with the exposure column out of its header
    param = runs[("guest", GUEST)]["output"].model[PARAMS[module[4]]]
    n_host = host.features.shape[1]
    assert param["header"] == [h for h, b in zip(guest.header, final[n_host:]) if b == "1"]
    guest_meta = [meta for _, name, meta in runs[("guest", GUEST)]["ctx"].tracker.metas if name == "stepwise_0"][0]
    assert guest_meta["all_features"] == list(guest.header)
    assert "0" in final, "the search dropped something"


# ---------------------------------------------------------------------------------- validation

@pytest.mark.parametrize("case", ["linr", "poisson"])
def test_validation_early_stopping_follows_the_central_metrics(case):
    """validation_freqs 1, early_stopping_rounds 2, metrics [mae, rmse] with use_first_metric_only: the
    logged metrics of every epoch equal the central model's; the run stops when mae on the validate rows
    (labels the fit can only get further from) stopped improving for 2 epochs, and every party
    keeps its best model."""
    module, data, link, base = CASES[case]
    guest, host = data()
    # LinR: -y; Poisson: all ones, which the zeros start (mu = 1) fits best and the fit moves away from
    turned = with_labels(guest, -guest.labels if link == "identity" else np.ones(len(guest)))
    rounds, max_iter = 2, 8
    conf = dict(base, max_iter=max_iter, validation_freqs=1, early_stopping_rounds=rounds, metrics=["mae", "rmse"],
                use_first_metric_only=True)
    runs = run_parties(module, conf, guest, [host], eval_data=turned)
    x = joined(guest, host)
    guest_metrics = logged(runs[("guest", GUEST)])
    best_mae, best, waited, stop_at = None, -1, 0, None
    for epoch in range(max_iter):
        weights, _ = central_fit(dict(conf, max_iter=epoch + 1), x, guest.labels, link)
        predicted = central_predict(weights, x, link)
        for namespace, labels in (("train", guest.labels), ("validate", turned.labels)):
            expected = regression_metrics(labels, predicted)
            got = guest_metrics[(namespace, f"iteration_{epoch}")]
            assert set(got) == set(expected)
            for metric, value in expected.items():
                assert got[metric] == pytest.approx(value, abs=1e-6), (epoch, namespace, metric)
        mae = regression_metrics(turned.labels, predicted)["mean_absolute_error"]
        if best_mae is None or mae < best_mae:
            best_mae, best, waited = mae, epoch, 0
        else:
            waited += 1
        if waited >= rounds:
            stop_at = epoch
            break
    assert stop_at is not None and stop_at < max_iter - 1
    assert ("validate", f"iteration_{stop_at + 1}") not in guest_metrics
    assert runs[("arbiter", ARBITER)]["component"].n_iter_ == stop_at + 1
    assert set(runs[("guest", GUEST)]["component"].validation_strategy_.recorder.best) == {"mean_absolute_error"}
    for role, party in (("guest", GUEST), ("host", HOST)):
        param = runs[(role, party)]["output"].model[PARAMS[module[4]]]
        assert param["best_iteration"] == best and param["iters"] == best + 1
    best_weights, _ = central_fit(dict(conf, max_iter=best + 1), x, guest.labels, link)
    guest_param = runs[("guest", GUEST)]["output"].model[PARAMS[module[4]]]
    assert guest_param["intercept"] == pytest.approx(best_weights[-1], abs=1e-6)


def central_forward(module, conf, x, y, link, n_host: int, k: float) -> tuple[list[tuple[str, float | None]], str]:
    """FATE's forward search in the clear: from the empty model (recorded unfitted), one host feature with
    one guest feature, then one feature more a step, until nvmax or max_step."""
    step_param = conf["stepwise_param"]
    width = x.shape[1]
    mask = np.zeros(width, dtype=bool)
    recorded: list[tuple[str, float | None]] = [("0" * width, None)]
    for step in range(1, step_param["max_step"] + 1):
        if not mask.any():
            candidates = []
            for i in range(n_host):
                for j in range(n_host, width):
                    candidates.append(np.zeros(width, dtype=bool))
                    candidates[-1][[i, j]] = True
        else:
            candidates = [mask]
            for i in np.flatnonzero(~mask):
                candidates.append(mask.copy())
                candidates[-1][i] = True
        scores = [central_ic(module, conf, x, y, link, None, c, k) for c in candidates]
        best = candidates[int(np.argmin(scores))]
        nvmax = step_param.get("nvmax")
        stop = (best == mask).all() or best.all() or (nvmax is not None and best.sum() == nvmax
                                                      and mask.sum() <= nvmax) or step >= step_param["max_step"]
        mask = best
        if stop:
            break
        recorded.append(("".join("1" if b else "0" for b in mask), min(scores)))
    return recorded, "".join("1" if b else "0" for b in mask)


def test_forward_stepwise_stops_at_nvmax_as_the_central_search():
    """LinR, forward from the empty model with nvmax 3: the recorded steps (the empty one unfitted, then the
    best host x guest pair) and the final three-feature model are the central search's."""
    module, data, link, base = CASES["linr"]
    guest, host = data()
    guest, host = with_noise(guest, 3), with_noise(host, 4)
    conf = dict(base, penalty="None", alpha=0.0, max_iter=4,
                stepwise_param={"need_stepwise": True, "direction": "forward", "max_step": 4, "score_name": "AIC",
                                "nvmin": 2, "nvmax": 3})
    runs = run_parties(module, conf, guest, [host], timeout=300)
    x, y = np.hstack([host.features, guest.features]), guest.labels
    expected, final = central_forward(module, conf, x, y, link, host.features.shape[1], 2.0)
    metas = sorted((meta for _, name, meta in runs[("arbiter", ARBITER)]["ctx"].tracker.metas
                    if name.startswith("stepwise_")), key=lambda meta: meta["name"])
    got = [("".join(map(str, meta["host_mask"] + meta["guest_mask"])), meta["current_ic_val"]) for meta in metas]
    assert [mask for mask, _ in got] == [mask for mask, _ in expected]
    assert got[0][1] is None and expected[0][1] is None
    np.testing.assert_allclose([ic for _, ic in got[1:]], [ic for _, ic in expected[1:]], rtol=1e-6)
    assert final.count("1") == 3
    n_host = host.features.shape[1]
    guest_header = runs[("guest", GUEST)]["output"].model[PARAMS["HeteroLinR"]]["header"]
    host_header = runs[("host", HOST)]["output"].model[PARAMS["HeteroLinR"]]["header"]
    assert host_header == [h for h, b in zip(host.header, final[:n_host]) if b == "1"]
    assert guest_header == [h for h, b in zip(guest.header, final[n_host:]) if b == "1"]


# ---------------------------------------------------------------------------------- sqn (LinR only)

def test_linr_sqn_matches_the_central_run():
    """optimizer sqn on HeteroLinR (FATE's Hessian factor 1 for the squared loss): the weights of 3 batches x
    6 iterations equal the central SQN run's."""
    from fate_flow.components.linear_model.partitioned import batch_count, batch_of
    from tests.test_lr_options import central_sqn

    module, data, _, base = CASES["linr"]
    guest, host = data()
    alpha, lr, iters, batch_size = 0.01, 0.3, 6, 50
    conf = dict(base, optimizer="sqn", alpha=alpha, learning_rate=lr, max_iter=iters, batch_size=batch_size,
                sqn_param={"update_interval_L": 2, "memory_M": 3, "sample_size": 5000})
    runs = run_parties(module, conf, guest, [host], timeout=300)
    x = np.hstack([guest.features, host.features, np.ones((len(guest), 1))])
    batch_num = batch_count(len(guest), batch_size)
    batches = batch_of(guest.ids, batch_num, 0)
    expected = central_sqn(x, guest.labels, batches, batch_num, lr, iters, alpha, 2, 3, factor=1.0,
                           targets=guest.labels)
    g, h = runs[("guest", GUEST)]["component"].weights_, runs[("host", HOST)]["component"].weights_
    got = np.concatenate([g[:-1], h, g[-1:]])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # the same mini-batches without curvature pairs (a window longer than the run): plain sgd, other weights
    plain_sgd = central_sqn(x, guest.labels, batches, batch_num, lr, iters, alpha, 10**6, 3, factor=1.0,
                            targets=guest.labels)
    assert not np.allclose(got, plain_sgd, atol=1e-3), "the curvature pairs changed the steps"
