"""HeteroSecureBoost on a host: features only; builds encrypted histograms and keeps its thresholds.

Per tree the host receives every row's packed [[g, h]] (one ciphertext a row) and, per depth, the
rows' nodes and which nodes to build. Its workers multiply the ciphertexts into per (node, feature,
bin) products; the non-empty entries are folded many to a ciphertext (``packing.compress``, each
with the bits its row count needs),
obfuscated and sent with their row counts, features in a shuffled order. For each node it wins the
guest names (feature slot, bin): the host answers the feature index and bin id, keeps the threshold
in ``split_maskdict`` and moves the node's rows itself. It never sees a label, a gradient or a split
of the guest.
"""
from __future__ import annotations

import functools
import shutil
import threading
import time

import numpy as np

from fate_flow.components.hetero_secureboost import kernels
from fate_flow.components.hetero_secureboost.base import SecureBoostBase, Stopwatch
from fate_flow.components.hetero_secureboost.packing import compress_groups, entry_bits, fold_capacity
from fate_flow.components.hetero_secureboost.rows import SPILL_ROWS
from fate_flow.components.hetero_secureboost.tree import Node, histogram_layout, tree_arrays
from fate_flow.components.linear_model.partitioned import in_groups, run_with
from fate_flow.secureprotol import EncryptedArray, PaillierPublicKey, prestart_pool
from fate_flow.secureprotol.gmpy_math import mpz


