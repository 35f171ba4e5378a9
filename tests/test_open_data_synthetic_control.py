"""Synthetic control: planted effects on constructed panels, the weight solver against a
general-purpose solver, and a run on the real Vektis data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import kbz_eval as kbz
from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.open_data import simplex_weights, synthetic_control

EXACT = 1e-6  # euro; noise-free panels must be reproduced to rounding
#: euro; range of the average gap over exact fits, which may use the exact-fit slack
RANGE_TOL = 0.05
YEARS = list(range(2011, 2024))


def planted_panel(seed: int = 20240601, shift: float = 100.0, start: int = 2019,
                  n_donors: int = 5, noise: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Donors on random trends; the treated unit an exact convex combination of three of
    them, plus ``shift`` from ``start`` on."""
    rng = np.random.default_rng(seed)
    t = np.arange(len(YEARS))
    donors = np.column_stack([
        2000 + rng.uniform(-300, 300) + rng.uniform(20, 80) * t + rng.normal(0, 40, len(t))
        for _ in range(n_donors)])
    weights = np.zeros(n_donors)
    weights[:3] = [0.5, 0.3, 0.2]
    treated = donors @ weights + np.where(np.array(YEARS) >= start, shift, 0.0)
    treated = treated + rng.normal(0, noise, len(t)) if noise else treated
    panel = pd.DataFrame(donors, index=YEARS, columns=[f"d{j}" for j in range(n_donors)])
    panel.insert(0, "treated", treated)
    return panel, weights


def test_planted_effect_recovered_exactly():
    panel, weights = planted_panel()
    with pytest.warns(StatisticalWarning, match="Exact pre-period fit"):  # noise-free
        res = synthetic_control(panel, treated="treated", treatment_year=2019, placebo=False)
    w = res.tables["weights"].set_index("donor")["weight"].reindex(panel.columns[1:])
    np.testing.assert_allclose(w.to_numpy(), weights, atol=1e-7)
    series = res.tables["series"]
    pre, post = series["year"] < 2019, series["year"] >= 2019
    np.testing.assert_allclose(series.loc[pre, "gap"], 0.0, atol=EXACT)
    np.testing.assert_allclose(series.loc[post, "gap"], 100.0, atol=EXACT)
    est = res.estimates.set_index("term")
    assert est.loc["average post-period gap", "estimate"] == pytest.approx(100.0, abs=EXACT)
    assert est.loc["fit_degenerate", "estimate"] == 1
    assert est.loc["fit_degenerate", "exact_fit_units"] == "treated"
    # the noise-free fit is unique (8 pre-period years, 5 donors): the range collapses
    # (to within what the exact-fit slack of 1e-6 x the level, ~0.003 euro a year, allows)
    gap = est.loc["average post-period gap"]
    assert gap["range_lower"] == pytest.approx(100.0, abs=RANGE_TOL)
    assert gap["range_upper"] == pytest.approx(100.0, abs=RANGE_TOL)
    assert np.isnan(est.loc["post/pre RMSPE ratio", "estimate"])  # x / round-off: refused
    assert np.isnan(est.loc["placebo_p_value", "p_value"])
    assert "placebo=False" in est.loc["placebo_p_value", "note"]


def test_planted_negative_effect_and_demeaned_variant():
    panel, _ = planted_panel(seed=3, shift=-250.0, start=2016)
    panel["treated"] += 400.0  # a level outside the donors' hull: only demean can fit
    with pytest.warns(StatisticalWarning, match="Exact pre-period fit"):
        res = synthetic_control(panel, treated="treated", treatment_year=2016, demean=True,
                                placebo=False)
    series = res.tables["series"]
    np.testing.assert_allclose(series.loc[series["year"] >= 2016, "gap"], -250.0, atol=EXACT)


def test_solver_meets_optimality_conditions():
    """KKT conditions of the convex problem min ||y - Xw||² on the simplex (necessary and
    sufficient): the gradient g = -2X'(y - Xw) equals one value on the support of w and
    is at least that value elsewhere. (A general-purpose SLSQP run was tried as a
    reference and found to stop at infeasible points, so the conditions are checked
    directly.)"""
    rng = np.random.default_rng(42)
    for _ in range(25):
        t, j = rng.integers(3, 12), rng.integers(2, 25)
        x = rng.normal(2500, 300, (t, j))
        y = rng.normal(2500, 300, t)
        w = simplex_weights(y, x)
        assert np.all(w >= 0) and w.sum() == pytest.approx(1.0, abs=1e-12)
        g = -2 * x.T @ (y - x @ w)
        scale = np.abs(g).max() + np.abs(x).max() ** 2
        support = w > 1e-9
        lam = g[support].mean()
        assert np.all(np.abs(g[support] - lam) <= 1e-6 * scale)
        assert np.all(g[~support] >= lam - 1e-6 * scale)


