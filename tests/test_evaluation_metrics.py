"""Evaluation metrics (fate_flow.components.evaluation.metrics) against scikit-learn, direct
implementations of FATE's rules and the recorded FATE 1.4.5 answers."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fate_flow.components.evaluation import metrics as M

skm = pytest.importorskip("sklearn.metrics")

SPEC = Path("/work/shared/spec/fate14_responses")
ALL_FILE = SPEC / "component_metric_all_evaluation_0.json"
ITER30_FILE = SPEC / "component_metric_all_evaluation_0_iter30.json"
NAMES_FILE = SPEC / "component_metrics_evaluation_0.json"
needs_answers = pytest.mark.skipif(not ALL_FILE.exists(), reason="FATE answer files not available")


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------

def _tied_data(seed: int, n: int = 400, decimals: int = 1):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.round(np.clip(rng.normal(0.45 + 0.15 * y, 0.2), 0, 1), decimals)  # many ties
    return y, s


@pytest.fixture(scope="module")
def breast():
    datasets = pytest.importorskip("sklearn.datasets")
    linear = pytest.importorskip("sklearn.linear_model")
    x, y = datasets.load_breast_cancer(return_X_y=True)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    scores = linear.LogisticRegression(max_iter=2000).fit(x, y).predict_proba(x)[:, 1]
    return y, scores


@pytest.fixture(scope="module")
def weak_breast():
    """A weaker model on breast (few features) so the curves have many corners."""
    datasets = pytest.importorskip("sklearn.datasets")
    linear = pytest.importorskip("sklearn.linear_model")
    x, y = datasets.load_breast_cancer(return_X_y=True)
    x = x[:, [1, 9]]
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    scores = linear.LogisticRegression().fit(x, y).predict_proba(x)[:, 1]
    return y, scores


def _datasets(breast, weak_breast):
    yield breast
    yield weak_breast
    for seed in range(3):
        yield _tied_data(seed)
    yield _tied_data(7, n=60, decimals=2)  # fewer than 100 distinct scores


# --------------------------------------------------------------------------------------------
# binary: auc, roc
# --------------------------------------------------------------------------------------------

def test_auc_matches_sklearn(breast, weak_breast):
    for y, s in _datasets(breast, weak_breast):
        assert abs(M.auc(y, s) - skm.roc_auc_score(y, s)) < 1e-12


def test_auc_pos_label_and_label_types():
    y, s = _tied_data(3)
    labels = np.where(y == 1, "yes", "no")
    assert abs(M.auc(labels, s, pos_label="yes") - skm.roc_auc_score(y, s)) < 1e-12
    assert abs(M.auc(y * 2.0, s, pos_label=2) - skm.roc_auc_score(y, s)) < 1e-12
    assert abs(M.auc(list(y), list(s)) - skm.roc_auc_score(y, s)) < 1e-12


def _pairs(fpr, tpr):
    return {(round(float(a), 12), round(float(b), 12)) for a, b in zip(fpr, tpr)}


def test_roc_curve_full_matches_sklearn(breast, weak_breast):
    for y, s in _datasets(breast, weak_breast):
        fpr, tpr, thr = M.roc_curve_full(y, s)
        sk_fpr, sk_tpr, sk_thr = skm.roc_curve(y, s, drop_intermediate=True)
        # scikit-learn always starts with (0, 0, inf); FATE's scikit-learn only when needed
        start = 0 if fpr[0] == 0 and tpr[0] == 0 else 1
        assert np.allclose(fpr, sk_fpr[start:], atol=1e-15)
        assert np.allclose(tpr, sk_tpr[start:], atol=1e-15)
        assert np.array_equal(thr[1 - start:], sk_thr[1:])


def test_roc_leading_point_only_when_top_score_is_negative():
    fpr, tpr, thr = M.roc_curve_full([1, 0, 1, 0], [0.9, 0.8, 0.4, 0.1])
    assert (fpr[0], tpr[0], thr[0]) == (0.0, 0.5, 0.9)
    fpr, tpr, thr = M.roc_curve_full([0, 1, 1, 0], [0.9, 0.8, 0.4, 0.1])
    assert (fpr[0], tpr[0], thr[0]) == (0.0, 0.0, 1.9)


def test_roc_curve_reduced_points_are_on_sklearn_curve(breast, weak_breast):
    for y, s in _datasets(breast, weak_breast):
        fpr, tpr, thr = M.roc_curve(y, s)
        sk_fpr, sk_tpr, sk_thr = skm.roc_curve(y, s, drop_intermediate=True)
        assert _pairs(fpr, tpr) <= _pairs(sk_fpr, sk_tpr)
        assert set(thr.tolist()) - {float(s.max()) + 1} <= set(sk_thr.tolist())
        assert 0 < len(fpr) <= 100
        assert np.all(np.diff(thr) < 0)  # descending thresholds, no repeats
        full = M.roc_curve_full(y, s)
        size = full.thresholds.size
        expected_idx = sorted({int(size * c) for c in np.arange(0, 1, 0.01)})
        assert np.array_equal(thr, full.thresholds[expected_idx])


def test_roc_reduction_uses_100_cuts_on_many_corners():
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 3000)
    s = rng.random(3000)
    fpr, tpr, thr = M.roc_curve(y, s)
    assert len(thr) == 100
    assert fpr[-1] < 1.0  # FATE's appended (1, 1) is dropped by its zip with the thresholds


# --------------------------------------------------------------------------------------------
# binary: ks and the threshold curves
# --------------------------------------------------------------------------------------------

def _fate_ks_direct(labels, scores):
    """FATE's KS rule written out with Python loops."""
    pairs = sorted(zip(scores, labels), key=lambda p: p[0], reverse=True)
    n = len(pairs)
    pos = sum(1 for _, l in pairs if l == 1)
    neg = n - pos
    thresholds, fpr, tpr = [], [], []
    for c in range(100):
        thr = pairs[int(n * (c / 100))][0]
        tp = sum(1 for sc, l in pairs if l == 1 and sc > thr)
        fp = sum(1 for sc, l in pairs if l == 0 and sc > thr)
        thresholds.append(thr)
        tpr.append(tp / pos)
        fpr.append(fp / neg)
    ks_value = max(t - f for t, f in zip(tpr, fpr))
    return ks_value, fpr + [1.0], tpr + [1.0], thresholds


