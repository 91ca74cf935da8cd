"""HeteroLR: parameters, the optimizers, the three parties over the memory federation, and what
crosses the party boundaries.

The parties run as threads over one MemoryBoard with 512-bit keys; the inputs are the breast
hetero tables stored as DataIO would store them (guest: label y + x0..x9, host: x0..x19).
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from fate_flow.components import ComponentContext, get_spec
from fate_flow.components.hetero_lr import optim
from fate_flow.components.hetero_lr.arbiter import HeteroLRArbiter
from fate_flow.components.hetero_lr.guest import HeteroLRGuest
from fate_flow.components.hetero_lr.masking import MaskedSums, decrypt_masked
from fate_flow.components.hetero_lr.host import HeteroLRHost
from fate_flow.components.hetero_lr.param import HeteroLogisticParam
from fate_flow.components.hetero_lr.spec import DEFAULT_CONF
from fate_flow.components.linear_model.partitioned import batch_count, batch_of, batch_salt
from fate_flow.computing import ComputingConf, Instances, create_session
from fate_flow.federation.memory import MemoryBoard, MemoryFederation
from fate_flow.secureprotol import PaillierPublicKey, generate_keypair
from fate_flow.storage import TableMeta, open_storage
from tests.component_harness import (  # noqa: I001
    close_contexts, tracked,
    FakeTracker, RecordingFederation, quiet_logger, read_breast_hetero, run_in_threads, store, upload_breast_hetero,
)

ROOT = Path(__file__).resolve().parents[1]
GUEST, HOST, HOST2, ARBITER = 9999, 10000, 10001, 10002
KEY_BITS = 512

# algorithm_parameters.hetero_lr_0 of
# examples/federatedml-1.x-examples/hetero_logistic_regression/test_hetero_lr_train_job_conf.json
EXAMPLE_CONF = {
    "penalty": "L2", "optimizer": "nesterov_momentum_sgd", "tol": 0.0001, "alpha": 0.01, "max_iter": 30,
    "early_stop": "weight_diff", "batch_size": -1, "learning_rate": 0.15,
    "init_param": {"init_method": "random_uniform"},
    "sqn_param": {"update_interval_L": 3, "memory_M": 5, "sample_size": 5000, "random_seed": None},
    "cv_param": {"n_splits": 5, "shuffle": False, "random_seed": 103, "need_cv": False,
                 "evaluate_param": {"eval_type": "binary"}},
}


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(autouse=True)
def _end_computing_sessions():
    """Each party's computing session (its workers and spill files) ends with the test that started it."""
    yield
    close_contexts()


@pytest.fixture(scope="module")
def breast():
    return read_breast_hetero()


def run_parties(conf: dict, inputs: dict, hosts=(HOST,), timeout=120.0, key_bits=KEY_BITS, computing=None):
    """Run guest, hosts and arbiter in threads; ``inputs`` maps role (or ("host", i)) to its inputs;
    ``computing`` (a ComputingConf) gives each party a computing session of its own.

    Returns {party key: {"output", "error", "ctx", "federation"}}; re-raises the first error.
    """
    roles = {"guest": [GUEST], "host": list(hosts), "arbiter": [ARBITER]}
    board = MemoryBoard()
    task_id = f"task_{uuid.uuid4().hex[:8]}"
    merged = {"encrypt_param": {"key_length": key_bits}, **conf}
    parties = [("guest", GUEST, HeteroLRGuest, inputs.get("guest", {}))]
    parties += [("host", party, HeteroLRHost, inputs.get(("host", i), inputs.get("host", {})))
                for i, party in enumerate(hosts)]
    parties.append(("arbiter", ARBITER, HeteroLRArbiter, inputs.get("arbiter", {})))
    runs = {}
    for role, party, cls, party_inputs in parties:
        federation = RecordingFederation(task_id, role, party, roles, {"board": board, "timeout": timeout})
        ctx = ComponentContext(job_id="job", task_id=task_id, component_name="hetero_lr_0", role=role,
                               party_id=party, roles=roles, federation=federation, tracker=FakeTracker(),
                               logger=quiet_logger(role),
                               computing_opener=None if computing is None else lambda: create_session(computing))
        tracked(ctx)
        params = HeteroLogisticParam().update(DEFAULT_CONF).update(merged)
        runs[(role, party)] = {"component": cls(params), "ctx": ctx, "inputs": party_inputs,
                               "federation": federation}

    errors = run_in_threads(runs, timeout)
    if errors:
        raise errors[0]
    assert board.pending() == [], "a message was sent but never received"
    return runs


def train_inputs(guest: Instances, host: Instances, eval_data: bool = False) -> dict:
    guest_table, host_table = store(guest, "g"), store(host, "h")
    inputs = {"guest": {"data": {"train_data": guest_table}}, "host": {"data": {"train_data": host_table}},
              "arbiter": {"data": {"train_data": None}}}
    if eval_data:
        inputs["guest"]["data"]["eval_data"] = store(guest, "ge")
        inputs["host"]["data"]["eval_data"] = store(host, "he")
    return inputs


def output_rows(output) -> tuple[list[str], list[str]]:
    """(ids, values) of the guest's output Table, in its partition order."""
    block = output.data.collect()
    return block.column("id").to_pylist(), block.column("value").to_pylist()


def guest_scores(output, ids: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(labels, scores, types) of the guest's output rows, in the order of ``ids`` if given (every id must be
    output once), else in the output's (partition, id) order."""
    out_ids, values = output_rows(output)
    if ids is not None:
        assert sorted(ids) == sorted(out_ids)
        position = {i: k for k, i in enumerate(out_ids)}
        values = [values[position[i]] for i in ids]
    rows = [v.split(",") for v in values]
    return (np.array([float(r[0]) for r in rows]), np.array([float(r[2]) for r in rows]), [r[4] for r in rows])


