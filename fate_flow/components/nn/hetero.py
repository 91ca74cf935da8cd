"""HeteroNN: a guest (labels, optional bottom model, interactive layer, top model) and one host
(bottom model) train one network over vertically split rows (components_more.md 3.8).

The interactive layer is one Dense layer ``act(alpha_g W_g + alpha_h (W_h + A) + b)``. The
guest holds W_g, W_h and b; the host holds the Paillier key and the accumulated noise A, so
the true host block W_h + A is known to neither alone. Per batch (suffix ``(epoch, batch)``):
the host sends Enc(alpha_h), packed by columns and by rows, and Enc(A) (encrypted as one batch);
the guest returns Enc(alpha_h W_h + b) + eps; the host decrypts and adds alpha_h A; the guest removes eps, runs
the activation and the top model, and backpropagates to delta = dLoss/dz per row (the gradient
of the summed loss). The guest's block and bottom model update in the clear; for the host block
the guest sends, in one message, Enc(alpha_h^T delta / n) + eps_w and the host's input gradient
Enc(delta (W_h + A)^T) (both taken before the update, as FATE does); the host returns the first
decrypted plus eta / lr, then A += eta; the guest updates W_h -= lr (grad + eta / lr), so that
W_h + A moves by exactly -lr grad. The host decrypts its input gradient and trains its bottom
model on it (divided by the batch rows).

FATE sends Enc(A) after the weight gradient (``encrypted_acc_noise``) and the input gradient
in a message of its own (``host_backward``); both values are the same here, carried in the
messages that go the same way one step earlier, so that a batch costs five messages and the
guest's three products (see ``crypto``) run on data it already has. Every matrix the host decrypts
travels packed, many values to a ciphertext, and the host sends alpha_h in the two packings the guest's
products need (``crypto``): the values each party learns are those above.

Epoch loss: the mean of the batch losses of the forward pass (taken before the batch's update,
where FATE repeats the encrypted forward for an evaluation pass after it). The guest logs it
(namespace "train", name "loss", type LOSS) and stops on ``early_stop`` "diff" with ``tol``.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.linear_model.common import LOSS_META, model_messages
from fate_flow.components.nn import common, crypto
from fate_flow.components.nn.param import optimizer_parts
from fate_flow.components.nn.torch_support import require_torch
from fate_flow.components.nn.transfer import HeteroNNTransferVariable

MODULE = "HeteroNN"
GUEST_META, GUEST_PARAM = "HeteroNNGuestMeta", "HeteroNNGuestParam"
HOST_META, HOST_PARAM = "HeteroNNHostMeta", "HeteroNNHostParam"
INIT_SEED = 0
NOISE_BOUND = 2.0 ** 10  # eps, eps_w: uniform in [-2^10, 2^10] as FATE draws them


class HeteroNNBase(ComponentBase):
    """Run dispatch as FATE's ModelBase: fit then score the train data; score eval data."""

    role = ""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        p = self.params
        p.check()
        if p.cv_param.need_cv:
            raise ValueError("cv_param.need_cv: cross validation is not supported by this HeteroNN")
        if len(ctx.parties("guest")) != 1 or len(ctx.parties("host")) != 1:
            raise ValueError(f"HeteroNN needs exactly one guest and one host, got {ctx.roles}")
        if p.validation_freqs is not None:
            ctx.logger.warning("validation_freqs is ignored: this HeteroNN does not validate during training")
        self.torch = require_torch(MODULE)
        self.ctx, self.variables = ctx, HeteroNNTransferVariable(ctx.federation)
        self.rng = np.random.default_rng()
        data, models = inputs.get("data") or {}, inputs.get("model") or {}
        if models:
            self.load_model(model_messages(models))
        train_key, eval_key = common.data_keys(data, bool(models), self.role, MODULE)
        if train_key is None and not hasattr(self, "bottom_") and not hasattr(self, "top_"):
            raise ValueError("HeteroNN got eval_data but no model: give it a model input or train_data")
        results, sid = [], "id"
        if train_key is not None:
            rows = common.load_rows(data.get(train_key), MODULE)
            sid = rows.sid_name
            self.variables.set_flowid("fit")
            self.fit(rows)
            self.variables.set_flowid("predict_train")
            results.append(self.predict(rows, "train"))
        if eval_key is not None:
            rows = common.load_rows(data.get(eval_key), MODULE)
            sid = rows.sid_name
            self.variables.set_flowid("predict_eval")
            results.append(self.predict(rows, "validate" if train_key is not None else "predict"))
        return ComponentOutput(data=common.output_data(results, sid), model=self.export_model())

    def _build(self, define, input_dim: int, what: str):
        from fate_flow.components.nn import layers

        model, width = layers.build_model("keras", define, input_dim, INIT_SEED, what)
        return model.float(), width

    def _optimizer(self, model):
        from fate_flow.components.nn import layers

        name, kwargs = optimizer_parts("optimizer", self.params.optimizer)
        return layers.optimizer(name, kwargs, model.parameters())

    def _meta(self, full: bool) -> dict[str, Any]:
        p = self.params
        name, kwargs = optimizer_parts("optimizer", p.optimizer)
        meta = {"config_type": p.config_type, "bottom_nn_define": [json.dumps(p.bottom_nn_define)]
                if p.bottom_nn_define else [], "optimizer_param": {"optimizer": name, "kwargs": json.dumps(kwargs)},
                "interactive_layer_lr": float(p.interactive_layer_lr)}
        if full:
            meta.update({"interactive_layer_define": json.dumps(p.interactive_layer_define),
                         "top_nn_define": [json.dumps(p.top_nn_define)], "metrics": list(p.metrics or []),
                         "loss": p.loss or ""})
        return {"hetero_nn_model_meta": meta, "task_type": p.task_type, "batch_size": p.batch_size,
                "epochs": p.epochs, "early_stop": p.early_stop, "tol": float(p.tol)}


