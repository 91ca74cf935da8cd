"""DataIO: turns an uploaded table into instances (ids, float64 features, labels) and saves how it did.

Fit mode (data only) learns the header, the id column name and the missing/outlier replace
values; transform mode (a DataIO model given, e.g. in a predict job or ``dataio_1`` with
``model: dataio_0.dataio``) reuses them. It runs on each party alone: no federation, and
no metric (FATE's DataIO logs none).
"""
from __future__ import annotations

from typing import Any

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.columns import only_input_table
from fate_flow.components.dataio.dense import read_dense
from fate_flow.components.dataio.param import DataIOParam
from fate_flow.components.dataio.parsing import read_rows
from fate_flow.components.dataio.sparse import read_sparse, read_tag
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
        instances, state = self.read(table, params, fitted)
        self.header_, self.state_ = instances.header, state
        ctx.logger.info("DataIO read %d rows, %d features, label %s", len(instances), instances.n_features,
                        instances.label_name)
        return ComponentOutput(data=instances.to_table_data(partitions=table.meta.partitions or 1),
                               model=export_model(params, state))

    @staticmethod
    def read(table, params: DataIOParam, fitted: FittedState | None = None):
        """Parse ``table`` with ``params`` (fit when ``fitted`` is None); return (Instances, FittedState)."""
        ids, values = read_rows(table)
        if len(ids) == 0:
            raise ValueError(f"input table {table.meta.namespace}.{table.meta.name} is empty")
        if params.input_format == "dense":
            return read_dense(ids, values, table.meta.schema or {}, params, fitted)
        if params.input_format == "sparse":
            return read_sparse(ids, values, params, fitted)
        return read_tag(ids, values, params, fitted)


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
