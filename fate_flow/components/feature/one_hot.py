"""OneHotEncoder: chosen columns replaced in place by one indicator column per distinct value."""
from __future__ import annotations

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentOutput
from fate_flow.components.feature.columns import only_input_table, selected_columns
from fate_flow.computing import Instances


def _value_name(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class OneHotEncoder(ComponentBase):
    def run(self, ctx, inputs):
        table = only_input_table(inputs)
        if not self.params.need_run:
            return ComponentOutput(data=table)
        data = Instances.from_table(table)
        model = next(iter((inputs.get("model") or {}).values()), None)
        self.col_map_ = model["OneHotParam"]["col_map"] if model else self._fit(data)
        encoded = self._transform(data)
        meta = {"transform_col_names": list(self.col_map_), "need_run": self.params.need_run}
        param = {"col_map": self.col_map_, "result_header": encoded.header}
        return ComponentOutput(data=encoded.to_table_data(table.meta.partitions),
                               model={"OneHotMeta": meta, "OneHotParam": param})

    def _fit(self, data: Instances) -> dict:
        columns = selected_columns(data.header, self.params.transform_col_indexes, self.params.transform_col_names)
        col_map = {}
        for j in columns:
            values = np.unique(data.features[:, j])
            names = [_value_name(v) for v in values]
            col_map[data.header[j]] = {"values": names,
                                       "transformed_headers": [f"{data.header[j]}_{n}" for n in names]}
        return col_map

    def _transform(self, data: Instances) -> Instances:
        return one_hot_columns(data, self.col_map_)


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
