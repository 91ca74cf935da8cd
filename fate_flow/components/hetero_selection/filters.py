"""The selection rules: each returns the value it judged every column by and which columns it keeps.

Local rules work on a party's own features, column-wise with numpy: the range and the moments
from per-partition partials (kernels here, combined by ``Table.aggregate``), the quantile and
the most frequent value on whole columns gathered a few at a time. The IV
rules work on IV dicts (own and hosts'). FATE keeps at least one column per filter: when
a rule keeps none, :func:`keep_best` keeps the best column by that rule's own measure.
Missing values (NaN) are left out of every statistic.
"""
from __future__ import annotations

import math

import numpy as np

from fate_flow.computing.column_stats import exact_sums

# FATE's consts.FLOAT_ZERO: keeps floor(p * n) from rounding a product like 0.9 * 30 down a step
FLOAT_ZERO = 1e-8
ZERO_MEAN = 1e-6


def column_range(columns: list[int], block) -> tuple:
    """One partition's (min, max, non-NaN count, rows) of the ``columns`` of an Instances block (a kernel)."""
    x = block.features[:, columns]
    present = ~np.isnan(x)
    return (np.where(present, x, np.inf).min(axis=0, initial=np.inf),
            np.where(present, x, -np.inf).max(axis=0, initial=-np.inf), present.sum(axis=0), len(x))


def combine_ranges(left: tuple, right: tuple) -> tuple:
    return (np.minimum(left[0], right[0]), np.maximum(left[1], right[1]), left[2] + right[2], left[3] + right[3])


def unique_value(ranges: tuple, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(|max - min| per column, keep mask ``|max - min| >= eps``) from ``column_range`` partials;
    a column with no value has a NaN spread (and is dropped), as numpy's nanmax/nanmin give it."""
    low, high, present, rows = ranges
    if not rows:
        spread = np.zeros(len(low))
    else:
        spread = np.where(present > 0, np.abs(high - low), np.nan)
    return spread, spread >= eps


def column_sums(columns: list[int], block) -> tuple:
    """One partition's exact sums and counts of the non-NaN values of ``columns`` (a kernel)."""
    x = block.features[:, columns]
    present = ~np.isnan(x)
    return exact_sums(np.where(present, x, 0.0)), present.sum(axis=0)


def squared_deviations(columns: list[int], mean: np.ndarray, block):
    """One partition's exact sums of (x - mean)^2 over the non-NaN values of ``columns`` (a kernel)."""
    x = block.features[:, columns]
    deviations = np.where(np.isnan(x), 0.0, x - mean)
    return exact_sums(deviations * deviations)


def add_pairs(left: tuple, right: tuple) -> tuple:
    return left[0] + right[0], left[1] + right[1]


def coefficient_of_variation(mean: np.ndarray, std: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(|std / mean| per column, keep mask ``>= threshold``); a zero mean counts as 1e-6 (FATE).

    ``mean`` and ``std`` leave out NaN; the standard deviation is the population one (divided
    by n), as FATE's statistics.
    """
    coefficient = np.abs(std / np.where(mean == 0, ZERO_MEAN, mean))
    return coefficient, coefficient >= threshold


def outlier_cols(x: np.ndarray, percentile: float, upper_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(the ``percentile`` quantile per column, keep mask ``quantile < upper_threshold``).

    The quantile is exact: the smallest value with at least ``percentile`` of the column at or
    below it (numpy's ``inverted_cdf``), within any rank error of FATE's summaries.
    """
    quantile = np.nanquantile(x, percentile, axis=0, method="inverted_cdf")
    return quantile, quantile < upper_threshold


def percentage_value(x: np.ndarray, upper_pct: float) -> tuple[np.ndarray, np.ndarray]:
    """(share of the most frequent value per column, keep mask ``count <= ceil(n * upper_pct)``).

    Values are rounded to 8 decimals before counting, as FATE does.
    """
    n = x.shape[0]
    rounded = np.round(x, 8)
    modes = np.array([np.unique(rounded[:, j], return_counts=True)[1].max(initial=0)
                      for j in range(x.shape[1])], dtype=np.int64)
    return modes / max(n, 1), modes <= math.ceil(n * upper_pct)


def iv_thresholds(ivs: list[dict], thresholds: list[float]) -> list[set]:
    """iv_value_thres: per party, the columns whose IV is above that party's threshold."""
    return [{name for name, iv in party.items() if iv > threshold} for party, threshold in zip(ivs, thresholds)]


def iv_percentile(ivs: list[dict], percentile: float) -> list[set]:
    """iv_percentile: one threshold over all parties' IVs so that floor(p * n) columns pass.

    The threshold is the IV at position ``floor(p * n - 1e-8)`` of the IVs sorted high to
    low (FATE's rule; at least the first); columns at or above it pass, ties included.
    """
    pooled = sorted((iv for party in ivs for iv in party.values()), reverse=True)
    if not pooled:
        return [set() for _ in ivs]
    position = min(max(int(math.floor(percentile * len(pooled) - FLOAT_ZERO)), 0), len(pooled) - 1)
    return _at_least(ivs, pooled[position])


def iv_top_k(ivs: list[dict], k: int) -> list[set]:
    """iv_top_k: the k highest IVs over all parties pass (ties with the k-th included)."""
    pooled = sorted((iv for party in ivs for iv in party.values()), reverse=True)
    if not pooled:
        return [set() for _ in ivs]
    return _at_least(ivs, pooled[min(k, len(pooled)) - 1])


def _at_least(ivs: list[dict], threshold: float) -> list[set]:
    return [{name for name, iv in party.items() if iv >= threshold} for party in ivs]


def keep_best(values: dict, kept: set, pick_high: bool = True) -> set:
    """``kept``, or (when it is empty) the one column of ``values`` with the highest (lowest) value."""
    if kept or not values:
        return kept
    pick = max if pick_high else min
    return {pick(values, key=lambda name: values[name])}
