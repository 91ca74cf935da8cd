"""The param objects HeteroLR and HomoLR both nest (FATE 1.4's) and the small checks they share.

Names, defaults and accepted values are FATE's; ``check()`` normalises case as FATE does and
raises ValueError naming the parameter.
"""
from __future__ import annotations

from typing import Any

from fate_flow.components.param import BaseParam

PENALTIES = ("L1", "L2", "NONE")
EARLY_STOPS = ("diff", "abs", "weight_diff")
INIT_METHODS = ("random_uniform", "random_normal", "ones", "zeros", "const")
MIN_BATCH_SIZE = 10
PAILLIER = "Paillier"
MIN_KEY_LENGTH = 128


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _lower_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValueError(f"{name} {value!r} not supported, should be one of {', '.join(choices)}")
    return value.lower()


def _upper_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.upper() not in choices:
        raise ValueError(f"{name} {value!r} not supported, should be 'L1', 'L2' or 'none'")
    return value.upper()


def check_rates(param: BaseParam) -> None:
    """tol, alpha, learning_rate and decay are numbers; alpha >= 0 and learning_rate > 0."""
    for name in ("tol", "alpha", "learning_rate", "decay"):
        if not _is_number(getattr(param, name)):
            raise ValueError(f"{name} {getattr(param, name)!r} not supported, should be int or float")
    if param.alpha < 0:
        raise ValueError(f"alpha {param.alpha!r} should not be negative")
    if param.learning_rate <= 0:
        raise ValueError(f"learning_rate {param.learning_rate!r} should be positive")


def check_batch_size(size: Any) -> None:
    """-1 (all rows) or an integer of at least ``MIN_BATCH_SIZE``."""
    if size != -1 and (not _is_int(size) or size < MIN_BATCH_SIZE):
        raise ValueError(f"batch_size {size!r} not supported, should be at least {MIN_BATCH_SIZE} "
                         f"or -1 for all data")


def check_validation(param: BaseParam) -> None:
    """early_stopping_rounds (needs validation_freqs), metrics and use_first_metric_only."""
    if param.early_stopping_rounds is not None:
        if not _is_int(param.early_stopping_rounds) or param.early_stopping_rounds < 1:
            raise ValueError(f"early_stopping_rounds {param.early_stopping_rounds!r} should be an integer >= 1")
        if param.validation_freqs is None:
            raise ValueError("validation_freqs must be set when early_stopping_rounds is set")
    if param.metrics is not None and not isinstance(param.metrics, list):
        raise ValueError(f"metrics {param.metrics!r} should be a list")
    if not isinstance(param.use_first_metric_only, bool):
        raise ValueError(f"use_first_metric_only {param.use_first_metric_only!r} should be bool")


class InitParam(BaseParam):
    """How weights start: ``init_method`` (random_uniform|random_normal|ones|zeros|const),
    ``init_const`` for const, ``fit_intercept`` and ``random_seed``."""

    def __init__(self, init_method: str = "random_uniform", init_const: float = 1, fit_intercept: bool = True,
                 random_seed: int | None = None) -> None:
        self.init_method = init_method
        self.init_const = init_const
        self.fit_intercept = fit_intercept
        self.random_seed = random_seed

    def check(self) -> None:
        self.init_method = _lower_choice("init_param.init_method", self.init_method, INIT_METHODS)
        if not _is_number(self.init_const):
            raise ValueError(f"init_param.init_const {self.init_const!r} not supported, should be int or float")
        if not isinstance(self.fit_intercept, bool):
            raise ValueError(f"init_param.fit_intercept {self.fit_intercept!r} not supported, should be bool")
        if self.random_seed is not None and not _is_int(self.random_seed):
            raise ValueError(f"init_param.random_seed {self.random_seed!r} not supported, should be int or None")


class EncryptParam(BaseParam):
    """``method`` Paillier or None and ``key_length`` a positive int, as FATE accepts them."""

    def __init__(self, method: str | None = PAILLIER, key_length: int = 1024) -> None:
        self.method = method
        self.key_length = key_length

    def check(self) -> None:
        if self.method is not None:
            if not isinstance(self.method, str) or self.method.lower() != "paillier":
                raise ValueError(f"encrypt_param.method {self.method!r} not supported, should be 'Paillier' or None")
            self.method = PAILLIER
        if not _is_int(self.key_length) or self.key_length <= 0:
            raise ValueError(f"encrypt_param.key_length {self.key_length!r} not supported, should be a positive int")


class PredictParam(BaseParam):
    """``threshold``: a row is predicted 1 when its score is above it."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def check(self) -> None:
        if not _is_number(self.threshold) or not 0 <= self.threshold <= 1:
            raise ValueError(f"predict_param.threshold {self.threshold!r} should be a number in [0, 1]")


class CrossValidationParam(BaseParam):
    """FATE's cross-validation settings (``model_selection.k_fold``)."""

    def __init__(self, n_splits: int = 5, mode: str = "hetero", role: str = "guest", shuffle: bool = True,
                 random_seed: int = 1, need_cv: bool = False) -> None:
        self.n_splits = n_splits
        self.mode = mode
        self.role = role
        self.shuffle = shuffle
        self.random_seed = random_seed
        self.need_cv = need_cv

    def check(self) -> None:
        if not _is_int(self.n_splits) or self.n_splits <= 1:
            raise ValueError(f"cv_param.n_splits {self.n_splits!r} should be an integer > 1")
        if not isinstance(self.need_cv, bool):
            raise ValueError(f"cv_param.need_cv {self.need_cv!r} should be bool")


