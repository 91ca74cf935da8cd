"""What the binning guest and host share: the run dispatch, split points, transform and the model.

``run`` follows FATE's ModelBase: ``need_run`` false passes the table through; a ``model``
input re-applies that model's split points (transform, e.g. in a predict job, with the
model's own transform_param); otherwise the component fits with the other party
(``fit``, defined per role) and transforms its own data.

The data is a Table of Instances blocks, kept (persisted) for the passes of a fit: quantile
split points come from whole columns gathered a few at a time (8 bytes a value, exact ranks
as before), bucket bounds and category values from per-partition partials, event counts
from per-partition bin counts; the transform is a kernel, and the output keeps the input's
partitioning.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.hetero_binning import split_points as sp
from fate_flow.components.columns import column_positions, first_model, only_input_table
from fate_flow.components.hetero_binning.optimal import check_bin_pct
from fate_flow.components.hetero_binning.woe import iv_param
from fate_flow.computing.column_stats import gather_columns

MODULE = "HeteroFeatureBinning"
TRANSFORM_PARAMS = ("transform_param.transform_cols", "transform_param.transform_names")
META, PARAM = "FeatureBinningMeta", "FeatureBinningParam"


def anonymous_name(role: str, index: int) -> str:
    """FATE's anonymous column name: ``"host.<index in the header>"``."""
    return f"{role}.{index}"


class HeteroFeatureBinningBase(ComponentBase):
    """Shared state of both roles.

    Learned attributes: ``header_`` (feature names), ``split_points_`` (binned column ->
    ascending split points), ``category_cols_`` (columns binned by value), ``bin_results_``
    (column -> IVParam message), ``host_results_`` (guest only: one FeatureBinningResult per
    host), ``transform_cols_`` (header positions the output replaces), ``transform_type_``.
    """

    role = ""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        """Fit (or load) the binning, then output the data with the transform columns replaced."""
        from fate_flow.computing.column_stats import empty_like, load_instances

        self.params.check()
        table = only_input_table(inputs, MODULE)
        if not self.params.need_run:
            return ComponentOutput(data=table, model=self._export_model(ctx, fitted=False))
        data, empty = load_instances(ctx.computing, table), empty_like(table)
        model = first_model(inputs, "model")
        if model is not None:
            self._load_model(model, empty.header)
            model_out = model  # re-exported as loaded, as FATE's transform does
        else:
            if self.params.method == "optimal":
                check_bin_pct(self.params.optimal_binning_param.max_bin_pct, self.params.bin_num)
            self.header_, self.rows_ = list(empty.header), table.count()
            data = data.persist()  # parsed once for the split points, the counts and the output
            self.fit(ctx, data, empty)
            self.transform_cols_ = self._transform_positions()
            self.transform_type_ = self.params.transform_param.transform_type
            model_out = self._export_model(ctx, fitted=True)
        kernel = self.transform_kernel(ctx)
        return ComponentOutput(data=data.map_values(kernel).with_schema(kernel(empty).schema()), model=model_out)

    def fit(self, ctx: ComponentContext, data, empty) -> None:
        """Compute ``split_points_`` and ``bin_results_`` (and the hosts' results on the guest) from
        ``data`` (a Table of Instances blocks); ``empty`` has its header and label but no rows."""
        raise NotImplementedError

    # ------------------------------------------------------------------ split points

    def fit_split_points(self, data) -> None:
        """Set ``split_points_``/``category_cols_`` for the chosen columns."""
        p = self.params
        header = self.header_
        category = column_positions(header, p.category_indexes, p.category_names, ("category_indexes", "category_names"))
        binned = sorted(set(column_positions(header, p.bin_indexes, p.bin_names, ("bin_indexes", "bin_names"))) | set(category))
        numeric = [j for j in binned if j not in category]
        points = dict(zip(numeric, self._numeric_split_points(data, numeric)))
        points.update(zip(category, self._category_split_points(data, category)))
        self.split_points_ = {header[j]: points[j] for j in binned}
        self.category_cols_ = [header[j] for j in category]

    def _numeric_split_points(self, data, columns: list[int]) -> list[np.ndarray]:
        """Quantile points from whole columns gathered a few at a time (exact ranks); bucket points
        from the per-partition min and max."""
        if not columns:
            return []
        names = [self.header_[j] for j in columns]
        method, bin_num = self.initial_method()
        if method == "bucket":
            low, high, present, rows = data.aggregate(functools.partial(_column_range, columns), sp.combine_ranges)
            sp.check_counts(rows, present, names)
            return sp.bucket_points_of_range(low, high, bin_num)
        points = []
        for group, x in gather_columns(data, columns, self.rows_):
            points += sp.quantile_split_points(x, bin_num, [self.header_[j] for j in group])
        return points

    def initial_method(self) -> tuple[str, int]:
        """(method, bin count) of the first split points: the final ones for quantile and bucket; for
        optimal, the fine buckets it merges (the guest's init_bucket_method; a host always uses
        quantile, as FATE's host does) at ``init_bin_nums``."""
        p = self.params
        if p.method != "optimal":
            return p.method, p.bin_num
        init = p.optimal_binning_param
        return (init.init_bucket_method if self.role == "guest" else "quantile"), init.init_bin_nums

    def _category_split_points(self, data, columns: list[int]) -> list[np.ndarray]:
        """The union of every partition's distinct values of each column."""
        if not columns:
            return []
        values = data.aggregate(functools.partial(_distinct_values, columns), _unite_values)
        sp.check_counts(self.rows_, np.array([len(v) for v in values]), [self.header_[j] for j in columns])
        return values

    def binned_positions(self, header: list[str]) -> list[int]:
        """Positions in ``header`` of the binned columns, in ``split_points_`` order."""
        return [self._position(header, name) for name in self.split_points_]

    @staticmethod
    def _position(header: list[str], name: str) -> int:
        try:
            return header.index(name)
        except ValueError:
            raise ValueError(f"binned column {name!r} is not in the data header {header}") from None

    # ------------------------------------------------------------------ transform

    def _transform_positions(self) -> list[int]:
        """Header positions of the transform columns: ``transform_cols`` -1 means every binned column."""
        t = self.params.transform_param
        binned = [self.header_.index(name) for name in self.split_points_]
        if t.transform_cols == -1:
            chosen = list(binned)
            chosen += column_positions(self.header_, None, t.transform_names, TRANSFORM_PARAMS)
        else:
            chosen = column_positions(self.header_, t.transform_cols, t.transform_names, TRANSFORM_PARAMS)
        outside = [self.header_[j] for j in chosen if j not in binned]
        if outside:
            raise ValueError(f"transform_param: column {outside[0]!r} is not a binned column")
        return sorted(set(chosen))

    def transform_kernel(self, ctx: ComponentContext):
        """The kernel replacing each transform column by its bin index or WOE (None: unchanged)."""
        if self.transform_type_ == "woe" and self.role != "guest" and self.transform_cols_:
            ctx.logger.info("transform_type woe: the host has no WOE, its data is output unchanged")
        return functools.partial(transform_columns, role=self.role, header=self.header_,
                                 split_points=self.split_points_, transform_cols=self.transform_cols_,
                                 transform_type=self.transform_type_, results=self.bin_results_)

    # ------------------------------------------------------------------ model

    def _export_model(self, ctx: ComponentContext, fitted: bool) -> dict:
        p = self.params
        meta = {"need_run": p.need_run, "method": p.method, "compress_thres": p.compress_thres,
                "head_size": p.head_size, "error": p.error, "bin_num": p.bin_num,
                "cols": list(self.split_points_) if fitted else [], "adjustment_factor": p.adjustment_factor,
                "local_only": p.local_only, "skip_static": False,
                "transform_param": {"transform_cols": list(self.transform_cols_) if fitted else [],
                                    "transform_type": self.transform_type_ if fitted else None}}
        own = self.bin_results_ if fitted else {}
        param = {"binning_result": {"binning_result": own, "role": ctx.role, "party_id": str(ctx.party_id)},
                 "host_results": list(getattr(self, "host_results_", [])) if fitted else [],
                 "header": list(self.header_) if fitted else []}
        return {META: meta, PARAM: param}

    def _load_model(self, model: dict, header: list[str]) -> None:
        """Take split points, results and transform settings from a FeatureBinning model."""
        loaded = read_model(model)
        self.header_, self.split_points_ = loaded["header"], loaded["split_points"]
        self.transform_cols_, self.transform_type_ = loaded["transform_cols"], loaded["transform_type"]
        self.bin_results_ = loaded["results"]
        self.host_results_ = list(model[PARAM].get("host_results") or [])
        self.category_cols_ = []
        missing = [name for name in self.split_points_ if name not in header]
        if missing:
            raise ValueError(f"column {missing[0]!r} of the binning model is not in the data header {header}")

    def own_results_from_split_points(self) -> dict:
        """IVParam messages holding only split points (the host's view of its own columns)."""
        return {name: iv_param(points, len(points)) for name, points in self.split_points_.items()}


