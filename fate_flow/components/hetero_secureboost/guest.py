"""HeteroSecureBoost on the guest: holds the labels and the Paillier key, grows every tree, outputs predictions.

Per tree (suffix (round, tree)): g and h of every row are packed into one plaintext (``packing``),
encrypted and sent to the hosts partition by partition. Per depth the guest sends the nodes to split
and every row's node; it builds its own plain histograms on the workers and finds its best split per
node, while each host returns its compressed encrypted split sums (histograms built on the workers,
siblings derived by subtraction). The guest decrypts them, keeps per node the best of all parties
(gain > min_impurity_split), tells each host which of its candidates won, gets the bin id of each
(never the threshold) and the rows a host's splits moved, and moves the rows of its own splits.
Leaves weigh -G/(H + lambda); scores move by learning_rate times the leaf weight.
"""
from __future__ import annotations

import functools
import threading
import time

import numpy as np

from fate_flow.components.evaluation.metrics import evaluate
from fate_flow.components.hetero_secureboost import kernels
from fate_flow.components.hetero_secureboost.base import MODULE, SecureBoostBase, Stopwatch
from fate_flow.components.hetero_secureboost.loss import Objective
from fate_flow.components.hetero_secureboost.param import TreeEncryptParam
from fate_flow.components.hetero_secureboost.rows import SPILL_ROWS
from fate_flow.components.hetero_secureboost.output import task_description
from fate_flow.components.hetero_secureboost.packing import GHPacker, decompress, entry_bits, fold_capacity
from fate_flow.components.hetero_secureboost.tree import (
    Node, SplitRules, accumulate, best_split, histogram_candidates, histogram_layout,
    leaf_weight, tree_arrays,
)
from fate_flow.components.linear_model.partitioned import in_groups, predict_schema, run_with, union_tables
from fate_flow.secureprotol import EncryptedArray, generate_keypair, prestart_pool

LOSS_META = {"name": "train", "metric_type": "LOSS", "unit_name": "iters"}
LARGER_IS_BETTER = {"auc", "ks", "r2_score", "precision", "recall", "explained_variance", "accuracy"}


