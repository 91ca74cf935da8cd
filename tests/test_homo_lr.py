"""HomoLR: parameters, the secure aggregation, the three roles over the memory federation, and
what the arbiter gets to see.

The clients run as threads over one MemoryBoard. Their inputs are the breast homo tables
stored as DataIO would store them (y + x0..x29): guest 227 rows, host 228 rows; the
held-out breast_homo_test.csv (114 rows) is scored with the exported model.
"""
from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from fate_flow.components import ComponentContext, get_spec
from fate_flow.components.homo_lr import secure_aggregation as sa
from fate_flow.components.homo_lr.arbiter import HomoLRArbiter
from fate_flow.components.homo_lr.base import MODEL_META, MODEL_PARAM
from fate_flow.components.homo_lr.client import HomoLRGuest, HomoLRHost, parse_predict_detail
from fate_flow.components.homo_lr.param import HomoLogisticParam
from fate_flow.computing import ComputingConf, Instances, create_session
from fate_flow.federation.memory import MemoryBoard, MemoryFederation
from tests.component_harness import (  # noqa: I001
    close_contexts, tracked,
    DATA, FakeTracker, RecordingFederation, quiet_logger, read_csv, run_in_threads, store,
)

GUEST, HOST, HOST2, ARBITER = 9999, 10000, 10001, 10002

# algorithm_parameters.homo_lr_0 of
# examples/federatedml-1.x-examples/homo_logistic_regression/test_homolr_train_job_conf.json
EXAMPLE_CONF = {
    "penalty": "L2", "optimizer": "sgd", "eps": 1e-05, "alpha": 0.01, "max_iter": 3, "converge_func": "diff",
    "batch_size": 500, "learning_rate": 0.15, "decay": 1, "decay_sqrt": True,
    "init_param": {"init_method": "zeros"}, "encrypt_param": {"method": "Paillier"},
    "cv_param": {"n_splits": 4, "shuffle": True, "random_seed": 33, "need_cv": False},
}
PLAIN = {"encrypt_param": {"method": None}}


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(autouse=True)
def _end_computing_sessions():
    """Each party's computing session (its workers and spill files) ends with the test that started it."""
    yield
    close_contexts()


@pytest.fixture(scope="module")
def breast():
    return {name: read_csv(DATA / f"breast_homo_{name}.csv") for name in ("guest", "host", "test")}


class TruthRecording:
    """Mixin: keeps the clear [w * degree, degree] a client masks, for the test to compare."""

    def mask_model(self, masker, weights, degree, n_iter):
        self.clear_models = getattr(self, "clear_models", [])
        self.clear_models.append(np.append(weights * degree, float(degree)))
        return super().mask_model(masker, weights, degree, n_iter)


class RecordingGuest(TruthRecording, HomoLRGuest):
    pass


class RecordingHost(TruthRecording, HomoLRHost):
    pass


def run_parties(conf: dict, inputs: dict, hosts=(HOST,), timeout=30.0, classes=None, expect_errors=False,
                computing=None):
    """Run guest, hosts and arbiter in threads; ``inputs`` maps role (or ("host", i)) to its inputs;
    ``computing`` (a ComputingConf) gives each party a computing session of its own.

    Returns {(role, party): {"output" or "error", "component", "ctx", "federation"}}; re-raises
    the first error unless ``expect_errors``.
    """
    classes = {"guest": HomoLRGuest, "host": HomoLRHost, "arbiter": HomoLRArbiter, **(classes or {})}
    roles = {"guest": [GUEST], "host": list(hosts), "arbiter": [ARBITER]}
    board, task_id = MemoryBoard(), f"task_{uuid.uuid4().hex[:8]}"
    parties = [("guest", GUEST, inputs.get("guest", {}))]
    parties += [("host", party, inputs.get(("host", i), inputs.get("host", {}))) for i, party in enumerate(hosts)]
    parties.append(("arbiter", ARBITER, inputs.get("arbiter", {})))
    runs = {}
    for role, party, party_inputs in parties:
        federation = RecordingFederation(task_id, role, party, roles, {"board": board, "timeout": timeout})
        ctx = ComponentContext(job_id="job", task_id=task_id, component_name="homo_lr_0", role=role,
                               party_id=party, roles=roles, federation=federation, tracker=FakeTracker(),
                               logger=quiet_logger(role),
                               computing_opener=None if computing is None else lambda: create_session(computing))
        tracked(ctx)
        params = get_spec("HomoLR").default_params().update(conf)
        runs[(role, party)] = {"component": classes[role](params), "ctx": ctx, "inputs": party_inputs,
                               "federation": federation}

    errors = run_in_threads(runs, timeout)
    if not expect_errors:
        if errors:
            raise errors[0]
        assert board.pending() == [], "a message was sent but never received"
    return runs


