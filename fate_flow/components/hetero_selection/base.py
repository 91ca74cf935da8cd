"""What the selection guest and host share: the run dispatch, the filter loop, local filters, the model.

``run`` follows FATE's ModelBase: ``need_run`` false passes the table through; a ``model``
input re-applies its ``final_left_cols`` (transform); otherwise the filters of
``filter_methods`` run in order, each on the columns the previous one left, and the
output keeps the columns left at the end plus every column outside the selection.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.columns import column_positions, first_model, only_input_table
from fate_flow.components.hetero_selection import filters
from fate_flow.components.hetero_selection.param import IV_FILTERS
from fate_flow.components.hetero_selection.transfer import HeteroFeatureSelectionTransferVariable
from fate_flow.computing.column_stats import gather_columns

MODULE = "HeteroFeatureSelection"
META, PARAM = "FeatureSelectionMeta", "FeatureSelectionParam"
# the filters that read the data (the others judge by IV or by name)
DATA_FILTERS = ("unique_value", "coefficient_of_variation_value_thres", "outlier_cols", "percentage_value")
NO_BINNING_MODEL = ("To use iv filter, binning module should be called and setup in 'isometric_model' "
                    "input for feature selection.")


def left_cols(original: list[str], kept: set) -> dict:
    """FATE's LeftCols message: the judged columns and, for each, whether it is kept."""
    return {"original_cols": list(original), "left_cols": {name: name in kept for name in original}}


def filter_result(name: str, original: list[str], kept: set, values: dict | None = None) -> dict:
    """One FeatureSelectionFilterParam message (without host parts)."""
    return {"filter_name": name, "feature_values": dict(values or {}), "host_feature_values": [],
            "left_cols": left_cols(original, kept), "host_left_cols": []}


