"""Evaluation: metrics of the predictions of upstream components, logged as FATE 1.4 logs them."""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.evaluation.metrics import BINARY, MULTI, evaluate
from fate_flow.components.evaluation.sorted_scores import SortedScores, merge_sorted, split_by_label

PREDICT_FIELDS = 5  # label, predict_result, predict_score, predict_detail, type
TYPE_ORDER = ("train", "validate", "predict")


class Evaluation(ComponentBase):
    """For every input table and every row type (train/validate/predict), log the metrics of its scores."""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        """Log the metrics of every input prediction table; no output data (the input with need_run false)."""
        tables = inputs.get("data", {})
        if not self.params.need_run:
            first = next(iter(tables.values()), None)
            return ComponentOutput(data=first[0] if isinstance(first, list) else first)
        sources = inputs.get("data_sources", {})
        for key, value in tables.items():
            for table, source in zip(value if isinstance(value, list) else [value], sources.get(key, [key])):
                if table is None:  # e.g. a HeteroLR host, which outputs no predictions
                    ctx.logger.info("no predictions from %s on this party: nothing to evaluate", source)
                    continue
                self._evaluate_table(ctx, table, source)
        return ComponentOutput()

    def _evaluate_table(self, ctx, table, source: str) -> None:
        if self.params.eval_type == BINARY:
            data_sets = read_binary_scores(ctx.computing, table, self.params.pos_label)
        else:
            data_sets = self._read_rows(ctx.computing, table)
        train = None
        for row_type, data in data_sets.items():
            psi_train = train if self.params.eval_type == BINARY and row_type == "validate" else None
            # binary: one SortedScores; multi/regression: (labels, predicted labels or scores)
            labels, values = (data, None) if isinstance(data, SortedScores) else data
            records = evaluate(self.params.eval_type, labels, values, metrics=self.params.metrics,
                               pos_label=self.params.pos_label, component_name=source, psi_train=psi_train)
            for record in records:
                if record.data:
                    ctx.tracker.log_metric_data(row_type, record.name, record.data)
                ctx.tracker.set_metric_meta(row_type, record.name, record.meta)
            if row_type == "train":
                train = data
            rows = data.n if values is None else len(values)
            ctx.logger.info("evaluated %s rows of %s (%s)", rows, source, row_type)

    def _read_rows(self, session: Any, table: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per row type present: (labels, predicted labels for multi or scores for regression)."""
        labels, predictions, scores, types = read_predictions(session, table)
        values = predictions if self.params.eval_type == MULTI else scores
        data_sets = {}
        for code, row_type in enumerate(TYPE_ORDER):
            rows = types == code
            if rows.any():
                data_sets[row_type] = (_rows(labels, rows), _rows(values, rows))
        return data_sets


def read_binary_scores(session: Any, table: Any, pos_label: Any) -> dict[str, SortedScores]:
    """Per row type present, its scores split by label and sorted (16 bytes a row).

    Each worker sorts its partition's runs; the driver merges the runs of each type, freeing
    them as it goes, and never holds labels, row types or the rows' text.
    """
    parts = session.load(table).map_reduce(functools.partial(binary_runs, pos_label=pos_label))
    _check_parts(parts, table)
    data_sets = {}
    for code, row_type in enumerate(TYPE_ORDER):
        pos = [part["runs"][code][0] for part in parts if code in part["runs"]]
        neg = [part["runs"][code][1] for part in parts if code in part["runs"]]
        for part in parts:
            part["runs"].pop(code, None)
        if pos:
            data_sets[row_type] = SortedScores(merge_sorted(pos), merge_sorted(neg))
    return data_sets


def binary_runs(block: Any, pos_label: Any) -> dict[str, Any]:
    """One partition's sorted (positive, negative) scores per row type code."""
    columns = prediction_columns(block)
    if columns["bad_row"] >= 0:
        return {"bad_row": columns["bad_row"], "rows": 0, "runs": {}}
    runs = {}
    for code in np.unique(columns["types"]):
        if code < 0:
            continue
        rows = columns["types"] == code
        runs[int(code)] = split_by_label(_rows(columns["labels"], rows), _rows(columns["scores"], rows), pos_label)
    return {"bad_row": -1, "rows": len(columns["types"]), "runs": runs}


def _check_parts(parts: list[dict], table: Any) -> None:
    """Raise on the first malformed row (numbered across partitions) or an empty table."""
    offset = 0
    for part in parts:
        if part["bad_row"] >= 0:
            raise ValueError(f"row {offset + part['bad_row'] + 1} is not a prediction "
                             "(label,predict_result,predict_score,predict_detail,type)")
        offset += part["rows"]
    if not offset:
        raise ValueError(f"table {table.meta.namespace}.{table.meta.name} has no rows to evaluate")


def read_predictions(session: Any, table: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(labels, predict_result, predict_score, type code) of a predict-format table, in partition order.

    Each partition is parsed by a worker into those four numeric columns: only they come back
    (25 bytes a row), never the rows' text. A type code is the type's position in TYPE_ORDER, -1
    for any other type.
    """
    parts = session.load(table).map_reduce(prediction_columns)
    for part in parts:
        part["rows"] = len(part["types"])
    _check_parts(parts, table)
    offset = sum(part["rows"] for part in parts)
    keys = ("labels", "predictions", "scores", "types")
    columns = {key: np.empty(offset, dtype=parts[0][key].dtype) for key in keys}
    start = 0
    parts.reverse()
    while parts:  # each part is freed once copied: the columns never sit in memory twice
        part = parts.pop()
        size = len(part["types"])
        for key in keys:
            columns[key][start:start + size] = part[key]
        start += size
    return tuple(columns[key] for key in keys)


def _rows(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values[mask]``, without a copy when every row is selected (a train-only table)."""
    return values if mask.all() else values[mask]


def prediction_columns(block: Any) -> dict[str, Any]:
    """One partition's numeric columns (see ``read_predictions``), and its first malformed row (-1: none)."""
    parts = pc.split_pattern(block.column("value"), ",")
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    malformed = np.flatnonzero(lengths != PREDICT_FIELDS)
    if len(malformed):
        return {"bad_row": int(malformed[0]), "types": np.empty(0, dtype=np.int8)}
    column = lambda i: pc.list_element(parts, i)  # noqa: E731
    numbers = lambda i: pc.cast(column(i), pa.float64()).to_numpy(zero_copy_only=False)  # noqa: E731
    types = np.full(len(lengths), -1, dtype=np.int8)
    for code, name in enumerate(TYPE_ORDER):
        types[pc.equal(column(4), name).to_numpy(zero_copy_only=False)] = code
    return {"bad_row": -1, "labels": numbers(0), "predictions": numbers(1), "scores": numbers(2), "types": types}
