"""HeteroFM: a factorization machine over the guest's and the host's features of the same ids,
trained with FATE 1.4.1's protocol (the arbiter holds the Paillier key; labels y in {1, -1}).

Per mini-batch:
- host: ``fm_h = w_h.x + 1/2 sum_f[(sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2]`` and ``vx_h = V_h^T x``; it sends
  ``Enc(fm_h), Enc(vx_h)`` to the guest (``host_forward_dict``);
- guest: ``f = Enc(fm_h) + fm_g + b + Enc(vx_h).vx_g`` (the cross-party interaction), and
  ``Enc(0.25 f - 0.5 y)`` to the arbiter (``fore_gradient``), which decrypts it, clips it to [-1, 1]
  and sends it back in clear (``capped_fore_gradient``) to guest and host;
- guest: ``Enc((vx_h + vx_g) d)`` to the host (``agg_vx_mul_fg``); each party's gradient is
  ``dw = X^T d / n``, ``dV = (X^T agg - V * (X^2)^T d) / n`` (+ L2), its embedding part encrypted;
  the arbiter decrypts it, applies the optimizer and returns the update (``*_optim_gradient``);
- loss (Taylor): the guest sends ``Enc(ln2 - 0.5 mean(y f))`` and ``Enc(f)``; the arbiter adds
  ``1/8 mean(f^2)`` and the parties' plain regularisation, and logs ``train/loss``.
Predict: the host sends plain ``fm_h, vx_h`` (``host_prob``); the guest outputs
``sigmoid(fm_g + b + fm_h + vx_h.vx_g)``.

Each party's rows are gathered in memory (sorted by id within the job's partitions, the order both
parties share, checked by per-partition id digests); batches are consecutive slices of that order.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.hetero_fm.transfer import HeteroFMTransferVariable
from fate_flow.components.linear_model.common import LOSS_META, data_keys, model_messages, sigmoid
from fate_flow.components.linear_model.optim import ConvergeCheck, Optimizer, initial_weights
from fate_flow.components.linear_model.partitioned import (
    load_instances, partition_digests, prediction_block, predict_schema, signed,
)
from fate_flow.secureprotol import EncryptedArray, EncryptedNumber, PaillierPublicKey, generate_keypair

MODEL_META, MODEL_PARAM = "HeteroFactorizationMachineMeta", "HeteroFactorizationMachineParam"


# ---- the factorization machine's plain math -----------------------------------------------------

def fm_forward(x: np.ndarray, w: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``w.x + 1/2 sum_f[(xV)_f^2 - (x^2)(V^2)_f]``, ``xV``) per row."""
    vx = x @ v
    return x @ w + 0.5 * np.sum(vx * vx - (x * x) @ (v * v), axis=1), vx


def plain_gradient_terms(x: np.ndarray, v: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``X^T d``, ``V * (X^2)^T d``): the parts of the gradient that need no ciphertext."""
    return x.T @ d, v * ((x * x).T @ d)[:, None]


def regular_loss(penalty: str, alpha: float, *weights: np.ndarray) -> float:
    if str(penalty).upper() == "L2":
        return 0.5 * alpha * float(sum(np.sum(w * w) for w in weights))
    if str(penalty).upper() == "L1":
        return alpha * float(sum(np.sum(np.abs(w)) for w in weights))
    return 0.0


def regular_gradient(penalty: str, alpha: float, w: np.ndarray) -> np.ndarray:
    if str(penalty).upper() == "L2":
        return alpha * w
    if str(penalty).upper() == "L1":
        return alpha * np.sign(w)
    return np.zeros_like(w)


def initial_embedding(n_features: int, embed_size: int, seed: int | None) -> np.ndarray:
    """FATE's V ~ N(0, 1/sqrt(embed_size)), whatever init_method says."""
    return np.random.RandomState(seed).normal(0.0, 1.0 / np.sqrt(embed_size), (n_features, embed_size))


def batches(rows: int, batch_size: int) -> list[slice]:
    size = rows if batch_size == -1 or batch_size >= rows else batch_size
    return [slice(start, min(start + size, rows)) for start in range(0, rows, size)]


