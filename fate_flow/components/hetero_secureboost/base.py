"""What HeteroSecureBoost's guest and hosts share: the run dispatch, data, binning and the model messages.

``run`` follows FATE's ``ModelBase.run`` (as HeteroLR's does): train_data fits (flowid "fit"), then the
train rows are output typed "train" (their scores are the fit's own, which equal what routing them
again would give) and eval_data is predicted (flowid "predict", typed "validate"); only eval_data and a
model input is a predict job (typed "predict").
"""
from __future__ import annotations

import collections
import contextlib
import functools
import time
from typing import Any

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.hetero_binning.split_points import quantile_split_points
from fate_flow.components.hetero_secureboost import kernels
from fate_flow.components.hetero_secureboost.rows import PartitionArrays
from fate_flow.components.hetero_secureboost.transfer import HeteroSecureBoostTransferVariable
from fate_flow.components.hetero_secureboost.tree import Node
from fate_flow.components.linear_model.common import data_keys, model_messages
from fate_flow.components.linear_model.partitioned import (
    LoadedData, batch_of, check_digests, in_groups, load_instances, model_columns, partition_digests, run_with,
)
from fate_flow.computing.column_stats import gather_columns

MODULE = "HeteroSecureBoost"
# values of the gathered columns binned at once: the quantiles take about four copies of them (missing
# values marked, sorted, ...), so 2M values (16 MB a copy) keep binning's memory small whatever the rows
BINNING_VALUES = 1 << 21