def train_inputs(breast, eval_data: bool = False) -> dict:
    inputs = {"guest": {"data": {"train_data": store(breast["guest"], "g")}},
              "host": {"data": {"train_data": store(breast["host"], "h")}},
              "arbiter": {"data": {"train_data": None}}}
    if eval_data:
        for role in ("guest", "host"):
            inputs[role]["data"]["eval_data"] = store(breast["test"], f"{role}_test")
    return inputs


def output_rows(output) -> list[list[str]]:
    """The fields of the output Table's rows, in its (partition, id) order."""
    return [value.split(",") for value in output.data.collect().column("value").to_pylist()]


def scores_of(output) -> tuple[np.ndarray, np.ndarray]:
    rows = output_rows(output)
    return np.array([float(r[0]) for r in rows]), np.array([float(r[2]) for r in rows])


def model_weights(model: dict) -> tuple[np.ndarray, float]:
    param = model[MODEL_PARAM]
    return np.array([param["weight"][name] for name in param["header"]]), param["intercept"]


def reference_fedavg(parties: list[Instances], conf: dict) -> np.ndarray:
    """An independent replay of the protocol in plain numpy: full-batch sgd with L2, averaged each epoch."""
    lr, alpha, weights = conf["learning_rate"], conf["alpha"], np.zeros(parties[0].n_features + 1)
    sizes = np.array([len(p) for p in parties], dtype=np.float64)
    for t in range(conf["max_iter"]):
        local = []
        for part in parties:
            x = np.hstack([part.features, np.ones((len(part), 1))])
            y = np.where(part.labels == 1, 1.0, -1.0)
            grad = ((1.0 / (1.0 + np.exp(-y * (x @ weights))) - 1.0) * y) @ x / len(y)
            grad[:-1] += alpha * weights[:-1]
            local.append(weights - lr / np.sqrt(1 + t) * grad)
        weights = (np.array(local) * sizes[:, None]).sum(axis=0) / sizes.sum()
    return weights


# ----------------------------------------------------------------------------- parameters

def test_registry_and_fates_effective_defaults():
    spec = get_spec("HomoLR")
    assert spec.roles == {"guest", "host", "arbiter"} and spec.need_deploy
    assert spec.param_type() is HomoLogisticParam and spec.param_name() == "HomoLogisticParam"
    assert spec.program("guest") is HomoLRGuest and spec.program("arbiter") is HomoLRArbiter
    params = spec.default_params()
    params.check()
    assert (params.alpha, params.batch_size, params.init_param.init_method) == (0.01, 320, "random_normal")
    assert (params.encrypt_param.method, params.encrypt_param.key_length) == ("Paillier", 1024)
    assert (params.re_encrypt_batches, params.aggregate_iters, params.tol, params.early_stop) == (2, 1, 1e-5, "diff")
    assert HomoLogisticParam().alpha == 1.0 and HomoLogisticParam().batch_size == -1
    merged = spec.default_params().update(EXAMPLE_CONF).to_dict()
    assert "eps" not in merged and "converge_func" not in merged, "keys that are no attribute are dropped"
    assert merged["max_iter"] == 3 and merged["init_param"]["init_method"] == "zeros"