def fm_model_meta(p, fits_intercept: bool) -> dict[str, Any]:
    """FMModelMeta of FATE 1.4.1's FederatedRec from the parameters."""
    return {"penalty": p.penalty, "tol": p.tol, "alpha": p.alpha, "optimizer": p.optimizer, "party_weight": 0,
            "batch_size": p.batch_size, "learning_rate": p.learning_rate, "max_iter": p.max_iter,
            "early_stop": p.early_stop, "re_encrypt_batches": 0, "fit_intercept": fits_intercept,
            "need_one_vs_rest": False}


def arbiter_fm_model(p, meta_name: str, param_name: str, losses: list, converged: bool) -> dict[str, Any]:
    """The arbiter's model: the meta and the training history (it holds no weights). A predict job
    loads it and has nothing to do, as the arbiter of HeteroLinR."""
    return {meta_name: fm_model_meta(p, True),
            param_name: {"iters": len(losses), "loss_history": [float(v) for v in losses], "is_converged": converged,
                         "weight": {}, "embedding": {}, "header": [], "need_one_vs_rest": False}}


# ---- wire helpers ---------------------------------------------------------------------------

def _columns_to_bytes(columns: list) -> list:
    return [c.to_bytes() for c in columns]


def _columns_from_bytes(key: PaillierPublicKey, data: Any, count: int, rows: int, what: str) -> list:
    if not isinstance(data, list) or len(data) != count:
        raise ValueError(f"{what} should hold {count} encrypted columns")
    columns = [EncryptedArray.from_bytes(key, item) for item in data]
    if any(len(c) != rows for c in columns):
        raise ValueError(f"{what} should hold {rows} values per column")
    return columns


# ---- the parties ----------------------------------------------------------------------------

class _FMParty(ComponentBase):
    """What guest and host share: data loading, the model, the gradient exchange."""

    role = ""
    fits_intercept = False

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        self.params.check()
        self.ctx = ctx
        self.variables = HeteroFMTransferVariable(ctx.federation)
        data, models = inputs.get("data") or {}, inputs.get("model") or {}
        if models:
            self.load_model(model_messages(models))
        train_key, eval_key = data_keys(data, bool(models), self.role, "HeteroFM")
        results = []
        if train_key is not None:
            self.variables.set_flowid("fit")
            self.fit(load_instances(ctx, data[train_key], "HeteroFM", refuse_empty=True))
            results.append(self._predict_stage("validate", data[train_key], "train"))
            if eval_key is not None:
                results.append(self._predict_stage("predict", data[eval_key], "validate"))
        elif eval_key is not None:
            results.append(self._predict_stage("predict", data[eval_key], "predict"))
        return ComponentOutput(data=self.combine(results), model=self.export_model())

    def _predict_stage(self, flowid: str, table, kind: str):
        self.variables.set_flowid(flowid)
        return self.predict(load_instances(self.ctx, table, "HeteroFM"), kind)

    def combine(self, results: list):
        return None

    def init_model(self, header: list[str]) -> None:
        p = self.params
        self.header_ = list(header)
        self.w_ = initial_weights(len(header), p.init_param, fit_intercept=False)
        self.v_ = initial_embedding(len(header), p.init_param.embed_size, p.init_param.random_seed)
        self.b_ = 0.0
        self.n_iter_, self.is_converged_ = 0, False

    def encrypted_gradient(self, x: np.ndarray, d: np.ndarray, agg: list) -> dict:
        """This party's gradient for the arbiter: plain w (and b) parts, the embedding part encrypted."""
        p, n = self.params, len(d)
        grad_w, plain_v = plain_gradient_terms(x, self.v_, d)
        grad_w = grad_w / n + regular_gradient(p.penalty, p.alpha, self.w_)
        plain_v = (-plain_v / n + regular_gradient(p.penalty, p.alpha, self.v_))
        columns = [agg_f.dot(x) * (1.0 / n) + plain_v[:, f] for f, agg_f in enumerate(agg)]
        gradient = {"w": grad_w, "v": _columns_to_bytes(columns)}
        if self.fits_intercept:
            gradient["b"] = float(np.sum(d) / n)
        return gradient

    def apply_update(self, update: Any) -> None:
        if not isinstance(update, dict) or np.shape(update.get("w")) != self.w_.shape or \
                np.shape(update.get("v")) != self.v_.shape:
            raise ValueError("the arbiter's optim gradient does not have this party's model shape")
        self.w_ = self.w_ - np.asarray(update["w"], dtype=np.float64)
        self.v_ = self.v_ - np.asarray(update["v"], dtype=np.float64)
        if self.fits_intercept:
            self.b_ -= float(update.get("b", 0.0))

    def sync_convergence(self, n_iter: int) -> bool:
        flag = self.variables.converge_flag.get(idx=0, suffix=(n_iter,))
        if not isinstance(flag, bool):
            raise ValueError("converge_flag from the arbiter should be a bool")
        return flag

    def export_model(self) -> dict[str, Any] | None:
        if getattr(self, "w_", None) is None:
            return None
        meta = fm_model_meta(self.params, self.fits_intercept)
        param = {"iters": self.n_iter_, "loss_history": [], "is_converged": self.is_converged_,
                 "weight": {name: float(w) for name, w in zip(self.header_, self.w_)},
                 "embedding": {name: {"weight": row.tolist()} for name, row in zip(self.header_, self.v_)},
                 "embed_size": int(self.v_.shape[1]), "intercept": float(self.b_), "header": list(self.header_),
                 "need_one_vs_rest": False}
        return {MODEL_META: meta, MODEL_PARAM: param}

    def load_model(self, messages: dict) -> None:
        param = messages.get(MODEL_PARAM)
        if param is None:
            raise ValueError(f"the model input has no {MODEL_PARAM}")
        self.header_ = list(param.get("header") or [])
        self.w_ = np.array([float(param["weight"][h]) for h in self.header_])
        self.v_ = np.array([param["embedding"][h]["weight"] for h in self.header_], dtype=np.float64)
        self.v_ = self.v_.reshape(len(self.header_), int(param.get("embed_size", 0)))
        self.b_ = float(param.get("intercept", 0.0))
        self.n_iter_, self.is_converged_ = int(param.get("iters", 0)), bool(param.get("is_converged", False))

    def _rows(self, data):
        """Every row of the loaded data, in the order both parties share."""
        rows = data.table.collect()
        columns = [rows.header.index(h) for h in self.header_] if rows.header != self.header_ else None
        return rows if columns is None else rows.select_features(columns)