class SecureBoostBase(ComponentBase):
    """One party of HeteroSecureBoost. Subclasses implement ``fit(train, eval)`` and ``predict(table, kind)``.

    Learned state: ``trees_`` (lists of Node), ``header_``, ``split_points_`` (training only).
    """

    role = ""
    meta_name = ""
    param_name = ""

    # per-row arrays in files (``rows``): set by a fit of a big table
    spill_rows_ = False

    def row_arrays(self, arrays=()) -> PartitionArrays:
        """Per-partition arrays of the rows, in files of the scratch directory when ``spill_rows_``."""
        return PartitionArrays(self.ctx.computing.new_dir("rows") if self.spill_rows_ else None, arrays)

    def _fit_round(self, targets, grow) -> None:
        """One boosting round: a tree per output dimension, grown by ``grow(k, gradients, hessians)`` (each a
        sequence per block) and returning (nodes, leaf position per row of each block); the scores move by it."""
        for k in range(self.tree_dim_):
            g_parts, h_parts = self.row_arrays(), self.row_arrays()
            for y, f in zip(targets, self.scores_):
                g, h = self.objective_.gradients(y, f)
                g_parts.append(g[:, k])
                h_parts.append(h[:, k])
            nodes, leaves = grow(k, g_parts, h_parts)
            weight = np.array([node.weight for node in nodes])
            # each row's leaf, in the smallest integer type that holds the node ids (2 bytes a row and tree
            # for depths up to 14): the scores of the trees kept after early stopping are rebuilt from them
            leaf_type = np.min_scalar_type(max(len(nodes) - 1, 0))
            self.row_leaves_.append(self.row_arrays(pos.astype(leaf_type) for pos in leaves))
            for i, pos in enumerate(leaves):
                f = self.scores_[i]
                f[:, k] += self.params.learning_rate * weight[pos]
                self.scores_[i] = f
            for parts in (g_parts, h_parts, leaves):
                if isinstance(parts, PartitionArrays):
                    parts.discard()

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        """Fit on train_data (its rows output as "train"), predict eval_data ("validate", or "predict" with a model)."""
        self.params.check()
        if not ctx.parties("host"):
            raise ValueError(f"{MODULE} needs a guest and at least one host, got roles {ctx.roles}")
        self.ctx = ctx
        self.variables = HeteroSecureBoostTransferVariable(ctx.federation)
        data, models = inputs.get("data") or {}, inputs.get("model") or {}
        if models:
            self.load_model(model_messages(models))
        train_key, eval_key = data_keys(data, bool(models), self.role, MODULE)
        if self.params.cv_param.need_cv:
            if train_key is None:
                raise ValueError("cv_param.need_cv needs a train_data input")
            self.cross_validate(data.get(train_key))
            return ComponentOutput()
        results = []
        if train_key is not None:
            self.variables.set_flowid("fit")
            results.append(self.fit(data.get(train_key), data.get(eval_key) if eval_key else None))
            if eval_key is not None:
                self.variables.set_flowid("predict")
                results.append(self.predict(data.get(eval_key), "validate"))
        elif eval_key is not None:
            if not getattr(self, "trees_", None) and not getattr(self, "has_model_", False):
                raise ValueError(f"{MODULE} got eval_data but no model: give it a model input or train_data")
            self.variables.set_flowid("predict")
            results.append(self.predict(data.get(eval_key), "predict"))
        return ComponentOutput(data=self.combine_outputs(results), model=self.export_model())

    def combine_outputs(self, results: list):
        return None

    # ---- data ---------------------------------------------------------------------------

    @property
    def hosts(self) -> list[int]:
        return self.ctx.parties("host")

    @property
    def site(self) -> str:
        """FATE's sitename of this party, "<role>:<party id>" (read from the trees of a model loaded without a task)."""
        if getattr(self, "ctx", None) is not None:
            return f"{self.role}:{self.ctx.party_id}"
        return getattr(self, "site_", f"{self.role}:")

    def load(self, table, refuse_empty: bool = True):
        """The input as persisted, id-sorted partitions (a LoadedData, e.g. a cross-validation fold, as it is)."""
        if isinstance(table, LoadedData):
            return table
        return load_instances(self.ctx, table, MODULE, refuse_empty=refuse_empty)

    # ---- cross validation ----------------------------------------------------------------

    def cross_validate(self, table) -> None:
        """k-fold cross validation (``cv_param``): every party finds a row's fold from a salted hash of its id, so
        no ids are sent (FATE's KFold shuffles and sends the fold's ids); per fold, fit on the others
        (flowid "train.<k>") and score the fold (flowid "predict_validate.<k>"), the guest logging both."""
        cv = self.params.cv_param
        self.variables.set_flowid("cv")
        data = self.load(table)
        salt = int(cv.random_seed or 0) if cv.shuffle else 0
        for k in range(cv.n_splits):
            train, test = (self._fold(data, cv.n_splits, salt, k, keep) for keep in (False, True))
            self.cv_fold_ = k
            self.variables.set_flowid(f"train.{k}")
            self.fit(train, test if self.params.validation_freqs is not None else None)
            self.variables.set_flowid(f"predict_validate.{k}")
            self.eval_data_ = None
            self.score_fold(train, test, k)
            self.ctx.logger.info("fold %s of %s done", k + 1, cv.n_splits)

    def _fold(self, data, n_splits: int, salt: int, k: int, keep: bool):
        rows = data.table.filter(functools.partial(_in_fold, n_splits, salt, k, keep)).persist()
        count = rows.count()
        if count == 0:
            raise ValueError(f"cv_param.n_splits {n_splits}: fold {k} has no {'test' if keep else 'train'} rows")
        return LoadedData(rows, data.header, data.label_name, data.sid_name, count)

    def score_fold(self, train, test, k: int) -> None:
        """After a fold's fit: hosts help route the test rows; the guest logs the metrics."""
        self.predict(test, "validate")

    def swap_digests(self, data) -> None:
        """Prove partition i holds the same ids on every party (or fail naming the partition)."""
        own = partition_digests(data.table)
        if self.role == "guest":
            self.variables.guest_ids_digest.remote(own, role="host")
            for index, digests in enumerate(self.variables.host_ids_digest.get(idx=-1)):
                check_digests(own, digests, f"host {self.hosts[index]}")
        else:
            self.variables.host_ids_digest.remote(own, role="guest", idx=0)
            check_digests(own, self.variables.guest_ids_digest.get(idx=0), "the guest")

    def bin_features(self, data) -> tuple[Any, list[int]]:
        """Quantile split points of every feature (``bin_num``), the data binned and persisted; bins per feature."""
        use_missing, zero_as_missing = self.params.missing_mode
        if not data.header:
            raise ValueError(f"the {self.role} {self.ctx.party_id} has no feature for {MODULE} to split on")
        points = []
        for group, x in gather_columns(data.table, list(range(len(data.header))), data.count, BINNING_VALUES):
            x = np.where(kernels.missing_mask(x, use_missing, zero_as_missing), np.nan, x)
            x = np.where(np.all(np.isnan(x), axis=0, keepdims=True), 0.0, x)  # an all-missing column: one bin
            points += quantile_split_points(x, self.params.bin_num, [data.header[j] for j in group])
        self.split_points_ = points
        kernel = functools.partial(kernels.bin_block, points, use_missing, zero_as_missing)
        return data.table.map_partitions(kernel, keeps_rows=True).persist(), [len(p) for p in points]

    def sample_features(self, n_features: int, round_index: int, tree_index: int) -> list[int]:
        """The features one tree may split on (``subsample_feature_rate``), drawn per party and tree."""
        rate = self.params.subsample_feature_rate
        if rate >= 1:
            return list(range(n_features))
        rng = np.random.default_rng([round_index, tree_index, self.ctx.party_id])
        count = max(1, int(rate * n_features))
        return sorted(rng.choice(n_features, size=count, replace=False).tolist())

    def partition_values(self, table, kernel) -> list:
        """One small value per partition, in order."""
        return table.map_reduce(kernel)

    def run_partitions(self, table, kernel, extras: list) -> list:
        """``kernel(block i, extras[i])`` over every partition, a few at a time."""
        out = []
        for group in in_groups(table):
            out += run_with(table, group, kernel, [extras[i] for i in group])
        return out

    def model_columns(self, data) -> list[int] | None:
        return model_columns(data.header, self.header_)

    # ---- model --------------------------------------------------------------------------

    def model_meta(self) -> dict[str, Any]:
        """FATE's BoostingTreeModelMeta."""
        p, t = self.params, self.params.tree_param
        use_missing, zero_as_missing = p.missing_mode
        tree_meta = {"criterion_meta": {"criterion_method": t.criterion_method, "criterion_param": t.criterion_params},
                     "max_depth": t.max_depth, "min_sample_split": t.min_sample_split,
                     "min_impurity_split": t.min_impurity_split, "min_leaf_node": t.min_leaf_node,
                     "use_missing": use_missing, "zero_as_missing": zero_as_missing}
        return {"tree_meta": tree_meta, "learning_rate": p.learning_rate, "num_trees": p.num_trees,
                "quantile_meta": {"quantile_method": "quantile", "bin_num": p.bin_num},
                "objective_meta": {"objective": p.objective_param.objective,
                                   "param": list(p.objective_param.params or [])},
                "task_type": p.task_type, "n_iter_no_change": p.n_iter_no_change, "tol": p.tol,
                "use_missing": use_missing, "zero_as_missing": zero_as_missing}

    def export_model(self) -> dict[str, Any] | None:
        if getattr(self, "trees_", None) is None:
            return None
        return {self.meta_name: self.model_meta(), self.param_name: self.model_param()}

    def trees_param(self) -> list[dict]:
        return [{"tree_": [n.to_dict() for n in nodes], "split_maskdict": masks.get("split", {}),
                 "missing_dir_maskdict": masks.get("missing", {})}
                for nodes, masks in zip(self.trees_, self.tree_masks_)]

    def load_trees(self, messages: dict[str, Any]) -> dict[str, Any]:
        """Rebuild ``trees_``, ``tree_masks_`` and ``header_`` from saved messages; the Param message."""
        param, meta = messages.get(self.param_name), messages.get(self.meta_name) or {}
        if param is None:
            raise ValueError(f"the model input has no {self.param_name}")
        self.trees_ = [[Node.from_dict(n) for n in tree.get("tree_", [])] for tree in param.get("trees_", [])]
        self.tree_masks_ = [{"split": {str(k): v for k, v in (tree.get("split_maskdict") or {}).items()},
                             "missing": {str(k): v for k, v in (tree.get("missing_dir_maskdict") or {}).items()}}
                            for tree in param.get("trees_", [])]
        self.site_ = _own_site(self.role, self.trees_, self.tree_masks_)
        mapping = param.get("feature_name_fid_mapping") or {}
        self.header_ = [mapping[k] for k in sorted(mapping, key=int)]
        self.tree_dim_ = int(param.get("tree_dim", 1))
        self.best_iteration_ = int(param.get("best_iteration", -1))
        if meta:
            self.params.learning_rate = meta.get("learning_rate", self.params.learning_rate)
            tree_meta = meta.get("tree_meta") or {}
            self.params.use_missing = bool(tree_meta.get("use_missing", meta.get("use_missing", False)))
            self.params.zero_as_missing = bool(tree_meta.get("zero_as_missing", meta.get("zero_as_missing", False)))
            self.params.task_type = meta.get("task_type", self.params.task_type)
            objective = meta.get("objective_meta") or {}
            self.params.objective_param.objective = objective.get("objective", self.params.objective_param.objective)
            self.params.objective_param.params = list(objective.get("param") or []) or None
        self.has_model_ = True
        return param


class Stopwatch:
    """Seconds spent per phase of a tree's growth, logged per tree: where its time goes (the guest's encrypt,
    hosts, decrypt, split_find, dispatch; a host's histogram, fold, send)."""

    def __init__(self) -> None:
        self.totals: collections.Counter = collections.Counter()

    @contextlib.contextmanager
    def phase(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.totals[name] += time.perf_counter() - start

    def report(self) -> str:
        return ", ".join(f"{name} {seconds:.3f} s" for name, seconds in self.totals.items())


def _own_site(role: str, trees: list, masks: list) -> str:
    """The sitename of the party that saved the trees: a guest's own nodes carry "guest:...", a host's are the
    nodes with a threshold in its split_maskdict."""
    for nodes, mask in zip(trees, masks):
        for node in nodes:
            if node.is_leaf:
                continue
            if (role == "guest" and node.sitename.startswith("guest:")) or str(node.id) in mask.get("split", {}):
                return node.sitename
    return f"{role}:"


def _in_fold(n_splits: int, salt: int, k: int, keep: bool, block) -> np.ndarray:
    """Kernel: the rows of fold k (keep) or of the other folds."""
    in_fold = batch_of(block.ids, n_splits, salt) == k
    return in_fold if keep else ~in_fold
