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

from fate_flow.components.linear_model.param import (
    EARLY_STOPS, PAILLIER, PENALTIES, LogisticParamBase, _is_int, _lower_choice, _upper_choice, check_batch_size,
    check_rates, check_validation,
)

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd")


class HomoLogisticParam(LogisticParamBase):
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
        multi_class: "ovr" (HomoLR is binary only here, as FATE's).
        validation_freqs, metrics, use_first_metric_only: validation during training
            (``model_selection.validation_strategy``); early_stopping_rounds is refused in homo mode, as FATE does.
    """

    def __init__(self) -> None:
        super().__init__()
        self.re_encrypt_batches = 2
        self.aggregate_iters = 1

    def check(self) -> None:
        """Validate and normalise every value; ValueError naming the first bad parameter."""
        if self.penalty is not None:
            self.penalty = _upper_choice("penalty", self.penalty, PENALTIES)
        check_rates(self)
        if self.decay < 0:
            raise ValueError(f"decay {self.decay!r} should not be negative")
        self.optimizer = _check_optimizer(self.optimizer)
        check_batch_size(self.batch_size)
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
        check_validation(self)

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


def _check_optimizer(value: Any) -> str:
    if isinstance(value, str) and value.lower() == "sqn":
        raise ValueError("optimizer 'sqn' is supported for hetero mode only")
    return _lower_choice("optimizer", value, OPTIMIZERS)
