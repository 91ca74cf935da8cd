"""HomoSecureboost on the guest and the hosts: every client holds rows with the same features and labels.

The clients agree on pair keys (``homo_lr.secure_aggregation``), learn the union of their labels from the
arbiter and bin their features at the unweighted mean of their quantile points (sent masked). Per tree and
depth each client sends the arbiter the masked (g, h, count) histograms of the root, then of every left
child; the arbiter finds the splits on the sums (deriving right children by subtraction) and sends them
back; clients move their rows and, after the last depth, get the leaf weights. Prediction is local.
"""
from __future__ import annotations

import functools

import numpy as np

from fate_flow.components.hetero_secureboost import kernels
from fate_flow.components.hetero_secureboost.base import SecureBoostBase
from fate_flow.components.hetero_secureboost.guest import HeteroSecureBoostGuest
from fate_flow.components.hetero_secureboost.loss import Objective
from fate_flow.components.hetero_secureboost.tree import Node, accumulate, histogram_layout, route, tree_arrays
from fate_flow.components.homo_lr.secure_aggregation import client_key_agreement, header_digest
from fate_flow.components.homo_secureboost.transfer import HomoSecureBoostTransferVariable
from fate_flow.components.linear_model.common import data_keys, model_messages
from fate_flow.components.base import ComponentContext, ComponentOutput
from fate_flow.computing.column_stats import gather_columns

MODULE = "HomoSecureboost"