def arbiter_losses(runs) -> list[float]:
    tracker = runs[("arbiter", ARBITER)]["ctx"].tracker
    return [value for _, _, points in tracker.metrics for _, value in points]


def model_of(runs, role, party):
    return runs[(role, party)]["output"].model["HeteroLogisticRegressionParam"]


# ----------------------------------------------------------------------------- plaintext reference

def reference_fit(conf: dict, guest: Instances, hosts: list[Instances], init_guest, init_hosts):
    """The protocol's arithmetic without encryption (sgd/nesterov, L1/L2/none), as FATE's formulas.

    Returns (guest weights with intercept last, [host weights], [loss per iteration]).
    """
    y = np.where(guest.labels == 1, 1.0, -1.0)
    xg = np.hstack([guest.features, np.ones((len(guest), 1))])
    weights = [np.array(init_guest, float)] + [np.array(w, float) for w in init_hosts]
    xs = [xg] + [h.features for h in hosts]
    momentum = [np.zeros_like(w) for w in weights]
    alpha, lr0, penalty = conf["alpha"], conf["learning_rate"], conf["penalty"].upper()
    losses = []
    for t in range(conf["max_iter"]):
        lr = lr0 / np.sqrt(1 + t)
        batch_losses, delta_sums = [], [np.zeros_like(w) for w in weights]
        batch_num = batch_count(len(y), conf.get("batch_size", -1))
        salt = batch_salt(conf.get("init_param", {}).get("random_seed"))
        hashed = batch_of(guest.ids, batch_num, salt)
        for rows in (np.flatnonzero(hashed == b) for b in range(batch_num)):
            parts = [x[rows] @ w for x, w in zip(xs, weights)]
            u, yb, n = sum(parts), y[rows], len(rows)
            coefs = [weights[0][:-1]] + weights[1:]
            reg = {"L2": lambda c: 0.5 * alpha * c @ c, "L1": lambda c: alpha * np.abs(c).sum()}.get(
                penalty, lambda c: 0.0)
            batch_losses.append(np.log(2) - 0.5 * (yb @ u) / n + 0.125 * (u @ u) / n + sum(reg(c) for c in coefs))
            d = 0.25 * u - 0.5 * yb
            for i, (x, w) in enumerate(zip(xs, weights)):
                grad = x[rows].T @ d / n
                coef = slice(0, len(w) - 1) if i == 0 else slice(0, len(w))
                if penalty == "L2":
                    grad[coef] += alpha * w[coef]
                if conf["optimizer"] == "sgd":
                    delta = lr * grad
                else:
                    v = 0.9 * momentum[i] - lr * grad
                    delta, momentum[i] = 0.9 * momentum[i] - 1.9 * v, v
                new = w - delta
                if penalty == "L1":
                    shrink = alpha * lr0 / np.sqrt(t + 1)
                    new[coef] = np.sign(new[coef]) * np.maximum(0, np.abs(new[coef]) - shrink)
                weights[i], delta_sums[i] = new, delta_sums[i] + delta
        losses.append(float(np.mean(batch_losses)))
        if conf["early_stop"] == "weight_diff" and np.sqrt(sum(s @ s for s in delta_sums)) < conf["tol"]:
            break
    return weights[0], weights[1:], losses


def federated_weights(runs, hosts=(HOST,)):
    guest = model_of(runs, "guest", GUEST)
    wg = np.array([guest["weight"][h] for h in guest["header"]] + [guest["intercept"]])
    whs = [np.array([model_of(runs, "host", p)["weight"][h] for h in model_of(runs, "host", p)["header"]])
           for p in hosts]
    return wg, whs


