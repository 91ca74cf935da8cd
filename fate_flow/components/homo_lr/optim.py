"""The local learning of HomoLR: intercept column, signed labels, gradient and loss (FATE 1.4's
formulas, numpy only); weights, optimizers, penalties and convergence are linear_model.optim's.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.linear_model.common import sigmoid


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


def mean_gradient(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """FATE's ``LogisticGradient``: the mean of ``(sigmoid(y wx) - 1) y x`` over the rows."""
    factor = (sigmoid(y * (x @ weights)) - 1.0) * y
    return factor @ x / len(y)


def mean_log_loss(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """The mean of ``log(1 + e^(-y wx))`` over the rows."""
    return float(np.mean(np.logaddexp(0.0, -y * (x @ weights))))