def test_ks_matches_direct_fate_rule(breast, weak_breast):
    for y, s in _datasets(breast, weak_breast):
        res = M.ks(y, s)
        ks_value, fpr, tpr, thr = _fate_ks_direct(list(y), list(s))
        assert res.ks == pytest.approx(ks_value, abs=1e-15)
        assert np.allclose(res.fpr, fpr) and np.allclose(res.tpr, tpr)
        assert np.array_equal(res.thresholds, thr)
        assert len(res.cuts) == 101 and res.cuts[-1] == 1.0 and res.cuts[1] == 0.01


def _step_thresholds_direct(scores):
    distinct = sorted(set(float(v) for v in scores), reverse=True)
    return [distinct[int(len(distinct) * c)] for c in map(float, np.arange(0, 1, 0.01))]


def _sk_at(y, s, thr):
    pred = (np.asarray(s) > thr).astype(int)
    return pred


def test_confusion_mat_matches_sklearn(breast, weak_breast):
    for y, s in _datasets(breast, weak_breast):
        cm = M.confusion_mat(y, s)
        expected_thr = _step_thresholds_direct(s) + [0.0]
        assert cm["thresholds"] == expected_thr
        for i, thr in enumerate(cm["thresholds"]):
            tn, fp, fn, tp = skm.confusion_matrix(y, _sk_at(y, s, thr), labels=[0, 1]).ravel()
            assert (cm["tp"][i], cm["fp"][i], cm["fn"][i], cm["tn"][i]) == (tp, fp, fn, tn)


def test_accuracy_curve_matches_sklearn(breast, weak_breast):
    for y, s in _datasets(breast, weak_breast):
        curve = M.accuracy_curve(y, s)
        assert len(curve.x) == len(curve.y) == len(curve.thresholds) == 100
        assert curve.thresholds.tolist() == _step_thresholds_direct(s)
        for thr, acc in zip(curve.thresholds, curve.y):
            assert acc == pytest.approx(skm.accuracy_score(y, _sk_at(y, s, thr)), abs=1e-15)


