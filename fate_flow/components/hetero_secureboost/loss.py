"""The objectives of SecureBoost: initial score, gradient, hessian, loss and the score -> prediction map.

FATE 1.4's formulas: cross entropy (sigmoid for two classes, softmax for more; init zeros),
lse 2(F-y) / 2 (init mean), lae sign(F-y) / 1 (init median), huber, fair, log_cosh (init mean)
and tweedie on log scale (init log mean). Scores F are (n, tree_dim) arrays.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.linear_model.common import sigmoid

EPS = 1e-12


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax without overflow."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


class Objective:
    """One loss; ``labels`` are class indexes for classification, values for regression."""

    def __init__(self, name: str, params: list | None, tree_dim: int) -> None:
        self.name = name
        self.params = list(params or [])
        self.tree_dim = tree_dim

    def _param(self, default: float) -> float:
        return float(self.params[0]) if self.params else default

    def init_score(self, labels: np.ndarray) -> np.ndarray:
        """The (tree_dim,) initial score F0 every row starts from."""
        if self.name == "cross_entropy":
            return np.zeros(self.tree_dim)
        if self.name == "lae":
            return np.array([float(np.median(labels))])
        if self.name == "tweedie":
            return np.array([float(np.log(max(np.mean(labels), EPS)))])
        return np.array([float(np.mean(labels))])

    def gradients(self, labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(g, h), each (n, tree_dim)."""
        if self.name == "cross_entropy":
            return self._cross_entropy_gradients(labels, scores)
        f, y = scores[:, 0], labels
        g, h = self._regression_gradients(f, y)
        return g[:, None], h[:, None]

    def _cross_entropy_gradients(self, labels: np.ndarray, scores: np.ndarray):
        if self.tree_dim == 1:
            p = sigmoid(scores[:, 0])
            return (p - labels)[:, None], (p * (1 - p))[:, None]
        p = softmax(scores)
        onehot = np.eye(self.tree_dim)[labels.astype(np.int64)]
        return p - onehot, p * (1 - p)

    def _regression_gradients(self, f: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        diff = f - y
        if self.name == "lse":
            return 2 * diff, np.full_like(diff, 2.0)
        if self.name == "lae":
            return np.where(diff > 1e-6, 1.0, np.where(diff < -1e-6, -1.0, 0.0)), np.ones_like(diff)
        if self.name == "huber":
            delta = self._param(1.0)
            scale = 1 + (diff / delta) ** 2
            return diff / np.sqrt(scale), 1 / scale ** 1.5
        if self.name == "fair":
            c = self._param(1.0)
            return c * diff / (np.abs(diff) + c), c ** 2 / (np.abs(diff) + c) ** 2
        if self.name == "log_cosh":
            t = np.tanh(diff)
            return t, 1 - t * t
        rho = self._param(1.5)  # tweedie, on log scale
        a, b = np.exp((1 - rho) * f), np.exp((2 - rho) * f)
        return -y * a + b, -y * (1 - rho) * a + (2 - rho) * b

    def loss(self, labels: np.ndarray, scores: np.ndarray) -> float:
        """The mean loss of the rows (FATE's per-round train loss)."""
        if self.name == "cross_entropy":
            if self.tree_dim == 1:
                p = np.clip(sigmoid(scores[:, 0]), EPS, 1 - EPS)
                return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))
            p = softmax(scores)[np.arange(len(labels)), labels.astype(np.int64)]
            return float(-np.mean(np.log(np.clip(p, EPS, None))))
        f, y = scores[:, 0], labels
        diff = f - y
        if self.name == "lse":
            return float(np.mean(diff ** 2))
        if self.name == "lae":
            return float(np.mean(np.abs(diff)))
        if self.name == "huber":
            delta = self._param(1.0)
            return float(np.mean(delta ** 2 * (np.sqrt(1 + (diff / delta) ** 2) - 1)))
        if self.name == "fair":
            c = self._param(1.0)
            x = np.abs(diff) / c
            return float(np.mean(c ** 2 * (x - np.log1p(x))))
        if self.name == "log_cosh":
            return float(np.mean(np.logaddexp(diff, -diff) - np.log(2.0)))
        rho = self._param(1.5)
        return float(np.mean(-y * np.exp((1 - rho) * f) / (1 - rho) + np.exp((2 - rho) * f) / (2 - rho)))

    def predict(self, scores: np.ndarray) -> np.ndarray:
        """Scores -> probabilities (classification, (n,) for binary, (n, k) else) or predicted values."""
        if self.name == "cross_entropy":
            return sigmoid(scores[:, 0]) if self.tree_dim == 1 else softmax(scores)
        if self.name == "tweedie":
            return np.exp(scores[:, 0])
        return scores[:, 0]
