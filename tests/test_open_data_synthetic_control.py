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
    res = synthetic_control(panel, treated="treated", treatment_year=2019, placebo=False)
    w = res.tables["weights"].set_index("donor")["weight"].reindex(panel.columns[1:])
    np.testing.assert_allclose(w.to_numpy(), weights, atol=1e-7)
    series = res.tables["series"]
    pre, post = series["year"] < 2019, series["year"] >= 2019
    np.testing.assert_allclose(series.loc[pre, "gap"], 0.0, atol=EXACT)
    np.testing.assert_allclose(series.loc[post, "gap"], 100.0, atol=EXACT)
    avg = res.estimates.set_index("term").loc["average post-period gap", "estimate"]
    assert avg == pytest.approx(100.0, abs=EXACT)


def test_planted_negative_effect_and_demeaned_variant():
    panel, _ = planted_panel(seed=3, shift=-250.0, start=2016)
    panel["treated"] += 400.0  # a level outside the donors' hull: only demean can fit
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


def test_placebo_p_value_smallest_for_clear_effect():
    panel, _ = planted_panel(seed=9, shift=600.0, n_donors=12, noise=5.0)
    res = synthetic_control(panel, treated="treated", treatment_year=2019)
    row = res.estimates.set_index("term").loc["average post-period gap"]
    assert row["p_value"] == pytest.approx(1 / 13)
    assert row["n"] == 13
    placebos = res.tables["placebos"]
    assert len(placebos) == 13 and placebos["treated"].sum() == 1


def test_no_effect_gives_unremarkable_p_value():
    panel, _ = planted_panel(seed=9, shift=0.0, n_donors=12, noise=30.0)
    res = synthetic_control(panel, treated="treated", treatment_year=2019)
    p = res.estimates.set_index("term").loc["average post-period gap", "p_value"]
    assert 1 / 13 < p <= 1


def test_bad_specifications():
    panel, _ = planted_panel()
    with pytest.raises(SpecificationError, match="pre-period"):
        synthetic_control(panel, treated="treated", treatment_year=2012)
    with pytest.raises(SpecificationError, match="not a column"):
        synthetic_control(panel, treated="nobody", treatment_year=2019)
    with pytest.raises(SpecificationError, match="treatment_year"):
        synthetic_control(panel, treated="treated")


def test_does_not_mutate_panel():
    panel, _ = planted_panel()
    before = panel.copy()
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
    assert any(issubclass(w.category, StatisticalWarning) for w in caught)  # 3 pre-years
    for res, start in ((utrecht, 2014), (synthetic_control(costs, treated="Amsterdam"), 2019)):
        w = res.tables["weights"]["weight"]
        assert (w >= 0).all() and w.sum() == pytest.approx(1.0, abs=1e-12)
        row = res.estimates.set_index("term").loc["average post-period gap"]
        assert 0 < row["p_value"] <= 1
        assert res.settings["treatment_year"] == start
        assert res.settings["n_placebos"] == 30
        series = res.tables["series"]
        # the synthetic series is the weighted donor series
        panel = costs.series(group="total", method="direct")
        donors = res.tables["weights"]["donor"]
        synth = panel[donors.tolist()].to_numpy() @ w.to_numpy()
        np.testing.assert_allclose(series["synthetic"], synth, rtol=1e-12)
