"""What HeteroLR's and HomoLR's parties share: the sigmoid, the model messages, and the data-key
part of FATE's ``ModelBase.run`` dispatch (their partitioned data is ``partitioned``'s)."""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput


# the arbiters' per-iteration loss metric (namespace "train", name "loss")
LOSS_META = {"name": "train", "metric_type": "LOSS", "unit_name": "iters"}


def lr_model_meta(params, fit_intercept: bool, re_encrypt_batches: int) -> dict[str, Any]:
    """FATE's LRModelMeta of HeteroLR and HomoLR."""
    p = params
    return {"penalty": p.penalty, "tol": p.tol, "alpha": p.alpha, "optimizer": p.optimizer,
            "party_weight": 0.0, "batch_size": p.batch_size, "learning_rate": p.learning_rate,
            "max_iter": p.max_iter, "early_stop": p.early_stop, "re_encrypt_batches": re_encrypt_batches,
            "fit_intercept": fit_intercept, "need_one_vs_rest": False}


def named_weights(weights: np.ndarray, header: list[str], fit_intercept: bool) -> tuple[dict[str, float], float]:
    """(``{feature: weight}``, intercept) of a weight vector whose intercept, if any, is last."""
    coef = weights[:-1] if fit_intercept else weights
    intercept = float(weights[-1]) if fit_intercept else 0.0
    return {name: float(w) for name, w in zip(header, coef)}, intercept


