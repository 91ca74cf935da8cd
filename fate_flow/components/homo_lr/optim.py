"""The local learning of HomoLR: initial weights, gradient, loss, optimizers, penalties and
the arbiter's convergence rules (FATE 1.4's formulas, numpy only).

Weights are one vector with the intercept last when the model fits one (FATE's
``LinearModelWeights``); features get a column of ones for it (``with_intercept_column``).
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.homo_lr.param import InitParam

NESTEROV_MOMENTUM = 0.9
RMSPROP_RHO = 0.99
ADAM_BETA1, ADAM_BETA2 = 0.9, 0.999


def initial_weights(n_features: int, init: InitParam) -> np.ndarray:
    """FATE's ``Initializer.init_model``: ``n_features`` (+1 for the intercept) starting weights."""
    size = n_features + (1 if init.fit_intercept else 0)
    rng = np.random.RandomState(init.random_seed)
    if init.init_method == "random_normal":
        return rng.randn(size)
    if init.init_method == "random_uniform":
        return rng.rand(size)
    if init.init_method == "ones":
        return np.ones(size)
    if init.init_method == "zeros":
        return np.zeros(size)
    return np.full(size, float(init.init_const))


def with_intercept_column(features: np.ndarray) -> np.ndarray:
    return np.hstack([features, np.ones((features.shape[0], 1))])


