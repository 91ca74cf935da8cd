"""HeteroLR's and HomoLR's shared training options over the in-memory harness: cross validation,
one-vs-rest, validation with early stopping (``model_selection``, ``one_vs_rest``).

Small Paillier keys (256 bits) and few iterations: these tests are about the machinery, not the cipher.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier

from fate_flow.components.model_selection.k_fold import fold_numbers
from fate_flow.components.model_selection.validation_strategy import PerformanceRecorder
from fate_flow.computing import ComputingConf, Instances
from fate_flow.storage.partitioner import partition_of
from tests.component_harness import DATA, close_contexts, read_breast_hetero, read_csv, store
from tests.test_hetero_lr import ARBITER, GUEST, HOST, output_rows, run_parties, train_inputs

KEY_BITS = 256
META, PARAM = "HeteroLogisticRegressionMeta", "HeteroLogisticRegressionParam"


@pytest.fixture(autouse=True)
def _end_computing_sessions():
    yield
    close_contexts()


@pytest.fixture(scope="module")
def breast():
    return read_breast_hetero()


def metrics_of(run) -> dict:
    """{(namespace, name): data} of what a party logged."""
    return {(namespace, name): data for namespace, name, data in run["ctx"].tracker.metrics}


# ---------------------------------------------------------------------------------- cross validation

def test_fold_numbers_are_sklearn_kfold():
    for shuffle, seed in ((True, 1), (False, None), (True, 103)):
        folds = fold_numbers(23, 4, shuffle, seed)
        for k, (_, test) in enumerate(KFold(4, shuffle=shuffle, random_state=seed).split(np.zeros((23, 1)))):
            assert sorted(np.flatnonzero(folds == k)) == sorted(test)


def test_hetero_cv_gives_k_folds_with_fate_split_and_metrics(breast):
    guest, host = breast
    conf = {"max_iter": 2, "batch_size": -1, "init_param": {"init_method": "zeros"},
            "cv_param": {"need_cv": True, "n_splits": 3, "shuffle": True, "random_seed": 7}}
    partitions = 2
    runs = run_parties(conf, train_inputs(guest, host), key_bits=KEY_BITS,
                       computing=ComputingConf(partitions=partitions))
    out = runs[("guest", GUEST)]["output"]
    assert out.data is None and out.model[PARAM] == {} and out.model[META]["max_iter"] == 2
    # table order: partition by partition, ids sorted in each; KFold on those positions
    ids = np.array(guest.ids.to_pylist())
    parts = partition_of(pa.array(ids), partitions)
    order = np.concatenate([np.sort(ids[parts == p]) for p in range(partitions)])
    expected = fold_numbers(len(order), 3, True, 7)
    masks = [(tag, obj) for name, tag, _, _, obj in runs[("host", HOST)]["federation"].received
             if name.endswith("test_sid")]
    assert [tag for tag, _ in masks] == ["cv.0", "cv.1", "cv.2"]
    sizes = [int((parts == p).sum()) for p in range(partitions)]
    for k, (_, packed) in enumerate(masks):
        test = np.concatenate([np.unpackbits(bits, count=n).astype(bool) for bits, n in zip(packed, sizes)])
        assert (test == (expected == k)).all()
    logged = metrics_of(runs[("guest", GUEST)])
    for k in range(3):
        for namespace, name in (("train", f"train_fold_{k}"), ("validate", f"validate_fold_{k}")):
            summary = dict(logged[(namespace, name)])
            assert set(summary) == {"auc", "ks"} and 0.9 < summary["auc"] <= 1.0
        assert len(logged[("train", f"train_fold_{k}_ks_fpr")]) > 0
        assert len(metrics_of(runs[("arbiter", ARBITER)])[("train", f"loss.{k}")]) == 1  # one point per iteration
    metas = {(ns, name): meta for ns, name, meta in runs[("arbiter", ARBITER)]["ctx"].tracker.metas}
    assert metas[("train", "loss.1")]["curve_name"] == "1"


# ---------------------------------------------------------------------------------- one-vs-rest

def vehicle():
    return read_csv(DATA / "vehicle_scale_hetero_guest.csv", True), read_csv(DATA / "vehicle_scale_hetero_host.csv",
                                                                                False)


def test_one_vs_rest_on_vehicle_matches_sklearn():
    guest, host = vehicle()
    alpha = 0.01
    # adam, no decay, 25 iterations: the Taylor-loss model gets within a point of sklearn's accuracy
    conf = {"max_iter": 25, "batch_size": -1, "learning_rate": 0.3, "decay": 0, "optimizer": "adam", "alpha": alpha,
            "penalty": "L2", "early_stop": "weight_diff", "tol": 1e-6, "init_param": {"init_method": "zeros"}}
    runs = run_parties(conf, train_inputs(guest, host), key_bits=KEY_BITS, timeout=600)  # 100 rounds
    out = runs[("guest", GUEST)]["output"]
    param = out.model[PARAM]
    classes = param["one_vs_rest_result"]["one_vs_rest_classes"]
    assert out.model[META]["need_one_vs_rest"] and param["need_one_vs_rest"] and classes == ["0", "1", "2", "3"]
    assert len(param["one_vs_rest_result"]["completed_models"]) == 4
    host_models = runs[("host", HOST)]["output"].model[PARAM]["one_vs_rest_result"]["completed_models"]
    # the joined data, host rows aligned to the guest's ids; sklearn's one-vs-rest LR with the same L2
    x = np.hstack([guest.features, host.align_to(guest.ids).features])
    reference = OneVsRestClassifier(LogisticRegression(C=1.0 / (alpha * len(x)), max_iter=2000)).fit(x, guest.labels)
    ids, values = output_rows(out)
    rows = dict(zip(ids, values))
    predicted = np.array([float(rows[i].split(",")[1]) for i in guest.ids.to_pylist()])
    ours, theirs = (predicted == guest.labels).mean(), reference.score(x, guest.labels)
    assert abs(ours - theirs) <= 0.03, (ours, theirs)  # 0.703 vs 0.693 seen
    for index, (single, host_single) in enumerate(zip(param["one_vs_rest_result"]["completed_models"], host_models)):
        coef = np.array([single["weight"][h] for h in guest.header] + [host_single["weight"][h] for h in host.header])
        expected = reference.estimators_[index].coef_[0]
        cosine = coef @ expected / np.linalg.norm(coef) / np.linalg.norm(expected)
        assert cosine > 0.9, (index, cosine)
    first = values[0].split(",")
    assert first[4] == "train" and set(eval(first[3].replace(";", ","))) == set(classes)
    assert not [m for m in runs[("arbiter", ARBITER)]["ctx"].tracker.metrics if m[1] == "loss"], "no loss in OVR"
    # a predict job with the saved models gives the same rows (typed "predict")
    models = {role: runs[(role, party)]["output"].model for role, party in
              (("guest", GUEST), ("host", HOST), ("arbiter", ARBITER))}
    predicted = run_parties(conf, {"guest": {"model": {"hetero_lr_0": models["guest"]},
                                             "data": {"eval_data": store(guest, "pg")}},
                                   "host": {"model": {"hetero_lr_0": models["host"]},
                                            "data": {"eval_data": store(host, "ph")}},
                                   "arbiter": {"model": {"hetero_lr_0": models["arbiter"]}}},
                            key_bits=KEY_BITS, timeout=600)
    again = dict(zip(*output_rows(predicted[("guest", GUEST)]["output"])))
    assert {i: v.rsplit(",", 1)[0] for i, v in again.items()} == {i: v.rsplit(",", 1)[0] for i, v in rows.items()}
    assert {v.rsplit(",", 1)[1] for v in again.values()} == {"predict"}


# ---------------------------------------------------------------------------------- validation

def test_early_stopping_stops_when_the_validation_metric_stops_improving(breast):
    guest, host = breast
    # the validate rows have the labels flipped: the better the fit, the lower their auc
    flipped = Instances(ids=guest.ids, features=guest.features, labels=1.0 - guest.labels, header=guest.header,
                        sid_name=guest.sid_name, label_name=guest.label_name)
    inputs = train_inputs(guest, host)
    inputs["guest"]["data"]["eval_data"] = store(flipped, "flipped")
    inputs["host"]["data"]["eval_data"] = store(host, "he")
    rounds = 2
    conf = {"max_iter": 10, "batch_size": -1, "init_param": {"init_method": "random_uniform", "random_seed": 3},
            "learning_rate": 0.15, "validation_freqs": 1, "early_stopping_rounds": rounds, "metrics": ["auc"]}
    runs = run_parties(conf, inputs, key_bits=KEY_BITS, timeout=600)
    logged = metrics_of(runs[("guest", GUEST)])
    aucs = [dict(logged[("validate", f"iteration_{e}")])["auc"] for e in range(10) if ("validate", f"iteration_{e}")
            in logged]
    recorder, stop_at, best = PerformanceRecorder(), None, -1
    for epoch, value in enumerate(aucs):
        if recorder.update({"auc": value}):
            best = epoch
        if recorder.need_stop(rounds):
            stop_at = epoch
            break
    assert stop_at is not None and len(aucs) == stop_at + 1 < 10, aucs
    assert runs[("arbiter", ARBITER)]["component"].n_iter_ == stop_at + 1
    for role, party in (("guest", GUEST), ("host", HOST)):  # each took its best model back
        param = runs[(role, party)]["output"].model[PARAM]
        assert param["best_iteration"] == best and param["iters"] == best + 1
    assert ("train", f"iteration_{stop_at}") in logged


# ---------------------------------------------------------------------------------- stepwise

def central_taylor_loss(x: np.ndarray, y: np.ndarray, max_iter: int, lr: float, tol: float) -> float:
    """The last logged loss of HeteroLR's protocol run in the clear: full batch, zeros, no penalty, sgd."""
    xs, signed = np.hstack([x, np.ones((len(x), 1))]), np.where(y == 1, 1.0, -1.0)
    w, previous, loss = np.zeros(xs.shape[1]), None, None
    for _ in range(max_iter):
        u = xs @ w
        loss = np.log(2) - 0.5 * np.mean(signed * u) + 0.125 * np.mean(u * u)
        w = w - lr * xs.T @ (0.25 * u - 0.5 * signed) / len(x)
        if previous is not None and abs(loss - previous) < tol:
            break
        previous = loss
    return float(loss)


