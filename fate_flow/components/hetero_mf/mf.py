"""HeteroMF: guest and host each hold ratings (user id, item id, rating) of their own items for users
they partly share; each factorizes its ratings as ``user_embedding . item_embedding`` (loss mse), and
only the user embedding, the part they share in meaning, is averaged between them.

FATE 1.4.1's protocol (it ran a Keras model; this runs the same model on numpy):
1. guest and host swap their user ids in clear and both use the sorted union;
2. every round each trains one epoch of mini-batches on its own ratings;
3. every ``aggregate_every_n_epoch`` rounds the user embeddings are averaged, weighted by the batches
   each party trained since the last average, through the arbiter with pairwise masks (HomoLR's
   secure aggregation: the arbiter sees only the sums);
4. each party sends its mse on its ratings; the arbiter logs their row-weighted mean as the loss
   and decides convergence (``early_stop`` diff or abs, ``eps``).
The first three data columns are read as user id, item id and rating (numbers).
Predict (local): ``[rating, 0 if s <= threshold else 1, s, {"label": 0/1}]``; a user or item not seen
in training scores 0.
"""
from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pyarrow as pa

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.hetero_fm.hetero_fm import batches
from fate_flow.components.hetero_mf.param import KERAS_OPTIMIZERS
from fate_flow.components.hetero_mf.transfer import HeteroMFTransferVariable
from fate_flow.components.homo_lr.secure_aggregation import (
    arbiter_relay_keys, client_key_agreement, header_digest, unmask_sum,
)
from fate_flow.components.linear_model.common import LOSS_META, data_keys, model_messages
from fate_flow.components.linear_model.optim import ConvergeCheck, Optimizer
from fate_flow.components.linear_model.partitioned import load_instances, predict_schema

MODEL_META, MODEL_PARAM = "MatrixModelMeta", "MatrixModelParam"
# Keras' default learning rates, used when the optimizer's options name none
KERAS_LEARNING_RATES = {"SGD": 0.01, "RMSprop": 0.001, "Adam": 0.001, "Adagrad": 0.01}
# Keras' initializers' scale (RandomNormal stddev, RandomUniform limit)
INIT_SCALE = 0.05


def initial_embedding(rows: int, dim: int, method: str, rng: np.random.RandomState) -> np.ndarray:
    if method == "random_normal":
        return rng.normal(0.0, INIT_SCALE, (rows, dim))
    if method == "random_uniform":
        return rng.uniform(-INIT_SCALE, INIT_SCALE, (rows, dim))
    return np.full((rows, dim), 1.0 if method == "ones" else 0.0)


