"""HeteroFactorizationParam (FATE 1.4.1's FederatedRec names, defaults and checks)."""
from __future__ import annotations

from fate_flow.components.linear_model.param import (
    EARLY_STOPS, PAILLIER, InitParam, LogisticParamBase, _is_number,
)
from fate_flow.components.param import BaseParam

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd")
PENALTIES = ("L1", "L2", "none")


class FMInitParam(InitParam):
    """InitParam plus ``embed_size``, the number of latent factors per feature."""

    def __init__(self, embed_size: int = 10, **kwargs) -> None:
        super().__init__(**kwargs)
        self.embed_size = embed_size

    def check(self) -> None:
        super().check()
        if isinstance(self.embed_size, bool) or not isinstance(self.embed_size, int) or self.embed_size <= 0:
            raise ValueError(f"init_param.embed_size should be a positive integer, got {self.embed_size!r}")


class EncryptedModeCalculatorParam(BaseParam):
    def __init__(self, mode: str = "strict", re_encrypted_rate: float = 1) -> None:
        self.mode = mode
        self.re_encrypted_rate = re_encrypted_rate


class FactorizationParam(LogisticParamBase):
    """What HeteroFM's and HomoFM's parameters share (FATE's FactorizationParam): LR's settings with
    ``FMInitParam`` and ``clip_gradient``, without LR's validation and stepwise settings."""

    def __init__(self):
        super().__init__()
        del self.early_stopping_rounds, self.metrics, self.use_first_metric_only, self.stepwise_param
        self.init_param = FMInitParam()
        self.clip_gradient = None

    def check(self) -> None:
        if self.penalty not in PENALTIES and str(self.penalty).upper() not in ("L1", "L2", "NONE"):
            raise ValueError(f"penalty should be L1, L2 or none, got {self.penalty!r}")
        for name in ("tol", "alpha"):
            if not _is_number(getattr(self, name)):
                raise ValueError(f"{name} should be a number, got {getattr(self, name)!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer should be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or \
                (self.batch_size != -1 and self.batch_size < 10):
            raise ValueError(f"batch_size should be -1 or at least 10, got {self.batch_size!r}")
        if not _is_number(self.learning_rate) or self.learning_rate <= 0:
            raise ValueError(f"learning_rate should be > 0, got {self.learning_rate!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) or self.max_iter <= 0:
            raise ValueError(f"max_iter should be a positive integer, got {self.max_iter!r}")
        if self.early_stop not in EARLY_STOPS:
            raise ValueError(f"early_stop should be one of {', '.join(EARLY_STOPS)}, got {self.early_stop!r}")
        if not _is_number(self.decay) or self.decay < 0:
            raise ValueError(f"decay should be a number >= 0, got {self.decay!r}")
        if not isinstance(self.decay_sqrt, bool):
            raise ValueError(f"decay_sqrt should be true or false, got {self.decay_sqrt!r}")
        self.init_param.check()
        self.encrypt_param.check()
        self.predict_param.check()
        if self.cv_param.need_cv:
            raise ValueError(f"cv_param.need_cv: cross validation is not supported by this {self.module}")

    module = "FM"


class HeteroFactorizationParam(FactorizationParam):
    module = "HeteroFM"

    def __init__(self):
        super().__init__()
        self.encrypted_mode_calculator_param = EncryptedModeCalculatorParam()

    def check(self) -> None:
        super().check()
        if self.encrypt_param.method != PAILLIER:
            raise ValueError("encrypt_param.method should be Paillier: HeteroFM encrypts the host's forward values")


class HomoFactorizationParam(FactorizationParam):
    module = "HomoFM"

    def __init__(self):
        super().__init__()
        self.aggregate_iters = 1

    def check(self) -> None:
        super().check()
        if isinstance(self.aggregate_iters, bool) or not isinstance(self.aggregate_iters, int) or \
                self.aggregate_iters <= 0:
            raise ValueError(f"aggregate_iters should be a positive integer, got {self.aggregate_iters!r}")