@pytest.mark.parametrize("conf, named", [
    ({"penalty": "L3"}, "penalty 'L3'"),
    ({"optimizer": "sqn"}, "'sqn' is supported for hetero mode only"),
    ({"optimizer": "lbfgs", **PLAIN}, "optimizer 'lbfgs'"),
    ({"optimizer": "adam"}, "Paillier encryption mode (encrypt_param.method) supports 'sgd' only"),
    ({"penalty": "L1"}, "penalty 'L1': Paillier"),
    ({"batch_size": 5}, "batch_size 5"),
    ({"max_iter": 0}, "max_iter 0"),
    ({"aggregate_iters": 0}, "aggregate_iters 0"),
    ({"aggregate_iters": 1.5}, "aggregate_iters 1.5"),
    ({"re_encrypt_batches": -1}, "re_encrypt_batches -1"),
    ({"early_stop": "loss"}, "early_stop 'loss'"),
    ({"learning_rate": 0}, "learning_rate 0"),
    ({"alpha": "big"}, "alpha 'big'"),
    ({"tol": None}, "tol None"),
    ({"decay_sqrt": "yes"}, "decay_sqrt 'yes'"),
    ({"multi_class": "ovo"}, "multi_class 'ovo'"),
    ({"encrypt_param": {"method": "RSA"}}, "encrypt_param.method 'RSA'"),
    ({"encrypt_param": {"key_length": "long"}}, "encrypt_param.key_length 'long'"),
    ({"init_param": {"init_method": "xavier"}}, "init_param.init_method 'xavier'"),
    ({"init_param": {"fit_intercept": "yes"}}, "init_param.fit_intercept 'yes'"),
    ({"predict_param": {"threshold": 2}}, "predict_param.threshold 2"),
    ({"cv_param": {"n_splits": 1}}, "cv_param.n_splits 1"),
    ({"early_stopping_rounds": 3}, "validation_freqs must be set"),
    ({"metrics": "auc"}, "metrics 'auc'"),
])
def test_bad_parameters_are_named(conf, named):
    params = get_spec("HomoLR").default_params().update(conf)
    with pytest.raises(ValueError) as error:
        params.check()
    assert named in str(error.value)


def test_choices_are_normalised():
    params = get_spec("HomoLR").default_params().update(
        {"penalty": "l2", "optimizer": "ADAM", "early_stop": "Weight_Diff", "encrypt_param": {"method": None}})
    params.check()
    assert (params.penalty, params.optimizer, params.early_stop) == ("L2", "adam", "weight_diff")
    paillier = get_spec("HomoLR").default_params().update({"encrypt_param": {"method": "paillier"}})
    paillier.check()
    assert paillier.encrypt_param.method == "Paillier"


# ----------------------------------------------------------------------------- secure aggregation

def test_pairwise_masks_cancel_exactly_and_hide_each_vector():
    keys = [sa.DiffieHellmanKey() for _ in range(3)]
    maskers = [sa.PairwiseMasker(i, {j: keys[i].shared_key(keys[j].public_key) for j in range(3) if j != i})
               for i in range(3)]
    values = [np.array([1.5, -2.25, 1e6, 0.0]), np.array([-0.5, 3.0, -1e6, 1e-7]), np.array([2.0, 0.0, 7.0, -3.0])]
    masked = [m.mask(v, "model.0") for m, v in zip(maskers, values)]
    assert np.allclose(sa.unmask_sum(masked, "model"), np.sum(values, axis=0), rtol=0, atol=3 * 2.0 ** -24)
    for clear, hidden in zip(values, masked):
        assert np.abs(sa.decode_fixed_point(hidden) - clear).min() > 1e3
    assert not np.array_equal(maskers[0].mask(values[0], "model.1"), masked[0]), "a new label gives new masks"
    with pytest.raises(ValueError, match="has 3 values, client 0 sent 4"):
        sa.unmask_sum([masked[0], masked[1][:3]], "model")


