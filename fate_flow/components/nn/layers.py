"""FATE 1.4's NN definitions as torch modules, and its loss and optimizer names as torch's.

Imported only after ``torch_support.require_torch`` succeeded. Three definition forms
(components_more.md 3.10): the Keras ``Sequential.to_json()`` dict (``config_type`` keras),
FATE's "nn" list ``[{"layer": "Dense", "units": 6, ...}]`` and the pytorch list
``[{"layer": "Linear", "config": [in, out]}, {"layer": "Relu"}]``. The first two become the
same layer list, built with the input width taken from the data (as FATE sets the first
layer's input shape), Keras semantics kept: a Dense kernel is (in, units) in Keras and
(units, in) in torch, its initializers are Keras's, its activation part of the layer.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

# Keras activation names -> torch modules (None/"linear": identity)
ACTIVATIONS = {
    "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "elu": nn.ELU, "selu": nn.SELU,
    "softplus": nn.Softplus, "softsign": nn.Softsign, "exponential": None, "linear": nn.Identity,
    "hard_sigmoid": None, "softmax": None, "relu6": nn.ReLU6, "swish": nn.SiLU, "gelu": nn.GELU,
}
# the pytorch list's activation layers
TORCH_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "selu": nn.SELU, "leakyrelu": nn.LeakyReLU,
                     "tanh": nn.Tanh, "softmax": None, "logsoftmax": None}


class Softmax(nn.Module):
    """Softmax over the last axis (Keras's default)."""

    def forward(self, x):
        return torch.softmax(x, dim=-1)


class LogSoftmax(nn.Module):
    def forward(self, x):
        return torch.log_softmax(x, dim=-1)


class HardSigmoid(nn.Module):
    """Keras 2.2's hard sigmoid: clip(0.2 x + 0.5, 0, 1)."""

    def forward(self, x):
        return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


class Exponential(nn.Module):
    def forward(self, x):
        return torch.exp(x)


def activation(name: Any) -> nn.Module:
    """The torch module of a Keras activation name (None means linear)."""
    if name is None:
        return nn.Identity()
    if isinstance(name, dict):  # a serialized activation object
        name = (name.get("config") or {}).get("activation", name.get("class_name"))
    key = str(name).lower()
    special = {"softmax": Softmax, "hard_sigmoid": HardSigmoid, "exponential": Exponential}
    if key in special:
        return special[key]()
    if key not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} not supported, should be one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[key]()


# ---- definitions -> a normalised layer list ----------------------------------------------

def keras_layers(define: dict, what: str) -> list[tuple[str, dict]]:
    """[(class_name, config)] of a Keras Sequential JSON dict."""
    if not isinstance(define, dict) or define.get("class_name") != "Sequential":
        raise ValueError(f"{what} should be a Keras Sequential JSON ({{\"class_name\": \"Sequential\", ...}})")
    config = define.get("config")
    layers = config.get("layers") if isinstance(config, dict) else config  # Keras 2.2 also wrote a plain list
    if not isinstance(layers, list) or not layers:
        raise ValueError(f"{what} has no layers")
    out = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
            raise ValueError(f"{what} layer {i} should be {{\"class_name\": ..., \"config\": {{...}}}}")
        out.append((layer["class_name"], dict(layer.get("config") or {})))
    return out


def fate_nn_layers(define: list, what: str) -> list[tuple[str, dict]]:
    """[(class_name, config)] of FATE's "nn" list ``[{"layer": "Dense", "units": 6, ...}]``."""
    out = []
    for i, layer in enumerate(define):
        if not isinstance(layer, dict) or not isinstance(layer.get("layer"), str):
            raise ValueError(f"{what} item {i} should be {{\"layer\": \"Dense\", ...}}")
        name = {"dense": "Dense", "dropout": "Dropout", "flatten": "Flatten"}.get(layer["layer"].lower(),
                                                                               layer["layer"])
        out.append((name, {k: v for k, v in layer.items() if k != "layer"}))
    if not out:
        raise ValueError(f"{what} has no layers")
    return out


# ---- building -----------------------------------------------------------------------------