def central_backward_stepwise(x: np.ndarray, y: np.ndarray, n_host: int, max_step: int, nvmin: int) -> str:
    """Backward elimination by AIC = 2 dfe + 2 n loss over the joined columns (host's first)."""
    def aic(mask):
        return 2 * (mask.sum() + 1) + 2 * len(x) * central_taylor_loss(x[:, mask], y, 5, 0.15, 1e-5)

    mask = np.ones(x.shape[1], dtype=bool)
    for step in range(1, max_step + 1):
        drops = []
        for i in np.flatnonzero(mask):
            side = mask[:n_host] if i < n_host else mask[n_host:]
            if side.sum() > 1:
                drops.append(mask.copy())
                drops[-1][i] = False
        best = min([mask] + drops, key=aic)
        stop = (best == mask).all() or best.sum() == nvmin
        mask = best
        if stop:
            break
    return "".join("1" if b else "0" for b in mask)


def test_stepwise_picks_the_central_backward_choice():
    guest = read_csv(DATA / "breast_hetero_mini_guest.csv", True)
    host = read_csv(DATA / "breast_hetero_mini_host.csv", False).align_to(guest.ids)
    # one column of noise on each side: the search should drop both (the central search does: 11101110)
    rng = np.random.RandomState(0)
    host = Instances(ids=host.ids, features=np.hstack([host.features, rng.uniform(-1, 1, (len(host), 1))]),
                     header=host.header + ["noise_h"], sid_name=host.sid_name)
    guest = Instances(ids=guest.ids, features=np.hstack([guest.features, rng.uniform(-1, 1, (len(guest), 1))]),
                      labels=guest.labels, header=guest.header + ["noise_g"], sid_name=guest.sid_name,
                      label_name=guest.label_name)
    conf = {"penalty": "None", "optimizer": "sgd", "max_iter": 5, "learning_rate": 0.15, "decay": 0,
            "batch_size": -1, "init_param": {"init_method": "zeros"},
            "stepwise_param": {"need_stepwise": True, "direction": "backward", "max_step": 3, "score_name": "AIC",
                               "nvmin": 2}}
    runs = run_parties(conf, train_inputs(guest, host), key_bits=KEY_BITS)
    expected = central_backward_stepwise(np.hstack([host.features, guest.features]), guest.labels, 4, 3, 2)
    guest_header = runs[("guest", GUEST)]["output"].model[PARAM]["header"]
    host_header = runs[("host", HOST)]["output"].model[PARAM]["header"]
    got = "".join("1" if h in host_header else "0" for h in host.header) + \
        "".join("1" if h in guest_header else "0" for h in guest.header)
    assert got == expected and expected.count("0") == 2
    metas = {name: meta for ns, name, meta in runs[("arbiter", ARBITER)]["ctx"].tracker.metas}
    assert metas["stepwise_0"]["metric_type"] == "STEPWISE" and metas["stepwise_0"]["number_in"] == 8
    assert metas["stepwise_0"]["current_ic_val"] > 0
    assert runs[("guest", GUEST)]["output"].data is not None