def test_dh_public_keys_are_checked():
    key = sa.DiffieHellmanKey()
    # p - 2 is a quadratic non-residue (p = 7 mod 8), so it lies outside the prime-order subgroup
    for bad in (0, 1, sa.DH_PRIME - 1, sa.DH_PRIME - 2, sa.DH_PRIME + 5, "7", True):
        with pytest.raises(ValueError, match="not an element"):
            key.shared_key(bad)
    other = sa.DiffieHellmanKey()
    assert key.shared_key(other.public_key) == other.shared_key(key.public_key)


def test_fixed_point_refuses_what_would_overflow_or_diverged():
    with pytest.raises(ValueError, match="too large"):
        sa.encode_fixed_point(np.array([2.0 ** 40]), n_clients=2)
    with pytest.raises(ValueError, match="not finite"):
        sa.encode_fixed_point(np.array([np.nan]), n_clients=2)


# ----------------------------------------------------------------------------- training

def test_example_conf_reaches_fates_auc_and_logs_the_loss_on_the_arbiter(breast):
    runs = run_parties(EXAMPLE_CONF, train_inputs(breast))
    guest, host, arbiter = runs[("guest", GUEST)], runs[("host", HOST)], runs[("arbiter", ARBITER)]
    for entry, name in ((guest, "guest"), (host, "host")):
        labels, scores = scores_of(entry["output"])
        assert len(labels) == len(breast[name]) and roc_auc_score(labels, scores) >= 0.98
    weights, intercept = model_weights(guest["output"].model)
    assert model_weights(host["output"].model)[0].tolist() == weights.tolist(), "both hold the aggregated model"
    test = breast["test"]
    assert roc_auc_score(test.labels, test.features @ weights + intercept) >= 0.98
    expected = reference_fedavg([breast["guest"], breast["host"]], EXAMPLE_CONF)
    assert np.allclose(np.append(weights, intercept), expected, atol=1e-6)

    tracker = arbiter["ctx"].tracker
    assert tracker.metas == [("train", "loss", {"name": "train", "metric_type": "LOSS", "unit_name": "iters"})]
    logged = [point for namespace, name, data in tracker.metrics for point in data]
    assert [key for key, _ in logged] == [0, 1, 2]
    losses = [value for _, value in logged]
    assert losses[0] > losses[1] > losses[2] and tracker.progress[-1] == 100
    assert guest["ctx"].tracker.metrics == [] and host["ctx"].tracker.metrics == []
    arbiter_param = arbiter["output"].model[MODEL_PARAM]
    assert arbiter_param["loss_history"] == losses and arbiter_param["weight"] == {}
    assert arbiter["output"].data is None


def test_model_messages_and_predict_rows(breast):
    runs = run_parties(EXAMPLE_CONF, train_inputs(breast))
    output = runs[("guest", GUEST)]["output"]
    assert set(output.model) == {MODEL_META, MODEL_PARAM}
    param, meta = output.model[MODEL_PARAM], output.model[MODEL_META]
    assert {"weight", "intercept", "header", "iters", "loss_history", "is_converged"} <= set(param)
    assert param["header"] == [f"x{i}" for i in range(30)] and list(param["weight"]) == param["header"]
    assert param["iters"] == 3 and len(param["loss_history"]) == 3 and param["is_converged"] is False
    assert meta["optimizer"] == "sgd" and meta["fit_intercept"] is True and meta["re_encrypt_batches"] == 2
    assert output.data.schema == {"header": "label,predict_result,predict_score,predict_detail,type", "sid": "id"}
    assert sorted(output.data.collect().column("id").to_pylist()) == sorted(breast["guest"].ids.to_pylist())
    for row in output_rows(output)[:20]:
        label, result, score, detail, kind = row
        detail = parse_predict_detail(detail)
        assert set(detail) == {"0", "1"} and detail["1"] == float(score)
        assert abs(detail["0"] + detail["1"] - 1) < 1e-12 and kind == "train"
        assert result == ("1" if float(score) > 0.5 else "0") and label in ("0", "1")


