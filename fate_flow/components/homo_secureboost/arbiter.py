"""HomoSecureboost on the arbiter: relays the key agreement, averages the quantiles and grows every tree on
the clients' summed histograms (the masks cancel in the sums; it never sees one client's), logs the loss."""
from __future__ import annotations

import numpy as np

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.hetero_secureboost.tree import (
    Node, SplitRules, best_split, histogram_candidates, histogram_layout, leaf_weight,
)
from fate_flow.components.homo_lr.secure_aggregation import arbiter_relay_keys, unmask_sum
from fate_flow.components.homo_secureboost.transfer import HomoSecureBoostTransferVariable

LOSS_META = {"name": "train", "metric_type": "LOSS", "unit_name": "iters"}


class HomoSecureBoostArbiter(ComponentBase):
    """The arbiter of HomoSecureboost; it outputs no data and exports no model (as FATE's)."""

    def run(self, ctx: ComponentContext, inputs: dict) -> ComponentOutput:
        p = self.params
        p.check()
        if (inputs.get("model") or {}) or not any(k in (inputs.get("data") or {}) for k in ("train_data", "data")):
            return ComponentOutput()  # a predict job: clients predict alone
        self.ctx, self.variables = ctx, HomoSecureBoostTransferVariable(ctx.federation)
        self.variables.set_flowid("fit")
        arbiter_relay_keys(self.variables)
        tree_dim = self._label_mapping()
        bins = self._average_points()
        t = p.tree_param
        self.rules = SplitRules(t.l2, t.min_impurity_split, t.min_leaf_node, p.missing_mode[0])
        losses = []
        for r in range(p.num_trees):
            for k in range(tree_dim):
                self._grow_tree(bins, (r, k))
            loss = unmask_sum(self.variables.loss.get(idx=-1, suffix=(r,)), "loss")
            losses.append(float(loss[0] / loss[1]))
            ctx.tracker.log_metric_data("train", "loss", [(r, losses[-1])])
            stop = bool(p.n_iter_no_change and r > 0 and abs(losses[-2] - losses[-1]) < p.tol)
            self.variables.stop_flag.remote(stop, suffix=(r,))
            ctx.tracker.set_progress(100 * (r + 1) / p.num_trees)
            if stop:
                break
        ctx.tracker.set_metric_meta("train", "loss", dict(LOSS_META, Best=min(losses)))
        return ComponentOutput()

    def _label_mapping(self) -> int:
        if self.params.task_type != "classification":
            return 1
        classes = sorted(set().union(*[set(labels) for labels in self.variables.local_labels.get(idx=-1)]))
        self.variables.label_mapping.remote(classes)
        return 1 if len(classes) <= 2 else len(classes)

    def _average_points(self) -> list[int]:
        masked = self.variables.split_points.get(idx=-1)
        mean = unmask_sum(masked, "split_points") / len(masked)
        self.variables.averaged_points.remote(mean)
        points = mean.reshape(self.params.bin_num, -1)
        return [len(np.unique(points[:, j])) for j in range(points.shape[1])]

    def _grow_tree(self, bins: list[int], suffix: tuple) -> None:
        p, width = self.params, histogram_layout(bins)[1]
        features = self._valid_features(len(bins), suffix)
        nodes, stats, hists, parent_of = [Node(0)], {}, {}, {}
        build, layer = [0], [0]
        for depth in range(p.tree_param.max_depth):
            total = unmask_sum(self.variables.histograms.get(idx=-1, suffix=suffix + (depth,)), "histograms")
            total = total.reshape(3, len(build), width)
            for s, nid in enumerate(build):
                hists[nid] = total[:, s, :]
            for nid in layer:
                if nid not in hists:  # a right child: its parent's histogram minus its left sibling's
                    parent = nodes[parent_of[nid]]
                    hists[nid] = hists[parent.id] - hists[parent.left_nodeid]
                if nid == 0:
                    stats[0] = tuple(float(v) for v in hists[0][:, :bins[0] + 1].sum(axis=1)) if bins else (0, 0, 0)
            splits = []
            for nid in layer:
                g, h, n = stats[nid]
                if n < p.tree_param.min_sample_split:
                    continue
                cand, keys = histogram_candidates(*hists[nid], bins, features)
                split = best_split(cand, g, h, n, self.rules)
                if split is None:
                    continue
                left, right = len(nodes), len(nodes) + 1
                nodes += [Node(left), Node(right)]
                parent_of[left] = parent_of[right] = nid
                node = nodes[nid]
                node.is_leaf, node.left_nodeid, node.right_nodeid, node.missing_dir = False, left, right, \
                    split.missing_dir
                node.fid, node.bid = keys[split.index]
                stats[left] = (split.g_left, split.h_left, split.n_left)
                stats[right] = (g - split.g_left, h - split.h_left, n - split.n_left)
                splits.append([nid, node.fid, int(node.bid), split.missing_dir, left, right])
            self.variables.best_split_points.remote(splits, suffix=suffix + (depth,))
            if not splits:
                break
            build = [s[4] for s in splits]
            layer = [c for s in splits for c in (s[4], s[5])]
        for node in nodes:
            if node.is_leaf:
                node.weight = leaf_weight(stats[node.id][0], stats[node.id][1], self.rules.l2)
        self.variables.tree.remote([n.to_dict() for n in nodes], suffix=suffix)

    def _valid_features(self, n_features: int, suffix: tuple) -> list[int]:
        rate = self.params.subsample_feature_rate
        features = list(range(n_features))
        if rate < 1:
            rng = np.random.default_rng(list(suffix))
            features = sorted(rng.choice(n_features, size=max(1, int(rate * n_features)), replace=False).tolist())
        self.variables.valid_features.remote(features, suffix=suffix)
        return features
