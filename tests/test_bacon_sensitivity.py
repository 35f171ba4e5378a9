"""Goodman-Bacon decomposition, pre-trend test and HonestDiD-style sensitivity.

References used:

- Goodman-Bacon (2021), eqs. 10a–10g: a hand-built 3-unit, 4-period panel whose 2 × 2
  estimates and weights are worked out by hand below (the castle-doctrine data of R
  ``bacondecomp``'s example is not available here), plus the identity against the TWFE
  coefficient by least squares with unit and period dummies on random balanced panels.
- Rambachan & Roth (2023) / the R ``HonestDiD`` README (Medicaid example, commit
  02b541bb): ``createSensitivityResults(betahat, sigma, numPrePeriods = 5,
  numPostPeriods = 2, Mvec = seq(0, 0.05, by = 0.01))`` printed FLCIs, with ``betahat``,
  ``sigma`` from ``fixest::feols(dins ~ i(year, D, ref = 2013) | stfips + year, cluster =
  "stfips")`` on ``ehec_data`` (years < 2016, the 2015 cohort dropped); the data are in
  ``tests/data/ehec_dins_2008_2015.csv``.
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.estimators.bacon import BaconResult, bacon_decomposition
from kbz_eval.estimators.pretrends import (
    EventStudy,
    SensitivityResult,
    _rm_interval,
    event_study,
    honest_sensitivity,
    pretrend_test,
)
from kbz_eval.estimators.staggered import staggered_did

matplotlib.use("Agg")

#: The decomposition identity (weights sum to 1, weighted sum = TWFE), balanced panels.
IDENTITY_TOL = 1e-10
#: The HonestDiD README prints 3 significant digits: a bound must round to the printed
#: value, give or take README_SSC_TOL for fixest's small-sample factor, which we rebuild
#: (see medicaid_event_study).
README_SSC_TOL = 5e-5
#: Slack when comparing our relative-magnitude sets with the printed C-LF sets.
README_TOL = 1e-4


def _printed_tol(printed: np.ndarray) -> np.ndarray:
    """Half a unit in the third significant digit of each printed value, plus
    README_SSC_TOL."""
    printed = np.abs(np.asarray(printed, dtype=float))
    return 0.5 * 10.0 ** (np.floor(np.log10(printed)) - 2) + README_SSC_TOL
#: Closed-form comparisons (GLS extrapolation, conventional interval).
CLOSED_FORM_TOL = 1e-8

DATA = __import__("pathlib").Path(__file__).parent / "data"


# --------------------------------------------------------------------------- helpers
def _twfe_lstsq(df: pd.DataFrame, y: str = "y") -> float:
    """TWFE coefficient by least squares with unit and period dummies."""
    d = ((df["start"] > 0) & (df["year"] >= df["start"])).astype(float)
    units = pd.get_dummies(df["unit"], drop_first=False, dtype=float)
    years = pd.get_dummies(df["year"], drop_first=True, dtype=float)
    x = np.column_stack([d.to_numpy(), units.to_numpy(), years.to_numpy()])
    return float(np.linalg.lstsq(x, df[y].to_numpy(float), rcond=None)[0][0])


def _twfe_2x2(df: pd.DataFrame, treated: int, control: int, lo: int, hi: int) -> float:
    """TWFE coefficient on the 2 × 2 subsample (groups ``treated``/``control``, years
    ``lo..hi``), treatment dummy of the treated group only."""
    sub = df[df["start"].isin([treated, control]) & df["year"].between(lo, hi)].copy()
    sub["start"] = np.where(sub["start"] == treated, treated, 0)
    return _twfe_lstsq(sub)


def _random_panel(seed: int, *, always: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    starts = [0] * 7 + [2013] * 5 + [2015] * 9 + [2018] * 4 + ([2010] * 3 if always else [])
    rows = []
    for u, g in enumerate(starts):
        a = rng.normal()
        for t in range(2010, 2020):
            effect = (1 + 0.5 * (t - g)) if g and t >= g else 0.0
            rows.append((u, t, g, a + 0.1 * (t - 2010) + effect + rng.normal()))
    return pd.DataFrame(rows, columns=["unit", "year", "start", "y"])


def _staggered_panel(seed: int, *, pretrend: float = 0.0, n: int = 240) -> pd.DataFrame:
    """Cohorts 2015 and 2017 and never treated, 2011–2019; effect 1 + 0.5 e; cohort 2015
    drifts by ``pretrend`` a year relative to the others (a violation of parallel
    trends)."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n):
        g = [0, 2015, 2017][u % 3]
        a = rng.normal()
        for t in range(2011, 2020):
            effect = (1 + 0.5 * (t - g)) if g and t >= g else 0.0
            drift = pretrend * (t - 2011) if g == 2015 else 0.0
            rows.append((u, t, g, a + 0.2 * (t - 2011) + drift + effect
                         + rng.normal(scale=0.5)))
    return pd.DataFrame(rows, columns=["unit", "year", "start", "y"])


