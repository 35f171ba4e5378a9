"""Power / minimum detectable effect (``estimators/power.py``) and the synthetic roll-out
sample (``synth/rollout.py``).

Outside references: statsmodels' ``NormalIndPower`` and ``TTestIndPower`` (ICC = 0) and a
hand computation of the design-effect formula. Known truth: simulated power at the
analytic MDE, a planted ICC, and the planted ATT(g, t) of the roll-out sample.
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.estimators.power import (
    PowerResult,
    autocorrelation_from_panel,
    design_effect,
    icc_from_panel,
    mde_staggered,
    mde_two_by_two,
)
from kbz_eval.estimators.staggered import staggered_did
from kbz_eval.results import TIDY_COLUMNS
from kbz_eval.synth import rollout
from kbz_eval.synth.rollout import planted_simple_att, rollout_sample

matplotlib.use("Agg")

#: Analytic formula against its hand computation: floating-point only.
HAND_REL_TOL = 1e-12
#: Normal MDE against statsmodels' NormalIndPower: we use (z_a + z_b) se, statsmodels also
#: counts the opposite tail (probability about 1e-6 here), measured relative gap 1.2e-6
#: to 1.7e-6.
NORMAL_REL_TOL = 1e-5
#: t MDE against statsmodels' TTestIndPower: both solve the noncentral t exactly; the gap
#: (measured <= 2e-8) is the root finders' tolerance.
T_REL_TOL = 1e-6
#: Simulated power at the analytic MDE (2 × 2-like design): 3 Monte Carlo SEs of a
#: proportion near 0.8 (sqrt(0.16 / n_sims)).
FAST_SIMS, FAST_POWER_TOL = 120, 0.11
SLOW_SIMS, SLOW_POWER_TOL = 1000, 0.04
#: ICC recovery: the ANOVA estimator's SD at rho = 0.05, 200 clusters of 50 is about
#: 0.0066 (Donner 1986's large-sample formula); 3 SDs.
ICC_TOL = 0.02
#: Cluster autocorrelation recovery (200 practices x 4 years x 50 persons, r = 0.6): SD of
#: the moment estimator over 40 seeds measured 0.041; 3 SDs.
AUTOCORRELATION_TOL = 0.12


# --------------------------------------------------------------------------- analytic MDE
def test_mde_two_by_two_matches_hand_computation():
    """k1 = 8, k0 = 12, m = 1500, rho = 0.005, r = 0.4, sd = 3500, T0 = 2, T1 = 3."""
    res = mde_two_by_two(n_practices_treated=8, n_practices_control=12,
                         persons_per_practice=1500, icc=0.005, sd=3500, years_pre=2,
                         years_post=3, autocorrelation=0.4, distribution="normal")
    de = 1 + 1499 * 0.005 - 1500 * 0.4 * 0.005  # = 5.495
    assert de == pytest.approx(5.495, rel=HAND_REL_TOL)
    var = 3500**2 * (1 / 2 + 1 / 3) * (1 / (8 * 1500) + 1 / (12 * 1500)) * de
    mde = (1.959963984540054 + 0.8416212335729143) * np.sqrt(var)
    row = res.tables["mde"].iloc[0]
    assert row["design_effect"] == pytest.approx(de, rel=HAND_REL_TOL)
    assert row["std_error"] == pytest.approx(np.sqrt(var), rel=HAND_REL_TOL)
    assert row["mde"] == pytest.approx(mde, rel=HAND_REL_TOL)
    assert mde == pytest.approx(247.29, abs=0.01)  # sqrt(V) = 88.27 EUR, x 2.8016
    assert res.tidy()["estimate"].iloc[0] == pytest.approx(mde, rel=HAND_REL_TOL)


def test_design_effect_is_the_textbook_one_without_autocorrelation():
    assert design_effect(2000, 0.004) == pytest.approx(1 + 1999 * 0.004, rel=HAND_REL_TOL)
    # fully persistent practice levels: the change scores remove them (DE = 1 - rho)
    assert design_effect(2000, 0.004, 1.0) == pytest.approx(1 - 0.004, rel=HAND_REL_TOL)


@pytest.mark.parametrize("k1, k0, m", [(10, 10, 1), (6, 14, 1), (30, 20, 1), (8, 12, 40)])
def test_normal_mde_equals_statsmodels_at_icc_zero(k1, k0, m):
    """statsmodels: NormalIndPower().solve_power(nobs1=k1*m, ratio=k0/k1, alpha=0.05,
    power=0.8) gives Cohen's d of two groups of persons; our one-year-before/one-after
    difference in changes has variance 2 sd^2 per person, so MDE = d * sd * sqrt(2)."""
    res = mde_two_by_two(n_practices_treated=k1, n_practices_control=k0,
                         persons_per_practice=m, icc=0.0, sd=1.0, distribution="normal")
    d = NormalIndPower().solve_power(effect_size=None, nobs1=k1 * m, ratio=k0 / k1,
                                     alpha=0.05, power=0.8)
    assert res.tables["mde"]["mde"].iloc[0] == pytest.approx(d * np.sqrt(2),
                                                             rel=NORMAL_REL_TOL)


@pytest.mark.parametrize("k1, k0", [(10, 10), (6, 14), (30, 20), (3, 4)])
def test_t_mde_equals_statsmodels_at_icc_zero(k1, k0):
    """statsmodels: TTestIndPower().solve_power(nobs1=k1, ratio=k0/k1, alpha=0.05,
    power=0.8); one person per practice so both use k1 + k0 - 2 df."""
    res = mde_two_by_two(n_practices_treated=k1, n_practices_control=k0,
                         persons_per_practice=1, icc=0.0, sd=1.0, distribution="t")
    d = TTestIndPower().solve_power(effect_size=None, nobs1=k1, ratio=k0 / k1, alpha=0.05,
                                    power=0.8)
    assert res.tables["mde"]["mde"].iloc[0] == pytest.approx(d * np.sqrt(2), rel=T_REL_TOL)
    assert res.power_at(d * np.sqrt(2)) == pytest.approx(0.8, abs=1e-6)


def test_mde_table_by_number_of_practices_and_contract():
    res = mde_two_by_two(n_practices_treated=[5, 10, 20], n_practices_control=[5, 10, 20],
                         persons_per_practice=2000, icc=0.004, sd=4000)
    table = res.tables["mde"]
    assert table["n_practices"].tolist() == [10, 20, 40]
    assert np.all(np.diff(table["mde"]) < 0)  # more practices, smaller MDE
    # t with few practices is more demanding than normal
    normal = mde_two_by_two(n_practices_treated=5, n_practices_control=5,
                            persons_per_practice=2000, icc=0.004, sd=4000,
                            distribution="normal")
    assert table["mde"].iloc[0] > normal.tables["mde"]["mde"].iloc[0] * 1.05
    tidy = res.tidy()
    assert list(tidy.columns[: len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    assert tidy["term"].tolist() == ["mde_10_practices", "mde_20_practices",
                                     "mde_40_practices"]
    assert tidy["std_error"].isna().all()  # analytic: no Monte Carlo error
    assert "\n" not in repr(res) and "40 practices" in repr(res)
    assert "<table" in res._repr_html_()
    assert "1 + (m - 1) ICC" in res.method
    # a single control number broadcasts
    one = mde_two_by_two(n_practices_treated=[4, 8], n_practices_control=10,
                         persons_per_practice=100, icc=0.01, sd=1.0)
    assert one.tables["mde"]["n_control"].tolist() == [10, 10]


@pytest.mark.parametrize("kwargs, expected", [
    ({"icc": 1.2}, ["`icc`", "1.2"]),
    ({"icc": -0.1}, ["`icc`", "-0.1"]),
    ({"sd": 0}, ["`sd`", "0"]),
    ({"power": 1.5}, ["`power`", "1.5"]),
    ({"alpha": 0}, ["`alpha`", "0"]),
    ({"autocorrelation": 2}, ["`autocorrelation`", "2"]),
    ({"distribution": "z"}, ["`distribution`", "['normal', 't']", "'z'"]),
    ({"n_practices_treated": 0}, ["`n_practices_treated`", "at least 1", "0"]),
    ({"n_practices_treated": [3, 4], "n_practices_control": [3, 4, 5]},
     ["`n_practices_treated`", "same length"]),
    ({"persons_per_practice": 2.5}, ["`persons_per_practice`", "2.5"]),
    ({"years_pre": 0}, ["`years_pre`", "0"]),
    ({"n_practices_treated": 1, "n_practices_control": 1}, ["distribution='t'", "3"]),
])
def test_two_by_two_bad_options_name_parameter_and_value(kwargs, expected):
    base = {"n_practices_treated": 5, "n_practices_control": 5, "persons_per_practice": 100,
            "icc": 0.01, "sd": 1.0}
    with pytest.raises(SpecificationError) as info:
        mde_two_by_two(**{**base, **kwargs})
    for text in expected:
        assert text in str(info.value)


# --------------------------------------------------------------------------- simulation
def _power_at_analytic_mde(n_sims: int) -> tuple[float, float, PowerResult]:
    common = {"persons_per_practice": 500, "icc": 0.01, "sd": 1000.0}
    analytic = mde_two_by_two(n_practices_treated=50, n_practices_control=50,
                              distribution="normal", **common)
    mde = float(analytic.tables["mde"]["mde"].iloc[0])
    sim = mde_staggered(n_practices=100, n_periods=2, cohorts=(2,), treated_share=0.5,
                        n_sims=n_sims, seed=0, **common)
    return sim.power_at(mde), mde, sim


def test_simulated_power_at_analytic_mde_two_by_two_like():
    """100 practices (50 + 50), one period before and after, m = 500, ICC = 0.01:
    analytic MDE 86.73; power of staggered_did's test at it over 120 simulated data sets,
    seed 0: measured 0.825 (0.8 ± 0.11 allowed, 3 Monte Carlo SEs); simulated MDE 82.1
    (Monte Carlo SE 4.0)."""
    power, mde, sim = _power_at_analytic_mde(FAST_SIMS)
    assert mde == pytest.approx(86.73, abs=0.01)
    assert abs(power - 0.8) <= FAST_POWER_TOL
    # the simulated MDE agrees with the analytic one within 3 of its own Monte Carlo SEs
    row = sim.tables["mde"].iloc[0]
    assert abs(row["mde"] - mde) <= 3 * row["mc_se"]


@pytest.mark.slow
def test_simulated_power_at_analytic_mde_many_sims():
    """As above with 1,000 data sets (about 45 s): measured power 0.807 at the analytic
    MDE 86.73 (0.8 ± 0.04 allowed); simulated MDE 86.2 (Monte Carlo SE 1.4); size of the
    test without an effect 0.054 (0.05 ± 0.02 allowed)."""
    power, _, sim = _power_at_analytic_mde(SLOW_SIMS)
    assert abs(power - 0.8) <= SLOW_POWER_TOL
    assert abs(sim.tables["mde"]["size"].iloc[0] - 0.05) <= 0.02


def test_mde_staggered_table_reproducibility_and_plot():
    kwargs = {"n_practices": [40, 120], "persons_per_practice": 2000, "icc": 0.004,
              "sd": 4000.0, "n_periods": 5, "cohorts": (3, 4), "n_sims": 20, "seed": 7}
    res = mde_staggered(**kwargs)
    table = res.tables["mde"]
    assert table["n_practices"].tolist() == [40, 120]
    assert table["n_treated"].tolist() == [20, 60]
    assert (table["mc_se"] > 0).all()
    assert table["mde"].iloc[1] < table["mde"].iloc[0]  # sqrt(3) fewer: 3x the practices
    for n in (40, 120):
        mde = table.loc[table["n_practices"] == n, "mde"].iloc[0]
        assert res.power_at(mde, n_practices=n) >= 0.8
        assert res.power_at(0.98 * mde, n_practices=n) < 0.8
    draws = res.tables["draws"]
    assert len(draws) == 40 and set(draws.columns) == {"n_practices", "sim", "estimate",
                                                       "std_error"}
    # reproducible by seed; a row does not depend on the other numbers of practices
    again = mde_staggered(**{**kwargs, "n_practices": [40]})
    pd.testing.assert_frame_equal(res.tables["mde"].iloc[[0]], again.tables["mde"])
    other = mde_staggered(**{**kwargs, "n_practices": [40], "seed": 8})
    assert other.tables["mde"]["mde"].iloc[0] != table["mde"].iloc[0]
    # the plot draws the table
    ax = res.plot()
    assert len(ax.containers) == 1
    line = ax.containers[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), table["mde"])
    np.testing.assert_allclose(line.get_xdata(), table["n_practices"])
    import matplotlib.pyplot as plt
    plt.close("all")


def test_plot_power_both_designs_on_one_axes():
    import matplotlib.pyplot as plt

    from kbz_eval.plotting.power import plot_power

    _, ax = plt.subplots()
    a = mde_two_by_two(n_practices_treated=[10, 20], n_practices_control=[10, 20],
                       persons_per_practice=2000, icc=0.004, sd=4000)
    assert plot_power(a, ax=ax) is ax
    assert len(ax.containers) == 1
    assert ax.containers[0].has_yerr is False
    np.testing.assert_allclose(ax.containers[0].lines[0].get_ydata(),
                               a.plot_data()["mde"])
    plt.close("all")


def test_mde_staggered_few_practices_warns():
    with pytest.warns(StatisticalWarning, match="too small"):
        res = mde_staggered(n_practices=12, persons_per_practice=100, icc=0.02, sd=1.0,
                            n_periods=3, cohorts=(2, 3), n_sims=20, seed=1)
    assert res.warnings


@pytest.mark.parametrize("kwargs, expected", [
    ({"n_sims": 5}, ["`n_sims`", "at least 20", "5"]),
    ({"cohorts": (1, 3)}, ["`cohorts`", "between 2 and n_periods", "(1, 3)"]),
    ({"cohorts": (3, 3)}, ["`cohorts`", "distinct"]),
    ({"treated_share": 1.0}, ["`treated_share`", "1.0"]),
    ({"control": "all"}, ["`control`", "['never', 'notyet']", "'all'"]),
    ({"n_practices": 3}, ["`n_practices`", "at least 4", "3"]),
    ({"n_practices": [40, 40]}, ["`n_practices`", "distinct", "[40, 40]"]),
    ({"n_practices": 5, "cohorts": (2, 3, 4)}, ["n_practices = 5", "cohorts of"]),
    ({"seed": -1}, ["`seed`", "-1"]),
    ({"n_periods": 1}, ["`n_periods`", "at least 2", "1"]),
])
def test_staggered_bad_options_name_parameter_and_value(kwargs, expected):
    base = {"n_practices": 40, "persons_per_practice": 100, "icc": 0.01, "sd": 1.0,
            "n_periods": 4, "cohorts": (3,), "n_sims": 20}
    with pytest.raises(SpecificationError) as info:
        mde_staggered(**{**base, **kwargs})
    for text in expected:
        assert text in str(info.value)


# --------------------------------------------------------------------------- ICC
def test_icc_recovers_planted_value():
    """200 practices of 50 persons, planted ICC 0.05 (seed 11): measured 0.0436."""
    rng = np.random.default_rng(11)
    practice = np.repeat(np.arange(200), 50)
    rho = 0.05
    y = (np.sqrt(rho) * rng.standard_normal(200)[practice]
         + np.sqrt(1 - rho) * rng.standard_normal(practice.size))
    panel = pd.DataFrame({"cost": y * 1000 + 2000, "practice": practice})
    before = panel.copy()
    est = icc_from_panel(panel, outcome="cost", unit="practice")
    assert abs(est - rho) <= ICC_TOL
    pd.testing.assert_frame_equal(panel, before)  # not modified


def test_icc_by_period_ignores_persistent_person_effects_across_years():
    """Persons seen in 3 years share a person effect (variance 0.5): pooled over years the
    rows of one practice look more alike; within a year they do not. Planted within-year
    ICC 0.05."""
    rng = np.random.default_rng(5)
    n_prac, m, years = 150, 40, 3
    person = np.arange(n_prac * m)
    practice = person // m
    rho = 0.05
    rows = []
    person_effect = np.sqrt(0.5 * (1 - rho)) * rng.standard_normal(person.size)
    for t in range(years):
        prac_t = np.sqrt(rho) * rng.standard_normal(n_prac)
        y = prac_t[practice] + person_effect + np.sqrt(0.5 * (1 - rho)) * \
            rng.standard_normal(person.size)
        rows.append(pd.DataFrame({"y": y, "practice": practice, "year": t}))
    panel = pd.concat(rows, ignore_index=True)
    by_year = icc_from_panel(panel, outcome="y", unit="practice", time="year")
    assert abs(by_year - rho) <= ICC_TOL
    pooled = icc_from_panel(panel, outcome="y", unit="practice")
    assert pooled < by_year  # practice-year shocks average out over years when pooled


def test_autocorrelation_recovers_planted_value():
    """Planted r = 0.6, ICC 0.05, year trend 0.3 per year, different persons each year
    (seed 11): measured 0.571; the ICC by year of the same data is near 0.05."""
    rng = np.random.default_rng(11)
    n_prac, years, m, rho, r = 200, 4, 50, 0.05, 0.6
    c = np.sqrt(r * rho) * rng.standard_normal(n_prac)
    u = np.sqrt((1 - r) * rho) * rng.standard_normal((n_prac, years))
    p = np.repeat(np.arange(n_prac), years * m)
    t = np.tile(np.repeat(np.arange(years), m), n_prac)
    y = c[p] + u[p, t] + np.sqrt(1 - rho) * rng.standard_normal(p.size) + 0.3 * t
    panel = pd.DataFrame({"y": y, "practice": p, "year": 2019 + t})
    est = autocorrelation_from_panel(panel, outcome="y", unit="practice", time="year")
    assert abs(est - r) <= AUTOCORRELATION_TOL
    assert abs(icc_from_panel(panel, outcome="y", unit="practice", time="year") - rho) \
        <= ICC_TOL
    with pytest.raises(SpecificationError, match="`time`.*'jaar'"):
        autocorrelation_from_panel(panel, outcome="y", unit="practice", time="jaar")


def test_power_inputs_from_the_rollout_sample(sample):
    """The funder's path: ICC and SD from the person-years, then the analytic MDE."""
    pe = sample["person_years"]
    pe = pe.assign(cost=pe["total_cost"] / (pe["insured_days"] / 365))
    icc = icc_from_panel(pe, outcome="cost", unit="practice_id", time="year")
    sd = float(pe["cost"].std())
    res = mde_two_by_two(n_practices_treated=[10, 20, 40], n_practices_control=[10, 20, 40],
                         persons_per_practice=2500, icc=icc, sd=sd)
    mde = res.tables["mde"]["mde"]
    assert np.all(np.isfinite(mde)) and np.all(np.diff(mde) < 0)