class HeteroNNHost(HeteroNNBase):
    """The host: its bottom model, the Paillier key and the accumulated noise A of the interactive layer."""

    role = "host"

    def _keys(self) -> None:
        from fate_flow.secureprotol.paillier import generate_keypair

        self.public_key, self.private_key = generate_keypair(self.params.encrypt_param.key_length)
        self.variables.paillier_pubkey.remote(self.public_key.to_bytes(), role="guest", idx=0)

    def fit(self, rows) -> None:
        torch, p = self.torch, self.params
        if p.bottom_nn_define is None:
            raise ValueError("bottom_nn_define: the host needs a bottom model")
        self.header_ = list(rows.header)
        self.bottom_, self.output_dim_ = self._build(p.bottom_nn_define, rows.n_features, "bottom_nn_define")
        self.input_dim_ = rows.n_features
        optim = self._optimizer(self.bottom_)
        self._keys()
        batches = self._batches(rows)
        self.acc_noise_, self.iter_epoch_, self.is_converged_ = None, 0, False
        x_all = torch.as_tensor(rows.features, dtype=torch.float32)
        for epoch in range(p.epochs):
            for j, index in enumerate(batches):
                self._train_batch(optim, x_all[index], (epoch, j))
            self.iter_epoch_ = epoch + 1
            self.is_converged_ = bool(self.variables.is_converge.get(idx=0, suffix=(epoch,)))
            self.ctx.tracker.set_progress(100 * (epoch + 1) / p.epochs)
            if self.is_converged_:
                break

    def _batches(self, rows) -> list[np.ndarray]:
        """The guest's batches as positions in this host's rows (ids it does not hold are an error)."""
        position = {key: i for i, key in enumerate(rows.ids.to_pylist())}
        info = self.variables.batch_info.get(idx=0)
        out = []
        for j in range(int(info["batch_num"])):
            ids = self.variables.batch_data_index.get(idx=0, suffix=(j,))
            missing = [key for key in ids if key not in position]
            if missing:
                raise ValueError(f"the guest's batch holds id {missing[0]!r} that this host does not have: "
                                 f"run an Intersection before HeteroNN")
            out.append(np.array([position[key] for key in ids], dtype=np.int64))
        return out

    def _forward(self, alpha: np.ndarray, suffix: tuple, with_acc_noise: bool = False) -> None:
        """Steps 1 and 3: send Enc(alpha_h) (in training also by rows, and Enc(A): one encryption batch),
        decrypt the guest's answer and add alpha_h A."""
        if self.acc_noise_ is None:
            units = int(self.variables.batch_info.get(idx=0, suffix=("units",)))
            self.acc_noise_ = np.zeros((alpha.shape[1], units))
        by_columns, by_rows, enc_acc = crypto.encrypt_layer_inputs(
            self.public_key, alpha, self.acc_noise_ if with_acc_noise else None)
        message = {"alpha": by_columns.to_wire()}
        if with_acc_noise:
            message.update(alpha_rows=by_rows.to_wire(), encrypted_acc_noise=enc_acc.to_wire())
        self.variables.encrypted_host_forward.remote(message, role="guest", idx=0, suffix=suffix)
        units = self.acc_noise_.shape[1]
        answer = crypto.unpack_decrypt(self.private_key, self.variables.encrypted_guest_forward.get(idx=0, suffix=suffix),
                                       "encrypted_guest_forward", (units, alpha.shape[0])).T
        plain = answer + alpha @ self.acc_noise_
        self.variables.decrypted_guest_fowrad.remote(plain, role="guest", idx=0, suffix=suffix)

    def _train_batch(self, optim, x, suffix: tuple) -> None:
        torch, p = self.torch, self.params
        self.bottom_.train()
        alpha = self.bottom_(x)
        self._forward(alpha.detach().numpy().astype(np.float64), suffix, with_acc_noise=True)
        h, units = self.acc_noise_.shape
        message = self.variables.encrypted_guest_weight_gradient.get(idx=0, suffix=suffix)
        if not isinstance(message, dict):
            raise ValueError("encrypted_guest_weight_gradient should be {\"weight_gradient\", \"host_backward\"}")
        gradient = crypto.unpack_decrypt(self.private_key, message.get("weight_gradient"),
                                         "encrypted_guest_weight_gradient", (units, h)).T
        lr = float(p.interactive_layer_lr)
        eta = self.rng.uniform(-1.0, 1.0, size=(h, units))
        self.variables.decrypted_guest_weight_gradient.remote(gradient + eta / lr, role="guest", idx=0, suffix=suffix)
        self.acc_noise_ = self.acc_noise_ + eta
        grad = crypto.unpack_decrypt(self.private_key, message.get("host_backward"), "host_backward",
                                     (h, x.shape[0])).T / x.shape[0]
        optim.zero_grad()
        alpha.backward(torch.as_tensor(grad, dtype=alpha.dtype))
        optim.step()

    def predict(self, rows, kind: str):
        """Take part in the guest's forward pass over its ids; the host outputs no rows."""
        torch = self.torch
        self._keys()
        position = {key: i for i, key in enumerate(rows.ids.to_pylist())}
        ids = self.variables.batch_data_index.get(idx=0, suffix=("predict",))
        missing = [key for key in ids if key not in position]
        if missing:
            raise ValueError(f"the guest predicts id {missing[0]!r} that this host does not have")
        x = torch.as_tensor(rows.features[[position[key] for key in ids]], dtype=torch.float32)
        self.bottom_.eval()
        with torch.no_grad():
            alpha = self.bottom_(x).numpy().astype(np.float64)
        self._forward(alpha, ("predict",))
        return None

    def export_model(self) -> dict[str, Any] | None:
        if not hasattr(self, "bottom_"):
            return None
        h, units = self.acc_noise_.shape
        param = {"hetero_nn_model_param": {
            "bottom_saved_model_bytes": common.arrays_to_text(common.state_arrays(self.bottom_)),
            "interactive_layer_param": {"acc_noise": common.arrays_to_text({"acc_noise": self.acc_noise_}),
                                        "host_input_shape": h, "interactive_host_saved_model_bytes": "",
                                        "interactive_guest_saved_model_bytes": "", "guest_input_shape": 0},
            "top_saved_model_bytes": "", "is_empty": False, "bottom_model_input_shape": self.input_dim_,
            "top_model_input_shape": units},
            "iter_epoch": self.iter_epoch_, "history_loss": [], "is_converged": self.is_converged_,
            "header": list(self.header_), "num_label": 0, "best_iteration": -1}
        return {HOST_META: self._meta(full=False), HOST_PARAM: param}

    def load_model(self, messages: dict[str, Any]) -> None:
        meta, param = messages.get(HOST_META) or {}, messages.get(HOST_PARAM)
        if not isinstance(param, dict) or "hetero_nn_model_param" not in param:
            raise ValueError(f"the model input has no {HOST_PARAM}")
        model = param["hetero_nn_model_param"]
        defines = (meta.get("hetero_nn_model_meta") or {}).get("bottom_nn_define") or []
        if not defines:
            raise ValueError(f"{HOST_META} has no bottom_nn_define")
        self.params.bottom_nn_define = json.loads(defines[0])
        self.input_dim_ = int(model["bottom_model_input_shape"])
        self.bottom_, self.output_dim_ = self._build(self.params.bottom_nn_define, self.input_dim_, "bottom_nn_define")
        common.load_state(self.bottom_, common.text_to_arrays(model["bottom_saved_model_bytes"], "bottom model"),
                          "bottom_saved_model_bytes")
        self.acc_noise_ = common.text_to_arrays(model["interactive_layer_param"]["acc_noise"], "acc_noise")["acc_noise"]
        self.header_ = list(param.get("header") or [])
        self.iter_epoch_, self.is_converged_ = int(param.get("iter_epoch", 0)), bool(param.get("is_converged"))