def assert_matches_reference(runs, reference) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Check the one-host federated weights and arbiter losses against ``reference_fit``'s, to float precision.

    Returns (guest weights, host weights, reference losses).
    """
    wg, (wh,), losses = reference
    fed_g, (fed_h,) = federated_weights(runs)
    np.testing.assert_allclose(fed_g, wg, atol=1e-9)
    np.testing.assert_allclose(fed_h, wh, atol=1e-9)
    np.testing.assert_allclose(arbiter_losses(runs), losses, atol=1e-9)
    return fed_g, fed_h, losses


# ----------------------------------------------------------------------------- parameters and pieces

def test_registry_defaults_and_parameter_checks():
    spec = get_spec("HeteroLR")
    assert spec.program("guest") is HeteroLRGuest and spec.program("host") is HeteroLRHost
    assert spec.program("arbiter") is HeteroLRArbiter and spec.param_type() is HeteroLogisticParam
    assert spec.need_deploy
    params = spec.default_params()
    params.check()
    assert (params.alpha, params.batch_size, params.init_param.init_method) == (0.01, 320, "random_normal")
    assert (params.penalty, params.optimizer, params.tol, params.max_iter, params.early_stop) == \
        ("L2", "sgd", 1e-5, 100, "diff")
    assert params.encrypt_param.to_dict() == {"method": "Paillier", "key_length": 1024}
    assert params.predict_param.threshold == 0.5 and params.cv_param.need_cv is False
    # FATE's conf keys that are no attribute (cv_param.evaluate_param) are dropped
    example = HeteroLogisticParam().update(DEFAULT_CONF).update(EXAMPLE_CONF)
    example.check()
    assert "evaluate_param" not in example.cv_param.to_dict()
    lowered = HeteroLogisticParam().update({"penalty": "l1", "optimizer": "ADAM", "early_stop": "Weight_Diff"})
    lowered.check()
    assert (lowered.penalty, lowered.optimizer, lowered.early_stop) == ("L1", "adam", "weight_diff")
    none = HeteroLogisticParam().update({"penalty": None})
    none.check()
    assert none.penalty == "NONE"


@pytest.mark.parametrize("conf, name", [
    ({"penalty": "L3"}, "penalty"), ({"optimizer": "momentum"}, "optimizer"), ({"batch_size": 5}, "batch_size"),
    ({"batch_size": 0}, "batch_size"), ({"max_iter": 0}, "max_iter"), ({"early_stop": "loss"}, "early_stop"),
    ({"alpha": "x"}, "alpha"), ({"learning_rate": 0}, "learning_rate"), ({"decay_sqrt": 1}, "decay_sqrt"),
    ({"init_param": {"init_method": "xavier"}}, "init_param.init_method"),
    ({"init_param": {"fit_intercept": "yes"}}, "init_param.fit_intercept"),
    ({"encrypt_param": {"method": "RSA"}}, "encrypt_param.method"),
    ({"encrypt_param": {"key_length": 1023}}, "encrypt_param.key_length"),
    ({"predict_param": {"threshold": 2}}, "predict_param.threshold"),
    ({"early_stopping_rounds": 3}, "validation_freqs"),
])
def test_bad_parameters_are_named(conf, name):
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        HeteroLogisticParam().update(conf).check()


def test_batches_are_drawn_by_id_hash(breast):
    """FATE's batch count, rows assigned by a salted hash of their id: the same for any row order or split."""
    guest, _ = breast
    assert (batch_count(569, 320), batch_count(569, -1), batch_count(569, 600), batch_count(100, 30)) == (2, 1, 1, 4)
    batches = batch_of(guest.ids, 4, salt=7)
    assert set(batches) == {0, 1, 2, 3} and all(100 < np.sum(batches == b) < 185 for b in range(4))
    shuffled = np.random.RandomState(0).permutation(len(guest))
    np.testing.assert_array_equal(batch_of(guest.ids.take(pa.array(shuffled)), 4, salt=7), batches[shuffled])
    assert not np.array_equal(batch_of(guest.ids, 4, salt=8), batches)
    assert set(batch_of(guest.ids, 1, salt=7)) == {0}


def test_optimizer_rules_and_updates():
    grad = np.array([0.5, -1.0, 2.0])
    sgd = optim.Optimizer("sgd", 0.1, decay=1, decay_sqrt=True)
    sgd.set_iters(3)
    np.testing.assert_allclose(sgd.apply(grad), 0.1 / 2 * grad)
    nesterov = optim.Optimizer("nesterov_momentum_sgd", 0.1, decay=1, decay_sqrt=False)
    first = nesterov.apply(grad)                  # m = 0: v = -lr g, delta = 1.9 lr g
    np.testing.assert_allclose(first, 1.9 * 0.1 * grad)
    nesterov.set_iters(1)
    v1 = -0.1 * grad
    v2 = 0.9 * v1 - 0.05 * grad
    np.testing.assert_allclose(nesterov.apply(grad), 0.9 * v1 - 1.9 * v2)
    adam = optim.Optimizer("adam", 0.1, decay=0, decay_sqrt=True)
    np.testing.assert_allclose(adam.apply(grad), 0.1 * np.sign(grad), rtol=1e-6)  # bias-corrected first step
    adagrad = optim.Optimizer("adagrad", 0.1, decay=0, decay_sqrt=True)
    np.testing.assert_allclose(adagrad.apply(grad), 0.1 * np.sign(grad), rtol=1e-6)
    rmsprop = optim.Optimizer("rmsprop", 0.1, decay=0, decay_sqrt=True)
    np.testing.assert_allclose(rmsprop.apply(grad), 0.1 * grad / np.sqrt(0.01 * grad ** 2 + 1e-6))
    with pytest.raises(ValueError, match="sqn"):
        optim.Optimizer("sqn", 0.1, 1, True)
    w = np.array([0.3, -0.2, 1.0])  # last: intercept
    np.testing.assert_allclose(optim.add_l2_term(grad, w, "L2", 0.1, True), grad + [0.03, -0.02, 0])
    l1 = optim.apply_update(w, np.array([0.0, 0.0, 0.5]), "L1", alpha=1.0, learning_rate=0.25, iters=0,
                            fit_intercept=True)
    np.testing.assert_allclose(l1, [0.05, 0.0, 0.5])  # shrink 0.25; the intercept is not shrunk
    assert optim.penalty_loss(w, "L2", 0.1, True) == pytest.approx(0.5 * 0.1 * 0.13)
    assert optim.penalty_loss(w, "L1", 0.1, False) == pytest.approx(0.15)
    init = optim.initial_weights(3, optim.InitParam(init_method="random_uniform", random_seed=7), True)
    np.testing.assert_array_equal(init, np.random.RandomState(7).rand(4))
    const = optim.initial_weights(2, optim.InitParam(init_method="const", init_const=3), False)
    np.testing.assert_array_equal(const, [3.0, 3.0])


def test_convergence_rules():
    diff = optim.ConvergeCheck("diff", 0.01)
    assert [diff.is_converged(loss=v) for v in (0.9, 0.8, 0.795)] == [False, False, True]
    assert optim.ConvergeCheck("abs", 0.5).is_converged(loss=0.5)
    weight = optim.ConvergeCheck("weight_diff", 1e-3)
    assert not weight.is_converged(delta_norm=2e-3) and weight.is_converged(delta_norm=5e-4)