class HeteroFMGuest(_FMParty):
    role = "guest"

    def fit(self, data) -> None:
        p = self.params
        if data.label_name is None:
            raise ValueError("HeteroFM needs labelled train data on the guest (DataIO with_label)")
        self.fits_intercept = bool(p.init_param.fit_intercept)
        self.init_model(data.header)
        rows = self._rows(data)
        if len(np.unique(rows.labels)) > 2:
            raise ValueError("HeteroFM here is binary only (one-vs-rest is not supported)")
        y, x = signed(rows.labels), rows.features
        slices = batches(len(y), p.batch_size)
        self.variables.batch_info.remote({"batch_num": len(slices), "batch_size": p.batch_size,
                                          "digests": partition_digests(data.table)})
        key = PaillierPublicKey.from_bytes(self.variables.paillier_pubkey.get(idx=0))
        for n_iter in range(p.max_iter):
            for index, part in enumerate(slices):
                self._batch(key, x[part], y[part], (n_iter, index))
            self.n_iter_ = n_iter + 1
            if self.ctx.tracker is not None:
                self.ctx.tracker.set_progress(100 * (n_iter + 1) / p.max_iter)
            if self.sync_convergence(n_iter):
                self.is_converged_ = True
                break

    def _batch(self, key: PaillierPublicKey, x: np.ndarray, y: np.ndarray, suffix: tuple) -> None:
        p, n = self.params, len(y)
        forward = self.variables.host_forward_dict.get(idx=0, suffix=suffix)
        if not isinstance(forward, dict):
            raise ValueError("host_forward_dict should be a dict of the host's encrypted fm and vx")
        fm_h = _columns_from_bytes(key, [forward.get("fm")], 1, n, "host_forward_dict fm")[0]
        vx_h = _columns_from_bytes(key, forward.get("vx"), self.v_.shape[1], n, "host_forward_dict vx")
        fm_g, vx_g = fm_forward(x, self.w_, self.v_)
        f = fm_h + (fm_g + self.b_)
        for column, own in zip(vx_h, vx_g.T):
            f = f + column * own
        self.variables.fore_gradient.remote((f * 0.25 - 0.5 * y).to_bytes(), role="arbiter", idx=0, suffix=suffix)
        loss = (f * y).sum() * (-0.5 / n) + np.log(2)
        self.variables.loss.remote({"loss": loss.to_bytes(), "regular": regular_loss(p.penalty, p.alpha, self.w_,
                                                                                         self.v_)},
                                   role="arbiter", idx=0, suffix=suffix)
        self.variables.aggregated_forwards.remote(f.to_bytes(), role="arbiter", idx=0, suffix=suffix)
        d = np.asarray(self.variables.capped_fore_gradient.get(idx=0, suffix=suffix), dtype=np.float64)
        if d.shape != (n,):
            raise ValueError(f"capped_fore_gradient should hold {n} values")
        agg = [(column + own) * d for column, own in zip(vx_h, vx_g.T)]
        self.variables.agg_vx_mul_fg.remote(_columns_to_bytes(agg), role="host", idx=0, suffix=suffix)
        self.variables.guest_gradient.remote(self.encrypted_gradient(x, d, agg), role="arbiter", idx=0, suffix=suffix)
        self.apply_update(self.variables.guest_optim_gradient.get(idx=0, suffix=suffix))

    def predict(self, data, kind: str):
        rows = self._rows(data)
        host = self.variables.host_prob.get(idx=0)
        fm_h, vx_h = (np.asarray(host.get(k), dtype=np.float64) for k in ("fm", "vx")) if isinstance(host, dict) \
            else (None, None)
        if fm_h is None or fm_h.shape != (len(rows),) or vx_h.shape != (len(rows), self.v_.shape[1]):
            raise ValueError("host_prob should hold the host's fm and vx of every row")
        fm_g, vx_g = fm_forward(rows.features, self.w_, self.v_)
        prob = sigmoid(fm_g + self.b_ + fm_h + np.sum(vx_h * vx_g, axis=1))
        block = prediction_block(rows.ids, rows.labels, prob, self.params.predict_param.threshold, kind)
        return self.ctx.computing.parallelize([block], rows_hint=len(rows)).with_schema(predict_schema(data.sid_name))

    def combine(self, results: list):
        results = [r for r in results if r is not None]
        if not results:
            return None
        union = results[0]
        for result in results[1:]:
            union = union.union(result)
        return union.with_schema(results[0].schema)


