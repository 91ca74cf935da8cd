"""Additive secret sharing of the toy example's values."""
from __future__ import annotations

import numpy as np


def split_into_shares(values: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split every value v into (a, v - a) with a drawn uniformly between -|v| and |v|.

    Either share alone says nothing precise about v; their sum is v up to rounding.
    """
    bound = np.abs(values)
    first = rng.uniform(-bound, bound)
    return first, values - first


def fresh_rng() -> np.random.Generator:
    """A generator seeded from the operating system's entropy.

    The ``seed`` parameter is deliberately not used (FATE ignores it too): the seeds
    sit in the runtime conf every party reads, and shares drawn from a known seed
    could be recomputed by the other party, which would undo the masking.
    """
    return np.random.default_rng()
