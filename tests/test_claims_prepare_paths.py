"""The shortcuts of ``prepare_claims`` on large panels against the general computation.

Each shortcut (age bands from birth years alone, strata by scatter, years looked up in
a table) is compared with the formula it replaces, on inputs that take the shortcut
and on inputs that do not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kbz_eval import tables
from kbz_eval.errors import DataValidationError
from kbz_eval.estimators import claims_common as cc


def _bands_by_formula(year: np.ndarray, birth: np.ndarray) -> np.ndarray:
    age = np.clip(year - birth.astype(float), 0, None).astype(int)
    return tables.age_band(age)


@pytest.mark.parametrize("seed", range(3))
def test_age_bands_from_birth_years_alone_follow_the_rule(seed):
    rng = np.random.default_rng(seed)
    n = 4_000
    year = rng.integers(2012, 2018, size=n)
    birth = rng.integers(1910, 2019, size=n)  # some born after the year: age 0
    want = _bands_by_formula(year, birth)
    for column in (birth, birth.astype(np.int32), birth.astype(float)):
        got = cc._age_bands(pd.DataFrame({"birth_year": column}), year, "panel",
                            "person_years")
        np.testing.assert_array_equal(np.asarray(got, dtype=object), want)
    # some bands given, the others empty: the given ones kept, the empty ones derived
    given = pd.Series(want, dtype=object)
    empty = rng.random(n) < 0.3
    given[empty] = ""
    got = cc._age_bands(pd.DataFrame({"age_band": given, "birth_year": birth}), year,
                        "panel", "person_years")
    np.testing.assert_array_equal(np.asarray(got, dtype=object), want)


def test_age_bands_refuse_a_birth_year_that_is_not_a_number():
    year = np.array([2014, 2015, 2016])
    birth = pd.Series([1950.0, np.nan, 1960.0])
    with pytest.raises(DataValidationError, match="birth_year"):
        cc._age_bands(pd.DataFrame({"birth_year": birth}), year, "panel", "person_years")


@pytest.mark.parametrize("seed", range(3))
def test_person_strata_by_scatter_equal_the_counts(seed):
    rng = np.random.default_rng(seed)
    n_persons = 300
    person = np.sort(rng.integers(0, n_persons - 10, size=2_000))  # the last 10: no rows
    is_kbz = rng.random(person.size) < 0.4
    # some persons only KBZ, some only control, some both, some without rows
    is_kbz[person < 40] = True
    is_kbz[(person >= 40) & (person < 80)] = False
    k = is_kbz.astype(np.int64)
    has_k = np.bincount(person, weights=k, minlength=n_persons) > 0
    has_c = np.bincount(person, weights=1 - k, minlength=n_persons) > 0
    want = has_k.astype(np.int64) + 2 * has_c.astype(np.int64)
    got = cc._person_strata(person, is_kbz, n_persons)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int64 and set(np.unique(got)) == {0, 1, 2, 3}


def test_days_in_year_looked_up_equal_the_leap_rule():
    rng = np.random.default_rng(4)
    for low, high in ((2012, 2020), (1896, 2104), (1, 3000)):  # the last: not looked up
        year = rng.integers(low, high, size=5_000)
        got = tables.days_in_year(year)
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        np.testing.assert_array_equal(got, np.where(leap, 366, 365))
        assert got.dtype == np.where(leap, 366, 365).dtype
    assert int(tables.days_in_year(1900)) == 365 and int(tables.days_in_year(2000)) == 366


def test_years_found_and_selected_as_numpy_would():
    rng = np.random.default_rng(5)
    for low, high, dtype in ((2012, 2018, np.int64), (2012, 2018, np.int32),
                             (1, 5_000, np.int64)):  # the last: too wide to count
        year = rng.integers(low, high, size=20_000).astype(dtype)
        got = cc.distinct_years(year)
        np.testing.assert_array_equal(got, np.unique(year))
        assert got.dtype == np.unique(year).dtype
        for chosen in ((2013,), (2012, 2015, 2017), tuple(range(2000, 2030))):
            np.testing.assert_array_equal(cc.in_years(year, chosen), np.isin(year, chosen))
    years = np.array([2014.0, 2015.0, 2014.0])  # not integers: numpy's own functions
    np.testing.assert_array_equal(cc.distinct_years(years), [2014.0, 2015.0])
    np.testing.assert_array_equal(cc.in_years(years, (2015,)), [False, True, False])


@pytest.mark.parametrize("seed", range(3))
def test_stratum_rates_on_combined_codes_equal_pandas_grouping(seed, monkeypatch):
    from kbz_eval.stats import standardise

    rng = np.random.default_rng(seed)
    n = 150_000
    bands = pd.Categorical(rng.choice(np.asarray(tables.AGE_BANDS[:12]), size=n),
                           categories=tables.AGE_BANDS)  # some bands never used
    sex = pd.Categorical(rng.choice(["M", "F"], size=n), categories=["F", "M"])
    sex[rng.random(n) < 0.01] = np.nan  # a missing key: no group
    frame = pd.DataFrame({"age_band": bands, "sex": sex,
                          "year": pd.Categorical(rng.integers(2013, 2016, size=n)),
                          "cost": rng.gamma(0.3, 900.0, size=n) * (rng.random(n) < 0.6),
                          "iy": rng.uniform(0.01, 1.0, size=n)})
    for strata, match in ((["age_band", "sex"], []), (["sex", "age_band"], ["year"])):
        assert standardise._by_category_codes(frame, [*match, *strata], ["cost"]) is not None
        fast = standardise.stratum_rates(frame, value="cost", exposure="iy",
                                         strata=strata, match=match)
        monkeypatch.setattr(standardise, "_MANY_ROWS", 10 * n)
        plain = standardise.stratum_rates(frame, value="cost", exposure="iy",
                                          strata=strata, match=match)
        monkeypatch.setattr(standardise, "_MANY_ROWS", 100_000)
        pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    # a key that is not categorical: pandas groups it
    frame["year"] = frame["year"].astype(int)
    assert standardise._by_category_codes(frame, ["year", "sex"], ["cost"]) is None


def _masked_division(num, den):
    """The quotient taken only where ``den`` is not 0, NaN elsewhere."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.full(np.broadcast_shapes(num.shape, den.shape), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(num, den, out=out, where=den != 0)
    return out


def test_safe_ratio_equals_the_masked_division_when_shapes_broadcast():
    rng = np.random.default_rng(6)
    den = rng.random((40, 5))
    den[rng.random(den.shape) < 0.2] = 0.0
    num = rng.random((40, 5))
    num[0, 0], den[0, 0] = np.inf, 2.0  # inf / x stays inf
    num[1, 1], den[1, 1] = 0.0, 0.0
    cases = [(num, den), (num, den[0]), (num[:, :1], den), (3.0, den), (num, 0.0),
             (num, 2.5), (0.0, 0.0), (np.array([1.0, 2.0]), np.array([0.0, 4.0]))]
    for a, b in cases:
        got, want = cc.safe_ratio(a, b), _masked_division(a, b)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)  # NaN in the same places
