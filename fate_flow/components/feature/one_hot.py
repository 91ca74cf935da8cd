"""OneHotEncoder: chosen columns replaced in place by one indicator column per distinct value."""
from __future__ import annotations

import functools

import numpy as np

from fate_flow.components.columns import column_positions
from fate_flow.components.feature.columns import ColumnTransform
from fate_flow.computing import Instances


def _value_name(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class OneHotEncoder(ColumnTransform):
    """State: ``{column: {values, transformed_headers}}`` (FATE's col_map)."""

    def state_from_model(self, model: dict) -> dict:
        return model["OneHotParam"]["col_map"]

    def export(self, header: list[str], transformed_header: list[str]) -> dict:
        meta = {"transform_col_names": list(self.state_), "need_run": self.params.need_run}
        return {"OneHotMeta": meta, "OneHotParam": {"col_map": self.state_, "result_header": transformed_header}}

    def fit(self, data, header: list[str]) -> dict:
        """The distinct values of each chosen column: per-partition sets, united."""
        p = self.params
        columns = column_positions(header, p.transform_col_indexes, p.transform_col_names,
                                   ("transform_col_indexes", "transform_col_names"))
        distinct = data.aggregate(functools.partial(_distinct_values, columns), _unite)
        col_map = {}
        for j, values in zip(columns, distinct):
            names = [_value_name(v) for v in values]
            col_map[header[j]] = {"values": names, "transformed_headers": [f"{header[j]}_{n}" for n in names]}
        return col_map

    def kernel(self):
        return functools.partial(_one_hot_block, self.state_)


def _distinct_values(columns: list[int], block: Instances) -> list[np.ndarray]:
    return [np.unique(block.features[:, j]) for j in columns]


def _unite(left: list[np.ndarray], right: list[np.ndarray]) -> list[np.ndarray]:
    return [np.unique(np.concatenate([a, b])) for a, b in zip(left, right)]


def _one_hot_block(col_map: dict, data: Instances) -> Instances:
    return one_hot_columns(data, col_map)


def one_hot_columns(data: Instances, col_map: dict) -> Instances:
    """``data`` with each column of ``col_map`` replaced by its indicator columns (shared with online serving)."""
    blocks, header = [], []
    for j, name in enumerate(data.header):
        column = data.features[:, j]
        if name not in col_map:
            blocks.append(column[:, None])
            header.append(name)
            continue
        known = np.array([float(v) for v in col_map[name]["values"]])
        blocks.append((column[:, None] == known[None, :]).astype(np.float64))  # unseen values: all zeros
        header.extend(col_map[name]["transformed_headers"])
    features = np.hstack(blocks) if blocks else data.features
    return data.with_features(features, header)
