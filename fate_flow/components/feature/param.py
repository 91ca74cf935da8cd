"""ScaleParam and OneHotEncoderParam with FATE 1.4's names and defaults."""
from __future__ import annotations

from fate_flow.components.param import BaseParam

SCALE_METHODS = ("min_max_scale", "standard_scale")


def _check_columns(name: str, value) -> None:
    if value == -1 or value is None:
        return
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, (int, str)) for v in value):
        raise ValueError(f"{name} should be -1 or a list of column indexes/names, got {value!r}")


class ScaleParam(BaseParam):
    def __init__(self):
        self.method = "min_max_scale"
        self.mode = "normal"
        self.scale_col_indexes = -1
        self.scale_names = []
        self.feat_upper = None
        self.feat_lower = None
        self.with_mean = True
        self.with_std = True
        self.need_run = True

    def check(self) -> None:
        if self.method not in SCALE_METHODS:
            raise ValueError(f"method should be one of {', '.join(SCALE_METHODS)}, got {self.method!r}")
        if self.mode not in ("normal", "cap"):
            raise ValueError(f"mode should be normal or cap, got {self.mode!r}")
        _check_columns("scale_col_indexes", self.scale_col_indexes)
        _check_columns("scale_names", self.scale_names)
        for name in ("feat_upper", "feat_lower"):
            value = getattr(self, name)
            values = value if isinstance(value, list) else [] if value is None else [value]
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
                raise ValueError(f"{name} should be a number or a list of numbers (one per column), got {value!r}")
            if self.mode == "cap" and any(not 0 <= v <= 1 for v in values):
                raise ValueError(f"{name} should be a percentile in [0, 1] in cap mode, got {value!r}")


class OneHotEncoderParam(BaseParam):
    def __init__(self):
        self.transform_col_indexes = -1
        self.transform_col_names = None
        self.need_run = True

    def check(self) -> None:
        _check_columns("transform_col_indexes", self.transform_col_indexes)
        _check_columns("transform_col_names", self.transform_col_names)