class HeteroFMHost(_FMParty):
    role = "host"

    def fit(self, data) -> None:
        p = self.params
        self.init_model(data.header)
        info = self.variables.batch_info.get(idx=0)
        if not isinstance(info, dict) or info.get("digests") != partition_digests(data.table):
            raise ValueError("the guest's train data holds other ids than this host's (run Intersection first)")
        rows = self._rows(data)
        slices = batches(len(rows), info.get("batch_size", -1))
        key = PaillierPublicKey.from_bytes(self.variables.paillier_pubkey.get(idx=0))
        x = rows.features
        for n_iter in range(p.max_iter):
            for index, part in enumerate(slices):
                self._batch(key, x[part], (n_iter, index))
            self.n_iter_ = n_iter + 1
            if self.sync_convergence(n_iter):
                self.is_converged_ = True
                break

    def _batch(self, key: PaillierPublicKey, x: np.ndarray, suffix: tuple) -> None:
        p, n = self.params, len(x)
        fm_h, vx_h = fm_forward(x, self.w_, self.v_)
        self.variables.host_forward_dict.remote(
            {"fm": key.encrypt_array(fm_h).to_bytes(), "vx": [key.encrypt_array(c).to_bytes() for c in vx_h.T]},
            role="guest", idx=0, suffix=suffix)
        self.variables.host_loss_regular.remote(regular_loss(p.penalty, p.alpha, self.w_, self.v_), role="arbiter",
                                                idx=0, suffix=suffix)
        d = np.asarray(self.variables.capped_fore_gradient.get(idx=0, suffix=suffix), dtype=np.float64)
        if d.shape != (n,):
            raise ValueError(f"capped_fore_gradient should hold {n} values")
        agg = _columns_from_bytes(key, self.variables.agg_vx_mul_fg.get(idx=0, suffix=suffix), self.v_.shape[1], n,
                                  "agg_vx_mul_fg")
        self.variables.host_gradient.remote(self.encrypted_gradient(x, d, agg), role="arbiter", idx=0, suffix=suffix)
        self.apply_update(self.variables.host_optim_gradient.get(idx=0, suffix=suffix))

    def predict(self, data, kind: str):
        rows = self._rows(data)
        fm_h, vx_h = fm_forward(rows.features, self.w_, self.v_)
        self.variables.host_prob.remote({"fm": fm_h, "vx": vx_h}, role="guest", idx=0)
        return None


