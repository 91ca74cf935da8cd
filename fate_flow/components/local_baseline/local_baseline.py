"""LocalBaseline: fit scikit-learn's LogisticRegression on this party's rows, as the baseline a
federated model is compared with; predict rows in FATE's format.

As FATE does, the fit gathers the party's rows in memory (scikit-learn needs them there);
predictions are computed partition by partition from the fitted weights. scikit-learn is an
optional dependency (``pip install 'fate-flow-server[sklearn]'``): only this module imports
it, when a task fits, so the server and the other components run without it.

``model_opts`` go to LogisticRegression as they are. ``multi_class: "ovr"`` (FATE's example
conf), which scikit-learn 1.7 dropped, is honoured on newer versions by fitting one binary
model per class with ``OneVsRestClassifier``, which is what the option did.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.linear_model.common import data_keys, model_messages
from fate_flow.components.linear_model.partitioned import load_instances, predict_schema, union_tables

MODEL_META, MODEL_PARAM = "LocalBaselineMeta", "LocalBaselineParam"


def load_sklearn_lr():
    """scikit-learn's LogisticRegression and OneVsRestClassifier; ImportError saying how to install it."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
    except ImportError:
        raise ImportError("LocalBaseline needs scikit-learn, which is not installed on this party: "
                          "pip install 'fate-flow-server[sklearn]' (or scikit-learn>=1.2)") from None
    return LogisticRegression, OneVsRestClassifier


class LocalBaseline(ComponentBase):
    """Guest or host: fit on train_data and score it (and eval_data), or score eval_data with a model."""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        self.params.check()
        data = inputs.get("data") or {}
        models = inputs.get("model") or {}
        train_key, eval_key = data_keys(data, bool(models), ctx.role, "LocalBaseline")
        if not self.params.need_run:
            return ComponentOutput(data=data.get(train_key or eval_key))
        if models:
            self.load_model(model_messages(models))
        results = []
        if train_key is not None:
            train = load_instances(ctx, data[train_key], "LocalBaseline", refuse_empty=True)
            self.fit(train)
            results.append(self.predict(train, "train"))
            if eval_key is not None:
                results.append(self.predict(load_instances(ctx, data[eval_key], "LocalBaseline"), "validate"))
        elif eval_key is not None:
            if getattr(self, "coef_", None) is None:
                raise ValueError("LocalBaseline got eval_data but no model: give it a model input or train_data")
            results.append(self.predict(load_instances(ctx, data[eval_key], "LocalBaseline"), "predict"))
        return ComponentOutput(data=union_tables(results), model=self.export_model())

    # ---- fit and predict ------------------------------------------------------------------

    def fit(self, data) -> None:
        """Fit on every row of ``data`` (a LoadedData of Instances); sets ``coef_``, ``intercept_``, ``classes_``."""
        if data.label_name is None:
            raise ValueError("LocalBaseline needs labelled train data (DataIO with_label)")
        rows = data.table.collect()
        estimator = make_estimator(self.params.model_opts, len(np.unique(rows.labels)))
        estimator.fit(rows.features, rows.labels)
        self.estimator_ = estimator
        self.header_ = list(rows.header)
        self.classes_ = np.asarray(estimator.classes_)
        models = getattr(estimator, "estimators_", None)
        if models is not None:  # one binary model per class
            self.coef_ = np.vstack([m.coef_ for m in models])
            self.intercept_ = np.concatenate([m.intercept_ for m in models])
            self.n_iter_ = int(np.max([m.n_iter_[0] for m in models]))
            self.kind_ = "ovr"
        else:
            self.coef_, self.intercept_ = estimator.coef_, estimator.intercept_
            self.n_iter_ = int(estimator.n_iter_[0])
            self.kind_ = "binary" if len(self.classes_) == 2 else "multinomial"
        self.lr_options_ = _lr_options(estimator)

    def predict(self, data, kind: str):
        """A Table of FATE's predict rows for ``data`` (``kind``: train, validate or predict)."""
        kernel = functools.partial(_predict_block, self.header_, self.coef_, self.intercept_, self.classes_,
                                   self.kind_, kind)
        return data.table.map_partitions(kernel, keeps_rows=True).with_schema(predict_schema(data.sid_name))

    # ---- model ----------------------------------------------------------------------------

    def export_model(self) -> dict[str, Any] | None:
        """FATE's LRModelMeta / LRModelParam under LocalBaseline's keys."""
        if getattr(self, "coef_", None) is None:
            return None
        options = self.lr_options_
        is_ovr = len(self.classes_) > 2
        meta = {"penalty": options["penalty"], "tol": options["tol"], "fit_intercept": options["fit_intercept"],
                "optimizer": options["solver"], "need_one_vs_rest": is_ovr, "max_iter": options["max_iter"]}
        converged = self.n_iter_ < options["max_iter"]
        param = {"header": list(self.header_), "need_one_vs_rest": is_ovr, "best_iteration": -1}
        if is_ovr:
            param["one_vs_rest_result"] = {
                "completed_models": [self._single_model(i, converged) for i in range(len(self.classes_))],
                "one_vs_rest_classes": [_class_text(c) for c in self.classes_]}
        else:
            param.update(self._single_model(0, converged))
        return {MODEL_META: meta, MODEL_PARAM: param}

    def _single_model(self, row: int, converged: bool) -> dict[str, Any]:
        return {"iters": self.n_iter_, "loss_history": [], "is_converged": converged,
                "weight": {name: float(w) for name, w in zip(self.header_, self.coef_[row])},
                "intercept": float(self.intercept_[row]), "header": list(self.header_)}

    def load_model(self, messages: dict[str, Any]) -> None:
        """Rebuild the weights of a saved model (multi-class models score one-vs-rest)."""
        param, meta = messages.get(MODEL_PARAM), messages.get(MODEL_META) or {}
        if param is None:
            raise ValueError(f"the model input has no {MODEL_PARAM}")
        self.header_ = list(param.get("header") or [])
        if param.get("need_one_vs_rest"):
            result = param.get("one_vs_rest_result") or {}
            singles = result.get("completed_models") or []
            self.classes_ = np.array([_class_value(c) for c in result.get("one_vs_rest_classes") or []])
            self.kind_ = "ovr"
        else:
            singles = [param]
            self.classes_ = np.array([0, 1])
            self.kind_ = "binary"
        self.coef_ = np.array([[float((s.get("weight") or {})[name]) for name in self.header_] for s in singles])
        self.intercept_ = np.array([float(s.get("intercept", 0.0)) for s in singles])
        self.n_iter_ = int(singles[0].get("iters", 0)) if singles else 0
        self.lr_options_ = {"penalty": meta.get("penalty"), "tol": meta.get("tol"), "solver": meta.get("optimizer"),
                            "fit_intercept": meta.get("fit_intercept", True), "max_iter": meta.get("max_iter", 100)}