def build_keras(layers: list[tuple[str, dict]], input_dim: int, seed: int, what: str) -> tuple[nn.Sequential, int]:
    """(the model, its output width) of a Keras-style layer list over ``input_dim`` inputs.

    ``seed`` seeds the random initializers, so that every party building the same
    definition gets the same weights (and a central reference can too).
    """
    generator = torch.Generator().manual_seed(int(seed))
    modules: list[nn.Module] = []
    width = int(input_dim)
    for i, (name, config) in enumerate(layers):
        key = name.lower()
        if key == "dense":
            dense, width = _dense(config, width, generator, f"{what} layer {i} (Dense)")
            modules += dense
        elif key == "dropout":
            modules.append(nn.Dropout(float(config.get("rate", 0.5))))
        elif key == "flatten":
            modules.append(nn.Flatten())
        elif key == "activation":
            modules.append(activation(config.get("activation")))
        elif key == "inputlayer":
            continue
        else:
            raise ValueError(f"{what} layer {i}: {name} is not supported here (Dense, Dropout, Flatten, "
                             f"Activation are)")
    return nn.Sequential(*modules), width


def _dense(config: dict, width: int, generator, what: str) -> tuple[list[nn.Module], int]:
    units = config.get("units")
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise ValueError(f"{what}: units {units!r} should be a positive integer")
    for regularizer in ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                        "bias_constraint"):
        if config.get(regularizer) is not None:
            raise ValueError(f"{what}: {regularizer} is not supported here, set it to null")
    use_bias = bool(config.get("use_bias", True))
    linear = nn.Linear(width, units, bias=use_bias)
    with torch.no_grad():
        kernel = initial_values(config.get("kernel_initializer", "glorot_uniform"), (width, units), generator, what)
        linear.weight.copy_(torch.as_tensor(kernel.T, dtype=torch.float32))
        if use_bias:
            bias = initial_values(config.get("bias_initializer", "zeros"), (units,), generator, what)
            linear.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return [linear, activation(config.get("activation"))], units


