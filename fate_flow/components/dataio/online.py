"""DataIO online: reads request rows with the header, fill and outlier values it was trained with."""
from __future__ import annotations

from typing import Any

import pyarrow as pa

from fate_flow.components.dataio.dense import read_dense
from fate_flow.components.dataio.param import DataIOParam
from fate_flow.components.dataio.state import FittedState, load_model
from fate_flow.components.online import FeatureReader
from fate_flow.computing import Instances


class DenseReader(FeatureReader):
    """DataIO's transform of dense rows, with its fitted state."""

    def __init__(self, params: DataIOParam, state: FittedState) -> None:
        self.params = params
        self.state = state
        self.header = list(state.header)

    def read(self, ids: pa.Array, values: pa.Array, schema: dict) -> Instances:
        instances, _ = read_dense(ids, values, schema, self.params, self.state)
        return instances

    def read_feature_dicts(self, rows: list[dict]) -> Instances:
        delimiter = self.params.delimitor
        lines = [delimiter.join(_cell(row.get(name), name, delimiter) for name in self.header) for row in rows]
        ids = pa.array([str(i) for i in range(len(rows))], type=pa.string())
        schema = {"header": delimiter.join(self.header), "sid": self.state.sid_name or "id"}
        return self.read(ids, pa.array(lines, type=pa.string()), schema)


def load_online(messages: dict, role: str, name: str) -> DenseReader:
    """The reader of a saved DataIO model; ValueError unless it reads dense input with a header."""
    params, state = load_model(messages, name)
    if not params.need_run or params.input_format != "dense":
        raise ValueError(f"component {name}: online inference reads dense input with DataIO need_run true, "
                         f"got input_format {params.input_format!r}, need_run {params.need_run}")
    if not state.header:
        raise ValueError(f"component {name}: the DataIO model has no header")
    return DenseReader(params, state)


def _cell(value: Any, name: str, delimiter: str) -> str:
    """One featureData value as DataIO text: numbers exactly (repr), None as missing."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise ValueError(f"feature {name!r} must be a number, got {value!r}")
    text = repr(value) if isinstance(value, float) else str(value)
    if delimiter in text:
        raise ValueError(f"feature {name!r} holds the delimiter {delimiter!r}: {text!r}")
    return text
