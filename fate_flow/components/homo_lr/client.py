"""HomoLR on the guest and the hosts: local training, masked aggregation, local scoring.

Each client holds rows with the same features and its own labels. It agrees on pair keys
with the other clients (``secure_aggregation``), then for each epoch t runs its mini-batches
(mean logistic gradient, L2 term, optimizer, L1 shrink) and, on aggregation rounds, sends
the arbiter its masked ``[w * degree, degree]`` (degree = rows processed since the last
aggregation), takes the aggregated model, sends its masked ``[loss * n, n]`` (the loss of
the aggregated model on its own rows) and gets the arbiter's convergence verdict.

The rows are persisted partitions of Instances (``linear_model.partitioned``). A row's
mini-batch is a salted hash of its id, so the batches do not depend on the partitioning;
a batch's gradient and the loss are sums per partition (on the engine's workers) added in
partition order, then divided by the rows.

``encrypt_param.method`` Paillier is accepted with FATE's limits (sgd, no L1), but the hosts
train in the clear here: the masks are what hides each model from the arbiter.
"""
from __future__ import annotations

import functools

import numpy as np

from fate_flow.components.homo_lr import optim
from fate_flow.components.linear_model import optim as lm_optim
from fate_flow.components.linear_model.common import parse_predict_detail, sigmoid  # noqa: F401 (tests)
from fate_flow.components.linear_model.partitioned import (
    batch_count, batch_salt, check_binary_labels, linear_scores, load_instances, model_columns,
    predict_schema, prediction_block, split_batches, union_tables,
)
from fate_flow.components.homo_lr.base import HomoLRBase
from fate_flow.components.homo_lr.param import PAILLIER
from fate_flow.components.homo_lr.secure_aggregation import PairwiseMasker, client_key_agreement, header_digest


class HomoLRClient(HomoLRBase):
    """A guest or host of HomoLR: fits ``weights_`` with the others and scores its own rows."""

    def fit(self, table) -> None:
        """Train with the other clients and the arbiter until convergence or ``max_iter``."""
        data = self._load(table)
        self.train_input_, self.train_data_ = table, data
        check_binary_labels(data.table, data.label_name is not None, "HomoLR", "every client")
        p = self.params
        if p.encrypt_param.method == PAILLIER and self.role == "host":
            self.ctx.logger.warning("encrypt_param.method Paillier: this HomoLR trains the host model in the "
                                    "clear; pairwise masks hide it from the arbiter")
        self.fit_intercept_ = p.init_param.fit_intercept
        self.header_ = list(data.header)
        masker = client_key_agreement(self.variables, self._client_index(),
                                      header_digest(self.header_, self.fit_intercept_))
        self.weights_ = lm_optim.initial_weights(len(self.header_), p.init_param, self.fit_intercept_)
        self.loss_history_, self.is_converged_, self.n_iter_ = [], False, 0
        optimizer = lm_optim.Optimizer(p.optimizer, p.learning_rate, p.decay, p.decay_sqrt)
        batch_num, salt = batch_count(data.count, p.batch_size), batch_salt(p.init_param.random_seed)
        batches, sizes = split_batches(data.table, batch_num, salt)
        sizes, degree = sizes.sum(axis=0), 0
        for n_iter in range(p.max_iter):
            optimizer.set_iters(n_iter)
            for batch, rows in zip(batches, sizes):
                if rows:
                    self._train_batch(optimizer, batch, int(rows), n_iter)
            degree += data.count
            self.n_iter_ = n_iter + 1
            if self.is_aggregation_round(n_iter):
                self.is_converged_ = self._aggregate(masker, data, degree, n_iter)
                degree = 0
            self.report_progress(n_iter)
            if self.validation_step(n_iter):
                break
            if self.is_converged_:
                break

    def _load(self, table):
        return load_instances(self.ctx, table, "HomoLR", refuse_empty=True)

    def _train_batch(self, optimizer: lm_optim.Optimizer, batch, n_rows: int, n_iter: int) -> None:
        """One mini-batch (a table): the gradient summed per partition in partition order, its mean, the update."""
        p = self.params
        grad = batch.aggregate(functools.partial(optim.gradient_kernel, self.weights_, self.fit_intercept_)) / n_rows
        grad = lm_optim.add_l2_term(grad, self.weights_, p.penalty, p.alpha, self.fit_intercept_)
        delta = optimizer.apply(grad)
        self.weights_ = lm_optim.apply_update(self.weights_, delta, p.penalty, p.alpha, p.learning_rate, n_iter,
                                           self.fit_intercept_)

    def _aggregate(self, masker: PairwiseMasker, data, degree: int, n_iter: int) -> bool:
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
        loss = data.table.aggregate(functools.partial(optim.loss_kernel, self.weights_, self.fit_intercept_))
        loss = loss / data.count + lm_optim.penalty_loss(self.weights_, p.penalty, p.alpha, self.fit_intercept_)
        self.loss_history_.append(loss)
        n = float(data.count)
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

    def predict(self, table, kind: str):
        """Score this party's rows with the (aggregated) model, per partition; ``kind`` is the row type."""
        data = self.train_data_ if getattr(self, "train_input_", None) is table else self._load(table)
        model_columns(data.header, self.header_)
        intercept = float(self.weights_[-1]) if self.fit_intercept_ else 0.0
        kernel = functools.partial(predict_kernel, self.header_, self.weights_[:len(self.header_)], intercept,
                                   self.params.predict_param.threshold, kind)
        return data.table.map_values(kernel).with_schema(predict_schema(data.sid_name))

    def combine_outputs(self, results: list):
        return union_tables(results)


def predict_kernel(header: list, coef: np.ndarray, intercept: float, threshold: float, kind: str, block):
    """Kernel: a partition's predict rows (stored form)."""
    score = linear_scores(block, header, coef, intercept)
    return prediction_block(block.ids, block.labels, sigmoid(score), threshold, kind)


class HomoLRGuest(HomoLRClient):
    """Guest side of HomoLR."""

    role = "guest"


class HomoLRHost(HomoLRClient):
    """Host side of HomoLR (the same as the guest: every client has labels)."""

    role = "host"
