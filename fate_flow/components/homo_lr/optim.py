"""The local learning of HomoLR: gradient and loss (FATE 1.4's formulas, numpy only), as sums over
a partition's rows that the client adds up in partition order and divides by the row count;
weights, optimizers, penalties and convergence are linear_model.optim's.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.linear_model.common import sigmoid, with_intercept_column
from fate_flow.components.linear_model.partitioned import batch_rows_of, signed


def gradient_sum(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """FATE's ``LogisticGradient`` before the mean: the sum of ``(sigmoid(y wx) - 1) y x`` over the rows."""
    factor = (sigmoid(y * (x @ weights)) - 1.0) * y
    return factor @ x


def log_loss_sum(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """The sum of ``log(1 + e^(-y wx))`` over the rows."""
    return float(np.sum(np.logaddexp(0.0, -y * (x @ weights))))


def _design(block, rows: np.ndarray | None, fit_intercept: bool) -> tuple[np.ndarray, np.ndarray]:
    x = block.features if rows is None else block.features[rows]
    labels = block.labels if rows is None else block.labels[rows]
    return (with_intercept_column(x) if fit_intercept else x), signed(labels)


def batch_gradient_kernel(weights: np.ndarray, fit_intercept: bool, batch: int, batch_num: int, salt: int,
                          block) -> np.ndarray:
    """Kernel: ``gradient_sum`` over a partition's rows of one mini-batch."""
    x, y = _design(block, batch_rows_of(block, batch, batch_num, salt), fit_intercept)
    return gradient_sum(x, y, weights)


def loss_kernel(weights: np.ndarray, fit_intercept: bool, block) -> float:
    """Kernel: ``log_loss_sum`` over a partition's rows."""
    x, y = _design(block, None, fit_intercept)
    return log_loss_sum(x, y, weights)
