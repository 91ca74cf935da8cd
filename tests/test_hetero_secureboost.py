"""HeteroSecureBoost's pieces: tree math, the g/h packing and folding, histograms, parameters, and the
guest and host run in threads against xgboost trained on the joined data."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fate_flow.components import get_spec
from fate_flow.components.hetero_secureboost import kernels
from fate_flow.components.hetero_secureboost.loss import Objective
from fate_flow.components.hetero_secureboost.packing import (
    GHPacker, compress, compress_groups, decompress, entry_bits, fold_bounds, fold_capacity,
)
from fate_flow.components.hetero_secureboost.param import BoostingTreeParam
from fate_flow.components.hetero_secureboost.spec import DEFAULT_CONF
from fate_flow.components.hetero_secureboost.tree import (
    LEFT, RIGHT, Candidates, SplitRules, best_split, histogram_candidates, histogram_layout, leaf_weight, split_gain,
)
from fate_flow.computing import Instances
from fate_flow.secureprotol import EncryptedArray, generate_keypair
from tests.component_harness import close_contexts
from tests.sbt_harness import GUEST, HOST, HOST2, guest_rows, read_hetero, run_sbt, scores_in_order, train_inputs


@pytest.fixture(autouse=True)
def _end_computing_sessions():
    yield
    close_contexts()


@pytest.fixture(scope="module")
def breast():
    return read_hetero("breast")


@pytest.fixture(scope="module")
def keypair():
    return generate_keypair(512)


# ---- tree math ------------------------------------------------------------------------------

def test_gain_and_leaf_weight_are_xgboost_s():
    g_left, h_left, g, h, lam = 3.0, 2.0, 1.0, 5.0, 0.1
    expected = 9 / 2.1 + 4 / 3.1 - 1 / 5.1
    assert split_gain(np.array([g_left]), np.array([h_left]), g, h, lam)[0] == pytest.approx(expected)
    assert leaf_weight(g, h, lam) == pytest.approx(-1 / 5.1)


def test_best_split_respects_min_leaf_node_min_impurity_and_missing_direction():
    # one feature, bins [0, 1, 2] + missing: rows g = -1 in bin 0, +1 in bins 1-2, missing rows g = -1
    cand = Candidates(g_left=np.array([-2.0, -1.0]), h_left=np.array([2.0, 3.0]), n_left=np.array([2.0, 3.0]),
                      g_missing=np.array([-2.0, -2.0]), h_missing=np.array([2.0, 2.0]), n_missing=np.array([2.0, 2.0]))
    g, h, n = -2.0, 7.0, 7
    best = best_split(cand, g, h, n, SplitRules(0.1, 1e-3, 1, use_missing=True))
    assert best.index == 0 and best.missing_dir == LEFT  # the missing rows belong with the negative ones
    plain = best_split(cand, g, h, n, SplitRules(0.1, 1e-3, 1, use_missing=False))
    assert plain.missing_dir == RIGHT
    assert best_split(cand, g, h, n, SplitRules(0.1, 1e-3, 6, use_missing=False)) is None  # right side too small
    assert best_split(cand, g, h, n, SplitRules(0.1, 1e6, 1, use_missing=True)) is None  # gain too small


def test_histogram_candidates_skip_empty_bins_and_the_last_bin():
    bins = [3, 2]  # layout: f0 bins 0,1,2 + missing, f1 bins 0,1 + missing
    offsets, width = histogram_layout(bins)
    assert offsets.tolist() == [0, 4] and width == 7
    hist_n = np.array([2, 0, 3, 1, 4, 1, 0], dtype=float)
    cand, keys = histogram_candidates(hist_n * 0.5, hist_n, hist_n, bins)
    assert keys == [(0, 0), (1, 0)]  # f0 bin 1 is empty (same split as bin 0), last bins never split
    assert cand.n_left.tolist() == [2, 4] and cand.n_missing.tolist() == [1, 0]


# ---- packing --------------------------------------------------------------------------------

def test_packing_round_trip_with_negative_gradients_and_big_sums():
    rng = np.random.default_rng(0)
    n = 100_000
    g, h = rng.uniform(-30, 20, n), rng.uniform(0, 3, n)
    packer = GHPacker.for_values(g, h, n)
    packed = packer.pack(g, h)
    groups = [np.arange(n), np.flatnonzero(g < 0), np.arange(7)]
    sums = [sum(packed[i] for i in rows.tolist()) for rows in groups]
    got_g, got_h = packer.unpack(sums, np.array([len(r) for r in groups]))
    for k, rows in enumerate(groups):
        assert got_g[k] == pytest.approx(g[rows].sum(), abs=len(rows) * 2 ** -packer.g_bits)
        assert got_h[k] == pytest.approx(h[rows].sum(), abs=len(rows) * 2 ** -packer.h_bits)
    assert max(sums).bit_length() <= packer.pair_bits


def test_encrypted_packed_sums_fold_many_to_a_ciphertext(keypair):
    pk, sk = keypair
    rng = np.random.default_rng(1)
    g, h = rng.uniform(-1, 1, 300), rng.uniform(0, 0.25, 300)
    packer = GHPacker.for_values(g, h, 300)
    cts = pk.raw_encrypt_many(packer.pack(g, h))
    capacity = fold_capacity(pk.n.bit_length())
    # 11 "bins" of rows, of very different sizes: each sum is folded with the bits its count needs
    bins = [np.arange(i, 300, 11) for i in range(10)] + [np.array([5])]
    counts = np.array([len(b) for b in bins])
    widths = entry_bits(counts, packer.field_bits)
    assert widths[-1] < widths[0] < packer.pair_bits + 8
    sums = [functools_product(pk.nsquare, [cts[r] for r in rows]) for rows in bins]
    folded = compress(sums, widths, capacity, pk.nsquare)
    assert len(folded) == len(fold_bounds(widths, capacity)) < len(bins)
    assert compress_groups([sums, sums[:3]], [widths, widths[:3]], capacity, pk.nsquare) == \
        [folded, compress(sums[:3], widths[:3], capacity, pk.nsquare)]
    wire = EncryptedArray(pk, folded, 0).to_bytes()  # obfuscated on the way out
    plain = sk.raw_decrypt_many(EncryptedArray.from_bytes(pk, wire).ciphertexts(be_secure=False))
    got_g, got_h = packer.unpack(decompress(plain, widths, capacity), counts)
    assert np.allclose(got_g, [g[b].sum() for b in bins], atol=1e-3)
    assert np.allclose(got_h, [h[b].sum() for b in bins], atol=1e-3)
    with pytest.raises(ValueError, match="folded ciphertexts"):
        decompress(plain[:-1], widths, capacity)


def test_fold_bounds_fill_each_ciphertext_up_to_its_capacity():
    assert fold_bounds([30, 30, 30, 50, 10], 100) == [(0, 3), (3, 5)]
    assert fold_bounds([120, 10], 100) == [(0, 1), (1, 2)]  # a sum wider than the capacity still goes alone
    assert fold_bounds([], 100) == []


def functools_product(nsquare, cts):
    out = 1
    for c in cts:
        out = out * c % nsquare
    return out


def test_histogram_subtraction_equals_the_direct_build(keypair, tmp_path):
    from fate_flow.computing.recipes import spill_block

    pk, sk = keypair
    rng = np.random.default_rng(2)
    n, bins = 200, [4, 3]
    binned = rng.integers(0, 3, size=(n, 2)).astype(float)
    block = Instances(ids=__import__("pyarrow").array([str(i) for i in range(n)]), features=binned)
    g, h = rng.uniform(-1, 1, n), rng.uniform(0, 0.25, n)
    packer = GHPacker.for_values(g, h, n)
    path = spill_block(pk.raw_encrypt_many(packer.pack(g, h)), str(tmp_path))
    offsets, width = histogram_layout(bins)
    positions = rng.integers(1, 3, size=n)  # rows of node 1 and node 2, the children of node 0

    def decrypted(nodes):
        slots = np.full(3, -1)
        slots[nodes] = np.arange(len(nodes))
        hist, counts = kernels.encrypted_histogram_kernel(offsets, width, len(nodes), int(pk.nsquare), None, block,
                                                          (slots[positions], path))
        sums = sk.raw_decrypt_many(hist)
        gs, hs = packer.unpack(sums, counts)
        return np.vstack([gs, hs, counts]).reshape(3, len(nodes), width)

    both = decrypted([1, 2])
    parent = decrypted([1, 2]).sum(axis=1)  # the root's histogram: every row
    assert np.allclose(parent - both[:, 0], both[:, 1], atol=1e-4)
    plain = kernels.plain_histogram_kernel(offsets, width, 1, block, (np.where(positions == 2, 0, -1), g, h))
    assert np.allclose(plain, both[:, 1], atol=1e-4)


# ---- objectives -----------------------------------------------------------------------------

@pytest.mark.parametrize("name,params", [("lse", None), ("huber", [1.5]), ("fair", [1.0]), ("log_cosh", None),
                                         ("tweedie", [1.5])])
def test_regression_gradients_are_the_loss_derivatives(name, params):
    objective = Objective(name, params, 1)
    y = np.array([0.5, 2.0, 3.0])
    f = np.array([[0.3], [1.0], [1.2]])
    g, h = objective.gradients(y, f)
    eps = 1e-6
    numeric = [(objective.loss(y[i:i + 1], f[i:i + 1] + eps) - objective.loss(y[i:i + 1], f[i:i + 1] - eps)) / (2 * eps)
               for i in range(3)]
    assert np.allclose(g[:, 0], numeric, rtol=1e-4)  # lse: FATE's 2(F - y), the derivative of (F - y)^2
    assert (h >= 0).all()


def test_softmax_gradients_sum_to_zero():
    g, h = Objective("cross_entropy", None, 3).gradients(np.array([0.0, 2.0]), np.zeros((2, 3)))
    assert np.allclose(g.sum(axis=1), 0) and np.allclose(h, 2 / 9)


# ---- parameters -----------------------------------------------------------------------------

def test_registry_defaults_are_fate_s():
    spec = get_spec("HeteroSecureBoost")
    params = spec.default_params()
    params.check()
    assert (params.learning_rate, params.num_trees, params.bin_num, params.subsample_feature_rate) == (0.1, 2, 50, 1)
    assert params.tree_param.max_depth == 5 and params.tree_param.criterion_params == [0.1]
    assert params.n_iter_no_change is False and params.use_first_metric_only is True
    assert spec.required_roles == {"guest", "host"}


@pytest.mark.parametrize("conf,name", [
    ({"objective_param": {"objective": "poisson"}}, "objective_param.objective"),
    ({"tree_param": {"max_depth": 0}}, "tree_param.max_depth"),
    ({"bin_num": 1}, "bin_num"),
    ({"task_type": "regression", "objective_param": {"objective": "cross_entropy"}}, "objective_param.objective"),
    ({"objective_param": {"objective": "lse"}}, "objective_param.objective"),
    ({"task_type": "ranking"}, "task_type"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"subsample_feature_rate": 1.5}, "subsample_feature_rate"),
    ({"tree_param": {"criterion_params": [-1]}}, "tree_param.criterion_params"),
    ({"tree_param": {"min_leaf_node": 0}}, "tree_param.min_leaf_node"),
    ({"early_stopping_rounds": 2}, "validation_freqs"),
    ({"validation_freqs": 0}, "validation_freqs"),
    ({"encrypt_param": {"key_length": 100}}, "encrypt_param.key_length"),
    ({"use_missing": "yes"}, "use_missing"),
])
def test_bad_parameters_are_refused_naming_them(conf, name):
    params = BoostingTreeParam().update(DEFAULT_CONF).update(conf)
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        params.check()


# ---- guest and host in threads --------------------------------------------------------------

def xgboost_auc(guest: Instances, host: Instances, trees: int, depth: int, lr: float) -> float:
    xgboost = pytest.importorskip("xgboost")
    x = np.hstack([guest.features, host.features])
    model = xgboost.XGBClassifier(n_estimators=trees, max_depth=depth, learning_rate=lr, reg_lambda=0.1,
                                  tree_method="hist", max_bin=50, min_child_weight=0, base_score=0.5)
    model.fit(x, guest.labels)
    return roc_auc_score(guest.labels, model.predict_proba(x)[:, 1])


def test_binary_matches_xgboost_on_the_joined_data(breast):
    guest, host = breast
    runs = run_sbt({"num_trees": 3, "tree_param": {"max_depth": 3}}, train_inputs(guest, [host]))
    output = runs[("guest", GUEST)]["output"]
    scores = scores_in_order(guest_rows(output), guest.ids)
    auc = roc_auc_score(guest.labels, scores)
    assert auc >= xgboost_auc(guest, host, 3, 3, 0.1) - 0.005
    tracker = runs[("guest", GUEST)]["ctx"].tracker
    losses = [d[0][1] for ns, name, d in tracker.metrics if name == "loss"]
    assert len(losses) == 3 and losses[0] > losses[-1]
    host_run = runs[("host", HOST)]
    sent = {name.split(".")[-1] for name, *_ in host_run["federation"].sent}
    assert sent == {"host_ids_digest", "encrypted_splitinfo_host", "final_splitinfo_host", "dispatch_node_host_result"}
    received = {name.split(".")[-1] for name, *_ in host_run["federation"].received}
    assert "encrypted_grad_and_hess" in received and "paillier_pubkey" in received


def test_partitions_do_not_change_the_model(breast):
    guest, host = breast
    conf = {"num_trees": 2, "tree_param": {"max_depth": 3}}
    one = run_sbt(conf, train_inputs(guest, [host], partitions=1))[("guest", GUEST)]["output"]
    four = run_sbt(conf, train_inputs(guest, [host], partitions=4))[("guest", GUEST)]["output"]
    a, b = guest_rows(one), guest_rows(four)
    assert a.keys() == b.keys() and all(abs(float(a[k][2]) - float(b[k][2])) < 1e-9 for k in a)


@pytest.mark.parametrize("conf", [
    {"num_trees": 3, "tree_param": {"max_depth": 3}, "validation_freqs": 1},
    {"task_type": "regression", "objective_param": {"objective": "lse"}, "num_trees": 2,
     "tree_param": {"max_depth": 3}},
])
def test_per_row_arrays_in_files_give_the_same_model(breast, monkeypatch, conf):
    """A big table's targets, scores, g, h and positions live in files (``rows.SPILL_ROWS``): same scores."""
    from fate_flow.components.hetero_secureboost import guest as guest_module, host as host_module

    guest, host = breast
    eval_data = "validation_freqs" in conf
    in_memory = run_sbt(conf, train_inputs(guest, [host], eval_data=eval_data, partitions=4))[("guest", GUEST)]
    for module in (guest_module, host_module):
        monkeypatch.setattr(module, "SPILL_ROWS", 1)
    runs = run_sbt(conf, train_inputs(guest, [host], eval_data=eval_data, partitions=4))
    spilled = runs[("guest", GUEST)]
    assert spilled["component"].spill_rows_ and runs[("host", HOST)]["component"].spill_rows_
    assert not in_memory["component"].spill_rows_
    a, b = guest_rows(in_memory["output"]), guest_rows(spilled["output"])
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a)
    # the scores early stopping would rebuild from each row's leaf in every tree, read back from the files
    component = spilled["component"]
    rebuilt, scores = component._scores_of_rows(), list(component.scores_)
    assert len(rebuilt) == len(scores) and all(np.allclose(x, y, rtol=0, atol=1e-12) for x, y in zip(rebuilt, scores))


