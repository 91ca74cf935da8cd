"""The metrics the shared machinery logs for a table of predict rows (FATE's Evaluation calls).

A data set named ``name`` (``iteration_3``, ``train_fold_0``, ...) is logged under the namespace of
its row type (``train``/``validate``): an EVALUATION_SUMMARY record named ``name`` holding the
single-value metrics, then the curves (``<name>_ks_fpr``, ...), exactly as the Evaluation component
logs an upstream component's rows. FATE's ``check_single_value_default_metric`` drops psi, f1_score,
confusion_mat and quantile_pr first.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from fate_flow.components.evaluation.evaluation import binary_runs, prediction_columns
from fate_flow.components.evaluation.metrics import BINARY, MULTI, REGRESSION, evaluate, normalize_metrics
from fate_flow.components.evaluation.sorted_scores import SortedScores, merge_sorted

DROPPED_METRICS = ("psi", "f1_score", "confusion_mat", "quantile_pr")
# FATE's check_single_value_default_metric: what an empty ``metrics`` means when a model validates
SINGLE_VALUE_DEFAULTS = {BINARY: ["auc", "ks"], MULTI: ["accuracy", "precision", "recall"],
                         REGRESSION: ["root_mean_squared_error", "mean_absolute_error"]}
TYPE_CODES = {"train": 0, "validate": 1, "predict": 2}


def usable_metrics(eval_type: str, metrics: list | None) -> list[str]:
    """The metrics to log: the task's single-value defaults when none are given, without FATE's dropped ones."""
    if not metrics:
        return list(SINGLE_VALUE_DEFAULTS[eval_type])
    return [m for m in normalize_metrics(eval_type, metrics) if m not in DROPPED_METRICS]


def evaluate_predictions(tracker: Any, table: Any, row_type: str, name: str, eval_type: str,
                         metrics: list | None, pos_label: Any = 1) -> dict[str, float]:
    """Log the metrics of the ``row_type`` rows of the predict-rows ``table`` as data set ``name``.

    Returns:
        {metric: value} of the single-value metrics (what early stopping compares).
    """
    labels, values = _read(table, row_type, eval_type, pos_label)
    records = evaluate(eval_type, labels, values, metrics=usable_metrics(eval_type, metrics),
                       pos_label=pos_label, component_name=name)
    single = {}
    for record in records:
        if record.data:
            tracker.log_metric_data(row_type, record.name, record.data)
        tracker.set_metric_meta(row_type, record.name, record.meta)
        if record.metric_type == "EVALUATION_SUMMARY":
            single.update({metric: float(value) for metric, value in record.data})
    return single


def _read(table: Any, row_type: str, eval_type: str, pos_label: Any):
    """(SortedScores, None) for binary, else (labels, predicted labels or scores) of one row type."""
    code = TYPE_CODES[row_type]
    if eval_type == BINARY:
        parts = table.map_reduce(functools.partial(binary_runs, pos_label=pos_label))
        pos = [p["runs"][code][0] for p in parts if code in p.get("runs", {})]
        neg = [p["runs"][code][1] for p in parts if code in p.get("runs", {})]
        if not pos:
            raise ValueError(f"no {row_type} rows to evaluate")
        return SortedScores(merge_sorted(pos), merge_sorted(neg)), None
    parts = table.map_reduce(prediction_columns)
    column = "predictions" if eval_type == MULTI else "scores"
    labels = np.concatenate([p["labels"][p["types"] == code] for p in parts if p["bad_row"] < 0] or [np.empty(0)])
    values = np.concatenate([p[column][p["types"] == code] for p in parts if p["bad_row"] < 0] or [np.empty(0)])
    if not len(labels):
        raise ValueError(f"no {row_type} rows to evaluate")
    return labels, values
