"""Per-column replacement of missing values and outliers (FATE's feature/imputer.py, on numpy masks)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Replacement:
    """What one replacement step learnt: the value put in per column and the share of cells replaced."""

    values: np.ndarray
    ratios: np.ndarray


def fit_replace(matrix: np.ndarray, mask: np.ndarray, method: str | None, designated: Any,
                param_name: str) -> tuple[np.ndarray, Replacement]:
    """Replace the cells under ``mask`` by a per-column value learnt from the other cells.

    Args:
        method: min|max|mean from the cells that are neither masked nor NaN, or
            designated/None for ``designated`` (a number, or one number per column).
            A column with no usable cell falls back to the designated value.
        param_name: the parameter holding ``designated``, named in errors.

    Returns:
        the new matrix and the learnt Replacement.
    """
    width = matrix.shape[1]
    fixed = designated_values(designated, width, param_name)
    if method in (None, "designated"):
        values = fixed
    else:
        usable = ~mask & ~np.isnan(matrix)
        counts = usable.sum(axis=0)
        if method == "min":
            values = np.where(usable, matrix, np.inf).min(axis=0, initial=np.inf)
        elif method == "max":
            values = np.where(usable, matrix, -np.inf).max(axis=0, initial=-np.inf)
        else:
            values = np.where(usable, matrix, 0.0).sum(axis=0) / np.maximum(counts, 1)
        values = np.where(counts > 0, values, fixed)
    ratios = mask.mean(axis=0) if len(matrix) else np.zeros(width)
    return apply_replace(matrix, mask, values), Replacement(values=values, ratios=ratios)


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