def test_predict_with_the_saved_model_repeats_the_training_scores(breast):
    guest, host = breast
    runs = run_sbt({"num_trees": 2, "tree_param": {"max_depth": 3}}, train_inputs(guest, [host]))
    trained = guest_rows(runs[("guest", GUEST)]["output"])
    models = {"guest": runs[("guest", GUEST)]["output"].model, "host": runs[("host", HOST)]["output"].model}
    inputs = train_inputs(guest, [host])
    predict = {"guest": {"data": {"eval_data": inputs["guest"]["data"]["train_data"]},
                         "model": {"secureboost_0": models["guest"]}},
               ("host", 0): {"data": {"eval_data": inputs[("host", 0)]["data"]["train_data"]},
                             "model": {"secureboost_0": models["host"]}}}
    rows = guest_rows(run_sbt({}, predict)[("guest", GUEST)]["output"])
    assert rows.keys() == trained.keys()
    assert all(abs(float(rows[k][2]) - float(trained[k][2])) < 1e-9 and rows[k][4] == "predict" for k in rows)


def test_regression_and_multi_class_run(breast):
    guest, host = read_hetero("student")
    runs = run_sbt({"task_type": "regression", "objective_param": {"objective": "lse"}, "num_trees": 2,
                    "tree_param": {"max_depth": 3}}, train_inputs(guest, [host]))
    rows = guest_rows(runs[("guest", GUEST)]["output"])
    predictions = scores_in_order(rows, guest.ids)
    assert np.mean((predictions - guest.labels) ** 2) < np.var(guest.labels)
    guest, host = read_hetero("vehicle_scale")
    runs = run_sbt({"num_trees": 1, "tree_param": {"max_depth": 3}}, train_inputs(guest, [host]))
    output = runs[("guest", GUEST)]["output"]
    assert output.model["HeteroSecureBoostingTreeGuestParam"]["tree_dim"] == 4
    rows = guest_rows(output)
    assert np.mean([r[0] == r[1] for r in rows.values()]) > 0.6


