"""One-vs-rest: multi-class classification from a binary learner (FATE 1.4's ``OneVsRest``).

Hetero: the guest finds the label classes (sorted) and sends their number (``aggregate_classes``) to the
hosts and the arbiter. Homo: every client sends its own classes (``host_classes``) to the arbiter, which
sends back their sorted union (``aggregate_classes``). With at most two classes the model fits as it is.
Otherwise, for class i every party fits an unfitted copy of the model under flowid
``<flowid>_one_vs_rest_<i>``; the label holders fit it on labels masked to 1 (== class) / 0. No loss
metric is logged and no validation runs inside the per-class fits.

Predict: each class model predicts under its flowid; a party with predictions joins the per-class
scores partition by partition and outputs ``[label, class with the highest score, that score,
{class: score, ...}]`` (scores not normalised, as FATE). Model: the binary model's meta with
``need_one_vs_rest`` true, and a param ``{header, need_one_vs_rest: true, one_vs_rest_result:
{completed_models: [one binary param per class, in class order], one_vs_rest_classes: [str(class)]}}``.

A model plugs in by setting ``supports_one_vs_rest`` and offering ``clone``, ``fit_with_validation``,
``predict``, ``export_model``/``load_model`` (``LinearModelBase`` does).
"""
from __future__ import annotations

import functools
import json
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from fate_flow.federation.transfer import TransferVariables, Variable

MAX_CLASSES = 1000


class OneVsRestTransferVariable(TransferVariables):
    """Hetero: the guest's number of classes for the hosts and the arbiter (an int)."""

    aggregate_classes = Variable("aggregate_classes", src=("guest",), dst=("host", "arbiter"))


class HomoOneVsRestTransferVariable(TransferVariables):
    """Homo: each client's sorted classes (floats) to the arbiter; their sorted union back."""

    host_classes = Variable("host_classes", src=("guest", "host"), dst=("arbiter",))
    aggregate_classes = Variable("aggregate_classes", src=("arbiter",), dst=("guest", "host"))


