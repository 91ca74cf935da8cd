"""HeteroNNParam and HomoNNParam with FATE 1.4's names, defaults and checks (components_more.md 3.8, 3.9)."""
from __future__ import annotations

from typing import Any

from fate_flow.components.linear_model.param import (
    CrossValidationParam, EncryptParam, PredictParam, _is_int, _is_number, check_validation,
)
from fate_flow.components.param import BaseParam

TASK_TYPES = ("classification", "regression")
HOMO_CONFIG_TYPES = ("nn", "keras", "pytorch")
HOMO_EARLY_STOPS = ("diff", "abs", "weight_diff")


def optimizer_parts(name: str, value: Any) -> tuple[str, dict[str, Any]]:
    """(optimizer name, kwargs) of FATE's ``optimizer``: a name, or ``{"optimizer": name, **kwargs}``."""
    if isinstance(value, str) and value:
        return value, {}
    if isinstance(value, dict) and isinstance(value.get("optimizer"), str):
        kwargs = {k: v for k, v in value.items() if k != "optimizer"}
        return value["optimizer"], kwargs
    raise ValueError(f"{name} {value!r} not supported, should be a name such as 'SGD' or "
                     f"{{\"optimizer\": \"SGD\", \"learning_rate\": 0.01}}")


class EncryptedModeCalculatorParam(BaseParam):
    """FATE's re-use of encryptions; HeteroNN's default mode is "confusion_opt". Every mode encrypts afresh here."""

    def __init__(self, mode: str = "confusion_opt", re_encrypted_rate: float = 1) -> None:
        self.mode = mode
        self.re_encrypted_rate = re_encrypted_rate

    def check(self) -> None:
        modes = ("strict", "fast", "balance", "confusion_opt", "confusion_opt_balance")
        if self.mode not in modes:
            raise ValueError(f"encrypted_model_calculator_param.mode {self.mode!r} not supported, "
                             f"should be one of {modes}")
        if not _is_number(self.re_encrypted_rate) or not 0 <= self.re_encrypted_rate <= 1:
            raise ValueError(f"encrypted_model_calculator_param.re_encrypted_rate {self.re_encrypted_rate!r} "
                             f"should be a number in [0, 1]")


def _check_define(name: str, value: Any, kinds: tuple[type, ...]) -> None:
    if value is not None and not isinstance(value, kinds):
        raise ValueError(f"{name} should be a {' or '.join(k.__name__ for k in kinds)}, got {type(value).__name__}")


class HeteroNNParam(BaseParam):
    """FATE 1.4's HeteroNNParam.

    Attributes:
        task_type: classification or regression.
        config_type: only "keras" (the nn defines are Keras Sequential JSON).
        bottom_nn_define, interactive_layer_define, top_nn_define: the Sequential JSON dicts;
            the guest's bottom model is optional, the host has only a bottom model.
        interactive_layer_lr: the plain SGD step of the interactive layer's weights.
        optimizer: the bottom and top models' optimizer (name or {"optimizer": name, **kwargs}).
        loss: a Keras loss name (binary_crossentropy, categorical_crossentropy, mean_squared_error, ...).
        epochs, batch_size (-1 = all rows, else >= 10), early_stop ("diff" on the epoch loss), tol.
        encrypt_param: Paillier and its key length (the host's key of the interactive layer).
        encrypted_model_calculator_param (sic, as FATE names the attribute), predict_param, cv_param,
        validation_freqs, early_stopping_rounds, metrics, use_first_metric_only: as FATE.
    """

    def __init__(self) -> None:
        self.task_type = "classification"
        self.config_type = "keras"
        self.bottom_nn_define = None
        self.interactive_layer_define = None
        self.interactive_layer_lr = 0.9
        self.top_nn_define = None
        self.optimizer = "SGD"
        self.loss = None
        self.epochs = 100
        self.batch_size = -1
        self.early_stop = "diff"
        self.tol = 1e-5
        self.encrypt_param = EncryptParam()
        self.encrypted_model_calculator_param = EncryptedModeCalculatorParam(mode="confusion_opt")
        self.predict_param = PredictParam()
        self.cv_param = CrossValidationParam()
        self.validation_freqs = None
        self.early_stopping_rounds = None
        self.metrics = []
        self.use_first_metric_only = True

    def check(self) -> None:
        """ValueError naming the first bad field."""
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"task_type {self.task_type!r} not supported, should be one of {TASK_TYPES}")
        if self.config_type != "keras":
            raise ValueError(f"config_type {self.config_type!r} not supported, HeteroNN accepts 'keras' only")
        for name in ("bottom_nn_define", "interactive_layer_define", "top_nn_define"):
            _check_define(name, getattr(self, name), (dict,))
        if not _is_number(self.interactive_layer_lr):
            raise ValueError(f"interactive_layer_lr {self.interactive_layer_lr!r} should be a number")
        optimizer_parts("optimizer", self.optimizer)
        if self.loss is not None and not isinstance(self.loss, str):
            raise ValueError(f"loss {self.loss!r} should be a loss name such as 'binary_crossentropy'")
        if not _is_int(self.epochs) or self.epochs <= 0:
            raise ValueError(f"epochs {self.epochs!r} should be a positive integer")
        if not _is_int(self.batch_size) or (self.batch_size != -1 and self.batch_size < 10):
            raise ValueError(f"batch_size {self.batch_size!r} not supported, should be -1 or an integer >= 10")
        if self.early_stop != "diff":
            raise ValueError(f"early_stop {self.early_stop!r} not supported, HeteroNN accepts 'diff' only")
        if not _is_number(self.tol):
            raise ValueError(f"tol {self.tol!r} should be a number")
        for nested in (self.encrypt_param, self.encrypted_model_calculator_param, self.predict_param, self.cv_param):
            nested.check()
        if self.metrics is None:
            self.metrics = []
        check_validation(self)


