"""SortedScores walks its scores chunk by chunk: every binary metric must come out the same
whatever the chunk size, including chunks that end inside a tie group or hold one value."""
from __future__ import annotations

import numpy as np
import pytest

from fate_flow.components.evaluation import metrics as M
from fate_flow.components.evaluation import sorted_scores
from fate_flow.components.evaluation.sorted_scores import SortedScores, merge_sorted, nearest_rank


def _data(seed: int, n: int, decimals: int | None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.clip(rng.normal(0.45 + 0.15 * y, 0.2), 0, 1)
    return y, (np.round(s, decimals) if decimals is not None else s)


def _all_metrics(y, s, train=None):
    return [record.to_dict() for record in M.evaluate("binary", y, s, component_name="lr",
                                                     psi_train=train)]


@pytest.mark.parametrize("decimals", [None, 2, 1])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_metrics_do_not_depend_on_the_chunk_size(monkeypatch, decimals, chunk):
    y, s = _data(3, 500, decimals)
    ty, ts = _data(4, 300, decimals)
    expected = _all_metrics(y, s, (ts, ty))
    monkeypatch.setattr(sorted_scores, "CHUNK", chunk)
    assert _all_metrics(y, s, (ts, ty)) == expected


@pytest.mark.parametrize("chunk", [1, 2, 5, 1 << 20])
def test_roc_corners_match_a_direct_walk(monkeypatch, chunk):
    monkeypatch.setattr(sorted_scores, "CHUNK", chunk)
    skm = pytest.importorskip("sklearn.metrics")
    for seed, decimals in ((0, None), (1, 2), (2, 1)):
        y, s = _data(seed, 300, decimals)
        fpr, tpr, thresholds = M.roc_curve_full(y, s)
        ref_fpr, ref_tpr, ref_thr = skm.roc_curve(y, s, drop_intermediate=True)
        lead = thresholds[0] > s.max()  # our (0, 0) point at max + 1, where sklearn has inf
        ref = slice(0 if lead else 1, None)
        np.testing.assert_allclose(fpr, ref_fpr[ref])
        np.testing.assert_allclose(tpr, ref_tpr[ref])
        np.testing.assert_allclose(thresholds[int(lead):], ref_thr[1:])
        assert M.auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)


def test_quantiles_are_numpys_nearest_quantiles():
    quantiles = np.linspace(0, 1, 21)
    for n in (1, 2, 3, 10, 101, 1000):
        scores = np.sort(np.random.default_rng(n).random(n))
        ss = SortedScores(np.empty(0), scores)
        np.testing.assert_array_equal(ss.quantiles(quantiles),
                                      np.quantile(scores, quantiles, method="nearest"))
        assert nearest_rank(n, [0.5])[0] == round(0.5 * (n - 1))


def test_merge_sorted_empties_its_runs_and_sorts():
    runs = [np.array([0.1, 0.5]), np.array([0.2, 0.3, 0.9]), np.array([])]
    assert merge_sorted(runs).tolist() == [0.1, 0.2, 0.3, 0.5, 0.9]
    assert runs == []


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_scores_are_refused(bad):
    with pytest.raises(ValueError, match="NaN or infinite"):
        SortedScores.from_labels([1, 0, 1], [0.2, bad, 0.4])
