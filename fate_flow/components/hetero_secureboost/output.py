"""FATE's predict rows of SecureBoost: ``label,predict_result,predict_score,predict_detail,type``.

binary      [label, classes[1] if p > threshold else classes[0], p, {"0": 1-p, "1": p}]
multi-class [label, the most likely class, its probability, {class: probability}]
regression  [label, prediction, prediction, {"label": prediction}]
predict_detail is JSON written with ";" for "," so that the stored row still splits on ",".
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.linear_model.partitioned import _float_text, _number_text


def task_description(task_type: str, objective, classes: list, threshold: float) -> dict:
    """What a worker needs to turn scores into predict rows (picklable, small)."""
    return {"task_type": task_type, "objective": objective.name, "params": objective.params,
            "tree_dim": objective.tree_dim, "classes": list(classes), "threshold": threshold}


def prediction_rows(task: dict, ids: pa.Array, labels: np.ndarray | None, scores: np.ndarray, kind: str) -> pa.Table:
    """The stored predict rows of one partition from its (n, tree_dim) scores."""
    from fate_flow.components.hetero_secureboost.loss import Objective
    from fate_flow.computing.recipes import stored_rows_schema

    n = len(ids)
    predicted = Objective(task["objective"], task["params"], task["tree_dim"]).predict(scores)
    label = pa.array(["None"] * n, type=pa.string()) if labels is None else _number_text(labels)
    if task["task_type"] == "regression":
        result = score = _float_text(predicted)
        detail = _join('{"label":', score, "}")
    elif task["tree_dim"] == 1:
        classes = task["classes"]
        result = _class_text(classes, (predicted > task["threshold"]).astype(np.int64))
        score = _float_text(predicted)
        detail = _join('{"0":', _float_text(1.0 - predicted), ';"1":', score, "}")
    else:
        best = np.argmax(predicted, axis=1)
        result = _class_text(task["classes"], best)
        score = _float_text(predicted[np.arange(n), best])
        pieces = ["{"]
        for k, name in enumerate(task["classes"]):
            pieces += [("" if k == 0 else ";") + f'"{_class_name(name)}":', _float_text(predicted[:, k])]
        detail = _join(*pieces, "}")
    kinds = pa.array([kind] * n, type=pa.string())
    values = pc.binary_join_element_wise(label, result, score, detail, kinds, ",") if n else \
        pa.array([], type=pa.string())
    return pa.Table.from_arrays([ids.cast(pa.string()), values.cast(pa.string())], schema=stored_rows_schema())


def _class_name(value) -> str:
    return str(int(value)) if float(value) == int(value) else str(value)


def _class_text(classes: list, index: np.ndarray) -> pa.Array:
    names = np.array([_class_name(c) for c in classes], dtype=object)
    return pa.array(names[index].tolist() if len(index) else [], type=pa.string())


def _join(*pieces) -> pa.Array:
    parts = [pa.scalar(p) if isinstance(p, str) else p for p in pieces]
    return pc.binary_join_element_wise(*parts, "")