def test_icc_hand_computation_and_truncation():
    """Unbalanced tiny example computed by hand: groups [1, 2, 3], [4, 6], [5, 5, 5, 9]."""
    y = np.array([1, 2, 3, 4, 6, 5, 5, 5, 9], float)
    g = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    means, n_j = np.array([2.0, 5.0, 6.0]), np.array([3, 2, 4])
    grand = y.mean()
    msb = np.sum(n_j * (means - grand) ** 2) / 2
    msw = (2 + 2 + 12) / 6
    n0 = (9 - (9 + 4 + 16) / 9) / 2
    expected = (msb - msw) / (msb + (n0 - 1) * msw)
    est = icc_from_panel(pd.DataFrame({"y": y, "g": g}), outcome="y", unit="g")
    assert est == pytest.approx(expected, rel=HAND_REL_TOL)
    # no between-practice variation: the negative ANOVA estimate is truncated at 0
    flat = pd.DataFrame({"y": [1.0, 2, 3, 1, 2, 3], "g": [0, 0, 0, 1, 1, 1]})
    assert icc_from_panel(flat, outcome="y", unit="g") == 0.0


def test_icc_bad_input():
    df = pd.DataFrame({"y": [1.0, np.nan, 4.0], "g": ["a", "a", "b"], "s": ["x"] * 3})
    with pytest.raises(SpecificationError, match="`outcome`.*'cost'"):
        icc_from_panel(df, outcome="cost", unit="g")
    with pytest.raises(SpecificationError, match="numeric"):
        icc_from_panel(df, outcome="s", unit="g")
    with pytest.warns(StatisticalWarning, match="1 rows"):
        with pytest.raises(SpecificationError, match="more rows than clusters"):
            icc_from_panel(df, outcome="y", unit="g")