class HeteroNNGuest(HeteroNNBase):
    """The guest: labels, optional bottom model, the interactive layer's W_g, W_h, b, and the top model."""

    role = "guest"

    def fit(self, rows) -> None:
        torch, p = self.torch, self.params
        labels = common.labels_of(rows, MODULE)
        self.header_ = list(rows.header)
        self._init_models(rows, labels)
        y_all = torch.as_tensor(common.target_matrix(labels, self.num_label_, self.num_label_ > 2),
                                dtype=torch.float32)
        x_all = torch.as_tensor(rows.features, dtype=torch.float32)
        batches = self._send_batches(rows)
        public_key = self._public_key()
        optimizers = [self._optimizer(self.top_)] + ([self._optimizer(self.bottom_)] if self.bottom_ else [])
        self.loss_fn_ = self._loss()
        self.history_loss_, self.iter_epoch_, self.is_converged_ = [], 0, False
        tracker = self.ctx.tracker
        tracker.set_metric_meta("train", "loss", dict(LOSS_META))
        for epoch in range(p.epochs):
            losses = [self._train_batch(public_key, optimizers, x_all[index], y_all[index], (epoch, j))
                      for j, index in enumerate(batches)]
            loss = float(np.mean(losses))
            tracker.log_metric_data("train", "loss", [(epoch, loss)])
            self.is_converged_ = bool(self.history_loss_) and abs(loss - self.history_loss_[-1]) < p.tol
            self.history_loss_.append(loss)
            self.iter_epoch_ = epoch + 1
            self.variables.is_converge.remote(self.is_converged_, role="host", idx=0, suffix=(epoch,))
            self.ctx.logger.info("epoch %s: loss %.6f", epoch, loss)
            tracker.set_progress(100 * (epoch + 1) / p.epochs)
            if self.is_converged_:
                break

    # ---- setup ------------------------------------------------------------------------------

    def _init_models(self, rows, labels: np.ndarray) -> None:
        from fate_flow.components.nn import layers

        p = self.params
        if p.interactive_layer_define is None or p.top_nn_define is None:
            raise ValueError("interactive_layer_define and top_nn_define are required on the guest")
        self.num_label_ = 1 if p.task_type == "regression" else int(len(np.unique(labels)))
        self.input_dim_ = rows.n_features
        self.bottom_, self.guest_width_ = (None, 0) if p.bottom_nn_define is None or rows.n_features == 0 else \
            self._build(p.bottom_nn_define, rows.n_features, "bottom_nn_define")
        name, config = layers.keras_layers(p.interactive_layer_define, "interactive_layer_define")[0]
        if name.lower() != "dense":
            raise ValueError(f"interactive_layer_define layer 0 should be a Dense layer, got {name}")
        self.interactive_config_ = config
        self.units_ = int(config.get("units", 0))
        if self.units_ < 1:
            raise ValueError("interactive_layer_define: units should be a positive integer")
        self.top_, _ = self._build(p.top_nn_define, self.units_, "top_nn_define")
        self.w_g_ = self._initial(config.get("kernel_initializer", "glorot_uniform"), (self.guest_width_, self.units_))
        self.w_h_ = None  # shaped when the host's width is known
        use_bias = bool(config.get("use_bias", True))
        self.bias_ = self._initial(config.get("bias_initializer", "zeros"), (self.units_,)) if use_bias \
            else np.zeros(self.units_)
        self.use_bias_ = use_bias

    def _initial(self, spec, shape) -> np.ndarray:
        from fate_flow.components.nn import layers

        generator = self.torch.Generator().manual_seed(INIT_SEED + 1)
        return layers.initial_values(spec, shape, generator, "interactive_layer_define").astype(np.float64)

    def _public_key(self):
        from fate_flow.secureprotol.paillier import PaillierPublicKey

        return PaillierPublicKey.from_bytes(self.variables.paillier_pubkey.get(idx=0))

    def _send_batches(self, rows) -> list[np.ndarray]:
        n, size = len(rows), self.params.batch_size
        size = n if size == -1 or size >= n else size
        batches = [np.arange(start, min(start + size, n)) for start in range(0, n, size)]
        self.variables.batch_info.remote({"batch_size": size, "batch_num": len(batches)}, role="host", idx=0)
        ids = rows.ids.to_pylist()
        for j, index in enumerate(batches):
            self.variables.batch_data_index.remote([ids[i] for i in index], role="host", idx=0, suffix=(j,))
        self.variables.batch_info.remote(self.units_, role="host", idx=0, suffix=("units",))
        return batches

    def _loss(self):
        from fate_flow.components.nn import layers

        default = "mean_squared_error" if self.params.task_type == "regression" else \
            ("binary_crossentropy" if self.num_label_ <= 2 else "categorical_crossentropy")
        return layers.loss_function(self.params.loss or default)

    # ---- the interactive layer --------------------------------------------------------------

    def _host_part(self, public_key, suffix: tuple, n_rows: int):
        """Steps 2-3: (Enc(alpha_h) by rows and Enc(A), both None outside training, z_h = alpha_h (W_h + A) + b)."""
        message = self.variables.encrypted_host_forward.get(idx=0, suffix=suffix)
        if not isinstance(message, dict):
            raise ValueError("encrypted_host_forward should be {\"alpha\": ..., \"alpha_rows\": ..., "
                             "\"encrypted_acc_noise\": ...}")
        by_columns = crypto.PackedMatrix.from_wire(public_key, message.get("alpha"), "encrypted_host_forward",
                                                   (None, n_rows))
        h = by_columns.shape[0]
        if self.w_h_ is None:
            self.w_h_ = self._initial(self.interactive_config_.get("kernel_initializer", "glorot_uniform"),
                                      (h, self.units_))
        if h != self.w_h_.shape[0]:
            raise ValueError(f"encrypted_host_forward has {h} columns, the host block {self.w_h_.shape[0]}")
        by_rows = acc = None
        if message.get("encrypted_acc_noise") is not None:
            by_rows = crypto.PackedMatrix.from_wire(public_key, message.get("alpha_rows"), "alpha_rows", (n_rows, h))
            acc = crypto.PackedMatrix.from_wire(public_key, message["encrypted_acc_noise"], "encrypted_acc_noise",
                                                (h, self.units_))
        eps = self.rng.uniform(-NOISE_BOUND, NOISE_BOUND, size=(n_rows, self.units_))
        z_enc = crypto.forward(by_columns, self.w_h_, self.bias_[None, :] + eps)
        self.variables.encrypted_guest_forward.remote(z_enc.to_wire(), role="host", idx=0, suffix=suffix)
        plain = np.asarray(self.variables.decrypted_guest_fowrad.get(idx=0, suffix=suffix), dtype=np.float64)
        if plain.shape != eps.shape:
            raise ValueError(f"decrypted_guest_fowrad has shape {plain.shape}, expected {eps.shape}")
        return by_rows, acc, plain - eps

    def _forward(self, public_key, x, suffix: tuple):
        """(alpha_g tensor or None, z as a leaf tensor, top output, Enc(alpha_h) by rows and Enc(A), or None)."""
        torch = self.torch
        alpha_rows, acc, z_h = self._host_part(public_key, suffix, x.shape[0])
        alpha_g = self.bottom_(x) if self.bottom_ is not None else None
        z = z_h if alpha_g is None else z_h + alpha_g.detach().numpy().astype(np.float64) @ self.w_g_
        z = torch.tensor(z, dtype=torch.float32, requires_grad=True)
        from fate_flow.components.nn import layers

        out = layers.activation(self.interactive_config_.get("activation"))(z)
        return alpha_g, z, self.top_(out), alpha_rows, acc

    def _train_batch(self, public_key, optimizers, x, y, suffix: tuple) -> float:
        torch, lr = self.torch, float(self.params.interactive_layer_lr)
        self.top_.train()
        if self.bottom_ is not None:
            self.bottom_.train()
        for optim in optimizers:
            optim.zero_grad()
        alpha_g, z, prediction, alpha_rows, acc = self._forward(public_key, x, suffix)
        if acc is None:
            raise ValueError("encrypted_host_forward of a training batch has no encrypted_acc_noise")
        n = x.shape[0]
        loss = self.loss_fn_(prediction, y)
        loss.backward()  # top model gradients, and dLoss/dz (of the batch mean)
        optimizers[0].step()
        delta = z.grad.numpy().astype(np.float64) * n  # per row: the gradient of the summed loss
        if alpha_g is not None:
            a_g = alpha_g.detach().numpy().astype(np.float64)
            alpha_g.backward(torch.as_tensor(delta @ self.w_g_.T / n, dtype=alpha_g.dtype))
            optimizers[1].step()
            self.w_g_ = self.w_g_ - lr * (a_g.T @ delta / n)
        # the host block: Enc(alpha_h^T delta / n) + eps_w, and the host's input gradient
        # Enc(delta (W_h + A)^T) = delta Enc(A)^T + delta W_h^T, both before the update, in one message
        eps_w = self.rng.uniform(-NOISE_BOUND, NOISE_BOUND, size=self.w_h_.shape)
        gradient = crypto.weight_gradient(alpha_rows, delta / n, eps_w)
        backward = crypto.backward(acc, delta, delta @ self.w_h_.T)
        self.variables.encrypted_guest_weight_gradient.remote(
            {"weight_gradient": gradient.to_wire(), "host_backward": backward.to_wire()}, role="host", idx=0,
            suffix=suffix)
        noisy = np.asarray(self.variables.decrypted_guest_weight_gradient.get(idx=0, suffix=suffix), dtype=np.float64)
        if noisy.shape != self.w_h_.shape:
            raise ValueError(f"decrypted_guest_weight_gradient has shape {noisy.shape}, expected {self.w_h_.shape}")
        self.w_h_ = self.w_h_ - lr * (noisy - eps_w)
        if self.use_bias_:
            self.bias_ = self.bias_ - lr * delta.sum(axis=0) / n
        return float(loss.detach())

    # ---- predict and model ------------------------------------------------------------------

    def predict(self, rows, kind: str):
        torch = self.torch
        public_key = self._public_key()
        self.variables.batch_data_index.remote(rows.ids.to_pylist(), role="host", idx=0, suffix=("predict",))
        self.top_.eval()
        if self.bottom_ is not None:
            self.bottom_.eval()
        x = torch.as_tensor(rows.features, dtype=torch.float32)
        with torch.no_grad():
            _, _, prediction, _, _ = self._forward(public_key, x, ("predict",))
        task = self.params.task_type
        return common.prediction_rows(rows, prediction.detach().numpy(), task, self.params.predict_param.threshold,
                                      kind)

    def export_model(self) -> dict[str, Any] | None:
        if not hasattr(self, "top_"):
            return None
        interactive = {"w_g": self.w_g_, "w_h": self.w_h_, "bias": self.bias_}
        param = {"hetero_nn_model_param": {
            "bottom_saved_model_bytes": common.arrays_to_text(common.state_arrays(self.bottom_))
            if self.bottom_ is not None else "",
            "interactive_layer_param": {"acc_noise": "", "interactive_guest_saved_model_bytes":
                                        common.arrays_to_text(interactive), "interactive_host_saved_model_bytes": "",
                                        "host_input_shape": int(self.w_h_.shape[0]),
                                        "guest_input_shape": int(self.guest_width_)},
            "top_saved_model_bytes": common.arrays_to_text(common.state_arrays(self.top_)),
            "is_empty": self.bottom_ is None, "bottom_model_input_shape": int(self.input_dim_),
            "top_model_input_shape": int(self.units_)},
            "iter_epoch": self.iter_epoch_, "history_loss": [float(v) for v in self.history_loss_],
            "is_converged": bool(self.is_converged_), "header": list(self.header_), "num_label": self.num_label_,
            "best_iteration": -1}
        return {GUEST_META: self._meta(full=True), GUEST_PARAM: param}

    def load_model(self, messages: dict[str, Any]) -> None:
        from fate_flow.components.nn import layers

        meta, param = messages.get(GUEST_META) or {}, messages.get(GUEST_PARAM)
        if not isinstance(param, dict) or "hetero_nn_model_param" not in param:
            raise ValueError(f"the model input has no {GUEST_PARAM}")
        model, nn_meta, p = param["hetero_nn_model_param"], meta.get("hetero_nn_model_meta") or {}, self.params
        p.task_type = meta.get("task_type", p.task_type)
        p.bottom_nn_define = json.loads(nn_meta["bottom_nn_define"][0]) if nn_meta.get("bottom_nn_define") else None
        p.interactive_layer_define = json.loads(nn_meta["interactive_layer_define"])
        p.top_nn_define = json.loads(nn_meta["top_nn_define"][0])
        self.input_dim_ = int(model["bottom_model_input_shape"])
        self.bottom_, self.guest_width_ = (None, 0)
        if not model.get("is_empty") and p.bottom_nn_define is not None:
            self.bottom_, self.guest_width_ = self._build(p.bottom_nn_define, self.input_dim_, "bottom_nn_define")
            common.load_state(self.bottom_, common.text_to_arrays(model["bottom_saved_model_bytes"], "bottom model"),
                              "bottom_saved_model_bytes")
        _, self.interactive_config_ = layers.keras_layers(p.interactive_layer_define, "interactive_layer_define")[0]
        self.units_ = int(model["top_model_input_shape"])
        self.top_, _ = self._build(p.top_nn_define, self.units_, "top_nn_define")
        common.load_state(self.top_, common.text_to_arrays(model["top_saved_model_bytes"], "top model"),
                          "top_saved_model_bytes")
        inter = common.text_to_arrays(model["interactive_layer_param"]["interactive_guest_saved_model_bytes"],
                                      "interactive layer")
        self.w_g_, self.w_h_, self.bias_ = inter["w_g"], inter["w_h"], inter["bias"]
        self.use_bias_ = bool(self.interactive_config_.get("use_bias", True))
        self.header_ = list(param.get("header") or [])
        self.num_label_ = int(param.get("num_label", 1))
        self.iter_epoch_, self.is_converged_ = int(param.get("iter_epoch", 0)), bool(param.get("is_converged"))
        self.history_loss_ = list(param.get("history_loss") or [])

