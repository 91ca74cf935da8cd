"""Binary scores kept as two sorted arrays, so every metric is exact in 16 bytes a row.

Every binary metric FATE logs is a function of the score order: counts of positives and
negatives above thresholds, scores at ranks, distinct scores at ranks, ROC corners. Keeping
the positives' and the negatives' scores sorted answers each of those with ``searchsorted``;
labels, row order and argsort permutations are never materialised. Walks over all scores
(distinct values, ROC corners, the AUC sum) go chunk by chunk, so their temporaries stay the
size of a chunk whatever the row count.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

CHUNK = 1 << 20  # rows per chunk of the walks over all scores


def split_by_label(labels: Any, scores: Any, pos_label: Any = 1) -> tuple[np.ndarray, np.ndarray]:
    """(sorted scores of the rows whose label is ``pos_label``, sorted scores of the others)."""
    s = np.asarray(scores, dtype=float)
    raw = np.asarray(labels)
    is_pos = np.asarray(raw == pos_label)
    if is_pos.shape != s.shape:  # a comparison of incompatible types collapsed to a scalar
        is_pos = np.array([v == pos_label for v in raw.tolist()], dtype=bool)
    pos = s[is_pos]
    neg = s[~is_pos]
    pos.sort()
    neg.sort()
    return pos, neg


def merge_sorted(runs: list[np.ndarray]) -> np.ndarray:
    """One sorted array of sorted runs; the runs list is emptied as it is copied (no two copies)."""
    out = np.empty(sum(len(run) for run in runs), dtype=float)
    start = 0
    runs.reverse()
    while runs:
        run = runs.pop()
        out[start:start + len(run)] = run
        start += len(run)
    out.sort(kind="stable")  # timsort: merging sorted runs is linear-ish
    return out


def nearest_rank(n: int, quantiles: Any) -> np.ndarray:
    """The rank numpy's ``quantile(method="nearest")`` picks: ``q * (n - 1)``, half to even."""
    return np.around(np.asarray(quantiles, dtype=float) * (n - 1)).astype(np.int64)


