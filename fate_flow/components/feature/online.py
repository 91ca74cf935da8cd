"""FeatureScale and OneHotEncoder online: the saved scaling or column map applied to request rows."""
from __future__ import annotations

from fate_flow.components.feature.one_hot import one_hot_columns
from fate_flow.components.feature.scale import scale_columns
from fate_flow.components.online import FunctionTransform


def scale_online(messages: dict, role: str, name: str) -> FunctionTransform:
    """The scaling a saved FeatureScale model applies."""
    meta, columns = messages["ScaleMeta"], messages["ScaleParam"]["col_scale_param"]
    return FunctionTransform(lambda data: scale_columns(data, columns, meta["method"], meta["with_mean"],
                                                        meta["with_std"]))


def one_hot_online(messages: dict, role: str, name: str) -> FunctionTransform:
    """The one-hot columns a saved OneHotEncoder model makes."""
    col_map = messages["OneHotParam"]["col_map"]
    return FunctionTransform(lambda data: one_hot_columns(data, col_map))