def mf_gradient(users: np.ndarray, items: np.ndarray, ratings: np.ndarray, u: np.ndarray,
                v: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Gradients of the batch's mean squared error over the whole user and item embeddings, and the mse."""
    error = np.sum(u[users] * v[items], axis=1) - ratings
    scale = 2.0 * error[:, None] / len(ratings)
    grad_u, grad_v = np.zeros_like(u), np.zeros_like(v)
    np.add.at(grad_u, users, scale * v[items])
    np.add.at(grad_v, items, scale * u[users])
    return grad_u, grad_v, float(np.mean(error ** 2))


def ratings_of(rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user ids, item ids, ratings): the first three data columns."""
    if rows.n_features < 3:
        raise ValueError(f"HeteroMF reads user id, item id and rating from the first three columns; the data has "
                         f"{rows.n_features} ({rows.header})")
    return rows.features[:, 0], rows.features[:, 1], rows.features[:, 2]


class HeteroMFClient(ComponentBase):
    """The guest or the host: its own ratings and items, the shared user embedding."""

    module = "HeteroMF"
    transfer_class = HeteroMFTransferVariable

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        self.params.check()
        self.ctx, self.variables = ctx, self.transfer_class(ctx.federation, flowid="fit")
        data, models = inputs.get("data") or {}, inputs.get("model") or {}
        if models:
            self.load_model(model_messages(models))
        train_key, eval_key = data_keys(data, bool(models), ctx.role, self.module)
        results = []
        if train_key is not None:
            train = load_instances(ctx, data[train_key], self.module, refuse_empty=True)
            self.fit(train)
            results.append(self.predict(train, "train"))
            if eval_key is not None:
                results.append(self.predict(load_instances(ctx, data[eval_key], self.module), "validate"))
        elif eval_key is not None:
            results.append(self.predict(load_instances(ctx, data[eval_key], self.module), "predict"))
        output = results[0] if results else None
        for result in results[1:]:
            output = output.union(result)
        return ComponentOutput(data=output, model=self.export_model())

    def fit(self, data) -> None:
        p = self.params
        rows = data.table.collect()
        self.header_ = list(rows.header)
        uid, iid, rating = ratings_of(rows)
        self.user_ids_ = self._shared_users(np.unique(uid))
        self.item_ids_ = np.unique(iid)
        users, items = np.searchsorted(self.user_ids_, uid), np.searchsorted(self.item_ids_, iid)
        rng = np.random.RandomState(p.init_param.random_seed)
        self.weights_ = self.initial_weights(rng, users, items, rating)
        masker = client_key_agreement(self.variables, 0 if self.ctx.role == "guest" else 1,
                                      header_digest([repr(float(u)) for u in self.user_ids_], False))
        name, options = p.optimizer_spec()
        optimizer = Optimizer(KERAS_OPTIMIZERS[name], float(options.get("learning_rate", KERAS_LEARNING_RATES[name])),
                              float(options.get("decay", 0.0)), False)
        slices, trained_batches = batches(len(rating), p.batch_size), 0
        self.loss_history_, self.is_converged_, self.n_iter_ = [], False, 0
        for epoch in range(p.max_iter):
            optimizer.set_iters(epoch)
            for part in slices:
                self._step(optimizer, users[part], items[part], rating[part])
            trained_batches += len(slices)
            self.n_iter_ = epoch + 1
            if (epoch + 1) % p.aggregate_every_n_epoch == 0 or epoch + 1 == p.max_iter:
                self.is_converged_ = self._aggregate(masker, epoch, trained_batches, users, items, rating)
                trained_batches = 0
            if self.ctx.tracker is not None:
                self.ctx.tracker.set_progress(100 * (epoch + 1) / p.max_iter)
            if self.is_converged_:
                break

    def _shared_users(self, own: np.ndarray) -> np.ndarray:
        """The sorted union of both parties' user ids (sent in clear, as FATE does)."""
        if self.ctx.role == "guest":
            self.variables.guest_user_ids.remote(own, role="host", idx=0)
            other = self.variables.host_user_ids.get(idx=0)
        else:
            self.variables.host_user_ids.remote(own, role="guest", idx=0)
            other = self.variables.guest_user_ids.get(idx=0)
        other = np.asarray(other)
        if other.ndim != 1 or other.dtype.kind not in "iuf":
            raise ValueError("the other party's user ids should be a list of numbers")
        return np.union1d(own, other.astype(np.float64))

    # ---- the model: hooks a variant (SVD, SVD++) overrides --------------------------------------

    trained = ("user_embedding", "item_embedding")  # the weights the optimizer moves, in this order
    shared = ("user_embedding",)  # the weights averaged between the parties

    def initial_weights(self, rng: np.random.RandomState, users, items, ratings) -> dict:
        dim, method = self.params.init_param.embed_dim, self.params.init_param.init_method
        return {"user_embedding": initial_embedding(len(self.user_ids_), dim, method, rng),
                "item_embedding": initial_embedding(len(self.item_ids_), dim, method, rng)}

    def predict_known(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        w = self.weights_
        return np.sum(w["user_embedding"][users] * w["item_embedding"][items], axis=1)

    def gradients(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> dict:
        w = self.weights_
        grad_u, grad_v, _ = mf_gradient(users, items, ratings, w["user_embedding"], w["item_embedding"])
        return {"user_embedding": grad_u, "item_embedding": grad_v}

    def evaluate_loss(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> float:
        """The loss a party reports after an aggregation: the mse of its ratings."""
        return float(np.mean((self.predict_known(users, items) - ratings) ** 2))

    # ---- training -------------------------------------------------------------------------

    def _step(self, optimizer: Optimizer, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> None:
        grads = self.gradients(users, items, ratings)
        delta = optimizer.apply(np.concatenate([grads[name].reshape(-1) for name in self.trained]))
        self._set_flat(self.trained, self._flat(self.trained) - delta)

    def _flat(self, names: tuple) -> np.ndarray:
        return np.concatenate([np.asarray(self.weights_[name], dtype=np.float64).reshape(-1) for name in names])

    def _set_flat(self, names: tuple, flat: np.ndarray) -> None:
        start = 0
        for name in names:
            shape = np.shape(self.weights_[name])
            size = int(np.prod(shape))
            self.weights_[name] = flat[start:start + size].reshape(shape)
            start += size

    def _aggregate(self, masker, epoch: int, weight: int, users, items, ratings) -> bool:
        suffix = (epoch,)
        own = self._flat(self.shared)
        masked = masker.mask(np.append(own * weight, float(weight)), f"model.{epoch}")
        self.variables.model.remote(masked, role="arbiter", idx=0, suffix=suffix)
        mean = np.asarray(self.variables.aggregated_model.get(idx=0, suffix=suffix), dtype=np.float64)
        if mean.shape != own.shape:
            raise ValueError(f"aggregated_model from the arbiter has {mean.size} values, expected {own.size}")
        self._set_flat(self.shared, mean)
        loss = self.evaluate_loss(users, items, ratings)
        self.loss_history_.append(loss)
        self.variables.loss.remote({"loss": loss, "count": len(ratings)}, role="arbiter", idx=0, suffix=suffix)
        flag = self.variables.is_converge.get(idx=0, suffix=suffix)
        if not isinstance(flag, bool):
            raise ValueError("is_converge from the arbiter should be a bool")
        return flag

    def predict(self, data, kind: str):
        rows = data.table.collect()
        uid, iid, rating = ratings_of(rows)
        scores = self.scores(uid, iid)
        result = (scores > self.params.predict_param.threshold).astype(np.int64)
        values = [f"{_number(r)},{c},{float(s)!r},{{\"label\":{c}}},{kind}" for r, c, s in zip(rating, result, scores)]
        from fate_flow.computing.recipes import stored_rows_schema

        block = pa.Table.from_arrays([rows.ids.cast(pa.string()), pa.array(values, type=pa.string())],
                                     schema=stored_rows_schema())
        return self.ctx.computing.parallelize([block], rows_hint=len(rows)).with_schema(predict_schema(data.sid_name))

    def scores(self, uid: np.ndarray, iid: np.ndarray) -> np.ndarray:
        """``u . v`` per rating row; 0 for a user or item the model has not seen."""
        users, items = np.searchsorted(self.user_ids_, uid), np.searchsorted(self.item_ids_, iid)
        users, items = np.minimum(users, len(self.user_ids_) - 1), np.minimum(items, len(self.item_ids_) - 1)
        known = (self.user_ids_[users] == uid) & (self.item_ids_[items] == iid)
        return np.where(known, self.predict_known(users, items), 0.0)

    def export_model(self) -> dict[str, Any] | None:
        if getattr(self, "weights_", None) is None:
            return None
        meta = matrix_model_meta(self.params)
        buffer = io.BytesIO()
        np.savez(buffer, **{name: np.asarray(value) for name, value in self.weights_.items()})
        param = {"aggregate_iter": self.n_iter_, "saved_model_bytes": base64.b64encode(buffer.getvalue()).decode(),
                 "loss_history": list(self.loss_history_), "is_converged": self.is_converged_,
                 "header": list(self.header_), "user_ids": [_number(u) for u in self.user_ids_],
                 "item_ids": [_number(i) for i in self.item_ids_]}
        return {MODEL_META: meta, MODEL_PARAM: param}

    def load_model(self, messages: dict) -> None:
        param = messages.get(MODEL_PARAM)
        if param is None:
            raise ValueError(f"the model input has no {MODEL_PARAM}")
        with np.load(io.BytesIO(base64.b64decode(param["saved_model_bytes"])), allow_pickle=False) as saved:
            self.weights_ = {name: saved[name] for name in saved.files}
        self.user_ids_ = np.array([float(u) for u in param.get("user_ids") or []])
        self.item_ids_ = np.array([float(i) for i in param.get("item_ids") or []])
        self.header_ = list(param.get("header") or [])
        self.loss_history_ = list(param.get("loss_history") or [])
        self.is_converged_, self.n_iter_ = bool(param.get("is_converged")), int(param.get("aggregate_iter", 0))


def matrix_model_meta(p) -> dict[str, Any]:
    """MFModelMeta of FATE 1.4.1's FederatedRec from the parameters."""
    name, options = p.optimizer_spec()
    early_stop, _ = p.early_stop_spec()
    return {"aggregate_iter": getattr(p, "aggregate_iters", 1), "params": {
        "secure_aggregate": p.secure_aggregate, "aggregate_every_n_epoch": p.aggregate_every_n_epoch,
        "batch_size": p.batch_size, "max_iter": p.max_iter, "early_stop": early_stop, "metrics": p.metrics or [],
        "optimizer": {"optimizer": name, "args": options}, "loss": p.loss, "embed_dim": p.init_param.embed_dim}}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class HeteroMFArbiter(ComponentBase):
    """Relays the key agreement, averages the user embeddings, logs the loss, decides convergence.

    Its model is the meta and the loss history (it holds no weights); a predict job loads it and has
    nothing to do, as the arbiter of HeteroLinR.
    """

    module = "HeteroMF"
    transfer_class = HeteroMFTransferVariable
    model_names = (MODEL_META, MODEL_PARAM)

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        p = self.params
        p.check()
        train_key, _ = data_keys(inputs.get("data") or {}, bool(inputs.get("model")), "arbiter", self.module)
        if train_key is None:
            return ComponentOutput()
        variables = self.transfer_class(ctx.federation, flowid="fit")
        arbiter_relay_keys(variables)
        converge = ConvergeCheck(*p.early_stop_spec())
        ctx.tracker.set_metric_meta("train", "loss", dict(LOSS_META))
        history, flag = [], False
        for epoch in range(p.max_iter):
            if (epoch + 1) % p.aggregate_every_n_epoch and epoch + 1 != p.max_iter:
                continue
            total = unmask_sum(variables.model.get(idx=-1, suffix=(epoch,)), "model")
            if not total[-1] > 0:
                raise ValueError("the parties trained no batch")
            variables.aggregated_model.remote(total[:-1] / total[-1], suffix=(epoch,))
            losses = variables.loss.get(idx=-1, suffix=(epoch,))
            if not all(isinstance(entry, dict) and entry.get("count", 0) > 0 for entry in losses):
                raise ValueError("a party's loss should be {loss, count}")
            loss = sum(e["loss"] * e["count"] for e in losses) / sum(e["count"] for e in losses)
            ctx.tracker.log_metric_data("train", "loss", [(epoch, float(loss))])
            history.append(float(loss))
            flag = converge.is_converged(loss=float(loss))
            variables.is_converge.remote(flag, suffix=(epoch,))
            if flag:
                break
        meta_name, param_name = self.model_names
        return ComponentOutput(model={meta_name: matrix_model_meta(p), param_name: {
            "aggregate_iter": len(history), "loss_history": history, "is_converged": flag}})