def test_precision_recall_match_sklearn(breast, weak_breast):
    for y, s in _datasets(breast, weak_breast):
        pr = M.precision_recall(y, s)
        step = _step_thresholds_direct(s)
        all_thr = step + [min(step) - 0.001]
        cuts = [float(c) for c in np.arange(0, 1, 0.01)] + [1]
        for cut, p, r in zip(pr.cuts, pr.precision, pr.recall):
            i = cuts.index(cut)
            pred = _sk_at(y, s, all_thr[i])
            assert p == pytest.approx(skm.precision_score(y, pred, zero_division=1.0), abs=1e-15)
            assert r == pytest.approx(skm.recall_score(y, pred), abs=1e-15)
        # merged on equal recall: recall strictly increasing, one threshold per point but the edge
        assert np.all(np.diff(pr.recall) > 0)
        edge_kept = pr.cuts[-1] == 1 and isinstance(pr.cuts[-1], int)
        assert len(pr.thresholds) == len(pr.cuts) - (1 if edge_kept else 0)


def test_precision_recall_merge_keeps_best_precision():
    # ten positives on top, then negatives: recall reaches 1 early, later cuts only add fp
    y = np.r_[np.ones(10, int), np.zeros(190, int)]
    s = np.linspace(1, 0, 200)
    pr = M.precision_recall(y, s)
    assert pr.recall[-1] == 1.0 and pr.precision[-1] == 1.0
    assert pr.cuts[0] == 0.0 and pr.precision[0] == 1.0 and pr.recall[0] == 0.0
    assert len(pr.thresholds) == len(pr.cuts)  # the edge point was merged away


def test_f1_matches_sklearn(breast, weak_breast):
    for y, s in _datasets(breast, weak_breast):
        f1 = M.f1_score(y, s)
        assert len(f1.f1_scores) == len(f1.thresholds) == 101 and f1.thresholds[-1] == 0.0
        for thr, value in zip(f1.thresholds, f1.f1_scores):
            assert value == pytest.approx(skm.f1_score(y, _sk_at(y, s, thr), zero_division=0.0),
                                          abs=1e-12)


def test_lift_and_gain(breast, weak_breast):
    for y, s in _datasets(breast, weak_breast):
        lift = M.lift(y, s)
        gain = M.gain(y, s)
        n, pos = len(y), int(np.sum(y))
        for curve in (lift, gain):
            assert curve.x[-1] == 1.0 and curve.y[-1] == 1.0 and curve.thresholds[-1] == 0.0
            assert np.all(np.diff(curve.x) > 0)  # one point per distinct x
            assert len(curve.x) == len(curve.y) == len(curve.thresholds)
        for x, g, thr in zip(gain.x[:-1], gain.y[:-1], gain.thresholds[:-1]):
            pred = _sk_at(y, s, thr)
            assert x == pytest.approx(pred.mean(), abs=1e-15)
            assert g == pytest.approx(skm.recall_score(y, pred), abs=1e-15)
        for x, value, thr in zip(lift.x[:-1], lift.y[:-1], lift.thresholds[:-1]):
            pred = _sk_at(y, s, thr)
            precision = skm.precision_score(y, pred, zero_division=1.0)
            assert value == pytest.approx(precision / (pos / n), rel=1e-12)


def test_quantile_pr(breast, weak_breast):
    for y, s in _datasets(breast, weak_breast):
        q = M.quantile_pr(y, s)
        n = len(s)
        srt = np.sort(s)
        qs = [round(i * 0.05, 3) for i in range(20)] + [1.0]
        expected = sorted(srt[int(np.round(v * (n - 1)))] for v in qs)  # 'nearest', half to even
        assert q.thresholds.tolist() == expected
        for thr, (z1, p), (z2, r) in zip(q.thresholds, q.p_scores, q.r_scores):
            pred = _sk_at(y, s, thr)
            assert z1 == z2 == 0.0
            assert p == pytest.approx(skm.precision_score(y, pred, zero_division=1.0), abs=1e-15)
            assert r == pytest.approx(skm.recall_score(y, pred), abs=1e-15)


# --------------------------------------------------------------------------------------------
# psi
# --------------------------------------------------------------------------------------------

