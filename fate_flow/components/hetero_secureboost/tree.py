"""Tree math and layout: xgboost gains, leaf weights, best split of a histogram, and trees as arrays.

A node's histogram is laid out flat per feature: feature j owns ``bins_j`` value bins followed by
one missing-value bin. A split candidate (j, b) sends bins 0..b of feature j left. With
``use_missing`` the missing rows try both sides (missing_dir -1 left, 1 right, FATE's codes);
without it they sit in the last bin, so they always go right, as in training.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GUEST = "guest"
LEFT, RIGHT = -1, 1  # FATE's missing_dir codes


def node_gain(g: np.ndarray, h: np.ndarray, l2: float) -> np.ndarray:
    """G^2 / (H + lambda): a node's score under the xgboost criterion."""
    return g * g / (h + l2)


def split_gain(g_left, h_left, g_total, h_total, l2: float) -> np.ndarray:
    """G_L^2/(H_L+l) + G_R^2/(H_R+l) - G^2/(H+l)."""
    return node_gain(g_left, h_left, l2) + node_gain(g_total - g_left, h_total - h_left, l2) \
        - node_gain(g_total, h_total, l2)


def leaf_weight(g: float, h: float, l2: float) -> float:
    """-G / (H + lambda)."""
    return float(-g / (h + l2))


@dataclass(frozen=True)
class SplitRules:
    """What a split must satisfy (tree_param)."""

    l2: float
    min_impurity_split: float
    min_leaf_node: int
    use_missing: bool


@dataclass
class Candidates:
    """Left sums of split candidates of one node and, per candidate, its feature's missing-bin sums."""

    g_left: np.ndarray
    h_left: np.ndarray
    n_left: np.ndarray
    g_missing: np.ndarray
    h_missing: np.ndarray
    n_missing: np.ndarray


@dataclass
class BestSplit:
    """The best candidate of a node on one party: its index among the candidates, gain and missing_dir."""

    index: int
    gain: float
    missing_dir: int
    g_left: float
    h_left: float
    n_left: int


def best_split(c: Candidates, g: float, h: float, n: int, rules: SplitRules) -> BestSplit | None:
    """The best valid candidate (left count and right count >= min_leaf_node, gain > min_impurity_split)."""
    if len(c.g_left) == 0:
        return None
    options = [(RIGHT, c.g_left, c.h_left, c.n_left)]
    if rules.use_missing:
        options.append((LEFT, c.g_left + c.g_missing, c.h_left + c.h_missing, c.n_left + c.n_missing))
    best = None
    for direction, gl, hl, nl in options:
        gains = split_gain(gl, hl, g, h, rules.l2)
        valid = (nl >= rules.min_leaf_node) & (n - nl >= rules.min_leaf_node) & (gains > rules.min_impurity_split)
        if direction == LEFT:
            valid &= c.n_missing > 0  # no missing rows: the same split as going right
        if not valid.any():
            continue
        i = int(np.argmax(np.where(valid, gains, -np.inf)))
        if best is None or gains[i] > best.gain:
            best = BestSplit(i, float(gains[i]), direction, float(gl[i]), float(hl[i]), int(nl[i]))
    return best


def histogram_candidates(hist_g: np.ndarray, hist_h: np.ndarray, hist_n: np.ndarray, bins: list[int],
                         features: list[int] | None = None) -> tuple[Candidates, list[tuple[int, int]]]:
    """Candidates of one node's plain histogram (flat layout), and the (feature, bin) of each.

    A candidate after an empty bin is skipped (the same split as the one before it), as is the last
    value bin (nothing would go right)."""
    parts, keys = [], []
    offset = 0
    allowed = None if features is None else set(features)
    for j, count in enumerate(bins):
        segment = slice(offset, offset + count)
        miss = offset + count
        offset += count + 1
        if allowed is not None and j not in allowed:
            continue
        cum_g, cum_h, cum_n = np.cumsum(hist_g[segment]), np.cumsum(hist_h[segment]), np.cumsum(hist_n[segment])
        keep = np.flatnonzero(hist_n[segment][:-1] > 0)
        parts.append((cum_g[keep], cum_h[keep], cum_n[keep], hist_g[miss], hist_h[miss], hist_n[miss]))
        keys += [(j, int(b)) for b in keep]
    if not parts:
        empty = np.empty(0)
        return Candidates(empty, empty, empty, empty, empty, empty), keys
    sizes = [len(p[0]) for p in parts]
    return Candidates(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                      np.concatenate([p[2] for p in parts]), np.repeat([p[3] for p in parts], sizes),
                      np.repeat([p[4] for p in parts], sizes), np.repeat([p[5] for p in parts], sizes)), keys


