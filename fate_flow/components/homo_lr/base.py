"""What HomoLR's guest, host and arbiter share: the run dispatch, the model messages, data reading.

``run`` follows FATE's ``ModelBase.run`` (components.md 1.4): with ``train_data`` it fits
(flowid "fit"), then predicts the training data (rows typed "train") and the ``eval_data``
if given (rows typed "validate"); with only ``eval_data`` (a predict job, the model given as
input) it predicts it (rows typed "predict"). A plain ``data`` input counts as train_data
without a model input and as eval_data with one (as the project's HeteroLR does). The
arbiter, which has no data, trains unless it only has eval data or a model input.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fate_flow.components.base import ComponentContext
from fate_flow.components.linear_model.common import LinearModelBase, lr_model_meta, named_weights
from fate_flow.components.homo_lr.transfer import HomoLRTransferVariable
from fate_flow.components.linear_model.partitioned import load_instances

MODEL_META = "HomoLogisticRegressionMeta"
MODEL_PARAM = "HomoLogisticRegressionParam"


class HomoLRBase(LinearModelBase):
    """One party of HomoLR. Subclasses implement ``fit(table)`` and ``predict(table, kind)``.

    Learned state: ``weights_`` (intercept last when it fits one; None on the arbiter),
    ``header_``, ``n_iter_``, ``is_converged_``, ``loss_history_``.
    """

    role = ""
    module_name = "HomoLR"
    transfer_class = HomoLRTransferVariable
    mode = "homo"

    # ---- shared pieces ----------------------------------------------------------------------

    @property
    def client_parties(self) -> list[tuple[str, Any]]:
        """(role, party id) of every client: the guests, then the hosts, in runtime-conf order."""
        return [(role, party) for role in ("guest", "host") for party in self.ctx.parties(role)]

    def is_aggregation_round(self, n_iter: int) -> bool:
        """Clients aggregate after every ``aggregate_iters`` epochs and after the last one."""
        return (n_iter + 1) % self.params.aggregate_iters == 0 or n_iter == self.params.max_iter - 1

    # ---- model ------------------------------------------------------------------------------

    def export_model(self) -> dict[str, Any] | None:
        """FATE's LRModelMeta / LRModelParam as dicts; None before fitting or loading."""
        if not hasattr(self, "n_iter_"):
            return None
        return {MODEL_META: self.model_meta(), MODEL_PARAM: self.model_param()}

    def load_data(self, table):
        return load_instances(self.ctx, table, self.module_name, refuse_empty=True)

    def export_unfitted(self) -> dict[str, Any]:
        """The model of a cross-validation job: the meta, and an empty param (FATE's unfitted object)."""
        self.fit_intercept_ = self.params.init_param.fit_intercept
        return {MODEL_META: self.model_meta(), MODEL_PARAM: {}}

    def model_meta(self) -> dict[str, Any]:
        return lr_model_meta(self.params, self.fit_intercept_, self.params.re_encrypt_batches)

    def model_param(self) -> dict[str, Any]:
        param = {"iters": self.n_iter_, "loss_history": [float(v) for v in self.loss_history_],
                 "is_converged": bool(self.is_converged_), "weight": {}, "intercept": 0.0, "header": [],
                 "need_one_vs_rest": False}
        if self.weights_ is not None:
            param["weight"], param["intercept"] = named_weights(self.weights_, self.header_, self.fit_intercept_)
            param["header"] = list(self.header_)
        return param

    def load_model(self, messages: dict[str, Any]) -> None:
        """Rebuild the state from a saved model (``weight[header[i]]``, then the intercept)."""
        param, meta = messages.get(MODEL_PARAM), messages.get(MODEL_META) or {}
        if not isinstance(param, dict):
            raise ValueError(f"the model input has no {MODEL_PARAM}")
        header = list(param.get("header") or [])
        weight = param.get("weight") or {}
        missing = [name for name in header if name not in weight]
        if missing:
            raise ValueError(f"the model's weight has no entry for feature {missing[0]!r}")
        self.fit_intercept_ = bool(meta.get("fit_intercept", True))
        coef = [float(weight[name]) for name in header]
        if self.fit_intercept_:
            coef.append(float(param.get("intercept", 0.0)))
        self.weights_ = np.array(coef, dtype=np.float64) if header else None
        self.header_ = header
        self.n_iter_ = int(param.get("iters", 0))
        self.is_converged_ = bool(param.get("is_converged", False))
        self.loss_history_ = [float(v) for v in param.get("loss_history") or []]

    # ---- checks -----------------------------------------------------------------------------

    def _refuse_unsupported(self, ctx: ComponentContext) -> None:
        p = self.params
        if getattr(p.stepwise_param, "need_stepwise", False):
            raise ValueError("stepwise_param.need_stepwise: stepwise is not supported by this HomoLR")
        n_clients = len(ctx.parties("guest")) + len(ctx.parties("host"))
        if n_clients < 2 or len(ctx.parties("arbiter")) != 1:
            raise ValueError(f"HomoLR needs an arbiter and at least two clients (guest and hosts) so that "
                             f"masks can hide each model, got roles {ctx.roles}")
