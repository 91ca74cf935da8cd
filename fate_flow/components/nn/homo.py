"""HomoNN: the clients (guest and hosts) train the same network on their own rows; the arbiter
averages the weights, masked so that it learns only their sum (``homo_lr.secure_aggregation``).

Round t (suffix ``(t,)``), as FATE 1.4 (components_more.md 3.9): each client trains
``aggregate_every_n_epoch`` epochs, sends its masked ``[weights * w, w]`` with
``w = epoch_degree * n_epoch`` and ``epoch_degree = batches * n_epoch`` (FATE's weighting: equal
batch counts weigh equally), takes the arbiter's weighted mean, sends its masked
``[loss * epoch_degree, epoch_degree]`` of the aggregated model on its rows, and gets the
arbiter's convergence verdict (diff/abs on the mean loss, weight_diff on the weights). The
arbiter logs the mean loss (namespace "train", name "loss", type LOSS, unit iters).

Every client builds the model from the same definition with the same seed, so all start from
the same weights. torch is imported inside the task (``torch_support``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.homo_lr.secure_aggregation import (
    arbiter_relay_keys, client_key_agreement, header_digest, unmask_sum,
)
from fate_flow.components.linear_model.common import LOSS_META, model_messages
from fate_flow.components.nn import common
from fate_flow.components.nn.param import optimizer_parts
from fate_flow.components.nn.torch_support import require_torch
from fate_flow.components.nn.transfer import HomoNNTransferVariable

MODEL_META = "HomoNNModelMeta"
MODEL_PARAM = "HomoNNModelParam"
MODULE = "HomoNN"
INIT_SEED = 0  # every client draws the initial weights from this seed, so they start equal


class HomoNNBase(ComponentBase):
    """FATE's ModelBase.run dispatch for HomoNN: fit on train_data then score it, score eval_data."""

    role = ""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        p = self.params
        p.check()
        if p.cv_param.need_cv:
            raise ValueError("cv_param.need_cv: cross validation is not supported by this HomoNN")
        if len(ctx.parties("arbiter")) != 1 or len(ctx.parties("guest")) + len(ctx.parties("host")) < 2:
            raise ValueError(f"HomoNN needs an arbiter and at least two clients (guest and hosts), got {ctx.roles}")
        self.torch = require_torch(MODULE)
        self.ctx, self.variables = ctx, HomoNNTransferVariable(ctx.federation)
        data, models = inputs.get("data") or {}, inputs.get("model") or {}
        if models:
            self.load_model(model_messages(models))
        train_key, eval_key = common.data_keys(data, bool(models), self.role, MODULE)
        results, sid = [], "id"
        if train_key is not None:
            self.variables.set_flowid("fit")
            rows = self.fit(data.get(train_key))
            if rows is not None:
                sid = rows.sid_name
                results.append(self.predict(rows, "train"))
        if eval_key is not None:
            if train_key is None and self.role != "arbiter" and not hasattr(self, "model_"):
                raise ValueError("HomoNN got eval_data but no model: give it a model input or train_data")
            rows = None if self.role == "arbiter" else common.load_rows(data.get(eval_key), MODULE)
            if rows is not None:
                sid = rows.sid_name
                results.append(self.predict(rows, "validate" if train_key is not None else "predict"))
        return ComponentOutput(data=common.output_data(results, sid), model=self.export_model())

    def predict(self, rows, kind: str):
        return None

    def export_model(self) -> dict[str, Any] | None:
        return None

    def load_model(self, messages: dict[str, Any]) -> None:
        return None


