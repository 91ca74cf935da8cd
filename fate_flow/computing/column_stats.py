"""Column sums that come out the same whatever the partitioning: exact partial sums, rounded once.

A float sum depends on the order of its additions, so summing partitions and then the
partials would make a mean differ in its last bits between 1 and 8 partitions. Here a
partition's partial sum is exact (a Python integer numerator over 2**1126, which every
finite float64 divides), partials add exactly, and ``values()`` rounds once at the end: the
correctly rounded sum of the column, for any split of the rows and any engine. The work per
partition is numpy (``frexp`` and two ``bincount``), with a Python loop only over the
distinct exponents of each column.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator

import numpy as np

# every finite float64 is an integer times 2**-1074; frexp's 53-bit mantissas reach 2**-1126
_SCALE_BITS = 1126
_HALF_BITS = 26
# values per pass: temporaries that stay in the CPU caches make it ~20x faster than one pass
# over a big block (and bincount's float64 sums of 26-bit halves stay exact far beyond this)
_VALUES_PER_PASS = 1 << 18


@dataclass
class ExactSums:
    """Exact per-column sums of finite values, with flags for the NaN and infinities met."""

    numerators: list[int]
    has_nan: np.ndarray
    has_pos_inf: np.ndarray
    has_neg_inf: np.ndarray

    def __add__(self, other: "ExactSums") -> "ExactSums":
        return ExactSums([a + b for a, b in zip(self.numerators, other.numerators)], self.has_nan | other.has_nan,
                         self.has_pos_inf | other.has_pos_inf, self.has_neg_inf | other.has_neg_inf)

    def values(self) -> np.ndarray:
        """The sums as float64, each rounded once; NaN/inf as a float sum would give them."""
        sums = np.array([_to_float(n) for n in self.numerators], dtype=np.float64)
        sums = np.where(self.has_pos_inf, np.inf, np.where(self.has_neg_inf, -np.inf, sums))
        return np.where(self.has_nan | (self.has_pos_inf & self.has_neg_inf), np.nan, sums)


def exact_sums(matrix: np.ndarray) -> ExactSums:
    """The exact sum of every column of an (n x d) float matrix (a partial for ``aggregate``)."""
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"exact_sums takes an (n, d) matrix, got shape {x.shape}")
    numerators = [0] * x.shape[1]
    rows = max(1, _VALUES_PER_PASS // max(x.shape[1], 1))
    for start in range(0, len(x), rows):
        _add_exact(x[start:start + rows], numerators)
    return ExactSums(numerators, np.isnan(x).any(axis=0), (x == np.inf).any(axis=0), (x == -np.inf).any(axis=0))


def _add_exact(x: np.ndarray, numerators: list[int]) -> None:
    """Add the finite values of ``x`` to ``numerators`` (units of 2**-1126), column by column."""
    mantissa, exponent = np.frexp(np.where(np.isfinite(x), x, 0.0))
    integers = (mantissa * 2.0 ** 53).astype(np.int64)  # exact: frexp mantissas carry 53 bits
    shifts = exponent.astype(np.int64)
    lowest = int(shifts.min(initial=0))
    span = int(shifts.max(initial=0)) - lowest + 1  # bins per column: only the exponents present
    keys = (np.arange(x.shape[1], dtype=np.int64)[None, :] * span + (shifts - lowest)).ravel()
    size = x.shape[1] * span
    high = np.bincount(keys, weights=(integers >> _HALF_BITS).ravel(), minlength=size)
    low = np.bincount(keys, weights=(integers & ((1 << _HALF_BITS) - 1)).ravel(), minlength=size)
    for key in np.flatnonzero((high != 0) | (low != 0)).tolist():
        column, offset = divmod(key, span)
        shift = offset + lowest - 53 + _SCALE_BITS
        numerators[column] += ((int(high[key]) << _HALF_BITS) + int(low[key])) << shift


def _to_float(numerator: int) -> float:
    try:
        return float(Fraction(numerator, 1 << _SCALE_BITS))
    except OverflowError:
        return float("inf") if numerator > 0 else float("-inf")


# ---- what the row-wise components share: their input as Instances blocks, and columns gathered ----

# values gathered at once for statistics that need whole columns (quantiles): 128 MB of float64
GATHER_VALUES = 1 << 24


def load_instances(session, stored):
    """A stored table of Instances' stored form (DataIO's output) as a Table of Instances blocks."""
    from fate_flow.computing.instances import Instances

    schema, delimiter = dict(stored.meta.schema or {}), stored.meta.delimiter or ","
    return session.load(stored).map_values(functools.partial(Instances.from_block, schema, delimiter))


def empty_like(stored):
    """No rows, with the header, sid and label of a stored table: what a kernel makes of it gives
    the output's schema without touching the data."""
    import pyarrow as pa

    from fate_flow.computing.instances import Instances

    empty = pa.array([], type=pa.string())
    return Instances.from_rows(dict(stored.meta.schema or {}), stored.meta.delimiter or ",", empty, empty)


def gather_columns(table, columns: list[int], rows: int, budget: int = GATHER_VALUES) -> Iterator[tuple]:
    """``(positions, matrix)`` for groups of the feature ``columns`` of a Table of Instances: each
    group's whole columns (rows in partition order), as many columns at once as fit in ``budget``
    values, so that the task holds a few columns of the table, never all of it."""
    per_group = max(1, budget // max(rows, 1))
    for start in range(0, len(columns), per_group):
        group = list(columns[start:start + per_group])
        parts = table.map_reduce(functools.partial(_feature_columns, group))
        yield group, np.concatenate(parts) if parts else np.empty((0, len(group)))


def _feature_columns(columns: list[int], block) -> np.ndarray:
    return block.features[:, columns]