class HeteroSecureBoostGuest(SecureBoostBase):
    """Guest side: fits ``trees_`` with the hosts and outputs FATE's predict rows."""

    role = "guest"
    meta_name = "HeteroSecureBoostingTreeGuestMeta"
    param_name = "HeteroSecureBoostingTreeGuestParam"

    # ---- fit ----------------------------------------------------------------------------

    def fit(self, table, eval_table=None):
        """Grow ``num_trees`` rounds (or stop early); returns the train rows' predictions."""
        # decrypting (guest) and folding (host) use the Paillier workers from the first tree: started in the
        # background, their start-up overlaps loading and binning instead of delaying them
        threading.Thread(target=prestart_pool, name="paillier-prestart", daemon=True).start()
        data = self.load(table)
        if data.label_name is None:
            raise ValueError(f"the train data has no label: {MODULE} needs DataIO with_label on the guest")
        self.swap_digests(data)
        self.spill_rows_ = data.count >= SPILL_ROWS
        targets = self._labels_and_targets(data)
        eval_data = self._validation_data(eval_table)
        self.variables.tree_dim.remote({"tree_dim": self.tree_dim_, "num_trees": self.params.num_trees,
                                        "validate_rounds": self.validate_rounds_}, role="host")
        binned, bins = self.bin_features(data)
        self.header_ = list(data.header)
        if self.params.encrypt_param.method == TreeEncryptParam.ITERATIVE_AFFINE:
            self.ctx.logger.warning("encrypt_param.method iterativeAffine: encrypting with Paillier, the one "
                                    "additive cipher of this server (the trees are the same)")
        key = generate_keypair(self.params.encrypt_param.key_length)
        self.variables.paillier_pubkey.remote(key[0].to_bytes(), role="host")
        self._boost(data, binned, bins, targets, key, eval_data)
        # the scores of the kept trees: the boosting's own sums unless early stopping dropped trees
        self.train_scores_ = self.scores_ if self.best_iteration_ < 0 else self._scores_of_rows()
        return self._output(data, self.train_scores_, "train")

    def _labels_and_targets(self, data) -> list:
        """Set the task (classes, tree dimension, objective) from the labels; per partition the targets. The
        labels are not kept: the boosting holds per-row arrays only where it needs them."""
        labels = self.partition_values(data.table, kernels.block_labels)
        self._set_task(np.concatenate(labels))
        return self.row_arrays(self._targets(y) for y in labels)

    def _set_task(self, labels: np.ndarray) -> None:
        p = self.params
        if p.task_type == "classification":
            self.classes_ = np.unique(labels).tolist()
            if len(self.classes_) < 2:
                raise ValueError(f"task_type classification needs at least two classes, got {self.classes_}")
            self.tree_dim_ = 1 if len(self.classes_) == 2 else len(self.classes_)
        else:
            self.classes_, self.tree_dim_ = [], 1
        self.objective_ = Objective(p.objective_param.objective, p.objective_param.params, self.tree_dim_)
        self.init_score_ = self.objective_.init_score(labels if p.task_type == "regression" else np.zeros(1))

    def _targets(self, labels: np.ndarray) -> np.ndarray:
        """Labels as the objective reads them: class indexes (0/1 for binary) or values."""
        if self.params.task_type == "classification":
            return np.searchsorted(self.classes_, labels).astype(np.float64)
        if self.params.objective_param.objective == "tweedie" and (labels < 0).any():
            raise ValueError("objective_param.objective tweedie needs labels >= 0")
        return labels.astype(np.float64)

    def _validation_data(self, eval_table):
        p = self.params
        self.validate_rounds_ = [r for r in range(p.num_trees) if p.validates_at(r)] if eval_table is not None else []
        if p.early_stopping_rounds is not None and eval_table is None:
            raise ValueError("early_stopping_rounds needs validate data: give secureboost an eval_data input")
        self.eval_data_ = self.load(eval_table, refuse_empty=False) if eval_table is not None else None
        return self.eval_data_

    def _boost(self, data, binned, bins, targets, key, eval_data) -> None:
        p = self.params
        sizes = [len(y) for y in targets]
        self.scores_ = self.row_arrays(np.tile(self.init_score_, (n, 1)) for n in sizes)
        self.trees_, self.tree_masks_, self.row_leaves_, self.losses_ = [], [], [], []
        self.importance_ = {}
        self.best_iteration_, recorder = -1, EarlyStopRecorder(p.early_stopping_rounds, p.use_first_metric_only)
        rows = sum(sizes)
        for r in range(p.num_trees):
            self._fit_round(targets, lambda k, g, h, r=r: self._grow_tree(binned, bins, g, h, (r, k), key))
            # the mean loss from each partition's (no array of every row)
            loss = sum(self.objective_.loss(y, f) * len(y) for y, f in zip(targets, self.scores_) if len(y)) / rows
            self.losses_.append(loss)
            self.ctx.tracker.log_metric_data("train", self._loss_name(), [(r, loss)])
            stop = self._validate(r, eval_data, targets, recorder) if r in self.validate_rounds_ else False
            if p.n_iter_no_change and r > 0 and abs(self.losses_[-2] - loss) < p.tol:
                stop = True
            self.variables.stop_flag.remote({"stop": bool(stop), "best_round": self.best_iteration_}, role="host",
                                            suffix=(r,))
            self.ctx.tracker.set_progress(100 * (r + 1) / p.num_trees)
            self.ctx.logger.info("round %s done, loss %s", r, loss)
            if stop:
                break
        self.ctx.tracker.set_metric_meta("train", self._loss_name(), dict(LOSS_META, Best=min(self.losses_)))
        if self.best_iteration_ >= 0:
            keep = (self.best_iteration_ + 1) * self.tree_dim_
            del self.trees_[keep:], self.tree_masks_[keep:], self.row_leaves_[keep:]

    def _loss_name(self) -> str:
        """FATE's loss metric name: "loss", or "loss.<k>" in fold k of a cross validation."""
        fold = getattr(self, "cv_fold_", None)
        return "loss" if fold is None else f"loss.{fold}"

    def score_fold(self, train, test, k: int) -> None:
        """Log the metrics of fold k's train rows (their fit scores) and test rows (routed with the hosts)."""
        y_train = np.concatenate(self.partition_values(train.table, kernels.block_labels))
        self._log_summary("train", f"train_fold_{k}", self._targets(y_train), np.concatenate(list(self.train_scores_)))
        scores = self._predict_scores(test)
        y_test = np.concatenate(self.partition_values(test.table, kernels.block_labels))
        self._log_summary("validate", f"validate_fold_{k}", self._targets(y_test), np.concatenate(scores))

    def _scores_of_rows(self) -> list:
        """Per partition the (n, tree_dim) scores from each kept tree's leaf of every row (predict's sums)."""
        weights = [np.array([node.weight for node in nodes]) for nodes in self.trees_]
        parts = len(self.row_leaves_[0]) if self.row_leaves_ else len(self.scores_)
        sizes = [len(f) for f in self.scores_]
        out = []
        for i in range(parts):
            leaf_weights = np.column_stack([w[leaves[i]] for w, leaves in zip(weights, self.row_leaves_)]) \
                if self.row_leaves_ else np.zeros((sizes[i], 0))
            out.append(accumulate(self.init_score_, leaf_weights, self.params.learning_rate, self.tree_dim_))
        return out

    # ---- one tree -----------------------------------------------------------------------

    def _grow_tree(self, binned, bins, g_parts, h_parts, suffix, key) -> tuple[list[Node], list[np.ndarray]]:
        """Grow one tree; (its nodes, every row's leaf per partition)."""
        public_key, _ = key
        packer = GHPacker.for_parts(g_parts, h_parts)
        send = self.variables.encrypted_grad_and_hess
        send.remote(packer.wire_layout(), role="host", suffix=suffix)
        watch, started = Stopwatch(), time.perf_counter()
        for i, (g, h) in enumerate(zip(g_parts, h_parts)):
            with watch.phase("encrypt"):
                cts = public_key.raw_encrypt_many(packer.pack(g, h)) if len(g) else []
            send.remote(EncryptedArray(public_key, cts, 0, is_obfuscated=True).to_bytes() if cts else b"",
                        role="host", suffix=suffix + (i,))
        grower = _Grower(self, binned, bins, g_parts, h_parts, suffix, key, packer, watch)
        nodes, leaves = grower.grow(sum(float(g.sum()) for g in g_parts), sum(float(h.sum()) for h in h_parts),
                                    sum(len(g) for g in g_parts))
        self.ctx.logger.info("tree %s.%s: %.3f s (%s)", *suffix, time.perf_counter() - started, watch.report())
        self.trees_.append(nodes)
        self.tree_masks_.append({})
        self.variables.tree.remote([_for_hosts(n, self.site) for n in nodes], role="host", suffix=suffix)
        return nodes, leaves

    # ---- validation and early stopping --------------------------------------------------

    def _validate(self, r: int, eval_data, targets: list, recorder: "EarlyStopRecorder") -> bool:
        """Log the metrics of the train and validate rows after round r; whether early stopping says stop."""
        flowid = self.variables.flowid
        self.variables.set_flowid(f"{flowid}_iteration_{r}_validate")
        try:
            eval_scores = self._predict_scores(eval_data)
        finally:
            self.variables.set_flowid(flowid)
        name = f"iteration_{r}"
        self._log_summary("train", name, np.concatenate(list(targets)), np.concatenate(list(self.scores_)))
        labels = np.concatenate(self.partition_values(eval_data.table, kernels.block_labels)) \
            if eval_data.count else np.empty(0)
        summary = self._log_summary("validate", name, self._targets(labels), np.concatenate(eval_scores)) \
            if eval_data.count else {}
        if self.params.early_stopping_rounds is None or not summary:
            return False
        if recorder.update(summary):
            self.best_iteration_ = r
        return recorder.should_stop()

    def _log_summary(self, namespace: str, name: str, targets: np.ndarray, scores: np.ndarray) -> dict:
        eval_type, labels, values = self._metric_inputs(targets, scores)
        records = evaluate(eval_type, labels, values, metrics=self.params.metrics, component_name=name)
        summary = [rec for rec in records if rec.metric_type == "EVALUATION_SUMMARY"]
        for record in summary:
            self.ctx.tracker.log_metric_data(namespace, record.name, record.data)
            self.ctx.tracker.set_metric_meta(namespace, record.name, record.meta)
        return dict(summary[0].data) if summary else {}

    def _metric_inputs(self, targets: np.ndarray, scores: np.ndarray):
        predicted = self.objective_.predict(scores)
        if self.params.task_type == "regression":
            return "regression", targets, predicted
        if self.tree_dim_ == 1:
            return "binary", targets, predicted
        return "multi", targets, np.argmax(predicted, axis=1).astype(np.float64)

    # ---- predict ------------------------------------------------------------------------

    def predict(self, table, kind: str):
        """FATE's predict rows of ``table`` typed ``kind``, routed through the hosts' nodes."""
        data = self.eval_data_ if kind == "validate" and getattr(self, "eval_data_", None) is not None \
            else self.load(table, refuse_empty=False)
        if not hasattr(self, "objective_"):
            self._restore_task()
        return self._output(data, self._predict_scores(data), kind)

    def _predict_scores(self, data) -> list:
        """Per partition the (n, tree_dim) scores: routing here, and at the hosts for their nodes."""
        self.swap_digests(data)
        arrays = tree_arrays(self.trees_, self.site, [f"host:{h}" for h in self.hosts])
        columns = self.model_columns(data)
        zero = self.params.missing_mode[1]
        positions = [np.zeros((n, len(self.trees_)), np.int64) for n in self.partition_values(data.table,
                                                                                                kernels.block_size)]
        step = 0
        while True:
            positions = self.run_partitions(data.table, functools.partial(kernels.route_kernel, arrays, columns, zero),
                                            positions)
            done = not any((arrays.owner[np.arange(arrays.owner.shape[0])[None, :], p] >= 1).any() for p in positions)
            self.variables.predict_finish_tag.remote(done, role="host", suffix=(step,))
            if done:
                break
            self._ask_hosts(arrays, positions, step)
            step += 1
        trees = np.arange(len(self.trees_))[None, :]
        return [accumulate(self.init_score_, arrays.weight[trees, p], self.params.learning_rate, self.tree_dim_)
                for p in positions]

    def _ask_hosts(self, arrays, positions: list, step: int) -> None:
        """Send each host the (row, tree, node) at its nodes; move them by its answers."""
        trees = np.arange(arrays.owner.shape[0])[None, :]
        for h in range(len(self.hosts)):
            pending = []
            for i, p in enumerate(positions):
                rows, cols = np.nonzero(arrays.owner[trees, p] == h + 1)
                pending.append((rows, cols))
                self.variables.predict_data.remote({"rows": rows, "trees": cols, "nodes": p[rows, cols]},
                                                   role="host", idx=h, suffix=(step, i))
            for i, (rows, cols) in enumerate(pending):
                left = np.asarray(self.variables.predict_data_by_host.get(idx=h, suffix=(step, i)), dtype=bool)
                if left.shape != rows.shape:
                    raise ValueError(f"host {self.hosts[h]} answered {left.shape} decisions for {rows.shape} rows")
                nodes = positions[i][rows, cols]
                positions[i][rows, cols] = np.where(left, arrays.left[cols, nodes], arrays.right[cols, nodes])

    def _output(self, data, scores: list, kind: str):
        task = task_description(self.params.task_type, self.objective_, self.classes_,
                                self.params.predict_param.threshold)
        directory = self.ctx.computing.new_dir("predict")
        kernel = functools.partial(kernels.output_kernel, task, kind, directory)
        paths = []
        for group in in_groups(data.table):
            paths += run_with(data.table, group, kernel, [scores[i] for i in group])
        return self.ctx.computing.from_spilled(paths, rows_hint=data.count).with_schema(predict_schema(data.sid_name))

    def combine_outputs(self, results: list):
        return union_tables(results)

    # ---- model --------------------------------------------------------------------------

    def model_param(self) -> dict:
        """FATE's BoostingTreeModelParam of the guest."""
        importance = sorted(self.importance_.items(), key=lambda kv: (-kv[1], kv[0]))
        return {"tree_num": len(self.trees_), "trees_": self.trees_param(), "init_score": list(map(float,
                self.init_score_)), "losses": list(self.losses_), "tree_dim": self.tree_dim_,
                "num_classes": len(self.classes_), "classes_": [str(c) for c in self.classes_],
                "feature_importances": [{"sitename": site, "fid": fid, "importance": count}
                                        for (site, fid), count in importance],
                "feature_name_fid_mapping": {str(i): name for i, name in enumerate(self.header_)},
                "best_iteration": self.best_iteration_}

    def load_model(self, messages: dict) -> None:
        param = self.load_trees(messages)
        self.init_score_ = np.asarray(param.get("init_score") or [0.0], dtype=np.float64)
        self.classes_ = [float(c) if "." in str(c) else int(c) for c in param.get("classes_") or []]
        self.losses_ = list(param.get("losses") or [])
        self.importance_ = {(f["sitename"], int(f["fid"])): f["importance"]
                            for f in param.get("feature_importances") or []}
        self._restore_task()

    def _restore_task(self) -> None:
        p = self.params
        self.objective_ = Objective(p.objective_param.objective, p.objective_param.params, self.tree_dim_)