def test_masked_sums_hide_values_from_the_key_holder_and_unmask_exactly():
    public_key, private_key = generate_keypair(KEY_BITS)
    d = np.array([0.25, -0.5, 0.125, 1e-3])
    x = np.array([[1.0, -2.5], [0.3, 0.7], [-1.0, 0.0], [4.0, 1e-6]])
    sums = public_key.encrypt_array(d).dot(x)
    masked = MaskedSums(sums)
    decrypted = decrypt_masked(private_key, masked.to_bytes())
    n = int(public_key.n)
    # what the arbiter sees is uniform mod n, nowhere near the small signed encodings of a gradient
    assert all(min(v, n - v) > n >> 64 for v in decrypted)
    np.testing.assert_allclose(masked.unmask(decrypted), x.T @ d, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="expected 2"):
        masked.unmask(decrypted[:1])
    with pytest.raises(ValueError, match="not an integer"):
        masked.unmask([1.5, 2])


# ----------------------------------------------------------------------------- federated runs

def seeded_example_conf(seed: int = 1) -> dict:
    conf = dict(EXAMPLE_CONF)
    conf["init_param"] = {"init_method": "random_uniform", "random_seed": seed}
    return conf


def test_example_conf_reaches_sklearn_quality_and_matches_the_plaintext_protocol(breast):
    guest, host = breast
    conf = seeded_example_conf()
    runs = run_parties(conf, train_inputs(guest, host))
    out = runs[("guest", GUEST)]["output"]
    labels, scores, types = guest_scores(out, guest.ids.to_pylist())
    auc = roc_auc_score(labels, scores)
    joined = np.hstack([guest.features, host.features])
    sk = LogisticRegression(max_iter=1000).fit(joined, guest.labels)
    sk_auc = roc_auc_score(guest.labels, sk.decision_function(joined))
    assert auc >= 0.98 and abs(auc - sk_auc) <= 0.01, (auc, sk_auc)
    assert set(types) == {"train"} and len(labels) == len(guest)
    np.testing.assert_array_equal(labels, guest.labels)

    # the encrypted protocol computes what its formulas say, to float precision
    _, _, losses = assert_matches_reference(runs, reference_fit(
        conf, guest, [host], np.random.RandomState(1).rand(11), [np.random.RandomState(1).rand(20)]))
    iters = len(losses)
    tracker = runs[("arbiter", ARBITER)]["ctx"].tracker
    assert [m[:2] for m in tracker.metrics] == [("train", "loss")] * iters
    assert [m[2][0][0] for m in tracker.metrics] == list(range(iters))
    assert tracker.metas == [("train", "loss", {"name": "train", "metric_type": "LOSS", "unit_name": "iters"})]
    # every party reports progress once per iteration, so a long fit moves the job's progress
    expected = [100 * (n + 1) / conf["max_iter"] for n in range(iters)]
    for party in (("guest", GUEST), ("host", HOST), ("arbiter", ARBITER)):
        assert runs[party]["ctx"].tracker.progress == expected, party
    check_models(runs, iters, conf)
    check_output_rows(out)
    check_what_each_party_receives(runs, guest, host)


def check_models(runs, iters, conf):
    guest, host = model_of(runs, "guest", GUEST), model_of(runs, "host", HOST)
    assert guest["header"] == [f"x{i}" for i in range(10)] and host["header"] == [f"x{i}" for i in range(20)]
    assert set(guest["weight"]) == set(guest["header"]) and isinstance(guest["intercept"], float)
    assert "intercept" not in host
    for model in (guest, host):
        assert model["iters"] == iters and model["is_converged"] is (iters < conf["max_iter"])
        assert model["loss_history"] == [] and model["best_iteration"] == -1
    meta = runs[("guest", GUEST)]["output"].model["HeteroLogisticRegressionMeta"]
    assert meta == {"penalty": "L2", "tol": 0.0001, "alpha": 0.01, "optimizer": "nesterov_momentum_sgd",
                    "party_weight": 0.0, "batch_size": -1, "learning_rate": 0.15, "max_iter": 30,
                    "early_stop": "weight_diff", "re_encrypt_batches": 0, "fit_intercept": True,
                    "need_one_vs_rest": False}
    assert runs[("host", HOST)]["output"].model["HeteroLogisticRegressionMeta"]["fit_intercept"] is False
    arbiter = runs[("arbiter", ARBITER)]["output"]
    assert arbiter.data is None and arbiter.model["HeteroLogisticRegressionParam"] == {}
    assert arbiter.model["HeteroLogisticRegressionMeta"]["optimizer"] == "nesterov_momentum_sgd"
    assert runs[("host", HOST)]["output"].data is None


def check_output_rows(out):
    assert out.data.schema == {"header": "label,predict_result,predict_score,predict_detail,type", "sid": "id"}
    _, scores, _ = guest_scores(out)
    for value, score in zip(output_rows(out)[1][:50], scores[:50]):
        label, result, text, detail, kind = value.split(",")
        assert int(result) == int(score > 0.5) and label in ("0", "1") and kind == "train"
        detail = json.loads(detail.replace(";", ","))
        assert detail["1"] == pytest.approx(score) and detail["0"] == pytest.approx(1 - score)


