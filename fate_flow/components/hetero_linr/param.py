"""Parameters of HeteroLinR: FATE 1.4's ``LinearParam`` (``linear_model.param.LinearModelParamBase``'s
fields and checks, shared with LR and Poisson, plus what LinR adds).

Names, class defaults and checks are FATE's (the registry overlays FATE's linear_regression_param.json,
see ``spec``).
"""
from __future__ import annotations

from fate_flow.components.hetero_lr.param import EncryptedModeCalculatorParam, StochasticQuasiNewtonParam
from fate_flow.components.linear_model.param import LinearModelParamBase, _lower_choice
from fate_flow.components.param import BaseParam

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "sqn")
CALCULATOR_MODES = ("strict", "fast", "balance", "confusion_opt", "confusion_opt_balance")


class RegressionModeCalculatorParam(EncryptedModeCalculatorParam):
    """FATE's EncryptedModeCalculatorParam with every mode FATE 1.4 accepts; every mode encrypts afresh here."""

    def check(self) -> None:
        self.mode = _lower_choice("encrypted_mode_calculator_param.mode", self.mode, CALCULATOR_MODES)
        if self.mode == "balance":
            super().check()


class LinearParam(LinearModelParamBase):
    """Parameters of HeteroLinR with FATE 1.4's class defaults.

    Args (as attributes, besides the shared ones of ``LinearModelParamBase``: penalty, tol, alpha, optimizer,
    batch_size, learning_rate, init_param, max_iter, early_stop, encrypt_param, predict_param (unused),
    cv_param, decay, decay_sqrt, validation_freqs, early_stopping_rounds, metrics ([]), use_first_metric_only,
    stepwise_param):
        optimizer: sgd, rmsprop, adam, adagrad or sqn (``linear_model.sqn``); nesterov_momentum_sgd is
            rejected, as in FATE.
        encrypted_mode_calculator_param: every mode FATE accepts (all encrypt afresh here).
        sqn_param: the sqn optimizer's settings.
    """

    optimizers = OPTIMIZERS

    def __init__(self) -> None:
        super().__init__()
        self.encrypted_mode_calculator_param = RegressionModeCalculatorParam()
        self.sqn_param = StochasticQuasiNewtonParam()

    def nested_params(self) -> list[BaseParam]:
        return super().nested_params() + [self.encrypted_mode_calculator_param]
