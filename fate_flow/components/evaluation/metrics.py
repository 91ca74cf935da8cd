"""Evaluation metrics of FATE 1.4 (``federatedml/evaluation``), numpy only.

This is the pure computation layer of the Evaluation component. Every public
function takes plain sequences and returns numbers or numpy arrays; `evaluate`
turns them into the :class:`MetricRecord` list the component hands to its tracker
(``log_metric_data`` for ``record.data`` when it is not empty, then
``set_metric_meta`` with ``record.meta``; the namespace, ``train``/``validate``/
``predict``, is chosen by the caller).

Conventions shared by the binary metrics (they are FATE's, checked against the
recorded FATE 1.4.5 answers in ``shared/spec/fate14_responses``):

* labels are mapped to ``1`` when ``label == pos_label`` and ``0`` otherwise;
* a row is predicted positive at threshold ``t`` when ``score > t`` (strictly);
* "step" thresholds: the distinct scores sorted in descending order, taken at
  index ``int(size * c)`` for ``c`` in ``numpy.arange(0, 1, 0.01)`` (100 cuts;
  repeated thresholds when there are fewer than 100 distinct scores);
* ks thresholds: all scores (ties kept) sorted descending, taken at index
  ``int(n * c)`` for ``c = 0.00 .. 0.99``;
* the x value ("cut") of precision/recall/accuracy/ks curves is ``c``; lift and
  gain use the fraction predicted positive ``(tp + fp) / n``;
* values are rounded to 6 digits only when records are built.

Counting uses one sort plus a cumulative sum of the positive labels and a
``searchsorted`` per threshold vector, so no step loops over rows.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Sequence

import numpy as np

from fate_flow.components.evaluation.sorted_scores import SortedScores

ROUND_NUM = 6

BINARY = "binary"
MULTI = "multi"
REGRESSION = "regression"
EVAL_TYPES = (BINARY, MULTI, REGRESSION)

AUC = "auc"
KS = "ks"
LIFT = "lift"
GAIN = "gain"
ACCURACY = "accuracy"
PRECISION = "precision"
RECALL = "recall"
ROC = "roc"
CONFUSION_MAT = "confusion_mat"
PSI = "psi"
F1_SCORE = "f1_score"
QUANTILE_PR = "quantile_pr"
EXPLAINED_VARIANCE = "explained_variance"
MEAN_ABSOLUTE_ERROR = "mean_absolute_error"
MEAN_SQUARED_ERROR = "mean_squared_error"
MEAN_SQUARED_LOG_ERROR = "mean_squared_log_error"
MEDIAN_ABSOLUTE_ERROR = "median_absolute_error"
R2_SCORE = "r2_score"
ROOT_MEAN_SQUARED_ERROR = "root_mean_squared_error"

#: Defaults (``metrics`` None or empty) per eval_type, in FATE's order.
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    BINARY: (AUC, KS, LIFT, GAIN, ACCURACY, PRECISION, RECALL, ROC, CONFUSION_MAT, PSI, F1_SCORE,
             QUANTILE_PR),
    MULTI: (ACCURACY, PRECISION, RECALL),
    REGRESSION: (EXPLAINED_VARIANCE, MEAN_ABSOLUTE_ERROR, MEAN_SQUARED_ERROR, MEDIAN_ABSOLUTE_ERROR,
                 R2_SCORE, ROOT_MEAN_SQUARED_ERROR),
}

#: Metrics accepted per eval_type. FATE 1.4 lists msle as an alias but leaves it out of
#: its allowed regression list; here it is accepted (see `normalize_metrics`).
ALLOWED_METRICS: dict[str, tuple[str, ...]] = {
    BINARY: DEFAULT_METRICS[BINARY],
    MULTI: DEFAULT_METRICS[MULTI],
    REGRESSION: DEFAULT_METRICS[REGRESSION] + (MEAN_SQUARED_LOG_ERROR,),
}

ALL_METRIC_NAMES: tuple[str, ...] = (
    AUC, KS, LIFT, GAIN, PRECISION, RECALL, ACCURACY, EXPLAINED_VARIANCE, MEAN_ABSOLUTE_ERROR,
    MEAN_SQUARED_ERROR, MEAN_SQUARED_LOG_ERROR, MEDIAN_ABSOLUTE_ERROR, R2_SCORE,
    ROOT_MEAN_SQUARED_ERROR, ROC, F1_SCORE, CONFUSION_MAT, PSI, QUANTILE_PR,
)

#: Alias -> full metric name (FATE ``consts.ALIAS``).
ALIASES: dict[str, str] = {
    "l1": MEAN_ABSOLUTE_ERROR, "mae": MEAN_ABSOLUTE_ERROR, "regression_l1": MEAN_ABSOLUTE_ERROR,
    "l2": MEAN_SQUARED_ERROR, "mse": MEAN_SQUARED_ERROR, "regression_l2": MEAN_SQUARED_ERROR,
    "regression": MEAN_SQUARED_ERROR,
    "l2_root": ROOT_MEAN_SQUARED_ERROR, "rmse": ROOT_MEAN_SQUARED_ERROR,
    "msle": MEAN_SQUARED_LOG_ERROR,
    "r2": R2_SCORE,
    "acc": ACCURACY,
}

#: Metrics whose single value goes into the ``<cpn>`` EVALUATION_SUMMARY record.
_SINGLE_VALUE_METRICS = (AUC, EXPLAINED_VARIANCE, MEAN_ABSOLUTE_ERROR, MEAN_SQUARED_ERROR,
                         MEAN_SQUARED_LOG_ERROR, MEDIAN_ABSOLUTE_ERROR, R2_SCORE,
                         ROOT_MEAN_SQUARED_ERROR)

# The 100 step cuts exactly as FATE builds them (float64 values of arange).
_STEP_CUTS = np.arange(0, 1, 0.01)
# ks cuts: c / 100 for c in range(100).
_KS_CUTS = np.arange(100) / 100
# quantile_pr / psi quantiles: 0, 0.05, ..., 0.95, 1.0.
_QUANTILES = [round(i * 0.05, 3) for i in range(20)] + [1.0]
# Value FATE puts in the summary when a single value is infinite.
_INF_REPLACEMENT = float(-9999999)


# ---------------------------------------------------------------------------------------------
# records
# ---------------------------------------------------------------------------------------------

@dataclass
class MetricRecord:
    """One metric as the component logs it (namespace chosen by the caller).

    ``data`` is the ``[[key, value], ...]`` list for ``tracker.log_metric_data`` (empty for
    meta-only tables such as confusion_mat, which FATE records with ``set_metric_meta`` only);
    ``meta`` holds ``name``, ``metric_type`` and the extra metas.
    """

    name: str
    data: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def metric_type(self) -> str:
        return self.meta["metric_type"]

    def to_dict(self) -> dict[str, Any]:
        """The shape of one entry of ``component_metric_all``: ``{"data": ..., "meta": ...}``."""
        return {"data": [list(p) for p in self.data], "meta": dict(self.meta)}


def _round(value: Any) -> float:
    return float(np.round(float(value), ROUND_NUM))


def _round_list(values: Iterable[Any]) -> list[float]:
    arr = np.asarray(list(values), dtype=float)
    return [float(v) for v in np.round(arr, ROUND_NUM)]


def _py(value: Any) -> Any:
    """numpy scalar -> python scalar (curve keys, class labels)."""
    return value.item() if isinstance(value, np.generic) else value


def _round_key(value: Any) -> Any:
    """FATE rounds a curve key only when it is a float (the int cut ``1`` stays an int)."""
    value = _py(value)
    if isinstance(value, float):
        return float(np.round(value, ROUND_NUM))
    return value


def _curve_points(xs: Sequence[Any], ys: Sequence[Any]) -> list[list[Any]]:
    points = [[_round_key(x), _round(y)] for x, y in zip(xs, ys)]
    points.sort(key=lambda p: p[0])  # stable, like FATE
    return points


def _curve_meta(name: str, metric_type: str, *, unit_name: str | None = None,
                ordinate_name: str | None = None, curve_name: str | None = None, best: Any = None,
                pair_type: str | None = None, thresholds: Sequence[float] | None = None) -> dict:
    """FATE's curve meta: ``<TYPE>_EVALUATION``; extra metas only when truthy."""
    meta: dict[str, Any] = {"name": name, "metric_type": f"{metric_type}_EVALUATION"}
    extras = (("unit_name", unit_name), ("ordinate_name", ordinate_name),
              ("curve_name", curve_name), ("best", best), ("pair_type", pair_type))
    for key, value in extras:
        if value:
            meta[key] = value
    if thresholds is not None and len(thresholds) > 0:
        meta["thresholds"] = _round_list(thresholds)
    return meta