def with_intercept_column(features: np.ndarray) -> np.ndarray:
    """The features with a last column of ones, whose weight is the intercept."""
    return np.hstack([features, np.ones((features.shape[0], 1))])


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow for large |x|."""
    out = np.empty_like(x, dtype=np.float64)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out


def model_messages(models: dict[str, Any]) -> dict[str, Any]:
    """The messages of the (single) upstream model: ``{MODEL_META: ..., MODEL_PARAM: ...}``."""
    messages = next(iter(models.values()))
    if not isinstance(messages, dict):
        raise ValueError("the model input is not a dict of model messages")
    return messages


def data_keys(data: dict[str, Any], has_model: bool, role: str, module: str) -> tuple[str | None, str | None]:
    """(train key, eval key) of the data inputs; the arbiter, which has no data, fits unless it only got eval data or a model."""
    train_key = "train_data" if "train_data" in data else None
    eval_key = "eval_data" if "eval_data" in data else None
    if "data" in data and train_key is None and eval_key is None:
        return (None, "data") if has_model else ("data", None)
    if train_key is None and eval_key is None:
        if role == "arbiter" and not has_model:
            return "train_data", None
        if role != "arbiter":
            raise ValueError(f"{module} needs a train_data, eval_data or data input")
    return train_key, eval_key


class LinearModelBase(ComponentBase):
    """Fit and/or predict by the shape of the inputs, as FATE's ModelBase does.

    Subclasses set ``module_name`` and ``transfer_class`` and implement ``fit(table)``,
    ``predict(table, kind)``, ``load_model``, ``export_model`` and ``_refuse_unsupported``.
    """

    role = ""
    module_name = ""
    transfer_class: Any = None

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        """Fit on train_data (then score it), score eval_data (validate, or predict with a model).

        With ``cv_param.need_cv`` it runs cross validation instead (``model_selection.k_fold``);
        a learner of several classes is a ``OneVsRest`` of this model (``learner()``).
        """
        self.params.check()
        self._refuse_unsupported(ctx)
        self.ctx = ctx
        self.variables = self.transfer_class(ctx.federation)
        data = inputs.get("data") or {}
        models = inputs.get("model") or {}
        learner = self.learner()
        train_key, eval_key = data_keys(data, bool(models), self.role, self.module_name)
        if self.params.cv_param.need_cv and train_key is not None:
            from fate_flow.components.model_selection.k_fold import run_cross_validation

            return run_cross_validation(learner, data.get(train_key))
        if models:
            learner.load_model(model_messages(models))
        results = []
        if train_key is not None:
            validate = data.get(eval_key) if eval_key is not None else None
            self._run_stage("fit", learner.fit_with_validation, data.get(train_key), validate)
            results.append(self._run_stage("validate", learner.predict, data.get(train_key), "train"))
            if eval_key is not None:
                results.append(self._run_stage("predict", learner.predict, data.get(eval_key), "validate"))
        elif eval_key is not None:
            if not learner.is_fitted() and self.role != "arbiter":
                raise ValueError(f"{self.module_name} got eval_data but no model: give it a model input or train_data")
            results.append(self._run_stage("predict", learner.predict, data.get(eval_key), "predict"))
        return ComponentOutput(data=learner.combine_outputs(results), model=learner.export_model())

    def _run_stage(self, flowid: str, step, *args):
        self.variables.set_flowid(flowid)
        return step(*args)

    # ---- hooks of the shared training machinery (model_selection, one_vs_rest) ----------------

    # "hetero" or "homo"; the task kind of the validation metrics
    mode = "hetero"
    eval_type = "binary"
    # a model that fits one binary model per class when the labels have more than two
    supports_one_vs_rest = False
    # the arbiter's loss metric: "loss" ("loss.<k>" in cross validation fold k); off in one-vs-rest
    loss_metric_name = "loss"
    logs_loss = True

    def learner(self):
        """What ``run`` fits: a ``Stepwise`` search when asked for, a ``OneVsRest`` of this model when the model
        supports one, else this model."""
        if getattr(self.params.stepwise_param, "need_stepwise", False):
            from fate_flow.components.model_selection.stepwise import Stepwise

            return Stepwise(self)
        if not self.supports_one_vs_rest:
            return self
        from fate_flow.components.one_vs_rest.one_vs_rest import OneVsRest

        return OneVsRest(self)

    def clone(self) -> "LinearModelBase":
        """An unfitted copy with the same params, context and federation (a fold's or a class's model)."""
        import copy

        other = type(self)(copy.deepcopy(self.params))
        other.ctx = self.ctx
        other.variables = self.transfer_class(self.ctx.federation, flowid=self.variables.flowid)
        return other

    def stepwise_features(self, header: list[str]) -> list[str]:
        """The features of the train data a stepwise search may drop or add (all of them here)."""
        return header

    def load_data(self, table):
        """A data input as loaded partitions (``partitioned.LoadedData``); loaded data is returned as it is."""
        raise NotImplementedError

    def is_fitted(self) -> bool:
        return getattr(self, "weights_", None) is not None

    def fit_with_validation(self, table, validate=None) -> None:
        """``fit(table)``, validating during training when ``validation_freqs`` is set (FATE's fit(train, validate))."""
        self.validation_strategy_ = None
        if self.params.validation_freqs is not None:
            from fate_flow.components.model_selection.validation_strategy import ValidationStrategy

            self.validation_strategy_ = ValidationStrategy(self, validate)
        self.fit(table)
        if self.validation_strategy_ is not None:
            self.validation_strategy_.finish(self)

    def validation_step(self, n_iter: int) -> bool:
        """Called by the training loops at the end of every epoch: validate if due; True to stop early."""
        strategy = getattr(self, "validation_strategy_", None)
        return strategy is not None and strategy.run(self, n_iter)

    def log_loss_metric(self, n_iter: int, loss: float, first: bool) -> None:
        """The arbiter's loss point of iteration ``n_iter`` (and the meta with the first point)."""
        if not self.logs_loss:
            return
        self.ctx.tracker.log_metric_data("train", self.loss_metric_name, [(n_iter, loss)])
        if first:
            meta = dict(LOSS_META)
            if self.loss_metric_name != "loss":  # cross validation: the fold number names the curve
                meta["curve_name"] = self.loss_metric_name.split(".", 1)[1]
            self.ctx.tracker.set_metric_meta("train", self.loss_metric_name, meta)

    def fit(self, table) -> None:
        raise NotImplementedError

    def report_progress(self, n_iter: int) -> None:
        """Tell the tracker that iteration ``n_iter`` (0-based) of at most ``max_iter`` is done.

        Called once per iteration; the tracker decides how often it reaches the server.
        """
        self.ctx.tracker.set_progress(100 * (n_iter + 1) / self.params.max_iter)

    def predict(self, table, kind: str):
        raise NotImplementedError

    def combine_outputs(self, results: list):
        """Output data (a Table) from the predict results (None for parties without predictions)."""
        return None


PREDICT_HEADER = "label,predict_result,predict_score,predict_detail,type"


def parse_predict_detail(text: str) -> dict[str, float]:
    """Read back a predict_detail field written by ``prediction_rows``."""
    return json.loads(text.replace(";", ","))


def select_model_features(instances, header: list[str]):
    """The instances' features in the model's header order; ValueError naming a missing feature."""
    if list(instances.header) == list(header):
        return instances
    position = {name: i for i, name in enumerate(instances.header)}
    missing = [name for name in header if name not in position]
    if missing:
        raise ValueError(f"the data has no feature {missing[0]!r} of the model's header")
    return instances.select_features([position[name] for name in header])
