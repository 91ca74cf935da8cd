"""Parameters of HomoLR: FATE 1.4's ``HomoLogisticParam`` and the param objects it nests.

Names, class defaults and accepted values are FATE's (``LogisticParam`` plus
``re_encrypt_batches`` and ``aggregate_iters``); the registry overlays FATE's
default_runtime_conf (alpha 0.01, batch_size 320, init_method random_normal, Paillier).
``check()`` normalises case as FATE does (penalty upper case, the other choices lower
case) and raises ValueError naming the parameter. Keys of the example confs that are no
attribute here (``eps``, ``converge_func``) are dropped when the conf is merged, as in FATE:
convergence follows ``early_stop`` and ``tol``.
"""
from __future__ import annotations

from typing import Any

from fate_flow.components.param import BaseParam

PENALTIES = ("L1", "L2", "NONE")
OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd")
EARLY_STOPS = ("diff", "abs", "weight_diff")
INIT_METHODS = ("random_uniform", "random_normal", "ones", "zeros", "const")
MIN_BATCH_SIZE = 10
PAILLIER = "Paillier"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _lower_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValueError(f"{name} {value!r} not supported, should be one of {', '.join(choices)}")
    return value.lower()


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
    """``method`` Paillier or None and ``key_length``, accepted as FATE does; the hosts train in
    the clear here whatever the method (see the package docstring)."""

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
    """FATE's cross-validation settings (``need_cv`` true is refused by HomoLR when it runs)."""

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
    """FATE's stepwise settings (``need_stepwise`` true is refused by HomoLR when it runs)."""

    def __init__(self, score_name: str = "AIC", mode: str = "hetero", role: str = "guest", direction: str = "both",
                 max_step: int = 10, need_stepwise: bool = False) -> None:
        self.score_name = score_name
        self.mode = mode
        self.role = role
        self.direction = direction
        self.max_step = max_step
        self.need_stepwise = need_stepwise


class HomoLogisticParam(BaseParam):
    """Parameters of HomoLR with FATE 1.4's class defaults.

    Args:
        penalty: "L1", "L2" or "none"/None.
        tol: tolerance of ``early_stop``.
        alpha: regularisation strength.
        optimizer: sgd, rmsprop, adam, adagrad or nesterov_momentum_sgd ('sqn' is hetero only).
        batch_size: rows per mini-batch, -1 for all rows (else at least 10).
        learning_rate, decay, decay_sqrt: lr_t = learning_rate / sqrt(1 + decay*t) (or /(1 + decay*t)).
        max_iter: local epochs at most.
        early_stop: "diff" (change of the aggregated loss), "abs" (the loss) or "weight_diff"
            (change of the aggregated weights relative to their norm).
        encrypt_param: Paillier or None; with Paillier FATE allows only sgd and L2/no penalty.
        re_encrypt_batches: FATE's re-encryption period of Paillier hosts (kept in the meta).
        aggregate_iters: local epochs between two aggregations.
        init_param, predict_param, cv_param, stepwise_param: nested settings, see their classes.
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
        self.re_encrypt_batches = 2
        self.predict_param = PredictParam()
        self.cv_param = CrossValidationParam()
        self.decay = 1
        self.decay_sqrt = True
        self.aggregate_iters = 1
        self.multi_class = "ovr"
        self.validation_freqs = None
        self.early_stopping_rounds = None
        self.metrics = ["auc", "ks"]
        self.use_first_metric_only = False
        self.stepwise_param = StepwiseParam()

    def check(self) -> None:
        """Validate and normalise every value; ValueError naming the first bad parameter."""
        if self.penalty is not None:
            if not isinstance(self.penalty, str) or self.penalty.upper() not in PENALTIES:
                raise ValueError(f"penalty {self.penalty!r} not supported, should be 'L1', 'L2' or 'none'")
            self.penalty = self.penalty.upper()
        self._check_numbers()
        self.optimizer = _check_optimizer(self.optimizer)
        if self.batch_size != -1 and (not _is_int(self.batch_size) or self.batch_size < MIN_BATCH_SIZE):
            raise ValueError(f"batch_size {self.batch_size!r} not supported, should be at least {MIN_BATCH_SIZE} "
                             f"or -1 for all data")
        for name in ("max_iter", "aggregate_iters"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < 1:
                raise ValueError(f"{name} {getattr(self, name)!r} not supported, should be an integer >= 1")
        if not _is_int(self.re_encrypt_batches) or self.re_encrypt_batches < 0:
            raise ValueError(f"re_encrypt_batches {self.re_encrypt_batches!r} not supported, "
                             f"should be an integer >= 0")
        self.early_stop = _lower_choice("early_stop", self.early_stop, EARLY_STOPS)
        if not isinstance(self.decay_sqrt, bool):
            raise ValueError(f"decay_sqrt {self.decay_sqrt!r} not supported, should be bool")
        self.multi_class = _lower_choice("multi_class", self.multi_class, ("ovr",))
        for nested in (self.init_param, self.encrypt_param, self.predict_param, self.cv_param):
            nested.check()
        self._check_paillier_limits()
        self._check_validation()

    def _check_numbers(self) -> None:
        for name in ("tol", "alpha", "learning_rate", "decay"):
            if not _is_number(getattr(self, name)):
                raise ValueError(f"{name} {getattr(self, name)!r} not supported, should be int or float")
        if self.alpha < 0:
            raise ValueError(f"alpha {self.alpha!r} should not be negative")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate {self.learning_rate!r} should be positive")
        if self.decay < 0:
            raise ValueError(f"decay {self.decay!r} should not be negative")

    def _check_paillier_limits(self) -> None:
        # FATE's HomoLogisticParam.check: an encrypted host model only supports these.
        if self.encrypt_param.method != PAILLIER:
            return
        if self.optimizer != "sgd":
            raise ValueError(f"optimizer {self.optimizer!r}: Paillier encryption mode (encrypt_param.method) "
                             f"supports 'sgd' only; set encrypt_param.method to None for other optimizers")
        if self.penalty == "L1":
            raise ValueError("penalty 'L1': Paillier encryption mode (encrypt_param.method) supports 'L2' "
                             "penalty or None only")

    def _check_validation(self) -> None:
        if self.early_stopping_rounds is not None:
            if not _is_int(self.early_stopping_rounds) or self.early_stopping_rounds < 1:
                raise ValueError(f"early_stopping_rounds {self.early_stopping_rounds!r} should be an integer >= 1")
            if self.validation_freqs is None:
                raise ValueError("validation_freqs must be set when early_stopping_rounds is set")
        if self.metrics is not None and not isinstance(self.metrics, list):
            raise ValueError(f"metrics {self.metrics!r} should be a list")
        if not isinstance(self.use_first_metric_only, bool):
            raise ValueError(f"use_first_metric_only {self.use_first_metric_only!r} should be bool")


def _check_optimizer(value: Any) -> str:
    if isinstance(value, str) and value.lower() == "sqn":
        raise ValueError("optimizer 'sqn' is supported for hetero mode only")
    return _lower_choice("optimizer", value, OPTIMIZERS)
