"""The per-partition work of SecureBoost, as module-level functions the engines run on their workers.

Blocks are Instances; a binned block holds each feature's bin index (the missing bin of feature j
is ``bins[j]``). Per-row state that changes during a tree (node positions, g/h) travels as a
kernel's extra argument; ciphertexts of a partition are read from this party's own spill file.
"""
from __future__ import annotations

import numpy as np

from fate_flow.components.hetero_binning.split_points import bin_indexes


# ---- binning --------------------------------------------------------------------------------

def missing_mask(x: np.ndarray, use_missing: bool, zero_as_missing: bool) -> np.ndarray:
    """Which values count as missing (only with use_missing: otherwise NaN falls in the last bin)."""
    if not use_missing:
        return np.zeros(x.shape, dtype=bool)
    missing = np.isnan(x)
    return missing | (x == 0) if zero_as_missing else missing


def bin_block(split_points: list, use_missing: bool, zero_as_missing: bool, block):
    """Kernel: the block with every feature replaced by its bin (the missing bin for missing values)."""
    x = block.features
    bins = bin_indexes(x, split_points).astype(np.float64)
    missing = missing_mask(x, use_missing, zero_as_missing)
    if missing.any():
        counts = np.array([len(p) for p in split_points], dtype=np.float64)
        bins = np.where(missing, counts[None, :], bins)
    return block.with_features(bins)


def block_labels(block) -> np.ndarray:
    """Kernel: the labels of a block."""
    return block.labels


def block_size(block) -> int:
    return len(block)


# ---- histograms -----------------------------------------------------------------------------

def _flat_index(block, offsets: np.ndarray, rows: np.ndarray, slots: np.ndarray, width: int,
                columns: list | None = None) -> np.ndarray:
    """(rows, features) flat histogram positions of the rows in their node's slot (features in ``columns``
    order when given)."""
    features = block.features if columns is None else block.features[:, columns]
    bins = features[rows].astype(np.int64)
    return slots[:, None] * width + offsets[None, :] + bins


def plain_histogram_kernel(offsets: np.ndarray, width: int, n_slots: int, block, extra) -> np.ndarray:
    """Kernel: (3, n_slots * width) sums of g, h and row counts per (node slot, feature, bin).

    ``extra`` = (slot of each row, -1 for rows of no node built; g; h)."""
    row_slots, g, h = extra
    rows = np.flatnonzero(row_slots >= 0)
    out = np.zeros((3, n_slots * width))
    if len(rows) == 0:
        return out
    index = _flat_index(block, offsets, rows, row_slots[rows], width)
    d = index.shape[1]
    for k, weights in enumerate((np.repeat(g[rows], d), np.repeat(h[rows], d), None)):
        out[k] = np.bincount(index.ravel(), weights=weights, minlength=n_slots * width)
    return out


def encrypted_histogram_kernel(offsets: np.ndarray, width: int, n_slots: int, nsquare: int, columns: list, block,
                               extra) -> tuple[list, np.ndarray]:
    """Kernel: (ciphertext products, row counts) per (node slot, feature in ``columns`` order, bin) of a partition.

    ``extra`` = (slot of each row or -1, the file of this partition's packed (g, h) ciphertexts)."""
    from fate_flow.computing.recipes import load_block
    from fate_flow.secureprotol.gmpy_math import mpz

    row_slots, path = extra
    rows = np.flatnonzero(row_slots >= 0)
    hist = [mpz(1)] * (n_slots * width)
    counts = np.zeros(n_slots * width, dtype=np.int64)
    if len(rows) == 0:
        return hist, counts
    ciphertexts = load_block(path)
    index = _flat_index(block, offsets, rows, row_slots[rows], width, columns)
    np.add.at(counts, index.ravel(), 1)
    nsquare = mpz(nsquare)
    for start in range(0, len(rows), KERNEL_ROWS):  # Python lists of a few thousand rows at a time, not all
        chunk = slice(start, start + KERNEL_ROWS)
        for r, positions in zip(rows[chunk].tolist(), index[chunk].tolist()):
            c = ciphertexts[r]
            for p in positions:
                hist[p] = hist[p] * c % nsquare
    return hist, counts


# rows whose histogram positions are turned into Python ints at once (a few hundred KB)
KERNEL_ROWS = 4096


# ---- dispatch and routing --------------------------------------------------------------------

def dispatch_kernel(block, extra) -> np.ndarray:
    """Kernel: new node positions after splits on binned features; ``extra`` = (positions, {node: split})
    as arrays (nodes, fids, bids, missing_left, lefts, rights, missing bins)."""
    positions, (nodes, fids, bids, missing_left, lefts, rights, missing_bin) = extra
    positions = positions.copy()
    for i, node in enumerate(nodes.tolist()):
        rows = np.flatnonzero(positions == node)
        if len(rows) == 0:
            continue
        bins = block.features[rows, fids[i]]
        left = np.where(bins == missing_bin[i], missing_left[i], bins <= bids[i])
        positions[rows] = np.where(left, lefts[i], rights[i])
    return positions


def route_kernel(arrays, columns, zero_as_missing: bool, block, positions: np.ndarray) -> np.ndarray:
    """Kernel: (row, tree) positions moved through this party's splits on raw features."""
    from fate_flow.components.hetero_secureboost.tree import route

    features = block.features if columns is None else block.features[:, columns]
    return route(arrays, features, positions, zero_as_missing)


def host_decision_kernel(arrays, columns, zero_as_missing: bool, block, request: dict) -> np.ndarray:
    """Kernel: for the guest's (row, tree, node) requests at this host's nodes, whether each goes left."""
    from fate_flow.components.hetero_secureboost.tree import goes_left

    rows, trees, nodes = (np.asarray(request[k], dtype=np.int64) for k in ("rows", "trees", "nodes"))
    if len(rows) and (rows.max() >= len(block) or trees.max() >= arrays.owner.shape[0]
                      or nodes.max() >= arrays.owner.shape[1] or (arrays.owner[trees, nodes] != 0).any()):
        raise ValueError("predict_data asks about rows or nodes this host does not have")
    features = block.features if columns is None else block.features[:, columns]
    return goes_left(features[rows, arrays.fid[trees, nodes]], arrays.threshold[trees, nodes],
                     arrays.missing_left[trees, nodes], zero_as_missing)


def all_decisions_kernel(arrays, columns, zero_as_missing: bool, block, _unused=None) -> np.ndarray:
    """(rows, own nodes) left decisions at every node this party owns: the online host share."""
    from fate_flow.components.hetero_secureboost.tree import goes_left

    trees, nodes = np.nonzero(arrays.owner == 0)
    features = block.features if columns is None else block.features[:, columns]
    return goes_left(features[:, arrays.fid[trees, nodes]], arrays.threshold[trees, nodes][None, :],
                     arrays.missing_left[trees, nodes][None, :], zero_as_missing)


# ---- output rows ----------------------------------------------------------------------------

def output_kernel(task: dict, kind: str, directory: str, block, scores: np.ndarray) -> str:
    """Kernel: FATE's predict rows of a partition from its scores, spilled; ``task`` describes the objective."""
    from fate_flow.components.hetero_secureboost.output import prediction_rows
    from fate_flow.computing.recipes import spill_block

    return spill_block(prediction_rows(task, block.ids, block.labels, scores, kind), directory)