def check_what_each_party_receives(runs, guest, host):
    """Only ciphertexts, the key, ids, masked integers and flags cross to the host and the arbiter;
    the guest gets nothing shaped like the host's features."""
    kinds = {}
    for (role, _), entry in runs.items():
        kinds[role] = {}
        for name, _, _, _, obj in entry["federation"].received:
            kinds[role].setdefault(name.split(".")[1], set()).add(describe(obj))
    key = next(obj for name, _, _, _, obj in runs[("host", HOST)]["federation"].received
               if name.endswith("paillier_pubkey"))
    n = int(PaillierPublicKey.from_bytes(key).n)
    assert kinds["host"] == {"paillier_pubkey": {"PPK1"}, "batch_info": {"dict"}, "guest_ids_digest": {"digests"},
                             "fore_gradient": {"PEA1"}, "host_optim_gradient": {"masked"},
                             "converge_flag": {"bool"}, "aggregate_classes": {"int"}}
    # aggregate_classes: the guest's class count, FATE's one-vs-rest decision (2 here: binary)
    assert kinds["arbiter"] == {"aggregate_classes": {"int"}, "batch_info": {"dict"}, "host_gradient": {"PEA1"}, "guest_gradient": {"PEA1"},
                                "loss": {"PEN1"}, "delta_norm": {"float"}}
    assert kinds["guest"] == {"paillier_pubkey": {"PPK1"}, "host_forward_dict": {"PEA1"},
                              "host_ids_digest": {"digests"}, "loss_intermediate": {"PEN1"},
                              "host_loss_regular": {"PEN1"},
                              "guest_optim_gradient": {"masked"}, "converge_flag": {"bool"},
                              "host_prob": {"ids+wx"}}
    for role in ("host", "guest"):
        for name, _, _, _, obj in runs[(role, HOST if role == "host" else GUEST)]["federation"].received:
            if name.endswith("optim_gradient"):
                assert all(min(v, n - v) > n >> 64 for v in obj), "a decrypted gradient came back unmasked"
    for name, _, _, _, obj in runs[("guest", GUEST)]["federation"].received:
        if name.endswith("host_prob"):
            wx = obj["wx"]
            assert wx.ndim == 1 and not any(np.allclose(wx, column) for column in host.features.T)


def describe(obj) -> str:
    if isinstance(obj, bytes):
        return obj[:4].decode()
    if isinstance(obj, bool):
        return "bool"
    if isinstance(obj, float):
        return "float"
    if isinstance(obj, dict):
        return "ids+wx" if set(obj) == {"ids", "wx"} else "dict"
    if isinstance(obj, list) and obj and all(isinstance(v, bytes) for v in obj):  # a packed message's parts
        return "+".join(sorted({describe(v) for v in obj}))
    if isinstance(obj, list) and obj and all(isinstance(v, str) and ":" in v for v in obj):
        return "digests"
    if isinstance(obj, list) and obj and all(isinstance(v, int) and not isinstance(v, bool) for v in obj):
        return "masked"
    return type(obj).__name__


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd"])
def test_each_optimizer_reduces_the_loss(breast, optimizer):
    guest, host = breast
    conf = {"optimizer": optimizer, "max_iter": 6, "batch_size": -1, "learning_rate": 0.15, "tol": 1e-12,
            "init_param": {"init_method": "random_normal", "random_seed": 3}}
    runs = run_parties(conf, train_inputs(guest, host))
    losses = arbiter_losses(runs)
    assert len(losses) == 6 and losses[-1] < losses[0], losses


@pytest.mark.parametrize("penalty, optimizer, alpha", [("L1", "sgd", 0.3), ("none", "nesterov_momentum_sgd", 0.05),
                                                       ("L2", "sgd", 0.05)])
def test_penalties_match_the_plaintext_protocol(breast, penalty, optimizer, alpha):
    guest, host = breast
    conf = {"penalty": penalty, "optimizer": optimizer, "alpha": alpha, "max_iter": 5, "batch_size": -1,
            "learning_rate": 0.2, "early_stop": "weight_diff", "tol": 1e-9,
            "init_param": {"init_method": "random_uniform", "random_seed": 5}}
    runs = run_parties(conf, train_inputs(guest, host))
    fed_g, fed_h, _ = assert_matches_reference(runs, reference_fit(
        conf, guest, [host], np.random.RandomState(5).rand(11), [np.random.RandomState(5).rand(20)]))
    if penalty == "L1":
        assert np.sum(fed_h == 0) + np.sum(fed_g[:-1] == 0) > 0  # soft-thresholding zeroes some weights


def test_mini_batches_are_drawn_by_id_hash_on_each_party(breast):
    guest, host = breast
    conf = {"optimizer": "sgd", "max_iter": 3, "batch_size": 100, "learning_rate": 0.3, "early_stop": "diff",
            "tol": 1e-12, "init_param": {"init_method": "zeros"}}
    shuffled = host.take(np.random.RandomState(0).permutation(len(host)))  # the host's own row order
    runs = run_parties(conf, train_inputs(guest, shuffled))
    assert_matches_reference(runs, reference_fit({**conf, "penalty": "L2", "alpha": 0.01}, guest, [host],
                                                 np.zeros(11), [np.zeros(20)]))
    infos = [obj for name, _, _, _, obj in runs[("host", HOST)]["federation"].received if name.endswith("batch_info")]
    assert infos == [{"batch_size": 100, "batch_num": 6, "batch_salt": 0}]  # no ids cross: each party hashes its own


def store_partitioned(instances: Instances, root: Path, name: str, partitions: int):
    """The instances as a local-storage table hash-partitioned by id, as Intersection leaves them."""
    storage = open_storage("local", root)
    data = instances.to_table_data()
    writer = storage.writer("ns", name, partitions)
    writer.write_batch(data.ids, data.values)
    storage.commit(writer, TableMeta("ns", name, partitions=partitions, schema=data.schema), "create")
    return storage.open("ns", name)


def fit_on_partitions(conf: dict, guest: Instances, host: Instances, root: Path, partitions: int, cores: int = 1):
    """Train (and score the train data) with both parties' tables and the job in ``partitions`` partitions."""
    inputs = {"guest": {"data": {"train_data": store_partitioned(guest, root / "guest", "g", partitions)}},
              "host": {"data": {"train_data": store_partitioned(host, root / "host", "h", partitions)}},
              "arbiter": {"data": {"train_data": None}}}
    return run_parties(conf, inputs, computing=ComputingConf(partitions=partitions, cores=cores))