class HeteroFeatureSelectionBase(ComponentBase):
    """Shared state of both roles.

    Learned attributes: ``header_`` (the input's feature names), ``select_cols_`` (the
    columns the filters judge), ``results_`` (one filter result message per filter),
    ``left_cols_`` (header name -> kept) and, on the guest, ``host_col_names_``.
    """

    role = ""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        """Fit the filters (or load a selection model), then output only the kept columns."""
        from fate_flow.computing.column_stats import empty_like, load_instances

        self.params.check()
        table = only_input_table(inputs, MODULE)
        if not self.params.need_run:
            return ComponentOutput(data=table, model=self._export_model(fitted=False))
        data, empty = load_instances(ctx.computing, table), empty_like(table)
        model = first_model(inputs, "model")
        if model is not None:
            schema = apply_selection_model(model, empty).schema()  # a bad model fails here, before any pass
            kernel = functools.partial(apply_selection_model, model)
            return ComponentOutput(data=data.map_values(kernel).with_schema(schema), model=model)
        self.header_, self.rows_ = list(empty.header), table.count()
        if any(method in DATA_FILTERS for method in self.params.filter_methods):
            data = data.persist()  # parsed once for every filter's pass and the output
        self.isometric_name_ = next(iter(inputs.get("isometric_model") or {}), None)
        self.fit(ctx, data, first_model(inputs, "isometric_model"))
        kept = [j for j, name in enumerate(self.header_) if self.left_cols_[name]]
        return ComponentOutput(data=data.map_values(functools.partial(_select_columns, kept))
                               .with_schema(empty.select_features(kept).schema()),
                               model=self._export_model(fitted=True))

    def fit(self, ctx: ComponentContext, data, binning_model: dict | None) -> None:
        """Run every filter in order; set ``results_`` and ``left_cols_``."""
        p = self.params
        positions = column_positions(self.header_, p.select_col_indexes, p.select_names, ("select_col_indexes", "select_names"))
        self.select_cols_ = [self.header_[j] for j in positions]
        self.host_col_names_ = []
        variables = HeteroFeatureSelectionTransferVariable(ctx.federation) if ctx.federation else None
        iv_filters = [i for i, m in enumerate(p.filter_methods) if m in IV_FILTERS]
        problem = self.binning_model_problem(ctx, binning_model) if iv_filters else None
        if problem is not None:
            if variables is not None and ctx.parties("host" if self.role == "guest" else "guest"):
                self.report_problem(ctx, variables, iv_filters[0], problem)
            raise ValueError(problem)
        current, self.results_ = list(self.select_cols_), []
        for index, method in enumerate(p.filter_methods):
            if method in IV_FILTERS:
                result, kept = self.iv_filter(ctx, variables, index, method, current, binning_model)
            else:
                result, kept = self.local_filter(ctx, method, data, current)
            self.results_.append(result)
            ctx.logger.info("filter %s kept %d of %d columns", method, len(kept), len(current))
            current = [name for name in current if name in kept]
        outside = set(self.header_) - set(self.select_cols_)
        self.left_cols_ = {name: name in outside or name in current for name in self.header_}

    def binning_model_problem(self, ctx, binning_model: dict | None) -> str | None:
        """Why ``binning_model`` cannot feed the IV filters on this party, or None when it can.

        An upstream HeteroFeatureBinning that did not fit on this party (need_run false, or no
        column binned) leaves a model without results: the filters would judge nothing.
        """
        if binning_model is None:
            return NO_BINNING_MODEL
        component = self.isometric_name_ or "the isometric_model input"
        try:
            param = binning_param(binning_model)
        except ValueError as exc:
            return f"{component}: {exc}"
        results = (param.get("binning_result") or {}).get("binning_result") or {}
        if not param.get("header") or not results:
            need_run = (binning_model.get("FeatureBinningMeta") or {}).get("need_run")
            why = "it ran with need_run false" if need_run is False else "it binned no column"
            return (f"the isometric_model input {component} produced no binning result for {ctx.role} "
                    f"{ctx.party_id} ({why}); the IV filters need a HeteroFeatureBinning model fitted on "
                    f"every party")
        return None

    def report_problem(self, ctx, variables, index: int, problem: str) -> None:
        """Tell the other party why this one stops, in place of its message of IV filter ``index``."""
        raise NotImplementedError

    def iv_filter(self, ctx, variables, index: int, method: str, current: list[str],
                  binning_model: dict) -> tuple[dict, set]:
        """Run one IV filter with the other party; return (filter result, kept own columns)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ local filters

    def local_filter(self, ctx, method: str, data, current: list[str]) -> tuple[dict, set]:
        """Run one filter on the own data; return (filter result, kept columns of ``current``)."""
        if method == "manually":
            kept = self._manually(ctx, current)
            return filter_result(method, current, kept), kept
        columns = [self.header_.index(name) for name in current]
        p = self.params
        pick_high = True
        if method == "unique_value":
            ranges = data.aggregate(functools.partial(filters.column_range, columns), filters.combine_ranges)
            values, mask = filters.unique_value(ranges, p.unique_param.eps)
        elif method == "coefficient_of_variation_value_thres":
            values, mask = filters.coefficient_of_variation(*_moments(data, columns),
                                                            p.variance_coe_param.value_threshold)
        elif method == "outlier_cols":
            values, mask = _on_gathered(data, columns, self.rows_, functools.partial(
                filters.outlier_cols, percentile=p.outlier_param.percentile,
                upper_threshold=p.outlier_param.upper_threshold))
            pick_high = False
        else:  # percentage_value
            values, mask = _on_gathered(data, columns, self.rows_, functools.partial(
                filters.percentage_value, upper_pct=p.percentage_value_param.upper_pct))
            pick_high = False
        judged = {name: float(v) for name, v in zip(current, values)}
        kept = filters.keep_best(judged, {name for name, keep in zip(current, mask) if keep}, pick_high)
        return filter_result(method, current, kept, judged), kept

    def _manually(self, ctx, current: list[str]) -> set:
        """Drop ``filter_out_*`` or keep only ``left_col_*``; unknown columns are ignored (FATE)."""
        m = self.params.manually_param
        keep_listed = m.left_col_indexes is not None or m.left_col_names is not None
        indexes = (m.left_col_indexes if keep_listed else m.filter_out_indexes) or []
        names = set((m.left_col_names if keep_listed else m.filter_out_names) or [])
        names |= {self.header_[j] for j in indexes if j < len(self.header_)}
        unknown = sorted(n for n in names if n not in self.header_) + [j for j in indexes if j >= len(self.header_)]
        if unknown:
            ctx.logger.warning("manually_param names columns that are not in the header, ignored: %s", unknown)
        kept = {n for n in current if (n in names) == keep_listed}
        return kept or set(current[:1])

    # ------------------------------------------------------------------ model

    def _export_model(self, fitted: bool) -> dict:
        p = self.params
        m = p.manually_param
        meta = {
            "filter_methods": list(p.filter_methods), "cols": list(self.select_cols_) if fitted else [],
            "unique_meta": {"eps": p.unique_param.eps},
            "iv_value_meta": {"value_threshold": p.iv_value_param.value_threshold,
                              "local_only": p.iv_value_param.local_only},
            "iv_percentile_meta": {"percentile_threshold": p.iv_percentile_param.percentile_threshold,
                                   "local_only": p.iv_percentile_param.local_only},
            "iv_top_k_meta": {"k": p.iv_top_k_param.k, "local_only": p.iv_top_k_param.local_only},
            "variance_coe_meta": {"value_threshold": p.variance_coe_param.value_threshold},
            "outlier_meta": {"percentile": p.outlier_param.percentile,
                             "upper_threshold": p.outlier_param.upper_threshold},
            "manually_meta": {"filter_out_indexes": m.filter_out_indexes or [],
                              "filter_out_names": m.filter_out_names or [],
                              "left_col_indexes": m.left_col_indexes or [], "left_col_names": m.left_col_names or []},
            "pencentage_value_meta": {"upper_pct": p.percentage_value_param.upper_pct},
            "need_run": p.need_run}
        header = list(self.header_) if fitted else []
        param = {"results": list(self.results_) if fitted else [],
                 "final_left_cols": {"original_cols": header,
                                     "left_cols": {n: bool(self.left_cols_[n]) for n in header}},
                 "col_names": list(self.select_cols_) if fitted else [],
                 "host_col_names": list(self.host_col_names_) if fitted else [], "header": header}
        return {META: meta, PARAM: param}


def _moments(data, columns: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(mean, population std) of the non-NaN values of each column: exact sums over the partitions,
    two passes as numpy's nanmean/nanstd compute them."""
    sums, counts = data.aggregate(functools.partial(filters.column_sums, columns), filters.add_pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums.values() / counts
        squares = data.aggregate(functools.partial(filters.squared_deviations, columns, mean))
        return mean, np.sqrt(squares.values() / counts)


def _on_gathered(data, columns: list[int], rows: int, rule) -> tuple[np.ndarray, np.ndarray]:
    """``rule(x) -> (values, mask)`` on whole columns, gathered a few columns at a time."""
    values, masks = [], []
    for _, x in gather_columns(data, columns, rows):
        judged, keep = rule(x)
        values.append(judged)
        masks.append(keep)
    return np.concatenate(values) if values else np.empty(0), np.concatenate(masks) if masks else np.empty(0, bool)


def _select_columns(kept: list[int], block):
    return block.select_features(kept)


def apply_selection_model(model: dict, data):
    """The data narrowed to the columns a selection model kept (shared with online serving)."""
    try:
        left = model[PARAM]["final_left_cols"]["left_cols"]
    except (KeyError, TypeError):
        raise ValueError(f"the model input is not a {MODULE} model: no final_left_cols") from None
    missing = [name for name in left if name not in data.header]
    if missing:
        raise ValueError(f"column {missing[0]!r} of the selection model is not in the data header")
    return data.select_features([j for j, name in enumerate(data.header) if left.get(name)])


def reported_problem(message: Any, role: str, party: Any) -> None:
    """Raise the problem the other party reported instead of its IV-filter message, if it did."""
    if isinstance(message, dict) and isinstance(message.get("error"), str):
        raise ValueError(f"{role} {party} stopped the selection: {message['error']}")


def own_ivs(binning_model: dict, names: list[str]) -> dict:
    """{column: IV} from the binning model's own results, for the ``names`` it has."""
    results = binning_param(binning_model).get("binning_result", {}).get("binning_result", {})
    return {name: float(results[name]["iv"]) for name in names if name in results}


def binning_header(binning_model: dict) -> list[str]:
    """The header the binning model was fitted on (its anonymous names index into it)."""
    return list(binning_param(binning_model).get("header") or [])


def binning_param(binning_model: dict) -> dict:
    """The FeatureBinningParam message of an isometric binning model; ValueError if it has none."""
    param = binning_model.get("FeatureBinningParam") if isinstance(binning_model, dict) else None
    if not isinstance(param, dict):
        raise ValueError("the isometric_model input is not a HeteroFeatureBinning model (no FeatureBinningParam)")
    return param
