"""Cross validation (FATE's ``KFold`` with ``CrossValidationParam``), on partitioned tables.

The guest (hetero) or every client (homo) numbers its train rows in table order (partition by partition,
each partition sorted by id) and splits those positions as ``sklearn.model_selection.KFold(n_splits,
shuffle, random_state=random_seed)`` does. Fold k's train and test sets are filters of the loaded table,
each partition masked by its slice of the fold numbers, so no row leaves its partition. A hetero guest
sends each host the fold's masks (``train_sid``/``test_sid``, packed bits per partition; the host's
partitions hold the same ids in the same order, which the fit checks); the arbiter gets no data.

For each fold k every party fits an unfitted copy of the learner (flowid ``train.<k>``, the test set as
its validate data), predicts the train set (``predict_train.<k>``, rows typed "train") and the test set
(``predict_validate.<k>``, "validate"), and the parties with predictions log the metrics as data sets
``train_fold_<k>`` (namespace "train") and ``validate_fold_<k>`` ("validate"). The arbiter's loss curve
of fold k is ``train``/``loss.<k>``. The component outputs no data and its unfitted model.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from fate_flow.components.base import ComponentOutput
from fate_flow.components.model_selection.evaluate import evaluate_predictions, usable_metrics
from fate_flow.components.model_selection.transfer import CrossValidationTransferVariable


def fold_numbers(n_rows: int, n_splits: int, shuffle: bool, random_seed: Any) -> np.ndarray:
    """The test fold of each of ``n_rows`` positions, as scikit-learn's KFold assigns them."""
    from sklearn.model_selection import KFold

    if n_rows < n_splits:
        raise ValueError(f"cv_param.n_splits {n_splits} is more than the {n_rows} rows of the train data")
    folds = np.empty(n_rows, dtype=np.int32)
    splitter = KFold(n_splits=n_splits, shuffle=shuffle, random_state=random_seed if shuffle else None)
    for k, (_, test) in enumerate(splitter.split(np.zeros((n_rows, 1)))):
        folds[test] = k
    return folds


def check_cv_param(cv) -> None:
    """FATE's CrossValidationParam checks beyond n_splits/need_cv; ValueError naming the field."""
    if cv.mode not in ("homo", "hetero"):
        raise ValueError(f"cv_param.mode {cv.mode!r} not supported, should be homo or hetero")
    if cv.role not in ("guest", "host", "arbiter"):
        raise ValueError(f"cv_param.role {cv.role!r} not supported, should be guest, host or arbiter")
    if not isinstance(cv.shuffle, bool):
        raise ValueError(f"cv_param.shuffle {cv.shuffle!r} should be bool")
    if cv.random_seed is not None and (isinstance(cv.random_seed, bool) or not isinstance(cv.random_seed, int)
                                       or cv.random_seed < 0):
        raise ValueError(f"cv_param.random_seed {cv.random_seed!r} should be a positive int")