@pytest.mark.parametrize("batch_size", [-1, 100])
def test_one_and_sixteen_partitions_give_the_same_model(breast, tmp_path, batch_size):
    """Batches drawn by id hash and sums added in partition order: the partitioning does not show."""
    guest, host = breast
    conf = {**seeded_example_conf(), "max_iter": 3, "batch_size": batch_size}
    one = fit_on_partitions(conf, guest, host, tmp_path / "one", 1)
    sixteen = fit_on_partitions(conf, guest, host, tmp_path / "sixteen", 16)
    (one_g, (one_h,)), (six_g, (six_h,)) = federated_weights(one), federated_weights(sixteen)
    np.testing.assert_allclose(six_g, one_g, rtol=0, atol=1e-9)
    np.testing.assert_allclose(six_h, one_h, rtol=0, atol=1e-9)
    np.testing.assert_allclose(arbiter_losses(sixteen), arbiter_losses(one), rtol=0, atol=1e-9)
    ids = guest.ids.to_pylist()
    np.testing.assert_allclose(guest_scores(sixteen[("guest", GUEST)]["output"], ids)[1],
                               guest_scores(one[("guest", GUEST)]["output"], ids)[1], rtol=0, atol=1e-9)
    assert sixteen[("guest", GUEST)]["output"].data.partitions == 16
    forwards = {tag for name, tag, *_ in sixteen[("guest", GUEST)]["federation"].received
                if name.endswith("host_forward_dict")}
    # tags fit.iter.batch.message: the 16 small partitions' rows of a batch share a few messages (at most
    # half a batch each, so that guest and host overlap their work), not one per partition
    assert 2 <= len({tag.split(".")[3] for tag in forwards}) <= 3
    if batch_size == -1:
        reference = reference_fit(conf, guest, [host], np.random.RandomState(1).rand(11),
                                  [np.random.RandomState(1).rand(20)])
        assert_matches_reference(sixteen, reference)


def test_the_pool_and_small_messages_give_the_inline_model(breast, tmp_path, monkeypatch):
    """The per-partition kernels (encryption, encrypted dots, scores) on the workers, with each partition's
    rows of a batch cut into several messages, give the same model."""
    guest, host = breast
    conf = {**seeded_example_conf(), "max_iter": 2, "batch_size": 200}
    inline = fit_on_partitions(conf, guest, host, tmp_path / "inline", 1)
    monkeypatch.setattr("fate_flow.computing.table.INLINE_ROWS", 0)
    monkeypatch.setattr("fate_flow.components.linear_model.partitioned.MESSAGE_ROWS", 5)
    pooled = fit_on_partitions(conf, guest, host, tmp_path / "pool", 16, cores=2)
    messages = {tag.split(".")[3] for name, tag, *_ in pooled[("host", HOST)]["federation"].received
                if name.endswith("fore_gradient")}
    assert len(messages) > 16  # more messages than partitions: partitions were cut into pieces
    (inline_g, (inline_h,)), (pooled_g, (pooled_h,)) = federated_weights(inline), federated_weights(pooled)
    np.testing.assert_allclose(pooled_g, inline_g, rtol=0, atol=1e-9)
    np.testing.assert_allclose(pooled_h, inline_h, rtol=0, atol=1e-9)
    np.testing.assert_allclose(arbiter_losses(pooled), arbiter_losses(inline), rtol=0, atol=1e-9)


def test_empty_partitions_train_and_predict(breast, tmp_path):
    """20 rows in 16 partitions: some partitions (and some partitions' batches) have no rows."""
    guest, host = breast
    guest, host = guest.take(np.arange(20)), host.take(np.arange(20))
    conf = {**seeded_example_conf(), "max_iter": 2, "batch_size": 10}
    one = fit_on_partitions(conf, guest, host, tmp_path / "one", 1)
    sixteen = fit_on_partitions(conf, guest, host, tmp_path / "sixteen", 16)
    (one_g, (one_h,)), (six_g, (six_h,)) = federated_weights(one), federated_weights(sixteen)
    np.testing.assert_allclose(six_g, one_g, rtol=0, atol=1e-9)
    np.testing.assert_allclose(six_h, one_h, rtol=0, atol=1e-9)
    blocks = sixteen[("guest", GUEST)]["output"].data.blocks()
    assert sum(block.num_rows for block in blocks) == 20 and min(block.num_rows for block in blocks) == 0


def test_train_data_of_other_ids_stops_the_fit_naming_the_partition(breast, tmp_path):
    guest, host = breast
    fewer = host.take(np.arange(1, len(host)))
    inputs = {"guest": {"data": {"train_data": store(guest, "g")}}, "host": {"data": {"train_data": store(fewer, "h")}},
              "arbiter": {"data": {"train_data": None}}}
    with pytest.raises(ValueError, match=r"partition 0 holds other ids than on host 10000 \(569 rows here, 568"):
        run_parties({"max_iter": 1}, inputs, timeout=5.0)


