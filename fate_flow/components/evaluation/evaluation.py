"""Evaluation: metrics of the predictions of upstream components, logged as FATE 1.4 logs them."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.base import ComponentBase, ComponentOutput
from fate_flow.components.evaluation.metrics import BINARY, MULTI, evaluate

PREDICT_FIELDS = 5  # label, predict_result, predict_score, predict_detail, type
TYPE_ORDER = ("train", "validate", "predict")


class Evaluation(ComponentBase):
    """For every input table and every row type (train/validate/predict), log the metrics of its scores."""

    def run(self, ctx, inputs):
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
        labels, predictions, scores, types = read_predictions(table)
        masks = {t: pc.equal(types, t).to_numpy(zero_copy_only=False) for t in TYPE_ORDER}
        by_type = {t: mask for t, mask in masks.items() if mask.any()}
        train = None
        for row_type, rows in by_type.items():
            values = predictions[rows] if self.params.eval_type == MULTI else scores[rows]
            psi_train = train if self.params.eval_type == BINARY and row_type == "validate" else None
            records = evaluate(self.params.eval_type, labels[rows], values, metrics=self.params.metrics,
                               pos_label=self.params.pos_label, component_name=source, psi_train=psi_train)
            for record in records:
                if record.data:
                    ctx.tracker.log_metric_data(row_type, record.name, record.data)
                ctx.tracker.set_metric_meta(row_type, record.name, record.meta)
            if row_type == "train":
                train = (scores[rows], labels[rows])
            ctx.logger.info("evaluated %s rows of %s (%s)", int(rows.sum()), source, row_type)


def read_predictions(table) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]:
    """(labels, predict_result, predict_score, type) of a predict-format table, read column-wise."""
    batches = list(table.iter_batches())
    if not batches:
        raise ValueError(f"table {table.meta.namespace}.{table.meta.name} has no rows to evaluate")
    values = pa.concat_arrays([b.column(1) for b in batches])
    parts = pc.split_pattern(values, ",")
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    if np.any(lengths != PREDICT_FIELDS):
        row = int(np.flatnonzero(lengths != PREDICT_FIELDS)[0]) + 1
        raise ValueError(f"row {row} is not a prediction (label,predict_result,predict_score,predict_detail,type)")
    column = lambda i: pc.list_element(parts, i)  # noqa: E731
    numbers = lambda i: pc.cast(column(i), pa.float64()).to_numpy(zero_copy_only=False)  # noqa: E731
    return numbers(0), numbers(1), numbers(2), column(4)