def _psi_direct(train, validate):
    qs = [round(i * 0.05, 3) for i in range(20)] + [1.0]
    pts = sorted(set(float(v) for v in np.quantile(train, qs, method="nearest")))
    bins = list(zip(pts[:-1], pts[1:]))

    def count(values):
        out = []
        for i, (lo, hi) in enumerate(bins):
            last = i == len(bins) - 1
            out.append(sum(1 for v in values if lo <= v < hi or (last and v == hi)))
        return out

    e, a = count(train), count(validate)
    es, as_ = sum(e), sum(a)
    e_pct = [(v if v else 1e-6) / es for v in e]
    a_pct = [(v if v else 1e-6) / as_ for v in a]
    scores = [(ap - ep) * math.log(ap / ep) for ep, ap in zip(e_pct, a_pct)]
    return e, a, scores, sum(scores)


def test_psi_matches_direct_binning():
    rng = np.random.default_rng(5)
    train = np.round(rng.random(500), 2)
    validate = np.round(np.clip(rng.normal(0.55, 0.3, 300), -0.2, 1.2), 2)  # some outside range
    ty = (rng.random(500) < train).astype(int)
    vy = (rng.random(300) < 0.5).astype(int)
    res = M.psi(train, validate, ty, vy)
    e, a, scores, total = _psi_direct(train, validate)
    assert res["expected_interval"] == e and res["actual_interval"] == a
    assert np.allclose(res["psi_scores"], scores) and res["total_psi"] == pytest.approx(total)
    assert len(res["intervals"]) == len(e)
    assert res["intervals"][0].startswith("[") and res["intervals"][0].endswith(")")
    assert res["intervals"][-1].endswith("]")
    assert sum(res["expected_percentage"]) == pytest.approx(1.0)
    # share of positives per bin
    pts = sorted(set(float(v) for v in np.quantile(train, [round(i * 0.05, 3) for i in range(20)]
                                                   + [1.0], method="nearest")))
    lo, hi = pts[0], pts[1]
    in_bin = (train >= lo) & (train < hi)
    assert res["train_pos_perc"][0] == pytest.approx(ty[in_bin].mean())


def test_psi_identical_sets_is_zero_and_constant_scores():
    s = np.linspace(0, 1, 101)
    assert M.psi(s, s)["total_psi"] == pytest.approx(0.0)
    assert M.psi(s, s)["train_pos_perc"] is None
    res = M.psi([0.5] * 10, [0.5] * 4 + [0.7])
    assert res["intervals"] == ["[0.5, 0.5]"] and res["expected_interval"] == [10]
    assert res["actual_interval"] == [4]


# --------------------------------------------------------------------------------------------
# multi-class and regression
# --------------------------------------------------------------------------------------------

def test_multi_class_matches_sklearn():
    rng = np.random.default_rng(2)
    true = rng.integers(0, 4, 300)
    pred = np.where(rng.random(300) < 0.6, true, rng.integers(0, 5, 300))  # class 4 never true
    assert M.multi_accuracy(true, pred) == pytest.approx(skm.accuracy_score(true, pred), abs=1e-15)
    p, classes = M.multi_precision(true, pred)
    r, classes_r = M.multi_recall(true, pred)
    assert classes == classes_r == [0, 1, 2, 3, 4]
    assert np.allclose(p, skm.precision_score(true, pred, average=None, zero_division=0))
    assert np.allclose(r, skm.recall_score(true, pred, average=None, zero_division=0))
    assert M.macro_precision(true, pred) == pytest.approx(
        skm.precision_score(true, pred, average="macro", zero_division=0), abs=1e-15)
    assert M.macro_recall(true, pred) == pytest.approx(
        skm.recall_score(true, pred, average="macro", zero_division=0), abs=1e-15)
    names = ["a", "b", "c"]
    ts, ps = [names[i % 3] for i in true], [names[i % 3] for i in pred]
    assert M.multi_precision(ts, ps)[1] == names
    assert np.allclose(M.multi_recall(ts, ps)[0],
                       skm.recall_score(ts, ps, average=None, zero_division=0))


