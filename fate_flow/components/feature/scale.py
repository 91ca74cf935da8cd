"""FeatureScale: min-max or standard scaling of chosen columns, fitted or from a model.

Fitting combines per-partition partials: min/max, exact sums of the clipped values (the
mean), then exact sums of their squared deviations (the population std, numpy's two-pass
formula). Only cap mode needs whole columns (its percentile bounds); they are gathered a
few columns at a time.
"""
from __future__ import annotations

import functools

import numpy as np

from fate_flow.components.columns import column_positions
from fate_flow.components.feature.columns import ColumnTransform
from fate_flow.computing import Instances
from fate_flow.computing.column_stats import exact_sums, gather_columns


class FeatureScale(ColumnTransform):
    """State: ``{column: {column_lower, column_upper, mean, std}}`` (FATE's col_scale_param)."""

    fit_passes = 3  # min/max (and cap percentiles), sums, squared deviations

    def state_from_model(self, model: dict) -> dict:
        return model["ScaleParam"]["col_scale_param"]

    def fit(self, data, header: list[str]) -> dict:
        p = self.params
        columns = column_positions(header, p.scale_col_indexes, p.scale_names, ("scale_col_indexes", "scale_names"))
        lower, upper, rows = self._bounds(data, columns)
        sums = data.aggregate(functools.partial(_clipped_sums, columns, lower, upper))
        mean = sums.values() / rows
        squares = data.aggregate(functools.partial(_squared_deviations, columns, lower, upper, mean))
        std = np.sqrt(squares.values() / rows)
        return {header[c]: {"column_lower": float(lower[i]), "column_upper": float(upper[i]),
                            "mean": float(mean[i]), "std": float(std[i])} for i, c in enumerate(columns)}

    def _bounds(self, data, columns: list[int]) -> tuple[np.ndarray, np.ndarray, int]:
        """(lower, upper, row count): column min/max, or percentiles in cap mode, within feat_lower/upper."""
        p = self.params
        low, high, rows = data.aggregate(functools.partial(_min_max, columns), _combine_min_max)
        lower_by, upper_by = (per_column(value, len(columns), name)
                              for value, name in ((p.feat_lower, "feat_lower"), (p.feat_upper, "feat_upper")))
        if p.mode == "cap":
            low, high = low.copy(), high.copy()
            if lower_by is not None or upper_by is not None:
                for group, x in gather_columns(data, columns, rows):
                    for i, at in enumerate(columns.index(j) for j in group):
                        if lower_by is not None:
                            low[at] = np.quantile(x[:, i], lower_by[at])
                        if upper_by is not None:
                            high[at] = np.quantile(x[:, i], upper_by[at])
        else:
            low = np.maximum(low, lower_by) if lower_by is not None else low
            high = np.minimum(high, upper_by) if upper_by is not None else high
        return low, high, rows

    def kernel(self):
        p = self.params
        return functools.partial(_scale_block, self.state_, p.method, p.with_mean, p.with_std)

    def export(self, header: list[str], transformed_header: list[str]) -> dict:
        p = self.params
        meta = {"method": p.method, "mode": p.mode, "area": "col", "scale_column_idx": p.scale_col_indexes,
                "feat_upper": p.feat_upper, "feat_lower": p.feat_lower, "with_mean": p.with_mean,
                "with_std": p.with_std, "need_run": p.need_run}
        return {"ScaleMeta": meta, "ScaleParam": {"col_scale_param": self.state_, "header": list(header)}}


def per_column(value, count: int, name: str) -> np.ndarray | None:
    """feat_lower/feat_upper as one bound per scaled column: a number for all, or (FATE 1.5+) a list, one
    per column; ValueError naming ``name`` when the list does not match the columns."""
    if value is None:
        return None
    if isinstance(value, list):
        if len(value) != count:
            raise ValueError(f"{name} has {len(value)} values for {count} scaled columns")
        return np.asarray(value, dtype=np.float64)
    return np.full(count, float(value))


# ---- kernels (one partition each) ----------------------------------------------------------

def _min_max(columns: list[int], block: Instances) -> tuple[np.ndarray, np.ndarray, int]:
    x = block.features[:, columns]
    if not len(x):  # an empty partition: the identities of min and max
        return np.full(len(columns), np.inf), np.full(len(columns), -np.inf), 0
    return x.min(axis=0), x.max(axis=0), len(x)


def _combine_min_max(left: tuple, right: tuple) -> tuple:
    # np.minimum/maximum propagate NaN as the whole column's min()/max() did
    return np.minimum(left[0], right[0]), np.maximum(left[1], right[1]), left[2] + right[2]


def _clipped_sums(columns: list[int], lower: np.ndarray, upper: np.ndarray, block: Instances):
    return exact_sums(np.clip(block.features[:, columns], lower, upper))


def _squared_deviations(columns: list[int], lower: np.ndarray, upper: np.ndarray, mean: np.ndarray,
                        block: Instances):
    deviations = np.clip(block.features[:, columns], lower, upper) - mean
    return exact_sums(deviations * deviations)


def _scale_block(col_scale_param: dict, method: str, with_mean: bool, with_std: bool, data: Instances) -> Instances:
    return scale_columns(data, col_scale_param, method, with_mean, with_std)


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
