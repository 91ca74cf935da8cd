"""Split points of the binning methods and the bin of every value, on whole columns at once.

A column's bins are given by its ascending split points ``sp``: a value v falls in the
first bin i with ``v <= sp[i]`` and in the last bin if there is none (FATE's
``get_bin_num``), so the last split point is the column maximum.

Quantile (equal frequency). FATE 1.4 asks a Greenwald-Khanna quantile summary (size
bounded by ``compress_thres``/``head_size``, rank error ``error``) for the percentiles
1/B, 2/B, ..., 1. Here the component gathers whole columns from the partitions, a few at a
time (8 bytes a value), so each column is sorted once (``np.sort``) and
the percentile p = k/B is read at its exact rank: the smallest value with at least
ceil(k*n/B) of the n values at or below it (numpy's ``inverted_cdf`` quantile). Exact
ranks satisfy every error bound a summary would, at O(n log n) per column and no Python
loop over rows. Missing values (NaN) are left out of the ranks and fall in the last bin.

Bucket (equal width): ``min + k*(max-min)/B`` for k = 1..B-1, then max (min and max combined
from per-partition partials). Category: every distinct value is a split point, so each value is
its own bin (the union of each partition's distinct values).
Duplicate split points are dropped in every method, so a column may get fewer bins.
"""
from __future__ import annotations

import numpy as np


def quantile_split_points(x: np.ndarray, bin_num: int, names: list[str] | None = None) -> list[np.ndarray]:
    """Equal-frequency split points of each column of ``x`` (n x d) for ``bin_num`` bins.

    Raises:
        ValueError: no rows, or a column (named from ``names``) has no value (all NaN).
    """
    _check_has_values(x, names)
    ordered = np.sort(x, axis=0)  # NaN sort last
    counts = np.sum(~np.isnan(x), axis=0)
    k = np.arange(1, bin_num + 1)[:, None]
    ranks = -(-(k * counts[None, :]) // bin_num)  # ceil(k * n / B) in exact integer arithmetic
    rows = np.clip(ranks - 1, 0, counts - 1)
    picked = np.take_along_axis(ordered, rows, axis=0)
    return [np.unique(picked[:, j]) for j in range(x.shape[1])]


def bucket_split_points(x: np.ndarray, bin_num: int, names: list[str] | None = None) -> list[np.ndarray]:
    """Equal-width split points of each column of ``x``; ValueError as for the quantile method."""
    _check_has_values(x, names)
    return bucket_points_of_range(np.nanmin(x, axis=0), np.nanmax(x, axis=0), bin_num)


def bucket_points_of_range(low: np.ndarray, high: np.ndarray, bin_num: int) -> list[np.ndarray]:
    """Equal-width split points of columns whose (NaN-free) minimum and maximum are ``low`` and ``high``."""
    width = (high - low) / bin_num
    inner = low[None, :] + width[None, :] * np.arange(1, bin_num)[:, None]
    points = np.vstack([inner, high[None, :]])
    return [np.unique(np.minimum(points[:, j], high[j])) for j in range(len(low))]


def category_split_points(x: np.ndarray, names: list[str] | None = None) -> list[np.ndarray]:
    """The distinct values of each column (one bin per value); ValueError as for the quantile method."""
    _check_has_values(x, names)
    return distinct_values(x)


def distinct_values(x: np.ndarray) -> list[np.ndarray]:
    """The sorted distinct non-NaN values of each column (a partition's part of the category points)."""
    return [np.unique(x[~np.isnan(x[:, j]), j]) for j in range(x.shape[1])]


def column_range(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(min, max, non-NaN count, rows) of each column, NaN left out: a partial that ``combine_ranges``
    merges across partitions (the bucket method's bounds)."""
    present = ~np.isnan(x)
    return (np.where(present, x, np.inf).min(axis=0, initial=np.inf),
            np.where(present, x, -np.inf).max(axis=0, initial=-np.inf), present.sum(axis=0), len(x))


def combine_ranges(left: tuple, right: tuple) -> tuple:
    return np.minimum(left[0], right[0]), np.maximum(left[1], right[1]), left[2] + right[2], left[3] + right[3]


def check_counts(rows: int, present: np.ndarray, names: list[str] | None) -> None:
    """ValueError when there are no rows, or naming the first column with no value (all missing)."""
    if rows == 0:
        raise ValueError("there are no rows to bin")
    empty = np.flatnonzero(np.asarray(present) == 0)
    if len(empty):
        j = int(empty[0])
        raise ValueError(f"column {names[j] if names else j} has no value to bin (all missing)")


def bin_indexes(x: np.ndarray, split_points: list[np.ndarray]) -> np.ndarray:
    """The bin of every value: an int64 matrix shaped like ``x`` (columns match ``split_points``)."""
    bins = np.empty(x.shape, dtype=np.int64)
    for j, points in enumerate(split_points):
        # searchsorted "left" finds the first split point >= v; NaN and values above the
        # last point land past the end and go to the last bin.
        bins[:, j] = np.minimum(np.searchsorted(points, x[:, j], side="left"), len(points) - 1)
    return bins


def _check_has_values(x: np.ndarray, names: list[str] | None) -> None:
    check_counts(x.shape[0], np.sum(~np.isnan(x), axis=0), names)
