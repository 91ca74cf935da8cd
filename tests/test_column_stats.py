"""Exact column sums: correctly rounded (math.fsum), the same for any split of the rows."""
from __future__ import annotations

import math

import numpy as np

from fate_flow.computing.column_stats import exact_sums


def test_sums_are_correctly_rounded_whatever_the_split():
    rng = np.random.default_rng(11)
    x = rng.normal(0, 1e3, (20_001, 4)) * np.array([1, 1e-200, 1e200, 1])
    x[5, 0], x[7, 1], x[9, 1] = -0.0, 5e-324, -7e-310  # negative zero and subnormals
    x[:, 3] = rng.normal(0, 1, len(x)) - np.mean(rng.normal(0, 1, len(x)))  # heavy cancellation
    expected = [math.fsum(x[:, j]) for j in range(x.shape[1])]
    assert exact_sums(x).values().tolist() == expected
    for cuts in ([3], [1, 2, 20_000], list(range(0, 20_001, 997))):
        parts = np.split(x, cuts)
        total = exact_sums(parts[0])
        for part in parts[1:]:
            total = total + exact_sums(part)
        assert total.values().tolist() == expected


def test_nan_and_infinities_are_summed_as_floats_would():
    x = np.array([[1.0, np.inf, np.inf, np.nan], [2.0, 1.0, -np.inf, 1.0]])
    sums = exact_sums(x[:1]) + exact_sums(x[1:])
    assert sums.values()[0] == 3.0 and sums.values()[1] == np.inf
    assert np.isnan(sums.values()[2]) and np.isnan(sums.values()[3])
    assert exact_sums(np.empty((0, 2))).values().tolist() == [0.0, 0.0]
    assert exact_sums(np.array([[1e308], [1e308]])).values().tolist() == [np.inf]  # overflow rounds to inf
