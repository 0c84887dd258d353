"""pzmpi.core.exactsum: a sum's bits do not depend on the order or the grouping of its terms, and equal the
correctly rounded sum (math.fsum)."""

import math

import numpy as np
import pytest

from pzmpi.core.exactsum import ExactSum, exact_integers


def test_every_finite_float_is_converted_exactly():
    values = np.array([0.0, -0.0, 1.0, -2.5, 1e-310, 5e-324, np.finfo(float).max, 1 / 3, -1e300, 2.0**-1074])
    integers = exact_integers(values)
    assert integers[2] == 1 << 1074 and integers[3] == -5 << 1073 and integers[5] == 1
    for value, integer in zip(values, integers):
        assert integer / (1 << 1074) == value  # correctly rounded division: exact when the integer is exact
    with pytest.raises(ValueError, match="finite"):
        exact_integers(np.array([1.0, np.nan]))


@pytest.mark.parametrize("seed", range(3))
def test_the_sum_is_the_same_in_any_order_and_grouping_and_correctly_rounded(seed):
    rng = np.random.default_rng(seed)
    terms = rng.standard_normal((200, 7)) * 10.0 ** rng.integers(-20, 20, (200, 7))
    expected = np.array([math.fsum(terms[:, j]) for j in range(7)])
    results = []
    for trial in range(4):
        order = rng.permutation(200)
        groups = np.array_split(order, 1 + trial * 3)
        parts = []
        for group in groups:
            part = ExactSum((7,))
            for i in group:
                part.add(terms[i])
            parts.append(part)
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        results.append(total.value())
    for result in results:
        np.testing.assert_array_equal(result, expected)
    naive = [terms[rng.permutation(200)].sum(axis=0) for _ in range(5)]
    assert any(not np.array_equal(n, expected) for n in naive)  # where plain float sums do depend on the order
