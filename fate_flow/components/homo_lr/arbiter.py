"""HomoLR on the arbiter: relays the key agreement, sums the masked models, decides convergence.

On every aggregation round it adds up the clients' masked ``[w * degree, degree]`` (the
pairwise masks cancel, so it learns only the sums), broadcasts ``sum(w * degree) /
sum(degree)``, adds up the masked ``[loss * n, n]`` into the mean loss of the aggregated
model, logs it (namespace "train", name "loss", type LOSS) and sends ``is_converge``.
It takes no part in predicting and outputs no data; its model holds the loss history.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.homo_lr.base import HomoLRBase
from fate_flow.components.linear_model.optim import ConvergeCheck
from fate_flow.components.homo_lr.secure_aggregation import arbiter_relay_keys, unmask_sum


class HomoLRArbiter(HomoLRBase):
    """Arbiter side of HomoLR; ``aggregated_weights_`` is the last model it broadcast."""

    role = "arbiter"

    def fit(self, table=None) -> None:
        """Serve the clients until convergence or ``max_iter``."""
        p = self.params
        self.fit_intercept_ = p.init_param.fit_intercept
        self.weights_, self.aggregated_weights_ = None, None
        self.loss_history_, self.is_converged_, self.n_iter_ = [], False, 0
        arbiter_relay_keys(self.variables)
        check = ConvergeCheck(p.early_stop, p.tol)
        for n_iter in range(p.max_iter):
            self.n_iter_ = n_iter + 1
            if self.is_aggregation_round(n_iter):
                self.aggregated_weights_ = self._aggregate_model(n_iter)
                loss = self._aggregate_loss(n_iter)
                self.is_converged_ = check.is_converged(loss, weights=self.aggregated_weights_)
                self.variables.is_converge.remote(self.is_converged_, suffix=(n_iter,))
                self.ctx.logger.info("iter %s: loss %.6f, converged %s", n_iter, loss, self.is_converged_)
            self.report_progress(n_iter)
            if self.is_converged_:
                break

    def _aggregate_model(self, n_iter: int) -> np.ndarray:
        total = unmask_sum(self.variables.model.get(idx=-1, suffix=(n_iter,)), "model")
        degree = total[-1]
        if not degree > 0:
            raise ValueError(f"the clients' degrees sum to {degree}: no rows were trained on")
        aggregated = total[:-1] / degree
        self.variables.aggregated_model.remote(aggregated, suffix=(n_iter,))
        return aggregated

    def _aggregate_loss(self, n_iter: int) -> float:
        weighted_loss, rows = unmask_sum(self.variables.loss.get(idx=-1, suffix=(n_iter,)), "loss")
        if not rows > 0:
            raise ValueError(f"the clients' row counts sum to {rows}")
        loss = float(weighted_loss / rows)
        self.log_loss_metric(n_iter, loss, first=not self.loss_history_)
        self.loss_history_.append(loss)
        return loss

    def predict(self, table, kind: str) -> None:
        """The arbiter does not take part in predicting."""
        return None