# ---------------------------------------------------------------------------------- sqn

def central_sqn(x: np.ndarray, y: np.ndarray, batches: np.ndarray, batch_num: int, lr: float, iters: int,
                alpha: float, interval: int, memory: int, factor: float = 0.25, targets: np.ndarray | None = None
                ) -> np.ndarray:
    """SQN run centrally: L-BFGS's H g from the window-mean pairs (y = H s on the batch), as FATE's arbiter
    forms it; ``x`` holds a column of ones for the intercept, last. The gradient is ``factor X^T (X w - t) / n``
    and the Hessian ``factor X^T X / n``: LR's Taylor loss (factor 0.25, t = 2y' with y' in {-1, 1}) by default,
    LinR's squared loss with factor 1 and ``targets`` y."""
    t = 2.0 * np.where(y == 1, 1.0, -1.0) if targets is None else targets
    reg = np.eye(x.shape[1]) * alpha
    reg[-1, -1] = 0.0
    w, pairs, gamma, window, previous, steps = np.zeros(x.shape[1]), [], 1.0, None, None, 0
    for _ in range(iters):
        for b in range(batch_num):
            xb, tb = x[batches == b], t[batches == b]
            g = factor * xb.T @ (xb @ w - tb) / len(xb) + reg @ w
            h = np.eye(len(w)) * gamma if pairs else np.eye(len(w))
            for s, v, rho in pairs:  # FATE's explicit H, oldest pair first
                h = (np.eye(len(w)) - rho * np.outer(s, v)) @ h @ (np.eye(len(w)) - rho * np.outer(v, s)) \
                    + rho * np.outer(s, s)
            w = w - lr * (h @ g)
            window = w.copy() if window is None else window + w
            steps += 1
            if steps % interval == 0:
                mean, window = window / interval, None
                if previous is not None:
                    s = mean - previous
                    v = factor * xb.T @ (xb @ s) / len(xb) + reg @ s
                    if v @ s > 0:
                        pairs = (pairs + [(s, v, 1.0 / (v @ s))])[-memory:]
                        gamma = (v @ s) / (v @ v)
                previous = mean
    return w