class SortedScores:
    """The positives' and the negatives' scores of one data set, each sorted ascending."""

    def __init__(self, pos: np.ndarray, neg: np.ndarray) -> None:
        self.pos = pos
        self.neg = neg
        self.n_pos = int(pos.size)
        self.n_neg = int(neg.size)
        self.n = self.n_pos + self.n_neg
        if self.n == 0:
            raise ValueError("scores is empty: evaluation needs at least one row")
        # sorting puts NaN last and infinities at the ends: the ends tell
        if any(a.size and not np.isfinite(a[[0, -1]]).all() for a in (pos, neg)):
            raise ValueError("scores contains NaN or infinite values")
        self._all: np.ndarray | None = None

    @classmethod
    def from_labels(cls, labels: Any, scores: Any, pos_label: Any = 1) -> "SortedScores":
        return cls(*split_by_label(labels, scores, pos_label))

    @property
    def all(self) -> np.ndarray:
        """Every score, ascending (built on first use)."""
        if self._all is None:
            self._all = merge_sorted([self.pos, self.neg])
        return self._all

    # -- counts -----------------------------------------------------------------------------

    def counts(self, thresholds: Any) -> dict[str, np.ndarray]:
        """Confusion counts of ``score > t`` for every threshold ``t``."""
        t = np.asarray(thresholds, dtype=float)
        tp = self.n_pos - np.searchsorted(self.pos, t, side="right")
        fp = self.n_neg - np.searchsorted(self.neg, t, side="right")
        return {"tp": tp, "fp": fp, "fn": self.n_pos - tp, "tn": self.n_neg - fp}

    def at_or_above(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positives, negatives) with ``score >= v`` for every ``v``."""
        return (self.n_pos - np.searchsorted(self.pos, values, side="left"),
                self.n_neg - np.searchsorted(self.neg, values, side="left"))

    # -- ranks ------------------------------------------------------------------------------

    def desc_at(self, ranks: np.ndarray) -> np.ndarray:
        """Scores at ``ranks`` of the descending order (ties kept)."""
        return self.all[self.n - 1 - np.asarray(ranks, dtype=np.int64)]

    def quantiles(self, quantiles: Any) -> np.ndarray:
        """``numpy.quantile(scores, quantiles, method="nearest")`` without copying the scores."""
        return self.all[nearest_rank(self.n, quantiles)]

    def distinct_chunks(self) -> Iterator[np.ndarray]:
        """The distinct scores, ascending, a chunk at a time (no tie group is split)."""
        scores = self.all
        start = 0
        while start < self.n:
            end = min(start + CHUNK, self.n)
            if end < self.n:
                end = int(np.searchsorted(scores, scores[end - 1], side="right"))
            chunk = scores[start:end]
            yield chunk[np.r_[True, chunk[1:] != chunk[:-1]]]
            start = end

    def distinct_count(self) -> int:
        return sum(len(chunk) for chunk in self.distinct_chunks())

    def distinct_desc_at(self, ranks: np.ndarray, count: int | None = None) -> np.ndarray:
        """Distinct scores at ``ranks`` of their descending order."""
        count = self.distinct_count() if count is None else count
        return _pick(self.distinct_chunks(), count - 1 - np.asarray(ranks, dtype=np.int64))

    # -- walks ------------------------------------------------------------------------------

    def mann_whitney(self) -> float:
        """Pairs (positive, negative) ranked right, ties counting one half."""
        twice = 0
        for start in range(0, self.n_pos, CHUNK):
            chunk = self.pos[start:start + CHUNK]
            twice += int(np.searchsorted(self.neg, chunk, side="left").sum())
            twice += int(np.searchsorted(self.neg, chunk, side="right").sum())
        return twice / 2.0

    def corners(self, ranks_of: Any) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """ROC corners as scikit-learn's ``drop_intermediate`` keeps them, at chosen ranks.

        Corners are the distinct scores whose (tp, fp) point is not collinear with its
        neighbours, plus both ends (all points when there are at most two). Returns
        ``(count, tps, fps, thresholds)``: the number of corners, then the corners at the
        descending ranks ``ranks_of(count)``. Collinearity is symmetric, so the ascending walk
        finds the same corners as a descending one.
        """
        distinct = self.distinct_count()
        if distinct <= 2:
            count = distinct
            kept = self.distinct_chunks()
        else:
            count = sum(int(mask.sum()) for mask, _ in self._corner_masks())
            kept = (values[mask] for mask, values in self._corner_masks())
        thresholds = _pick(kept, count - 1 - np.asarray(ranks_of(count), dtype=np.int64))
        tps, fps = self.at_or_above(thresholds)
        return count, tps, fps, thresholds

    def _corner_masks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(kept mask, distinct values) per chunk of the ascending distinct scores."""
        chunks = self.distinct_chunks()
        current = next(chunks, None)
        previous: float | None = None
        while current is not None:
            following = next(chunks, None)
            values = current
            around = values  # with the neighbouring distinct values, for the second differences
            if previous is not None:
                around = np.r_[previous, around]
            if following is not None:
                around = np.r_[around, following[0]]
            tps, fps = self.at_or_above(around)
            bend = np.logical_or(np.diff(fps, 2), np.diff(tps, 2))
            mask = np.ones(values.size, dtype=bool)
            if previous is None:
                mask[1:1 + bend.size] = bend[:values.size - 1]
            else:
                mask[:bend.size] = bend[:values.size]
            if following is None:
                mask[-1] = True
            if previous is None:
                mask[0] = True
            yield mask, values
            previous = float(values[-1])
            current = following


def _pick(chunks: Iterator[np.ndarray], ranks: np.ndarray) -> np.ndarray:
    """Elements at ascending ``ranks`` of the concatenation of ``chunks``, in ``ranks``' order."""
    ranks = np.asarray(ranks, dtype=np.int64)
    out = np.empty(ranks.size, dtype=float)
    order = np.argsort(ranks, kind="stable")
    sorted_ranks = ranks[order]
    offset = 0
    cursor = 0
    for chunk in chunks:
        end = offset + len(chunk)
        stop = int(np.searchsorted(sorted_ranks, end, side="left"))
        if stop > cursor:
            out[order[cursor:stop]] = chunk[sorted_ranks[cursor:stop] - offset]
            cursor = stop
        offset = end
        if cursor == ranks.size:
            break
    if cursor != ranks.size:
        raise IndexError(f"rank {int(sorted_ranks[cursor])} is beyond the {offset} values")
    return out
