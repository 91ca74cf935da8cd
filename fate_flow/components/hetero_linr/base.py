"""What HeteroLinR changes in HeteroLR's parties: names, model messages, checks, and the regression rows.

Each HeteroLinR party is ``class X(HeteroLinRMixin, HeteroLRX)``: the protocol loop, batches,
masking, optimizers and convergence are HeteroLR's; this mixin puts in FATE's LinR model
messages (``HeteroLinearRegressionMeta`` / ``HeteroLinearRegressionParam``) and variable names.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.hetero_linr.transfer import HeteroLinRTransferVariable
from fate_flow.components.linear_model.common import named_weights
from fate_flow.components.linear_model.partitioned import _float_text, _number_text


class HeteroLinRMixin:
    """FATE's HeteroLinR names and model layout over HeteroLR's parties."""

    module_name = "HeteroLinR"
    transfer_class = HeteroLinRTransferVariable
    model_meta_name = "HeteroLinearRegressionMeta"
    model_param_name = "HeteroLinearRegressionParam"
    forward_name = "host_forward"
    predict_name = "host_partial_prediction"
    # the sqn optimizer's Hessian of the squared loss is X^T X: its forward f = 1 * (X s) (LR's is 0.25)
    sqn_hess_factor = 1.0

    def model_meta(self) -> dict[str, Any]:
        """FATE's LinRModelMeta."""
        p = self.params
        return {"penalty": p.penalty, "tol": p.tol, "alpha": p.alpha, "optimizer": p.optimizer,
                "batch_size": p.batch_size, "learning_rate": p.learning_rate, "max_iter": p.max_iter,
                "early_stop": p.early_stop, "fit_intercept": self.fits_intercept}

    def model_param(self) -> dict[str, Any]:
        """FATE's LinRModelParam (the guest's and hosts'; the arbiter's is empty)."""
        weight, intercept = named_weights(self.weights_, self.header_, self.fits_intercept)
        return {"iters": self.n_iter_, "loss_history": list(getattr(self, "loss_history_", [])),
                "is_converged": self.is_converged_, "weight": weight, "intercept": intercept,
                "header": list(self.header_),
                "best_iteration": getattr(self, "best_iteration_", -1)}

    # regression: no one-vs-rest; validation and cross validation log FATE's regression metrics
    supports_one_vs_rest = False
    eval_type = "regression"

    @staticmethod
    def stepwise_ic(loss: float, dfe: int, n: int, k: float) -> float:
        """FATE's IC of LinR: ``k * dfe + n * ln(2 * loss)`` (2 * loss is the mean squared error)."""
        return k * dfe + n * math.log(2 * loss) if loss > 0 else math.inf

    def check_labels(self, data) -> None:
        """Labels are real values, used as they are; they only have to be there."""
        if data.label_name is None:
            raise ValueError(f"the train data has no label: {self.module_name} needs DataIO with_label on the guest")


def regression_block(ids: pa.Array, labels: np.ndarray | None, values: np.ndarray, kind: str) -> pa.Table:
    """FATE's regression predict rows ``label,ŷ,ŷ,{"label": ŷ},type`` as stored rows."""
    from fate_flow.computing.recipes import stored_rows_schema

    n = len(ids)
    label = pa.array(["None"] * n, type=pa.string()) if labels is None else _number_text(labels)
    score = _float_text(values)
    detail = pc.binary_join_element_wise(pa.scalar('{"label":'), score, pa.scalar("}"), "")
    kinds = pa.array([kind] * n, type=pa.string())
    text = pc.binary_join_element_wise(label, score, score, detail, kinds, ",") if n else pa.array([], pa.string())
    return pa.Table.from_arrays([ids.cast(pa.string()), text.cast(pa.string())], schema=stored_rows_schema())


def offsets(block, exposure: str | None) -> np.ndarray:
    """ln(exposure) per row (ln(1e-7) for 0) when the block has the exposure column, else zeros."""
    if exposure is None or exposure not in block.header:
        return np.zeros(len(block))
    values = block.features[:, list(block.header).index(exposure)]
    return np.log(np.where(values == 0, 1e-7, values))


def regression_predict_kernel(header: list, coef: np.ndarray, intercept: float, kind: str, directory: str,
                              link: str, exposure: str | None, name: str, block, messages: list) -> tuple[str, int]:
    """One partition's regression rows, spilled: (their file, rows some host had no share for).

    ``link`` "identity" (LinR: ŷ = u) or "exp" (Poisson: ŷ = exp(u + ln exposure)); ``messages`` are the
    hosts' ``{"ids", "wx"}`` (variable ``name``)."""
    from fate_flow.components.hetero_lr.guest import _align_host_scores
    from fate_flow.components.linear_model.partitioned import linear_scores
    from fate_flow.computing.recipes import spill_block

    score = linear_scores(block, header, coef, intercept)
    keep = np.ones(len(block), dtype=bool)
    for message in messages:
        host_score, present = _align_host_scores(block.ids, message, name)
        score, keep = score + host_score, keep & present
    if link == "exp":
        score = np.exp(score + offsets(block, exposure))
    rows = np.flatnonzero(keep)
    labels = None if block.labels is None else block.labels[rows]
    out = regression_block(block.ids.take(pa.array(rows, type=pa.int64())), labels, score[rows], kind)
    return spill_block(out, directory), int(len(keep) - len(rows))
