"""Parameters of HeteroFeatureSelection: FATE 1.4's ``FeatureSelectionParam`` and its filter params.

Names, defaults and accepted values are FATE's (components.md §2.4). ``check()`` lower-cases
the filter names and raises ValueError naming the parameter.
"""
from __future__ import annotations

from typing import Any

from fate_flow.components.hetero_binning.param import check_index_list, check_name_list
from fate_flow.components.param import BaseParam

FILTERS = ("manually", "unique_value", "iv_value_thres", "iv_percentile", "iv_top_k",
           "coefficient_of_variation_value_thres", "outlier_cols", "percentage_value")
IV_FILTERS = ("iv_value_thres", "iv_percentile", "iv_top_k")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_number(name: str, value: Any, low: float | None = None, high: float | None = None) -> None:
    if not _is_number(value) or (low is not None and value < low) or (high is not None and value > high):
        bounds = f" in [{low}, {high}]" if low is not None and high is not None else ""
        raise ValueError(f"{name} should be a number{bounds}, got {value!r}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} should be true or false, got {value!r}")


class UniqueValueParam(BaseParam):
    """unique_value: drop a column whose ``max - min`` is below ``eps``."""

    def __init__(self, eps: float = 1e-5) -> None:
        self.eps = eps

    def check(self) -> None:
        _check_number("unique_param.eps", self.eps, 0, float("inf"))


class IVValueSelectionParam(BaseParam):
    """iv_value_thres: keep a column whose IV is above ``value_threshold`` (per host: ``host_thresholds``)."""

    def __init__(self, value_threshold: float = 0.0, host_thresholds: list | None = None,
                 local_only: bool = False) -> None:
        self.value_threshold = value_threshold
        self.host_thresholds = host_thresholds
        self.local_only = local_only

    def check(self) -> None:
        _check_number("iv_value_param.value_threshold", self.value_threshold)
        if self.host_thresholds is not None and (not isinstance(self.host_thresholds, list)
                                                 or not all(_is_number(v) for v in self.host_thresholds)):
            raise ValueError(f"iv_value_param.host_thresholds should be None or a list of numbers, "
                             f"got {self.host_thresholds!r}")
        _check_bool("iv_value_param.local_only", self.local_only)


class IVPercentileSelectionParam(BaseParam):
    """iv_percentile: keep the ``percentile_threshold`` share of columns with the highest IV."""

    def __init__(self, percentile_threshold: float = 1.0, local_only: bool = False) -> None:
        self.percentile_threshold = percentile_threshold
        self.local_only = local_only

    def check(self) -> None:
        _check_number("iv_percentile_param.percentile_threshold", self.percentile_threshold, 0, 1)
        _check_bool("iv_percentile_param.local_only", self.local_only)