def test_regression_matches_sklearn():
    rng = np.random.default_rng(4)
    t = rng.gamma(2.0, 2.0, 500)
    p = t + rng.normal(0, 1.0, 500) + 0.3
    p = np.abs(p)
    pairs = [
        (M.explained_variance, skm.explained_variance_score),
        (M.mean_absolute_error, skm.mean_absolute_error),
        (M.mean_squared_error, skm.mean_squared_error),
        (M.median_absolute_error, skm.median_absolute_error),
        (M.r2_score, skm.r2_score),
        (M.mean_squared_log_error, skm.mean_squared_log_error),
        (M.root_mean_squared_error, lambda a, b: math.sqrt(skm.mean_squared_error(a, b))),
    ]
    for ours, theirs in pairs:
        assert ours(t, p) == pytest.approx(theirs(t, p), rel=1e-12, abs=1e-12), ours.__name__
        assert ours(list(t[:7]), list(p[:7])) == pytest.approx(theirs(t[:7], p[:7]), rel=1e-12)
    const = np.full(5, 2.0)
    assert M.r2_score(const, const) == skm.r2_score(const, const) == 1.0
    assert M.r2_score(const, const + 1) == skm.r2_score(const, const + 1) == 0.0
    assert M.explained_variance(const, const + 1) == skm.explained_variance_score(const, const + 1)
    with pytest.raises(ValueError, match="negative"):
        M.mean_squared_log_error([1.0, -2.0], [1.0, 1.0])


# --------------------------------------------------------------------------------------------
# normalize_metrics
# --------------------------------------------------------------------------------------------

def test_normalize_metrics_defaults():
    assert M.normalize_metrics("binary", None) == [
        "auc", "ks", "lift", "gain", "accuracy", "precision", "recall", "roc", "confusion_mat",
        "psi", "f1_score", "quantile_pr"]
    assert M.normalize_metrics("multi", []) == ["accuracy", "precision", "recall"]
    assert M.normalize_metrics("REGRESSION", None) == [
        "explained_variance", "mean_absolute_error", "mean_squared_error",
        "median_absolute_error", "r2_score", "root_mean_squared_error"]


def test_normalize_metrics_aliases_and_dedup():
    assert M.normalize_metrics("regression", ["l1", "MAE", "l2", "rmse", "msle", "r2"]) == [
        "mean_absolute_error", "mean_squared_error", "root_mean_squared_error",
        "mean_squared_log_error", "r2_score"]
    assert M.normalize_metrics("regression", ["mse", "regression_l2", "l2_root"]) == [
        "mean_squared_error", "root_mean_squared_error"]
    assert M.normalize_metrics("binary", ["acc", "AUC", "auc"]) == ["accuracy", "auc"]
    assert M.normalize_metrics("multi", "acc") == ["accuracy"]


def test_normalize_metrics_precision_recall_pairing():
    assert M.normalize_metrics("binary", ["recall", "auc"]) == ["recall", "auc", "precision"]
    assert M.normalize_metrics("binary", ["precision"]) == ["precision", "recall"]
    assert M.normalize_metrics("multi", ["recall"]) == ["recall", "precision"]
    assert M.normalize_metrics("binary", ["precision", "ks", "recall"]) == [
        "precision", "ks", "recall"]


def test_normalize_metrics_errors():
    with pytest.raises(ValueError, match="bogus.*nope|nope.*bogus"):
        M.normalize_metrics("binary", ["auc", "bogus", "nope"])
    with pytest.raises(ValueError, match="auc is not used for regression"):
        M.normalize_metrics("regression", ["auc"])
    with pytest.raises(ValueError, match="mean_absolute_error is not used for binary"):
        M.normalize_metrics("binary", ["mae"])
    with pytest.raises(ValueError, match="eval_type"):
        M.normalize_metrics("clustering", None)


# --------------------------------------------------------------------------------------------
# evaluate(): records against the FATE answers
# --------------------------------------------------------------------------------------------

def _load(path):
    return json.loads(path.read_text())["data"]["train"]