# --------------------------------------------------------------------------- Bacon
def test_bacon_hand_example_matches_goodman_bacon_formulas():
    """Units: never treated (y 0,0,0,0), treated from period 2 (0,2,3,4), from 4
    (0,0,0,1). By hand: n_k = 1/3 each, D̄ = 3/4 and 1/4, V(D~) = 5/72; eq. 10e gives
    s_kU = (2/3)² · 1/4 · 3/16 / (5/72) = 3/10 for both timing groups, eqs. 10f/10g give
    1/5 and 1/5. 2 × 2s: 3 − 0 = 3; 1 − 0 = 1; (2.5 − 0) − (0 − 0) = 2.5;
    (1 − 0) − (4 − 2.5) = −0.5. TWFE = 0.9 + 0.3 + 0.5 − 0.1 = 1.6."""
    y = {0: [0, 0, 0, 0], 2: [0, 2, 3, 4], 4: [0, 0, 0, 1]}
    panel = pd.DataFrame([(g, t + 1, g, v) for g, ys in y.items() for t, v in enumerate(ys)],
                         columns=["unit", "year", "start", "y"])
    before = panel.copy()
    res = bacon_decomposition(panel, outcome="y", unit="unit", time="year", group="start")
    pd.testing.assert_frame_equal(panel, before)
    assert isinstance(res, BaconResult)
    comp = res.tables["comparisons"].set_index(["type", "treated", "control"])
    expected = {("treated_vs_never", 2, 0): (3.0, 0.3), ("treated_vs_never", 4, 0): (1.0, 0.3),
                ("earlier_vs_later", 2, 4): (2.5, 0.2),
                ("later_vs_earlier", 4, 2): (-0.5, 0.2)}
    assert len(comp) == 4
    for key, (est, w) in expected.items():
        assert comp.loc[key, "estimate"] == pytest.approx(est, abs=IDENTITY_TOL)
        assert comp.loc[key, "weight"] == pytest.approx(w, abs=IDENTITY_TOL)
    assert res.settings["twfe"] == pytest.approx(1.6, abs=IDENTITY_TOL)
    assert _twfe_lstsq(panel) == pytest.approx(1.6, abs=IDENTITY_TOL)
    tidy = res.tidy().set_index("term")
    assert tidy.loc["decomposition", "estimate"] == pytest.approx(1.6, abs=IDENTITY_TOL)
    assert tidy.loc["later_vs_earlier", "weight"] == pytest.approx(0.2)
    assert "20.0% of the weight" in repr(res)


