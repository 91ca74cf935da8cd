"""Parameters of HeteroSecureBoost: FATE 1.4's ``BoostingTreeParam`` and the param objects it nests.

Names, defaults and accepted values are FATE's (class defaults here; the spec's ``DEFAULT_CONF``
overlays FATE's default_runtime_conf/boosting_tree_param.json). ``check()`` normalises case as FATE
does and raises ValueError naming the parameter.
"""
from __future__ import annotations

from typing import Any

from fate_flow.components.hetero_lr.param import EncryptedModeCalculatorParam
from fate_flow.components.linear_model.param import (
    CrossValidationParam, EncryptParam, PredictParam, _is_int, _is_number, _lower_choice,
)
from fate_flow.components.param import BaseParam

TASK_TYPES = ("classification", "regression")
CLASSIFICATION_OBJECTIVES = ("cross_entropy",)
REGRESSION_OBJECTIVES = ("lse", "lae", "huber", "fair", "log_cosh", "tweedie")
CRITERIA = ("xgboost",)
IMPORTANCE_TYPES = ("split", "gain")
MIN_KEY_LENGTH = 128


class TreeEncryptParam(EncryptParam):
    """FATE's trees also accept ``iterativeAffine``. This server has one additive cipher for them,
    Paillier: a conf naming iterativeAffine trains the same trees with Paillier (the guest logs it)."""

    ITERATIVE_AFFINE = "iterativeAffine"

    def check(self) -> None:
        if isinstance(self.method, str) and self.method.lower() == self.ITERATIVE_AFFINE.lower():
            self.method = self.ITERATIVE_AFFINE
            if not _is_int(self.key_length) or self.key_length <= 0:
                raise ValueError(f"encrypt_param.key_length {self.key_length!r} not supported, "
                                 "should be a positive int")
            return
        super().check()


def _positive_int(name: str, value: Any, minimum: int = 1) -> None:
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{name} {value!r} not supported, should be an integer >= {minimum}")


def _number_at_least(name: str, value: Any, minimum: float) -> None:
    if not _is_number(value) or value < minimum:
        raise ValueError(f"{name} {value!r} not supported, should be a number >= {minimum}")


def _bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} {value!r} not supported, should be bool")


class ObjectiveParam(BaseParam):
    """``objective``: cross_entropy (classification) or lse|lae|huber|fair|log_cosh|tweedie (regression);
    ``params``: [delta] for huber, [c] for fair, [rho] for tweedie."""

    def __init__(self, objective: str = "cross_entropy", params: list | None = None) -> None:
        self.objective = objective
        self.params = params

    def check(self, task_type: str | None = None) -> None:
        choices = CLASSIFICATION_OBJECTIVES + REGRESSION_OBJECTIVES
        self.objective = _lower_choice("objective_param.objective", self.objective, choices)
        if task_type == "classification" and self.objective not in CLASSIFICATION_OBJECTIVES:
            raise ValueError(f"objective_param.objective {self.objective!r} is a regression objective; "
                             f"task_type classification takes cross_entropy")
        if task_type == "regression" and self.objective not in REGRESSION_OBJECTIVES:
            raise ValueError(f"objective_param.objective {self.objective!r} is not a regression objective, "
                             f"should be one of {', '.join(REGRESSION_OBJECTIVES)}")
        if self.params is not None and (not isinstance(self.params, list)
                                        or not all(_is_number(v) for v in self.params)):
            raise ValueError(f"objective_param.params {self.params!r} should be a list of numbers")
        if self.objective == "tweedie" and self.params and not 1 <= self.params[0] < 2:
            raise ValueError(f"objective_param.params {self.params!r}: tweedie's rho should be in [1, 2)")
        if self.objective in ("huber", "fair") and self.params and self.params[0] <= 0:
            raise ValueError(f"objective_param.params {self.params!r}: {self.objective}'s parameter should be > 0")


class DecisionTreeParam(BaseParam):
    """One tree's growth: xgboost criterion with L2 ``criterion_params`` [lambda], depth and size limits."""

    def __init__(self, criterion_method: str = "xgboost", criterion_params: list | None = None, max_depth: int = 5,
                 min_sample_split: int = 2, min_impurity_split: float = 1e-3, min_leaf_node: int = 1,
                 max_split_nodes: int = 65536, feature_importance_type: str = "split", n_iter_no_change: bool = True,
                 tol: float = 0.001, use_missing: bool = False, zero_as_missing: bool = False) -> None:
        self.criterion_method = criterion_method
        self.criterion_params = [0.1] if criterion_params is None else criterion_params
        self.max_depth = max_depth
        self.min_sample_split = min_sample_split
        self.min_impurity_split = min_impurity_split
        self.min_leaf_node = min_leaf_node
        self.max_split_nodes = max_split_nodes
        self.feature_importance_type = feature_importance_type
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.use_missing = use_missing
        self.zero_as_missing = zero_as_missing

    def check(self) -> None:
        self.criterion_method = _lower_choice("tree_param.criterion_method", self.criterion_method, CRITERIA)
        params = self.criterion_params
        if not isinstance(params, list) or not params or not all(_is_number(v) and v >= 0 for v in params):
            raise ValueError(f"tree_param.criterion_params {params!r} should be a list holding a number >= 0 "
                             f"(the L2 lambda)")
        _positive_int("tree_param.max_depth", self.max_depth)
        _positive_int("tree_param.min_sample_split", self.min_sample_split)
        _positive_int("tree_param.min_leaf_node", self.min_leaf_node)
        _positive_int("tree_param.max_split_nodes", self.max_split_nodes)
        if not _is_number(self.min_impurity_split):
            raise ValueError(f"tree_param.min_impurity_split {self.min_impurity_split!r} should be a number")
        self.feature_importance_type = _lower_choice("tree_param.feature_importance_type",
                                                     self.feature_importance_type, IMPORTANCE_TYPES)
        _bool("tree_param.use_missing", self.use_missing)
        _bool("tree_param.zero_as_missing", self.zero_as_missing)

    @property
    def l2(self) -> float:
        return float(self.criterion_params[0])


