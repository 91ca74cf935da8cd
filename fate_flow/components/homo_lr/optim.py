"""The local learning of HomoLR: gradient and loss (FATE 1.4's
formulas, numpy only); weights, optimizers, penalties and convergence are linear_model.optim's.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.linear_model.common import sigmoid


def mean_gradient(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """FATE's ``LogisticGradient``: the mean of ``(sigmoid(y wx) - 1) y x`` over the rows."""
    factor = (sigmoid(y * (x @ weights)) - 1.0) * y
    return factor @ x / len(y)


def mean_log_loss(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """The mean of ``log(1 + e^(-y wx))`` over the rows."""
    return float(np.mean(np.logaddexp(0.0, -y * (x @ weights))))