class HeteroSecureBoostHost(SecureBoostBase):
    """Host side: its share of ``trees_`` (its own splits' thresholds in ``tree_masks_``); outputs no data."""

    role = "host"
    meta_name = "HeteroSecureBoostingTreeHostMeta"
    param_name = "HeteroSecureBoostingTreeHostParam"

    def fit(self, table, eval_table=None):
        """Take part in every tree the guest grows; returns None (the host outputs no data)."""
        # decrypting (guest) and folding (host) use the Paillier workers from the first tree: started in the
        # background, their start-up overlaps loading and binning instead of delaying them
        threading.Thread(target=prestart_pool, name="paillier-prestart", daemon=True).start()
        data = self.load(table)
        self.swap_digests(data)
        plan = self.variables.tree_dim.get(idx=0)
        self.tree_dim_, rounds = int(plan["tree_dim"]), int(plan["num_trees"])
        validate_rounds = set(plan.get("validate_rounds") or [])
        eval_data = self.load(eval_table, refuse_empty=False) if validate_rounds and eval_table is not None else None
        if validate_rounds and eval_data is None:
            raise ValueError("the guest validates during training but this host got no eval_data input")
        binned, bins = self.bin_features(data)
        self.header_ = list(data.header)
        self.spill_rows_ = data.count >= SPILL_ROWS  # the rows' nodes of each depth, in files for a big table
        public_key = PaillierPublicKey.from_bytes(self.variables.paillier_pubkey.get(idx=0))
        self.trees_, self.tree_masks_, self.best_iteration_ = [], [], -1
        for r in range(rounds):
            for k in range(self.tree_dim_):
                self._grow_tree(binned, bins, public_key, (r, k))
            if r in validate_rounds:
                flowid = self.variables.flowid
                self.variables.set_flowid(f"{flowid}_iteration_{r}_validate")
                self._route_for_guest(eval_data)
                self.variables.set_flowid(flowid)
            flag = self.variables.stop_flag.get(idx=0, suffix=(r,))
            self.best_iteration_ = int(flag.get("best_round", -1))
            self.ctx.tracker.set_progress(100 * (r + 1) / rounds)
            if flag.get("stop"):
                break
        if self.best_iteration_ >= 0:
            keep = (self.best_iteration_ + 1) * self.tree_dim_
            del self.trees_[keep:], self.tree_masks_[keep:]
        return None

    # ---- one tree -----------------------------------------------------------------------

    def _grow_tree(self, binned, bins: list[int], public_key: PaillierPublicKey, suffix: tuple) -> None:
        wire = self.variables.encrypted_grad_and_hess.get(idx=0, suffix=suffix)
        field_bits, value_bits = int(wire["field_bits"]), int(wire["value_bits"])
        if not (0 < value_bits < field_bits and 2 * field_bits < fold_capacity(int(public_key.n).bit_length())):
            raise ValueError(f"the guest's packing layout {wire} does not fit the key")
        self.watch, started = Stopwatch(), time.perf_counter()
        directory = self.ctx.computing.new_dir("gradients")
        try:
            paths = self._receive_gradients(binned.partitions, public_key, suffix, directory)
            masks = self._grow_depths(binned, bins, paths, _Layout.sampled(self, bins, suffix, public_key, wire))
        finally:  # the tree's ciphertexts are of no use after it (256 bytes a row: 1.3 GB after 5 trees at 1M)
            shutil.rmtree(directory, ignore_errors=True)
        nodes = [Node.from_dict(n) for n in self.variables.tree.get(idx=0, suffix=suffix)]
        for node in nodes:
            if node.sitename != self.site:
                node.fid, node.bid = -1, 0.0
        self.trees_.append(nodes)
        self.tree_masks_.append(masks)
        self.ctx.logger.info("tree %s.%s: %.3f s (%s)", *suffix, time.perf_counter() - started, self.watch.report())

    def _grow_depths(self, binned, bins: list[int], paths: list[str], layout: "_Layout") -> dict:
        """Per depth: the split sums of the nodes the guest asks for, then the rows of the nodes this host won;
        the thresholds and missing directions of those nodes."""
        suffix = layout.suffix
        masks = {"split": {}, "missing": {}}
        for depth in range(self.params.tree_param.max_depth):
            step = suffix + (depth,)
            queue = self.variables.tree_node_queue.get(idx=0, suffix=step)
            if not queue["nodes"]:
                break
            positions = self.row_arrays(
                np.asarray(self.variables.node_positions.get(idx=0, suffix=step + (i,)), dtype=np.int64)
                for i in range(binned.partitions))
            message = self._split_sums(binned, paths, positions, [int(n) for n in queue["build"]], layout)
            with self.watch.phase("send"):
                self.variables.encrypted_splitinfo_host.remote(message, role="guest", idx=0, suffix=step)
            won = self.variables.federated_best_splitinfo_host.get(idx=0, suffix=step)["won"]
            self._answer_won(binned, bins, layout, won, positions, masks, step)
            positions.discard()
        return masks

    def _receive_gradients(self, partitions: int, public_key: PaillierPublicKey, suffix: tuple,
                           directory: str) -> list[str]:
        """Each partition's packed [[g, h]] kept in a spill file of this party (read by the histogram kernel)."""
        from fate_flow.computing.recipes import spill_block

        paths = []
        for i in range(partitions):
            message = self.variables.encrypted_grad_and_hess.get(idx=0, suffix=suffix + (i,))
            cts = EncryptedArray.from_bytes(public_key, message).ciphertexts(be_secure=False) if message else []
            paths.append(spill_block(cts, directory))
        return paths

    def _split_sums(self, binned, paths: list[str], positions, build: list[int], layout: "_Layout") -> dict:
        """The compressed, obfuscated non-empty histogram entries of the nodes to build, with their row counts."""
        size = max([int(p.max()) + 1 for p in positions if len(p)] + [max(build, default=0) + 1])
        slots = np.full(size, -1, np.int64)
        slots[build] = np.arange(len(build))
        pk = layout.public_key
        kernel = functools.partial(kernels.encrypted_histogram_kernel, layout.offsets, layout.width, len(build),
                                   int(pk.nsquare), layout.columns)
        hist, counts = None, None
        with self.watch.phase("histogram"):
            for group in in_groups(binned):  # each row's slot made for the partitions in flight only
                extras = [(slots[positions[i]], paths[i]) for i in group]
                for part, part_counts in run_with(binned, group, kernel, extras):
                    hist = _multiply(hist, part, np.flatnonzero(part_counts), pk.nsquare)
                    counts = part_counts if counts is None else counts + part_counts
        entries = [np.flatnonzero(counts[s * layout.width:(s + 1) * layout.width]) for s in range(len(build))]
        groups = [[hist[s * layout.width + e] for e in found.tolist()] for s, found in enumerate(entries)]
        node_counts = [counts[s * layout.width + found] for s, found in enumerate(entries)]
        widths = [entry_bits(c, layout.field_bits, layout.value_bits) for c in node_counts]
        with self.watch.phase("fold"):
            folded = compress_groups(groups, widths, layout.capacity, pk.nsquare)
            nodes = []
            for s, nid in enumerate(build):
                nodes.append({"node": nid, "entries": entries[s], "counts": node_counts[s],
                              "sums": EncryptedArray(pk, folded[s], 0).to_bytes() if folded[s] else b""})
        return {"bins": layout.bins, "nodes": nodes}

    def _answer_won(self, binned, bins, layout, won: list, positions, masks: dict, step: tuple) -> None:
        """Record the nodes this host won, tell the guest their (fid, bid), move their rows."""
        final, split = [], []
        for nid, slot, bid, left, right, missing_dir in won:
            if not 0 <= slot < len(layout.columns) or not 0 <= bid < layout.bins[slot]:
                raise ValueError(f"the guest chose feature slot {slot} bin {bid}, which this host did not offer")
            fid = layout.columns[slot]
            masks["split"][str(nid)] = float(self.split_points_[fid][bid])
            masks["missing"][str(nid)] = int(missing_dir)
            final.append([int(nid), int(fid), int(bid)])
            split.append((nid, fid, bid, missing_dir == -1, left, right, bins[fid]))
        self.variables.final_splitinfo_host.remote(final, role="guest", idx=0, suffix=step)
        if not split:
            return
        arrays = tuple(np.array(column) for column in zip(*split))
        for group in in_groups(binned):
            moved = run_with(binned, group, kernels.dispatch_kernel, [(positions[i], arrays) for i in group])
            for i, after in zip(group, moved):
                self.variables.dispatch_node_host_result.remote(after, role="guest", idx=0, suffix=step + (i,))

    # ---- predict ------------------------------------------------------------------------

    def predict(self, table, kind: str):
        """Answer the guest's routing questions at this host's nodes; returns None."""
        self._route_for_guest(self.load(table, refuse_empty=False))
        return None

    def _route_for_guest(self, data) -> None:
        self.swap_digests(data)
        arrays = self.own_arrays()
        kernel = functools.partial(kernels.host_decision_kernel, arrays, self.model_columns(data),
                                   self.params.missing_mode[1])
        step = 0
        while not self.variables.predict_finish_tag.get(idx=0, suffix=(step,)):
            for group in in_groups(data.table):
                requests = [self.variables.predict_data.get(idx=0, suffix=(step, i)) for i in group]
                for i, left in zip(group, run_with(data.table, group, kernel, requests)):
                    self.variables.predict_data_by_host.remote(left, role="guest", idx=0, suffix=(step, i))
            step += 1

    def own_arrays(self):
        """Routing arrays of this host's own nodes, thresholds from ``split_maskdict``."""
        trees = []
        for nodes, masks in zip(self.trees_, self.tree_masks_):
            tree = []
            for node in nodes:
                node = Node.from_dict(node.to_dict())
                if node.sitename == self.site:
                    node.bid = float(masks["split"][str(node.id)])
                    node.missing_dir = int(masks["missing"].get(str(node.id), node.missing_dir))
                tree.append(node)
            trees.append(tree)
        return tree_arrays(trees, self.site, [])

    # ---- model --------------------------------------------------------------------------

    def model_param(self) -> dict:
        """FATE's BoostingTreeModelParam of a host: the tree structure and its own splits' thresholds."""
        return {"tree_num": len(self.trees_), "trees_": self.trees_param(), "init_score": [], "losses": [],
                "tree_dim": self.tree_dim_, "num_classes": 0, "classes_": [], "feature_importances": [],
                "feature_name_fid_mapping": {str(i): name for i, name in enumerate(self.header_)},
                "best_iteration": self.best_iteration_}

    def load_model(self, messages: dict) -> None:
        self.load_trees(messages)


