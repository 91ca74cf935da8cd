"""Per-column replacement of missing values and outliers (FATE's feature/imputer.py, on numpy masks).

Fitting is split so that it runs on partitions: ``replace_stats`` is one partition's partial
(counts, min, max, exact sum of the usable cells), partials add up with ``+``, and
``fit_replacement`` turns the total into the replace values. Min, max and counts are exact
whatever the partitioning; the mean is the correctly rounded sum over the count.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fate_flow.computing.column_stats import ExactSums, exact_sums


@dataclass
class Replacement:
    """What one replacement step learnt: the value put in per column and the share of cells replaced."""

    values: np.ndarray
    ratios: np.ndarray


@dataclass
class ReplaceStats:
    """One partition's (or several partitions') partial: rows, replaced cells and the usable cells' stats."""

    rows: int
    masked: np.ndarray
    usable: np.ndarray
    low: np.ndarray
    high: np.ndarray
    sums: ExactSums

    def __add__(self, other: "ReplaceStats") -> "ReplaceStats":
        return ReplaceStats(self.rows + other.rows, self.masked + other.masked, self.usable + other.usable,
                            np.minimum(self.low, other.low), np.maximum(self.high, other.high),
                            self.sums + other.sums)


def replace_stats(matrix: np.ndarray, mask: np.ndarray) -> ReplaceStats:
    """The partial of one block: the cells under ``mask`` are replaced, those neither masked nor NaN usable."""
    usable = ~mask & ~np.isnan(matrix)
    return ReplaceStats(rows=len(matrix), masked=mask.sum(axis=0), usable=usable.sum(axis=0),
                        low=np.where(usable, matrix, np.inf).min(axis=0, initial=np.inf),
                        high=np.where(usable, matrix, -np.inf).max(axis=0, initial=-np.inf),
                        sums=exact_sums(np.where(usable, matrix, 0.0)))


def fit_replacement(stats: ReplaceStats, method: str | None, designated: Any, param_name: str) -> Replacement:
    """The per-column replace value learnt from the usable cells of every partition.

    Args:
        method: min|max|mean from the cells that are neither masked nor NaN, or
            designated/None for ``designated`` (a number, or one number per column).
            A column with no usable cell falls back to the designated value.
        param_name: the parameter holding ``designated``, named in errors.
    """
    width = len(stats.masked)
    fixed = designated_values(designated, width, param_name)
    if method in (None, "designated"):
        values = fixed
    else:
        if method == "min":
            values = stats.low
        elif method == "max":
            values = stats.high
        else:
            values = stats.sums.values() / np.maximum(stats.usable, 1)
        values = np.where(stats.usable > 0, values, fixed)
    ratios = stats.masked / stats.rows if stats.rows else np.zeros(width)
    return Replacement(values=values, ratios=ratios)


def apply_replace(matrix: np.ndarray, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``matrix`` with the cells under ``mask`` set to their column's value."""
    if not mask.any():
        return matrix
    return np.where(mask, values[np.newaxis, :], matrix)


def designated_values(designated: Any, width: int, param_name: str) -> np.ndarray:
    """The designated replace value per column: a number for all, or a list of one per column."""
    if isinstance(designated, (list, tuple)):
        if len(designated) != width:
            raise ValueError(f"{param_name} has {len(designated)} values but the data has {width} features")
        return np.asarray([float(v) for v in designated], dtype=np.float64)
    return np.full(width, 0.0 if designated is None else float(designated))
