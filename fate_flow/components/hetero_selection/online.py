"""HeteroFeatureSelection online: keeps the columns the saved model kept."""
from __future__ import annotations

from fate_flow.components.hetero_selection.base import apply_selection_model
from fate_flow.components.online import FunctionTransform


def load_online(messages: dict, role: str, name: str) -> FunctionTransform:
    """The column selection of a saved selection model."""
    return FunctionTransform(lambda data: apply_selection_model(messages, data))
