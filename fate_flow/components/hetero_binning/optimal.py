"""Optimal binning: fine initial buckets of one column merged (iv, gini, chi_square) or split (ks).

The input of one column is its initial buckets in ascending order, each given by its event and
non-event counts; the output is the positions of the initial buckets whose right bound stays
a split point (the last one always does). The same code serves the guest's own columns (the
buckets of its init_bucket_method split points) and the hosts' (the decrypted per-bin sums
of the host's quantile buckets: the guest learns only bucket positions, never a host value).

Bottom-up (iv, gini, chi_square), in phases: with ``mixture``, first merge pairs where both
buckets lack a class, then pairs where one does; then pairs where both are smaller than
``min_items``, then pairs where one is; last, any pair until at most ``max_bin`` buckets are
left. Only adjacent pairs whose merged size is at most ``max_items`` are candidates; within a
phase the candidate with the smallest score merges first (a min-heap, ties by position; pairs
of removed buckets are skipped when popped). A phase stops when its goal (the number of
buckets still violating its rule, or the buckets above max_bin) reaches 0 or no pair is left.

Top-down (ks): intervals of buckets taken first-in first-out are cut where the cumulative
event and non-event rates differ most (the middle when that leaves a side under
``min_items``), a cut leaving a side under min_items (or, with mixture, without a class) is
rejected, and splitting stops at ``max_bin - 1`` cuts.
"""
from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class OptimalSettings:
    """What one column's optimal binning needs besides its bucket counts.

    ``total_events``/``total_non_events``/``sample_count`` are the guest's label totals (FATE's
    E, N and row count); ``max_bin`` is the bin count aimed at.
    """

    metric: str
    max_bin: int
    min_bin_pct: float
    max_bin_pct: float
    mixture: bool
    adjustment_factor: float
    total_events: float
    total_non_events: float
    sample_count: int

    @cached_property
    def max_items(self) -> int:
        return math.floor(self.max_bin_pct * self.sample_count)

    @cached_property
    def min_items(self) -> int:
        return math.ceil(self.min_bin_pct * self.sample_count)


def check_bin_pct(max_bin_pct: float, bin_num: int) -> None:
    """FATE's check when the optimal binning is built: ``ceil(1 / max_bin_pct)`` bins must fit in bin_num."""
    if max_bin_pct > 0 and math.ceil(1 / max_bin_pct) > bin_num:
        raise ValueError(f"optimal_binning_param.max_bin_pct {max_bin_pct} needs at least "
                         f"{math.ceil(1 / max_bin_pct)} bins, more than bin_num {bin_num}")


def optimal_positions(events, non_events, settings: OptimalSettings) -> list[int]:
    """Positions of the initial buckets whose right bounds are the column's optimal split points."""
    events = np.asarray(events, dtype=np.float64)
    non_events = np.asarray(non_events, dtype=np.float64)
    if len(events) <= 1:
        return list(range(len(events)))
    if settings.metric == "ks":
        return _ks_positions(events, non_events, settings)
    return _merged_positions(events, non_events, settings)


def unmet_constraints(events, non_events, settings: OptimalSettings) -> list[str]:
    """What the final bins of one column still violate (FATE logs these as warnings, not errors)."""
    events, non_events = np.asarray(events), np.asarray(non_events)
    sizes = events + non_events
    unmet = []
    if settings.mixture and np.any((events == 0) | (non_events == 0)):
        unmet.append("a bin lacks events or non-events (mixture)")
    if np.any(sizes < settings.min_items):
        unmet.append(f"a bin holds fewer than {settings.min_items} rows (min_bin_pct)")
    if len(sizes) > settings.max_bin:
        unmet.append(f"{len(sizes)} bins, more than {settings.max_bin} (bin_num)")
    return unmet


