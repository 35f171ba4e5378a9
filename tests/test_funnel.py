"""Funnel plots: exact limits against published values, overdispersion by hand, the SHMI
truncation, the result contract and what is drawn, option checks, and a simulation with
a planted outlier practice."""

from __future__ import annotations

import math
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats as sps  # noqa: E402

from kbz_eval.errors import (  # noqa: E402
    DataValidationError,
    SpecificationError,
    StatisticalWarning,
)
from kbz_eval.estimators.funnel import FunnelResult, funnel  # noqa: E402
from kbz_eval.results import TIDY_COLUMNS  # noqa: E402
from kbz_eval.stats import funnel as fn  # noqa: E402

#: The published limits are given to 4 decimals.
PUBLISHED_TOL = 1e-4
#: FunnelPlotR's own test values are rounded to 6–7 significant digits.
FUNNELPLOTR_TOL = 1e-6
#: Same formula computed two ways (floating point only).
EXACT = 1e-10


def _quiet(fn_, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return fn_(*args, **kwargs)


# =========================================================================== exact limits
def test_exact_poisson_limits_reproduce_the_published_values():
    """Target 1, expected 15, 20, 30: 95% lower 0.5597, 0.6108, 0.6747 and 99.8% upper
    2.0829, 1.9021, 1.7028 (issue 13; Spiegelhalter 2005 / FunnelPlotR), to 1e-4."""
    e = np.array([15.0, 20.0, 30.0])
    lower_95, _ = fn.poisson_limits(e, 1.0, 95)
    _, upper_998 = fn.poisson_limits(e, 1.0, 99.8)
    assert lower_95 == pytest.approx([0.5597, 0.6108, 0.6747], abs=PUBLISHED_TOL)
    assert upper_998 == pytest.approx([2.0829, 1.9021, 1.7028], abs=PUBLISHED_TOL)


def test_exact_poisson_limits_match_funnelplotr_to_six_digits():
    """All four limits against the values asserted in FunnelPlotR's
    ``tests/testthat/test-poisson_limits.R`` (R output of
    ``calculate_limits(data.frame(number_seq = c(15, 20, 30)), target = 1,
    draw_adjusted = FALSE)``), and the chi-square form ``qchisq(p, 2E) / (2E)``,
    ``qchisq(1 - p, 2E + 2) / (2E)``."""
    e = np.array([15.0, 20.0, 30.0])
    lo95, hi95 = fn.poisson_limits(e, 1.0, 95)
    lo998, hi998 = fn.poisson_limits(e, 1.0, 99.8)
    assert lo95 == pytest.approx([0.5596924, 0.6108260, 0.6746958], abs=FUNNELPLOTR_TOL)
    assert hi95 == pytest.approx([1.649348, 1.544419, 1.427562], abs=FUNNELPLOTR_TOL)
    assert lo998 == pytest.approx([0.3862650, 0.4479107, 0.5289724], abs=FUNNELPLOTR_TOL)
    assert hi998 == pytest.approx([2.082907, 1.902094, 1.702771], abs=FUNNELPLOTR_TOL)
    assert lo95 == pytest.approx(sps.chi2.ppf(0.025, 2 * e) / (2 * e), rel=EXACT)
    assert hi998 == pytest.approx(sps.chi2.ppf(0.999, 2 * e + 2) / (2 * e), rel=EXACT)


def test_poisson_limits_at_another_target_use_the_poisson_mean_target_times_size():
    """O ~ Poisson(θ0 E): the limit of O/E at (E, θ0) is θ0 × the limit at (θ0 E, 1)."""
    e, theta = np.array([12.0, 40.0, 250.0]), 1.3
    for level in fn.LEVELS:
        lo, hi = fn.poisson_limits(e, theta, level)
        lo1, hi1 = fn.poisson_limits(theta * e, 1.0, level)
        assert lo == pytest.approx(theta * lo1, rel=EXACT)
        assert hi == pytest.approx(theta * hi1, rel=EXACT)


def test_poisson_limits_tail_probabilities_are_as_documented():
    """Under the target, P(O > upper) is at most the nominal tail; P(O < lower) is larger
    for small expected counts, at most the values stated in :mod:`kbz_eval.stats.funnel`
    (95%: 0.079 for μ ≥ 5, 0.043 for μ ≥ 20, 0.032 for μ ≥ 100; 99.8%: 0.022, 0.0048,
    0.0020), computed with scipy's Poisson distribution."""
    stated = {95.0: {5: 0.079, 20: 0.043, 100: 0.032},
              99.8: {5: 0.022, 20: 0.0048, 100: 0.0020}}
    for smallest in (5, 20, 100):
        e = np.geomspace(smallest, 5000, 4000)
        for level in fn.LEVELS:
            p = fn.tail(level)
            lo, hi = fn.poisson_limits(e, 1.0, level)
            above = sps.poisson.sf(np.floor(hi * e), e)
            below = sps.poisson.cdf(np.ceil(lo * e) - 1, e)
            assert above.max() <= p
            assert below.max() <= stated[level][smallest] + 1e-4
            assert np.all(lo < 1) and np.all(hi > 1)


def test_binomial_limits_interpolate_the_exact_scipy_quantiles():
    """Spiegelhalter's interpolation: with r = binom.ppf(p) (scipy's exact quantile),
    the limit is (r − α)/n, α = (F(r) − p)/P(R = r), so (r − 1)/n ≤ limit ≤ r/n."""
    n = np.array([10, 20, 57, 100, 1000, 5000])
    for theta in (0.05, 0.3, 0.5, 0.92):
        for level in fn.LEVELS:
            lo, hi = fn.binomial_limits(n, theta, level)
            for limit, p in ((lo, fn.tail(level)), (hi, 1 - fn.tail(level))):
                r = sps.binom.ppf(p, n, theta)
                alpha = (sps.binom.cdf(r, n, theta) - p) / sps.binom.pmf(r, n, theta)
                assert limit == pytest.approx(np.clip((r - alpha) / n, 0, 1), abs=EXACT)
                assert np.all(limit * n >= np.maximum(r - 1, 0) - EXACT)
                assert np.all(limit * n <= r + EXACT)
            assert np.all(lo < theta) and np.all(hi > theta)


def test_binomial_limit_worked_by_hand():
    """A hand-checkable case (derived here; the published worked examples of
    Spiegelhalter 2005 need data not available to this test): Binomial(20, 0.5),
    95% lower limit. P(R ≤ 5) = 21700/2²⁰ = 0.0207, P(R ≤ 6) = 60460/2²⁰ = 0.0577, so
    r = 6, α = (0.0577 − 0.025) / P(R = 6) = (60460/2²⁰ − 0.025)/(38760/2²⁰) = 0.8837,
    limit = (6 − 0.8837) / 20 = 0.25582."""
    total = 2.0**20
    cdf5 = sum(math.comb(20, k) for k in range(6)) / total
    cdf6 = cdf5 + math.comb(20, 6) / total
    assert cdf5 < 0.025 <= cdf6
    alpha = (cdf6 - 0.025) / (math.comb(20, 6) / total)
    by_hand = (6 - alpha) / 20
    assert by_hand == pytest.approx(0.25582, abs=1e-5)
    lo, _ = fn.binomial_limits(np.array([20]), 0.5, 95)
    assert lo[0] == pytest.approx(by_hand, rel=EXACT)


def test_funnel_units_carry_the_exact_limits_at_their_own_size():
    units = pd.DataFrame({"unit": ["a", "b", "c"], "observed": [9, 20, 40],
                          "expected": [15.0, 20.0, 30.0]})
    r = funnel(units, overdispersion="none")
    t = r.tables["units"]
    assert t["lower_95"].to_numpy() == pytest.approx([0.5597, 0.6108, 0.6747],
                                                     abs=PUBLISHED_TOL)
    assert t["upper_998"].to_numpy() == pytest.approx([2.0829, 1.9021, 1.7028],
                                                      abs=PUBLISHED_TOL)
    # a = 9/15 = 0.6 is inside 0.5597; c = 40/30 = 1.333 is inside 1.4276 (95% upper)
    assert not t["outlier_95"].any()


def test_rate_and_proportion_limits_use_the_pooled_target():
    rate = pd.DataFrame({"unit": list("abcd"), "observed": [30, 50, 12, 90],
                         "exposure": [100.0, 180.0, 40.0, 300.0]})
    r = funnel(rate, kind="rate", overdispersion="none")
    theta = 182 / 620
    assert r.settings["target"] == pytest.approx(theta, rel=EXACT)
    lo, hi = fn.poisson_limits(rate["exposure"].to_numpy(), theta, 99.8)
    assert r.tables["units"]["lower_998"].to_numpy() == pytest.approx(lo, rel=EXACT)
    assert r.tables["units"]["upper_998"].to_numpy() == pytest.approx(hi, rel=EXACT)

    prop = pd.DataFrame({"unit": list("abcd"), "observed": [30, 50, 12, 90],
                         "denominator": [100, 180, 40, 300]})
    r = funnel(prop, kind="proportion", overdispersion="none")
    lo, hi = fn.binomial_limits(prop["denominator"].to_numpy(), theta, 95)
    assert r.tables["units"]["lower_95"].to_numpy() == pytest.approx(lo, rel=EXACT)
    assert r.tables["units"]["upper_95"].to_numpy() == pytest.approx(hi, rel=EXACT)


# =========================================================================== overdispersion
def _equal_size_units() -> pd.DataFrame:
    """Ten units of expected 100 whose square-root z-scores 2(√O − 10) are whole:
    O = 49, 64, 81, 81, 100, 100, 121, 121, 144, 169 → z = −6, −4, −2, −2, 0, 0, 2, 2,
    4, 6."""
    return pd.DataFrame({"unit": [f"u{i:02d}" for i in range(10)],
                         "observed": [49, 64, 81, 81, 100, 100, 121, 121, 144, 169],
                         "expected": 100.0})


def test_phi_and_tau2_equal_a_hand_computation():
    """Winsorised at 10%: the 10% and 90% quantiles (linear interpolation) of the
    z-scores are −6 + 0.9 × 2 = −4.2 and 4 + 0.1 × 2 = 4.2, so the winsorised z² sum to
    2 × 4.2² + 2 × 4² + 4 × 2² = 83.28: φ = 8.328. With w = 1/s² = 4E = 400 for each
    unit, Σw − Σw²/Σw = 4000 − 400 = 3600 and τ² = (10 × 8.328 − 9) / 3600 = 0.0206333.
    Dispersion ratio (all units, no trimming): (2 × 36 + 2 × 16 + 4 × 4) / 9 = 120/9."""
    r = funnel(_equal_size_units(), overdispersion="additive")
    d = r.tables["dispersion"].iloc[0]
    assert r.tables["units"]["z"].to_numpy() == pytest.approx(
        [-6, -4, -2, -2, 0, 0, 2, 2, 4, 6], abs=EXACT)
    assert d["phi"] == pytest.approx(8.328, rel=EXACT)
    assert d["tau2"] == pytest.approx((10 * 8.328 - 9) / 3600, rel=EXACT)
    assert d["dispersion_ratio"] == pytest.approx(120 / 9, rel=EXACT)
    assert d["dispersion_p"] == pytest.approx(sps.chi2.sf(120, 9), rel=1e-8)
    assert d["widened"] and d["n_used"] == 10
    assert r.tables["units"]["trimmed"].sum() == 2  # −6 and 6 pulled in


def test_widened_limits_by_hand_multiplicative_and_additive():
    """Square-root scale at E = 100, s = 1/20: multiplicative 99.8% upper limit
    (1 + 3.090232 √8.328 / 20)², additive (1 + 3.090232 √(1/400 + τ²))²."""
    z998 = sps.norm.isf(0.001)
    phi, tau2 = 8.328, (10 * 8.328 - 9) / 3600
    mult = funnel(_equal_size_units(), overdispersion="multiplicative")
    add = funnel(_equal_size_units(), overdispersion="additive")
    up_m = mult.tables["units"]["upper_998"].to_numpy()
    up_a = add.tables["units"]["upper_998"].to_numpy()
    assert up_m == pytest.approx((1 + z998 * math.sqrt(phi) / 20) ** 2, rel=EXACT)
    assert up_a == pytest.approx((1 + z998 * math.sqrt(1 / 400 + tau2)) ** 2, rel=EXACT)
    low_a = add.tables["units"]["lower_95"].to_numpy()
    assert low_a == pytest.approx((1 - sps.norm.isf(0.025) * math.sqrt(1 / 400 + tau2)) ** 2,
                                  rel=EXACT)
    # the adjusted z-score is z / √φ (multiplicative) and z·s/√(s² + τ²) (additive)
    z = mult.tables["units"]["z"].to_numpy()
    assert mult.tables["units"]["z_adjusted"].to_numpy() == pytest.approx(z / math.sqrt(phi))
    assert add.tables["units"]["z_adjusted"].to_numpy() == pytest.approx(
        z * (1 / 20) / math.sqrt(1 / 400 + tau2))
    # the limit curves of the plot are the same formulas on the grid
    grid = add.tables["limits"]
    assert grid["upper_998"].to_numpy() == pytest.approx(
        (1 + z998 * np.sqrt(1 / (4 * grid["size"].to_numpy()) + tau2)) ** 2, rel=EXACT)


def test_no_widening_without_overdispersion():
    """Units that vary less than Poisson: φ ≤ 1 and τ² = 0, so the exact limits stay."""
    units = pd.DataFrame({"unit": list("abcdef"), "observed": [50, 101, 149, 200, 301, 400],
                          "expected": [50.0, 100.0, 150.0, 200.0, 300.0, 400.0]})
    for od in ("multiplicative", "additive"):
        r = _quiet(funnel, units, overdispersion=od)
        d = r.tables["dispersion"].iloc[0]
        assert d["phi"] < 1 and d["tau2"] == 0 and not d["widened"]
        exact = fn.poisson_limits(units["expected"].to_numpy(), 1.0, 95)
        assert r.tables["units"]["lower_95"].to_numpy() == pytest.approx(exact[0], rel=EXACT)
        lim = r.tables["limits"]
        assert lim["upper_998"].to_numpy() == pytest.approx(lim["exact_upper_998"].to_numpy())


def test_shmi_truncation_drops_floor_trim_n_units_each_side():
    """Log scale (SHMI): the ⌊trim·n⌋ lowest and highest z-scores are left out of φ and
    τ²; making the extremes more extreme does not change φ; trim is configurable."""
    e = np.full(20, 100.0)
    o = np.arange(80, 120, 2).astype(float)  # 20 units, z = 10 log(O/100), increasing
    z = 10 * np.log(o / 100)
    kept = fn.truncate(z, 0.10)
    assert kept.sum() == 16 and not kept[:2].any() and not kept[-2:].any()
    phi, used, _ = fn.phi_estimate(z, transform="log", trim=0.10)
    assert phi[0] == pytest.approx(np.mean(z[2:-2] ** 2), rel=EXACT)
    assert used.sum() == 16
    o_wild = o.copy()
    o_wild[0], o_wild[-1] = 5.0, 900.0
    fit = fn.fit_funnel(o_wild, e, kind="ratio", transform="log", overdispersion="additive")
    assert fit.phi[0] == pytest.approx(phi[0], rel=EXACT)
    assert fit.outlier_998[0] and fit.outlier_998[-1]  # still flagged
    assert fn.truncate(z, 0.05).sum() == 18  # one each side
    assert fn.truncate(z, 0.0).all()
    assert fn.truncate(z[:9], 0.10).all()  # ⌊0.9⌋ = 0: nothing dropped
    # τ² from the kept units only: equal w = E = 100 on the log scale
    n_used, w = 16, 100.0
    tau2 = max(0.0, (n_used * phi[0] - (n_used - 1)) / (n_used * w - w))
    assert fn.tau2_dersimonian_laird(phi, np.full(20, 0.1), used)[0] == pytest.approx(
        tau2, abs=EXACT)
    # through the front door: the truncated units are marked
    units = pd.DataFrame({"unit": [f"p{i:02d}" for i in range(20)], "observed": o,
                          "expected": e})
    r = funnel(units, transform="log", trim=0.10)
    t = r.tables["units"]
    assert t["trimmed"].sum() == 4 and (~t["used_in_dispersion"]).sum() == 4
    assert r.tables["dispersion"].iloc[0]["robust"] == "truncated"


def test_spiegelhalter_winsorising_keeps_every_unit():
    z = np.array([-5.0, -1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 9.0])
    zw, changed = fn.winsorise(z, 0.10)
    assert zw.min() == pytest.approx(np.quantile(z, 0.1))
    assert zw.max() == pytest.approx(np.quantile(z, 0.9))
    assert changed.tolist() == [True] + [False] * 8 + [True]
    phi, used, _ = fn.phi_estimate(z, transform="sqrt", trim=0.10)
    assert used.all() and phi[0] == pytest.approx(np.mean(zw**2), rel=EXACT)


# =========================================================================== result contract
def _units_with_groups() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    e = rng.uniform(200, 1500, size=14)
    o = rng.poisson(e * np.exp(rng.normal(0, 0.08, size=14))).astype(float)
    o[0] = round(1.6 * e[0])  # a clear outlier
    return pd.DataFrame({"unit": [f"P{i:02d}" for i in range(14)], "observed": o,
                         "expected": e, "n_persons": (e * 3).astype(int),
                         "group": ["kbz"] * 7 + ["control"] * 7})


def test_result_contract_tidy_tables_and_headline():
    data = _units_with_groups()
    before = data.copy()
    r = funnel(data)
    pd.testing.assert_frame_equal(data, before)  # caller's frame untouched
    assert isinstance(r, FunnelResult)
    tidy = r.tidy()
    assert list(tidy.columns[: len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    assert len(tidy) == 14 and tidy["term"].iloc[0] == "ratio_P00"
    assert tidy["n"].tolist() == data["n_persons"].tolist()
    own = tidy.set_index("unit").loc["P00"]
    assert own["ci_lower"] < own["estimate"] < own["ci_upper"]
    units = r.tables["units"]
    assert units.loc[0, "side"] == "above" and units.loc[0, "outlier"]
    assert units.loc[0, "label"] == "P00"
    assert (units["label"] != "").sum() == units["outlier"].sum()
    assert set(r.tables) == {"units", "limits", "dispersion"}
    assert r.tables["dispersion"].iloc[0]["overdispersion"] == "additive"
    head = r.headline()
    assert "target 1" in head and "7 KBZ, 7 control" in head and "P00" in head
    assert "\n" not in repr(r) and repr(r).startswith("<FunnelResult")
    assert "<table" in r._repr_html_()
    assert "Funnel plot" in r.method
    r95 = funnel(data, outlier_limit=95, label_outliers=False)
    assert r95.tables["units"]["outlier"].equals(r95.tables["units"]["outlier_95"])
    assert (r95.tables["units"]["label"] == "").all()


def test_plot_draws_exactly_the_plot_data():
    r = funnel(_units_with_groups())
    fig, ax = plt.subplots()
    try:
        assert r.plot(ax=ax) is ax
        data = r.plot_data()
        assert set(data["series"]) == {"kbz", "control", "target", "lower_95", "upper_95",
                                       "lower_998", "upper_998"}
        lines = {ln.get_gid(): ln for ln in ax.get_lines()}
        for series, sub in data.groupby("series"):
            drawn = lines[series].get_xydata()
            assert drawn == pytest.approx(sub[["size", "value"]].to_numpy(), rel=EXACT)
        assert lines["kbz"].get_color() != lines["control"].get_color()
        assert lines["kbz"].get_marker() != lines["control"].get_marker()
        assert np.allclose(lines["target"].get_ydata(), 1.0)
        flagged = data[data["outlier"]]
        assert lines["outliers"].get_xydata() == pytest.approx(
            flagged[["size", "value"]].to_numpy(), rel=EXACT)
        texts = sorted(t.get_text() for t in ax.texts)
        assert texts == sorted(data.loc[data["label"] != "", "label"])
        assert texts and "P00" in texts
        units = r.tables["units"]
        points = data[data["series"].isin(["kbz", "control"])]
        assert sorted(points["value"]) == pytest.approx(sorted(units["value"]))
    finally:
        plt.close(fig)


def test_plot_without_ax_makes_a_new_one():
    units = _equal_size_units()
    r = funnel(units)
    ax = r.plot()
    try:
        assert {ln.get_gid() for ln in ax.get_lines()} >= {"units", "target", "upper_998"}
    finally:
        plt.close(ax.figure)


# =========================================================================== panel input
@pytest.fixture(scope="module")
def sample():
    import kbz_eval as kbz

    return kbz.load_sample()


def test_panel_route_standardises_per_practice_like_risk_adjustment(sample):
    s = sample
    r = _quiet(funnel, s["person_years"], s["practices"], outcome="poli_dbc_count",
               years=[2016], overdispersion="none")
    units = r.tables["units"].set_index("unit")
    # pooled reference over the analysed year: expected values add up to the observed
    assert units["expected"].sum() == pytest.approx(units["observed"].sum(), rel=1e-9)
    from kbz_eval.estimators.risk_adjustment import risk_adjustment

    ra = _quiet(risk_adjustment, s["person_years"], s["practices"], outcome="poli_dbc_count",
                years=[2016], by="practice")
    oe = ra.tables["observed_expected"].set_index("unit")
    assert units["value"].to_numpy() == pytest.approx(oe.loc[units.index, "oe_ratio"],
                                                      rel=1e-9)
    assert units["n_persons"].tolist() == oe.loc[units.index, "n_persons"].tolist()
    py = s["person_years"]
    last = py[py["year"] == 2016]
    assert units["observed"].to_numpy() == pytest.approx(
        last.groupby("practice_id")["poli_dbc_count"].sum().loc[units.index].to_numpy())
    assert r.settings["years"] == [2016] and r.settings["source"] == "panel"
    group = s["practices"].set_index("practice_id")["group"]
    assert units["group"].tolist() == group.loc[units.index].tolist()


def test_panel_route_proportion_counts_persons_with_an_event(sample):
    s = sample
    r = _quiet(funnel, s["person_years"], s["practices"], kind="proportion",
               outcome="ggz_cost")
    py = s["person_years"]
    last = py[py["year"] == py["year"].max()]
    expect = last[last["ggz_cost"] > 0].groupby("practice_id")["person_id"].nunique()
    units = r.tables["units"].set_index("unit")
    assert units["observed"].to_numpy() == pytest.approx(
        expect.reindex(units.index, fill_value=0).to_numpy())
    assert units["size"].tolist() == units["n_persons"].tolist()
    assert "share of persons" in r.headline()


# =========================================================================== options
@pytest.mark.parametrize(("option", "bad", "pattern"), [
    ("kind", "ratios", r"`kind` must be one of \['ratio', 'proportion', 'rate'\], but "
                       r"'ratios'"),
    ("overdispersion", "random", r"`overdispersion` must be one of \['none', "
                                 r"'multiplicative', 'additive'\], but 'random'"),
    ("transform", "logit", r"`transform` must be one of \['sqrt', 'log'\], but 'logit'"),
    ("trim", 0.5, r"`trim` must be a number in \[0, 0.5\).*but 0.5"),
    ("trim", "10%", r"`trim`.*but '10%'"),
    ("target", 0, r"`target` must be a number in \(0, inf\).*but 0 was"),
    ("outlier_limit", 99, r"`outlier_limit` must be one of \[95.0, 99.8\], but 99"),
    ("label_outliers", "yes", r"`label_outliers` must be one of \[True, False\], but 'yes'"),
])
def test_bad_options_name_the_parameter_the_allowed_values_and_the_value(option, bad,
                                                                         pattern):
    with pytest.raises(SpecificationError, match=pattern):
        funnel(_equal_size_units(), **{option: bad})


def test_bad_inputs_are_refused_with_every_problem_listed(sample):
    with pytest.raises(SpecificationError, match=r"`target` must be a number in \(0, 1\)"):
        funnel(pd.DataFrame({"unit": list("abc"), "observed": [1, 2, 3],
                             "denominator": [5, 5, 5]}), kind="proportion", target=1.2)
    with pytest.raises(SpecificationError, match="keys of `columns`"):
        funnel(_equal_size_units(), columns={"practice": "unit"})
    with pytest.raises(SpecificationError, match="at least 3 units"):
        funnel(_equal_size_units().head(2))
    with pytest.raises(DataValidationError, match="expected"):
        funnel(_equal_size_units(), kind="ratio", columns={"expected": "verwacht"})
    bad = pd.DataFrame({"unit": ["a", "a", "c"], "observed": [-1, 7, 3],
                        "denominator": [5, 5, 0]})
    with pytest.raises(DataValidationError) as info:
        funnel(bad, kind="proportion")
    text = str(info.value)
    assert "unique" in text and "≥ 0" in text and "> 0" in text and "must not exceed" in text
    with pytest.raises(SpecificationError, match=r"`population` must be one of "
                       r"\['minima', 'all'\], but 'poor'"):
        funnel(sample["person_years"], sample["practices"], population="poor")
    with pytest.raises(SpecificationError, match=r"`reference` must be one of"):
        funnel(sample["person_years"], sample["practices"], reference="national")


def test_column_mapping_and_practice_id_alias():
    data = _equal_size_units().rename(columns={"unit": "praktijk", "observed": "aantal"})
    r = funnel(data, columns={"unit": "praktijk", "observed": "aantal"})
    assert r.tables["units"]["unit"].iloc[0] == "u00"
    r2 = funnel(_equal_size_units().rename(columns={"unit": "practice_id"}))
    assert r2.tables["units"]["unit"].tolist() == r.tables["units"]["unit"].tolist()


def test_warnings_for_costs_and_unhandled_overdispersion():
    units = _equal_size_units().assign(observed=lambda d: d["observed"] + 0.5)
    with pytest.warns(StatisticalWarning, match="not whole counts"):
        funnel(units, overdispersion="multiplicative")
    with pytest.warns(StatisticalWarning, match="vary more than chance"):
        funnel(_equal_size_units(), overdispersion="none")


# =========================================================================== simulation
#: Synthetic setting: 12 practices (as in the KBZ data), expected counts log-uniform on
#: 1,000–5,000 (the sample's outpatient DBCs per practice-year), between-practice
#: spread of the true ratio lognormal with τ = 0.10 (10% between practices after
#: age/sex adjustment); practice 0 has a true ratio 1.5, practice 1 is a null practice
#: drawn from the same spread as the others; both have the typical expected count
#: √(1000 × 5000) ≈ 2,236.
N_SEEDS = 4000
N_PRACTICES = 12
TAU = 0.10
PLANTED_RATIO = 1.5
#: Required share of seeds in which the planted practice is beyond the 99.8% limit.
PLANTED_MIN = 0.90
#: Allowed distance of the null practice's flag rate from the nominal 5% (95% limits):
#: 4 Monte Carlo standard errors (√(0.05 · 0.95 / 4000) = 0.0034) plus the method's
#: small-sample approximation.
NULL_95_TOL = 0.02
#: The null practice beyond the 99.8% limits: nominal 0.2%, allowed up to 0.6%.
NULL_998_MAX = 0.006


def _simulate(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lo, hi = math.log(1000), math.log(5000)
    e = np.exp(rng.uniform(lo, hi, size=(N_SEEDS, N_PRACTICES)))
    e[:, :2] = math.exp((lo + hi) / 2)
    theta = np.exp(rng.normal(-TAU**2 / 2, TAU, size=e.shape))
    theta[:, 0] = PLANTED_RATIO
    return rng.poisson(e * theta).astype(float), e


@pytest.mark.slow
def test_planted_outlier_is_flagged_and_a_null_practice_at_about_the_nominal_rate():
    """4,000 synthetic data sets of 12 practices (see the constants above), default
    method (additive random effects, square-root scale, 10% winsorising), all fitted at
    once with :func:`kbz_eval.stats.funnel.fit_funnel` — the numerics behind
    :func:`funnel` (checked equal on one data set below).

    Measured (seed 20261122): the planted practice (true ratio 1.5) is beyond the upper
    99.8% limit in 91.6% of data sets (required ≥ 90%); the null practice is beyond the
    95% limits in 3.4% (nominal 5%, tolerance ± 2 points) and beyond the 99.8% limits in
    0.18% (nominal 0.2%, allowed ≤ 0.6%). The SHMI variant (log scale, 10% truncation,
    additive) on the same data: planted 91.9%, null 6.0% (95%) and 0.53% (99.8%).

    With 30 practices instead of 12 the null practice is flagged beyond the 95% limits
    more often (about 9% with the square-root scale, 15% with SHMI truncation), because
    trimming 10% at each end understates τ²; see the Notes of :func:`funnel`.
    """
    observed, expected = _simulate(20261122)
    for transform in ("sqrt", "log"):
        fit = fn.fit_funnel(observed, expected, kind="ratio", overdispersion="additive",
                            transform=transform, trim=0.10)
        planted = float(np.mean(fit.outlier_998[:, 0] & fit.high_998[:, 0]))
        null_95 = float(np.mean(fit.outlier_95[:, 1]))
        assert planted >= PLANTED_MIN, (transform, planted)
        assert abs(null_95 - 0.05) <= NULL_95_TOL, (transform, null_95)
    fit = fn.fit_funnel(observed, expected, kind="ratio", overdispersion="additive",
                        transform="sqrt", trim=0.10)
    null_998 = float(np.mean(fit.outlier_998[:, 1]))
    assert null_998 <= NULL_998_MAX, null_998
    # the front door gives the same flags on one of the data sets
    i = 7
    units = pd.DataFrame({"unit": [f"p{j:02d}" for j in range(N_PRACTICES)],
                          "observed": observed[i], "expected": expected[i]})
    r = funnel(units)
    t = r.tables["units"]
    assert t["outlier_998"].tolist() == fit.outlier_998[i].tolist()
    assert t["z_adjusted"].to_numpy() == pytest.approx(fit.z_adjusted[i], rel=EXACT)
    assert r.tables["dispersion"].iloc[0]["tau2"] == pytest.approx(fit.tau2[i, 0], rel=EXACT)


def test_a_proportion_with_a_small_numerator_warns():
    """For proportions the numerator (persons with the event) and its complement count
    persons too: a unit with 8 of 400 persons warns, although 400 persons is plenty."""
    units = pd.DataFrame({"unit": [f"P{i}" for i in range(8)],
                          "observed": [8, 40, 44, 38, 41, 39, 42, 43],
                          "denominator": [400] * 8, "n_persons": [400] * 8})
    with pytest.warns(StatisticalWarning, match=r"numerator or its complement.*P0"):
        funnel(units, kind="proportion")