class HomoNNParam(BaseParam):
    """FATE 1.4's HomoNNParam.

    Attributes:
        secure_aggregate: kept in the model; the aggregation is always masked, as in FATE.
        aggregate_every_n_epoch: local epochs between two aggregations.
        config_type: "nn" (FATE's layer list), "keras" (Sequential JSON) or "pytorch" (pytorch layer list).
        nn_define: the layers in that form.
        optimizer: name or {"optimizer": name, **kwargs}; loss: a Keras (or pytorch) loss name.
        metrics: str or list of names, kept in the model.
        max_iter: aggregation rounds at most; batch_size: -1 for all rows.
        early_stop: "diff" | "abs" | "weight_diff", or {"early_stop": ..., "eps": ...} (eps 1e-4).
        encode_label: one-hot labels (more than two classes).
        predict_param, cv_param: as FATE.
    """

    def __init__(self) -> None:
        self.secure_aggregate = True
        self.aggregate_every_n_epoch = 1
        self.config_type = "nn"
        self.nn_define = None
        self.optimizer = "SGD"
        self.loss = None
        self.metrics = None
        self.max_iter = 100
        self.batch_size = -1
        self.early_stop = "diff"
        self.encode_label = False
        self.predict_param = PredictParam()
        self.cv_param = CrossValidationParam()

    def check(self) -> None:
        """Validate and normalise (early_stop to a dict, metrics to a list, nn_define to [] when unset)."""
        if not isinstance(self.secure_aggregate, bool):
            raise ValueError(f"secure_aggregate {self.secure_aggregate!r} should be bool")
        if not _is_int(self.aggregate_every_n_epoch) or self.aggregate_every_n_epoch < 1:
            raise ValueError(f"aggregate_every_n_epoch {self.aggregate_every_n_epoch!r} should be an integer >= 1")
        if self.config_type not in HOMO_CONFIG_TYPES:
            raise ValueError(f"config_type {self.config_type!r} not supported, should be one of {HOMO_CONFIG_TYPES}")
        if self.nn_define is None:
            self.nn_define = []
        _check_define("nn_define", self.nn_define, (dict,) if self.config_type == "keras" else (list,))
        optimizer_parts("optimizer", self.optimizer)
        if self.loss is not None and not isinstance(self.loss, str):
            raise ValueError(f"loss {self.loss!r} should be a loss name such as 'binary_crossentropy'")
        if isinstance(self.metrics, str):
            self.metrics = [self.metrics]
        if self.metrics is not None and not isinstance(self.metrics, list):
            raise ValueError(f"metrics {self.metrics!r} should be a name or a list of names")
        if not _is_int(self.max_iter) or self.max_iter < 1:
            raise ValueError(f"max_iter {self.max_iter!r} should be a positive integer")
        if not _is_int(self.batch_size) or (self.batch_size != -1 and self.batch_size < 1):
            raise ValueError(f"batch_size {self.batch_size!r} should be -1 or a positive integer")
        self.early_stop = _early_stop(self.early_stop)
        if not isinstance(self.encode_label, bool):
            raise ValueError(f"encode_label {self.encode_label!r} should be bool")
        self.predict_param.check()
        self.cv_param.check()


def _early_stop(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = {"early_stop": value}
    if not isinstance(value, dict):
        raise ValueError(f"early_stop {value!r} should be a name or {{\"early_stop\": name, \"eps\": number}}")
    name = value.get("early_stop", value.get("converge_func", "diff"))
    eps = value.get("eps", 1e-4)
    if name not in HOMO_EARLY_STOPS:
        raise ValueError(f"early_stop {name!r} not supported, should be one of {HOMO_EARLY_STOPS}")
    if not _is_number(eps):
        raise ValueError(f"early_stop.eps {eps!r} should be a number")
    return {"early_stop": name, "eps": float(eps)}
