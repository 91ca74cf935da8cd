"""Parameters of HeteroLR: FATE 1.4's ``HeteroLogisticParam`` and the param objects it nests.

Names, defaults and accepted values are FATE's. ``check()`` normalises case the way FATE
does (penalty upper case, optimizer/early_stop/init_method lower case) and raises
ValueError naming the parameter. Values FATE accepts but this implementation does not
run (the ``sqn`` optimizer, cross validation, stepwise, one-vs-rest) are refused by
the component when it starts, not here, so that a conf valid for FATE still parses.
"""
from __future__ import annotations

from typing import Any

from fate_flow.components.param import BaseParam

PENALTIES = ("L1", "L2", "NONE")
OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd", "sqn")
EARLY_STOPS = ("diff", "abs", "weight_diff")
INIT_METHODS = ("random_uniform", "random_normal", "ones", "zeros", "const")
MIN_BATCH_SIZE = 10
PAILLIER = "Paillier"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _lower_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValueError(f"{name} {value!r} not supported, should be one of {', '.join(choices)}")
    return value.lower()


def _upper_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.upper() not in choices:
        raise ValueError(f"{name} {value!r} not supported, should be 'L1', 'L2' or 'none'")
    return value.upper()


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
        if self.random_seed is not None and not _is_number(self.random_seed):
            raise ValueError(f"init_param.random_seed {self.random_seed!r} not supported, should be int or None")


class EncryptParam(BaseParam):
    """Encryption of the exchanged values: ``method`` Paillier, ``key_length`` bits."""

    def __init__(self, method: str | None = PAILLIER, key_length: int = 1024) -> None:
        self.method = method
        self.key_length = key_length

    def check(self) -> None:
        if self.method is not None:
            if not isinstance(self.method, str) or self.method.lower() != "paillier":
                raise ValueError(f"encrypt_param.method {self.method!r} not supported, should be 'Paillier'")
            self.method = PAILLIER
        if isinstance(self.key_length, bool) or not isinstance(self.key_length, int) or self.key_length < 128 \
                or self.key_length % 2:
            raise ValueError(f"encrypt_param.key_length {self.key_length!r} not supported, "
                             f"should be an even integer >= 128")


class EncryptedModeCalculatorParam(BaseParam):
    """FATE's re-use of encryptions (strict|fast|balance); every mode encrypts afresh here."""

    def __init__(self, mode: str = "strict", re_encrypted_rate: float = 1) -> None:
        self.mode = mode
        self.re_encrypted_rate = re_encrypted_rate

    def check(self) -> None:
        self.mode = _lower_choice("encrypted_mode_calculator_param.mode", self.mode, ("strict", "fast", "balance"))
        if self.mode == "balance" and (not _is_number(self.re_encrypted_rate)
                                       or not 0 <= self.re_encrypted_rate <= 1):
            raise ValueError(f"encrypted_mode_calculator_param.re_encrypted_rate {self.re_encrypted_rate!r} "
                             f"should be a number in [0, 1]")


class PredictParam(BaseParam):
    """``threshold``: a row is predicted 1 when its score is above it."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def check(self) -> None:
        if not _is_number(self.threshold) or not 0 <= self.threshold <= 1:
            raise ValueError(f"predict_param.threshold {self.threshold!r} should be a number in [0, 1]")


class CrossValidationParam(BaseParam):
    """FATE's cross-validation settings (``need_cv`` true is refused by HeteroLR here)."""

    def __init__(self, n_splits: int = 5, mode: str = "hetero", role: str = "guest", shuffle: bool = True,
                 random_seed: int = 1, need_cv: bool = False) -> None:
        self.n_splits = n_splits
        self.mode = mode
        self.role = role
        self.shuffle = shuffle
        self.random_seed = random_seed
        self.need_cv = need_cv

    def check(self) -> None:
        if isinstance(self.n_splits, bool) or not isinstance(self.n_splits, int) or self.n_splits <= 1:
            raise ValueError(f"cv_param.n_splits {self.n_splits!r} should be an integer > 1")
        if not isinstance(self.need_cv, bool):
            raise ValueError(f"cv_param.need_cv {self.need_cv!r} should be bool")


class StochasticQuasiNewtonParam(BaseParam):
    """Settings of FATE's ``sqn`` optimizer (not run here; kept so confs parse)."""

    def __init__(self, update_interval_L: int = 3, memory_M: int = 5, sample_size: int = 5000,
                 random_seed: int | None = None) -> None:
        self.update_interval_L = update_interval_L
        self.memory_M = memory_M
        self.sample_size = sample_size
        self.random_seed = random_seed


