"""Parameters of HeteroFeatureBinning: FATE 1.4's ``FeatureBinningParam`` and the params it nests.

Names, defaults and accepted values are FATE's. ``check()`` lower-cases ``method`` as
FATE does and raises ValueError naming the parameter. ``method="optimal"`` merges (or,
for ks, splits) fine initial buckets as ``optimal`` describes.
"""
from __future__ import annotations

from typing import Any

from fate_flow.components.param import BaseParam

METHODS = ("quantile", "bucket", "optimal")
TRANSFORM_TYPES = ("bin_num", "woe", None)
OPTIMAL_METRICS = ("iv", "gini", "ks", "chi_square")
INIT_BUCKET_METHODS = ("quantile", "bucket")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_index_list(name: str, value: Any, allow_all: bool = True) -> None:
    """Accept -1 (when ``allow_all``), None or a list of non-negative ints; ValueError naming ``name``."""
    if value is None or (allow_all and value == -1 and not isinstance(value, bool)):
        return
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value):
        allowed = "-1, None" if allow_all else "None"
        raise ValueError(f"{name} should be {allowed} or a list of column indexes, got {value!r}")


def check_name_list(name: str, value: Any) -> None:
    """Accept None or a list of strings; ValueError naming ``name``."""
    if value is not None and (not isinstance(value, list) or any(not isinstance(v, str) for v in value)):
        raise ValueError(f"{name} should be None or a list of column names, got {value!r}")


class TransformParam(BaseParam):
    """Which binned columns the output data replaces, and by what.

    ``transform_cols`` -1 means every binned column; ``transform_type`` "bin_num" puts the
    bin index, "woe" the bin's WOE (guest only), None leaves the data unchanged.
    """

    def __init__(self, transform_cols: Any = -1, transform_names: list | None = None,
                 transform_type: str | None = "bin_num") -> None:
        self.transform_cols = transform_cols
        self.transform_names = transform_names
        self.transform_type = transform_type

    def check(self) -> None:
        check_index_list("transform_param.transform_cols", self.transform_cols)
        check_name_list("transform_param.transform_names", self.transform_names)
        if self.transform_type not in TRANSFORM_TYPES:
            raise ValueError(f"transform_param.transform_type {self.transform_type!r} not supported, "
                             f"should be bin_num, woe or None")


