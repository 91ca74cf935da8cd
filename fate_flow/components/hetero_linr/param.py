"""Parameters of HeteroLinR: FATE 1.4's ``LinearParam`` and the param objects it nests.

Names, class defaults and checks are FATE's (the registry overlays FATE's
linear_regression_param.json, see ``spec``). Values FATE accepts but this implementation does
not run (the ``sqn`` optimizer, cross validation, stepwise, validation during training) are
refused or ignored when the component starts, not here, so that a conf valid for FATE parses.
"""
from __future__ import annotations

from fate_flow.components.hetero_lr.param import EncryptedModeCalculatorParam, StochasticQuasiNewtonParam
from fate_flow.components.linear_model.param import (
    EARLY_STOPS, PENALTIES, CrossValidationParam, EncryptParam, InitParam, PredictParam, StepwiseParam, _is_int,
    _lower_choice, _upper_choice, check_batch_size, check_rates, check_validation,
)
from fate_flow.components.param import BaseParam

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "sqn")
CALCULATOR_MODES = ("strict", "fast", "balance", "confusion_opt", "confusion_opt_balance")
MIN_KEY_LENGTH = 128


class RegressionModeCalculatorParam(EncryptedModeCalculatorParam):
    """FATE's EncryptedModeCalculatorParam with every mode FATE 1.4 accepts; every mode encrypts afresh here."""

    def check(self) -> None:
        self.mode = _lower_choice("encrypted_mode_calculator_param.mode", self.mode, CALCULATOR_MODES)
        if self.mode == "balance":
            super().check()


class RegressionStepwiseParam(StepwiseParam):
    """FATE's StepwiseParam with ``nvmin`` (2) and ``nvmax`` (None), which LinR/Poisson confs may set."""

    def __init__(self, *args, nvmin: int = 2, nvmax: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not hasattr(self, "nvmin"):
            self.nvmin = nvmin
        if not hasattr(self, "nvmax"):
            self.nvmax = nvmax


class LinearParam(BaseParam):
    """Parameters of HeteroLinR with FATE 1.4's class defaults.

    Args (as attributes):
        penalty: "L1", "L2" or "none"/None.  tol: convergence tolerance.  alpha: penalty strength.
        optimizer: sgd, rmsprop, adam, adagrad or sqn (sqn is refused at run; nesterov_momentum_sgd
            is rejected, as in FATE).
        batch_size: -1 (all rows) or at least 10.  learning_rate, decay, decay_sqrt: the decayed rate.
        max_iter: iterations at most.  early_stop: diff, abs or weight_diff.
        init_param, encrypt_param, encrypted_mode_calculator_param, predict_param (unused), cv_param,
        sqn_param, stepwise_param: nested settings.
        validation_freqs, early_stopping_rounds, metrics, use_first_metric_only: accepted as FATE does.
    """

    optimizers = OPTIMIZERS

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
        self.encrypted_mode_calculator_param = RegressionModeCalculatorParam()
        self.predict_param = PredictParam()
        self.cv_param = CrossValidationParam()
        self.decay = 1
        self.decay_sqrt = True
        self.validation_freqs = None
        self.early_stopping_rounds = None
        self.metrics = []
        self.use_first_metric_only = False
        self.stepwise_param = RegressionStepwiseParam()
        self.sqn_param = StochasticQuasiNewtonParam()

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
        if self.encrypt_param.method is None:
            raise ValueError("encrypt_param.method None not supported, should be 'Paillier'")
        if self.encrypt_param.key_length < MIN_KEY_LENGTH or self.encrypt_param.key_length % 2:
            raise ValueError(f"encrypt_param.key_length {self.encrypt_param.key_length!r} not supported, "
                             f"should be an even integer >= {MIN_KEY_LENGTH}")
        check_validation(self)

    def nested_params(self) -> list:
        return [self.init_param, self.encrypt_param, self.encrypted_mode_calculator_param, self.predict_param,
                self.cv_param]