@pytest.mark.parametrize("seed,always", [(1, False), (2, True)])
def test_bacon_identity_and_each_2x2_equal_subsample_twfe(seed, always):
    panel = _random_panel(seed, always=always)
    res = bacon_decomposition(panel, outcome="y", unit="unit", time="year", group="start")
    comp = res.tables["comparisons"]
    twfe = _twfe_lstsq(panel)
    assert res.settings["twfe"] == pytest.approx(twfe, abs=IDENTITY_TOL)
    assert comp["weight"].sum() == pytest.approx(1.0, abs=IDENTITY_TOL)
    assert (comp["weight"] * comp["estimate"]).sum() == pytest.approx(twfe, abs=IDENTITY_TOL)
    assert (comp["weight"] > 0).all()
    # 3 treated-vs-never + 3 pairs × 2 directions (+ 3 later-vs-always with always-treated)
    assert len(comp) == 9 + 3 * always
    assert set(comp["type"]) == ({"treated_vs_never", "earlier_vs_later", "later_vs_earlier"}
                                 | ({"later_vs_always"} if always else set()))
    for row in comp.itertuples():  # each 2 × 2 is the TWFE of its own subsample
        control = 0 if row.type == "treated_vs_never" else row.control
        assert row.estimate == pytest.approx(
            _twfe_2x2(panel, row.treated, control, row.first_period, row.last_period),
            abs=1e-9)


def test_bacon_shows_forbidden_comparison_bias():
    """Effects growing by 0.5 a year: the later-vs-earlier 2 × 2s subtract the earlier
    group's growth, so they fall below every true effect (all ≥ 1) and pull the TWFE
    estimate below the Callaway–Sant'Anna ATT."""
    panel = _random_panel(3)
    rng = np.random.default_rng(3)
    effect = np.where((panel.start > 0) & (panel.year >= panel.start),
                      1 + 0.5 * (panel.year - panel.start), 0.0)
    panel["y"] = rng.normal(size=panel.unit.nunique())[panel.unit] + effect
    res = bacon_decomposition(panel, outcome="y", unit="unit", time="year", group="start")
    bt = res.tables["by_type"].set_index("type")
    assert bt.loc["later_vs_earlier", "estimate"] < 0.5
    assert bt.loc["treated_vs_never", "estimate"] > 1.0
    with pytest.warns(StatisticalWarning, match="Only 25 clusters"):
        cs = staggered_did(panel, outcome="y", unit="unit", time="year", group="start",
                           bootstrap=False)
    simple = cs.tidy().set_index("term").loc["att_simple", "estimate"]
    assert res.settings["twfe"] < simple - 0.3


def test_bacon_validation_and_warnings():
    panel = _random_panel(4)
    with pytest.raises(SpecificationError, match=r"`outcome` \('yy'\).*Did you mean 'y'"):
        bacon_decomposition(panel, outcome="yy", unit="unit", time="year", group="start")
    with pytest.raises(SpecificationError, match="variation in treatment timing"):
        bacon_decomposition(panel.assign(start=0), outcome="y", unit="unit", time="year",
                            group="start")
    with pytest.warns(StatisticalWarning, match="not observed in all 10 periods"):
        res = bacon_decomposition(panel.iloc[1:], outcome="y", unit="unit", time="year",
                                  group="start")
    assert res.tables["comparisons"]["weight"].sum() == pytest.approx(1, abs=IDENTITY_TOL)


def test_bacon_plot_draws_estimate_against_weight():
    res = bacon_decomposition(_random_panel(5), outcome="y", unit="unit", time="year",
                              group="start")
    ax = res.plot()
    data = res.plot_data()
    assert len(ax.collections) == data["type"].nunique() == 3
    drawn = np.vstack([c.get_offsets() for c in ax.collections])
    want = np.vstack([data.loc[data.type == k, ["weight", "estimate"]].to_numpy()
                      for k in ("treated_vs_never", "earlier_vs_later", "later_vs_earlier")])
    np.testing.assert_allclose(drawn, want)
    assert ax.lines[0].get_ydata()[0] == pytest.approx(res.settings["twfe"])


# --------------------------------------------------------------------------- event study
@pytest.fixture(scope="module")
def universal():
    panel = _staggered_panel(11)
    res = staggered_did(panel, outcome="y", unit="unit", time="year", group="start",
                        base_period="universal", n_boot=199)
    return panel, res