class StepwiseParam(BaseParam):
    """FATE's stepwise settings (``model_selection.stepwise``); ``check`` is FATE's, run when stepwise is asked for."""

    def __init__(self, score_name: str = "AIC", mode: str = "hetero", role: str = "guest", direction: str = "both",
                 max_step: int = 10, nvmin: int = 2, nvmax: int | None = None, need_stepwise: bool = False) -> None:
        self.score_name = score_name
        self.mode = mode
        self.role = role
        self.direction = direction
        self.max_step = max_step
        self.nvmin = nvmin
        self.nvmax = nvmax
        self.need_stepwise = need_stepwise

    def check(self) -> None:
        self.score_name = _lower_choice("stepwise_param.score_name", self.score_name, ("aic", "bic"))
        self.direction = _lower_choice("stepwise_param.direction", self.direction, ("forward", "backward", "both"))
        if not _is_int(self.max_step) or self.max_step <= 0:
            raise ValueError(f"stepwise_param.max_step {self.max_step!r} should be a positive int")
        if not _is_int(self.nvmin) or self.nvmin < 2:
            raise ValueError(f"stepwise_param.nvmin {self.nvmin!r} should be an int >= 2")
        if self.nvmax is not None and (not _is_int(self.nvmax) or self.nvmax < self.nvmin):
            raise ValueError(f"stepwise_param.nvmax {self.nvmax!r} should be an int >= nvmin ({self.nvmin})")
        if not isinstance(self.need_stepwise, bool):
            raise ValueError(f"stepwise_param.need_stepwise {self.need_stepwise!r} should be bool")


class LinearModelParamBase(BaseParam):
    """The fields FATE 1.4's LR, LinR and Poisson params share, with their class defaults, and the checks
    HeteroLinR and HeteroPoisson run (HeteroLR and HomoLR keep their own ``check``).

    A subclass names its ``optimizers`` and may add nested params to ``nested_params``.
    """

    optimizers: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.penalty = "L2"
        self.tol = 1e-5
        self.alpha = 1.0
        self.optimizer = "sgd"
        self.batch_size = -1
        self.learning_rate = 0.01
        self.init_param = InitParam()
        self.max_iter = 100
        self.early_stop = "diff"
        self.encrypt_param = EncryptParam()
        self.predict_param = PredictParam()
        self.cv_param = CrossValidationParam()
        self.decay = 1
        self.decay_sqrt = True
        self.validation_freqs = None
        self.early_stopping_rounds = None
        self.metrics: list = []
        self.use_first_metric_only = False
        self.stepwise_param = StepwiseParam()

    def check(self) -> None:
        """Validate and normalise every value; ValueError naming the first bad parameter."""
        if self.penalty is None:
            self.penalty = "NONE"
        self.penalty = _upper_choice("penalty", self.penalty, PENALTIES)
        check_rates(self)
        self.optimizer = _lower_choice("optimizer", self.optimizer, self.optimizers)
        check_batch_size(self.batch_size)
        if not _is_int(self.max_iter) or self.max_iter <= 0:
            raise ValueError(f"max_iter {self.max_iter!r} should be an integer >= 1")
        self.early_stop = _lower_choice("early_stop", self.early_stop, EARLY_STOPS)
        if not isinstance(self.decay_sqrt, bool):
            raise ValueError(f"decay_sqrt {self.decay_sqrt!r} not supported, should be bool")
        for nested in self.nested_params():
            nested.check()
        check_paillier_key(self.encrypt_param)
        check_validation(self)

    def nested_params(self) -> list[BaseParam]:
        """The nested params ``check`` checks (stepwise's and sqn's are checked when they run, as FATE does)."""
        return [self.init_param, self.encrypt_param, self.predict_param, self.cv_param]


def check_paillier_key(encrypt_param: EncryptParam) -> None:
    """The hetero linear models need Paillier and a key of an even length of at least ``MIN_KEY_LENGTH`` bits."""
    if encrypt_param.method is None:
        raise ValueError("encrypt_param.method None not supported, should be 'Paillier'")
    if encrypt_param.key_length < MIN_KEY_LENGTH or encrypt_param.key_length % 2:
        raise ValueError(f"encrypt_param.key_length {encrypt_param.key_length!r} not supported, "
                         f"should be an even integer >= {MIN_KEY_LENGTH}")


class LogisticParamBase(LinearModelParamBase):
    """The parameters HeteroLR and HomoLR share, with FATE 1.4's class defaults: the linear models' and
    ``multi_class``, with the binary metrics."""

    def __init__(self) -> None:
        super().__init__()
        self.multi_class = "ovr"
        self.metrics = ["auc", "ks"]
