"""HomoFM: each client (guest or host, same features, own labels) trains a factorization machine on
its rows by mini-batch logistic gradients; every ``aggregate_iters`` iterations (and at the last)
the arbiter averages the clients' models weighted by the rows each trained on since the last
round, through pairwise masks (HomoLR's secure aggregation: the arbiter sees only the sums), and
every client goes on from the average. The loss of the averaged model is logged by the clients
and, weighted by rows, by the arbiter. Predictions are local: ``sigmoid(w.x + b + 1/2 sum_f[...])``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.hetero_fm.hetero_fm import (
    arbiter_fm_model, batches, fm_forward, fm_model_meta, initial_embedding, plain_gradient_terms, regular_gradient,
    regular_loss,
)
from fate_flow.components.homo_fm.transfer import HomoFMTransferVariable
from fate_flow.components.homo_lr.secure_aggregation import (
    arbiter_relay_keys, client_key_agreement, header_digest, unmask_sum,
)
from fate_flow.components.linear_model.common import LOSS_META, data_keys, model_messages, sigmoid
from fate_flow.components.linear_model.optim import ConvergeCheck, Optimizer, initial_weights
from fate_flow.components.linear_model.partitioned import (
    load_instances, prediction_block, predict_schema, signed,
)

MODEL_META, MODEL_PARAM = "HomoFactorizationMachineMeta", "HomoFactorizationMachineParam"


def is_aggregation_round(n_iter: int, aggregate_iters: int, max_iter: int) -> bool:
    return (n_iter + 1) % aggregate_iters == 0 or n_iter + 1 == max_iter


def logistic_fm_gradient(x: np.ndarray, y: np.ndarray, w: np.ndarray, v: np.ndarray, b: float) -> tuple:
    """Mean gradients (w, V, b) of ``log(1 + exp(-y f))`` over the rows, y in {1, -1}."""
    fm, vx = fm_forward(x, w, v)
    d = -y * sigmoid(-y * (fm + b))
    n = len(y)
    grad_w, plain_v = plain_gradient_terms(x, v, d)
    grad_v = (x.T @ (vx * d[:, None]) - plain_v) / n
    return grad_w / n, grad_v, float(np.sum(d) / n)


def logistic_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray, v: np.ndarray, b: float) -> float:
    fm, _ = fm_forward(x, w, v)
    return float(np.mean(np.logaddexp(0.0, -y * (fm + b))))


class HomoFMClient(ComponentBase):
    """A guest or host of HomoFM."""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        self.params.check()
        self.ctx, self.variables = ctx, HomoFMTransferVariable(ctx.federation, flowid="fit")
        data, models = inputs.get("data") or {}, inputs.get("model") or {}
        if models:
            self.load_model(model_messages(models))
        train_key, eval_key = data_keys(data, bool(models), ctx.role, "HomoFM")
        results = []
        if train_key is not None:
            train = load_instances(ctx, data[train_key], "HomoFM", refuse_empty=True)
            self.fit(train)
            results.append(self.predict(train, "train"))
            if eval_key is not None:
                results.append(self.predict(load_instances(ctx, data[eval_key], "HomoFM"), "validate"))
        elif eval_key is not None:
            results.append(self.predict(load_instances(ctx, data[eval_key], "HomoFM"), "predict"))
        output = results[0] if results else None
        for result in results[1:]:
            output = output.union(result)
        return ComponentOutput(data=output, model=self.export_model())

    def fit(self, data) -> None:
        p = self.params
        rows = data.table.collect()
        if rows.labels is None or len(np.unique(rows.labels)) > 2:
            raise ValueError("HomoFM needs binary labels on every client (DataIO with_label)")
        x, y = rows.features, signed(rows.labels)
        self.header_, self.fits_intercept = list(rows.header), bool(p.init_param.fit_intercept)
        self.w_ = initial_weights(len(self.header_), p.init_param, fit_intercept=False)
        self.v_ = initial_embedding(len(self.header_), p.init_param.embed_size, p.init_param.random_seed)
        self.b_, self.n_iter_, self.is_converged_, self.loss_history_ = 0.0, 0, False, []
        masker = client_key_agreement(self.variables, self._client_index(),
                                      header_digest(self.header_, self.fits_intercept))
        optimizer = Optimizer(p.optimizer, p.learning_rate, p.decay, p.decay_sqrt)
        if self.ctx.tracker is not None:  # the clients log their loss too, under the arbiter's meta
            self.ctx.tracker.set_metric_meta("train", "loss", dict(LOSS_META))
        degree = 0
        for n_iter in range(p.max_iter):
            optimizer.set_iters(n_iter)
            for part in batches(len(y), p.batch_size):
                self._step(optimizer, x[part], y[part])
            degree += len(y)
            self.n_iter_ = n_iter + 1
            if is_aggregation_round(n_iter, p.aggregate_iters, p.max_iter):
                self.is_converged_ = self._aggregate(masker, x, y, degree, n_iter)
                degree = 0
            if self.ctx.tracker is not None:
                self.ctx.tracker.set_progress(100 * (n_iter + 1) / p.max_iter)
            if self.is_converged_:
                break

    def _step(self, optimizer: Optimizer, x: np.ndarray, y: np.ndarray) -> None:
        p = self.params
        grad_w, grad_v, grad_b = logistic_fm_gradient(x, y, self.w_, self.v_, self.b_)
        grad_w = grad_w + regular_gradient(p.penalty, p.alpha, self.w_)
        grad_v = grad_v + regular_gradient(p.penalty, p.alpha, self.v_)
        flat = np.concatenate([grad_w, grad_v.reshape(-1), [grad_b if self.fits_intercept else 0.0]])
        self._set_flat(self._flat() - optimizer.apply(flat))

    def _flat(self) -> np.ndarray:
        return np.concatenate([self.w_, self.v_.reshape(-1), [self.b_]])

    def _set_flat(self, flat: np.ndarray) -> None:
        m = len(self.w_)
        self.w_, self.v_ = flat[:m].copy(), flat[m:m + self.v_.size].reshape(self.v_.shape).copy()
        self.b_ = float(flat[-1]) if self.fits_intercept else 0.0

    def _aggregate(self, masker, x: np.ndarray, y: np.ndarray, degree: int, n_iter: int) -> bool:
        suffix = (n_iter,)
        self.variables.model.remote(masker.mask(np.append(self._flat() * degree, float(degree)), f"model.{n_iter}"),
                                    role="arbiter", idx=0, suffix=suffix)
        aggregated = np.asarray(self.variables.aggregated_model.get(idx=0, suffix=suffix), dtype=np.float64)
        if aggregated.shape != self._flat().shape:
            raise ValueError(f"aggregated_model from the arbiter has {aggregated.size} values, expected "
                             f"{self._flat().size}")
        self._set_flat(aggregated)
        p = self.params
        loss = logistic_loss(x, y, self.w_, self.v_, self.b_) + regular_loss(p.penalty, p.alpha, self.w_, self.v_)
        self.loss_history_.append(loss)
        if self.ctx.tracker is not None:
            self.ctx.tracker.log_metric_data("train", "loss", [(n_iter, loss)])
        self.variables.loss.remote(masker.mask(np.array([loss * len(y), float(len(y))]), f"loss.{n_iter}"),
                                   role="arbiter", idx=0, suffix=suffix)
        flag = self.variables.is_converge.get(idx=0, suffix=suffix)
        if not isinstance(flag, bool):
            raise ValueError("is_converge from the arbiter should be a bool")
        return flag

    def _client_index(self) -> int:
        clients = [("guest", p) for p in self.ctx.parties("guest")] + [("host", p) for p in self.ctx.parties("host")]
        return clients.index((self.ctx.role, self.ctx.party_id))

    def predict(self, data, kind: str):
        rows = data.table.collect()
        if rows.header != self.header_:
            rows = rows.select_features([rows.header.index(h) for h in self.header_])
        fm, _ = fm_forward(rows.features, self.w_, self.v_)
        block = prediction_block(rows.ids, rows.labels, sigmoid(fm + self.b_), self.params.predict_param.threshold,
                                 kind)
        return self.ctx.computing.parallelize([block], rows_hint=len(rows)).with_schema(predict_schema(data.sid_name))

    def export_model(self) -> dict[str, Any] | None:
        if getattr(self, "w_", None) is None:
            return None
        meta = fm_model_meta(self.params, self.fits_intercept)
        param = {"iters": self.n_iter_, "loss_history": list(self.loss_history_), "is_converged": self.is_converged_,
                 "weight": {name: float(w) for name, w in zip(self.header_, self.w_)},
                 "embedding": {name: {"weight": row.tolist()} for name, row in zip(self.header_, self.v_)},
                 "embed_size": int(self.v_.shape[1]), "intercept": float(self.b_), "header": list(self.header_),
                 "need_one_vs_rest": False}
        return {MODEL_META: meta, MODEL_PARAM: param}

    def load_model(self, messages: dict) -> None:
        param, meta = messages.get(MODEL_PARAM), messages.get(MODEL_META) or {}
        if param is None:
            raise ValueError(f"the model input has no {MODEL_PARAM}")
        self.header_ = list(param.get("header") or [])
        self.w_ = np.array([float(param["weight"][h]) for h in self.header_])
        self.v_ = np.array([param["embedding"][h]["weight"] for h in self.header_], dtype=np.float64)
        self.v_ = self.v_.reshape(len(self.header_), int(param.get("embed_size", 0)))
        self.b_ = float(param.get("intercept", 0.0))
        self.fits_intercept = bool(meta.get("fit_intercept", True))
        self.n_iter_, self.is_converged_ = int(param.get("iters", 0)), bool(param.get("is_converged", False))
        self.loss_history_ = list(param.get("loss_history") or [])


class HomoFMArbiter(ComponentBase):
    """Relays the clients' key agreement, averages their masked models, logs the loss, decides convergence."""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        p = self.params
        p.check()
        train_key, _ = data_keys(inputs.get("data") or {}, bool(inputs.get("model")), "arbiter", "HomoFM")
        if train_key is None:
            return ComponentOutput()
        variables = HomoFMTransferVariable(ctx.federation, flowid="fit")
        arbiter_relay_keys(variables)
        converge = ConvergeCheck(p.early_stop, p.tol)
        ctx.tracker.set_metric_meta("train", "loss", dict(LOSS_META))
        history, flag = [], False
        for n_iter in range(p.max_iter):
            if not is_aggregation_round(n_iter, p.aggregate_iters, p.max_iter):
                continue
            total = unmask_sum(variables.model.get(idx=-1, suffix=(n_iter,)), "model")
            if not total[-1] > 0:
                raise ValueError("the clients trained on no rows")
            aggregated = total[:-1] / total[-1]
            variables.aggregated_model.remote(aggregated, suffix=(n_iter,))
            weighted, rows = unmask_sum(variables.loss.get(idx=-1, suffix=(n_iter,)), "loss")
            loss = float(weighted / rows)
            ctx.tracker.log_metric_data("train", "loss", [(n_iter, loss)])
            history.append(loss)
            flag = converge.is_converged(loss=loss, weights=aggregated)
            variables.is_converge.remote(flag, suffix=(n_iter,))
            if flag:
                break
        return ComponentOutput(model=arbiter_fm_model(p, MODEL_META, MODEL_PARAM, history, flag))
