"""Population health (Aim 2) and the shared proportion intervals."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import kbz_eval as kbz
from kbz_eval.estimators.proportions import (
    difference_in_changes,
    mean_interval,
    mover_combination,
    newcombe_difference,
    wilson_interval,
)

#: Newcombe (1998a), Stat Med 17:857-872, table I: Wilson score limits (method 3).
WILSON_PUBLISHED = [
    ((81, 263), (0.2553, 0.3662)),
    ((15, 148), (0.0624, 0.1605)),
    ((0, 20), (0.0, 0.1611)),
    ((1, 29), (0.0061, 0.1718)),
]
#: Newcombe (1998b), Stat Med 17:873-890, table II, method 10 (hybrid score) limits.
NEWCOMBE_PUBLISHED = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0)),
    ((10, 10, 0, 10), (0.6075, 1.0)),
]
PUBLISHED_TOL = 6e-5  # the tables give four decimals

#: Seed 004: good self-rated health Overvecht 77 -> 62 %, Utrecht 90 -> 81 %;
#: exercise norm Overvecht 53 -> 59 %, Utrecht 61 -> 64 %.
PUBLISHED = {
    "good_self_rated_health": (77, 62, 90, 81),
    "exercise_norm": (53, 59, 61, 64),
}


@pytest.mark.parametrize(("counts", "limits"), WILSON_PUBLISHED)
def test_wilson_published(counts, limits):
    lo, hi = wilson_interval(*counts)
    assert (float(lo), float(hi)) == pytest.approx(limits, abs=PUBLISHED_TOL)


@pytest.mark.parametrize(("counts", "limits"), NEWCOMBE_PUBLISHED)
def test_newcombe_published(counts, limits):
    _, lo, hi = newcombe_difference(*counts)
    assert (float(lo), float(hi)) == pytest.approx(limits, abs=PUBLISHED_TOL)


def test_wilson_against_statsmodels_vectorised():
    from statsmodels.stats.proportion import proportion_confint

    x = np.array([0, 3, 17, 40, 99])
    n = np.array([12, 30, 50, 41, 100])
    lo, hi = wilson_interval(x, n, alpha=0.1)
    ref = proportion_confint(x, n, alpha=0.1, method="wilson")
    np.testing.assert_allclose(lo, ref[0], atol=1e-12)
    np.testing.assert_allclose(hi, ref[1], atol=1e-12)


def test_mover_with_two_terms_is_newcombe():
    p = np.array([0.8, 0.6])
    lo, hi = wilson_interval(p * [70, 80], [70, 80])
    est, low, up = mover_combination(p, lo, hi, [1, -1])
    d, l2, u2 = newcombe_difference(56, 70, 48, 80)
    assert (est, low, up) == pytest.approx((d, l2, u2))


def test_difference_in_changes_by_hand():
    p = np.array([0.77, 0.62, 0.90, 0.81])
    n = np.array([700, 700, 4000, 4000])
    res = difference_in_changes(p, n)
    assert float(res.estimate) == pytest.approx((0.62 - 0.77) - (0.81 - 0.90))
    se = np.sqrt((p * (1 - p) / n).sum())
    assert float(res.std_error) == pytest.approx(se)
    lo, hi = wilson_interval(p * n, n)
    # coefficients (-1, +1, +1, -1): lower uses p - l for + terms and u - p for - terms
    lower = res.estimate - np.sqrt((p[1] - lo[1]) ** 2 + (p[2] - lo[2]) ** 2
                                   + (hi[0] - p[0]) ** 2 + (hi[3] - p[3]) ** 2)
    upper = res.estimate + np.sqrt((hi[1] - p[1]) ** 2 + (hi[2] - p[2]) ** 2
                                   + (p[0] - lo[0]) ** 2 + (p[3] - lo[3]) ** 2)
    assert float(res.lower) == pytest.approx(float(lower))
    assert float(res.upper) == pytest.approx(float(upper))
    # with large n the MOVER interval approaches the Wald one
    big = difference_in_changes(p, n * 1000)
    assert float(big.upper - big.lower) == pytest.approx(
        2 * 1.959963984540054 * float(big.std_error), rel=1e-3)


def test_mean_interval_edge_cases():
    assert mean_interval([]).n == 0 and np.isnan(mean_interval([]).mean)
    one = mean_interval([4.0, np.nan])
    assert one.n == 1 and one.mean == 4.0 and np.isnan(one.lower)


# --------------------------------------------------------------------- population
@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


@pytest.fixture(scope="module")
def result(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kbz.StatisticalWarning)
        return kbz.population_health(sample["monitor"], area="Overvecht",
                                     reference="Utrecht")


def test_sample_reproduces_published_percentages(result):
    changes = result.tables["changes"].set_index("indicator")
    for ind, (a0, a1, r0, r1) in PUBLISHED.items():
        row = changes.loc[ind]
        assert (row["area_start"], row["area_end"]) == pytest.approx((a0, a1))
        assert (row["reference_start"], row["reference_end"]) == pytest.approx((r0, r1))
        assert row["difference_in_change"] == pytest.approx((a1 - a0) - (r1 - r0))
        assert (row["year_start"], row["year_end"]) == (2014, 2016)


def test_intervals_against_independent_computation(result, sample):
    """Wilson via statsmodels and the difference of differences recomputed here."""
    from statsmodels.stats.proportion import proportion_confint

    mon = sample["monitor"]
    pct = result.tables["percentages"]
    for _, r in pct.iterrows():
        src = mon[(mon["area"] == r["area"]) & (mon["year"] == r["year"])
                  & (mon["indicator"] == r["indicator"])].iloc[0]
        lo, hi = proportion_confint(src["percent"] / 100 * src["n"], src["n"],
                                    method="wilson")
        assert (r["ci_lower"], r["ci_upper"]) == pytest.approx((100 * lo, 100 * hi))
        assert r["n"] == src["n"]
    est = result.tidy().set_index("term")
    row = est.loc["difference_in_change:good_self_rated_health"]
    ref = difference_in_changes([0.77, 0.62, 0.90, 0.81], [700, 700, 4000, 4000])
    assert row["estimate"] == pytest.approx(-6.0)
    assert row["ci_lower"] == pytest.approx(100 * float(ref.lower))
    assert row["ci_upper"] == pytest.approx(100 * float(ref.upper))
    assert row["ci_upper"] < 0  # a stronger decline in Overvecht, on the assumed n
    ex = est.loc["difference_in_change:exercise_norm"]
    assert ex["estimate"] == pytest.approx(3.0)
    assert ex["ci_lower"] < 0 < ex["ci_upper"]


def test_assumed_n_is_said_everywhere(sample):
    with pytest.warns(kbz.StatisticalWarning, match="assumed"):
        res = kbz.population_health(sample["monitor"], area="Overvecht",
                                    reference="Utrecht")
    assert "assum" in res.method
    assert "assumed n" in res.headline()
    assert res.tidy()["n_is_assumed"].all()
    assert res.tables["percentages"]["n_is_assumed"].all()
    assert any("assumed" in w for w in res.warnings)


def test_published_n_gives_no_assumption_warning(sample):
    mon = sample["monitor"].assign(n_is_assumed=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", kbz.StatisticalWarning)
        res = kbz.population_health(mon, area="Overvecht", reference="Utrecht",
                                    indicators="exercise_norm")
    assert "assumed" not in res.headline()
    assert not res.warnings
    assert res.settings["indicators"] == ["exercise_norm"]


def test_unknown_area_and_indicator(sample):
    with pytest.raises(kbz.SpecificationError, match="`area` must be one of"):
        kbz.population_health(sample["monitor"], area="Kanaleneiland", reference="Utrecht")
    with pytest.raises(kbz.SpecificationError, match="`indicators`"):
        kbz.population_health(sample["monitor"], area="Overvecht", reference="Utrecht",
                              indicators="smoking")
    with pytest.raises(kbz.SpecificationError, match="differ"):
        kbz.population_health(sample["monitor"], area="Utrecht", reference="Utrecht")
    with pytest.raises(kbz.SpecificationError, match="`start`"):
        kbz.population_health(sample["monitor"], area="Overvecht", reference="Utrecht",
                              start=2015)


def test_bad_percent_and_missing_n(sample):
    bad = sample["monitor"].copy()
    bad.loc[0, "percent"] = 120.0
    with pytest.raises(kbz.DataValidationError, match="percent"):
        kbz.population_health(bad, area="Overvecht", reference="Utrecht")
    no_n = sample["monitor"].copy()
    no_n["n"] = no_n["n"].astype("Int64")
    no_n.loc[0, "n"] = pd.NA
    with pytest.raises(kbz.DataValidationError, match="assumed n"):
        kbz.population_health(no_n, area="Overvecht", reference="Utrecht")


def test_every_table_has_n(result):
    for name, frame in result.tables.items():
        assert "n" in frame.columns, name