class _Layout:
    """A host's histogram layout for one tree: its sampled features in a shuffled order."""

    def __init__(self, columns: list[int], bins: list[int], public_key: PaillierPublicKey, field_bits: int,
                 value_bits: int, suffix: tuple = ()) -> None:
        self.columns, self.bins, self.public_key = columns, bins, public_key
        self.field_bits, self.value_bits = field_bits, value_bits
        self.offsets, self.width = histogram_layout(bins)
        self.capacity = fold_capacity(int(public_key.n).bit_length())
        self.suffix = suffix

    @classmethod
    def sampled(cls, host: HeteroSecureBoostHost, bins: list[int], suffix: tuple, public_key: PaillierPublicKey,
                wire: dict) -> "_Layout":
        """The layout of tree ``suffix``: the host's sampled features, shuffled (masks the feature ids)."""
        features = host.sample_features(len(bins), *suffix)
        order = [features[i] for i in np.random.default_rng().permutation(len(features))]
        return cls(order, [bins[j] for j in order], public_key, int(wire["field_bits"]), int(wire["value_bits"]),
                   suffix)


def _multiply(total: list | None, part: list, filled: np.ndarray, nsquare) -> list:
    """``total`` times a partition's ciphertext histogram (the homomorphic sum), at the entries the partition
    ``filled`` only: the others hold 1, and a deep node's histogram is mostly empty."""
    if total is None:
        return list(part)
    nsquare = mpz(nsquare)
    for i in filled.tolist():
        total[i] = total[i] * part[i] % nsquare
    return total
