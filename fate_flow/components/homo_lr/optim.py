"""The local learning of HomoLR: gradient and loss (FATE 1.4's formulas, numpy only), as sums over
a partition's rows that the client adds up in partition order and divides by the row count;
weights, optimizers, penalties and convergence are linear_model.optim's.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.linear_model.common import sigmoid, with_intercept_column
from fate_flow.components.linear_model.partitioned import signed


def gradient_sum(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """FATE's ``LogisticGradient`` before the mean: the sum of ``(sigmoid(y wx) - 1) y x`` over the rows."""
    factor = (sigmoid(y * (x @ weights)) - 1.0) * y
    return factor @ x


def log_loss_sum(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """The sum of ``log(1 + e^(-y wx))`` over the rows."""
    return float(np.sum(np.logaddexp(0.0, -y * (x @ weights))))


def _design(block, fit_intercept: bool) -> tuple[np.ndarray, np.ndarray]:
    return (with_intercept_column(block.features) if fit_intercept else block.features), signed(block.labels)


def gradient_kernel(weights: np.ndarray, fit_intercept: bool, block) -> np.ndarray:
    """Kernel: ``gradient_sum`` over a partition's rows (of one mini-batch)."""
    x, y = _design(block, fit_intercept)
    return gradient_sum(x, y, weights)


def loss_kernel(weights: np.ndarray, fit_intercept: bool, block) -> float:
    """Kernel: ``log_loss_sum`` over a partition's rows."""
    x, y = _design(block, fit_intercept)
    return log_loss_sum(x, y, weights)
