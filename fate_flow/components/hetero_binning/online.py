"""HeteroFeatureBinning online: the saved split points and transform applied to request rows."""
from __future__ import annotations

from fate_flow.components.hetero_binning.base import read_model, transform_columns
from fate_flow.components.online import FunctionTransform


def load_online(messages: dict, role: str, name: str) -> FunctionTransform:
    """The transform a saved binning model applies for ``role``."""
    b = read_model(messages)
    return FunctionTransform(lambda data: transform_columns(data, role, b["header"], b["split_points"],
                                                            b["transform_cols"], b["transform_type"], b["results"]))