# --------------------------------------------------------------------------- roll-out
@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return rollout_sample()


def test_rollout_is_reproducible_by_seed():
    a = rollout_sample(seed=4, n_practices=30, persons_per_practice=3)
    b = rollout_sample(seed=4, n_practices=30, persons_per_practice=3)
    c = rollout_sample(seed=5, n_practices=30, persons_per_practice=3)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["practice_years"]["total_cost_per_insured_year"].equals(
        c["practice_years"]["total_cost_per_insured_year"])
    # the person panel has its own stream: its size leaves the practices unchanged
    d = rollout_sample(seed=4, n_practices=30, persons_per_practice=0)
    pd.testing.assert_frame_equal(a["practice_years"], d["practice_years"])
    assert d["person_years"].empty and d["person_years"].attrs["synthetic"] is True


def test_rollout_is_labelled_synthetic(sample):
    assert sorted(sample) == ["person_years", "practice_years", "practices", "truth"]
    for name, frame in sample.items():
        assert frame.attrs["synthetic"] is True, name
        assert frame.attrs["note"].startswith("SYNTHETIC DATA"), name
        assert "not real" in frame.attrs["note"]


def test_rollout_has_cohorts_never_treated_and_applicants(sample):
    p = sample["practices"]
    assert len(p) == rollout.DEFAULT_N_PRACTICES and p["practice_id"].is_unique
    assert set(p["group"]) == {"kbz", "control", "applicant"}
    kbz = p[p["group"] == "kbz"]
    assert sorted(kbz["kbz_start_year"].unique()) == [2014, 2019, 2020, 2022]
    assert kbz.groupby("kbz_start_year").size().min() >= 2
    assert set(kbz.loc[kbz["kbz_start_year"] == 2014, "city"]) == {"Utrecht"}
    assert set(p["city"]) == set(rollout.CITIES)
    never = p[p["group"] != "kbz"]
    assert never["kbz_start_year"].isna().all() and len(never) >= 40
    applicants = p[p["group"] == "applicant"]
    assert len(applicants) >= 2
    assert applicants["applied_year"].isin(rollout.APPLICANT_YEARS).all()
    assert p.loc[p["group"] == "control", "applied_year"].isna().all()
    # the panel is balanced, 2012–2023, and carries the practice columns
    panel = sample["practice_years"]
    assert len(panel) == len(p) * len(rollout.YEARS)
    assert panel.groupby("practice_id")["year"].nunique().eq(len(rollout.YEARS)).all()
    assert (panel["kbz_active"] == (panel["year"] >= panel["kbz_start_year"])).all()