class OneVsRest:
    """A learner that is ``model`` itself for binary labels, else one copy of it per class.

    Learned state: ``classes_`` (None until fitted or loaded), ``models_`` (one per class; empty when binary).
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.variables = model.variables
        self.classes_: list | None = None
        self.models_: list = []

    @property
    def need_one_vs_rest(self) -> bool:
        return bool(self.models_)

    @property
    def eval_type(self) -> str:
        return "multi" if self.need_one_vs_rest else self.model.eval_type

    def clone(self) -> "OneVsRest":
        return OneVsRest(self.model.clone())

    def is_fitted(self) -> bool:
        return self.need_one_vs_rest or self.model.is_fitted()

    # ---- fit ------------------------------------------------------------------------------

    def fit_with_validation(self, train: Any, validate: Any = None) -> None:
        """Fit the model as it is for two classes, else one copy per class."""
        m = self.model
        data = None if m.role == "arbiter" else _load(m, train)
        self._train = (train, data)  # so that predicting the train data reads these partitions again
        self.classes_ = self._sync_classes(data)
        self.models_ = []
        if len(self.classes_) <= 2:
            m.fit_with_validation(data, validate)
            return
        if m.params.validation_freqs is not None:
            m.ctx.logger.warning("validation_freqs is not run inside one-vs-rest's per-class fits")
        flowid = self.variables.flowid
        for index, value in enumerate(self.classes_):
            copy = m.clone()
            copy.logs_loss = False
            copy.params.validation_freqs, copy.params.early_stopping_rounds = None, None
            copy.variables.set_flowid(f"{flowid}_one_vs_rest_{index}")
            copy.fit_with_validation(_binary_labels(data, value) if _has_labels(data) else data)
            self.models_.append(copy)
            m.ctx.logger.info("one-vs-rest: class %s (%s of %s) fitted", value, index + 1, len(self.classes_))

    def _sync_classes(self, data) -> list:
        """The classes every party agrees on (the hetero hosts and arbiter only know their number)."""
        m = self.model
        if m.mode == "homo":
            variables = HomoOneVsRestTransferVariable(m.ctx.federation, flowid=self.variables.flowid)
            if m.role == "arbiter":
                union = sorted({float(c) for own in variables.host_classes.get(idx=-1) for c in own})
                _check_count(len(union))
                variables.aggregate_classes.remote(union)
                return union
            variables.host_classes.remote([float(c) for c in _classes(data)], role="arbiter", idx=0)
            return [float(c) for c in variables.aggregate_classes.get(idx=0)]
        variables = OneVsRestTransferVariable(m.ctx.federation, flowid=self.variables.flowid)
        if m.role == "guest":
            classes = [float(c) for c in _classes(data)]
            _check_count(len(classes))
            variables.aggregate_classes.remote(len(classes))
            return classes
        count = variables.aggregate_classes.get(idx=0)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_CLASSES:
            raise ValueError(f"aggregate_classes from the guest should be a class count, got {count!r}")
        return list(range(count))

    # ---- predict ----------------------------------------------------------------------------

    def predict(self, table: Any, kind: str):
        """The model's predictions, or the one-vs-rest rows from every class model's scores."""
        train = getattr(self, "_train", (None, None))
        if train[0] is not None and table is train[0]:
            table = train[1]
        if not self.need_one_vs_rest:
            return self.model.predict(table, kind)
        m = self.model
        data = None if m.role == "arbiter" else _load(m, table)
        flowid = self.variables.flowid
        outputs = []
        for index, copy in enumerate(self.models_):
            copy.variables.set_flowid(f"{flowid}_one_vs_rest_{index}")
            outputs.append(copy.predict(data, kind))
        if outputs[0] is None:
            return None
        joined = outputs[0].map_values(_scores_block)
        for output in outputs[1:]:
            joined = joined.join(output, _append_scores)
        labels = [_class_text(c) for c in self.classes_]
        return joined.map_values(functools.partial(_one_vs_rest_rows, labels, kind)).with_schema(outputs[0].schema)

    def combine_outputs(self, results: list):
        return self.model.combine_outputs(results)

    # ---- model --------------------------------------------------------------------------------

    def export_unfitted(self):
        return self.model.export_unfitted()

    def export_model(self) -> dict | None:
        if not self.need_one_vs_rest:
            return self.model.export_model()
        exports = [copy.export_model() for copy in self.models_]
        meta_name, param_name = _message_names(exports[0])
        meta = dict(exports[0][meta_name], need_one_vs_rest=True)
        singles = [{k: v for k, v in e[param_name].items() if k != "need_one_vs_rest"} for e in exports]
        if not singles[0]:  # the arbiter has no header: an empty param, as FATE saves it
            return {meta_name: meta, param_name: {}}
        param = {"header": list(singles[0].get("header") or []), "need_one_vs_rest": True,
                 "one_vs_rest_result": {"completed_models": singles,
                                        "one_vs_rest_classes": [_class_text(c) for c in self.classes_]}}
        return {meta_name: meta, param_name: param}

    def load_model(self, messages: dict) -> None:
        """Load a binary model, or one model per class from a one-vs-rest model."""
        meta_name, param_name = _message_names(messages)
        param = messages.get(param_name) or {}
        if not param.get("need_one_vs_rest"):
            self.model.load_model(messages)
            return
        result = param.get("one_vs_rest_result") or {}
        singles, classes = result.get("completed_models") or [], result.get("one_vs_rest_classes") or []
        if len(singles) != len(classes) or not singles:
            raise ValueError("one_vs_rest_result should hold one completed model per class")
        self.classes_ = [int(float(c)) for c in classes]
        meta = dict(messages.get(meta_name) or {}, need_one_vs_rest=False)
        self.models_ = []
        for single in singles:
            copy = self.model.clone()
            copy.load_model({meta_name: meta, param_name: dict(single, need_one_vs_rest=False)})
            self.models_.append(copy)


# ---- helpers and kernels -------------------------------------------------------------------------

def _load(model: Any, table: Any):
    return model.load_data(table)


def _has_labels(data) -> bool:
    return data is not None and data.label_name is not None


def _classes(data) -> np.ndarray:
    if not _has_labels(data):
        raise ValueError("the train data has no label: one-vs-rest and the binary model need DataIO with_label "
                         "on the parties that hold labels")
    return data.table.aggregate(_block_classes, np.union1d)


def _block_classes(block) -> np.ndarray:
    return np.unique(block.labels)


def _check_count(count: int) -> None:
    if count > MAX_CLASSES:
        raise ValueError(f"the labels have {count} classes, more than the {MAX_CLASSES} one-vs-rest allows")


def _binary_labels(data, value: float):
    """The data with labels 1 where they equal ``value``, else 0 (persisted: every iteration reads it)."""
    table = data.table.map_values(functools.partial(_mask_labels, float(value))).persist()
    return replace(data, table=table)


def _mask_labels(value: float, block):
    return replace(block, labels=(block.labels == value).astype(np.float64))


def _message_names(messages: dict) -> tuple[str, str]:
    meta = next((k for k in messages if k.endswith("Meta")), None)
    param = next((k for k in messages if k.endswith("Param")), None)
    if meta is None or param is None:
        raise ValueError(f"the model should hold a ...Meta and a ...Param message, got {sorted(messages)}")
    return meta, param


def _class_text(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number == int(number) else str(number)


def _scores_block(block):
    """Kernel: predict rows -> Instances of (label, score of the first class)."""
    from fate_flow.components.evaluation.evaluation import prediction_columns
    from fate_flow.computing import Instances

    columns = prediction_columns(block)
    ids = block.column("id").combine_chunks() if hasattr(block.column("id"), "combine_chunks") else block.column("id")
    return Instances(ids=ids.cast(pa.string()), features=columns["scores"].reshape(-1, 1), labels=columns["labels"])


def _append_scores(left, right):
    """Kernel: one more class's scores as a column, matched by id."""
    scores = _scores_block(right)
    if not left.ids.equals(scores.ids):
        scores = scores.align_to(left.ids)
    return replace(left, features=np.hstack([left.features, scores.features]))


def _one_vs_rest_rows(labels: list[str], kind: str, block):
    """Kernel: FATE's one-vs-rest rows ``label,class,max score,{class: score},type`` (stored form)."""
    from fate_flow.computing.recipes import stored_rows_schema

    best = np.argmax(block.features, axis=1) if len(block) else np.empty(0, dtype=np.int64)
    values = []
    for row, label in enumerate(block.labels):
        scores = block.features[row]
        detail = json.dumps({c: float(s) for c, s in zip(labels, scores)}, separators=(";", ":"))
        values.append(f"{_class_text(label)},{labels[best[row]]},{float(scores[best[row]])},{detail},{kind}")
    return pa.Table.from_arrays([block.ids.cast(pa.string()), pa.array(values, type=pa.string())],
                                schema=stored_rows_schema())
