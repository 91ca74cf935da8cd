"""The fit-or-load-then-transform run shared by FeatureScale and OneHotEncoder."""
from __future__ import annotations

from typing import Any

from fate_flow.components.base import ComponentBase, ComponentOutput
from fate_flow.components.columns import first_model, only_input_table


class ColumnTransform(ComponentBase):
    """A local transform of chosen columns, fitted on the data or taken from an input model.

    Subclasses give ``fit(data) -> state``, ``state_from_model(model)``, ``transform(data)``
    (using ``self.state_``) and ``export(data, transformed) -> model messages``.
    """

    def run(self, ctx, inputs):
        from fate_flow.computing import Instances

        table = only_input_table(inputs, type(self).__name__)
        if not self.params.need_run:
            return ComponentOutput(data=table)
        data = Instances.from_table(table)
        model = first_model(inputs, "model")
        self.state_ = self.state_from_model(model) if model else self.fit(data)
        transformed = self.transform(data)
        return ComponentOutput(data=transformed.to_table_data(table.meta.partitions),
                               model=self.export(data, transformed))

    def fit(self, data) -> Any:
        raise NotImplementedError

    def state_from_model(self, model: dict) -> Any:
        raise NotImplementedError

    def transform(self, data):
        raise NotImplementedError

    def export(self, data, transformed) -> dict:
        raise NotImplementedError