def _reconstruct(answer):
    """Scores and labels consistent with every threshold count in a recorded FATE answer.

    The confusion matrix gives the scores at the step positions and the positives above
    them, quantile_pr gives more positions, and the kept precision edge point gives the
    count above ``min(thresholds) - 0.001``. Positives are placed first inside each gap and
    the other scores interpolated, so everything except auc/roc (which depend on the order
    inside the gaps) is determined.
    """
    cm = answer["hetero_lr_0_confusion_mat"]["meta"]
    pos_total = cm["tp"][-1] + cm["fn"][-1]
    n = pos_total + cm["fp"][-1] + cm["tn"][-1]
    known: dict[int, list] = {}

    def put(k, value, positives):
        if k in known:
            assert known[k][1] == positives
            value = known[k][0] if value is None else value
        known[k] = [value, positives]

    for i, c in enumerate(np.arange(0, 1, 0.01)):
        k = int(n * c)
        assert cm["tp"][i] + cm["fp"][i] == k
        put(k, cm["thresholds"][i], cm["tp"][i])
    q = answer["hetero_lr_0_quantile_pr"]["meta"]
    for j, v in enumerate([round(i * 0.05, 3) for i in range(20)] + [1.0]):
        k = n - 1 - int(np.round(v * (n - 1)))
        put(k, q["thresholds"][j], int(round(q["r_scores"][j][1] * pos_total)))
    prec = answer["hetero_lr_0_precision"]["data"]
    rec = answer["hetero_lr_0_recall"]["data"]
    edge = None
    if isinstance(prec[-1][0], int):
        positives = int(round(rec[-1][1] * pos_total))
        m = int(round(positives / prec[-1][1]))
        edge = (m, cm["thresholds"][99] - 0.001)
        put(m, None, positives)
    put(n, None, pos_total)
    labels = np.zeros(n, dtype=int)
    prev_k, prev_pos = 0, 0
    for k in sorted(known):
        d = known[k][1] - prev_pos
        assert 0 <= d <= k - prev_k
        labels[prev_k:prev_k + d] = 1
        prev_k, prev_pos = k, known[k][1]
    values = {k: v for k, (v, _) in known.items() if v is not None and k < n}
    if edge:
        m, t_edge = edge
        values.setdefault(m - 1, t_edge + 0.0004)
        values.setdefault(m, t_edge - 0.0004)
    values.setdefault(0, 1.0)
    ks = np.array(sorted(values))
    scores = np.interp(np.arange(n), ks, [values[k] for k in ks])
    assert np.all(np.diff(scores) < 0)
    return labels, scores


@needs_answers
@pytest.mark.parametrize("path", [ALL_FILE, ITER30_FILE], ids=["iter0", "iter30"])
def test_evaluate_reproduces_fate_answer(path):
    answer = _load(path)
    y, s = _reconstruct(answer)
    got = {r.name: r.to_dict() for r in M.evaluate("binary", y, s)}
    assert set(got) == set(answer)
    for name, expected in answer.items():
        if name == "hetero_lr_0":
            assert got[name]["meta"] == expected["meta"]
            assert [k for k, _ in got[name]["data"]] == ["auc", "ks"]
            assert got[name]["data"][1] == expected["data"][1]  # ks is fully determined
        elif name == "hetero_lr_0_roc":
            assert set(got[name]["meta"]) == set(expected["meta"])
        else:
            assert got[name] == expected, name


@needs_answers
def test_evaluate_record_names_and_metas_match_fate(breast):
    y, s = breast
    records = M.evaluate("binary", y, s, component_name="hetero_lr_0")
    names = [r.name for r in records]
    assert names == json.loads(NAMES_FILE.read_text())["data"]["train"]
    for path in (ALL_FILE, ITER30_FILE):
        answer = _load(path)
        for r in records:
            expected = answer[r.name]
            assert set(r.meta) == set(expected["meta"]), r.name
            for key in ("metric_type", "name", "curve_name", "pair_type", "unit_name",
                        "ordinate_name"):
                assert r.meta.get(key) == expected["meta"].get(key), (r.name, key)
            assert (len(r.data) == 0) == (len(expected["data"]) == 0)
            assert all(len(p) == 2 for p in r.data)
            if "thresholds" in r.meta and r.data and not r.name.endswith(("_precision", "_recall")):
                assert len(r.meta["thresholds"]) in (len(r.data), len(r.data) - 1)
    by_name = {r.name: r for r in records}
    assert by_name["hetero_lr_0"].data[0][0] == "auc" and by_name["hetero_lr_0"].data[1][0] == "ks"
    for r in records:
        if r.name == "hetero_lr_0" or not r.data:
            continue
        xs = [p[0] for p in r.data]
        ys = [p[1] for p in r.data]
        assert xs == sorted(xs) and min(xs) >= 0 and max(xs) <= 1, r.name
        assert all(round(v, 6) == v for v in xs + ys)
        if r.name.endswith("_lift"):
            assert min(ys) >= 0 and ys[0] == pytest.approx(len(y) / y.sum(), abs=1e-6)
        else:
            assert min(ys) >= 0 and max(ys) <= 1, r.name
    assert by_name["hetero_lr_0_ks_fpr"].data[-1] == [1.0, 1.0]
    assert by_name["hetero_lr_0_gain"].data[-1] == [1.0, 1.0]
    assert len(by_name["hetero_lr_0_accuracy"].data) == 100
    cm = by_name["hetero_lr_0_confusion_mat"].meta
    assert all(isinstance(v, int) for v in cm["tp"]) and cm["thresholds"][-1] == 0.0
    summary_auc = by_name["hetero_lr_0"].data[0][1]
    assert summary_auc == round(skm.roc_auc_score(y, s), 6)
    json.dumps([r.to_dict() for r in records])  # JSON-serialisable


