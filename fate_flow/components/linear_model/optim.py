"""Initial weights, optimizers, penalties and convergence rules of HeteroLR and HomoLR
(FATE 1.4's formulas, numpy only).

Weights are one vector with the intercept last when the model fits one (FATE's
``LinearModelWeights``). Every optimizer works coordinate by coordinate, so a HeteroLR party
can run it on its own slice of the gradient. ``penalty`` may be "L1", "L2", "NONE" or None.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.linear_model.param import InitParam

NESTEROV_MOMENTUM = 0.9
RMSPROP_RHO = 0.99
ADAM_BETA1, ADAM_BETA2 = 0.9, 0.999


def initial_weights(n_features: int, init: InitParam, fit_intercept: bool) -> np.ndarray:
    """FATE's ``Initializer.init_model``: ``n_features`` (+1 for the intercept) weights from ``RandomState(seed)``."""
    size = n_features + (1 if fit_intercept else 0)
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
    """FATE's early-stop rules.

    diff: |loss - previous loss| < tol (never on the first round); abs: loss <= tol;
    weight_diff: with ``weights`` (HomoLR's aggregates) |w - previous w| < tol * max(|w|, 1)
    (FATE's ``_WeightDiffConverge``, never on the first round), else ``delta_norm`` < tol
    (HeteroLR's norm of the iteration's summed update).
    """

    def __init__(self, early_stop: str, tol: float) -> None:
        self.early_stop = early_stop
        self.tol = tol
        self._previous: float | np.ndarray | None = None

    @property
    def needs_loss(self) -> bool:
        return self.early_stop in ("diff", "abs")

    def is_converged(self, loss: float | None = None, delta_norm: float | None = None,
                     weights: np.ndarray | None = None) -> bool:
        """Decide from this round's loss (diff/abs), or its weights or update norm (weight_diff)."""
        if self.early_stop == "abs":
            return bool(loss <= self.tol)
        if self.early_stop == "weight_diff" and weights is None:
            return bool(delta_norm < self.tol)
        current = loss if self.early_stop == "diff" else np.array(weights, dtype=np.float64)
        previous, self._previous = self._previous, current
        if previous is None:
            return False
        if self.early_stop == "diff":
            return bool(abs(previous - current) < self.tol)
        return bool(np.linalg.norm(previous - current) < self.tol * max(float(np.linalg.norm(current)), 1.0))
