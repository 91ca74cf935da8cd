"""Parameters of HeteroLR: FATE 1.4's ``HeteroLogisticParam`` and the param objects it nests.

Names, defaults and accepted values are FATE's. ``check()`` normalises case the way FATE
does (penalty upper case, optimizer/early_stop/init_method lower case) and raises
ValueError naming the parameter. ``sqn_param`` and ``stepwise_param`` are checked when the
``sqn`` optimizer or stepwise is asked for, as FATE does.
"""
from __future__ import annotations

from fate_flow.components.linear_model.param import (
    EARLY_STOPS, PENALTIES, LogisticParamBase, _is_number, _lower_choice, _upper_choice, check_batch_size,
    check_rates, check_validation,
)
from fate_flow.components.param import BaseParam

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd", "sqn")
MIN_KEY_LENGTH = 128


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


class StochasticQuasiNewtonParam(BaseParam):
    """Settings of FATE's ``sqn`` optimizer (``linear_model.sqn``; checked when it runs)."""

    def __init__(self, update_interval_L: int = 3, memory_M: int = 5, sample_size: int = 5000,
                 random_seed: int | None = None) -> None:
        self.update_interval_L = update_interval_L
        self.memory_M = memory_M
        self.sample_size = sample_size
        self.random_seed = random_seed


class HeteroLogisticParam(LogisticParamBase):
    """Parameters of HeteroLR with FATE 1.4's class defaults (the registry overlays FATE's
    default_runtime_conf: alpha 0.01, batch_size 320, init_method random_normal).

    Args:
        penalty: "L1", "L2" or "none"/None.
        tol: convergence tolerance of ``early_stop``.
        alpha: regularisation strength.
        optimizer: sgd, rmsprop, adam, adagrad, nesterov_momentum_sgd or sqn.
        batch_size: rows per mini-batch, -1 for the whole data (else at least 10).
        learning_rate, decay, decay_sqrt: lr_t = learning_rate / sqrt(1 + decay*t) (or /(1 + decay*t)).
        max_iter: iterations at most.
        early_stop: "diff" (loss change), "abs" (loss) or "weight_diff" (norm of the update).
        init_param, encrypt_param, encrypted_mode_calculator_param, predict_param, cv_param,
        sqn_param, stepwise_param: nested settings, see their classes.
        multi_class: "ovr" (one-vs-rest, decided from the labels).
        validation_freqs, early_stopping_rounds, metrics, use_first_metric_only: validation during
            training and early stopping (``model_selection.validation_strategy``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.encrypted_mode_calculator_param = EncryptedModeCalculatorParam()
        self.sqn_param = StochasticQuasiNewtonParam()

    def check(self) -> None:
        """Validate and normalise every value; ValueError naming the first bad parameter."""
        if self.penalty is None:
            self.penalty = "NONE"
        self.penalty = _upper_choice("penalty", self.penalty, PENALTIES)
        check_rates(self)
        self.optimizer = _lower_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_batch_size(self.batch_size)
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) or self.max_iter <= 0:
            raise ValueError(f"max_iter {self.max_iter!r} should be an integer >= 1")
        self.early_stop = _lower_choice("early_stop", self.early_stop, EARLY_STOPS)
        if not isinstance(self.decay_sqrt, bool):
            raise ValueError(f"decay_sqrt {self.decay_sqrt!r} not supported, should be bool")
        for nested in (self.init_param, self.encrypt_param, self.encrypted_mode_calculator_param,
                       self.predict_param, self.cv_param):
            nested.check()
        self._check_key_length()
        check_validation(self)

    def _check_key_length(self) -> None:
        """The Paillier key HeteroLR makes needs an even length of at least ``MIN_KEY_LENGTH`` bits."""
        if self.encrypt_param.key_length < MIN_KEY_LENGTH or self.encrypt_param.key_length % 2:
            raise ValueError(f"encrypt_param.key_length {self.encrypt_param.key_length!r} not supported, "
                             f"should be an even integer >= {MIN_KEY_LENGTH}")