def test_evaluate_order_follows_metrics_and_psi_needs_train():
    y, s = _tied_data(1)
    records = M.evaluate("binary", y, s, metrics=["lift", "recall", "auc", "psi"],
                         component_name="cpn")
    assert [r.name for r in records] == ["cpn_lift", "cpn", "cpn_precision", "cpn_recall"]
    assert records[1].data == [["auc", round(skm.roc_auc_score(y, s), 6)]]
    ty, ts = _tied_data(2)
    records = M.evaluate("binary", y, s, metrics=["psi"], component_name="cpn",
                         psi_train=(ts, ty))
    assert [r.name for r in records] == ["cpn_psi"]
    meta = records[0].meta
    assert meta["metric_type"] == "PSI"
    assert meta["total_psi"] == round(M.psi(ts, s)["total_psi"], 6)
    assert {"psi_scores", "expected_interval", "expected_percentage", "actual_interval",
            "actual_percentage", "intervals", "train_pos_perc", "validate_pos_perc"} <= set(meta)


def test_evaluate_multi_and_regression():
    rng = np.random.default_rng(8)
    true = rng.integers(0, 3, 200)
    pred = np.where(rng.random(200) < 0.7, true, rng.integers(0, 3, 200))
    records = M.evaluate("multi", true, pred, component_name="sbt")
    assert [r.name for r in records] == ["sbt", "sbt_precision", "sbt_recall"]
    assert records[0].data == [
        ["accuracy", round(skm.accuracy_score(true, pred), 6)],
        ["precision", round(skm.precision_score(true, pred, average="macro"), 6)],
        ["recall", round(skm.recall_score(true, pred, average="macro"), 6)]]
    prec = records[1]
    assert prec.meta["metric_type"] == "PRECISION_MULTI_EVALUATION"
    assert prec.meta["ordinate_name"] == "Precision" and "thresholds" not in prec.meta
    assert [p[0] for p in prec.data] == [0, 1, 2]
    assert records[2].meta["metric_type"] == "RECALL_MULTI_EVALUATION"

    t = rng.random(100) * 3
    p = t + rng.normal(0, 0.2, 100)
    records = M.evaluate("regression", t, p, metrics=["rmse", "l1", "r2"], component_name="lr")
    assert len(records) == 1 and records[0].meta == {"name": "lr",
                                                     "metric_type": "EVALUATION_SUMMARY"}
    assert records[0].data == [
        ["root_mean_squared_error", round(math.sqrt(skm.mean_squared_error(t, p)), 6)],
        ["mean_absolute_error", round(skm.mean_absolute_error(t, p), 6)],
        ["r2_score", round(skm.r2_score(t, p), 6)]]


def test_evaluate_pos_label_mapping():
    y, s = _tied_data(4)
    labels = np.where(y == 1, 2, 5)
    a = M.evaluate("binary", labels, s, metrics=["auc", "ks"], pos_label=2)
    b = M.evaluate("binary", y, s, metrics=["auc", "ks"])
    assert [r.to_dict() for r in a] == [r.to_dict() for r in b]


# --------------------------------------------------------------------------------------------
# degenerate inputs
# --------------------------------------------------------------------------------------------