def make_estimator(model_opts: dict, n_classes: int):
    """LogisticRegression(**model_opts), or one per class when the options ask one-vs-rest of a multi-class fit."""
    LogisticRegression, OneVsRestClassifier = load_sklearn_lr()
    options = _penalty_as_l1_ratio(LogisticRegression, dict(model_opts or {}))
    if "multi_class" in options and "multi_class" not in inspect.signature(LogisticRegression).parameters:
        if options.pop("multi_class") == "ovr" and n_classes > 2:
            return OneVsRestClassifier(_make_lr(LogisticRegression, options))
    return _make_lr(LogisticRegression, options)


def _penalty_as_l1_ratio(LogisticRegression, options: dict) -> dict:
    """FATE's ``penalty`` option in the terms of a scikit-learn that deprecated it (1.8; removed in 1.10):
    l2 -> l1_ratio 0, l1 -> l1_ratio 1, none -> C = inf; elasticnet keeps the conf's l1_ratio."""
    default = inspect.signature(LogisticRegression).parameters.get("penalty")
    if "penalty" not in options or default is None or default.default != "deprecated":
        return options
    penalty = options.pop("penalty")
    if penalty in (None, "none"):
        options["C"] = np.inf
    elif penalty in ("l1", "l2"):
        options.setdefault("l1_ratio", 1.0 if penalty == "l1" else 0.0)
    elif penalty != "elasticnet":
        raise ValueError(f"model_opts.penalty should be l1, l2, elasticnet or none, got {penalty!r}")
    return options


def _make_lr(LogisticRegression, options: dict):
    try:
        return LogisticRegression(**options)
    except TypeError as exc:
        raise ValueError(f"model_opts: {exc}") from None


def _lr_options(estimator) -> dict:
    base = getattr(estimator, "estimator", estimator)
    params = base.get_params()
    penalty = params.get("penalty")
    if penalty in (None, "deprecated"):  # scikit-learn 1.8 names the penalty by l1_ratio and C
        penalty = "l1" if params.get("l1_ratio") == 1 else "l2" if params.get("C") != np.inf else "none"
    return {"penalty": penalty, "tol": params["tol"], "fit_intercept": params["fit_intercept"],
            "solver": params["solver"], "max_iter": params["max_iter"]}


def _class_text(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _class_value(text: str) -> Any:
    number = float(text)
    return int(number) if number.is_integer() else number


# ---- kernels -----------------------------------------------------------------------------

def class_probabilities(scores: np.ndarray, kind: str) -> np.ndarray:
    """(n, classes) probabilities from the linear scores, as scikit-learn's predict_proba computes them."""
    if kind == "binary":
        p = 1.0 / (1.0 + np.exp(-scores[:, 0]))
        return np.column_stack([1.0 - p, p])
    if kind == "ovr":
        p = 1.0 / (1.0 + np.exp(-scores))
        return p / p.sum(axis=1, keepdims=True)
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _predict_block(header: list, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray, model_kind: str,
                   row_kind: str, block) -> pa.Table:
    from fate_flow.components.linear_model.common import select_model_features
    from fate_flow.computing.recipes import stored_rows_schema

    rows = select_model_features(block, header)
    proba = class_probabilities(rows.features @ coef.T + intercept, model_kind)
    best = np.argmax(proba, axis=1) if len(proba) else np.empty(0, dtype=np.int64)
    predicted = classes[best]
    score = proba[:, 1] if len(classes) == 2 else proba[np.arange(len(best)), best]
    labels = ["None"] * len(rows) if rows.labels is None else [_class_text(v) for v in rows.labels]
    names = [_class_text(c) for c in classes]
    details = ["{" + ";".join(f'"{n}":{float(p)!r}' for n, p in zip(names, row)) + "}" for row in proba]
    values = [f"{label},{_class_text(p)},{float(s)!r},{detail},{row_kind}"
              for label, p, s, detail in zip(labels, predicted, score, details)]
    ids = pc.cast(rows.ids, pa.string())
    return pa.Table.from_arrays([ids, pa.array(values, type=pa.string())], schema=stored_rows_schema())