class KFoldRun:
    """One party's cross validation of ``learner`` on ``table`` (None on the arbiter)."""

    def __init__(self, learner: Any, table: Any) -> None:
        self.learner = learner
        self.model = getattr(learner, "model", learner)  # a OneVsRest wraps the model
        self.ctx = self.model.ctx
        self.cv = self.model.params.cv_param
        check_cv_param(self.cv)
        self.table = table
        self.variables = CrossValidationTransferVariable(self.ctx.federation, flowid="cv")

    @property
    def holds_folds(self) -> bool:
        """Whether this party splits its own rows (the hetero guest, every homo client)."""
        return self.model.role == "guest" or (self.model.mode == "homo" and self.model.role != "arbiter")

    def run(self) -> ComponentOutput:
        data = None if self.model.role == "arbiter" else self.model.load_data(self.table)
        folds = self._fold_numbers(data) if self.holds_folds else None
        unfitted = self.learner.export_unfitted()
        for k in range(self.cv.n_splits):
            train, test = self._fold_data(data, folds, k)
            self._run_fold(k, train, test)
        return ComponentOutput(data=None, model=unfitted)

    def _fold_numbers(self, data) -> list[np.ndarray]:
        """Per partition, the fold number of each of its rows."""
        from fate_flow.computing.recipes import block_len

        sizes = data.table.map_reduce(block_len)
        folds = fold_numbers(int(sum(sizes)), self.cv.n_splits, self.cv.shuffle, self.cv.random_seed)
        bounds = np.cumsum([0] + list(sizes))
        return [folds[bounds[p]:bounds[p + 1]] for p in range(len(sizes))]

    def _fold_data(self, data, folds, k: int):
        """(train, test) of fold k as loaded data; (None, None) on the arbiter."""
        if data is None:
            return None, None
        if folds is not None:
            test_masks = [part == k for part in folds]
            if self.model.role == "guest" and self.model.mode == "hetero":
                self.variables.train_sid.remote([np.packbits(~m) for m in test_masks], role="host", suffix=(k,))
                self.variables.test_sid.remote([np.packbits(m) for m in test_masks], role="host", suffix=(k,))
            train_masks = [~m for m in test_masks]
        else:
            train_masks = _unpack(self.variables.train_sid.get(idx=0, suffix=(k,)), data, "train_sid")
            test_masks = _unpack(self.variables.test_sid.get(idx=0, suffix=(k,)), data, "test_sid")
        train, test = _subset(data, train_masks), _subset(data, test_masks)
        if train.count + test.count != data.count:
            raise ValueError(f"fold {k}: {train.count} train + {test.count} test rows != {data.count} rows")
        return train, test

    def _run_fold(self, k: int, train, test) -> None:
        learner = self.learner.clone()
        model = getattr(learner, "model", learner)
        model.cv_fold_ = k
        model.loss_metric_name = f"loss.{k}"
        stages = [(f"train.{k}", None), (f"predict_train.{k}", ("train", train, f"train_fold_{k}")),
                  (f"predict_validate.{k}", ("validate", test, f"validate_fold_{k}"))]
        for flowid, predict in stages:
            learner.variables.set_flowid(flowid)
            if predict is None:
                learner.fit_with_validation(train, test)
                continue
            row_type, data, name = predict
            predictions = learner.predict(data, row_type)
            if predictions is not None:
                evaluate_predictions(self.ctx.tracker, predictions, row_type, name, learner.eval_type,
                                     usable_metrics(learner.eval_type, model.params.metrics))
        self.ctx.logger.info("cross validation fold %s of %s done", k + 1, self.cv.n_splits)
        self.ctx.tracker.set_progress(100 * (k + 1) / self.cv.n_splits)


def _unpack(message: Any, data, name: str) -> list[np.ndarray]:
    from fate_flow.computing.recipes import block_len

    sizes = data.table.map_reduce(block_len)
    if not isinstance(message, list) or len(message) != len(sizes):
        raise ValueError(f"{name} from the guest should hold one mask per partition ({len(sizes)})")
    return [np.unpackbits(np.asarray(bits, dtype=np.uint8), count=size).astype(bool)
            for bits, size in zip(message, sizes)]


def _subset(data, masks: list[np.ndarray]):
    """The rows of each partition that its mask keeps, persisted, as loaded data of their own."""
    session = data.table.session
    kept = data.table.join(session.parallelize(list(masks), rows_hint=data.count), _take_masked).persist()
    return replace(data, table=kept, count=int(sum(int(m.sum()) for m in masks)))


def _take_masked(block, mask: np.ndarray):
    if len(mask) != len(block):
        raise ValueError(f"a fold mask of {len(mask)} rows for a partition of {len(block)} rows")
    return block.take(np.asarray(mask, dtype=bool))


def run_cross_validation(learner: Any, table: Any) -> ComponentOutput:
    """Cross-validate ``learner`` (a model or a OneVsRest of one) on the train input ``table``."""
    return KFoldRun(learner, table).run()


__all__ = ["KFoldRun", "check_cv_param", "fold_numbers", "run_cross_validation"]