def signed_labels(labels: np.ndarray | None) -> np.ndarray:
    """FATE's mapping y = 1 if label == 1 else -1; ValueError without labels or beyond two classes."""
    if labels is None:
        raise ValueError("the train data has no label: HomoLR needs DataIO with_label on every client")
    classes = np.unique(labels)
    if len(classes) > 2:
        raise ValueError(f"HomoLR here is binary only; the labels have {len(classes)} classes "
                         f"(multi_class one-vs-rest is not supported)")
    return np.where(labels == 1, 1.0, -1.0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow for large |x|."""
    return np.exp(-np.logaddexp(0.0, -x))


def mean_gradient(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """FATE's ``LogisticGradient``: the mean of ``(sigmoid(y wx) - 1) y x`` over the rows."""
    factor = (sigmoid(y * (x @ weights)) - 1.0) * y
    return factor @ x / len(y)


def mean_log_loss(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """The mean of ``log(1 + e^(-y wx))`` over the rows."""
    return float(np.mean(np.logaddexp(0.0, -y * (x @ weights))))


def _coef(weights: np.ndarray, fit_intercept: bool) -> slice:
    return slice(0, len(weights) - 1) if fit_intercept else slice(0, len(weights))


def add_l2_term(grad: np.ndarray, weights: np.ndarray, penalty: str | None, alpha: float,
                fit_intercept: bool) -> np.ndarray:
    """FATE's ``add_regular_to_grad``: ``+ alpha w`` for L2, never on the intercept."""
    if penalty != "L2":
        return grad
    coef = _coef(weights, fit_intercept)
    out = np.array(grad, dtype=np.float64)
    out[coef] += alpha * weights[coef]
    return out


def apply_update(weights: np.ndarray, delta: np.ndarray, penalty: str | None, alpha: float,
                 learning_rate: float, iters: int, fit_intercept: bool) -> np.ndarray:
    """New weights ``w - delta``; for L1, FATE's soft-thresholding of the coefficients.

    FATE shrinks by ``alpha * learning_rate / sqrt(iters)``, infinite at iteration 0 (every
    coefficient becomes 0 there); this uses ``sqrt(iters + 1)`` so the first step shrinks too.
    """
    moved = weights - delta
    if penalty == "L1":
        coef = _coef(weights, fit_intercept)
        shrink = alpha * learning_rate / np.sqrt(iters + 1)
        moved[coef] = np.sign(moved[coef]) * np.maximum(0.0, np.abs(moved[coef]) - shrink)
    return moved


def penalty_loss(weights: np.ndarray, penalty: str | None, alpha: float, fit_intercept: bool) -> float:
    """FATE's ``loss_norm``: ``0.5 alpha |w|^2`` (L2) or ``alpha |w|_1`` (L1), intercept excluded."""
    coef = weights[_coef(weights, fit_intercept)]
    if penalty == "L2":
        return 0.5 * alpha * float(coef @ coef)
    if penalty == "L1":
        return alpha * float(np.abs(coef).sum())
    return 0.0


class Optimizer:
    """Turns a gradient into the update ``delta`` (the weights become ``w - delta``).

    Args:
        name: sgd, nesterov_momentum_sgd, rmsprop, adam or adagrad.
        learning_rate, decay, decay_sqrt: the rate at iteration t is
            ``learning_rate / sqrt(1 + decay*t)`` (``/(1 + decay*t)`` without decay_sqrt).
    """

    def __init__(self, name: str, learning_rate: float, decay: float, decay_sqrt: bool) -> None:
        if name not in _RULES:
            raise ValueError(f"optimizer {name!r} not supported, should be one of {', '.join(sorted(_RULES))}")
        self.name = name
        self.learning_rate = learning_rate
        self.decay = decay
        self.decay_sqrt = decay_sqrt
        self.iters = 0
        self._state: dict[str, np.ndarray | float] = {}

    def set_iters(self, iters: int) -> None:
        self.iters = iters

    def decayed_learning_rate(self) -> float:
        scale = 1 + self.decay * self.iters
        return self.learning_rate / (np.sqrt(scale) if self.decay_sqrt else scale)

    def apply(self, grad: np.ndarray) -> np.ndarray:
        """Return the update for ``grad`` and advance the optimizer's moments."""
        return _RULES[self.name](self._state, np.asarray(grad, dtype=np.float64), self.decayed_learning_rate())


def _sgd(state: dict, grad: np.ndarray, lr: float) -> np.ndarray:
    return lr * grad


def _nesterov(state: dict, grad: np.ndarray, lr: float) -> np.ndarray:
    m = state.get("m", np.zeros_like(grad))
    v = NESTEROV_MOMENTUM * m - lr * grad
    state["m"] = v
    return NESTEROV_MOMENTUM * m - (1 + NESTEROV_MOMENTUM) * v


def _rmsprop(state: dict, grad: np.ndarray, lr: float) -> np.ndarray:
    m = RMSPROP_RHO * state.get("m", np.zeros_like(grad)) + (1 - RMSPROP_RHO) * np.square(grad)
    state["m"] = m
    return lr * grad / np.sqrt(m + 1e-6)


def _adagrad(state: dict, grad: np.ndarray, lr: float) -> np.ndarray:
    m = state.get("m", np.zeros_like(grad)) + np.square(grad)
    state["m"] = m
    return lr * grad / (np.sqrt(m) + 1e-7)


def _adam(state: dict, grad: np.ndarray, lr: float) -> np.ndarray:
    beta1_power = state.get("beta1_power", 1.0) * ADAM_BETA1
    beta2_power = state.get("beta2_power", 1.0) * ADAM_BETA2
    m = ADAM_BETA1 * state.get("m", np.zeros_like(grad)) + (1 - ADAM_BETA1) * grad
    v = ADAM_BETA2 * state.get("v", np.zeros_like(grad)) + (1 - ADAM_BETA2) * np.square(grad)
    state.update(m=m, v=v, beta1_power=beta1_power, beta2_power=beta2_power)
    m_hat, v_hat = m / (1 - beta1_power), v / (1 - beta2_power)
    return lr * m_hat / (np.sqrt(v_hat) + 1e-8)


_RULES = {"sgd": _sgd, "nesterov_momentum_sgd": _nesterov, "rmsprop": _rmsprop,
          "adagrad": _adagrad, "adam": _adam}


class ConvergeCheck:
    """FATE's early-stop rules on the arbiter's aggregates.

    diff: |loss - previous loss| < tol (never on the first round); abs: loss <= tol;
    weight_diff: |w - previous w| < tol * max(|w|, 1) (FATE's ``_WeightDiffConverge``).
    """

    def __init__(self, early_stop: str, tol: float) -> None:
        self.early_stop = early_stop
        self.tol = tol
        self._previous: float | np.ndarray | None = None

    def is_converged(self, loss: float, weights: np.ndarray) -> bool:
        """Decide from this round's aggregated loss and weights."""
        if self.early_stop == "abs":
            return bool(loss <= self.tol)
        current = loss if self.early_stop == "diff" else np.array(weights, dtype=np.float64)
        previous, self._previous = self._previous, current
        if previous is None:
            return False
        if self.early_stop == "diff":
            return bool(abs(previous - current) < self.tol)
        return bool(np.linalg.norm(previous - current) < self.tol * max(float(np.linalg.norm(current)), 1.0))