class HeteroFMArbiter(ComponentBase):
    """Holds the Paillier key: decrypts and clips the fore gradient, decrypts gradients, runs the optimizers."""

    key_length: int | None = None  # tests set a shorter key

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        p = self.params
        p.check()
        train_key, _ = data_keys(inputs.get("data") or {}, bool(inputs.get("model")), "arbiter", "HeteroFM")
        if train_key is None:  # a predict job: the guest and host score without the arbiter
            return ComponentOutput()
        self.ctx, self.variables = ctx, HeteroFMTransferVariable(ctx.federation, flowid="fit")
        public, self.private = generate_keypair(self.key_length or p.encrypt_param.key_length)
        self.public = public
        self.variables.paillier_pubkey.remote(public.to_bytes())
        info = self.variables.batch_info.get(idx=0)
        batch_num = int(info["batch_num"]) if isinstance(info, dict) else 0
        optimizers = {role: Optimizer(p.optimizer, p.learning_rate, p.decay, p.decay_sqrt) for role in ("guest", "host")}
        converge = ConvergeCheck(p.early_stop, p.tol)
        ctx.tracker.set_metric_meta("train", "loss", dict(LOSS_META))
        history, flag = [], False
        for n_iter in range(p.max_iter):
            for optimizer in optimizers.values():
                optimizer.set_iters(n_iter)
            losses, delta_norm = [], 0.0
            for index in range(batch_num):
                loss, norm = self._batch(optimizers, (n_iter, index))
                losses.append(loss)
                delta_norm += norm
            loss = float(np.mean(losses))
            ctx.tracker.log_metric_data("train", "loss", [(n_iter, loss)])
            history.append(loss)
            flag = converge.is_converged(loss=loss, delta_norm=delta_norm)
            self.variables.converge_flag.remote(flag, suffix=(n_iter,))
            if flag:
                break
        return ComponentOutput(model=arbiter_fm_model(p, MODEL_META, MODEL_PARAM, history, flag))

    def _batch(self, optimizers: dict, suffix: tuple) -> tuple[float, float]:
        fore = self.private.decrypt_array(EncryptedArray.from_bytes(
            self.public, self.variables.fore_gradient.get(idx=0, suffix=suffix)))
        capped = np.clip(fore, -1.0, 1.0)
        self.variables.capped_fore_gradient.remote(capped, suffix=suffix)
        loss = self._loss(suffix)
        norm = 0.0
        for role, variable, answer in (("guest", self.variables.guest_gradient, self.variables.guest_optim_gradient),
                                       ("host", self.variables.host_gradient, self.variables.host_optim_gradient)):
            gradient = variable.get(idx=0, suffix=suffix)
            flat, unflatten = self._plain_gradient(gradient)
            delta = optimizers[role].apply(flat)
            norm += float(np.dot(delta, delta))
            answer.remote(unflatten(delta), role=role, idx=0, suffix=suffix)
        return loss, norm

    def _loss(self, suffix: tuple) -> float:
        sent = self.variables.loss.get(idx=0, suffix=suffix)
        taylor = self.private.decrypt(EncryptedNumber.from_bytes(self.public, sent["loss"]))
        forwards = self.private.decrypt_array(EncryptedArray.from_bytes(
            self.public, self.variables.aggregated_forwards.get(idx=0, suffix=suffix)))
        host_regular = float(self.variables.host_loss_regular.get(idx=0, suffix=suffix))
        return float(taylor + np.mean(forwards ** 2) / 8 + float(sent.get("regular", 0.0)) + host_regular)

    def _plain_gradient(self, gradient: Any):
        """(flat plain gradient, function turning a flat update back into the party's shapes)."""
        if not isinstance(gradient, dict) or not isinstance(gradient.get("v"), list):
            raise ValueError("a party's gradient should be a dict of w and the encrypted embedding columns")
        w = np.asarray(gradient["w"], dtype=np.float64)
        v = np.column_stack([self.private.decrypt_array(EncryptedArray.from_bytes(self.public, c))
                             for c in gradient["v"]])
        has_b = "b" in gradient
        flat = np.concatenate([w, v.reshape(-1), [float(gradient["b"])] if has_b else []])

        def unflatten(delta: np.ndarray) -> dict:
            out = {"w": delta[:len(w)], "v": delta[len(w):len(w) + v.size].reshape(v.shape)}
            if has_b:
                out["b"] = float(delta[-1])
            return out
        return flat, unflatten