def test_two_hosts_share_the_features(breast):
    guest, host = breast
    hosts = [host.select_features(list(range(10))), host.select_features(list(range(10, 20)))]
    runs = run_sbt({"num_trees": 2, "tree_param": {"max_depth": 3}}, train_inputs(guest, hosts), hosts=(HOST, HOST2))
    scores = scores_in_order(guest_rows(runs[("guest", GUEST)]["output"]), guest.ids)
    assert roc_auc_score(guest.labels, scores) > 0.98


def test_a_host_with_other_ids_fails_naming_the_partition(breast):
    guest, host = breast
    other = host.take(np.arange(100))
    with pytest.raises(ValueError, match="partition 0 holds other ids"):
        run_sbt({"num_trees": 1}, train_inputs(guest, [other]), timeout=10)


def test_cross_validation_logs_each_fold(breast):
    guest, host = breast
    conf = {"num_trees": 2, "tree_param": {"max_depth": 2}, "validation_freqs": 1,
            "cv_param": {"need_cv": True, "n_splits": 3, "shuffle": True, "random_seed": 7}}
    runs = run_sbt(conf, train_inputs(guest, [host], partitions=2))
    output = runs[("guest", GUEST)]["output"]
    assert output.data is None and output.model is None
    metrics = {(ns, name): dict(data) for ns, name, data in runs[("guest", GUEST)]["ctx"].tracker.metrics
               if "fold" in name}
    for k in range(3):
        assert metrics[("train", f"train_fold_{k}")]["auc"] > 0.95
        assert metrics[("validate", f"validate_fold_{k}")]["auc"] > 0.9
    losses = {name for _, name, _ in runs[("guest", GUEST)]["ctx"].tracker.metrics if name.startswith("loss")}
    assert losses == {"loss.0", "loss.1", "loss.2"}


