"""What HeteroNN and HomoNN share: reading the input rows, the prediction rows, weights as bytes.

Nothing here imports torch: the weights travel and are saved as arrays (an ``.npz`` read back
with ``allow_pickle=False``, base64 in the JSON model message), never pickled.
"""
from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
import pyarrow as pa

from fate_flow.components.linear_model.common import PREDICT_HEADER
from fate_flow.components.linear_model.partitioned import prediction_block, stored_input
from fate_flow.computing import Instances
from fate_flow.computing.table_data import TableData


def load_rows(table, module: str) -> Instances:
    """The input table's rows as Instances, sorted by id (so that both hetero parties line up)."""
    instances = Instances.from_table(stored_input(table, module))
    if len(instances) == 0:
        raise ValueError(f"{module} got an empty table")
    order = np.argsort(np.asarray(instances.ids.to_pylist(), dtype=object), kind="stable")
    return instances.take(order)


def data_keys(data: dict[str, Any], has_model: bool, role: str, module: str) -> tuple[str | None, str | None]:
    """(train key, eval key) as FATE's ModelBase reads the DSL data inputs; the arbiter trains unless predicting."""
    train_key = "train_data" if "train_data" in data else None
    eval_key = "eval_data" if "eval_data" in data else None
    if "data" in data and train_key is None and eval_key is None:
        return (None, "data") if has_model else ("data", None)
    if train_key is None and eval_key is None:
        if role == "arbiter":
            return (None, None) if has_model else ("train_data", None)
        raise ValueError(f"{module} needs a train_data, eval_data or data input")
    return train_key, eval_key


def labels_of(instances: Instances, module: str) -> np.ndarray:
    if instances.labels is None:
        raise ValueError(f"{module}: the {'guest' if module == 'HeteroNN' else 'client'}'s data has no label column")
    return np.asarray(instances.labels, dtype=np.float64)


def target_matrix(labels: np.ndarray, num_label: int, one_hot: bool) -> np.ndarray:
    """Labels as the model's target: a column vector, or one-hot columns (the label value is the column)."""
    if not one_hot:
        return labels.reshape(-1, 1)
    index = labels.astype(np.int64)
    if index.min() < 0 or index.max() >= num_label or not np.all(index == labels):
        raise ValueError(f"labels should be the integers 0..{num_label - 1} for one-hot encoding")
    out = np.zeros((len(labels), num_label))
    out[np.arange(len(labels)), index] = 1.0
    return out


# ---- prediction rows ----------------------------------------------------------------------

def prediction_rows(instances: Instances, output: np.ndarray, task_type: str, threshold: float,
                    kind: str) -> pa.Table:
    """FATE's rows ``label,predict_result,predict_score,predict_detail,type`` of the model outputs."""
    output = np.asarray(output, dtype=np.float64)
    ids, labels = instances.ids, instances.labels
    if task_type == "regression":
        values = output[:, 0]
        details = [json.dumps({"label": float(v)}, separators=(";", ":")) for v in values]
        return _rows(ids, labels, values, values, details, kind)
    if output.shape[1] == 1:
        return prediction_block(ids, labels, output[:, 0], threshold, kind)
    best = output.argmax(axis=1)
    details = [json.dumps({str(j): float(p) for j, p in enumerate(row)}, separators=(";", ":")) for row in output]
    return _rows(ids, labels, best, output[np.arange(len(best)), best], details, kind)


def _text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _rows(ids: pa.Array, labels, results: np.ndarray, scores: np.ndarray, details: list[str], kind: str) -> pa.Table:
    label_text = ["None"] * len(ids) if labels is None else [_text(v) for v in labels]
    values = [f"{label},{_text(result)},{float(score)!r},{detail},{kind}"
              for label, result, score, detail in zip(label_text, results, scores, details)]
    return pa.table({"id": ids.cast(pa.string()), "value": pa.array(values, type=pa.string())})


def output_data(results: list[pa.Table], sid_name: str) -> TableData | None:
    """The stage results as one output table; rows of an id already output are not repeated (as FATE's union)."""
    results = [r for r in results if r is not None]
    if not results:
        return None
    seen: set = set()
    ids, values = [], []
    for table in results:
        keep = [i for i, key in enumerate(table.column(0).to_pylist()) if key not in seen]
        seen.update(table.column(0).to_pylist())
        picked = table.take(pa.array(keep, type=pa.int64()))
        ids.append(picked.column(0).combine_chunks())
        values.append(picked.column(1).combine_chunks())
    return TableData(ids=ids, values=values, schema={"header": PREDICT_HEADER, "sid": sid_name})


# ---- weights as bytes ---------------------------------------------------------------------

def arrays_to_text(arrays: dict[str, np.ndarray]) -> str:
    """Base64 of an ``.npz`` of the arrays (what the model messages hold as bytes)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def text_to_arrays(text: str, what: str) -> dict[str, np.ndarray]:
    """Back from ``arrays_to_text``; objects are refused (allow_pickle=False)."""
    if not isinstance(text, str):
        raise ValueError(f"{what} should be base64 text of saved weights")
    try:
        with np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}
    except (ValueError, OSError) as exc:
        raise ValueError(f"{what} is not a saved weight archive: {exc}") from exc


def state_arrays(model) -> dict[str, np.ndarray]:
    """A torch model's parameters and buffers as numpy arrays, by state_dict name."""
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def load_state(model, arrays: dict[str, np.ndarray], what: str) -> None:
    """Set a torch model's state from ``state_arrays``; ValueError when names or shapes differ."""
    import torch

    state = model.state_dict()
    if set(state) != set(arrays):
        raise ValueError(f"{what}: the saved weights ({sorted(arrays)}) do not fit the model ({sorted(state)})")
    for name, value in arrays.items():
        if tuple(state[name].shape) != tuple(value.shape):
            raise ValueError(f"{what}: weight {name} has shape {value.shape}, the model {tuple(state[name].shape)}")
    model.load_state_dict({k: torch.as_tensor(v) for k, v in arrays.items()})