def test_event_study_covariance_reproduces_standard_errors(universal):
    panel, res = universal
    before = panel.copy()
    es = event_study(res, panel)
    pd.testing.assert_frame_equal(panel, before)
    dyn = res.tables["dynamic"].set_index("event_time")
    assert -1 not in es.event_time
    np.testing.assert_allclose(es.estimate, dyn.loc[es.event_time, "att"], atol=1e-12)
    np.testing.assert_allclose(np.sqrt(np.diag(es.vcov)), dyn.loc[es.event_time, "se"],
                               rtol=1e-10)
    assert np.all(np.linalg.eigvalsh(es.vcov) > 0)
    with pytest.raises(SpecificationError, match="does not reproduce"):
        event_study(res, panel.assign(y=panel.y * 2))


def test_pretrend_test_hand_example_and_planted_violation(universal):
    es = EventStudy.from_arrays([0.1, -0.1, 1.0], np.diag([0.01, 0.01, 0.04]), n_pre=2)
    res = pretrend_test(es, test="wald")
    row = res.tidy().iloc[0]
    assert row["estimate"] == pytest.approx(2.0)  # 0.1²/0.01 + 0.1²/0.01
    assert row["p_value"] == pytest.approx(np.exp(-1.0))  # chi2(2) survival at 2
    assert row["df"] == 2
    panel, fitted = universal
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        clean = pretrend_test(fitted, data=panel, test="wald")
    es_u = event_study(fitted, panel)
    pre = es_u.event_time < 0
    b = es_u.estimate[pre]
    manual = b @ np.linalg.solve(es_u.vcov[np.ix_(pre, pre)], b)
    assert clean.tidy().loc[0, "estimate"] == pytest.approx(manual, rel=1e-12)
    assert clean.tidy().loc[0, "df"] == 4 + 2 - 1  # e = -6..-2 of the 2017 cohort
    assert clean.tidy().loc[0, "p_value"] > 0.05
    bad = _staggered_panel(11, pretrend=0.3)
    res_bad = staggered_did(bad, outcome="y", unit="unit", time="year", group="start",
                            base_period="universal", bootstrap=False)
    with pytest.warns(StatisticalWarning, match="jointly different from zero"):
        rejected = pretrend_test(res_bad, data=bad, test="wald")
    assert rejected.tidy().loc[0, "p_value"] < 1e-6
    with pytest.warns(StatisticalWarning, match="jointly different from zero"):
        sup = pretrend_test(res_bad, data=bad)
    assert 0 < sup.tidy().loc[0, "p_value"] < 1e-3
    varying = staggered_did(bad, outcome="y", unit="unit", time="year", group="start",
                            bootstrap=False)
    with pytest.warns(StatisticalWarning):
        assert pretrend_test(varying, data=bad, test="wald").tidy().loc[0, "p_value"] < 1e-3
    with pytest.warns(StatisticalWarning):  # a steady drift: the Wald test pools it better
        assert pretrend_test(varying, data=bad).tidy().loc[0, "p_value"] < 0.05
    ax = rejected.plot()
    assert len(ax.containers) == 1
    np.testing.assert_allclose(ax.containers[0].lines[0].get_ydata(),
                               rejected.plot_data()["att"])