def hand_p(placebos: pd.DataFrame, column: str) -> float:
    """Share of units (treated first) whose statistic is at least the treated one's."""
    values = placebos[column].to_numpy()
    return float(np.mean(values >= values[0]))


def test_placebo_p_value_on_its_own_row_with_p_min():
    panel, _ = planted_panel(seed=9, shift=600.0, n_donors=12, noise=5.0)
    res = synthetic_control(panel, treated="treated", treatment_year=2019)
    est = res.estimates.set_index("term")
    row = est.loc["placebo_p_value"]
    assert row["p_value"] == pytest.approx(1 / 13)  # the clear effect ranks first
    assert row["p_min"] == pytest.approx(1 / 13) and row["n"] == 13 and row["rank"] == 1
    assert row["statistic"] == "post/pre RMSPE ratio"
    assert row["statistic_value"] == pytest.approx(est.loc["post/pre RMSPE ratio", "estimate"])
    assert np.isnan(est.loc["average post-period gap", "p_value"])  # the p is not the gap's
    assert est.loc["fit_degenerate", "estimate"] == 0
    placebos = res.tables["placebos"]
    assert len(placebos) == 13 and placebos["treated"].sum() == 1
    assert not placebos["exact_fit"].any()
    assert "p < 0.001" not in res.headline() and "p = 0.077" in res.headline()
    assert "the smallest attainable p = 1/13" in res.headline()


def test_no_effect_gives_unremarkable_p_value():
    panel, _ = planted_panel(seed=9, shift=0.0, n_donors=12, noise=30.0)
    res = synthetic_control(panel, treated="treated", treatment_year=2019)
    row = res.estimates.set_index("term").loc["placebo_p_value"]
    assert row["p_value"] == pytest.approx(hand_p(res.tables["placebos"], "ratio"))
    assert row["p_value"] >= 3 / 13


def copies_panel(seed: int = 7, n_random: int = 5, n_copies: int = 3,
                 shift: float = 300.0) -> pd.DataFrame:
    """Donors on noisy random trends, the treated unit a convex combination of three of
    them (+``shift`` from 2021), and ``n_copies`` donors that copy the treated unit's
    pre-period exactly and then drift their own way. Ten pre-period years and at most
    seven donors per placebo pool: only the treated unit and the copies can be fitted
    exactly."""
    rng = np.random.default_rng(seed)
    t = np.arange(len(YEARS))
    donors = np.column_stack([
        2000 + rng.uniform(-300, 300) + rng.uniform(20, 80) * t + rng.normal(0, 40, len(t))
        for _ in range(n_random)])
    base = donors[:, :3] @ np.array([0.5, 0.3, 0.2])
    post = np.array(YEARS) >= 2021
    panel = pd.DataFrame(donors, index=YEARS, columns=[f"d{j}" for j in range(n_random)])
    panel.insert(0, "treated", base + np.where(post, shift, 0.0))
    for k in range(n_copies):
        panel[f"copy{k}"] = base + np.where(post, rng.normal(0, 60, len(t)), 0.0)
    return panel