def test_the_arbiter_never_receives_an_unmasked_model(breast):
    conf = {**EXAMPLE_CONF, "max_iter": 2}
    runs = run_parties(conf, train_inputs(breast), classes={"guest": RecordingGuest, "host": RecordingHost})
    guest, host = runs[("guest", GUEST)], runs[("host", HOST)]
    arbiter_fed = runs[("arbiter", ARBITER)]["federation"]
    received = {}
    for name, tag, src_role, _, obj in arbiter_fed.received:
        received.setdefault(name.rsplit(".", 1)[1], []).append((tag, src_role, obj))
    assert set(received) == {"dh_ciphertext", "model", "loss"}
    for _, _, entry in received["dh_ciphertext"]:
        assert set(entry) == {"public_key", "header_digest"}
    for round_index in range(2):
        masked = {role: obj for tag, role, obj in received["model"] if tag == f"fit.{round_index}"}
        truths = {"guest": guest["component"].clear_models[round_index],
                  "host": host["component"].clear_models[round_index]}
        for role, obj in masked.items():
            assert obj.dtype == np.uint64
            seen = sa.decode_fixed_point(obj)
            assert np.abs(seen - truths[role]).min() > 1e3, f"the {role}'s model reached the arbiter in the clear"
        total = sa.unmask_sum([masked["guest"], masked["host"]], "model")
        assert np.allclose(total, truths["guest"] + truths["host"], atol=1e-6)
        sent = [obj for name, tag, _, _, obj in arbiter_fed.sent
                if name.endswith("aggregated_model") and tag == f"fit.{round_index}"]
        expected = (truths["guest"][:-1] + truths["host"][:-1]) / (truths["guest"][-1] + truths["host"][-1])
        assert len(sent) == 2 and all(np.allclose(s, expected, atol=1e-9) for s in sent)
    n_guest, n_host = len(breast["guest"]), len(breast["host"])
    assert guest["component"].clear_models[0][-1] == n_guest and host["component"].clear_models[0][-1] == n_host
    for _, _, obj in received["loss"]:
        assert obj.dtype == np.uint64 and abs(sa.decode_fixed_point(obj)[1]) not in (n_guest, n_host)


def test_every_optimizer_reduces_the_loss(breast):
    histories = {}
    for optimizer in ("sgd", "adam", "rmsprop", "adagrad", "nesterov_momentum_sgd"):
        conf = {**PLAIN, "optimizer": optimizer, "max_iter": 8, "batch_size": 64, "learning_rate": 0.15,
                "early_stop": "abs", "tol": 0.0, "init_param": {"init_method": "random_normal", "random_seed": 7}}
        runs = run_parties(conf, train_inputs(breast))
        losses = runs[("arbiter", ARBITER)]["output"].model[MODEL_PARAM]["loss_history"]
        assert len(losses) == 8 and losses == sorted(losses, reverse=True), optimizer
        assert losses[-1] < 0.6 * losses[0], optimizer
        histories[optimizer] = tuple(losses)
    assert len(set(histories.values())) == 5, "each optimizer takes its own steps"


@pytest.mark.parametrize("penalty", ["L1", "none"])
def test_other_penalties_train(breast, penalty):
    conf = {**PLAIN, "penalty": penalty, "alpha": 0.05, "max_iter": 5, "learning_rate": 0.15,
            "init_param": {"init_method": "zeros"}, "early_stop": "abs", "tol": 0.0}
    runs = run_parties(conf, train_inputs(breast))
    losses = runs[("arbiter", ARBITER)]["output"].model[MODEL_PARAM]["loss_history"]
    assert losses == sorted(losses, reverse=True) and losses[-1] < losses[0]
    weights, _ = model_weights(runs[("guest", GUEST)]["output"].model)
    if penalty == "L1":
        assert (weights == 0).sum() > 0, "L1 shrinks some coefficients to zero"


@pytest.mark.parametrize("early_stop, tol, iters", [("diff", 1.0, 2), ("abs", 1.0, 1), ("weight_diff", 10.0, 2)])
def test_the_arbiter_stops_everyone_on_convergence(breast, early_stop, tol, iters):
    conf = {**EXAMPLE_CONF, "max_iter": 10, "early_stop": early_stop, "tol": tol}
    runs = run_parties(conf, train_inputs(breast))
    for entry in runs.values():
        param = entry["output"].model[MODEL_PARAM]
        assert param["is_converged"] is True and param["iters"] == iters and len(param["loss_history"]) == iters


