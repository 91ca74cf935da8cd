"""DataIO: turns an uploaded table into instances (ids, float64 features, labels) and saves how it did.

Fit mode (data only) learns the header, the id column name and the missing/outlier replace
values; transform mode (a DataIO model given, e.g. in a predict job or ``dataio_1`` with
``model: dataio_0.dataio``) reuses them. It runs on each party alone: no federation, and
no metric (FATE's DataIO logs none).

The rows are parsed by kernels, partition by partition, and the output keeps the input's
partitioning. What a fit learns from the whole table comes from per-partition partials: the
replace values (counts, min, max, exact sums), the sparse width (the largest feature id) and
the tag header (the set of tags).
"""
from __future__ import annotations

import functools
from typing import Any

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.columns import only_input_table
from fate_flow.components.dataio import dense, sparse
from fate_flow.components.dataio.imputer import fit_replacement
from fate_flow.components.dataio.param import DataIOParam
from fate_flow.components.dataio.state import FittedState, export_model, load_model


class DataIO(ComponentBase):
    """The DataIO component for guest and host.

    Attributes (after run):
        header_: the feature names of the output.
        state_: the FittedState saved in (or loaded from) the model.
    """

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        """Fit or transform the single input table; pass it through when need_run is false."""
        table = only_input_table(inputs, "DataIO")
        if not self.params.need_run:
            ctx.logger.info("need_run is false: DataIO passes %s.%s through", table.meta.namespace, table.meta.name)
            return ComponentOutput(data=table, model=export_model(self.params, None))
        params, fitted = self.params, None
        upstream = _upstream_model(inputs)
        if upstream is not None:
            params, fitted = load_model(upstream[1], upstream[0])
            ctx.logger.info("DataIO transforms with the model of %s (%d features)", upstream[0], len(fitted.header))
            if not params.need_run:
                return ComponentOutput(data=table, model=export_model(params, None))
        data, state = self.read(ctx.computing, table, params, fitted)
        self.header_, self.state_ = state.header, state
        ctx.logger.info("DataIO read %d rows in %d partitions, %d features, label %s", table.count(),
                        data.partitions, len(state.header), data.schema.get("label_name"))
        return ComponentOutput(data=data, model=export_model(params, state))

    @staticmethod
    def read(session, table, params: DataIOParam, fitted: FittedState | None = None):
        """Parse ``table`` with ``params`` (fit when ``fitted`` is None) on ``session``'s engine;
        return (a Table of Instances blocks with its schema, FittedState)."""
        if table.count() == 0:
            raise ValueError(f"input table {table.meta.namespace}.{table.meta.name} is empty")
        rows = session.load(table)
        if params.input_format == "dense":
            return _read_dense(rows, table.meta.schema or {}, params, fitted)
        if params.input_format == "sparse":
            width = None if fitted is None else len(fitted.header)
            if width is None:
                width = rows.aggregate(functools.partial(sparse.max_feature_id, params), max) + 1
            header = sparse.sparse_header(width) if fitted is None else list(fitted.header)
            return _with_schema(rows.map_values(functools.partial(sparse.parse_sparse, params, header)),
                                sparse.sparse_state(header, params), params)
        if fitted is None:
            header = sparse.tag_header(rows.aggregate(functools.partial(sparse.distinct_tags, params), _unite))
        else:
            header = list(fitted.header)
        parsed = rows.map_values(functools.partial(sparse.parse_tag, params, header))
        missing = None
        if sparse.tag_fills_missing(params):
            if fitted is None:
                parsed = parsed.persist()  # parsed once for the statistics and the output
                missing = fit_replacement(parsed.aggregate(sparse.nan_stats), params.missing_fill_method,
                                          params.default_value, "default_value")
            else:
                missing = fitted.missing
            if missing is not None:
                parsed = parsed.map_values(functools.partial(sparse.fill_nan, missing.values))
        return _with_schema(parsed, sparse.sparse_state(header, params, missing), params)


def _read_dense(rows, schema: dict, params: DataIOParam, fitted: FittedState | None):
    """Dense rows: parse per partition; a fit with replacements keeps the parsed blocks for its passes."""
    layout = dense.dense_layout(schema, params, fitted)
    parsed = rows.map_values(functools.partial(dense.parse_dense_block, layout, params))
    if fitted is None:
        if params.missing_fill or params.outlier_replace:
            parsed = parsed.persist()  # parsed once, read by each statistics pass and the output
        missing, outlier = dense.fit_replacements(parsed.aggregate, params)
    else:
        missing, outlier = dense.fitted_replacements(params, fitted)
    output = parsed.map_values(functools.partial(dense.finish_dense, layout, params, missing, outlier))
    return _with_schema(output, dense.dense_state(layout, params, fitted, missing, outlier), params,
                        has_label=layout.label_idx is not None)


def _with_schema(data, state: FittedState, params: DataIOParam, has_label: bool | None = None):
    """(the Table with the schema its Instances blocks give, the state)."""
    has_label = params.with_label if has_label is None else has_label
    schema = {"header": ",".join(state.header), "sid": state.sid_name}
    if has_label:
        schema["label_name"] = sparse.output_label_name(params)
    return data.with_schema(schema), state


def _unite(left: set, right: set) -> set:
    return left | right


def _upstream_model(inputs: dict[str, Any]) -> tuple[str, dict] | None:
    """(component, messages) of the DataIO model given as input, or None (fit mode)."""
    models = inputs.get("model") or {}
    for component, messages in models.items():
        if "DataIOMeta" in (messages or {}):
            return component, messages
    if models:
        raise ValueError(f"DataIO's model input must be a DataIO model; {sorted(models)} gave "
                         f"{[sorted(m or {}) for m in models.values()]}")
    return None