def merged_counts(events, non_events, positions: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Event and non-event counts of the bins ending at ``positions`` (sums of their initial buckets)."""
    bounds = np.concatenate([[0], np.asarray(positions) + 1])
    return (np.add.reduceat(np.asarray(events), bounds[:-1]), np.add.reduceat(np.asarray(non_events), bounds[:-1]))


# ------------------------------------------------------------------ scores (smaller merges first)

def _bucket_iv(e: float, ne: float, s: OptimalSettings) -> float:
    if e == 0 or ne == 0:
        er = (e + s.adjustment_factor) / max(s.total_events, 1)
        nr = (ne + s.adjustment_factor) / max(s.total_non_events, 1)
    else:
        er, nr = e / s.total_events, ne / s.total_non_events
    return (er - nr) * math.log(er / nr)


def _gini(e: float, ne: float) -> float:
    t = e + ne
    return 0.0 if t == 0 else 1 - (e / t) ** 2 - (ne / t) ** 2


def _chi_square(le: float, lne: float, re: float, rne: float) -> float:
    e, ne = le + re, lne + rne
    if e == 0 or ne == 0:
        return -math.inf
    total = e + ne
    chi = 0.0
    for observed_e, observed_ne in ((le, lne), (re, rne)):
        size = observed_e + observed_ne
        for observed, share in ((observed_e, e), (observed_ne, ne)):
            expected = size * share / total
            if expected > 0:
                chi += (observed - expected) ** 2 / expected
    return chi


def pair_score(left: tuple[float, float], right: tuple[float, float], s: OptimalSettings) -> float:
    """The metric's cost of merging two adjacent buckets, each (events, non-events)."""
    (le, lne), (re, rne) = left, right
    if le + lne + re + rne == 0:
        return -math.inf
    if s.metric == "iv":
        return _bucket_iv(le, lne, s) + _bucket_iv(re, rne, s) - _bucket_iv(le + re, lne + rne, s)
    if s.metric == "gini":
        return _gini(le + re, lne + rne) - _gini(le, lne) - _gini(re, rne)
    return _chi_square(le, lne, re, rne)


# ------------------------------------------------------------------ bottom-up merging

class _Buckets:
    """A doubly linked list of buckets: counts and the position of each bucket's last initial bucket."""

    def __init__(self, events: np.ndarray, non_events: np.ndarray) -> None:
        n = len(events)
        self.counts = {i: (float(events[i]), float(non_events[i])) for i in range(n)}
        self.last = {i: i for i in range(n)}
        self.prev = {i: i - 1 if i else None for i in range(n)}
        self.next = {i: i + 1 if i < n - 1 else None for i in range(n)}
        self.next_id = n

    def ordered(self) -> list[int]:
        first = next(i for i, p in self.prev.items() if p is None)
        order = []
        while first is not None:
            order.append(first)
            first = self.next[first]
        return order

    def size(self, b: int) -> float:
        return sum(self.counts[b])

    def merge(self, left: int, right: int) -> int:
        new = self.next_id
        self.next_id += 1
        (le, lne), (re, rne) = self.counts.pop(left), self.counts.pop(right)
        self.counts[new] = (le + re, lne + rne)
        self.last[new] = self.last.pop(right)
        del self.last[left]
        before, after = self.prev.pop(left), self.next.pop(right)
        del self.next[left], self.prev[right]
        self.prev[new], self.next[new] = before, after
        if before is not None:
            self.next[before] = new
        if after is not None:
            self.prev[after] = new
        return new


def _merged_positions(events: np.ndarray, non_events: np.ndarray, s: OptimalSettings) -> list[int]:
    buckets = _Buckets(events, non_events)

    def lacks_class(b: int) -> bool:
        return min(buckets.counts[b]) == 0

    def small(b: int) -> bool:
        return buckets.size(b) < s.min_items

    phases = []
    if s.mixture:
        phases += [(lacks_class, all), (lacks_class, any)]
    phases += [(small, all), (small, any), (None, None)]
    for violates, combine in phases:
        _merge_phase(buckets, s, violates, combine)
    return [buckets.last[b] for b in buckets.ordered()]


def _merge_phase(buckets: _Buckets, s: OptimalSettings, violates, combine) -> None:
    """One phase: merge candidate pairs, smallest score first, until the goal is met or none is left."""
    if violates is None:
        goal = len(buckets.counts) - s.max_bin
    else:
        goal = sum(1 for b in buckets.counts if violates(b))

    def candidate(left: int, right: int) -> bool:
        if buckets.size(left) + buckets.size(right) > s.max_items:
            return False
        return violates is None or combine((violates(left), violates(right)))

    def node(left: int, right: int) -> tuple:
        return pair_score(buckets.counts[left], buckets.counts[right], s), buckets.last[left], left, right

    order = buckets.ordered()
    heap = [node(a, b) for a, b in zip(order, order[1:]) if candidate(a, b)]
    heapq.heapify(heap)
    while goal > 0 and heap:
        _, _, left, right = heapq.heappop(heap)
        if left not in buckets.counts or right not in buckets.counts:
            continue  # a pair of a bucket merged since it was pushed
        removed = 1 if violates is None else int(violates(left)) + int(violates(right))
        new = buckets.merge(left, right)
        goal -= removed
        if violates is not None and violates(new):
            goal += 1
        for a, b in ((buckets.prev[new], new), (new, buckets.next[new])):
            if a is not None and b is not None and candidate(a, b):
                heapq.heappush(heap, node(a, b))


# ------------------------------------------------------------------ top-down splitting (ks)

def _ks_positions(events: np.ndarray, non_events: np.ndarray, s: OptimalSettings) -> list[int]:
    sizes = events + non_events
    cuts: list[int] = []
    queue = deque([(0, len(events) - 1)])
    while queue and len(cuts) < s.max_bin - 1:
        lo, hi = queue.popleft()
        if hi <= lo:
            continue
        cut = _ks_cut(events[lo:hi + 1], non_events[lo:hi + 1], sizes[lo:hi + 1], s)
        if cut is None:
            continue
        cut += lo
        cuts.append(cut)
        sides = [(lo, cut), (cut + 1, hi)]
        sides.sort(key=lambda side: -sizes[side[0]:side[1] + 1].sum())  # the larger side first (stable)
        queue.extend(sides)
    if not cuts:
        cuts = [(len(events) - 1) // 2]
    return sorted(cuts) + [len(events) - 1]


def _ks_cut(events: np.ndarray, non_events: np.ndarray, sizes: np.ndarray, s: OptimalSettings) -> int | None:
    """Where to cut one interval (the last bucket of its left side), or None when the cut is rejected."""
    middle = (len(events) - 1) // 2
    event_rate = np.cumsum(events)[:-1] / max(events.sum(), 1)
    non_event_rate = np.cumsum(non_events)[:-1] / max(non_events.sum(), 1)
    gaps = np.abs(event_rate - non_event_rate)
    cut = int(np.argmax(gaps)) if gaps.max() > 0 else middle

    def sides(at: int) -> tuple[tuple, tuple]:
        return ((events[:at + 1].sum(), non_events[:at + 1].sum(), sizes[:at + 1].sum()),
                (events[at + 1:].sum(), non_events[at + 1:].sum(), sizes[at + 1:].sum()))

    if min(side[2] for side in sides(cut)) < s.min_items:
        cut = middle
    for e, ne, size in sides(cut):
        if size < s.min_items or (s.mixture and (e == 0 or ne == 0)):
            return None
    return cut