def test_exact_copies_flag_degenerate_fit_and_give_no_round_off_p():
    panel = copies_panel()
    with pytest.warns(StatisticalWarning, match="Exact pre-period fit") as caught:
        res = synthetic_control(panel, treated="treated", treatment_year=2021)
    message = " ".join(str(w.message) for w in caught)
    assert "treated and 3 of 8 donors (copy0, copy1, copy2)" in message
    assert "no placebo p-value is reported" in message
    est = res.estimates.set_index("term")
    flag = est.loc["fit_degenerate"]
    assert flag["estimate"] == 1 and flag["n_exact_fits"] == 4
    assert flag["exact_fit_units"] == "treated, copy0, copy1, copy2"
    placebos = res.tables["placebos"].set_index("unit")
    exact = placebos["exact_fit"]
    assert set(exact[exact].index) == {"treated", "copy0", "copy1", "copy2"}
    assert placebos.loc[exact, "ratio"].isna().all()
    assert (placebos.loc[~exact, "pre_rmspe"] > 1.0).all()  # the others fit inexactly
    # the treated weights are not unique: no p-value at all, with the reason
    row = est.loc["placebo_p_value"]
    assert np.isnan(row["p_value"]) and np.isnan(row["estimate"])
    assert row["note"].startswith("not reported: the pre-period fit of treated is exact")
    assert row["p_min"] == pytest.approx(1 / 9)
    assert res.settings["fit_degenerate"]
    assert "no placebo p-value (the weights are not unique)" in res.headline()
    # ... and the average gap is not unique either: every copy reproduces the
    # pre-period, and so does the planted 0.5/0.3/0.2 mix (gap 300)
    gap = est.loc["average post-period gap"]
    post = panel.index >= 2021
    by_copy = [panel.loc[post, "treated"].mean() - panel.loc[post, f"copy{k}"].mean()
               for k in range(3)]
    for candidate in (*by_copy, 300.0, gap["estimate"]):
        assert gap["range_lower"] - RANGE_TOL <= candidate <= gap["range_upper"] + RANGE_TOL
    assert gap["range_lower"] == pytest.approx(min(*by_copy, 300.0), abs=RANGE_TOL)
    assert gap["range_upper"] == pytest.approx(max(*by_copy, 300.0), abs=RANGE_TOL)
    assert "not unique" in gap["note"]


def exact_donor_panel(seed: int = 5) -> pd.DataFrame:
    """As :func:`copies_panel` but the treated unit fits inexactly (noise) and one donor,
    ``mix``, is 0.4 × d3 + 0.6 × d4 in the pre-period: only its fit is exact (unique)."""
    rng = np.random.default_rng(seed)
    panel = copies_panel(seed=seed, n_copies=0)
    post = np.array(YEARS) >= 2021
    panel["treated"] += rng.normal(0, 5.0, len(YEARS))
    panel["mix"] = (0.4 * panel["d3"] + 0.6 * panel["d4"]
                    + np.where(post, rng.normal(0, 60, len(YEARS)), 0.0))
    return panel


def test_exact_donor_fit_refuses_ratio_and_uses_post_rmspe():
    panel = exact_donor_panel()
    with pytest.warns(StatisticalWarning, match="uses the post-period RMSPE"):
        res = synthetic_control(panel, treated="treated", treatment_year=2021)
    est = res.estimates.set_index("term")
    assert est.loc["fit_degenerate", "exact_fit_units"] == "mix"
    assert pd.notna(est.loc["post/pre RMSPE ratio", "estimate"])  # the treated one exists
    row = est.loc["placebo_p_value"]
    assert row["statistic"] == "post-period RMSPE"
    assert row["note"] == ("post/pre RMSPE ratio refused (exact pre-period fit for 1 of 6 "
                           "donors (mix)); post-period RMSPE used instead")
    assert row["p_value"] == pytest.approx(hand_p(res.tables["placebos"], "post_rmspe"))
    assert row["p_min"] == pytest.approx(1 / 7) and row["n"] == 7
    assert np.isnan(est.loc["average post-period gap", "range_lower"])  # treated unique
    with pytest.warns(StatisticalWarning, match="No placebo p-value is reported"):
        res = synthetic_control(panel, treated="treated", treatment_year=2021,
                                placebo_statistic="ratio")
    row = res.estimates.set_index("term").loc["placebo_p_value"]
    assert np.isnan(row["p_value"])
    assert row["note"].startswith("refused: exact pre-period fit for 1 of 6 donors (mix)")
    assert "no placebo p-value (refused" in res.headline()