def test_online_model_of_two_hosts_scores_as_the_batch(breast):
    from fate_flow.components.hetero_secureboost.online import load_online

    guest, host = breast
    hosts = [host.select_features(list(range(10))), host.select_features(list(range(10, 20)))]
    runs = run_sbt({"num_trees": 3, "tree_param": {"max_depth": 4}}, train_inputs(guest, hosts), hosts=(HOST, HOST2))
    batch = scores_in_order(guest_rows(runs[("guest", GUEST)]["output"]), guest.ids)
    trees = runs[("guest", GUEST)]["output"].model["HeteroSecureBoostingTreeGuestParam"]["trees_"]
    assert {f"host:{HOST}", f"host:{HOST2}"} <= {n["sitename"] for t in trees for n in t["tree_"] if not n["is_leaf"]}
    model = load_online(runs[("guest", GUEST)]["output"].model, "guest", "secureboost_0")
    model.bind_hosts([str(HOST2), str(HOST)])  # the serving engine passes the shares in the job's host order
    shares = [load_online(runs[("host", party)]["output"].model, "host", "secureboost_0").share(data)
              for party, data in ((HOST2, hosts[1]), (HOST, hosts[0]))]
    assert np.abs(model.score(model.share(guest), shares) - batch).max() < 1e-12


def test_iterative_affine_is_accepted_and_trains_with_paillier():
    """FATE 1.6's v2 SecureBoost example names iterativeAffine: it runs (with Paillier) instead of being refused."""
    from fate_flow.components.hetero_secureboost.param import BoostingTreeParam

    params = BoostingTreeParam()
    params.encrypt_param.method = "IterativeAffine"
    params.encrypt_param.key_length = 1024
    params.check()
    assert params.encrypt_param.method == "iterativeAffine"
    params.encrypt_param.method = "rsa"
    with pytest.raises(ValueError, match="encrypt_param.method 'rsa' not supported"):
        params.check()