def test_sqn_matches_the_central_run_and_nears_the_optimum(breast):
    from fate_flow.components.linear_model.partitioned import batch_count, batch_of

    guest, host = breast
    alpha, lr, iters = 0.01, 0.3, 12
    conf = {"optimizer": "sqn", "penalty": "L2", "alpha": alpha, "learning_rate": lr, "decay": 0, "max_iter": iters,
            "batch_size": 120, "early_stop": "weight_diff", "tol": 1e-12, "init_param": {"init_method": "zeros"},
            "sqn_param": {"update_interval_L": 3, "memory_M": 5, "sample_size": 5000}}
    runs = run_parties(conf, train_inputs(guest, host), key_bits=KEY_BITS, timeout=600)
    host = host.align_to(guest.ids)
    x = np.hstack([guest.features, host.features, np.ones((len(guest), 1))])
    batch_num = batch_count(len(guest), 120)
    expected = central_sqn(x, guest.labels, batch_of(guest.ids, batch_num, 0), batch_num, lr, iters, alpha, 3, 5)
    g, h = runs[("guest", GUEST)]["component"].weights_, runs[("host", HOST)]["component"].weights_
    got = np.concatenate([g[:-1], h, g[-1:]])
    assert np.allclose(got, expected, atol=1e-6), np.abs(got - expected).max()
    # and it heads for the Taylor loss's optimum (closed form)
    reg = np.eye(x.shape[1]) * alpha
    reg[-1, -1] = 0.0
    optimum = np.linalg.solve(0.25 * x.T @ x / len(x) + reg, 0.5 * x.T @ np.where(guest.labels == 1, 1.0, -1.0) / len(x))
    start = np.linalg.norm(optimum)
    assert np.linalg.norm(got - optimum) < 0.5 * start, np.linalg.norm(got - optimum) / start


def test_homo_clients_validate_and_homo_refuses_early_stopping():
    from tests.test_homo_lr import EXAMPLE_CONF, PLAIN
    from tests.test_homo_lr import GUEST as HOMO_GUEST, HOST as HOMO_HOST, ARBITER as HOMO_ARBITER
    from tests.test_homo_lr import run_parties as run_homo, train_inputs as homo_inputs

    breast = {name: read_csv(DATA / f"breast_homo_{name}.csv") for name in ("guest", "host", "test")}
    conf = {**EXAMPLE_CONF, **PLAIN, "max_iter": 2, "validation_freqs": [1], "metrics": ["auc"]}
    runs = run_homo(conf, homo_inputs(breast, eval_data=True))
    for party in (("guest", HOMO_GUEST), ("host", HOMO_HOST)):
        logged = metrics_of(runs[party])
        assert set(dict(logged[("validate", "iteration_1")])) == {"auc"} and ("train", "iteration_1") in logged
        assert ("validate", "iteration_0") not in logged  # validation_freqs [1]: epoch 1 only
    assert not [m for m in runs[("arbiter", HOMO_ARBITER)]["ctx"].tracker.metrics if "iteration" in m[1]]
    runs = run_homo({**conf, "early_stopping_rounds": 1}, homo_inputs(breast, eval_data=True), timeout=2,
                    expect_errors=True)
    assert "hetero only" in str(runs[("guest", HOMO_GUEST)]["error"])