# ---------------------------------------------------------------------------------------------
# input checks and counting
# ---------------------------------------------------------------------------------------------

def _scores_array(scores: Any, what: str = "scores") -> np.ndarray:
    try:
        arr = np.asarray(scores, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{what} is empty: evaluation needs at least one row")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or infinite values")
    return arr


def _labels_array(labels: Any, n: int) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("labels is empty: evaluation needs at least one row")
    if arr.size != n:
        raise ValueError(f"labels and scores differ in length: {arr.size} labels, {n} scores")
    return arr


def _need_both_classes(pos: int, neg: int, metric: str) -> None:
    if pos == 0 or neg == 0:
        only = "negative" if pos == 0 else "positive"
        raise ValueError(f"{metric} needs both positive and negative labels; "
                         f"all {pos + neg} labels are {only}")


def _sorted(labels: Any, scores: Any, pos_label: Any) -> SortedScores:
    """The checked inputs of a binary metric, as positives' and negatives' sorted scores."""
    s = _scores_array(scores)
    return SortedScores.from_labels(_labels_array(labels, s.size), s, pos_label)


def _step_thresholds(ss: SortedScores) -> tuple[np.ndarray, np.ndarray]:
    """FATE ``cut_by_step``: 100 thresholds from the distinct scores, descending."""
    distinct = ss.distinct_count()
    idx = np.floor(distinct * _STEP_CUTS).astype(np.int64)
    return ss.distinct_desc_at(idx, distinct), _STEP_CUTS.copy()


