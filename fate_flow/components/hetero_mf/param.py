"""HeteroMatrixParam (FATE 1.4.1's FederatedRec MatrixFactorizationParam names, defaults and checks)."""
from __future__ import annotations

from fate_flow.components.linear_model.param import (
    INIT_METHODS, CrossValidationParam, PredictParam, _is_number,
)
from fate_flow.components.param import BaseParam

# Keras optimizer names FATE's confs use -> this package's optimizer rules
KERAS_OPTIMIZERS = {"SGD": "sgd", "RMSprop": "rmsprop", "Adam": "adam", "Adagrad": "adagrad"}


class MFInitParam(BaseParam):
    def __init__(self, embed_dim: int = 10, init_method: str = "random_normal", random_seed: int | None = None):
        self.embed_dim = embed_dim
        self.init_method = init_method
        self.random_seed = random_seed

    def check(self) -> None:
        if isinstance(self.embed_dim, bool) or not isinstance(self.embed_dim, int) or self.embed_dim <= 0:
            raise ValueError(f"init_param.embed_dim should be a positive integer, got {self.embed_dim!r}")
        if self.init_method not in INIT_METHODS:
            raise ValueError(f"init_param.init_method {self.init_method!r} not supported, should be one of "
                             f"{', '.join(INIT_METHODS)}")


class HeteroMatrixParam(BaseParam):
    def __init__(self):
        self.secure_aggregate = True
        self.aggregate_every_n_epoch = 1
        self.early_stop = "diff"
        self.optimizer = "SGD"
        self.batch_size = -1
        self.init_param = MFInitParam()
        self.max_iter = 100
        self.predict_param = PredictParam()
        self.cv_param = CrossValidationParam()
        self.validation_freqs = None
        self.metrics = None
        self.loss = "mse"
        self.aggregate_iters = 1

    def optimizer_spec(self) -> tuple[str, dict]:
        """(Keras optimizer name, its keyword arguments) from a name or ``{"optimizer": name, **kwargs}``."""
        if isinstance(self.optimizer, str):
            return self.optimizer, {}
        options = dict(self.optimizer)
        return options.pop("optimizer", "SGD"), options

    def early_stop_spec(self) -> tuple[str, float]:
        if isinstance(self.early_stop, dict):
            return self.early_stop.get("early_stop", "diff"), float(self.early_stop.get("eps", 1e-4))
        return self.early_stop, 1e-4

    def check(self) -> None:
        for name in ("aggregate_every_n_epoch", "max_iter", "aggregate_iters"):
            value = getattr(self, name, 1)  # HeteroGMFParam has no aggregate_iters
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} should be a positive integer, got {value!r}")
        if not isinstance(self.secure_aggregate, bool):
            raise ValueError(f"secure_aggregate should be true or false, got {self.secure_aggregate!r}")
        if not isinstance(self.optimizer, (str, dict)):
            raise ValueError(f"optimizer should be a Keras optimizer name or a dict with one, got {self.optimizer!r}")
        name, options = self.optimizer_spec()
        if name not in KERAS_OPTIMIZERS:
            raise ValueError(f"optimizer {name!r} not supported, should be one of {', '.join(KERAS_OPTIMIZERS)}")
        for key in ("learning_rate", "decay"):
            if key in options and (not _is_number(options[key]) or options[key] < 0):
                raise ValueError(f"optimizer.{key} should be a number >= 0, got {options[key]!r}")
        early_stop, _ = self.early_stop_spec()
        if early_stop not in ("diff", "abs"):
            raise ValueError(f"early_stop should be diff or abs, got {early_stop!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or \
                (self.batch_size != -1 and self.batch_size <= 0):
            raise ValueError(f"batch_size should be -1 or a positive integer, got {self.batch_size!r}")
        if self.loss != "mse":
            raise ValueError(f"loss should be mse, got {self.loss!r}")
        self.init_param.check()
        self.predict_param.check()
        if self.cv_param.need_cv:
            raise ValueError("cv_param.need_cv: cross validation is not supported by FederatedRec's modules here")
