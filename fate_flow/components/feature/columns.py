"""The fit-or-load-then-transform run shared by FeatureScale and OneHotEncoder, on partitions.

Fitting reads statistics combined from every partition (``Table.aggregate``); the transform is
a kernel applied to each partition's Instances block, so the output keeps the input's
partitioning and no process holds the whole table.
"""
from __future__ import annotations

from typing import Any, Callable

from fate_flow.components.base import ComponentBase, ComponentOutput
from fate_flow.components.columns import first_model, only_input_table


class ColumnTransform(ComponentBase):
    """A local transform of chosen columns, fitted on the data or taken from an input model.

    Subclasses give ``fit(data, header) -> state`` (data: a Table of Instances blocks),
    ``state_from_model(model)``, ``kernel() -> block function`` (using ``self.state_``) and
    ``export(header, transformed_header) -> model messages``.
    """

    # passes over the data a fit makes: with more than one, the parsed blocks are kept (persisted)
    fit_passes = 1

    def run(self, ctx, inputs):
        from fate_flow.computing.column_stats import empty_like, load_instances

        table = only_input_table(inputs, type(self).__name__)
        if not self.params.need_run:
            return ComponentOutput(data=table)
        data = load_instances(ctx.computing, table)
        header = empty_like(table).header
        model = first_model(inputs, "model")
        if model is None and self.fit_passes > 1:
            data = data.persist()  # parsed once for every pass of the fit and the output
        self.state_ = self.state_from_model(model) if model else self.fit(data, header)
        kernel = self.kernel()
        schema = kernel(empty_like(table)).schema()
        return ComponentOutput(data=data.map_values(kernel).with_schema(schema),
                               model=self.export(header, schema["header"].split(",") if schema["header"] else []))

    def fit(self, data, header: list[str]) -> Any:
        raise NotImplementedError

    def state_from_model(self, model: dict) -> Any:
        raise NotImplementedError

    def kernel(self) -> Callable:
        raise NotImplementedError

    def export(self, header: list[str], transformed_header: list[str]) -> dict:
        raise NotImplementedError