def _quantile_thresholds(ss: SortedScores) -> np.ndarray:
    """FATE ``cut_by_quantile`` without removing duplicates: 21 'nearest' quantiles, ascending."""
    return np.sort(ss.quantiles(_QUANTILES))


def _precision_values(counts: dict[str, np.ndarray], impute: float = 1.0) -> np.ndarray:
    predicted = counts["tp"] + counts["fp"]
    out = np.full(predicted.shape, impute, dtype=float)
    nz = predicted > 0
    out[nz] = counts["tp"][nz] / predicted[nz]
    return out


def _recall_values(counts: dict[str, np.ndarray]) -> np.ndarray:
    actual = counts["tp"] + counts["fn"]
    if np.any(actual == 0):
        raise ValueError("recall needs at least one positive label")
    return counts["tp"] / actual


def _best_y_per_x(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices kept by FATE's ``__filt_override_unit_ordinate_coordinate``.

    One point per distinct x (in order of first appearance): the first index holding the
    largest y of that x.
    """
    x = np.asarray(x)
    y = np.asarray(y, dtype=float)
    _, first_idx, inverse = np.unique(x, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    group_max = np.full(first_idx.size, -np.inf)
    np.maximum.at(group_max, inverse, y)
    candidates = np.nonzero(y == group_max[inverse])[0]
    _, pos = np.unique(inverse[candidates], return_index=True)
    best_by_group = candidates[pos]  # groups in sorted-x order
    return best_by_group[np.argsort(first_idx, kind="mergesort")]


# ---------------------------------------------------------------------------------------------
# binary classification
# ---------------------------------------------------------------------------------------------

# Every binary metric takes ``(labels, scores, pos_label)`` or one ``SortedScores`` in place of
# the labels (then ``scores`` is not used): the component builds that once per data set.

def _inputs(labels: Any, scores: Any, pos_label: Any) -> SortedScores:
    return labels if isinstance(labels, SortedScores) else _sorted(labels, scores, pos_label)


def auc(labels: Any, scores: Any = None, pos_label: Any = 1) -> float:
    """Area under the ROC curve (exact; ties count one half, as ``roc_auc_score``)."""
    ss = _inputs(labels, scores, pos_label)
    if ss.n_pos == 0 or ss.n_neg == 0:
        raise ValueError("auc is not defined when only one class is present in labels "
                         f"({ss.n} rows, all {'negative' if ss.n_pos == 0 else 'positive'})")
    return ss.mann_whitney() / (ss.n_pos * ss.n_neg)


class RocCurve(NamedTuple):
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray


def _roc(ss: SortedScores, ranks_of: Any) -> RocCurve:
    """The ROC points at the ranks ``ranks_of(size)`` of the full curve of ``size`` points.

    The full curve is the corners of ``SortedScores.corners``, led by ``(0, 0)`` at threshold
    ``max + 1`` only when the top score is a negative (the rule of the scikit-learn version
    FATE 1.4 ran; current scikit-learn always adds it, with threshold ``inf``).
    """
    _need_both_classes(ss.n_pos, ss.n_neg, "roc")
    top = ss.all[-1:]
    lead = int(ss.at_or_above(top)[1][0] > 0)
    wanted: list[np.ndarray] = []

    def corner_ranks(count: int) -> np.ndarray:
        wanted.append(np.asarray(ranks_of(count + lead), dtype=np.int64))
        return wanted[0][wanted[0] >= lead] - lead

    _, tps, fps, thresholds = ss.corners(corner_ranks)
    if lead and wanted[0].size and wanted[0][0] == 0:
        tps, fps, thresholds = np.r_[0, tps], np.r_[0, fps], np.r_[top[0] + 1, thresholds]
    return RocCurve(fps / ss.n_neg, tps / ss.n_pos, thresholds)


def roc_curve_full(labels: Any, scores: Any = None, pos_label: Any = 1) -> RocCurve:
    """ROC corners as sklearn's ``roc_curve(drop_intermediate=True)`` computes them.

    Thresholds are the distinct scores, descending; collinear points are dropped (see `_roc`
    for the leading point). The recorded FATE answers start at the top score.
    """
    return _roc(_inputs(labels, scores, pos_label), np.arange)


def roc_curve(labels: Any, scores: Any = None, pos_label: Any = 1) -> RocCurve:
    """The ROC points FATE records (``<cpn>_roc``), in descending-threshold order.

    The full curve (`roc_curve_full`) is reduced to the thresholds at index
    ``int(S * c)``, ``c`` in ``arange(0, 1, 0.01)``, of its ``S`` thresholds (repeats removed),
    so at most 100 points. FATE then appends ``(1, 1)`` to fpr/tpr but not to the thresholds
    and zips the three lists, which drops that end point again: the recorded answers hold 100
    points ending below fpr 1, and so does this function.
    """
    return _roc(_inputs(labels, scores, pos_label),
                lambda size: np.unique(np.floor(size * _STEP_CUTS).astype(np.int64)))


class KSResult(NamedTuple):
    ks: float
    fpr: np.ndarray         # 101 values, the last one the end point 1.0
    tpr: np.ndarray         # 101 values, the last one the end point 1.0
    thresholds: np.ndarray  # 100 values
    cuts: np.ndarray        # 101 values: 0.00 .. 0.99, 1.0


def ks(labels: Any, scores: Any = None, pos_label: Any = 1) -> KSResult:
    """Kolmogorov-Smirnov as FATE computes it.

    Thresholds are the descending scores at index ``int(n * c)``, ``c = 0.00 .. 0.99``;
    at each, ``tpr = tp / P`` and ``fpr = fp / N`` with ``pred = score > threshold``.
    ``ks = max(tpr - fpr)`` over those 100 cuts; the curves get the end point (1, 1) at cut 1.0.
    """
    ss = _inputs(labels, scores, pos_label)
    _need_both_classes(ss.n_pos, ss.n_neg, "ks")
    thresholds = ss.desc_at(np.floor(ss.n * _KS_CUTS).astype(np.int64))
    c = ss.counts(thresholds)
    tpr = c["tp"] / ss.n_pos
    fpr = c["fp"] / ss.n_neg
    ks_value = float(np.max(tpr - fpr))
    return KSResult(ks_value, np.r_[fpr, 1.0], np.r_[tpr, 1.0], thresholds, np.r_[_KS_CUTS, 1.0])


class Curve(NamedTuple):
    x: list
    y: np.ndarray
    thresholds: np.ndarray


def _lift_gain(ss: SortedScores, which: str) -> Curve:
    thresholds, _ = _step_thresholds(ss)
    c = ss.counts(thresholds)
    n = ss.n
    x = (c["tp"] + c["fp"]) / n
    if which == LIFT:
        precision = _precision_values(c, impute=1.0)
        base_rate = ss.n_pos / n
        values = precision / base_rate if ss.n_pos > 0 else np.full(x.shape, sys.float_info.max)
    else:
        values = c["tp"] / ss.n_pos if ss.n_pos > 0 else np.ones(x.shape)
    keep = _best_y_per_x(x, values)
    return Curve([float(v) for v in x[keep]] + [1.0], np.r_[values[keep], 1.0],
                 np.r_[thresholds[keep], 0.0])


def lift(labels: Any, scores: Any = None, pos_label: Any = 1) -> Curve:
    """Lift curve as recorded: x = (tp + fp) / n, y = precision / (P / n).

    Precision is 1 when nothing is predicted positive. One point per distinct x (largest y),
    then the end point (1, 1) with threshold 0.0.
    """
    return _lift_gain(_inputs(labels, scores, pos_label), LIFT)


def gain(labels: Any, scores: Any = None, pos_label: Any = 1) -> Curve:
    """Gain curve as recorded: x = (tp + fp) / n, y = recall; end point (1, 1) at threshold 0.0."""
    return _lift_gain(_inputs(labels, scores, pos_label), GAIN)


def _edge_thresholds(ss: SortedScores) -> tuple[np.ndarray, list]:
    """Step thresholds plus FATE's edge ``min(thresholds) - 0.001`` (cut ``1``, an int)."""
    thresholds, cuts = _step_thresholds(ss)
    thresholds = np.r_[thresholds, float(np.min(thresholds)) - 0.001]
    return thresholds, [float(c) for c in cuts] + [1]


class PrecisionRecall(NamedTuple):
    cuts: list               # x of both curves (the edge cut is the int 1)
    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray   # one fewer than the points when the edge point is kept


def precision_recall(labels: Any, scores: Any = None, pos_label: Any = 1) -> PrecisionRecall:
    """Binary precision and recall curves as recorded (``<cpn>_precision`` / ``_recall``).

    101 thresholds: the 100 step thresholds and ``min - 0.001`` (cut 1). Precision is 1 when
    nothing is predicted positive. Points with the same recall are merged, keeping the first
    one with the best precision; the edge threshold itself is never listed in the meta.
    """
    ss = _inputs(labels, scores, pos_label)
    thresholds, cuts = _edge_thresholds(ss)
    c = ss.counts(thresholds)
    precision = _precision_values(c)
    recall = _recall_values(c)
    keep = _best_y_per_x(recall, precision)
    kept_thresholds = keep[:-1] if keep[-1] == thresholds.size - 1 else keep
    return PrecisionRecall([cuts[i] for i in keep], precision[keep], recall[keep],
                           thresholds[kept_thresholds])


def accuracy_curve(labels: Any, scores: Any = None, pos_label: Any = 1) -> Curve:
    """Binary accuracy ``(tp + tn) / n`` at the 100 step thresholds (x = cut)."""
    ss = _inputs(labels, scores, pos_label)
    thresholds, cuts = _step_thresholds(ss)
    c = ss.counts(thresholds)
    acc = (c["tp"] + c["tn"]) / ss.n
    return Curve([float(v) for v in cuts], acc, thresholds)


def _table_thresholds(ss: SortedScores) -> np.ndarray:
    """Step thresholds plus FATE's end threshold 0 (rows with ``score > 0`` are positive)."""
    thresholds, _ = _step_thresholds(ss)
    return np.r_[thresholds, 0.0]


def confusion_mat(labels: Any, scores: Any = None, pos_label: Any = 1) -> dict:
    """``{"tp", "fp", "fn", "tn": int lists, "thresholds": floats}`` at the 100 step
    thresholds plus threshold 0 (101 entries)."""
    ss = _inputs(labels, scores, pos_label)
    thresholds = _table_thresholds(ss)
    c = ss.counts(thresholds)
    out: dict[str, Any] = {k: [int(v) for v in c[k]] for k in ("tp", "fp", "fn", "tn")}
    out["thresholds"] = [float(t) for t in thresholds]
    return out


class F1Curve(NamedTuple):
    f1_scores: np.ndarray
    thresholds: np.ndarray


def f1_score(labels: Any, scores: Any = None, pos_label: Any = 1) -> F1Curve:
    """F1 = 2pr / (p + r) at the confusion_mat thresholds (precision 1 when nothing is
    predicted positive; 0 when p + r = 0)."""
    ss = _inputs(labels, scores, pos_label)
    thresholds = _table_thresholds(ss)
    c = ss.counts(thresholds)
    p = _precision_values(c)
    r = _recall_values(c)
    denominator = p + r
    denominator[denominator == 0] = 1e-6
    return F1Curve(2 * p * r / denominator, thresholds)


class QuantilePR(NamedTuple):
    p_scores: list   # [[0.0, precision], ...] (FATE's pair layout; the first item is always 0)
    r_scores: list   # [[0.0, recall], ...]
    thresholds: np.ndarray  # ascending


def quantile_pr(labels: Any, scores: Any = None, pos_label: Any = 1) -> QuantilePR:
    """Precision and recall at the 21 score quantiles 0, 0.05, ..., 0.95, 1 ('nearest',
    duplicates kept), thresholds ascending."""
    ss = _inputs(labels, scores, pos_label)
    thresholds = _quantile_thresholds(ss)
    c = ss.counts(thresholds)
    p = _precision_values(c)
    r = _recall_values(c)
    return QuantilePR([[0.0, float(v)] for v in p], [[0.0, float(v)] for v in r], thresholds)


def _psi_bins(train: SortedScores) -> np.ndarray:
    points = np.unique(train.quantiles(_QUANTILES))
    if points.size == 1:
        points = train.all[[0, -1]]
    return points


def _bin_counts(ascending: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Counts of sorted values in [p0, p1), [p1, p2), ..., [p_{k-1}, p_k] (the last bin closed
    on both sides; values outside [p0, p_k] are not counted)."""
    left = np.searchsorted(ascending, points[:-1], side="left")
    right = np.r_[np.searchsorted(ascending, points[1:-1], side="left"),
                  np.searchsorted(ascending, points[-1:], side="right")]
    return right - left


def _interval_str(left: float, right: float, last: bool) -> str:
    return "[{}, {}{}".format(_round(left), _round(right), "]" if last else ")")


def _unlabelled(scores: Any, what: str) -> SortedScores:
    s = np.sort(_scores_array(scores, what))
    return SortedScores(np.empty(0), s)


def psi(train_scores: Any, validate_scores: Any = None,
        train_labels: Sequence[Any] | None = None, validate_labels: Sequence[Any] | None = None,
        pos_label: Any = 1) -> dict:
    """Population stability index of the validate scores against the train scores.

    Bins: the distinct 'nearest' quantiles 0, 0.05, ..., 1 of the train scores (both ends of
    the last bin closed; scores outside the train range are not counted). Empty bins count
    1e-6 when forming the percentages. ``psi_i = (a_i - e_i) * ln(a_i / e_i)`` with
    ``e``/``a`` the train/validate percentages; ``total_psi = sum(psi_i)``. With labels (or
    two ``SortedScores``), the share of ``label == pos_label`` per bin is reported too (0 for
    an empty bin).

    Returns FATE's meta fields (unrounded): psi_scores, total_psi, expected_interval,
    expected_percentage, actual_interval, actual_percentage, train_pos_perc,
    validate_pos_perc, intervals.
    """
    has_labels = isinstance(train_scores, SortedScores) or (
        train_labels is not None and validate_labels is not None)
    if isinstance(train_scores, SortedScores):
        train, validate = train_scores, validate_scores
    elif has_labels:
        train = SortedScores.from_labels(_labels_array(train_labels, len(train_scores)),
                                         _scores_array(train_scores, "train_scores"), pos_label)
        validate = SortedScores.from_labels(
            _labels_array(validate_labels, len(validate_scores)),
            _scores_array(validate_scores, "validate_scores"), pos_label)
    else:
        train = _unlabelled(train_scores, "train_scores")
        validate = _unlabelled(validate_scores, "validate_scores")
    points = _psi_bins(train)
    expected = _bin_counts(train.all, points)
    actual = _bin_counts(validate.all, points)

    def percentages(counts: np.ndarray) -> np.ndarray:
        total = counts.sum()
        filled = np.where(counts == 0, 1e-6, counts.astype(float))
        return filled / total if total > 0 else filled

    e_pct = percentages(expected)
    a_pct = percentages(actual)
    psi_scores = (a_pct - e_pct) * np.log(a_pct / e_pct)

    def pos_share(ss: SortedScores, counts: np.ndarray) -> list[float]:
        pos_counts = _bin_counts(ss.pos, points)
        share = np.zeros(counts.size)
        nz = counts > 0
        share[nz] = pos_counts[nz] / counts[nz]
        return [float(v) for v in share]

    n_bins = points.size - 1
    return {
        "psi_scores": [float(v) for v in psi_scores],
        "total_psi": float(psi_scores.sum()),
        "expected_interval": [int(v) for v in expected],
        "expected_percentage": [float(v) for v in e_pct],
        "actual_interval": [int(v) for v in actual],
        "actual_percentage": [float(v) for v in a_pct],
        "train_pos_perc": pos_share(train, expected) if has_labels else None,
        "validate_pos_perc": pos_share(validate, actual) if has_labels else None,
        "intervals": [_interval_str(points[i], points[i + 1], i == n_bins - 1)
                      for i in range(n_bins)],
    }


# ---------------------------------------------------------------------------------------------
# multi-class classification (predicted labels)
# ---------------------------------------------------------------------------------------------

def _multi_inputs(labels: Any, predictions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pred = np.asarray(predictions)
    if pred.ndim != 1:
        raise ValueError(f"predictions must be one-dimensional, got shape {pred.shape}")
    if pred.size == 0:
        raise ValueError("predictions is empty: evaluation needs at least one row")
    true = _labels_array(labels, pred.size)
    classes, inverse = np.unique(np.concatenate([true, pred]), return_inverse=True)
    inverse = inverse.reshape(-1)
    return inverse[: true.size], inverse[true.size:], classes


def multi_accuracy(labels: Sequence[Any], predictions: Sequence[Any]) -> float:
    """Fraction of rows whose predicted label equals the label."""
    t, p, _ = _multi_inputs(labels, predictions)
    return float(np.mean(t == p))


def _per_class(labels, predictions, by: str) -> tuple[np.ndarray, list]:
    t, p, classes = _multi_inputs(labels, predictions)
    k = classes.size
    hits = np.bincount(t[t == p], minlength=k)
    totals = np.bincount(p if by == PRECISION else t, minlength=k)
    out = np.zeros(k)
    nz = totals > 0
    out[nz] = hits[nz] / totals[nz]
    return out, [_py(c) for c in classes]


def multi_precision(labels: Sequence[Any], predictions: Sequence[Any]) -> tuple[np.ndarray, list]:
    """Per-class precision (0 for a class never predicted) and the sorted class list."""
    return _per_class(labels, predictions, PRECISION)


def multi_recall(labels: Sequence[Any], predictions: Sequence[Any]) -> tuple[np.ndarray, list]:
    """Per-class recall (0 for a class absent from the labels) and the sorted class list."""
    return _per_class(labels, predictions, RECALL)


def macro_precision(labels: Sequence[Any], predictions: Sequence[Any]) -> float:
    return float(np.mean(multi_precision(labels, predictions)[0]))


def macro_recall(labels: Sequence[Any], predictions: Sequence[Any]) -> float:
    return float(np.mean(multi_recall(labels, predictions)[0]))


# ---------------------------------------------------------------------------------------------
# regression
# ---------------------------------------------------------------------------------------------

def _regression_inputs(labels: Any, predictions: Any) -> tuple[np.ndarray, np.ndarray]:
    p = _scores_array(predictions, "predictions")
    t = _scores_array(_labels_array(labels, p.size), "labels")
    return t, p


def _ratio_score(numerator: float, denominator: float) -> float:
    """1 - num/den, with sklearn's finite fallbacks for a constant target."""
    if denominator == 0:
        return 1.0 if numerator == 0 else 0.0
    return 1.0 - numerator / denominator


def explained_variance(labels: Sequence[float], predictions: Sequence[float]) -> float:
    t, p = _regression_inputs(labels, predictions)
    diff = t - p
    return _ratio_score(float(np.mean((diff - diff.mean()) ** 2)),
                        float(np.mean((t - t.mean()) ** 2)))


def mean_absolute_error(labels: Sequence[float], predictions: Sequence[float]) -> float:
    t, p = _regression_inputs(labels, predictions)
    return float(np.mean(np.abs(t - p)))


def mean_squared_error(labels: Sequence[float], predictions: Sequence[float]) -> float:
    t, p = _regression_inputs(labels, predictions)
    return float(np.mean((t - p) ** 2))


def mean_squared_log_error(labels: Sequence[float], predictions: Sequence[float]) -> float:
    t, p = _regression_inputs(labels, predictions)
    if np.any(t < 0) or np.any(p < 0):
        raise ValueError("mean_squared_log_error cannot be used when labels or predictions "
                         "contain negative values")
    return float(np.mean((np.log1p(t) - np.log1p(p)) ** 2))


def median_absolute_error(labels: Sequence[float], predictions: Sequence[float]) -> float:
    t, p = _regression_inputs(labels, predictions)
    return float(np.median(np.abs(t - p)))


def r2_score(labels: Sequence[float], predictions: Sequence[float]) -> float:
    t, p = _regression_inputs(labels, predictions)
    return _ratio_score(float(np.sum((t - p) ** 2)), float(np.sum((t - t.mean()) ** 2)))


def root_mean_squared_error(labels: Sequence[float], predictions: Sequence[float]) -> float:
    return math.sqrt(mean_squared_error(labels, predictions))


_REGRESSION_FUNCS = {
    EXPLAINED_VARIANCE: explained_variance,
    MEAN_ABSOLUTE_ERROR: mean_absolute_error,
    MEAN_SQUARED_ERROR: mean_squared_error,
    MEAN_SQUARED_LOG_ERROR: mean_squared_log_error,
    MEDIAN_ABSOLUTE_ERROR: median_absolute_error,
    R2_SCORE: r2_score,
    ROOT_MEAN_SQUARED_ERROR: root_mean_squared_error,
}


# ---------------------------------------------------------------------------------------------
# metric list normalisation
# ---------------------------------------------------------------------------------------------

def _check_eval_type(eval_type: str) -> str:
    if not isinstance(eval_type, str) or eval_type.lower() not in EVAL_TYPES:
        raise ValueError(f"eval_type {eval_type!r} not supported, should be one of "
                         f"{', '.join(EVAL_TYPES)}")
    return eval_type.lower()


def normalize_metrics(eval_type: str, metrics: Sequence[str] | None) -> list[str]:
    """FATE's ``EvaluateParam`` metric check.

    ``None``/empty gives the defaults of ``eval_type``. Otherwise names are lower-cased,
    aliases mapped to full names (l1/mae/regression_l1, l2/mse/regression_l2/regression,
    l2_root/rmse, msle, r2, acc) and duplicates dropped, keeping the first position. Unknown
    names, or names not used by ``eval_type``, raise ``ValueError`` naming them. If recall is
    present without precision, precision is appended, and the other way round.
    """
    eval_type = _check_eval_type(eval_type)
    if metrics is None or len(metrics) == 0:
        return list(DEFAULT_METRICS[eval_type])
    if isinstance(metrics, str):
        metrics = [metrics]
    names: list[str] = []
    unknown: list[str] = []
    for metric in metrics:
        key = str(metric).lower()
        full = key if key in ALL_METRIC_NAMES else ALIASES.get(key)
        if full is None:
            unknown.append(str(metric))
        elif full not in names:
            names.append(full)
    if unknown:
        raise ValueError(f"metric {', '.join(unknown)} is not supported; known metrics: "
                         f"{', '.join(ALL_METRIC_NAMES)} and aliases {', '.join(ALIASES)}")
    not_allowed = [m for m in names if m not in ALLOWED_METRICS[eval_type]]
    if not_allowed:
        raise ValueError(f"metric {', '.join(not_allowed)} is not used for {eval_type} task; "
                         f"allowed: {', '.join(ALLOWED_METRICS[eval_type])}")
    if RECALL in names and PRECISION not in names:
        names.append(PRECISION)
    if PRECISION in names and RECALL not in names:
        names.append(RECALL)
    return names


# ---------------------------------------------------------------------------------------------
# records the component logs
# ---------------------------------------------------------------------------------------------

def _single_value(value: float) -> float:
    value = float(value)
    if math.isinf(value):
        value = _INF_REPLACEMENT
    return _round(value)


class _Builder:
    """Collects records in FATE's logging order; single values share one summary record."""

    def __init__(self, cpn: str) -> None:
        self.cpn = cpn
        self.records: list[MetricRecord] = []
        self.summary: MetricRecord | None = None

    def single(self, metric: str, value: float) -> None:
        if self.summary is None:
            self.summary = MetricRecord(self.cpn, [], {"name": self.cpn,
                                                      "metric_type": "EVALUATION_SUMMARY"})
            self.records.append(self.summary)
        self.summary.data.append([metric, _single_value(value)])

    def add(self, record: MetricRecord) -> None:
        self.records.append(record)

    def curve(self, metric_name: str, xs, ys, metric_type: str, **metas) -> None:
        self.add(MetricRecord(metric_name, _curve_points(xs, ys),
                              _curve_meta(metric_name, metric_type, **metas)))

    def table(self, metric_name: str, metric_type: str, extra: dict) -> None:
        meta = {"name": metric_name, "metric_type": metric_type}
        meta.update(extra)
        self.add(MetricRecord(metric_name, [], meta))


def _binary_records(b: _Builder, names: list[str], s: SortedScores,
                    psi_train: SortedScores | None) -> None:
    cpn = b.cpn
    pr_seen: set[str] = set()
    for metric in names:
        name = f"{cpn}_{metric}"
        if metric == AUC:
            b.single(AUC, auc(s))
        elif metric == KS:
            res = ks(s)
            b.single(KS, res.ks)
            for part, values in (("fpr", res.fpr), ("tpr", res.tpr)):
                b.curve(f"{name}_{part}", res.cuts, values, "KS", curve_name=f"{cpn}_{part}",
                        pair_type=cpn, thresholds=res.thresholds)
        elif metric in (LIFT, GAIN):
            curve = lift(s) if metric == LIFT else gain(s)
            b.curve(name, curve.x, curve.y, metric.upper(), curve_name=cpn,
                    thresholds=curve.thresholds)
        elif metric == ACCURACY:
            curve = accuracy_curve(s)
            b.curve(name, curve.x, curve.y, "ACCURACY", curve_name=cpn,
                    thresholds=curve.thresholds)
        elif metric in (PRECISION, RECALL):
            pr_seen.add(metric)
            if len(pr_seen) < 2:
                continue
            pr = precision_recall(s)
            b.curve(f"{cpn}_precision", pr.cuts, pr.precision, "PRECISION_BINARY",
                    ordinate_name="Precision", curve_name=cpn, pair_type=cpn,
                    thresholds=pr.thresholds)
            b.curve(f"{cpn}_recall", pr.cuts, pr.recall, "RECALL_BINARY", ordinate_name="Recall",
                    curve_name=cpn, pair_type=cpn, thresholds=pr.thresholds)
            pr_seen.clear()
        elif metric == ROC:
            curve = roc_curve(s)
            b.curve(name, curve.fpr, curve.tpr, "ROC", unit_name="fpr", ordinate_name="tpr",
                    curve_name=cpn, thresholds=curve.thresholds)
        elif metric == CONFUSION_MAT:
            cm = confusion_mat(s)
            b.table(name, "CONFUSION_MAT", {"tp": cm["tp"], "tn": cm["tn"], "fp": cm["fp"],
                                            "fn": cm["fn"],
                                            "thresholds": _round_list(cm["thresholds"])})
        elif metric == F1_SCORE:
            f1 = f1_score(s)
            b.table(name, "F1_SCORE", {"f1_scores": _round_list(f1.f1_scores),
                                       "thresholds": _round_list(f1.thresholds)})
        elif metric == QUANTILE_PR:
            q = quantile_pr(s)
            b.table(name, "QUANTILE_PR", {"p_scores": [_round_list(v) for v in q.p_scores],
                                          "r_scores": [_round_list(v) for v in q.r_scores],
                                          "thresholds": _round_list(q.thresholds)})
        elif metric == PSI:
            if psi_train is None:
                continue  # FATE computes psi only once both train and validate rows are seen
            res = psi(psi_train, s)
            res["psi_scores"] = _round_list(res["psi_scores"])
            res["total_psi"] = _round(res["total_psi"])
            b.table(name, "PSI", res)


def _multi_records(b: _Builder, names: list[str], labels, predictions) -> None:
    cpn = b.cpn
    per_class: dict[str, tuple[np.ndarray, list]] = {}
    for metric in names:
        if metric == ACCURACY:
            b.single(ACCURACY, multi_accuracy(labels, predictions))
        elif metric in (PRECISION, RECALL):
            fn = multi_precision if metric == PRECISION else multi_recall
            per_class[metric] = fn(labels, predictions)
            b.single(metric, float(np.mean(per_class[metric][0])))
            if len(per_class) < 2:
                continue
            for which, ordinate in ((PRECISION, "Precision"), (RECALL, "Recall")):
                values, classes = per_class[which]
                b.curve(f"{cpn}_{which}", classes, values, f"{which.upper()}_MULTI",
                        ordinate_name=ordinate, curve_name=cpn, pair_type=cpn)
            per_class.clear()


def evaluate(eval_type: str, labels: Any, scores: Any = None,
             metrics: Sequence[str] | None = None, pos_label: Any = 1,
             component_name: str = "hetero_lr_0",
             psi_train: Any = None) -> list[MetricRecord]:
    """Everything the Evaluation component logs for one data set and one mode.

    ``scores`` are the ``predict_score`` values (binary, regression) or the predicted labels
    (``predict_result``, multi). ``component_name`` is the upstream component (FATE's
    ``data_type``): the summary record is named after it and the others
    ``<component_name>_<metric>``. Records come in FATE's logging order: the summary
    (EVALUATION_SUMMARY, one ``[metric, value]`` pair per single-value metric) where the
    first single value is logged, then each curve/table in metric order; precision and
    recall are emitted together once both have been seen.

    psi compares two data sets: pass ``psi_train=(train_scores, train_labels)`` when
    evaluating the validate rows to get the ``<component_name>_psi`` record; without it psi
    is skipped, as FATE does when only one mode is present. For binary, ``labels`` (and
    ``psi_train``) may be a ``SortedScores`` instead, which is how the component passes them.
    """
    eval_type = _check_eval_type(eval_type)
    names = normalize_metrics(eval_type, metrics)
    b = _Builder(component_name)
    if eval_type == BINARY:
        if psi_train is not None and not isinstance(psi_train, SortedScores):
            train_scores, train_labels = psi_train
            psi_train = _sorted(train_labels, train_scores, pos_label)
        _binary_records(b, names, _inputs(labels, scores, pos_label), psi_train)
    elif eval_type == MULTI:
        _multi_records(b, names, labels, scores)
    else:
        for metric in names:
            b.single(metric, _REGRESSION_FUNCS[metric](labels, scores))
    return b.records


__all__ = [
    "ALIASES", "ALLOWED_METRICS", "DEFAULT_METRICS", "MetricRecord", "ROUND_NUM", "accuracy_curve",
    "auc", "confusion_mat", "evaluate", "explained_variance", "f1_score", "gain", "ks", "lift",
    "macro_precision", "macro_recall", "mean_absolute_error", "mean_squared_error",
    "mean_squared_log_error", "median_absolute_error", "multi_accuracy", "multi_precision",
    "multi_recall", "normalize_metrics", "precision_recall", "psi", "quantile_pr", "r2_score",
    "roc_curve", "roc_curve_full", "root_mean_squared_error",
]