class OptimalBinningParam(BaseParam):
    """FATE's optimal-binning settings (``method: optimal``; see ``optimal``).

    ``max_bin`` and ``adjustment_factor`` are FATE's fields that the component overwrites with
    FeatureBinningParam's ``bin_num`` and ``adjustment_factor`` whatever the conf says.
    """

    def __init__(self, metric_method: str = "iv", min_bin_pct: float = 0.05, max_bin_pct: float = 1.0,
                 init_bin_nums: int = 1000, mixture: bool = True, init_bucket_method: str = "quantile") -> None:
        self.metric_method = metric_method
        self.min_bin_pct = min_bin_pct
        self.max_bin_pct = max_bin_pct
        self.init_bin_nums = init_bin_nums
        self.mixture = mixture
        self.init_bucket_method = init_bucket_method
        self.max_bin = None
        self.adjustment_factor = None

    def check(self) -> None:
        metric = self.metric_method.lower().replace("chi-square", "chi_square") \
            if isinstance(self.metric_method, str) else None
        if metric not in OPTIMAL_METRICS:
            raise ValueError(f"optimal_binning_param.metric_method {self.metric_method!r} not supported, "
                             f"should be one of {', '.join(OPTIMAL_METRICS)}")
        self.metric_method = metric
        method = self.init_bucket_method.lower() if isinstance(self.init_bucket_method, str) else None
        if method not in INIT_BUCKET_METHODS:
            raise ValueError(f"optimal_binning_param.init_bucket_method {self.init_bucket_method!r} not supported, "
                             f"should be quantile or bucket")
        self.init_bucket_method = method
        for name in ("min_bin_pct", "max_bin_pct"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value <= 1:
                raise ValueError(f"optimal_binning_param.{name} should be a number in [0, 1], got {value!r}")
        if self.min_bin_pct > self.max_bin_pct:
            raise ValueError(f"optimal_binning_param.min_bin_pct {self.min_bin_pct} should not exceed "
                             f"max_bin_pct {self.max_bin_pct}")
        if not _is_positive_int(self.init_bin_nums):
            raise ValueError(f"optimal_binning_param.init_bin_nums should be a positive integer, "
                             f"got {self.init_bin_nums!r}")
        if not isinstance(self.mixture, bool):
            raise ValueError(f"optimal_binning_param.mixture should be true or false, got {self.mixture!r}")


class FeatureBinningParam(BaseParam):
    """FATE 1.4's FeatureBinningParam (defaults as in FATE; see components.md §2.3).

    Args:
        method: "quantile" (equal frequency), "bucket" (equal width) or "optimal" (see ``optimal``).
        compress_thres, head_size: FATE's quantile-summary sizes; recorded in the model meta
            (the split points here are exact, see ``split_points``).
        error: the rank error FATE's summaries allow; exact ranks are within any error.
        bin_num: the number of bins asked for (duplicate split points make fewer).
        bin_indexes, bin_names: the columns to bin (-1: all), indexes and names united.
        adjustment_factor: added to a bin's counts when one of them is zero, for the WOE.
        category_indexes, category_names: columns binned by value (one bin per distinct value).
        local_only: bin without the other party (no host IV).
        transform_param: what the output data holds (see TransformParam).
        optimal_binning_param: FATE's optimal-binning settings.
        need_run: False passes the input through.
    """

    def __init__(self) -> None:
        self.method = "quantile"
        self.compress_thres = 10000
        self.head_size = 10000
        self.error = 0.001
        self.bin_num = 10
        self.bin_indexes = -1
        self.bin_names = None
        self.adjustment_factor = 0.5
        self.category_indexes = None
        self.category_names = None
        self.local_only = False
        self.transform_param = TransformParam()
        self.optimal_binning_param = OptimalBinningParam()
        self.need_run = True

    def check(self) -> None:
        """Raise ValueError naming the first parameter out of range; lower-case ``method``."""
        if not isinstance(self.method, str) or self.method.lower() not in METHODS:
            raise ValueError(f"method {self.method!r} not supported, should be one of {', '.join(METHODS)}")
        self.method = self.method.lower()
        for name in ("compress_thres", "head_size", "bin_num"):
            if not _is_positive_int(getattr(self, name)):
                raise ValueError(f"{name} should be a positive integer, got {getattr(self, name)!r}")
        if not _is_number(self.error) or not 0 <= self.error <= 1:
            raise ValueError(f"error should be a number in [0, 1], got {self.error!r}")
        if not _is_number(self.adjustment_factor) or not 0 < self.adjustment_factor < 1:
            raise ValueError(f"adjustment_factor should be a number in (0, 1), got {self.adjustment_factor!r}")
        check_index_list("bin_indexes", self.bin_indexes)
        check_name_list("bin_names", self.bin_names)
        check_index_list("category_indexes", self.category_indexes, allow_all=False)
        check_name_list("category_names", self.category_names)
        for name in ("local_only", "need_run"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} should be true or false, got {getattr(self, name)!r}")
        self.transform_param.check()
        self.optimal_binning_param.check()


# FATE's default_runtime_conf/feature_binning_param.json. "cols" is not an attribute of the
# param class, so it is dropped when merged, as in FATE.
DEFAULT_CONF = {
    "method": "quantile", "compress_thres": 10000, "head_size": 10000, "error": 0.001,
    "adjustment_factor": 0.5, "bin_num": 10, "cols": -1, "local_only": False,
    "transform_param": {"transform_cols": -1, "transform_type": "bin_num"}, "need_run": True,
}
