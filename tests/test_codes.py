"""``unique_codes`` is ``np.unique`` (and its inverse) for every kind of input."""

from __future__ import annotations

import numpy as np
import pytest

from kbz_eval.stats.codes import COUNTED_SPAN, count_distinct, unique_codes

RNG = np.random.default_rng(7)
CASES = {
    "strata": RNG.integers(1, 4, 50_000),
    "negative": RNG.integers(-40, 25, 5_000).astype(np.int16),
    "years": RNG.integers(2012, 2018, 20_000).astype(np.int32),
    "persons": np.sort(RNG.integers(0, 30_000, 60_000)),
    "unsigned": RNG.integers(3, 300, 4_000).astype(np.uint8),
    "wide": RNG.integers(0, 10**12, 3_000),  # sorted by np.unique
    "just_counted": np.r_[np.zeros(1_500, np.int64), COUNTED_SPAN - 1],
    "just_sorted": np.r_[np.zeros(1_500, np.int64), COUNTED_SPAN],
    "few": np.array([5, 3, 5, 9]),
    "floats": RNG.integers(0, 5, 5_000).astype(float),
    "text": np.array(["b", "a", "b", "c"] * 400, dtype=object),
    "bools": RNG.random(3_000) < 0.5,
    "empty": np.array([], dtype=np.int64),
}


@pytest.mark.parametrize("name", CASES)
def test_unique_codes_is_np_unique(name):
    values = CASES[name]
    want, want_inverse = np.unique(values, return_inverse=True)
    got = unique_codes(values)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype
    got, inverse = unique_codes(values, return_inverse=True)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(inverse, want_inverse.ravel())
    np.testing.assert_array_equal(got[inverse], values)
    assert count_distinct(values) == want.size