def test_sup_t_pretrend_test_hand_computation():
    """Independent coefficients: the sup-t p-value is 1 - prod(1 - p_k) (Sidak), with
    each p_k from t(G_k - 1) after the CR1 scaling; one coefficient is exact."""
    from scipy import stats

    b, se, g = np.array([0.25, -0.1, 0.4]), np.array([0.1, 0.1, 0.2]), np.array([5, 9, 30])
    es = EventStudy.from_arrays(np.append(b, 1.0), np.diag(np.append(se**2, 0.04)),
                                n_pre=3, treated_clusters=np.append(g, 40))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        res = pretrend_test(es)
    t = b / se * np.sqrt((g - 1) / g)
    p_k = 2 * stats.t.sf(np.abs(t), g - 1)
    sidak = 1 - (1 - p_k.min()) ** 3  # the largest adjusted |t| has the smallest p_k
    assert res.tidy().loc[0, "p_value"] == pytest.approx(sidak, abs=0.003)  # MC 200k
    assert res.tidy().loc[0, "estimate"] == pytest.approx(np.abs(t).max())
    table = res.tables["pre_periods"]
    np.testing.assert_allclose(table["p_value"], p_k, rtol=1e-12)
    half = stats.t.ppf(0.975, g - 1) / np.sqrt((g - 1) / g) * se
    np.testing.assert_allclose(table["ci_upper"] - table["att"], half, rtol=1e-12)
    one = EventStudy.from_arrays([0.25, 1.0], np.diag([0.01, 0.04]), n_pre=1,
                                 treated_clusters=[5, 5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        exact = pretrend_test(one).tidy().loc[0, "p_value"]
    assert exact == pytest.approx(p_k[0], rel=1e-10)
    with pytest.raises(SpecificationError, match="treated_clusters"):
        EventStudy.from_arrays([0.1, 1.0], np.eye(2), n_pre=1, treated_clusters=[1, 5])
    with pytest.raises(SpecificationError, match="test"):
        pretrend_test(es, test="bonferroni")


def test_event_study_counts_the_treated_clusters_behind_each_coefficient(universal):
    panel, fitted = universal
    es = event_study(fitted, panel)
    starts = panel.drop_duplicates("unit").set_index("unit")["start"]
    sizes = starts[starts > 0].value_counts()
    first, last = panel["year"].min(), panel["year"].max()
    for e, count in zip(es.event_time, es.treated_clusters, strict=True):
        # universal base: cohort g enters event time e when g + e is in the data
        expected = sum(n for g, n in sizes.items()
                       if first <= g + e <= last and g - 1 >= first)
        assert count == expected, e


# --------------------------------------------------------------------------- HonestDiD
def _es_example() -> EventStudy:
    rng = np.random.default_rng(7)
    a = rng.normal(size=(6, 6)) * 0.05
    vcov = a @ a.T + np.eye(6) * 0.002
    return EventStudy.from_arrays([0.03, -0.02, 0.01, 0.0, 0.25, 0.3], vcov, n_pre=4)


def test_smoothness_m0_is_gls_linear_trend_extrapolation():
    """Delta^SD(0): beta = (0, tau) + gamma t; the FLCI is the GLS estimate of tau_e ±
    z · its GLS standard error (Gauss–Markov: the shortest unbiased linear estimator)."""
    es = _es_example()
    t = es.event_time + 1  # -3, -2, -1, -0(ref)…: pre t = -4..-1, post 1, 2
    for e, col in ((0, 0), (1, 1)):
        x = np.zeros((len(t), 3))
        x[t == 1, 0] = 1
        x[t == 2, 1] = 1
        x[:, 2] = t
        w = np.linalg.inv(es.vcov)
        cov = np.linalg.inv(x.T @ w @ x)
        coef = cov @ x.T @ w @ es.estimate
        z = stats.norm.ppf(0.975)
        res = honest_sensitivity(es, method="smoothness", m=[0.0], e=e)
        row = res.tables["sensitivity"].iloc[0]
        assert row["centre"] == pytest.approx(coef[col], abs=CLOSED_FORM_TOL)
        assert row["half_length"] == pytest.approx(z * np.sqrt(cov[col, col]),
                                                   abs=CLOSED_FORM_TOL)


def test_relative_magnitude_mbar0_is_conventional_interval():
    es = _es_example()
    res = honest_sensitivity(es, mbar=[0.0], e=1, alpha=0.1)
    tidy = res.tidy().set_index("term")
    se = np.sqrt(es.vcov[5, 5])
    z = stats.norm.ppf(0.95)
    for term in ("original", "Mbar=0"):
        assert tidy.loc[term, "ci_lower"] == pytest.approx(0.3 - z * se, abs=CLOSED_FORM_TOL)
        assert tidy.loc[term, "ci_upper"] == pytest.approx(0.3 + z * se, abs=CLOSED_FORM_TOL)


def test_sets_widen_monotonically():
    es = _es_example()
    rm = honest_sensitivity(es, mbar=np.linspace(0, 3, 31)).tables["sensitivity"]
    assert np.all(np.diff(rm["half_length"]) > 0)
    assert np.all(np.diff(rm["ci_lower"]) < 0) and np.all(np.diff(rm["ci_upper"]) > 0)
    sd = honest_sensitivity(es, method="smoothness", m=np.linspace(0, 0.2, 11),
                            e=1).tables["sensitivity"]
    assert np.all(np.diff(sd["half_length"]) > 0)
    assert np.all(np.diff(sd["worst_case_bias"]) > 0)


def test_flci_worked_example_one_pre_one_post():
    """One pre (e = -2, t = -1) and one post (e = 0, t = 1) coefficient: the only
    estimator unbiased for linear trends is beta_1 + beta_-1, whose worst-case bias
    over Delta^SD(M) is M (the one second difference), so the FLCI is (b1 + b-1) ±
    sd · cv(M / sd), cv(b) the 95% quantile of |N(b, 1)|. With var 0.5 each, cov 0,
    sd = 1, M = 1: cv(1) solves Phi(c-1) - Phi(-c-1) = 0.95."""
    es = EventStudy.from_arrays([0.2, 3.0], np.diag([0.5, 0.5]), n_pre=1)
    res = honest_sensitivity(es, method="smoothness", m=[0, 1.0])
    c1 = optimize.brentq(lambda c: stats.norm.cdf(c - 1) - stats.norm.cdf(-c - 1) - 0.95,
                         0, 10)
    assert 1 + stats.norm.ppf(0.95) < c1 < 1 + stats.norm.ppf(0.975)
    tab = res.tables["sensitivity"].set_index("parameter")
    assert tab.loc[1.0, "ci_lower"] == pytest.approx(3.2 - c1, abs=1e-10)
    assert tab.loc[1.0, "ci_upper"] == pytest.approx(3.2 + c1, abs=1e-10)
    assert tab.loc[0.0, "half_length"] == pytest.approx(stats.norm.ppf(0.975), abs=1e-10)
    # breakdown: 3.2 - cv(M) = 0  ->  cv(M) = 3.2
    m_star = optimize.brentq(lambda m: optimize.brentq(
        lambda c: stats.norm.cdf(c - m) - stats.norm.cdf(-c - m) - 0.95, 0, 20) - 3.2,
        0, 3.2)
    assert res.settings["breakdown"] == pytest.approx(m_star, abs=1e-8)


def test_relative_magnitude_worked_example_against_brute_force():
    """Pre coefficients e = -3, -2: 0.05, -0.1 (first differences -0.15, 0.1: D_hat =
    0.15); post e = 0, 1: 0.5, 0.6; diagonal variance 0.01. For e = 1 (t = 2) the set is
    0.6 ± [z(a1/2) 0.1 + 2 Mbar (0.15 + z(a2/4) s_max)], s_max = sd of beta_-2 - beta_-3
    = sqrt(0.02), a1 chosen on a fine grid to minimise the data-free part."""
    es = EventStudy.from_arrays([0.05, -0.1, 0.5, 0.6], np.eye(4) * 0.01, n_pre=2)
    res = honest_sensitivity(es, mbar=[0.5, 1.0], e=1).tables["sensitivity"]
    for mbar, half in zip(res["parameter"], res["half_length"], strict=True):
        a1 = np.linspace(1e-6, 0.05 - 1e-6, 200001)
        cost = (stats.norm.ppf(1 - a1 / 2) * 0.1
                + 2 * mbar * np.sqrt(0.02) * stats.norm.ppf(1 - (0.05 - a1) / 4))
        assert half == pytest.approx(cost.min() + 2 * mbar * 0.15, abs=1e-7)


@pytest.fixture(scope="module")
def medicaid_event_study():
    """The README's event study (see :func:`_medicaid_event_study`)."""
    return _medicaid_event_study()


def _medicaid_event_study() -> EventStudy:
    """TWFE event study of the HonestDiD README: state and year effects, D × year
    dummies (2013 omitted), states clustered; sigma with fixest's small-sample factor
    G/(G-1) · (n-1)/(n-K), K = 15 (7 coefficients + 8 year effects; state effects are
    nested in the clusters)."""
    wide = pd.read_csv(DATA / "ehec_dins_2008_2015.csv", comment="#")
    wide = wide[wide["yexp2"].ne(2015)]
    years = np.arange(2008, 2016)
    y = wide[[str(t) for t in years]].to_numpy(float)
    d = (wide["yexp2"] == 2014).to_numpy(float)

    def demean(a):
        return a - a.mean(1, keepdims=True) - a.mean(0, keepdims=True) + a.mean()

    keep = years[years != 2013]
    x = np.stack([demean(d[:, None] * (years == s)[None, :]) for s in keep], axis=-1)
    xf = x.reshape(-1, len(keep))
    beta = np.linalg.lstsq(xf, demean(y).ravel(), rcond=None)[0]
    resid = (demean(y).ravel() - xf @ beta).reshape(y.shape)
    bread = np.linalg.inv(xf.T @ xf)
    scores = np.einsum("itk,it->ik", x, resid)
    g, n = y.shape[0], y.size
    vcov = bread @ scores.T @ scores @ bread * g / (g - 1) * (n - 1) / (n - 15)
    return EventStudy.from_arrays(beta, vcov, n_pre=5, n=g)


def test_medicaid_flci_matches_honestdid_readme(medicaid_event_study):
    """HonestDiD README, ``createSensitivityResults(..., Mvec = seq(0, 0.05, 0.01))``:
    lb 0.0259, 0.0132, 0.00286, -0.00714, -0.0171, -0.0271;
    ub 0.0607, 0.0787, 0.0907, 0.101, 0.111, 0.121; breakdown "M ≈ 0.03" (the set
    includes 0 from M = 0.03 on)."""
    res = honest_sensitivity(medicaid_event_study, method="smoothness",
                             m=[0, 0.01, 0.02, 0.03, 0.04, 0.05])
    tab = res.tables["sensitivity"]
    for col, printed in (
            ("ci_lower", [0.0259, 0.0132, 0.00286, -0.00714, -0.0171, -0.0271]),
            ("ci_upper", [0.0607, 0.0787, 0.0907, 0.101, 0.111, 0.121])):
        gap = np.abs(tab[col].to_numpy() - np.array(printed))
        assert np.all(gap <= _printed_tol(printed)), (col, gap)
    assert 0.02 < res.settings["breakdown"] < 0.03
    assert isinstance(res, SensitivityResult)
    assert medicaid_event_study.estimate[5] == pytest.approx(0.0464, abs=1e-4)


def test_medicaid_relative_magnitudes_conservative_against_honestdid(medicaid_event_study):
    """HonestDiD README C-LF sets (Mbar 0.5, 1, 1.5, 2): [0.0240, 0.0672],
    [0.0170, 0.0720], [0.00824, 0.0797], [-0.000916, 0.0881]; breakdown Mbar ≈ 2. Our
    Bonferroni projection must contain each (it is valid but not optimal) and break down
    earlier."""
    res = honest_sensitivity(medicaid_event_study, mbar=[0.5, 1, 1.5, 2])
    tab = res.tables["sensitivity"]
    clf_lb = np.array([0.0240, 0.0170, 0.00824, -0.000916])
    clf_ub = np.array([0.0672, 0.0720, 0.0797, 0.0881])
    assert np.all(tab["ci_lower"].to_numpy() <= clf_lb + README_TOL)
    assert np.all(tab["ci_upper"].to_numpy() >= clf_ub - README_TOL)
    ratio = (tab["ci_upper"] - tab["ci_lower"]).to_numpy() / (clf_ub - clf_lb)
    assert 1.0 < ratio[1] < 2.0
    assert 0.5 < res.settings["breakdown"] < 1.5


def test_sensitivity_on_staggered_result_and_plot(universal):
    panel, fitted = universal
    res = honest_sensitivity(fitted, data=panel, method="smoothness", m=[0, 0.05, 0.1])
    es = event_study(fitted, panel)
    assert res.tidy().loc[0, "estimate"] == pytest.approx(es.estimate[es.event_time == 0][0])
    rm = honest_sensitivity(fitted, data=panel, mbar=[0, 1, 2], e=2)
    assert rm.settings["breakdown"] > 1  # planted effect 2 at e = 2, flat pre-trends
    ax = rm.plot()
    assert len(ax.containers) == 2
    plot = rm.plot_data()
    np.testing.assert_allclose(ax.containers[1].lines[0].get_ydata(),
                               plot.loc[plot.kind != "original", "centre"])
    assert ax.lines[-1].get_xdata()[0] == pytest.approx(rm.settings["breakdown"])
    assert "breakdown value Mbar" in repr(rm)


def test_sensitivity_validation(universal):
    panel, fitted = universal
    es = _es_example()
    with pytest.raises(SpecificationError,
                       match=r"`method` must be one of \['relative_magnitude', "
                             r"'smoothness'\], but 'sd' was passed"):
        honest_sensitivity(es, method="sd")
    with pytest.raises(SpecificationError, match=r"`e` must be one of .*\[0, 1\].*-1"):
        honest_sensitivity(es, e=-1)
    with pytest.raises(SpecificationError, match="`m` is the grid of method='smoothness'"):
        honest_sensitivity(es, m=[0.1])
    with pytest.raises(SpecificationError, match=r"`mbar` must be a non-negative.*-1"):
        honest_sensitivity(es, mbar=[-1])
    with pytest.raises(SpecificationError, match="Pass data="):
        honest_sensitivity(fitted)
    varying = staggered_did(panel, outcome="y", unit="unit", time="year", group="start",
                            bootstrap=False)
    with pytest.raises(SpecificationError, match="base_period='universal'"):
        honest_sensitivity(varying, data=panel)
    with pytest.raises(SpecificationError, match="`alpha`"):
        pretrend_test(es, alpha=2)


def test_relative_magnitude_sets_cover_at_a_least_favourable_bias():
    """Monte Carlo: beta_hat ~ N(tau + delta, Sigma) with delta in Delta^RM(1) at its
    edge (pre-period changes of 0.2, every post change +0.2, so the bias at e = 1 is
    0.4, the largest allowed); the 95% sets for tau_1 = 0.5 must cover in at least 95%
    of 2,000 draws (up to Monte Carlo error: at least 94%). A set that ignored the bias
    or its growth over post periods covers far less."""
    rng = np.random.default_rng(2026)
    rho = 0.3
    vcov = 0.01 * (rho ** np.abs(np.subtract.outer(np.arange(5), np.arange(5))))
    delta = np.array([-0.4, -0.2, 0.2, 0.4, 0.6])  # e = -3, -2 | 0, 1, 2 (ref e = -1)
    tau = np.array([0.0, 0.0, 0.5, 0.5, 0.5])
    draws = rng.multivariate_normal(tau + delta, vcov, size=2000)
    row = honest_sensitivity(EventStudy.from_arrays(draws[0], vcov, n_pre=2), mbar=[1.0],
                             e=1).tables["sensitivity"].iloc[0]
    assert row["ci_lower"] == pytest.approx(_rm_interval(
        EventStudy.from_arrays(draws[0], vcov, n_pre=2), 3, 1.0, 0.05).lower)
    covered = 0
    naive = 0
    for beta in draws:  # the set alone (the public function also solves the breakdown)
        es = EventStudy.from_arrays(beta, vcov, n_pre=2)
        got = _rm_interval(es, 3, 1.0, 0.05)
        covered += got.lower <= 0.5 <= got.upper
        naive += abs(beta[3] - 0.5) <= 1.96 * 0.1
    assert covered / len(draws) >= 0.94
    assert naive / len(draws) < 0.2
