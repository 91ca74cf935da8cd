"""Validation during training and early stopping on its metrics (FATE's ``validation_strategy``).

At the end of epoch ``e`` (0-based) the learner's training loop calls ``ValidationStrategy.run``:
when ``validation_freqs`` says so (an int: every that many epochs; a list/tuple/set: those epochs),
the learner predicts its train data (flowid ``<flowid>_iteration_<e>_train``, rows typed "train")
and its validate data if it has any (``..._validate``), and the parties holding predictions (the
hetero guest, every homo client) log their metrics as data set ``iteration_<e>`` (under cross
validation ``fold_<k>.iteration_<e>``). The homo arbiter never validates.

With ``early_stopping_rounds`` (hetero only) the guest keeps, per metric, the best value and a count
of epochs without improvement; it tells the hosts and the arbiter whether every tracked metric improved
(each party then keeps its model as the best one) and whether a count reached the limit (every party
stops). After training each party loads its best model and records ``best_iteration``.
"""
from __future__ import annotations

from typing import Any

from fate_flow.components.model_selection.evaluate import evaluate_predictions, usable_metrics
from fate_flow.components.model_selection.transfer import ValidationStrategyVariable

LARGER_IS_BETTER = frozenset({"auc", "ks", "r2_score", "precision", "recall", "explained_variance", "accuracy"})


def check_validation_freqs(freqs: Any) -> None:
    """None, a positive int, or a list/tuple/set of epochs; ValueError naming the field."""
    if freqs is None:
        return
    if isinstance(freqs, bool) or not isinstance(freqs, (int, list, tuple, set)):
        raise ValueError(f"validation_freqs {freqs!r} should be None, a positive int or a list of epochs")
    if isinstance(freqs, int) and freqs <= 0:
        raise ValueError(f"validation_freqs {freqs!r} should be a positive int")


class PerformanceRecorder:
    """Per metric: the best value so far and the epochs since it last improved."""

    def __init__(self) -> None:
        self.best: dict[str, float] = {}
        self.no_improvement: dict[str, int] = {}

    def update(self, values: dict[str, float]) -> bool:
        """Record one epoch's values; True when every one of them improved on its best."""
        every_improved = True
        for metric, value in values.items():
            best = self.best.get(metric)
            better = best is None or (value > best if metric in LARGER_IS_BETTER else value < best)
            if better:
                self.best[metric], self.no_improvement[metric] = value, 0
            else:
                self.no_improvement[metric] = self.no_improvement.get(metric, 0) + 1
                every_improved = False
        return every_improved

    def need_stop(self, rounds: int) -> bool:
        return any(count >= rounds for count in self.no_improvement.values())


class ValidationStrategy:
    """One learner's validation settings and early-stopping state for one fit.

    Args:
        learner: the model being fitted (``params``, ``role``, ``mode``, ``eval_type``, ``ctx``, ``variables``).
        validate_data: its validate data (a stored table or loaded data), or None.
    """

    def __init__(self, learner: Any, validate_data: Any = None) -> None:
        p = learner.params
        check_validation_freqs(p.validation_freqs)
        self.freqs = p.validation_freqs
        self.rounds = p.early_stopping_rounds
        self.metrics = usable_metrics(learner.eval_type, p.metrics)
        self.use_first_metric_only = bool(p.use_first_metric_only)
        self.role, self.mode = learner.role, learner.mode
        if self.rounds is not None and self.mode == "homo":
            raise ValueError("early_stopping_rounds: early stopping on validation metrics is hetero only")
        if self.rounds is not None and validate_data is None and self.role == "guest":
            raise ValueError("early_stopping_rounds needs validate data: give the component an eval_data input")
        self.validate_data = validate_data
        self.variables = ValidationStrategyVariable(learner.ctx.federation, flowid=learner.variables.flowid)
        self.recorder = PerformanceRecorder()
        self.best_model: dict | None = None
        self.best_iteration = -1

    def is_due(self, epoch: int) -> bool:
        if isinstance(self.freqs, int):
            return (epoch + 1) % self.freqs == 0
        return epoch in self.freqs

    def run(self, learner: Any, epoch: int) -> bool:
        """Validate at the end of ``epoch`` if due; True when training should stop early."""
        if not self.is_due(epoch) or (self.mode == "homo" and self.role == "arbiter"):
            return False
        values = self._validate(learner, epoch) if self.role != "arbiter" else {}
        if self.rounds is None:
            return False
        improved, stop = self._sync_status(values, epoch)
        if improved:
            self.best_model, self.best_iteration = learner.export_model(), epoch
        return stop

    def _validate(self, learner: Any, epoch: int) -> dict[str, float]:
        """Predict and (where there are predictions) log the metrics; the single values to compare."""
        flowid = learner.variables.flowid
        name = f"iteration_{epoch}" if getattr(learner, "cv_fold_", None) is None \
            else f"fold_{learner.cv_fold_}.iteration_{epoch}"
        values: dict[str, float] = {}
        if self.validate_data is not None:  # loaded once, not at every validation
            self.validate_data = learner.load_data(self.validate_data)
        sets = [("train", learner.train_input_)] + ([("validate", self.validate_data)] if self.validate_data is not None else [])
        try:
            for row_type, data in sets:
                learner.variables.set_flowid(f"{flowid}_iteration_{epoch}_{row_type}")
                predictions = learner.predict(data, row_type)
                if predictions is not None:
                    values = evaluate_predictions(learner.ctx.tracker, predictions, row_type, name,
                                                  learner.eval_type, self.metrics)
        finally:
            learner.variables.set_flowid(flowid)
        return values

    def _sync_status(self, values: dict[str, float], epoch: int) -> tuple[bool, bool]:
        """The guest decides (improved, stop) and tells the others; they take its word."""
        if self.role == "guest":
            if self.use_first_metric_only:
                first = next((m for m in self.metrics if m in values), None)
                values = {first: values[first]} if first else {}
            improved = self.recorder.update(values)
            stop = self.recorder.need_stop(self.rounds)
            self.variables.validation_status.remote({"improved": improved, "need_stop": stop}, suffix=(epoch,))
            return improved, stop
        status = self.variables.validation_status.get(idx=0, suffix=(epoch,))
        if not isinstance(status, dict) or not all(isinstance(status.get(k), bool) for k in ("improved", "need_stop")):
            raise ValueError(f"validation_status from the guest should be {{improved, need_stop}} bools, got {status!r}")
        return status["improved"], status["need_stop"]

    def finish(self, learner: Any) -> None:
        """After training: load the best model kept by early stopping and note its iteration."""
        if self.best_model is not None:
            learner.load_model(self.best_model)
        learner.best_iteration_ = self.best_iteration
