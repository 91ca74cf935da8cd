"""HomoLR on the guest and the hosts: local training, masked aggregation, local scoring.

Each client holds rows with the same features and its own labels. It agrees on pair keys
with the other clients (``secure_aggregation``), then for each epoch t runs its mini-batches
(mean logistic gradient, L2 term, optimizer, L1 shrink) and, on aggregation rounds, sends
the arbiter its masked ``[w * degree, degree]`` (degree = rows processed since the last
aggregation), takes the aggregated model, sends its masked ``[loss * n, n]`` (the loss of
the aggregated model on its own rows) and gets the arbiter's convergence verdict.

``encrypt_param.method`` Paillier is accepted with FATE's limits (sgd, no L1), but the hosts
train in the clear here: the masks are what hides each model from the arbiter.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.base import TableData
from fate_flow.components.homo_lr import optim
from fate_flow.components.linear_model import optim as lm_optim
from fate_flow.components.linear_model.common import (  # noqa: F401 (parse_predict_detail: tests)
    batch_rows, parse_predict_detail, prediction_rows, read_instances, select_model_features, sigmoid, signed_labels,
    union_outputs, with_intercept_column)
from fate_flow.components.homo_lr.base import HomoLRBase
from fate_flow.components.homo_lr.param import PAILLIER
from fate_flow.components.homo_lr.secure_aggregation import PairwiseMasker, client_key_agreement, header_digest


class HomoLRClient(HomoLRBase):
    """A guest or host of HomoLR: fits ``weights_`` with the others and scores its own rows."""

    def fit(self, table) -> None:
        """Train with the other clients and the arbiter until convergence or ``max_iter``."""
        data = read_instances(table, "HomoLR", refuse_empty=True)
        p = self.params
        if p.encrypt_param.method == PAILLIER and self.role == "host":
            self.ctx.logger.warning("encrypt_param.method Paillier: this HomoLR trains the host model in the "
                                    "clear; pairwise masks hide it from the arbiter")
        self.fit_intercept_ = p.init_param.fit_intercept
        self.header_ = list(data.header)
        x = with_intercept_column(data.features) if self.fit_intercept_ else data.features
        y = signed_labels(data.labels, "HomoLR", "every client")
        masker = client_key_agreement(self.variables, self._client_index(),
                                      header_digest(self.header_, self.fit_intercept_))
        self.weights_ = lm_optim.initial_weights(data.n_features, p.init_param, self.fit_intercept_)
        self.loss_history_, self.is_converged_, self.n_iter_ = [], False, 0
        optimizer = lm_optim.Optimizer(p.optimizer, p.learning_rate, p.decay, p.decay_sqrt)
        batches, degree = batch_rows(len(y), p.batch_size), 0
        for n_iter in range(p.max_iter):
            optimizer.set_iters(n_iter)
            for rows in batches:
                self._train_batch(optimizer, x[rows], y[rows], n_iter)
            degree += len(y)
            self.n_iter_ = n_iter + 1
            if self.is_aggregation_round(n_iter):
                self.is_converged_ = self._aggregate(masker, x, y, degree, n_iter)
                degree = 0
            self.report_progress(n_iter)
            if self.is_converged_:
                break

    def _train_batch(self, optimizer: lm_optim.Optimizer, x: np.ndarray, y: np.ndarray, n_iter: int) -> None:
        p = self.params
        grad = optim.mean_gradient(x, y, self.weights_)
        grad = lm_optim.add_l2_term(grad, self.weights_, p.penalty, p.alpha, self.fit_intercept_)
        delta = optimizer.apply(grad)
        self.weights_ = lm_optim.apply_update(self.weights_, delta, p.penalty, p.alpha, p.learning_rate, n_iter,
                                           self.fit_intercept_)

    def _aggregate(self, masker: PairwiseMasker, x: np.ndarray, y: np.ndarray, degree: int, n_iter: int) -> bool:
        """One aggregation round: masked model out, aggregated model in, masked loss out, verdict in."""
        suffix = (n_iter,)
        self.variables.model.remote(self.mask_model(masker, self.weights_, degree, n_iter), role="arbiter",
                                    idx=0, suffix=suffix)
        aggregated = np.asarray(self.variables.aggregated_model.get(idx=0, suffix=suffix), dtype=np.float64)
        if aggregated.shape != self.weights_.shape:
            raise ValueError(f"aggregated_model from the arbiter has shape {aggregated.shape}, "
                             f"expected {self.weights_.shape}")
        self.weights_ = aggregated
        p = self.params
        loss = optim.mean_log_loss(x, y, self.weights_)
        loss += lm_optim.penalty_loss(self.weights_, p.penalty, p.alpha, self.fit_intercept_)
        self.loss_history_.append(loss)
        n = float(len(y))
        self.variables.loss.remote(masker.mask(np.array([loss * n, n]), f"loss.{n_iter}"), role="arbiter",
                                   idx=0, suffix=suffix)
        flag = self.variables.is_converge.get(idx=0, suffix=suffix)
        if not isinstance(flag, bool):
            raise ValueError(f"is_converge from the arbiter should be a bool, got {type(flag).__name__}")
        self.ctx.logger.info("iter %s: local loss %.6f of the aggregated model, converged %s", n_iter, loss, flag)
        return flag

    def mask_model(self, masker: PairwiseMasker, weights: np.ndarray, degree: int, n_iter: int) -> np.ndarray:
        """The masked ``[w * degree, degree]`` this client sends the arbiter (a hook for tests)."""
        return masker.mask(np.append(weights * degree, float(degree)), f"model.{n_iter}")

    def _client_index(self) -> int:
        parties = self.client_parties
        for index, (role, party) in enumerate(parties):
            if role == self.role and str(party) == str(self.ctx.party_id):
                return index
        raise ValueError(f"{self.role} {self.ctx.party_id} is not a client of this job ({parties})")

    # ---- predict ----------------------------------------------------------------------------

    def predict(self, table, kind: str) -> TableData:
        """Score this party's rows with the (aggregated) model; ``kind`` is the row type."""
        data = select_model_features(read_instances(table, "HomoLR", refuse_empty=True), self.header_)
        coef = self.weights_[:len(self.header_)]
        score = data.features @ coef + (self.weights_[-1] if self.fit_intercept_ else 0.0)
        return prediction_rows(data, sigmoid(score), self.params.predict_param.threshold, kind)

    def combine_outputs(self, results: list) -> TableData | None:
        return union_outputs(results)


class HomoLRGuest(HomoLRClient):
    """Guest side of HomoLR."""

    role = "guest"


class HomoLRHost(HomoLRClient):
    """Host side of HomoLR (the same as the guest: every client has labels)."""

    role = "host"