def initial_values(spec: Any, shape: tuple[int, ...], generator, what: str) -> np.ndarray:
    """Keras initializer ``spec`` (a name or {"class_name", "config"}) drawn for a Keras-shaped tensor."""
    if isinstance(spec, str):
        name, config = spec, {}
    elif isinstance(spec, dict):
        name, config = str(spec.get("class_name", "")), dict(spec.get("config") or {})
    else:
        raise ValueError(f"{what}: initializer {spec!r} should be a name or {{\"class_name\", \"config\"}}")
    key = name.lower().replace("_", "")
    fan_in = shape[0] if len(shape) > 1 else shape[0]
    fan_out = shape[-1]
    if config.get("seed") is not None:
        generator = torch.Generator().manual_seed(int(config["seed"]))

    def uniform(limit: float) -> np.ndarray:
        return ((torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * limit).numpy()

    def normal(std: float, truncated: bool = False) -> np.ndarray:
        values = torch.randn(shape, generator=generator, dtype=torch.float64)
        if truncated:  # redraw outside two standard deviations, as a truncated normal does
            for _ in range(100):
                bad = values.abs() > 2
                if not bad.any():
                    break
                values[bad] = torch.randn(int(bad.sum()), generator=generator, dtype=torch.float64)
        return (values * std).numpy()

    if key == "zeros":
        return np.zeros(shape)
    if key == "ones":
        return np.ones(shape)
    if key == "constant":
        return np.full(shape, float(config.get("value", 0.0)))
    if key == "randomuniform":
        low, high = float(config.get("minval", -0.05)), float(config.get("maxval", 0.05))
        return low + (uniform(1.0) + 1) / 2 * (high - low)
    if key in ("randomnormal", "truncatednormal"):
        return float(config.get("mean", 0.0)) + normal(float(config.get("stddev", 0.05)), key == "truncatednormal")
    scaled = {"glorotuniform": ("fan_avg", "uniform"), "glorotnormal": ("fan_avg", "normal"),
              "heuniform": ("fan_in", "uniform", 2.0), "henormal": ("fan_in", "normal", 2.0),
              "lecununiform": ("fan_in", "uniform"), "lecunnormal": ("fan_in", "normal")}
    if key == "variancescaling":
        mode, dist, scale = config.get("mode", "fan_in"), config.get("distribution", "truncated_normal"), \
            float(config.get("scale", 1.0))
    elif key in scaled:
        mode, dist, *rest = scaled[key]
        scale = rest[0] if rest else 1.0
    else:
        raise ValueError(f"{what}: initializer {name!r} not supported")
    n = {"fan_in": fan_in, "fan_out": fan_out}.get(mode, (fan_in + fan_out) / 2)
    variance = scale / max(1.0, n)
    if dist == "uniform":
        return uniform(math.sqrt(3 * variance))
    # Keras's truncated normal: stddev corrected for the truncation at two deviations
    return normal(math.sqrt(variance) / (0.87962566103423978 if dist != "untruncated_normal" else 1.0),
                  truncated=dist != "untruncated_normal")


def build_pytorch(define: list, input_dim: int, seed: int, what: str) -> tuple[nn.Sequential, int]:
    """FATE's pytorch list: Linear {"config": [in, out]}, activations, Dropout, BatchNorm."""
    torch.manual_seed(int(seed))
    modules: list[nn.Module] = []
    width = int(input_dim)
    for i, layer in enumerate(define):
        if not isinstance(layer, dict) or not isinstance(layer.get("layer"), str):
            raise ValueError(f"{what} item {i} should be {{\"layer\": ..., \"type\": ...}}")
        key, config = layer["layer"].lower(), layer.get("config")
        if key == "linear":
            if not isinstance(config, list) or len(config) != 2:
                raise ValueError(f"{what} item {i} (Linear): config should be [in, out]")
            modules.append(nn.Linear(width, int(config[1])))  # FATE writes the in width; the data decides it
            width = int(config[1])
        elif key in TORCH_ACTIVATIONS:
            modules.append({"softmax": Softmax, "logsoftmax": LogSoftmax}.get(key, TORCH_ACTIVATIONS[key])())
        elif key == "dropout":
            modules.append(nn.Dropout(float(config[0]) if isinstance(config, list) and config else 0.5))
        elif key == "batchnorm1d" or key == "batchnorm2d":
            modules.append(nn.BatchNorm1d(width))
        else:
            raise ValueError(f"{what} item {i}: layer {layer['layer']!r} is not supported here")
    return nn.Sequential(*modules), width


def build_model(config_type: str, define: Any, input_dim: int, seed: int, what: str) -> tuple[nn.Sequential, int]:
    """A model of any of the three definition forms (keras dict, "nn" list, pytorch list)."""
    if config_type == "keras":
        return build_keras(keras_layers(define, what), input_dim, seed, what)
    if config_type == "pytorch":
        return build_pytorch(define, input_dim, seed, what)
    return build_keras(fate_nn_layers(define, what), input_dim, seed, what)


# ---- losses -------------------------------------------------------------------------------

_EPSILON = 1e-7  # Keras clips probabilities to [eps, 1 - eps] before taking logs


def _binary_crossentropy(p, y):
    p = torch.clamp(p, _EPSILON, 1 - _EPSILON)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


def _categorical_crossentropy(p, y):
    p = p / p.sum(dim=-1, keepdim=True)
    return -(y * torch.log(torch.clamp(p, _EPSILON, 1 - _EPSILON))).sum(dim=-1).mean()


def _sparse_categorical_crossentropy(p, y):
    p = torch.clamp(p, _EPSILON, 1 - _EPSILON)
    return nn.functional.nll_loss(torch.log(p), y.reshape(-1).long())


KERAS_LOSSES = {
    "binary_crossentropy": _binary_crossentropy,
    "categorical_crossentropy": _categorical_crossentropy,
    "sparse_categorical_crossentropy": _sparse_categorical_crossentropy,
    "mean_squared_error": lambda p, y: ((p - y) ** 2).mean(),
    "mean_absolute_error": lambda p, y: (p - y).abs().mean(),
    "mean_squared_logarithmic_error": lambda p, y: ((torch.log1p(torch.clamp(p, min=0))
                                                     - torch.log1p(torch.clamp(y, min=0))) ** 2).mean(),
    "poisson": lambda p, y: (p - y * torch.log(p + _EPSILON)).mean(),
    "hinge": lambda p, y: torch.clamp(1 - (2 * y - 1 if y.min() >= 0 else y) * p, min=0).mean(),
}
KERAS_LOSSES.update({"mse": KERAS_LOSSES["mean_squared_error"], "mae": KERAS_LOSSES["mean_absolute_error"],
                     "msle": KERAS_LOSSES["mean_squared_logarithmic_error"]})
TORCH_LOSSES = {"CrossEntropyLoss": nn.CrossEntropyLoss, "MSELoss": nn.MSELoss, "BCELoss": nn.BCELoss,
                "BCEWithLogitsLoss": nn.BCEWithLogitsLoss, "NLLLoss": nn.NLLLoss, "L1Loss": nn.L1Loss,
                "SmoothL1Loss": nn.SmoothL1Loss, "HingeEmbeddingLoss": nn.HingeEmbeddingLoss}


def loss_function(name: Any, what: str = "loss"):
    """``f(prediction, target) -> scalar`` of a Keras loss name (or a pytorch loss class name)."""
    if isinstance(name, str) and name in TORCH_LOSSES:
        module = TORCH_LOSSES[name]()
        if name in ("CrossEntropyLoss", "NLLLoss"):
            return lambda p, y: module(p, (y.argmax(dim=-1) if y.dim() > 1 and y.shape[-1] > 1 else y.reshape(-1))
                                       .long())
        return module
    if not isinstance(name, str) or name.lower() not in KERAS_LOSSES:
        raise ValueError(f"{what} {name!r} not supported, should be one of {sorted(KERAS_LOSSES)} "
                         f"(or a pytorch loss: {sorted(TORCH_LOSSES)})")
    return KERAS_LOSSES[name.lower()]


# ---- optimizers ---------------------------------------------------------------------------

# Keras name -> (torch class, Keras defaults, Keras kwarg -> torch kwarg)
OPTIMIZERS = {
    "sgd": (torch.optim.SGD, {"learning_rate": 0.01}, {}),
    "adam": (torch.optim.Adam, {"learning_rate": 0.001, "epsilon": 1e-7}, {}),
    "rmsprop": (torch.optim.RMSprop, {"learning_rate": 0.001, "epsilon": 1e-7, "rho": 0.9}, {"rho": "alpha"}),
    "adagrad": (torch.optim.Adagrad, {"learning_rate": 0.001, "epsilon": 1e-7, "initial_accumulator_value": 0.1}, {}),
    "adadelta": (torch.optim.Adadelta, {"learning_rate": 0.001, "epsilon": 1e-7, "rho": 0.95}, {}),
    "adamax": (torch.optim.Adamax, {"learning_rate": 0.001, "epsilon": 1e-7}, {}),
    "nadam": (torch.optim.NAdam, {"learning_rate": 0.001, "epsilon": 1e-7}, {}),
}
_COMMON_KWARGS = {"learning_rate": "lr", "lr": "lr", "epsilon": "eps", "momentum": "momentum",
                  "nesterov": "nesterov", "amsgrad": "amsgrad", "decay": "weight_decay",
                  "initial_accumulator_value": "initial_accumulator_value", "rho": "rho", "centered": "centered"}


def optimizer(name: str, kwargs: dict[str, Any], parameters, what: str = "optimizer"):
    """A torch optimizer for a Keras optimizer name and kwargs (Keras's defaults where torch's differ)."""
    key = name.lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"{what} {name!r} not supported, should be one of SGD, Adam, RMSprop, Adagrad, "
                         f"Adadelta, Adamax, Nadam")
    cls, defaults, renames = OPTIMIZERS[key]
    merged = {**defaults, **kwargs}
    if "lr" in kwargs:
        merged.pop("learning_rate", None)
    torch_kwargs = {}
    for k, v in merged.items():
        target = renames.get(k) or _COMMON_KWARGS.get(k)
        if target is None:
            if k in ("name", "clipnorm", "clipvalue", "beta_1", "beta_2"):
                continue
            raise ValueError(f"{what}: argument {k!r} of {name} is not supported")
        torch_kwargs[target] = v
    if key in ("adam", "adamax", "nadam"):
        torch_kwargs["betas"] = (float(merged.get("beta_1", 0.9)), float(merged.get("beta_2", 0.999)))
    if key == "adagrad" and "eps" in torch_kwargs:
        torch_kwargs["eps"] = float(torch_kwargs["eps"])
    params = [p for p in parameters]
    if not params:  # a model without weights (only activations) still gets an optimizer
        params = [nn.Parameter(torch.zeros(1))]
    return cls(params, **torch_kwargs)