class HomoNNClient(HomoNNBase):
    """A guest or host of HomoNN: ``model_`` (torch), ``header_``, ``aggregate_iter_``."""

    def fit(self, table):
        """Train with the other clients until the arbiter says converged or ``max_iter`` rounds."""
        torch, p = self.torch, self.params
        rows = common.load_rows(table, MODULE)
        labels = common.labels_of(rows, MODULE)
        self.header_ = list(rows.header)
        self.num_label_ = int(len(np.unique(labels)))
        if p.encode_label and self.num_label_ <= 2:
            self.ctx.logger.warning("encode_label: the labels have %s classes here", self.num_label_)
        self._build(rows.n_features)
        x = torch.as_tensor(rows.features, dtype=torch.float32)
        y = torch.as_tensor(common.target_matrix(labels, self._one_hot_width(labels), p.encode_label),
                            dtype=torch.float32)
        masker = client_key_agreement(self.variables, self._client_index(), header_digest(self.header_, False))
        loss_fn = self._loss()
        name, kwargs = optimizer_parts("optimizer", p.optimizer)
        from fate_flow.components.nn import layers

        optim = layers.optimizer(name, kwargs, self.model_.parameters())
        shuffle = torch.Generator().manual_seed(INIT_SEED)
        batch = len(x) if p.batch_size == -1 else min(p.batch_size, len(x))
        n_batches = -(-len(x) // batch)
        self.aggregate_iter_, self.loss_history_ = 0, []
        for t in range(p.max_iter):
            self.model_.train()
            for _ in range(p.aggregate_every_n_epoch):
                order = torch.randperm(len(x), generator=shuffle)
                for start in range(0, len(x), batch):
                    index = order[start:start + batch]
                    optim.zero_grad()
                    loss_fn(self.model_(x[index]), y[index]).backward()
                    optim.step()
            converged = self._aggregate(masker, x, y, loss_fn, n_batches, t)
            self.aggregate_iter_ = t + 1
            self.ctx.tracker.set_progress(100 * (t + 1) / p.max_iter)
            if converged:
                break
        return rows

    def _aggregate(self, masker, x, y, loss_fn, n_batches: int, t: int) -> bool:
        torch, p = self.torch, self.params
        n_epoch = p.aggregate_every_n_epoch
        epoch_degree = float(n_batches * n_epoch)
        weight = epoch_degree * n_epoch  # FATE's weight, quadratic in n_epoch
        flat = self._flat_weights()
        self.variables.client_model.remote(masker.mask(np.append(flat * weight, weight), f"model.{t}"),
                                           role="arbiter", idx=0, suffix=(t,))
        aggregated = np.asarray(self.variables.server_model.get(idx=0, suffix=(t,)), dtype=np.float64)
        if aggregated.shape != flat.shape:
            raise ValueError(f"server_model from the arbiter has {aggregated.size} weights, the model {flat.size}")
        self._set_flat_weights(aggregated)
        self.model_.eval()
        with torch.no_grad():
            loss = float(loss_fn(self.model_(x), y))
        self.loss_history_.append(loss)
        self.variables.loss.remote(masker.mask(np.array([loss * epoch_degree, epoch_degree]), f"loss.{t}"),
                                   role="arbiter", idx=0, suffix=(t,))
        flag = self.variables.has_converged.get(idx=0, suffix=(t,))
        if not isinstance(flag, bool):
            raise ValueError(f"has_converged from the arbiter should be a bool, got {type(flag).__name__}")
        self.ctx.logger.info("round %s: local loss %.6f of the aggregated model, converged %s", t, loss, flag)
        return flag

    # ---- the model --------------------------------------------------------------------------

    def _one_hot_width(self, labels: np.ndarray) -> int:
        return int(labels.max()) + 1 if self.params.encode_label else 1

    def _build(self, input_dim: int) -> None:
        from fate_flow.components.nn import layers

        p = self.params
        self.input_dim_ = int(input_dim)
        self.model_, self.output_dim_ = layers.build_model(p.config_type, p.nn_define, input_dim, INIT_SEED,
                                                           "nn_define")
        self.model_ = self.model_.float()

    def _loss(self):
        from fate_flow.components.nn import layers

        return layers.loss_function(self.params.loss or "mean_squared_error")

    def _flat_weights(self) -> np.ndarray:
        return np.concatenate([v.reshape(-1) for v in common.state_arrays(self.model_).values()]).astype(np.float64)

    def _set_flat_weights(self, flat: np.ndarray) -> None:
        arrays, start = {}, 0
        for name, value in common.state_arrays(self.model_).items():
            arrays[name] = flat[start:start + value.size].reshape(value.shape).astype(value.dtype)
            start += value.size
        common.load_state(self.model_, arrays, "server_model")

    def _client_index(self) -> int:
        clients = [(role, str(party)) for role in ("guest", "host") for party in self.ctx.parties(role)]
        return clients.index((self.role, str(self.ctx.party_id)))

    # ---- predict and model ------------------------------------------------------------------

    def predict(self, rows, kind: str):
        """FATE's prediction rows of this client's rows (one output unit: binary with the threshold)."""
        torch = self.torch
        if list(rows.header) != list(self.header_):
            raise ValueError(f"the data's features {rows.header} differ from the model's {self.header_}")
        self.model_.eval()
        with torch.no_grad():
            output = self.model_(torch.as_tensor(rows.features, dtype=torch.float32)).numpy()
        task = "classification" if output.shape[1] > 1 or self.num_label_ <= 2 else "regression"
        return common.prediction_rows(rows, output, task, self.params.predict_param.threshold, kind)

    def export_model(self) -> dict[str, Any] | None:
        if not hasattr(self, "model_"):
            return None
        p = self.params
        name, kwargs = optimizer_parts("optimizer", p.optimizer)
        import json

        nn_define = [json.dumps(p.nn_define)] if p.config_type == "keras" else [json.dumps(x) for x in p.nn_define]
        meta = {"aggregate_iter": self.aggregate_iter_, "params": {
            "secure_aggregate": p.secure_aggregate, "aggregate_every_n_epoch": p.aggregate_every_n_epoch,
            "config_type": p.config_type, "nn_define": nn_define, "batch_size": p.batch_size, "max_iter": p.max_iter,
            "early_stop": dict(p.early_stop), "metrics": list(p.metrics or []),
            "optimizer": {"optimizer": name, "args": json.dumps(kwargs)}, "loss": p.loss or "",
            "encode_label": p.encode_label}}
        arrays = {**common.state_arrays(self.model_), "__input_dim__": np.array([self.input_dim_]),
                  "__num_label__": np.array([self.num_label_])}
        param = {"saved_model_bytes": common.arrays_to_text(arrays), "header": list(self.header_),
                 "loss_history": [float(v) for v in self.loss_history_]}
        return {MODEL_META: meta, MODEL_PARAM: param}

    def load_model(self, messages: dict[str, Any]) -> None:
        """Rebuild the network from the saved definition and weights (a predict job)."""
        import json

        meta, param = messages.get(MODEL_META) or {}, messages.get(MODEL_PARAM)
        if not isinstance(param, dict):
            raise ValueError(f"the model input has no {MODEL_PARAM}")
        saved = meta.get("params") or {}
        p = self.params
        p.config_type = saved.get("config_type", p.config_type)
        defines = [json.loads(x) for x in saved.get("nn_define") or []]
        p.nn_define = defines[0] if p.config_type == "keras" and defines else defines
        arrays = common.text_to_arrays(param.get("saved_model_bytes"), "saved_model_bytes")
        input_dim = int(arrays.pop("__input_dim__")[0])
        self.num_label_ = int(arrays.pop("__num_label__")[0])
        self._build(input_dim)
        common.load_state(self.model_, arrays, "saved_model_bytes")
        self.header_ = list(param.get("header") or [])
        self.aggregate_iter_ = int(meta.get("aggregate_iter", 0))
        self.loss_history_ = list(param.get("loss_history") or [])


class HomoNNGuest(HomoNNClient):
    role = "guest"


class HomoNNHost(HomoNNClient):
    role = "host"


class HomoNNArbiter(HomoNNBase):
    """The server: relays the key agreement, averages the masked models, logs the loss, decides convergence."""

    role = "arbiter"

    def fit(self, table=None):
        p = self.params
        arbiter_relay_keys(self.variables)
        previous_loss, previous_weights = None, None
        self.loss_history_ = []
        for t in range(p.max_iter):
            total = unmask_sum(self.variables.client_model.get(idx=-1, suffix=(t,)), "client_model")
            if not total[-1] > 0:
                raise ValueError(f"the clients' weights sum to {total[-1]}")
            weights = total[:-1] / total[-1]
            self.variables.server_model.remote(weights, suffix=(t,))
            weighted, degree = unmask_sum(self.variables.loss.get(idx=-1, suffix=(t,)), "loss")
            loss = float(weighted / degree)
            self._log_loss(t, loss)
            converged = self._converged(loss, previous_loss, weights, previous_weights)
            previous_loss, previous_weights = loss, weights
            self.variables.has_converged.remote(bool(converged), suffix=(t,))
            self.ctx.tracker.set_progress(100 * (t + 1) / p.max_iter)
            if converged:
                break
        return None

    def export_model(self) -> dict[str, Any] | None:
        """The rounds and losses (FATE's server exports nothing; a predict job still finds a model here)."""
        if not hasattr(self, "loss_history_"):
            return None
        return {MODEL_META: {"aggregate_iter": len(self.loss_history_), "params": {}},
                MODEL_PARAM: {"saved_model_bytes": "", "header": [], "loss_history": list(self.loss_history_)}}

    def load_model(self, messages: dict[str, Any]) -> None:
        param = messages.get(MODEL_PARAM) or {}
        self.loss_history_ = [float(v) for v in param.get("loss_history") or []]

    def _log_loss(self, t: int, loss: float) -> None:
        tracker = self.ctx.tracker
        if not self.loss_history_:
            tracker.set_metric_meta("train", "loss", dict(LOSS_META))
        tracker.log_metric_data("train", "loss", [(t, loss)])
        self.loss_history_.append(loss)

    def _converged(self, loss: float, previous_loss, weights: np.ndarray, previous_weights) -> bool:
        rule, eps = self.params.early_stop["early_stop"], self.params.early_stop["eps"]
        if rule == "abs":
            return loss <= eps
        if rule == "diff":
            return previous_loss is not None and abs(loss - previous_loss) < eps
        return previous_weights is not None and float(np.linalg.norm(weights - previous_weights)) < eps