class StepwiseParam(BaseParam):
    """FATE's stepwise settings (``need_stepwise`` true is refused by HeteroLR here)."""

    def __init__(self, score_name: str = "AIC", mode: str = "hetero", role: str = "guest", direction: str = "both",
                 max_step: int = 10, need_stepwise: bool = False) -> None:
        self.score_name = score_name
        self.mode = mode
        self.role = role
        self.direction = direction
        self.max_step = max_step
        self.need_stepwise = need_stepwise


class HeteroLogisticParam(BaseParam):
    """Parameters of HeteroLR with FATE 1.4's class defaults (the registry overlays FATE's
    default_runtime_conf: alpha 0.01, batch_size 320, init_method random_normal).

    Args:
        penalty: "L1", "L2" or "none"/None.
        tol: convergence tolerance of ``early_stop``.
        alpha: regularisation strength.
        optimizer: sgd, rmsprop, adam, adagrad, nesterov_momentum_sgd (sqn is refused at run).
        batch_size: rows per mini-batch, -1 for the whole data (else at least 10).
        learning_rate, decay, decay_sqrt: lr_t = learning_rate / sqrt(1 + decay*t) (or /(1 + decay*t)).
        max_iter: iterations at most.
        early_stop: "diff" (loss change), "abs" (loss) or "weight_diff" (norm of the update).
        init_param, encrypt_param, encrypted_mode_calculator_param, predict_param, cv_param,
        sqn_param, stepwise_param: nested settings, see their classes.
        multi_class, validation_freqs, early_stopping_rounds, metrics, use_first_metric_only:
            accepted as FATE does; validation during training is not run here.
    """

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
        self.encrypted_mode_calculator_param = EncryptedModeCalculatorParam()
        self.predict_param = PredictParam()
        self.cv_param = CrossValidationParam()
        self.decay = 1
        self.decay_sqrt = True
        self.sqn_param = StochasticQuasiNewtonParam()
        self.multi_class = "ovr"
        self.validation_freqs = None
        self.early_stopping_rounds = None
        self.metrics = ["auc", "ks"]
        self.use_first_metric_only = False
        self.stepwise_param = StepwiseParam()

    def check(self) -> None:
        """Validate and normalise every value; ValueError naming the first bad parameter."""
        if self.penalty is None:
            self.penalty = "NONE"
        self.penalty = _upper_choice("penalty", self.penalty, PENALTIES)
        for name in ("tol", "alpha", "learning_rate", "decay"):
            if not _is_number(getattr(self, name)):
                raise ValueError(f"{name} {getattr(self, name)!r} not supported, should be int or float")
        if self.alpha < 0:
            raise ValueError(f"alpha {self.alpha!r} should not be negative")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate {self.learning_rate!r} should be positive")
        self.optimizer = _lower_choice("optimizer", self.optimizer, OPTIMIZERS)
        self._check_batch_size()
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) or self.max_iter <= 0:
            raise ValueError(f"max_iter {self.max_iter!r} should be an integer >= 1")
        self.early_stop = _lower_choice("early_stop", self.early_stop, EARLY_STOPS)
        if not isinstance(self.decay_sqrt, bool):
            raise ValueError(f"decay_sqrt {self.decay_sqrt!r} not supported, should be bool")
        for nested in (self.init_param, self.encrypt_param, self.encrypted_mode_calculator_param,
                       self.predict_param, self.cv_param):
            nested.check()
        self._check_validation()

    def _check_batch_size(self) -> None:
        size = self.batch_size
        if size != -1 and (isinstance(size, bool) or not isinstance(size, int) or size < MIN_BATCH_SIZE):
            raise ValueError(f"batch_size {size!r} not supported, should be at least {MIN_BATCH_SIZE} "
                             f"or -1 for all data")

    def _check_validation(self) -> None:
        if self.early_stopping_rounds is not None:
            if isinstance(self.early_stopping_rounds, bool) or not isinstance(self.early_stopping_rounds, int) \
                    or self.early_stopping_rounds < 1:
                raise ValueError(f"early_stopping_rounds {self.early_stopping_rounds!r} should be an integer >= 1")
            if self.validation_freqs is None:
                raise ValueError("validation_freqs must be set when early_stopping_rounds is set")
        if self.metrics is not None and not isinstance(self.metrics, list):
            raise ValueError(f"metrics {self.metrics!r} should be a list")
        if not isinstance(self.use_first_metric_only, bool):
            raise ValueError(f"use_first_metric_only {self.use_first_metric_only!r} should be bool")