class IVTopKParam(BaseParam):
    """iv_top_k: keep the ``k`` columns with the highest IV."""

    def __init__(self, k: int = 10, local_only: bool = False) -> None:
        self.k = k
        self.local_only = local_only

    def check(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k <= 0:
            raise ValueError(f"iv_top_k_param.k should be a positive integer, got {self.k!r}")
        _check_bool("iv_top_k_param.local_only", self.local_only)


class VarianceOfCoeSelectionParam(BaseParam):
    """coefficient_of_variation_value_thres: keep a column whose ``|std / mean|`` is at least ``value_threshold``."""

    def __init__(self, value_threshold: float = 1.0) -> None:
        self.value_threshold = value_threshold

    def check(self) -> None:
        _check_number("variance_coe_param.value_threshold", self.value_threshold, 0, float("inf"))


class OutlierColsSelectionParam(BaseParam):
    """outlier_cols: keep a column whose ``percentile`` quantile is below ``upper_threshold``."""

    def __init__(self, percentile: float = 1.0, upper_threshold: float = 1.0) -> None:
        self.percentile = percentile
        self.upper_threshold = upper_threshold

    def check(self) -> None:
        _check_number("outlier_param.percentile", self.percentile, 0, 1)
        _check_number("outlier_param.upper_threshold", self.upper_threshold)


class ManuallyFilterParam(BaseParam):
    """manually: drop the ``filter_out_*`` columns, or keep only the ``left_col_*`` ones (not both)."""

    def __init__(self, filter_out_indexes: list | None = None, filter_out_names: list | None = None,
                 left_col_indexes: list | None = None, left_col_names: list | None = None) -> None:
        self.filter_out_indexes = filter_out_indexes
        self.filter_out_names = filter_out_names
        self.left_col_indexes = left_col_indexes
        self.left_col_names = left_col_names

    def check(self) -> None:
        check_index_list("manually_param.filter_out_indexes", self.filter_out_indexes, allow_all=False)
        check_name_list("manually_param.filter_out_names", self.filter_out_names)
        check_index_list("manually_param.left_col_indexes", self.left_col_indexes, allow_all=False)
        check_name_list("manually_param.left_col_names", self.left_col_names)
        # FATE's rule: "[] or []" is not None, so empty filter_out lists still count as given
        if ((self.filter_out_indexes or self.filter_out_names) is not None
                and (self.left_col_names or self.left_col_indexes) is not None):
            raise ValueError("manually_param: (left_col_indexes & left_col_names) cannot be used with "
                             "(filter_out_indexes & filter_out_names) simultaneously")


class PercentageValueParam(BaseParam):
    """percentage_value: drop a column where one value makes up more than ``upper_pct`` of the rows."""

    def __init__(self, upper_pct: float = 1.0) -> None:
        self.upper_pct = upper_pct

    def check(self) -> None:
        _check_number("percentage_value_param.upper_pct", self.upper_pct, 0, 1)


class FeatureSelectionParam(BaseParam):
    """FATE 1.4's FeatureSelectionParam.

    Args:
        select_col_indexes, select_names: the columns the filters judge (-1: all); the others
            are always kept.
        filter_methods: the filters, applied in this order, each to the columns the previous
            one left (names in ``FILTERS``).
        need_run: False passes the input through.
        The ``*_param`` objects hold each filter's settings.
    """

    def __init__(self) -> None:
        self.select_col_indexes = -1
        self.select_names = []
        self.filter_methods = ["unique_value"]
        self.unique_param = UniqueValueParam()
        self.iv_value_param = IVValueSelectionParam()
        self.iv_percentile_param = IVPercentileSelectionParam()
        self.iv_top_k_param = IVTopKParam()
        self.variance_coe_param = VarianceOfCoeSelectionParam()
        self.outlier_param = OutlierColsSelectionParam()
        self.manually_param = ManuallyFilterParam()
        self.percentage_value_param = PercentageValueParam()
        self.need_run = True

    def check(self) -> None:
        """Raise ValueError naming the first parameter out of range; lower-case the filter names."""
        check_index_list("select_col_indexes", self.select_col_indexes)
        check_name_list("select_names", self.select_names)
        if not isinstance(self.filter_methods, list) or not all(isinstance(m, str) for m in self.filter_methods):
            raise ValueError(f"filter_methods should be a list of filter names, got {self.filter_methods!r}")
        for method in self.filter_methods:
            if method.lower() not in FILTERS:
                raise ValueError(f"filter_methods: {method!r} not supported, should be one of {', '.join(FILTERS)}")
        self.filter_methods = [m.lower() for m in self.filter_methods]
        _check_bool("need_run", self.need_run)
        for name in ("unique_param", "iv_value_param", "iv_percentile_param", "iv_top_k_param",
                     "variance_coe_param", "outlier_param", "manually_param", "percentage_value_param"):
            getattr(self, name).check()


# FATE 1.4's default_runtime_conf/feature_selection_param.json. "filter_method", "select_cols"
# and "local_only" are not attributes of the param class and are dropped when merged, as in
# FATE; the rest equals the class defaults.
DEFAULT_CONF = {
    "filter_method": ["unique_value"], "select_cols": -1, "local_only": False,
    "unique_param": {"eps": 1e-5}, "iv_value_param": {"value_threshold": 0.0},
    "iv_percentile_param": {"percentile_threshold": 1.0}, "variance_coe_param": {"value_threshold": 1.0},
    "outlier_param": {"percentile": 1.0, "upper_threshold": 1.0}, "need_run": True,
}