def test_one_class_only_raises():
    s = [0.1, 0.4, 0.35, 0.8]
    with pytest.raises(ValueError, match="only one class"):
        M.auc([1, 1, 1, 1], s)
    with pytest.raises(ValueError, match="only one class"):
        M.auc([0, 0, 0, 0], s)
    with pytest.raises(ValueError, match="both positive and negative"):
        M.ks([0, 0, 0, 0], s)
    with pytest.raises(ValueError, match="both positive and negative"):
        M.roc_curve([1, 1, 1, 1], s)
    with pytest.raises(ValueError):
        M.evaluate("binary", [1, 1, 1, 1], s)


def test_all_equal_scores():
    y = [0, 1, 0, 1, 1]
    s = [0.3] * 5
    assert M.auc(y, s) == 0.5 == skm.roc_auc_score(y, s)
    res = M.ks(y, s)
    assert res.ks == 0.0 and len(res.thresholds) == 100
    fpr, tpr, thr = M.roc_curve(y, s)
    assert _pairs(fpr, tpr) == {(0.0, 0.0), (1.0, 1.0)} and thr.tolist() == [1.3, 0.3]
    records = M.evaluate("binary", y, s)
    by_name = {r.name: r for r in records}
    assert by_name["hetero_lr_0_lift"].data == [[0.0, 1.666667], [1.0, 1.0]]
    assert by_name["hetero_lr_0_gain"].data == [[0.0, 0.0], [1.0, 1.0]]
    assert by_name["hetero_lr_0_precision"].data == [[0.0, 1.0], [1, 0.6]]
    assert by_name["hetero_lr_0_confusion_mat"].meta["tp"] == [0] * 100 + [3]


def test_empty_and_mismatched_input():
    for fn in (M.auc, M.ks, M.roc_curve, M.lift, M.gain, M.precision_recall, M.accuracy_curve,
               M.confusion_mat, M.f1_score, M.quantile_pr):
        with pytest.raises(ValueError, match="empty"):
            fn([], [])
    with pytest.raises(ValueError, match="empty"):
        M.evaluate("binary", [], [])
    with pytest.raises(ValueError, match="empty"):
        M.evaluate("regression", [], [])
    with pytest.raises(ValueError, match="empty"):
        M.evaluate("multi", [], [])
    with pytest.raises(ValueError, match="empty"):
        M.psi([], [0.1])
    with pytest.raises(ValueError, match="differ in length"):
        M.auc([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="NaN"):
        M.auc([0, 1], [0.1, float("nan")])
    with pytest.raises(ValueError, match="eval_type"):
        M.evaluate("ranking", [0, 1], [0.1, 0.2])


def test_large_input_is_fast():
    import time
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 30000)
    s = rng.random(30000)
    start = time.perf_counter()
    records = M.evaluate("binary", y, s)
    assert time.perf_counter() - start < 2.0
    assert len(records) == 12  # psi skipped without train scores; ks gives two curves


def test_module_imports_numpy_only():
    code = ("import sys; import fate_flow.components.evaluation.metrics; "
            "bad = [m for m in ('sklearn', 'flask', 'peewee', 'requests', 'fate_flow.db', "
            "'pandas', 'scipy') if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == ""


@needs_answers
@pytest.mark.parametrize("path", [ALL_FILE, ITER30_FILE], ids=["iter0", "iter30"])
def test_roc_record_has_no_end_point_like_fate(path):
    """FATE appends (1, 1) to fpr/tpr but zips them with the thresholds, which drops it."""
    expected = _load(path)["hetero_lr_0_roc"]
    assert len(expected["data"]) == len(expected["meta"]["thresholds"]) == 100
    assert expected["data"][-1][0] < 1.0
    y, s = _reconstruct(_load(path))
    roc = {r.name: r for r in M.evaluate("binary", y, s, metrics=["roc"])}["hetero_lr_0_roc"]
    assert len(roc.data) == len(roc.meta["thresholds"]) <= 100
    assert roc.data[-1][0] < 1.0
    assert roc.meta["thresholds"] == sorted(roc.meta["thresholds"], reverse=True)
    # the first threshold is the top score, as in the answers (no max + 1 start point there)
    assert roc.meta["thresholds"][0] == round(float(s.max()), 6)
    assert expected["meta"]["thresholds"][0] == _answer_top(path)


def _answer_top(path):
    return _load(path)["hetero_lr_0_ks_fpr"]["meta"]["thresholds"][0]
