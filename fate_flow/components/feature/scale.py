"""FeatureScale: min-max or standard scaling of chosen columns, fitted or from a model."""
from __future__ import annotations

import numpy as np

from fate_flow.components.columns import column_positions
from fate_flow.components.feature.columns import ColumnTransform
from fate_flow.computing import Instances


class FeatureScale(ColumnTransform):
    """State: ``{column: {column_lower, column_upper, mean, std}}`` (FATE's col_scale_param)."""

    def state_from_model(self, model: dict) -> dict:
        return model["ScaleParam"]["col_scale_param"]

    def fit(self, data: Instances) -> dict:
        p = self.params
        columns = column_positions(data.header, p.scale_col_indexes, p.scale_names, ("scale_col_indexes", "scale_names"))
        x = data.features[:, columns]
        lower, upper = self._bounds(x)
        clipped = np.clip(x, lower, upper)
        mean, std = clipped.mean(axis=0), clipped.std(axis=0)
        return {data.header[c]: {"column_lower": float(lower[i]), "column_upper": float(upper[i]),
                                 "mean": float(mean[i]), "std": float(std[i])} for i, c in enumerate(columns)}

    def _bounds(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        low, high = x.min(axis=0), x.max(axis=0)
        if p.mode == "cap":
            low = np.quantile(x, p.feat_lower, axis=0) if p.feat_lower is not None else low
            high = np.quantile(x, p.feat_upper, axis=0) if p.feat_upper is not None else high
        else:
            low = np.maximum(low, p.feat_lower) if p.feat_lower is not None else low
            high = np.minimum(high, p.feat_upper) if p.feat_upper is not None else high
        return low, high

    def transform(self, data: Instances) -> Instances:
        p = self.params
        return scale_columns(data, self.state_, p.method, p.with_mean, p.with_std)

    def export(self, data: Instances, transformed: Instances) -> dict:
        p = self.params
        meta = {"method": p.method, "mode": p.mode, "area": "col", "scale_column_idx": p.scale_col_indexes,
                "feat_upper": p.feat_upper, "feat_lower": p.feat_lower, "with_mean": p.with_mean,
                "with_std": p.with_std, "need_run": p.need_run}
        return {"ScaleMeta": meta, "ScaleParam": {"col_scale_param": self.state_, "header": data.header}}


def scale_columns(data: Instances, col_scale_param: dict, method: str, with_mean: bool, with_std: bool) -> Instances:
    """``data`` with each column of ``col_scale_param`` clipped and scaled (shared with online serving)."""
    features = data.features.copy()
    for name, col in col_scale_param.items():
        if name not in data.header:
            raise ValueError(f"column {name} of the scale model is not in the data header")
        j = data.header.index(name)
        x = np.clip(features[:, j], col["column_lower"], col["column_upper"])
        if method == "min_max_scale":
            span = col["column_upper"] - col["column_lower"]
            features[:, j] = (x - col["column_lower"]) / span if span else 0.0
        else:
            centred = x - col["mean"] if with_mean else x
            features[:, j] = centred / col["std"] if with_std and col["std"] else centred
    return data.with_features(features)