def test_rollout_has_the_2022_ggz_break(sample):
    panel = sample["practice_years"]
    assert (panel["ggz_regime"].eq("consult") == (panel["year"] >= 2022)).all()
    assert (sample["person_years"]["ggz_regime"].eq("consult")
            == (sample["person_years"]["year"] >= 2022)).all()
    # among never-treated practices (no KBZ effect) the 2021 -> 2022 change of GGZ cost
    # per insured year stands out: measured 42.9 EUR (planted 45 + trend 4) against
    # -9.9 to 18.5 EUR in other years; allowed: planted break +- 25 EUR (about 2 SDs).
    never = panel[panel["kbz_start_year"].isna()]
    change = never.groupby("year")["ggz_cost_per_insured_year"].mean().diff().dropna()
    jump = change.loc[2022] - rollout.TREND_PER_YEAR["ggz"]
    assert abs(jump - rollout.GGZ_BREAK_EUR) <= 25
    assert change.loc[2022] == change.max()


def test_rollout_person_years_are_skewed_with_zeros_and_dropout(sample):
    pe = sample["person_years"]
    assert len(pe) <= 30_000  # small by default
    assert pe[["person_id", "year"]].duplicated().sum() == 0
    assert 0.1 < (pe["total_cost"] == 0).mean() < 0.4
    assert (pe["ggz_cost"] == 0).mean() > 0.9
    assert pe["total_cost"].skew() > 3
    years_per_person = pe.groupby("person_id").size()
    assert years_per_person.min() < len(rollout.YEARS) and years_per_person.max() == 12
    assert (pe["insured_days"] < 365).mean() > 0.03
    assert pe["insured_days"].between(1, 366).all()
    # person-level ICC of the cost per insured year is small, as in real claims
    per_year = pe.assign(c=pe["total_cost"] / (pe["insured_days"] / 365))
    icc = icc_from_panel(per_year, outcome="c", unit="practice_id", time="year")
    assert 0 < icc < 0.05