def histogram_layout(bins: list[int]) -> tuple[np.ndarray, int]:
    """(offset of each feature in the flat layout, its width)."""
    widths = np.asarray(bins, dtype=np.int64) + 1
    offsets = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    return offsets, int(widths.sum())


# ---- trees as saved (FATE's NodeParam) and as arrays for routing ---------------------------------

@dataclass
class Node:
    """FATE's NodeParam: ``sitename`` "guest:<party>" or "host:<party>"; ``bid`` the threshold on the owner's
    side, the host's bin id in the guest's copy of a host node."""

    id: int
    sitename: str = ""
    fid: int = -1
    bid: float = 0.0
    weight: float = 0.0
    is_leaf: bool = True
    left_nodeid: int = -1
    right_nodeid: int = -1
    missing_dir: int = RIGHT

    def to_dict(self) -> dict:
        return {"id": self.id, "sitename": self.sitename, "fid": self.fid, "bid": self.bid, "weight": self.weight,
                "is_leaf": self.is_leaf, "left_nodeid": self.left_nodeid, "right_nodeid": self.right_nodeid,
                "missing_dir": self.missing_dir}

    @classmethod
    def from_dict(cls, data: dict) -> "Node":
        return cls(int(data["id"]), str(data.get("sitename", "")), int(data.get("fid", -1)),
                   float(data.get("bid", 0.0)), float(data.get("weight", 0.0)), bool(data.get("is_leaf", True)),
                   int(data.get("left_nodeid", -1)), int(data.get("right_nodeid", -1)),
                   int(data.get("missing_dir", RIGHT)))


@dataclass
class TreeArrays:
    """Trees padded into (n_trees, max_nodes) arrays; ``owner`` 0 for this party's splits, -1 for leaves,
    k >= 1 for the k-th other party (host k-1 on a guest)."""

    owner: np.ndarray
    fid: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    weight: np.ndarray
    sites: list = field(default_factory=list)


def tree_arrays(trees: list[list[Node]], own_site: str, other_sites: list[str]) -> TreeArrays:
    """The routing arrays of ``trees`` as seen by the party ``own_site``."""
    width = max([len(t) for t in trees] + [1])
    shape = (len(trees), width)
    a = TreeArrays(np.full(shape, -1, np.int64), np.zeros(shape, np.int64), np.zeros(shape), np.zeros(shape, bool),
                   np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape), list(other_sites))
    for t, nodes in enumerate(trees):
        for node in nodes:
            i = node.id
            a.weight[t, i] = node.weight
            if node.is_leaf:
                continue
            a.owner[t, i] = 0 if node.sitename == own_site else 1 + other_sites.index(node.sitename) \
                if node.sitename in other_sites else -2
            a.fid[t, i], a.threshold[t, i] = node.fid, node.bid
            a.missing_left[t, i] = node.missing_dir == LEFT
            a.left[t, i], a.right[t, i] = node.left_nodeid, node.right_nodeid
    return a


def goes_left(values: np.ndarray, threshold: np.ndarray, missing_left: np.ndarray, zero_as_missing: bool):
    """FATE's routing on raw values: left when value <= threshold; a missing value follows missing_dir."""
    missing = np.isnan(values)
    if zero_as_missing:
        missing |= values == 0
    return np.where(missing, missing_left, values <= threshold)


def route(arrays: TreeArrays, features: np.ndarray, positions: np.ndarray, zero_as_missing: bool) -> np.ndarray:
    """Move every (row, tree) down through this party's own splits until it reaches a leaf or another party's
    node; ``positions`` (n, n_trees) node ids, updated copy returned."""
    positions = positions.copy()
    trees = np.arange(arrays.owner.shape[0])[None, :].repeat(len(positions), axis=0)
    for _ in range(arrays.owner.shape[1]):
        own = arrays.owner[trees, positions] == 0
        if not own.any():
            break
        rows, cols = np.nonzero(own)
        nodes = positions[rows, cols]
        left = goes_left(features[rows, arrays.fid[cols, nodes]], arrays.threshold[cols, nodes],
                         arrays.missing_left[cols, nodes], zero_as_missing)
        positions[rows, cols] = np.where(left, arrays.left[cols, nodes], arrays.right[cols, nodes])
    return positions


def accumulate(init: np.ndarray, weights: np.ndarray, learning_rate: float, tree_dim: int) -> np.ndarray:
    """Scores ``init + sum_t lr w_t`` (n, tree_dim) from the (n, n_trees) leaf weights, tree by tree in training
    order, so that predictions repeat the training's float sums exactly."""
    scores = np.tile(np.asarray(init, dtype=np.float64), (weights.shape[0], 1))
    for t in range(weights.shape[1]):
        scores[:, t % tree_dim] += learning_rate * weights[:, t]
    return scores