def _column_range(columns: list[int], block) -> tuple:
    return sp.column_range(block.features[:, columns])


def _distinct_values(columns: list[int], block) -> list[np.ndarray]:
    return sp.distinct_values(block.features[:, columns])


def _unite_values(left: list[np.ndarray], right: list[np.ndarray]) -> list[np.ndarray]:
    return [np.union1d(a, b) for a, b in zip(left, right)]


def block_bins(positions: list[int], split_points: list[np.ndarray], block) -> np.ndarray:
    """The bin of every value of the binned columns of one Instances block."""
    return sp.bin_indexes(block.features[:, positions], split_points)


def read_model(model: dict) -> dict[str, Any]:
    """header, split_points, transform_cols, transform_type and results of a FeatureBinning model.

    Raises:
        ValueError: the messages are not a FeatureBinning model (names the missing field).
    """
    try:
        meta, param = model[META], model[PARAM]
        results = param["binning_result"]["binning_result"]
        transform = meta["transform_param"]
        return {"header": list(param["header"]),
                "split_points": {name: np.asarray(results[name]["split_points"], dtype=np.float64)
                                 for name in meta["cols"]},
                "transform_cols": [int(j) for j in transform["transform_cols"]],
                "transform_type": transform.get("transform_type") or None, "results": results}
    except (KeyError, TypeError) as exc:
        raise ValueError(f"the model input is not a {MODULE} model: missing {exc}") from None


def transform_columns(data, role: str, header: list[str], split_points: dict, transform_cols: list[int],
                      transform_type: str | None, results: dict):
    """``data`` with each transform column replaced by its bin index or (guest only) its WOE.

    A pure function of the fitted state, shared by the component and online serving.
    """
    if transform_type is None or not transform_cols or (transform_type == "woe" and role != "guest"):
        return data
    names = [header[j] for j in transform_cols]
    positions = [HeteroFeatureBinningBase._position(data.header, name) for name in names]
    bins = sp.bin_indexes(data.features[:, positions], [split_points[name] for name in names])
    features = data.features.copy()
    if transform_type == "bin_num":
        features[:, positions] = bins
    else:
        woe = [np.asarray(results[name]["woe_array"], dtype=np.float64) for name in names]
        features[:, positions] = np.column_stack([w[bins[:, i]] for i, w in enumerate(woe)])
    return data.with_features(features)