def test_rollout_truth_table(sample):
    truth = sample["truth"]
    assert set(truth["group"]) == {2014, 2019, 2020, 2022}
    assert (truth.loc[~truth["post"], "att"] == 0).all()
    t14 = truth[truth["group"] == 2014].set_index("event_time")["att"]
    assert t14.loc[0] == pytest.approx(-140 * 0.5) and t14.loc[5] == pytest.approx(-140)
    assert planted_simple_att(truth, column="att") < 0


def test_staggered_did_recovers_planted_simple_att(sample):
    """Default seed: planted simple ATT (sample) -83.0 EUR per insured year; estimate
    -67.1 (95% CI -115.8 to -18.4) with never-treated (control and applicant)
    practices as comparison."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        res = staggered_did(sample["practice_years"], outcome="total_cost_per_insured_year",
                            unit="practice_id", time="year", group="kbz_start_year",
                            n_boot=199, seed=0)
    row = res.tidy().set_index("term").loc["att_simple"]
    truth = planted_simple_att(sample["truth"])
    assert row["ci_lower"] <= truth <= row["ci_upper"]
    assert row["ci_upper"] < 0  # the saving is detected
    assert res.tables["att_gt"]["n_treated"].groupby(res.tables["att_gt"]["group"]).first(
    ).to_dict() == sample["practices"].groupby("kbz_start_year").size().to_dict()


@pytest.mark.parametrize("kwargs, expected", [
    ({"n_practices": 5}, ["`n_practices`", "at least 20", "5"]),
    ({"persons_per_practice": -1}, ["`persons_per_practice`", "-1"]),
    ({"seed": "a"}, ["`seed`", "'a'"]),
])
def test_rollout_bad_options(kwargs, expected):
    with pytest.raises(SpecificationError) as info:
        rollout_sample(**kwargs)
    for text in expected:
        assert text in str(info.value)


@pytest.mark.slow
def test_staggered_did_covers_planted_simple_att_over_seeds():
    """200 seeds of the roll-out sample (80 practices, practice x year shocks, cohorts of
    6-12 practices; about 60 s of CPU).

    - Coverage: the 95% interval of staggered_did's simple ATT covers the planted
      (sample) simple ATT in 0.955 of the seeds (allowed 0.92-0.98); mean error 0.74 EUR
      against an SD of 23.9 (allowed: within 3 Monte Carlo SEs of 0).
    - Naive TWFE on the same seeds is biased towards zero (forbidden comparisons of late
      with early starters whose effect grows): mean estimate -47 EUR against a planted
      -83 (allowed: the mean error beyond 10 Monte Carlo SEs and TWFE below 80% of the
      planted size).
    - Size of the pre-trend test (no pre-trend is planted): the default sup-t test
      rejects at 5% in 0.035 of the seeds (allowed at most 0.08, nominal + 2 Monte Carlo
      SEs); the uncorrected Wald test rejects in about 0.20 (asserted above 0.10, the
      reason the sup-t test is the default).
    """
    from kbz_eval.estimators.bacon import bacon_decomposition
    from kbz_eval.estimators.pretrends import event_study, pretrend_test

    hits, errors, twfe_errors, truths = [], [], [], []
    sup_reject, wald_reject = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        for seed in range(200):
            s = rollout_sample(seed=seed, persons_per_practice=0)
            panel = s["practice_years"]
            spec = dict(outcome="total_cost_per_insured_year", unit="practice_id",
                        time="year", group="kbz_start_year")
            res = staggered_did(panel, bootstrap=False, **spec)
            row = res.tidy().iloc[0]
            truth = planted_simple_att(s["truth"])
            hits.append(row["ci_lower"] <= truth <= row["ci_upper"])
            errors.append(row["estimate"] - truth)
            truths.append(truth)
            twfe_errors.append(bacon_decomposition(panel, **spec).settings["twfe"] - truth)
            es = event_study(res, panel)
            sup_reject.append(pretrend_test(es).tidy().loc[0, "p_value"] < 0.05)
            wald_reject.append(pretrend_test(es, test="wald").tidy().loc[0, "p_value"]
                               < 0.05)
    assert 0.92 <= np.mean(hits) <= 0.98
    assert abs(np.mean(errors)) < 3 * np.std(errors) / np.sqrt(len(errors))
    twfe_se = np.std(twfe_errors) / np.sqrt(len(twfe_errors))
    assert np.mean(twfe_errors) > 10 * twfe_se  # biased towards zero (effects < 0)
    assert abs(np.mean(truths) + np.mean(twfe_errors)) < 0.8 * abs(np.mean(truths))
    assert np.mean(sup_reject) <= 0.08
    assert np.mean(wald_reject) > 0.10