class BoostingTreeParam(BaseParam):
    """FATE 1.4's BoostingTreeParam with its class defaults.

    Args:
        task_type: classification or regression.
        objective_param: the loss (see ObjectiveParam).
        learning_rate: shrinkage of every tree's leaf weights.
        num_trees: boosting rounds at most (one tree per class per round for multi-class).
        subsample_feature_rate: share of the features each tree may split on, (0, 1].
        n_iter_no_change, tol: stop when the loss moves less than tol between rounds.
        bin_num: quantile bins per feature (>= 2).
        use_missing, zero_as_missing: learn a direction for missing values (and count 0 as missing).
        validation_freqs, early_stopping_rounds, metrics, use_first_metric_only: validation during
            training on the eval_data input, and stopping when its metrics stop improving.
        tree_param, encrypt_param, encrypted_mode_calculator_param, predict_param, cv_param: nested.
    """

    def __init__(self) -> None:
        self.tree_param = DecisionTreeParam()
        self.task_type = "classification"
        self.objective_param = ObjectiveParam()
        self.learning_rate = 0.3
        self.num_trees = 5
        self.subsample_feature_rate = 0.8
        self.n_iter_no_change = True
        self.tol = 1e-4
        self.encrypt_param = TreeEncryptParam()
        self.bin_num = 32
        self.use_missing = False
        self.zero_as_missing = False
        self.encrypted_mode_calculator_param = EncryptedModeCalculatorParam()
        self.predict_param = PredictParam()
        self.cv_param = CrossValidationParam()
        self.validation_freqs = None
        self.early_stopping_rounds = None
        self.metrics = None
        self.use_first_metric_only = True

    def check(self) -> None:
        """Validate and normalise every value; ValueError naming the first bad parameter."""
        self.task_type = _lower_choice("task_type", self.task_type, TASK_TYPES)
        self.objective_param.check(self.task_type)
        if not _is_number(self.learning_rate) or self.learning_rate <= 0:
            raise ValueError(f"learning_rate {self.learning_rate!r} should be a positive number")
        _positive_int("num_trees", self.num_trees)
        if not _is_number(self.subsample_feature_rate) or not 0 < self.subsample_feature_rate <= 1:
            raise ValueError(f"subsample_feature_rate {self.subsample_feature_rate!r} should be in (0, 1]")
        _bool("n_iter_no_change", self.n_iter_no_change)
        _number_at_least("tol", self.tol, 0)
        _positive_int("bin_num", self.bin_num, 2)
        _bool("use_missing", self.use_missing)
        _bool("zero_as_missing", self.zero_as_missing)
        for nested in (self.tree_param, self.encrypt_param, self.encrypted_mode_calculator_param,
                       self.predict_param, self.cv_param):
            nested.check()
        if self.encrypt_param.method is not None and (self.encrypt_param.key_length < MIN_KEY_LENGTH
                                                      or self.encrypt_param.key_length % 2):
            raise ValueError(f"encrypt_param.key_length {self.encrypt_param.key_length!r} not supported, "
                             f"should be an even integer >= {MIN_KEY_LENGTH}")
        self._check_validation()

    def _check_validation(self) -> None:
        freqs = self.validation_freqs
        if freqs is not None:
            if isinstance(freqs, (list, tuple, set)):
                if not all(_is_int(v) and v >= 0 for v in freqs):
                    raise ValueError(f"validation_freqs {freqs!r} should hold round numbers >= 0")
            elif not _is_int(freqs) or freqs <= 0:
                raise ValueError(f"validation_freqs {freqs!r} should be a positive int or a list of rounds")
        if self.early_stopping_rounds is not None:
            _positive_int("early_stopping_rounds", self.early_stopping_rounds)
            if freqs is None:
                raise ValueError("validation_freqs must be set when early_stopping_rounds is set")
        if self.metrics is not None and not isinstance(self.metrics, list):
            raise ValueError(f"metrics {self.metrics!r} should be a list")
        _bool("use_first_metric_only", self.use_first_metric_only)

    # the top-level use_missing/zero_as_missing win over tree_param's, as in FATE
    @property
    def missing_mode(self) -> tuple[bool, bool]:
        use = bool(self.use_missing or self.tree_param.use_missing)
        return use, use and bool(self.zero_as_missing or self.tree_param.zero_as_missing)

    def validates_at(self, round_index: int) -> bool:
        """Whether validation runs after round ``round_index`` (0-based), as FATE's validation strategy decides."""
        freqs = self.validation_freqs
        if freqs is None:
            return False
        if isinstance(freqs, (list, tuple, set)):
            return round_index in freqs
        return (round_index + 1) % freqs == 0