def raw_quantiles(x: np.ndarray, bin_num: int) -> np.ndarray:
    """(bin_num, d) quantile points k/bin_num of each column, duplicates kept (NaN left out; 0 for an empty column)."""
    ordered = np.sort(x, axis=0)
    counts = np.sum(~np.isnan(x), axis=0)
    ranks = -(-(np.arange(1, bin_num + 1)[:, None] * counts[None, :]) // bin_num)
    rows = np.clip(ranks - 1, 0, np.maximum(counts - 1, 0))
    points = np.take_along_axis(ordered, rows, axis=0)
    return np.where(counts[None, :] > 0, points, 0.0)


class HomoSecureBoostClient(SecureBoostBase):
    """A guest or host of HomoSecureboost: fits ``trees_`` with the others and scores its own rows."""

    meta_name = "HomoSecureBoostingTreeGuestMeta"
    param_name = "HomoSecureBoostingTreeGuestParam"

    @property
    def role(self) -> str:
        return self.ctx.role if getattr(self, "ctx", None) is not None else "guest"

    @property
    def site(self) -> str:
        return ""  # every split is every client's: no party owns a node

    def run(self, ctx: ComponentContext, inputs: dict) -> ComponentOutput:
        """Fit on train_data (its rows output as "train"), predict eval_data (local, no messages)."""
        self.params.check()
        if self.params.cv_param.need_cv:
            raise ValueError("cv_param.need_cv: cross validation is not supported by this HomoSecureboost")
        if self.params.early_stopping_rounds is not None:
            raise ValueError("early_stopping_rounds is not supported in homo mode (FATE refuses it too)")
        self.ctx, self.variables = ctx, HomoSecureBoostTransferVariable(ctx.federation)
        data, models = inputs.get("data") or {}, inputs.get("model") or {}
        if models:
            self.load_model(model_messages(models))
        train_key, eval_key = data_keys(data, bool(models), ctx.role, MODULE)
        results = []
        if train_key is not None:
            self.variables.set_flowid("fit")
            results.append(self.fit(data.get(train_key), data.get(eval_key) if eval_key else None))
        if eval_key is not None:
            if getattr(self, "trees_", None) is None:
                raise ValueError(f"{MODULE} got eval_data but no model: give it a model input or train_data")
            results.append(self.predict(data.get(eval_key), "validate" if train_key else "predict"))
        return ComponentOutput(data=HeteroSecureBoostGuest.combine_outputs(self, results), model=self.export_model())

    # ---- fit ----------------------------------------------------------------------------

    def fit(self, table, eval_table=None):
        data = self.load(table)
        if data.label_name is None:
            raise ValueError(f"the train data has no label: {MODULE} needs DataIO with_label on every client")
        self.header_ = list(data.header)
        clients = self.ctx.parties("guest") + self.ctx.parties("host")
        index = (0 if self.ctx.role == "guest" else len(self.ctx.parties("guest"))) + \
            self.ctx.parties(self.ctx.role).index(self.ctx.party_id)
        masker = client_key_agreement(self.variables, index, header_digest(self.header_, False))
        self.n_clients_ = len(clients)
        labels = self.partition_values(data.table, kernels.block_labels)
        self._set_task(np.concatenate(labels))
        targets = [self._targets(y) for y in labels]
        binned, bins = self._bin(data, masker)
        self.eval_data_ = self.load(eval_table, refuse_empty=False) if eval_table is not None else None
        self._boost(binned, bins, targets, masker)
        return self._output(data, self._scores_of_rows(), "train")

    def _set_task(self, labels: np.ndarray) -> None:
        p = self.params
        if p.task_type == "classification":
            self.variables.local_labels.remote(np.unique(labels).tolist(), role="arbiter", idx=0)
            self.classes_ = [float(c) for c in self.variables.label_mapping.get(idx=0)]
            self.classes_ = [int(c) if c == int(c) else c for c in self.classes_]
            self.tree_dim_ = 1 if len(self.classes_) <= 2 else len(self.classes_)
        else:
            self.classes_, self.tree_dim_ = [], 1
        self.objective_ = Objective(p.objective_param.objective, p.objective_param.params, self.tree_dim_)
        self.init_score_ = self.objective_.init_score(labels if p.task_type == "regression" else np.zeros(1))

    _targets = HeteroSecureBoostGuest._targets
    _scores_of_rows = HeteroSecureBoostGuest._scores_of_rows
    _output = HeteroSecureBoostGuest._output
    _log_summary = HeteroSecureBoostGuest._log_summary
    _restore_task = HeteroSecureBoostGuest._restore_task
    _metric_inputs = HeteroSecureBoostGuest._metric_inputs

    def _bin(self, data, masker):
        """Split points at the clients' mean quantiles (sent masked); the data binned and persisted."""
        use_missing, zero_as_missing = self.params.missing_mode
        columns = []
        for _, x in gather_columns(data.table, list(range(len(self.header_))), data.count):
            columns.append(raw_quantiles(np.where(kernels.missing_mask(x, use_missing, zero_as_missing), np.nan, x),
                                         self.params.bin_num))
        local = np.hstack(columns) if columns else np.empty((self.params.bin_num, 0))
        self.variables.split_points.remote(masker.mask(local.ravel(), "split_points"), role="arbiter", idx=0)
        mean = np.asarray(self.variables.averaged_points.get(idx=0), dtype=np.float64).reshape(local.shape)
        self.split_points_ = [np.unique(mean[:, j]) for j in range(mean.shape[1])]
        kernel = functools.partial(kernels.bin_block, self.split_points_, use_missing, zero_as_missing)
        return data.table.map_partitions(kernel, keeps_rows=True).persist(), [len(p) for p in self.split_points_]

    def _boost(self, binned, bins, targets, masker) -> None:
        p = self.params
        self.scores_ = [np.tile(self.init_score_, (len(y), 1)) for y in targets]
        self.trees_, self.tree_masks_, self.row_leaves_, self.losses_, self.importance_ = [], [], [], [], {}
        self.best_iteration_ = -1
        y_all = np.concatenate(targets)
        offsets, width = histogram_layout(bins)
        for r in range(p.num_trees):
            self._fit_round(targets,
                            lambda k, g, h, r=r: self._grow_tree(binned, bins, offsets, width, g, h, masker, (r, k)))
            loss = self.objective_.loss(y_all, np.concatenate(self.scores_))
            self.losses_.append(loss)
            self.variables.loss.remote(masker.mask(np.array([loss * len(y_all), len(y_all)]), f"loss.{r}"),
                                       role="arbiter", idx=0, suffix=(r,))
            if p.validates_at(r):
                self._validate(r, y_all)
            self.ctx.tracker.set_progress(100 * (r + 1) / p.num_trees)
            if self.variables.stop_flag.get(idx=0, suffix=(r,)):
                break

    def _grow_tree(self, binned, bins, offsets, width, g_parts, h_parts, masker, suffix):
        self.variables.valid_features.get(idx=0, suffix=suffix)  # the arbiter applies them to the sums
        positions = [np.zeros(len(g), np.int64) for g in g_parts]
        build, size = [0], 1
        for depth in range(self.params.tree_param.max_depth):
            slots = np.full(size, -1, np.int64)
            slots[build] = np.arange(len(build))
            kernel = functools.partial(kernels.plain_histogram_kernel, offsets, width, len(build))
            hist = sum(self.run_partitions(binned, kernel, [(slots[p], g, h) for p, g, h in
                                                            zip(positions, g_parts, h_parts)]))
            label = "hist." + ".".join(map(str, suffix + (depth,)))
            self.variables.histograms.remote(masker.mask(hist.ravel(), label), role="arbiter", idx=0,
                                             suffix=suffix + (depth,))
            splits = self.variables.best_split_points.get(idx=0, suffix=suffix + (depth,))
            if not splits:
                break
            table = tuple(np.array(column) for column in zip(*[(s[0], s[1], s[2], s[3] == -1, s[4], s[5],
                                                                 bins[s[1]]) for s in splits]))
            positions = self.run_partitions(binned, kernels.dispatch_kernel, [(p, table) for p in positions])
            build, size = [int(s[4]) for s in splits], max(int(s[5]) for s in splits) + 1
        nodes = [Node.from_dict(n) for n in self.variables.tree.get(idx=0, suffix=suffix)]
        for node in nodes:
            if not node.is_leaf:
                key = (self.ctx.role, node.fid)
                self.importance_[key] = self.importance_.get(key, 0) + 1
                node.bid = float(self.split_points_[node.fid][int(node.bid)])
        self.trees_.append(nodes)
        self.tree_masks_.append({})
        return nodes, positions

    def _validate(self, r: int, y_all: np.ndarray) -> None:
        """Log the metrics of this client's train rows and, with eval_data, its validate rows (local)."""
        name = f"iteration_{r}"
        self._log_summary("train", name, y_all, np.concatenate(self.scores_))
        if self.eval_data_ is not None and self.eval_data_.count:
            labels = np.concatenate(self.partition_values(self.eval_data_.table, kernels.block_labels))
            self._log_summary("validate", name, self._targets(labels), np.concatenate(self._local_scores(
                self.eval_data_)))

    # ---- predict ------------------------------------------------------------------------

    def predict(self, table, kind: str):
        data = self.eval_data_ if kind == "validate" and getattr(self, "eval_data_", None) is not None \
            else self.load(table, refuse_empty=False)
        return self._output(data, self._local_scores(data), kind)

    def _local_scores(self, data) -> list:
        arrays = tree_arrays(self.trees_, "", [])
        columns = self.model_columns(data)
        zero = self.params.missing_mode[1]
        sizes = self.partition_values(data.table, kernels.block_size)
        positions = self.run_partitions(data.table, functools.partial(kernels.route_kernel, arrays, columns, zero),
                                        [np.zeros((n, len(self.trees_)), np.int64) for n in sizes])
        trees = np.arange(len(self.trees_))[None, :]
        return [accumulate(self.init_score_, arrays.weight[trees, p], self.params.learning_rate, self.tree_dim_)
                for p in positions]

    # ---- model --------------------------------------------------------------------------

    def model_param(self) -> dict:
        param = HeteroSecureBoostGuest.model_param(self)
        param["feature_importances"] = [{"sitename": site, "fid": fid, "importance": count}
                                        for (site, fid), count in sorted(self.importance_.items(),
                                                                         key=lambda kv: (-kv[1], kv[0][1]))]
        return param

    def load_model(self, messages: dict) -> None:
        HeteroSecureBoostGuest.load_model(self, messages)


__all__ = ["HomoSecureBoostClient", "raw_quantiles", "route"]