def test_two_hosts_give_the_one_host_model(breast):
    guest, host = breast
    conf = {"optimizer": "nesterov_momentum_sgd", "max_iter": 5, "batch_size": -1, "learning_rate": 0.15,
            "early_stop": "weight_diff", "tol": 1e-4, "init_param": {"init_method": "zeros"}}
    left, right = host.select_features(list(range(10))), host.select_features(list(range(10, 20)))
    inputs = train_inputs(guest, host)
    inputs[("host", 0)] = {"data": {"train_data": store(left, "h1")}}
    inputs[("host", 1)] = {"data": {"train_data": store(right, "h2")}}
    runs = run_parties(conf, inputs, hosts=(HOST, HOST2))
    single = run_parties(conf, train_inputs(guest, host))
    fed_g, (fed_h1, fed_h2) = federated_weights(runs, hosts=(HOST, HOST2))
    one_g, (one_h,) = federated_weights(single)
    np.testing.assert_allclose(fed_g, one_g, atol=1e-9)
    np.testing.assert_allclose(np.concatenate([fed_h1, fed_h2]), one_h, atol=1e-9)
    assert model_of(runs, "host", HOST2)["header"] == [f"x{i}" for i in range(10, 20)]
    assert arbiter_losses(runs) == []  # as FATE: no loss with several hosts
    np.testing.assert_allclose(guest_scores(runs[("guest", GUEST)]["output"])[1],
                               guest_scores(single[("guest", GUEST)]["output"])[1], atol=1e-9)


def test_several_hosts_refuse_loss_based_early_stop(breast):
    guest, host = breast
    inputs = train_inputs(guest, host)
    with pytest.raises(ValueError, match="weight_diff"):
        run_parties({"early_stop": "diff"}, inputs, hosts=(HOST, HOST2))


@pytest.mark.parametrize("early_stop, tol, iters", [("abs", 10.0, 1), ("diff", 0.5, 2), ("weight_diff", 10.0, 1),
                                                    ("diff", 1e-12, 4)])
def test_early_stop_criteria(breast, early_stop, tol, iters):
    guest, host = breast
    conf = {"early_stop": early_stop, "tol": tol, "max_iter": 4, "batch_size": -1, "optimizer": "sgd",
            "learning_rate": 0.1, "init_param": {"init_method": "zeros"}}
    runs = run_parties(conf, train_inputs(guest, host))
    converged = iters < 4
    for role, party in (("guest", GUEST), ("host", HOST)):
        assert model_of(runs, role, party)["iters"] == iters
        assert model_of(runs, role, party)["is_converged"] is converged
    arbiter = runs[("arbiter", ARBITER)]["component"]
    assert (arbiter.n_iter_, arbiter.is_converged_) == (iters, converged)
    assert len(arbiter_losses(runs)) == iters


def renamed(instances: Instances, rows: np.ndarray, prefix: str) -> Instances:
    part = instances.take(rows)
    ids = pa.array([prefix + i for i in part.ids.to_pylist()], type=pa.string())
    return Instances(ids=ids, features=part.features, labels=part.labels, header=part.header,
                     sid_name=part.sid_name, label_name=part.label_name)


def test_train_validate_then_a_predict_job_with_the_saved_model(breast):
    guest, host = breast
    conf = {"optimizer": "nesterov_momentum_sgd", "max_iter": 4, "batch_size": -1, "learning_rate": 0.15,
            "early_stop": "weight_diff", "tol": 1e-4, "init_param": {"init_method": "zeros"}}
    rows = np.arange(0, 569, 5)
    eval_guest, eval_host = renamed(guest, rows, "e"), renamed(host, rows[::-1], "e")  # host: its own order
    inputs = train_inputs(guest, host)
    inputs["guest"]["data"]["eval_data"] = store(eval_guest, "ge")
    inputs["host"]["data"]["eval_data"] = store(eval_host, "he")
    inputs["arbiter"]["data"]["eval_data"] = None
    runs = run_parties(conf, inputs)
    out = runs[("guest", GUEST)]["output"]
    labels, scores, types = guest_scores(out, guest.ids.to_pylist() + eval_guest.ids.to_pylist())
    assert types == ["train"] * len(guest) + ["validate"] * len(rows)
    np.testing.assert_allclose(scores[len(guest):], scores[rows])  # same rows, same scores
    np.testing.assert_array_equal(labels[len(guest):], guest.labels[rows])
    tags = {tag.split(".")[0] for name, tag, _, _, _ in runs[("guest", GUEST)]["federation"].received
            if name.endswith("host_prob")}
    assert tags == {"validate", "predict"}

    models = {role: {"hetero_lr_0": runs[(role, party)]["output"].model}
              for role, party in (("guest", GUEST), ("host", HOST), ("arbiter", ARBITER))}
    reordered = eval_host.select_features(list(range(19, -1, -1)))  # columns by name, not position
    predict_inputs = {"guest": {"model": models["guest"], "data": {"eval_data": store(eval_guest, "pg")}},
                      "host": {"model": models["host"], "data": {"eval_data": store(reordered, "ph")}},
                      "arbiter": {"model": models["arbiter"], "data": {"eval_data": None}}}
    predicted = run_parties(conf, predict_inputs)
    p_labels, p_scores, p_types = guest_scores(predicted[("guest", GUEST)]["output"], eval_guest.ids.to_pylist())
    assert p_types == ["predict"] * len(rows)
    np.testing.assert_allclose(p_scores, scores[len(guest):], atol=1e-12)
    assert predicted[("guest", GUEST)]["output"].model == models["guest"]["hetero_lr_0"]
    assert predicted[("host", HOST)]["output"].data is None
    assert [name for name, *_ in predicted[("host", HOST)]["federation"].received] == []


def test_eval_data_equal_to_train_data_is_output_once(breast):
    guest, host = breast
    conf = {"max_iter": 1, "batch_size": -1, "init_param": {"init_method": "zeros"}}
    runs = run_parties(conf, train_inputs(guest, host, eval_data=True))
    _, _, types = guest_scores(runs[("guest", GUEST)]["output"])
    assert types == ["train"] * len(guest)  # FATE's union keeps the first row of an id