class EarlyStopRecorder:
    """FATE's performance recorder: per metric the best value and rounds without improvement."""

    def __init__(self, rounds: int | None, first_only: bool) -> None:
        self.rounds, self.first_only = rounds, first_only
        self.best: dict = {}
        self.stale: dict = {}

    def update(self, summary: dict) -> bool:
        """Record one validation; True when every tracked metric improved (the model is the best so far)."""
        items = list(summary.items())[:1] if self.first_only else list(summary.items())
        improved = True
        for name, value in items:
            better = name not in self.best or (value > self.best[name] if name in LARGER_IS_BETTER
                                               else value < self.best[name])
            if better:
                self.best[name], self.stale[name] = value, 0
            else:
                self.stale[name] = self.stale.get(name, 0) + 1
                improved = False
        return improved

    def should_stop(self) -> bool:
        return self.rounds is not None and any(count >= self.rounds for count in self.stale.values())


class _Grower:
    """The guest's growth of one tree, depth by depth, with the hosts.

    Histogram subtraction: of two siblings that both split, each host encrypts, compresses and sends
    the histogram of the one with fewer rows only; the guest derives the other from their parent's
    decrypted histogram, so half the ciphertexts are built, folded and decrypted."""

    def __init__(self, owner: HeteroSecureBoostGuest, binned, bins, g_parts, h_parts, suffix, key, packer,
                 watch: Stopwatch) -> None:
        self.o, self.binned, self.bins, self.suffix, self.watch = owner, binned, bins, suffix, watch
        self.g_parts, self.h_parts, self.key, self.packer = g_parts, h_parts, key, packer
        t = owner.params.tree_param
        self.rules = SplitRules(t.l2, t.min_impurity_split, t.min_leaf_node, owner.params.missing_mode[0])
        self.features = owner.sample_features(len(bins), *suffix)
        self.offsets, self.width = histogram_layout(bins)
        self.bin_of_node: dict[int, int] = {}
        self.parent_of: dict[int, int] = {}
        self.host_hists: list[dict] = [{} for _ in owner.hosts]

    def grow(self, g: float, h: float, n: int) -> tuple[list[Node], list[np.ndarray]]:
        o, t = self.o, self.o.params.tree_param
        self.nodes, self.stats = [Node(0)], {0: (g, h, n)}
        positions = self.o.row_arrays(np.zeros(len(part), np.int64) for part in self.g_parts)
        layer = [0]
        for depth in range(t.max_depth):
            to_split = [nid for nid in layer if self.stats[nid][2] >= t.min_sample_split]
            suffix = self.suffix + (depth,)
            o.variables.tree_node_queue.remote({"nodes": to_split, "build": self._to_build(to_split)}, role="host",
                                               suffix=suffix)
            if not to_split:
                break
            for i, pos in enumerate(positions):
                o.variables.node_positions.remote(pos, role="host", suffix=suffix + (i,))
            with self.watch.phase("split_find"):
                best = self._own_best(positions, to_split)
            for index in range(len(o.hosts)):
                self._merge(best, self._host_best(index, to_split, suffix), index)
            with self.watch.phase("dispatch"):
                layer = self._split(best, suffix)
                positions = self._dispatch(best, positions, suffix)
                self._child_stats(positions, layer)
        for node in self.nodes:
            if node.is_leaf:
                node.weight = leaf_weight(self.stats[node.id][0], self.stats[node.id][1], self.rules.l2)
        return self.nodes, positions

    def _to_build(self, to_split: list[int]) -> list[int]:
        """The nodes whose histograms hosts build: the smaller of two splitting siblings, any other alone."""
        build, chosen = [], set(to_split)
        for nid in to_split:
            parent = self.parent_of.get(nid)
            if parent is None:
                build.append(nid)
                continue
            node = self.nodes[parent]
            sibling = node.right_nodeid if nid == node.left_nodeid else node.left_nodeid
            if sibling not in chosen:
                build.append(nid)
            elif nid == node.left_nodeid:
                build.append(nid if self.stats[nid][2] <= self.stats[sibling][2] else sibling)
        return sorted(build)

    def _own_best(self, positions: list, to_split: list[int]) -> dict:
        """Per node to split: (party index -1 for the guest, BestSplit, (fid, bin)) of the guest's own features."""
        slots = np.full(len(self.nodes), -1, np.int64)
        slots[to_split] = np.arange(len(to_split))
        kernel = functools.partial(kernels.plain_histogram_kernel, self.offsets, self.width, len(to_split))
        hist = 0
        for group in in_groups(self.binned):  # each row's slot made for the partitions in flight only
            extras = [(slots[positions[i]], self.g_parts[i], self.h_parts[i]) for i in group]
            for part in run_with(self.binned, group, kernel, extras):  # added in partition order, as sum() did
                hist = hist + part
        best = {}
        for s, nid in enumerate(to_split):
            part = slice(s * self.width, (s + 1) * self.width)
            cand, keys = histogram_candidates(hist[0, part], hist[1, part], hist[2, part], self.bins, self.features)
            split = best_split(cand, *self.stats[nid], self.rules)
            if split is not None:
                best[nid] = (-1, split, keys[split.index])
        return best

    def _host_best(self, index: int, to_split: list[int], suffix: tuple) -> dict:
        """Per node the best (slot, bin) of host ``index``: its decrypted histograms, siblings by subtraction."""
        with self.watch.phase("hosts"):
            message = self.o.variables.encrypted_splitinfo_host.get(idx=index, suffix=suffix)
        bins = [int(b) for b in message["bins"]]
        width = histogram_layout(bins)[1] if bins else 0
        with self.watch.phase("decrypt"):
            hists = self._decrypt_histograms(message["nodes"], width)
        for nid in to_split:
            if nid not in hists:
                hists[nid] = self._derived(index, nid, hists)
        self.host_hists[index] = hists
        best = {}
        with self.watch.phase("split_find"):
            for nid in to_split:
                cand, keys = histogram_candidates(*hists[nid], bins)
                split = best_split(cand, *self.stats[nid], self.rules)
                if split is not None:
                    best[nid] = (split, keys[split.index])
        return best

    def _decrypt_histograms(self, infos: list, width: int) -> dict:
        """{node: (3, width) g, h and count sums} of a host's nodes from their compressed non-empty entries,
        decrypted in one batch (all cores for a big one)."""
        public_key, private_key = self.key
        capacity = fold_capacity(int(public_key.n).bit_length())
        layouts, ciphertexts = [], []
        for info in infos:
            entries, counts = (np.asarray(info[k], dtype=np.int64) for k in ("entries", "counts"))
            if len(entries) != len(counts) or (len(entries) and (entries.min() < 0 or entries.max() >= width)):
                raise ValueError("a host sent histogram entries outside its layout")
            if len(counts) and counts.min() < 1:
                raise ValueError("a host sent a histogram entry of no rows")
            cts = EncryptedArray.from_bytes(public_key, info["sums"]).ciphertexts(be_secure=False) \
                if len(entries) else []
            layouts.append((int(info["node"]), entries, counts, len(ciphertexts), len(cts)))
            ciphertexts += cts
        plaintexts = private_key.raw_decrypt_many(ciphertexts)
        hists = {}
        for nid, entries, counts, start, size in layouts:
            hist = hists[nid] = np.zeros((3, width))
            if len(entries):
                widths = entry_bits(counts, self.packer.field_bits)
                sums = decompress(plaintexts[start:start + size], widths, capacity)
                hist[0, entries], hist[1, entries] = self.packer.unpack(sums, counts)
                hist[2, entries] = counts
        return hists

    def _derived(self, index: int, nid: int, hists: dict) -> np.ndarray:
        parent = self.nodes[self.parent_of[nid]]
        sibling = parent.right_nodeid if nid == parent.left_nodeid else parent.left_nodeid
        if parent.id not in self.host_hists[index] or sibling not in hists:
            raise ValueError(f"host {self.o.hosts[index]} sent no histogram for node {nid} or its sibling")
        return self.host_hists[index][parent.id] - hists[sibling]

    @staticmethod
    def _merge(best: dict, host_best: dict, index: int) -> None:
        for nid, (split, key) in host_best.items():
            if nid not in best or split.gain > best[nid][1].gain:
                best[nid] = (index, split, key)

    def _split(self, best: dict, suffix: tuple) -> list[int]:
        """Make the children of every node with a split; tell the hosts; returns the new layer."""
        o = self.o
        children, won, splits = [], [[] for _ in o.hosts], []
        for nid in sorted(best):
            party, split, key = best[nid]
            left, right = len(self.nodes), len(self.nodes) + 1
            self.nodes += [Node(left), Node(right)]
            self.parent_of[left] = self.parent_of[right] = nid
            node = self.nodes[nid]
            node.is_leaf, node.left_nodeid, node.right_nodeid, node.missing_dir = False, left, right, split.missing_dir
            if party < 0:
                node.sitename, node.fid = o.site, key[0]
                node.bid = float(o.split_points_[key[0]][key[1]])
                self.bin_of_node[nid] = key[1]
                self._count_importance(node.sitename, node.fid)
            else:
                node.sitename = f"host:{o.hosts[party]}"
                won[party].append([nid, key[0], key[1], left, right, split.missing_dir])
            children += [left, right]
            splits.append([nid, left, right])
        for index in range(len(o.hosts)):
            o.variables.federated_best_splitinfo_host.remote({"won": won[index], "splits": splits}, role="host",
                                                             idx=index, suffix=suffix)
        for index in range(len(o.hosts)):
            asked = {w[0] for w in won[index]}
            for nid, fid, bid in o.variables.final_splitinfo_host.get(idx=index, suffix=suffix):
                if nid not in asked:
                    raise ValueError(f"host {o.hosts[index]} sent the split of node {nid}, which it did not win")
                self.nodes[nid].fid, self.nodes[nid].bid = int(fid), float(bid)
                self._count_importance(self.nodes[nid].sitename, int(fid))
        return children

    def _count_importance(self, site: str, fid: int) -> None:
        self.o.importance_[(site, fid)] = self.o.importance_.get((site, fid), 0) + 1

    def _dispatch(self, best: dict, positions, suffix: tuple):
        """Rows of the guest's split nodes moved here; those of each host's nodes as that host says (``positions``
        changed in place, partitions in flight at a time)."""
        own = [nid for nid in sorted(best) if best[nid][0] < 0]
        nodes = [self.nodes[nid] for nid in own]
        split = (np.array(own, np.int64), np.array([n.fid for n in nodes], np.int64),
                 np.array([self.bin_of_node[nid] for nid in own], np.float64),
                 np.array([n.missing_dir == -1 for n in nodes], bool),
                 np.array([n.left_nodeid for n in nodes], np.int64), np.array([n.right_nodeid for n in nodes], np.int64),
                 np.array([self.bins[n.fid] for n in nodes], np.float64))
        movers = [index for index in range(len(self.o.hosts)) if any(best[nid][0] == index for nid in best)]
        for group in in_groups(self.binned):
            before = [positions[i] for i in group]
            moved = run_with(self.binned, group, kernels.dispatch_kernel, [(p, split) for p in before])
            for i, old, new in zip(group, before, moved):
                for index in movers:
                    after = np.asarray(self.o.variables.dispatch_node_host_result.get(idx=index, suffix=suffix + (i,)),
                                       dtype=np.int64)
                    if after.shape != old.shape:
                        raise ValueError(f"host {self.o.hosts[index]} sent {after.shape} positions for "
                                         f"{old.shape} rows")
                    changed = after != old
                    new[changed] = after[changed]
                positions[i] = new
        return positions

    def _child_stats(self, positions: list, children: list[int]) -> None:
        """Exact (G, H, count) of the new nodes from the rows now in them (the guest knows every g and h)."""
        size = len(self.nodes)
        g = h = n = 0
        for p, g_part, h_part in zip(positions, self.g_parts, self.h_parts):  # in partition order, as sum() did
            g = g + np.bincount(p, weights=g_part, minlength=size)
            h = h + np.bincount(p, weights=h_part, minlength=size)
            n = n + np.bincount(p, minlength=size)
        for nid in children:
            self.stats[nid] = (float(g[nid]), float(h[nid]), int(n[nid]))


def _for_hosts(node: Node, own_site: str) -> dict:
    """A node as the hosts keep it: no weight, and no feature or threshold of the guest's splits."""
    data = dict(node.to_dict(), weight=0.0)
    if node.sitename == own_site:
        data.update(fid=-1, bid=0.0)
    return data


__all__ = ["HeteroSecureBoostGuest", "EarlyStopRecorder"]