def test_aggregate_iters_spaces_the_rounds(breast):
    conf = {**EXAMPLE_CONF, "max_iter": 5, "aggregate_iters": 2}
    runs = run_parties(conf, train_inputs(breast))
    logged = [key for _, _, data in runs[("arbiter", ARBITER)]["ctx"].tracker.metrics for key, _ in data]
    assert logged == [1, 3, 4], "every 2 epochs, and after the last one"
    tags = sorted({tag for name, tag, _, _, _ in runs[("guest", GUEST)]["federation"].sent if name.endswith(".model")})
    assert tags == ["fit.1", "fit.3", "fit.4"]


def test_three_clients_aggregate_by_sample_count(breast):
    host = breast["host"]
    first, second = host.take(np.arange(0, 100)), host.take(np.arange(100, len(host)))
    inputs = train_inputs(breast)
    inputs[("host", 0)] = {"data": {"train_data": store(first, "h0")}}
    inputs[("host", 1)] = {"data": {"train_data": store(second, "h1")}}
    runs = run_parties(EXAMPLE_CONF, inputs, hosts=(HOST, HOST2))
    weights, intercept = model_weights(runs[("host", HOST2)]["output"].model)
    expected = reference_fedavg([breast["guest"], first, second], EXAMPLE_CONF)
    assert np.allclose(np.append(weights, intercept), expected, atol=1e-6)


@pytest.mark.parametrize("batch_size, pool", [(-1, False), (64, False), (64, True)])
def test_one_and_sixteen_partitions_give_the_same_model(breast, batch_size, pool, monkeypatch):
    """Batches by id hash, gradients and losses summed in partition order: 16 partitions (inline or on the
    pool) train the model one partition does."""
    conf = {**PLAIN, "max_iter": 3, "batch_size": batch_size, "optimizer": "adam",
            "init_param": {"init_method": "random_normal", "random_seed": 7}}
    one = run_parties(conf, train_inputs(breast), computing=ComputingConf(partitions=1))
    if pool:
        monkeypatch.setattr("fate_flow.computing.table.INLINE_ROWS", 0)
    sixteen = run_parties(conf, train_inputs(breast), computing=ComputingConf(partitions=16, cores=2 if pool else 1))
    for party in ((("guest", GUEST)), ("host", HOST)):
        w1, b1 = model_weights(one[party]["output"].model)
        w16, b16 = model_weights(sixteen[party]["output"].model)
        np.testing.assert_allclose(np.append(w16, b16), np.append(w1, b1), rtol=0, atol=1e-9)
        assert sixteen[party]["output"].data.partitions == 16
        by_id = {}
        for runs in (one, sixteen):
            block = runs[party]["output"].data.collect()
            by_id[len(by_id)] = dict(zip(block.column("id").to_pylist(), block.column("value").to_pylist()))
        assert by_id[0].keys() == by_id[1].keys()
        np.testing.assert_allclose([float(by_id[1][k].split(",")[2]) for k in by_id[0]],
                                   [float(v.split(",")[2]) for v in by_id[0].values()], rtol=0, atol=1e-9)
    losses = [runs[("arbiter", ARBITER)]["output"].model[MODEL_PARAM]["loss_history"] for runs in (one, sixteen)]
    np.testing.assert_allclose(losses[1], losses[0], rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- predicting

def test_train_and_eval_data_then_a_predict_job_with_the_model(breast):
    runs = run_parties(EXAMPLE_CONF, train_inputs(breast, eval_data=True))
    guest_output = runs[("guest", GUEST)]["output"]
    kinds = [row[4] for row in output_rows(guest_output)]
    assert kinds == ["train"] * len(breast["guest"]) + ["validate"] * len(breast["test"])
    validate_scores = [float(row[2]) for row in output_rows(guest_output) if row[4] == "validate"]

    models = {role: runs[(role, party)]["output"].model for role, party in
              (("guest", GUEST), ("host", HOST), ("arbiter", ARBITER))}
    predict_inputs = {role: {"data": {"eval_data": store(breast["test"], f"{role}_p")},
                             "model": {"homo_lr_0": models[role]}} for role in ("guest", "host")}
    predict_inputs["arbiter"] = {"data": {"eval_data": None}, "model": {"homo_lr_0": models["arbiter"]}}
    predicted = run_parties(EXAMPLE_CONF, predict_inputs)
    rows = output_rows(predicted[("guest", GUEST)]["output"])
    assert {row[4] for row in rows} == {"predict"} and [float(r[2]) for r in rows] == validate_scores
    assert predicted[("arbiter", ARBITER)]["output"].data is None
    assert all(entry["federation"].sent == [] for entry in predicted.values()), "predicting is local"
    assert predicted[("guest", GUEST)]["output"].model == models["guest"]


def test_predict_reads_the_models_feature_order(breast):
    runs = run_parties(EXAMPLE_CONF, train_inputs(breast))
    model = runs[("guest", GUEST)]["output"].model
    test = breast["test"]
    reversed_columns = test.select_features(list(range(29, -1, -1)))
    component = HomoLRGuest(get_spec("HomoLR").default_params().update(EXAMPLE_CONF))
    component.load_model(model)
    roles = {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]}
    component.ctx = ComponentContext(job_id="j", task_id="t", component_name="homo_lr_0", role="guest",
                                     party_id=GUEST, roles=roles, federation=None, tracker=FakeTracker())
    tracked(component.ctx)

    def scores(table):
        return [row.split(",")[2] for row in component.predict(table, "predict").collect().column("value").to_pylist()]

    straight, shuffled = scores(store(test, "a")), scores(store(reversed_columns, "b"))
    assert np.allclose(np.array(straight, dtype=float), np.array(shuffled, dtype=float), atol=1e-12)
    with pytest.raises(ValueError, match="no feature 'x29'"):
        component.predict(store(test.select_features(list(range(29))), "c"), "predict")


