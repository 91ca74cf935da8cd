"""What HeteroLR's guest, host and arbiter share: the run dispatch, model messages, data reading.

``run`` follows FATE's ``ModelBase.run``: with ``train_data`` it fits (flowid "fit"), then
predicts the training data (flowid "validate", rows typed "train") and the ``eval_data``
if given (flowid "predict", rows typed "validate"); with only ``eval_data`` and a model
input (a predict job) it predicts it (flowid "predict", rows typed "predict"). A plain
``data`` input counts as train_data without a model and as eval_data with one.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fate_flow.components.base import ComponentContext
from fate_flow.components.linear_model.common import LinearModelBase, lr_model_meta, named_weights
from fate_flow.components.linear_model.partitioned import check_digests, load_instances, partition_digests
from fate_flow.components.linear_model.optim import ConvergeCheck, Optimizer, add_l2_term, apply_update
from fate_flow.components.hetero_lr.transfer import HeteroLRTransferVariable

MODEL_META = "HeteroLogisticRegressionMeta"
MODEL_PARAM = "HeteroLogisticRegressionParam"


class HeteroLRBase(LinearModelBase):
    """One party of HeteroLR. Subclasses implement ``fit(table)`` and ``predict(table, kind)``.

    Learned state: ``weights_`` (intercept last on a guest that fits one), ``header_``,
    ``n_iter_``, ``is_converged_``.
    """

    role = ""
    module_name = "HeteroLR"
    transfer_class = HeteroLRTransferVariable
    fits_intercept = False
    supports_one_vs_rest = True
    # what HeteroLinR and HeteroPoisson change when they reuse these parties
    model_meta_name = MODEL_META
    model_param_name = MODEL_PARAM
    forward_name = "host_forward_dict"  # host -> guest per-row [[forward]]
    predict_name = "host_prob"  # host -> guest plain partial scores when predicting

    # ---- shared training pieces ---------------------------------------------------------

    @property
    def n_hosts(self) -> int:
        return len(self.ctx.parties("host"))

    @property
    def forward_variable(self):
        return getattr(self.variables, self.forward_name)

    @property
    def predict_variable(self):
        return getattr(self.variables, self.predict_name)

    @property
    def computes_loss(self) -> bool:
        """FATE computes the loss only with one host (cross terms between hosts are unknown)."""
        return self.n_hosts == 1

    def make_converge_check(self) -> ConvergeCheck:
        return ConvergeCheck(self.params.early_stop, self.params.tol)

    def iterate(self, batch_num: int, train_batch) -> None:
        """The guest's and hosts' training loop: every batch per iteration, then the arbiter's verdict.

        ``train_batch(optimizer, batch, suffix)`` runs batch number ``batch`` and returns the update it applied.
        """
        p = self.params
        optimizer = self.make_optimizer()
        self.is_converged_, self.n_iter_ = False, 0
        for n_iter in range(p.max_iter):
            optimizer.set_iters(n_iter)
            delta_sum = np.zeros_like(self.weights_)
            for batch in range(batch_num):
                delta_sum += train_batch(optimizer, batch, (n_iter, batch))
                if p.optimizer == "sqn":  # batches, sizes, public key: kept by fit for the curvature pairs
                    batches, sizes, public_key = self.sqn_inputs_
                    optimizer.after_batch(batches[batch], int(sizes[:, batch].sum()), public_key)
            self.is_converged_ = self.sync_convergence(n_iter, delta_sum)
            self.n_iter_ = n_iter + 1
            self.ctx.logger.info("iter %s done, is_converged %s", n_iter, self.is_converged_)
            self.report_progress(n_iter)
            if self.validation_step(n_iter):
                break
            if self.is_converged_:
                break

    def make_optimizer(self):
        """The parties' optimizer: FATE's, or ``linear_model.sqn``'s for ``sqn``."""
        p = self.params
        if p.optimizer == "sqn":
            from fate_flow.components.linear_model.sqn import SqnOptimizer

            return SqnOptimizer(self)
        return Optimizer(p.optimizer, p.learning_rate, p.decay, p.decay_sqrt)

    def step(self, optimizer: Optimizer, gradient_sum: np.ndarray, n_rows: int) -> np.ndarray:
        """Mean gradient (+ the L2 term) -> optimizer -> new ``weights_``; returns the update."""
        p = self.params
        grad = add_l2_term(gradient_sum / max(n_rows, 1), self.weights_, p.penalty, p.alpha, self.fits_intercept)
        delta = optimizer.apply(grad)
        self.weights_ = apply_update(self.weights_, delta, p.penalty, p.alpha, p.learning_rate,
                                     optimizer.iters, self.fits_intercept)
        return delta

    def load_data(self, table):
        return load_instances(self.ctx, table, self.module_name)

    def load_train_data(self, table):
        """The train data as persisted partitions (sorted by id), kept for scoring it after the fit."""
        self.train_input_, self.train_data_ = table, load_instances(self.ctx, table, self.module_name)
        return self.train_data_

    def load_eval_data(self, table):
        """Data to score: the fit's partitions when it is the train data, else loaded now."""
        if getattr(self, "train_input_", None) is table:
            return self.train_data_
        return load_instances(self.ctx, table, self.module_name)

    def check_ids_match(self, data, own_variable, other_variable, who: str) -> None:
        """Swap the per-partition id digests with the other side and fail clearly if any partition differs."""
        own = partition_digests(data.table)
        if self.role == "guest":
            own_variable.remote(own, role="host")
            for index, digests in enumerate(other_variable.get(idx=-1)):
                check_digests(own, digests, f"host {self.ctx.parties('host')[index]}")
        else:
            own_variable.remote(own, role="guest", idx=0)
            check_digests(own, other_variable.get(idx=0), who)

    def sync_convergence(self, n_iter: int, delta_sum: np.ndarray) -> bool:
        """Send this party's squared update norm (weight_diff only) and get the arbiter's verdict."""
        if self.params.early_stop == "weight_diff":
            self.variables.delta_norm.remote(float(np.dot(delta_sum, delta_sum)), role="arbiter", idx=0,
                                             suffix=(n_iter,))
        flag = self.variables.converge_flag.get(idx=0, suffix=(n_iter,))
        if not isinstance(flag, bool):
            raise ValueError(f"converge_flag from the arbiter should be a bool, got {type(flag).__name__}")
        return flag

    # ---- model ----------------------------------------------------------------------------

    def export_model(self) -> dict[str, Any] | None:
        """FATE's LRModelMeta / LRModelParam as dicts; None before fitting or loading."""
        if getattr(self, "weights_", None) is None:
            return None
        return {self.model_meta_name: self.model_meta(), self.model_param_name: self.model_param()}

    def export_unfitted(self) -> dict[str, Any]:
        """The model of a cross-validation job: the meta, and an empty param (FATE's unfitted object)."""
        self.fits_intercept = self.role == "guest" and self.params.init_param.fit_intercept
        return {self.model_meta_name: self.model_meta(), self.model_param_name: {}}

    def model_meta(self) -> dict[str, Any]:
        return lr_model_meta(self.params, self.fits_intercept, re_encrypt_batches=0)

    def model_param(self) -> dict[str, Any]:
        weight, intercept = named_weights(self.weights_, self.header_, self.fits_intercept)
        param = {"iters": self.n_iter_, "loss_history": [], "is_converged": self.is_converged_,
                 "weight": weight, "header": list(self.header_), "need_one_vs_rest": False,
                 "best_iteration": getattr(self, "best_iteration_", -1)}
        if self.fits_intercept:
            param["intercept"] = intercept
        return param

    def load_model(self, messages: dict[str, Any]) -> None:
        """Rebuild the weights from a saved model (``weight[header[i]]``, then the intercept)."""
        param, meta = messages.get(self.model_param_name), messages.get(self.model_meta_name) or {}
        if param is None:
            raise ValueError(f"the model input has no {self.model_param_name}")
        self.load_model_meta(meta)
        header = list(param.get("header") or [])
        weight = param.get("weight") or {}
        missing = [name for name in header if name not in weight]
        if missing:
            raise ValueError(f"the model's weight has no entry for feature {missing[0]!r}")
        coef = [float(weight[name]) for name in header]
        self.fits_intercept = self.role == "guest" and bool(meta.get("fit_intercept", True))
        if self.fits_intercept:
            coef.append(float(param.get("intercept", 0.0)))
        self.weights_ = np.array(coef, dtype=np.float64)
        self.header_ = header
        self.n_iter_ = int(param.get("iters", 0))
        self.is_converged_ = bool(param.get("is_converged", False))

    def load_model_meta(self, meta: dict[str, Any]) -> None:
        """What a subclass keeps from the saved meta besides fit_intercept (nothing for HeteroLR)."""

    # ---- checks ---------------------------------------------------------------------------

    def _refuse_unsupported(self, ctx: ComponentContext) -> None:
        p = self.params
        if p.encrypt_param.method is None:
            raise ValueError(f"encrypt_param.method None is not supported: {self.module_name} needs Paillier")
        if not ctx.parties("host") or not ctx.parties("arbiter"):
            raise ValueError(f"{self.module_name} needs a guest, at least one host and an arbiter, got roles {ctx.roles}")
        if len(ctx.parties("host")) > 1 and p.early_stop != "weight_diff":
            raise ValueError(f"early_stop {p.early_stop!r} needs the loss, which is not computed with several "
                             f"hosts; use early_stop 'weight_diff'")