@pytest.mark.parametrize("make", [copies_panel, exact_donor_panel])
def test_degenerate_p_value_does_not_depend_on_round_off(make):
    """Perturbing the panel at the level of round-off (1e-10 relative) leaves the p-value
    and the exact-fit flags unchanged."""
    panel = make()
    jitter = np.random.default_rng(1).normal(1.0, 1e-10, panel.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        a = synthetic_control(panel, treated="treated", treatment_year=2021)
        b = synthetic_control(panel * jitter, treated="treated", treatment_year=2021)
    pa = a.estimates.set_index("term").loc["placebo_p_value", "p_value"]
    pb = b.estimates.set_index("term").loc["placebo_p_value", "p_value"]
    assert pa == pb or (np.isnan(pa) and np.isnan(pb))
    pd.testing.assert_series_equal(a.tables["placebos"]["exact_fit"],
                                   b.tables["placebos"]["exact_fit"])


def test_post_rmspe_statistic_on_request():
    clean = planted_panel(seed=9, shift=600.0, n_donors=12, noise=5.0)[0]
    res = synthetic_control(clean, treated="treated", treatment_year=2019,
                            placebo_statistic="post_rmspe")
    row = res.estimates.set_index("term").loc["placebo_p_value"]
    assert row["statistic"] == "post-period RMSPE" and row["note"] == ""
    assert row["p_value"] == pytest.approx(hand_p(res.tables["placebos"], "post_rmspe"))


IN_TIME_YEARS = list(range(2000, 2024))


def long_panel(*, effect_from: int, shift: float = 300.0, noise: float = 10.0,
               seed: int = 11) -> pd.DataFrame:
    """24 years, six donors on noisy trends, the treated unit a convex combination of
    three of them plus ``shift`` from ``effect_from`` and its own noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(len(IN_TIME_YEARS))
    donors = np.column_stack([
        2000 + rng.uniform(-300, 300) + rng.uniform(20, 80) * t + rng.normal(0, 40, len(t))
        for _ in range(6)])
    treated = (donors[:, :3] @ np.array([0.5, 0.3, 0.2]) + rng.normal(0, noise, len(t))
               + np.where(np.array(IN_TIME_YEARS) >= effect_from, shift, 0.0))
    panel = pd.DataFrame(donors, index=IN_TIME_YEARS, columns=[f"d{j}" for j in range(6)])
    panel.insert(0, "treated", treated)
    return panel


def test_in_time_placebo_shows_no_gap_where_the_real_one_is_found():
    res = synthetic_control(long_panel(effect_from=2016), treated="treated",
                            treatment_year=2016)
    est = res.estimates.set_index("term")
    # default: half of the 16 pre-period years earlier -> pretended start 2008
    row = est.loc["in_time_placebo_gap"]
    assert row["year"] == 2008 and row["n_years"] == 8 and res.settings["in_time_start"] == 2008
    assert abs(row["estimate"]) < 30.0  # 3 noise sd; the effect is 300
    assert est.loc["average post-period gap", "estimate"] == pytest.approx(300.0, abs=30.0)
    table = res.tables["in_time_placebo"]
    assert (table.loc[table["year"] < 2008, "period"] == "placebo pre").all()
    assert (table.loc[table["year"].between(2008, 2015), "period"] == "placebo post").all()
    assert (table.loc[table["year"] >= 2016, "period"] == "post").all()
    fake = table[table["period"] == "placebo post"]["gap"].mean()
    assert row["estimate"] == pytest.approx(fake)
    assert "in-time placebo (pretended start 2008)" in res.headline()


def test_in_time_placebo_finds_an_effect_that_began_early():
    """An effect that truly began in 2010 while 2016 is claimed shows up in the
    pretended post period (2008-2015: six of eight years shifted)."""
    res = synthetic_control(long_panel(effect_from=2010), treated="treated",
                            treatment_year=2016)
    gap = res.estimates.set_index("term").loc["in_time_placebo_gap", "estimate"]
    assert gap == pytest.approx(300.0 * 6 / 8, abs=40.0)


def test_in_time_placebo_options():
    panel = long_panel(effect_from=2016)
    res = synthetic_control(panel, treated="treated", treatment_year=2016, in_time_years=3)
    row = res.estimates.set_index("term").loc["in_time_placebo_gap"]
    assert row["year"] == 2013 and row["n_years"] == 3
    off = synthetic_control(panel, treated="treated", treatment_year=2016, in_time_years=0)
    row = off.estimates.set_index("term").loc["in_time_placebo_gap"]
    assert np.isnan(row["estimate"]) and "not run" in row["note"]
    assert off.tables["in_time_placebo"].empty
    with pytest.raises(SpecificationError, match="in_time_years"):
        synthetic_control(panel, treated="treated", treatment_year=2016, in_time_years=15)
    with pytest.raises(SpecificationError, match="in_time_years"):
        synthetic_control(panel, treated="treated", treatment_year=2016, in_time_years=-1)
    # two pre-period years: the default in-time placebo cannot run and says why
    with pytest.warns(StatisticalWarning):
        short = synthetic_control(panel, treated="treated", treatment_year=2002)
    row = short.estimates.set_index("term").loc["in_time_placebo_gap"]
    assert np.isnan(row["estimate"]) and row["note"].startswith("not run: a start in 2001")


def test_bad_specifications():
    panel, _ = planted_panel()
    with pytest.raises(SpecificationError, match="pre-period"):
        synthetic_control(panel, treated="treated", treatment_year=2012)
    with pytest.raises(SpecificationError, match="not a column"):
        synthetic_control(panel, treated="nobody", treatment_year=2019)
    with pytest.raises(SpecificationError, match="treatment_year"):
        synthetic_control(panel, treated="treated")
    with pytest.raises(SpecificationError, match="`placebo_statistic` must be one of"):
        synthetic_control(panel, treated="treated", treatment_year=2019,
                          placebo_statistic="mean")
    with pytest.raises(SpecificationError, match="exact_fit_tol"):
        synthetic_control(panel, treated="treated", treatment_year=2019, exact_fit_tol=-1e-6)


def test_does_not_mutate_panel():
    panel, _ = planted_panel()
    before = panel.copy()
    with pytest.warns(StatisticalWarning):
        synthetic_control(panel, treated="treated", treatment_year=2019, placebo=False)
    pd.testing.assert_frame_equal(panel, before)


@pytest.mark.data
def test_real_data_utrecht_and_amsterdam(shared_data):
    costs = kbz.open_data.cost_per_insured_year(folder=shared_data, groups=["total"],
                                                methods=["direct"])
    pool = kbz.open_data.donor_pool(costs)
    assert len(pool) == 30 and not set(pool) & set(kbz.open_data.KBZ_ROLLOUT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        utrecht = synthetic_control(costs, treated="Utrecht")
    amsterdam = synthetic_control(costs, treated="Amsterdam")
    messages = [str(w.message) for w in caught if issubclass(w.category, StatisticalWarning)]
    assert any("Only 3 pre-period years" in m for m in messages)
    assert any(m.startswith("Exact pre-period fit") for m in messages)
    for res, start in ((utrecht, 2014), (amsterdam, 2019)):
        w = res.tables["weights"]["weight"]
        assert (w >= 0).all() and w.sum() == pytest.approx(1.0, abs=1e-12)
        assert res.settings["treatment_year"] == start
        assert res.settings["n_placebos"] == 30
        series = res.tables["series"]
        # the synthetic series is the weighted donor series
        panel = costs.series(group="total", method="direct")
        donors = res.tables["weights"]["area_code"]
        synth = panel[donors.tolist()].to_numpy() @ w.to_numpy()
        np.testing.assert_allclose(series["synthetic"], synth, rtol=1e-12)
        row = res.estimates.set_index("term").loc["placebo_p_value"]
        assert row["p_min"] == pytest.approx(1 / 31) and row["n"] == 31
    # Utrecht: 3 pre-period years, 30 donors -> exact fits (RMSPE ~1e-9 euro) for the city
    # and many donors: the weights are not unique, so no placebo p-value, and the average
    # gap is shown with its range over exact fits
    est = utrecht.estimates.set_index("term")
    placebos = utrecht.tables["placebos"]
    assert est.loc["fit_degenerate", "estimate"] == 1
    assert est.loc["fit_degenerate", "n_exact_fits"] >= 10
    assert est.loc["fit_degenerate", "exact_fit_units"].startswith("Utrecht, ")
    assert (placebos.loc[placebos["exact_fit"], "pre_rmspe"] < 1e-6).all()
    assert (placebos.loc[~placebos["exact_fit"], "pre_rmspe"] > 0.1).all()  # a clear gap
    row = est.loc["placebo_p_value"]
    assert np.isnan(row["p_value"]) and row["note"].startswith("not reported")
    gap = est.loc["average post-period gap"]
    assert gap["range_lower"] < gap["estimate"] < gap["range_upper"]
    assert gap["range_upper"] - gap["range_lower"] > 100  # euro per insured year
    assert "no placebo p-value" in utrecht.headline()
    # in-time placebo: start pretended in 2013, fitted on 2011-2012
    assert est.loc["in_time_placebo_gap", "year"] == 2013
    # Amsterdam: 8 pre-period years, no exact fit, the ratio statistic
    est = amsterdam.estimates.set_index("term")
    assert est.loc["fit_degenerate", "estimate"] == 0
    row = est.loc["placebo_p_value"]
    assert row["statistic"] == "post/pre RMSPE ratio"
    assert row["p_value"] == pytest.approx(hand_p(amsterdam.tables["placebos"], "ratio"))
    assert est.loc["in_time_placebo_gap", "year"] == 2015