# ----------------------------------------------------------------------------- refusals

def test_different_headers_fail_every_party(breast):
    inputs = train_inputs(breast)
    shuffled = breast["host"].select_features([1, 0, *range(2, 30)])
    inputs["host"] = {"data": {"train_data": store(shuffled, "h")}}
    runs = run_parties(EXAMPLE_CONF, inputs, timeout=10, expect_errors=True)
    for entry in runs.values():
        assert isinstance(entry.get("error"), ValueError) and "same header" in str(entry["error"])


def test_refusals_name_the_problem(breast):
    params = get_spec("HomoLR").default_params().update(EXAMPLE_CONF)
    component = HomoLRGuest(params)
    roles = {"guest": [GUEST], "arbiter": [ARBITER]}
    ctx = ComponentContext(job_id="j", task_id="t", component_name="homo_lr_0", role="guest", party_id=GUEST,
                           roles=roles, federation=MemoryFederation("t", "guest", GUEST, roles, {}),
                           tracker=FakeTracker(), logger=quiet_logger("guest"))
    with pytest.raises(ValueError, match="at least two clients"):
        component.run(ctx, {"data": {"train_data": store(breast["guest"])}})
    three = Instances(ids=pa.array(["a", "b", "c"]), features=np.zeros((3, 1)), labels=np.array([0.0, 1.0, 2.0]),
                      header=["x0"], label_name="y")
    runs = run_parties(EXAMPLE_CONF, {"guest": {"data": {"train_data": store(three)}},
                                      "host": {"data": {"train_data": store(three)}}}, timeout=1,
                       expect_errors=True)
    assert "binary only" in str(runs[("guest", GUEST)]["error"])
    with pytest.raises(ValueError, match="eval_data but no model"):
        run_parties(EXAMPLE_CONF, {"guest": {"data": {"eval_data": store(breast["test"])}}}, timeout=1)