def guest_alone(conf: dict, inputs: dict):
    roles = {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]}
    federation = MemoryFederation("alone", "guest", GUEST, roles, {"board": MemoryBoard(), "timeout": 1})
    ctx = ComponentContext(job_id="job", task_id="alone", component_name="hetero_lr_0", role="guest",
                           party_id=GUEST, roles=roles, federation=federation, tracker=FakeTracker(),
                           logger=quiet_logger("guest"))
    tracked(ctx)
    return HeteroLRGuest(HeteroLogisticParam().update(DEFAULT_CONF).update(conf)).run(ctx, inputs)


def test_refusals_name_the_problem(breast):
    guest, host = breast
    with pytest.raises(ValueError, match="no label"):
        guest_alone({}, {"data": {"train_data": store(host)}})
    with pytest.raises(ValueError, match="no model"):
        guest_alone({}, {"data": {"eval_data": store(guest)}})
    with pytest.raises(ValueError, match="train_data, eval_data or data"):
        guest_alone({}, {"data": {}})
    model = {"HeteroLogisticRegressionMeta": {"fit_intercept": True},
             "HeteroLogisticRegressionParam": {"header": ["x0", "zz"], "weight": {"x0": 1.0, "zz": 2.0},
                                               "intercept": 0.5}}
    with pytest.raises(ValueError, match="no feature 'zz'"):
        guest_alone({}, {"model": {"hetero_lr_0": model}, "data": {"eval_data": store(guest)}})


# ----------------------------------------------------------------------------- end to end

HETERO_EXAMPLE = ROOT / "examples" / "federatedml-1.x-examples" / "hetero_logistic_regression"


def test_fate_example_through_a_real_server_then_its_predict_job(flow_server):
    """DataIO -> Intersection -> HeteroLR (30 iterations, 1024-bit keys) -> Evaluation, as FATE ships it."""
    server = flow_server(conf={"federation": {"timeout": 300}})
    upload_breast_hetero(server, "experiment")
    dsl = json.loads((HETERO_EXAMPLE / "test_hetero_lr_train_job_dsl.json").read_text())
    conf = json.loads((HETERO_EXAMPLE / "test_hetero_lr_train_job_conf.json").read_text())
    submitted = server.post("/v1/job/submit", {"job_dsl": dsl, "job_runtime_conf": conf})
    assert submitted["retcode"] == 0, submitted
    job_id = submitted["jobId"]
    job = server.wait_job(job_id, timeout=300)
    assert job["f_status"] == "success", job["f_status_reason"]

    def ask(path, component, role, **extra):
        return server.post(path, {"job_id": extra.pop("job", job_id), "component_name": component, "role": role,
                                  "party_id": 10000, **extra})

    metrics = ask("/v1/tracking/component/metric/all", "evaluation_0", "guest")
    assert dict(metrics["data"]["train"]["hetero_lr_0"]["data"])["auc"] >= 0.98
    loss = ask("/v1/tracking/component/metric/all", "hetero_lr_0", "arbiter")["data"]["train"]["loss"]
    assert loss["meta"]["metric_type"] == "LOSS" and loss["meta"]["unit_name"] == "iters"
    assert 1 <= len(loss["data"]) <= 30
    model = ask("/v1/tracking/component/output/model", "hetero_lr_0", "guest")
    assert model["data"]["header"] == [f"x{i}" for i in range(10)] and "intercept" in model["data"]
    assert model["meta"]["module_name"] == "HeteroLR"
    host_model = ask("/v1/tracking/component/output/model", "hetero_lr_0", "host")
    assert len(host_model["data"]["weight"]) == 20 and "intercept" not in host_model["data"]
    rows = ask("/v1/tracking/component/output/data", "hetero_lr_0", "guest")
    assert rows["meta"]["total"] == 569
    assert [len(row) for row in rows["data"]] == [6] * len(rows["data"]) and rows["data"][0][-1] == "train"

    predict_conf = json.loads((HETERO_EXAMPLE / "test_predict_conf.json").read_text())
    predict_conf["job_parameters"].update(submitted["data"]["model_info"])
    answer = server.post("/v1/job/submit", {"job_dsl": {}, "job_runtime_conf": predict_conf})
    assert answer["retcode"] == 0, answer
    predict_id = answer["jobId"]
    job = server.wait_job(predict_id, timeout=120)
    assert job["f_status"] == "success", job["f_status_reason"]
    predicted = ask("/v1/tracking/component/output/data", "hetero_lr_0", "guest", job=predict_id)
    assert predicted["meta"]["total"] == 569 and {row[-1] for row in predicted["data"]} == {"predict"}
    trained = {row[0]: row[3] for row in rows["data"]}
    assert all(trained[row[0]] == row[3] for row in predicted["data"] if row[0] in trained)


def test_message_groups_pack_small_partitions_and_cut_big_ones():
    from fate_flow.components.linear_model.partitioned import message_groups, message_parts

    assert message_groups(np.array([1, 1, 0, 1, 1, 4]), 10) == [[(0, 0), (1, 0), (3, 0), (4, 0)], [(5, 0)]]
    # never one message for a whole batch of several pieces: the parties overlap their work over two at least
    assert message_groups(np.array([3, 0, 4, 2]), 10) == [[(0, 0)], [(2, 0)], [(3, 0)]]
    assert message_groups(np.array([142, 142, 142, 143]), 50_000) == [[(0, 0), (1, 0)], [(2, 0), (3, 0)]]
    assert message_groups(np.array([569]), 50_000) == [[(0, 0)]]
    assert message_groups(np.array([12, 3, 9]), 10) == [[(0, 0)], [(0, 1), (1, 0)], [(2, 0)]]
    assert message_groups(np.array([0, 0]), 10) == []
    with pytest.raises(ValueError, match=r"fore_gradient should hold one part per piece of the message \(2\), got 1"):
        message_parts([b"x"], 2, "fore_gradient")
