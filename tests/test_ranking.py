"""Ranking practices with honest uncertainty: the random-effects numerics
(:mod:`kbz_eval.stats.shrinkage`) against published meta-analyses and an independent
likelihood maximisation, shrinkage and rank intervals in simulations with known truth,
and ``practice_ranking`` against the O/E analyses it builds on.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from _claims_helpers import quiet
from scipy import optimize, stats

import kbz_eval as kbz
from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.estimators.case_mix import expected_by_regression
from kbz_eval.estimators.ranking import RankingResult, practice_ranking
from kbz_eval.results import TIDY_COLUMNS
from kbz_eval.stats import shrinkage

#: Published values are printed to 4 decimals: agree to half a unit in the last one.
PRINTED_4DP = 0.5e-4
#: Our REML against an independent maximisation of the restricted likelihood.
REML_REL = 1e-6
#: Identities that hold exactly up to floating point.
EXACT = 1e-12

# BCG vaccine trials (Colditz et al. 1994, JAMA 271:698; the data set ``dat.bcg`` of the
# R package metafor): TB positive / negative among vaccinated (tpos, tneg) and controls
# (cpos, cneg), 13 trials.
BCG = np.array([
    [4, 119, 11, 128], [6, 300, 29, 274], [3, 228, 11, 209], [62, 13536, 248, 12619],
    [33, 5036, 47, 5761], [180, 1361, 372, 1079], [8, 2537, 10, 619],
    [505, 87886, 499, 87892], [29, 7470, 45, 7232], [17, 1699, 65, 1600],
    [186, 50448, 141, 27197], [5, 2493, 3, 2338], [27, 16886, 29, 17825]], dtype=float)
# Interlaboratory comparison of PCB 28 (mass fraction and standard uncertainty per lab).
PCB28_X = np.array([34.3, 32.9, 34.53, 32.42, 31.9, 35.8])
PCB28_U = np.array([1.03, 0.69, 0.83, 0.29, 0.4, 0.38])


def _bcg_log_rr() -> tuple[np.ndarray, np.ndarray]:
    a, b, c, d = BCG.T
    return (np.log(a / (a + b)) - np.log(c / (c + d)),
            1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))


def _bcg_log_or() -> tuple[np.ndarray, np.ndarray]:
    a, b, c, d = BCG.T
    return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d


# --------------------------------------------------------------------------- τ² estimators
def test_dersimonian_laird_reproduces_published_meta_analyses():
    """metafor 4.x, ``rma(ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg,
    measure="OR", method="DL")`` prints τ² = 0.3663, I² = 92.65 %, Q(df = 12) = 163.1649,
    estimate −0.7474 (se 0.1923); ``rma(yi=x, sei=u, method="DL")`` on the PCB 28
    comparison prints τ² = 2.9289, I² = 92.67 %, Q(df = 5) = 68.2154, estimate 33.6004
    (se 0.7450).

    By hand (DerSimonian & Laird 1986): w = 1/v, Q = Σ w (y − Σwy/Σw)²,
    τ² = max(0, (Q − (k − 1)) / (Σw − Σw²/Σw)).
    """
    y, v = _bcg_log_or()
    re = shrinkage.random_effects(y, v, method="dl")
    assert re.tau2 == pytest.approx(0.3663, abs=PRINTED_4DP)
    assert re.q == pytest.approx(163.1649, abs=PRINTED_4DP)
    assert re.df == 12
    assert 100 * re.i2 == pytest.approx(92.65, abs=0.005)
    assert re.mu == pytest.approx(-0.7474, abs=PRINTED_4DP)
    assert re.mu_se == pytest.approx(0.1923, abs=PRINTED_4DP)
    w = 1 / v
    q = np.sum(w * (y - np.sum(w * y) / w.sum()) ** 2)
    by_hand = max(0.0, (q - 12) / (w.sum() - np.sum(w ** 2) / w.sum()))
    assert re.tau2 == pytest.approx(by_hand, rel=EXACT)
    assert re.i2 == pytest.approx((q - 12) / q, rel=1e-12)  # I² for DL = (Q − df)/Q

    pcb = shrinkage.random_effects(PCB28_X, PCB28_U ** 2, method="dl")
    assert pcb.tau2 == pytest.approx(2.9289, abs=PRINTED_4DP)
    assert pcb.q == pytest.approx(68.2154, abs=PRINTED_4DP)
    assert 100 * pcb.i2 == pytest.approx(92.67, abs=0.005)
    assert pcb.mu == pytest.approx(33.6004, abs=PRINTED_4DP)
    assert pcb.mu_se == pytest.approx(0.7450, abs=PRINTED_4DP)


def test_reml_reproduces_the_published_bcg_analysis():
    """metafor 4.x, ``rma(yi, vi, data=escalc(measure="RR", ..., data=dat.bcg))``
    (REML, the default) prints τ² = 0.3132, I² = 92.22 %, Q(df = 12) = 152.2330,
    estimate −0.7145 (se 0.1798)."""
    y, v = _bcg_log_rr()
    re = shrinkage.random_effects(y, v, method="reml")
    assert re.converged
    assert re.tau2 == pytest.approx(0.3132, abs=PRINTED_4DP)
    assert re.q == pytest.approx(152.2330, abs=PRINTED_4DP)
    assert 100 * re.i2 == pytest.approx(92.22, abs=0.005)
    assert re.mu == pytest.approx(-0.7145, abs=PRINTED_4DP)
    assert re.mu_se == pytest.approx(0.1798, abs=PRINTED_4DP)


def _independent_reml(y: np.ndarray, v: np.ndarray) -> float:
    """Maximise the restricted log-likelihood, written in matrix form,
    −½ [log|V| + log|XᵀV⁻¹X| + (y − Xμ̂)ᵀV⁻¹(y − Xμ̂)], V = diag(v + τ²), X = 1, over
    τ² ∈ [0, 10 · var(y)] with a bounded scalar search; the boundary is checked apart."""
    X = np.ones((len(y), 1))

    def negative(t2: float) -> float:
        vinv = np.diag(1 / (v + t2))
        xtvx = X.T @ vinv @ X
        mu = np.linalg.solve(xtvx, X.T @ vinv @ y)
        r = y - X @ mu
        return 0.5 * (np.sum(np.log(v + t2)) + np.log(np.linalg.det(xtvx))
                      + float(r @ vinv @ r))

    upper = 10 * float(np.var(y)) + 1e-8
    best = optimize.minimize_scalar(negative, bounds=(0.0, upper), method="bounded",
                                    options={"xatol": 1e-12, "maxiter": 1000})
    return 0.0 if negative(0.0) <= best.fun else float(best.x)


@pytest.mark.parametrize("case", ["bcg_rr", "bcg_or", "pcb28", "homogeneous", "random"])
def test_reml_equals_an_independent_likelihood_maximisation(case):
    rng = np.random.default_rng(7)
    if case == "bcg_rr":
        y, v = _bcg_log_rr()
    elif case == "bcg_or":
        y, v = _bcg_log_or()
    elif case == "pcb28":
        y, v = PCB28_X, PCB28_U ** 2
    elif case == "homogeneous":  # less spread than sampling error: REML at the boundary 0
        v = np.array([0.04, 0.09, 0.01, 0.05, 0.02])
        y = np.array([0.10, 0.12, 0.11, 0.09, 0.105])
    else:
        v = rng.uniform(0.01, 0.2, size=20)
        y = rng.normal(0.3, 0.25, size=20) + rng.normal(0, np.sqrt(v))
    ours, ok = shrinkage.tau2_reml(y, v)
    ref = _independent_reml(y, v)
    assert ok
    if ref == 0.0:
        assert float(ours) == 0.0
    else:
        assert float(ours) == pytest.approx(ref, rel=REML_REL)


def test_estimators_are_batched_over_leading_axes():
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.1, size=(50, 8))
    y = rng.normal(0, 0.2, size=(50, 8))
    dl = shrinkage.tau2_dersimonian_laird(y, v)
    reml, ok = shrinkage.tau2_reml(y, v)
    assert ok
    for i in range(50):
        assert dl[i] == pytest.approx(shrinkage.random_effects(y[i], v[i], method="dl").tau2,
                                      rel=EXACT, abs=EXACT)
        assert reml[i] == pytest.approx(shrinkage.random_effects(y[i], v[i]).tau2,
                                        rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- shrinkage
def test_small_units_shrink_more_and_tau2_zero_gives_the_pooled_mean():
    """Three units with the same estimate 0.2 and a precise one at 0 that holds the
    mean near 0: the noisier a unit, the further it moves, by B = v/(v + τ²) of its
    distance to the mean. With τ² = 0 every shrunken value is the fixed-effect mean
    Σ(y/v)/Σ(1/v), with variance 1/Σ(1/v); with τ² → ∞ nothing shrinks."""
    y = np.array([0.2, 0.2, 0.2, 0.0])
    v = np.array([0.01, 0.04, 0.16, 1e-4])
    post = shrinkage.blup(y, v, 0.02)
    moved = np.abs(post["estimate"] - y)
    assert moved[0] < moved[1] < moved[2]
    np.testing.assert_allclose(post["shrinkage"], v / (v + 0.02), rtol=EXACT)
    np.testing.assert_allclose(moved, post["shrinkage"] * np.abs(y - post["mu"]),
                               rtol=1e-12)
    flat = shrinkage.blup(y, v, 0.0)
    fixed = np.sum(y / v) / np.sum(1 / v)
    np.testing.assert_allclose(flat["estimate"], fixed, rtol=EXACT)
    np.testing.assert_allclose(flat["variance"], 1 / np.sum(1 / v), rtol=EXACT)
    wide = shrinkage.blup(y, v, 1e12)
    np.testing.assert_allclose(wide["estimate"], y, atol=1e-9)
    np.testing.assert_allclose(wide["variance"], v, rtol=1e-9)


def test_rank_intervals_with_tau2_zero_span_every_rank():
    y = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    v = np.full(5, 0.05)
    r = shrinkage.posterior_ranks(y, v, 0.0, n_sim=2000, seed=1)
    assert (r["lower"] == 1).all() and (r["upper"] == 5).all()
    np.testing.assert_allclose(r["rank"], 3.0)  # all tied at the pooled mean
    np.testing.assert_allclose(r["mean_rank"], 3.0, atol=0.1)  # ties broken at random


def test_rank_intervals_are_reproducible_and_narrow_for_clear_differences():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    v = np.full(4, 1e-4)
    a = shrinkage.posterior_ranks(y, v, 1.0, n_sim=500, seed=5)
    b = shrinkage.posterior_ranks(y, v, 1.0, n_sim=500, seed=5)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    np.testing.assert_array_equal(a["lower"], [1, 2, 3, 4])
    np.testing.assert_array_equal(a["upper"], [1, 2, 3, 4])


#: Normal-model simulation (seed 20261202): 1,000 data sets of 15 units whose sampling
#: variances 0.25/n span n = 100 … 10,000 persons (a factor 100), τ = 0.05, τ² by REML.
#: Measured: MSE(shrunken)/MSE(own) = 0.712 (0.549 for the smallest unit, 0.983 for the
#: largest); 95 % posterior intervals cover 94.2 % (the own intervals 94.8 %); 95 % rank
#: intervals cover the true rank in 98.1 % (whole ranks make them conservative) with a
#: mean width of 7.3 of the 15 ranks.
SIM_MSE_RATIO_MAX = 0.8
SIM_SMALLEST_RATIO_MAX = 0.65
SIM_POSTERIOR_COVERAGE = (0.93, 0.96)
SIM_RANK_COVERAGE = (0.94, 0.995)
SIM_RANK_WIDTH_MAX = 0.6  # mean width as a share of the number of units


def test_shrinkage_lowers_error_and_intervals_cover_in_a_normal_simulation():
    rng = np.random.default_rng(20261202)
    n_sets, k, tau, mu = 1000, 15, 0.05, 0.02
    v = np.broadcast_to(0.25 / np.geomspace(100, 10_000, k), (n_sets, k))
    theta = mu + tau * rng.standard_normal((n_sets, k))
    y = theta + np.sqrt(v) * rng.standard_normal((n_sets, k))
    tau2, ok = shrinkage.tau2_reml(y, v)
    assert ok
    post = shrinkage.blup(y, v, tau2)
    err_own = (y - theta) ** 2
    err_shrunk = (post["estimate"] - theta) ** 2
    assert err_shrunk.mean() / err_own.mean() < SIM_MSE_RATIO_MAX
    per_unit = err_shrunk.mean(axis=0) / err_own.mean(axis=0)
    assert per_unit[0] < SIM_SMALLEST_RATIO_MAX  # the smallest unit gains most
    assert per_unit[0] < per_unit[-1]
    z = stats.norm.ppf(0.975)
    covered = np.abs(post["estimate"] - theta) <= z * np.sqrt(post["variance"])
    assert SIM_POSTERIOR_COVERAGE[0] < covered.mean() < SIM_POSTERIOR_COVERAGE[1]
    ranks = shrinkage.posterior_ranks(y, v, tau2, n_sim=400, seed=11)
    true_rank = stats.rankdata(theta, axis=-1)
    in_interval = (ranks["lower"] <= true_rank) & (true_rank <= ranks["upper"])
    assert SIM_RANK_COVERAGE[0] < in_interval.mean() < SIM_RANK_COVERAGE[1]
    width = ranks["upper"] - ranks["lower"] + 1
    assert width.mean() < SIM_RANK_WIDTH_MAX * k  # informative, not simply 1 … k


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "pm"}, r"`method` must be one of \['reml', 'dl'\], but 'pm' was passed"),
])
def test_random_effects_bad_method(kwargs, match):
    with pytest.raises(SpecificationError, match=match):
        shrinkage.random_effects([0.1, 0.2, 0.3], [0.01, 0.01, 0.01], **kwargs)


@pytest.mark.parametrize("y, v, match", [
    ([0.1], [0.01], r"at least two units"),
    ([0.1, np.nan], [0.01, 0.01], r"must be finite"),
    ([0.1, 0.2], [0.01, 0.0], r"must be > 0"),
    ([0.1, 0.2, 0.3], [0.01, 0.02], r"same shape"),
])
def test_bad_inputs_to_the_numerics(y, v, match):
    with pytest.raises(SpecificationError, match=match):
        shrinkage.tau2_dersimonian_laird(y, v)


# --------------------------------------------------------------------------- the estimator
@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


def _ranking(sample, **kwargs) -> RankingResult:
    return quiet(practice_ranking, sample["person_years"], sample["practices"], **kwargs)


def test_own_estimate_is_the_delta_method_on_person_sums():
    """Four practices, two years, full insured years, no adjustment: E = insured years ×
    the rate of all person-years, 2000 / 11. Practice A's persons (years summed): a
    (costs 100 + 300, 2 insured years), b (0, 1), c (200, 1): O = 600, E_A = 4 · 2000/11,
    R = O/E_A. se(R)² = n/(n − 1) Σ(o − R e)²/E_A² over the person sums (o, e) =
    (400, 2r), (0, r), (200, r), r = 2000/11; the interval is R · exp(± z se/R).
    Practice C (one person, no cost) has no log O/E and is left out with a warning."""
    rows = [("a", 2015, "A", 100.0), ("a", 2016, "A", 300.0), ("b", 2015, "A", 0.0),
            ("c", 2016, "A", 200.0), ("d", 2015, "B", 500.0), ("d", 2016, "B", 100.0),
            ("e", 2015, "B", 250.0), ("f", 2016, "B", 150.0), ("g", 2016, "C", 0.0),
            ("h", 2015, "D", 300.0), ("i", 2016, "D", 100.0)]
    panel = pd.DataFrame(rows, columns=["person_id", "year", "practice_id",
                                        "poli_dbc_cost"])
    panel["insured_days"] = np.where(panel["year"] == 2016, 366, 365)
    practices = pd.DataFrame({"practice_id": ["A", "B", "C", "D"],
                              "group": ["kbz", "control", "control", "kbz"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalWarning)
        r = practice_ranking(panel, practices, adjust="none", outcome="poli_dbc_cost")
    assert any("no log O/E" in str(w.message) and str(w.message).endswith("ranks: C.")
               for w in caught)
    t = r.tables["practices"].set_index("practice")
    rate = 2000.0 / 11.0
    e = np.array([2, 1, 1]) * rate
    o = np.array([400.0, 0.0, 200.0])
    ratio = 600.0 / e.sum()
    se = math.sqrt(3 / 2 * np.sum((o - ratio * e) ** 2)) / e.sum()
    assert t.loc["A", "estimate"] == pytest.approx(ratio, rel=EXACT)
    assert t.loc["A", "std_error"] == pytest.approx(se / ratio, rel=1e-10)
    z = stats.norm.ppf(0.975)
    assert t.loc["A", "ci_lower"] == pytest.approx(ratio * math.exp(-z * se / ratio),
                                                   rel=1e-10)
    assert t.loc["A", "n_persons"] == 3
    assert math.isnan(t.loc["C", "shrunken"]) and pd.isna(t.loc["C", "rank_lower"])


def test_age_sex_estimate_is_the_risk_adjustment_by_practice(sample):
    r = _ranking(sample, outcome="ggz_cost", year=2015, adjust="age_sex")
    ra = quiet(kbz.risk_adjustment, sample["person_years"], sample["practices"],
               outcome="ggz_cost", years=[2015], by="practice")
    ours = r.tables["practices"].set_index("practice")
    theirs = ra.tables["observed_expected"].set_index("unit")
    np.testing.assert_allclose(ours["estimate"], theirs.loc[ours.index, "oe_ratio"],
                               rtol=EXACT)
    np.testing.assert_allclose(ours["ci_upper"], theirs.loc[ours.index, "ci_upper"],
                               rtol=1e-10)


def test_regression_estimate_is_the_case_mix_oe(sample):
    r = _ranking(sample, outcome="poli_dbc_count", year=2016, adjust="regression")
    cm = quiet(expected_by_regression, sample["person_years"], sample["practices"],
               outcome="poli_dbc_count", years=[2016])
    ours = r.tables["practices"].set_index("practice")
    theirs = cm.tables["observed_expected"].set_index("practice")
    np.testing.assert_allclose(ours["expected"], theirs.loc[ours.index, "expected"],
                               rtol=1e-12)
    np.testing.assert_allclose(ours["ci_lower"], theirs.loc[ours.index, "ci_lower"],
                               rtol=1e-10)
    assert r.settings["pseudo_r2"] == pytest.approx(
        cm.tables["fit"].iloc[0]["pseudo_r2"])


def test_small_practices_shrink_more_on_the_sample(sample):
    r = _ranking(sample, outcome="poli_dbc_cost", year=2016, adjust="age_sex")
    t = r.tables["practices"]
    smallest = t.loc[t["n_persons"].idxmin()]
    largest = t.loc[t["n_persons"].idxmax()]
    assert smallest["shrinkage"] > largest["shrinkage"]
    assert stats.spearmanr(t["n_persons"], t["shrinkage"]).statistic < -0.9
    moved = np.abs(np.log(t["shrunken"]) - np.log(t["estimate"]))
    assert moved[t["n_persons"].idxmin()] > moved[t["n_persons"].idxmax()]


def test_practices_that_do_not_differ_all_get_the_pooled_mean():
    """Every practice holds the same persons' values (scaled copies), so every O/E is 1,
    Q = 0 and τ² = 0: every shrunken O/E is the pooled 1 and every rank interval 1…k."""
    values = np.array([0.0, 100.0, 250.0, 40.0, 900.0, 10.0])
    rows = []
    for p, copies in zip("ABCDE", (1, 2, 3, 4, 5), strict=True):
        for c in range(copies):
            for i, val in enumerate(values):
                rows.append({"person_id": f"{p}{c}-{i}", "year": 2015, "practice_id": p,
                             "insured_days": 365, "poli_dbc_cost": val})
    panel = pd.DataFrame(rows)
    practices = pd.DataFrame({"practice_id": list("ABCDE"),
                              "group": ["kbz", "kbz", "control", "control", "control"]})
    r = quiet(practice_ranking, panel, practices, adjust="none")
    t = r.tables["practices"]
    np.testing.assert_allclose(t["estimate"], 1.0, rtol=EXACT)
    het = r.tables["heterogeneity"].set_index("method")
    assert het.loc["REML", "tau2"] == 0.0 and het.loc["DerSimonian–Laird", "tau2"] == 0.0
    np.testing.assert_allclose(t["shrunken"], 1.0, rtol=1e-12)
    assert (t["rank_lower"] == 1).all() and (t["rank_upper"] == 5).all()


#: Person-level simulation (seeds 0–99): 12 practices of 60 … 3,000 persons, one year,
#: Poisson DBC counts at 1.2 per insured year × the practice's exp(θ), θ ~ N(0, 0.15²);
#: ``practice_ranking(adjust="none")``. Measured: MSE of log O/E, shrunken / own = 0.739
#: (0.495 for the smallest practice, 0.998 for the largest); 95 % rank intervals cover the
#: true rank in 98.3 % with a mean width of 5.9 of the 12 ranks; 95 % posterior intervals
#: cover the true log O/E in 95.1 % (the own intervals 94.9 %).
PERSON_MSE_RATIO_MAX = 0.85
PERSON_SMALLEST_RATIO_MAX = 0.65
PERSON_RANK_COVERAGE = (0.93, 0.995)
PERSON_RANK_WIDTH_MAX = 0.6
PERSON_POSTERIOR_COVERAGE = (0.92, 0.975)


@pytest.mark.slow
def test_shrunken_practice_estimates_beat_own_estimates_in_a_person_level_simulation():
    k = 12
    sizes = np.round(np.geomspace(60, 3000, k)).astype(int)
    ids = np.array([f"Q{i:02d}" for i in range(k)])
    practices = pd.DataFrame({"practice_id": ids, "group": ["kbz", "control"] * (k // 2)})
    home = np.repeat(np.arange(k), sizes)
    person_ids = np.array([f"x{i}" for i in range(len(home))])
    err_own, err_shrunk, rank_in, post_in, width = [], [], [], [], []
    for seed in range(100):
        rng = np.random.default_rng(seed)
        theta = 0.15 * rng.standard_normal(k)
        panel = pd.DataFrame({"person_id": person_ids, "year": 2015,
                              "practice_id": ids[home], "insured_days": 365,
                              "poli_dbc_count": rng.poisson(1.2 * np.exp(theta[home]))})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            r = practice_ranking(panel, practices, outcome="poli_dbc_count",
                                 adjust="none", n_sim=1000, seed=seed)
        t = r.tables["practices"]
        # the O/E a practice would have in expectation: its rate over the pooled rate
        truth = theta - np.log(np.sum(sizes * np.exp(theta)) / sizes.sum())
        err_own.append((np.log(t["estimate"].to_numpy()) - truth) ** 2)
        err_shrunk.append((np.log(t["shrunken"].to_numpy()) - truth) ** 2)
        true_rank = stats.rankdata(theta)
        rank_in.append((t["rank_lower"].to_numpy(dtype=float) <= true_rank)
                       & (true_rank <= t["rank_upper"].to_numpy(dtype=float)))
        width.append((t["rank_upper"] - t["rank_lower"] + 1).to_numpy(dtype=float))
        post_in.append((np.log(t["shrunken_lower"].to_numpy()) <= truth)
                       & (truth <= np.log(t["shrunken_upper"].to_numpy())))
    err_own, err_shrunk = np.array(err_own), np.array(err_shrunk)
    assert err_shrunk.mean() / err_own.mean() < PERSON_MSE_RATIO_MAX
    # the smallest practice gains most
    assert err_shrunk[:, 0].mean() / err_own[:, 0].mean() < PERSON_SMALLEST_RATIO_MAX
    assert PERSON_RANK_COVERAGE[0] < np.mean(rank_in) < PERSON_RANK_COVERAGE[1]
    assert np.mean(width) < PERSON_RANK_WIDTH_MAX * k
    assert PERSON_POSTERIOR_COVERAGE[0] < np.mean(post_in) < PERSON_POSTERIOR_COVERAGE[1]


# --------------------------------------------------------------------------- contract
def test_result_contract_tables_and_words(sample):
    panel = sample["person_years"]
    before = panel.copy()
    r = _ranking(sample, outcome="poli_dbc_cost", year=2016)
    pd.testing.assert_frame_equal(panel, before)
    assert list(r.tidy().columns[:len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    assert len(r.tidy()) == 2 * 12 + 2
    assert list(r.tables["practices"].columns) == [
        "practice", "group", "n_persons", "insured_years", "observed", "expected",
        "crude_rate", "estimate", "std_error", "ci_lower", "ci_upper", "shrunken",
        "shrunken_lower", "shrunken_upper", "shrinkage", "rank", "rank_lower",
        "rank_upper"]
    het = r.tables["heterogeneity"]
    assert list(het["method"]) == ["REML", "DerSimonian–Laird"]
    assert list(het["used"]) == [True, False]
    assert {"tau2", "i2", "q", "df"} <= set(het.columns)
    t = r.tables["practices"]
    assert set(t["group"]) == {"kbz", "control"}
    assert sorted(t["rank"]) == list(range(1, 13))
    assert (t["rank_lower"] <= t["rank"]).all() and (t["rank"] <= t["rank_upper"]).all()
    assert (t["shrunken_lower"] < t["shrunken"]).all()
    head = r.headline()
    assert "6 KBZ, 6 control" in head and "against the mean of all 12" in head
    assert "2016" in head and "age band × sex" in head
    assert "DerSimonian–Laird" in r.method and "rank 1 is the lowest" in r.method
    assert r.settings["seed"] == 0 and r.settings["n_sim"] == 4000
    assert "\n" not in repr(r) and "<table" in r._repr_html_()
    tidy = r.tidy().set_index("term")
    assert tidy.loc["pooled_oe", "n"] == 31697  # distinct persons of 2016 (one row each)
    assert tidy.loc["shrunken_oe_OV01", "ci_lower"] == t.set_index("practice").loc[
        "OV01", "shrunken_lower"]
    again = _ranking(sample, outcome="poli_dbc_cost", year=2016)
    pd.testing.assert_frame_equal(again.tables["practices"], t)  # fixed seed
    for table in r.tables.values():
        assert not table.astype(str).apply(lambda c: c.str.match(r"^P\d{7}$")).any().any()


def test_caterpillar_draws_exactly_the_plot_data(sample):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    r = _ranking(sample, outcome="poli_dbc_cost", year=2016)
    data = r.plot_data()
    assert data["shrunken"].is_monotonic_increasing
    assert list(data["position"]) == list(range(12))
    ax = r.plot()
    assert len(ax.containers) == 2  # own intervals, one error bar per group
    colours = set()
    for container in ax.containers:
        group = "kbz" if container.get_label().startswith("KBZ") else "control"
        sub = data[data["group"] == group]
        line, _, (bars,) = container.lines
        np.testing.assert_allclose(line.get_xdata(), sub["estimate"])
        np.testing.assert_allclose(line.get_ydata(), sub["position"])
        segs = bars.get_segments()
        np.testing.assert_allclose([s[:, 0].min() for s in segs], sub["ci_lower"])
        np.testing.assert_allclose([s[:, 0].max() for s in segs], sub["ci_upper"])
        colours.add(line.get_color())
    assert len(colours) == 2  # KBZ and control are told apart
    shrunk = [c for c in ax.collections if str(c.get_gid()).startswith("shrunken_")]
    assert len(shrunk) == 2
    for coll in shrunk:
        group = coll.get_gid().removeprefix("shrunken_")
        sub = data[data["group"] == group]
        np.testing.assert_allclose(coll.get_offsets(),
                                   np.column_stack([sub["shrunken"], sub["position"]]))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(data["practice"])
    pooled = r.tables["heterogeneity"].query("used")["pooled"].iloc[0]
    assert any(np.allclose(ln.get_xdata(), pooled) for ln in ax.get_lines())
    assert any(np.allclose(ln.get_xdata(), 1.0) for ln in ax.get_lines())
    plt.close(ax.figure)
    _, own_ax = plt.subplots()
    assert r.plot(ax=own_ax) is own_ax
    plt.close(own_ax.figure)


@pytest.mark.parametrize("kwargs, match", [
    ({"adjust": "age"},
     r"`adjust` must be one of \['none', 'age_sex', 'regression'\], but 'age' was passed"),
    ({"tau2_method": "pm"},
     r"`tau2_method` must be one of \['reml', 'dl'\], but 'pm' was passed"),
    ({"year": "2016"}, r"`year` must be None \(every year\) or a calendar year"),
    ({"year": 2030}, r"`year` must be a year in the panel \[2012, .*2016\], but 2030"),
    ({"year": 2030, "adjust": "regression"}, r"`year` must be a year in the panel"),
    ({"n_sim": 10}, r"`n_sim` must be an integer of at least 200, but 10 was passed"),
    ({"seed": -1}, r"`seed` must be a non-negative integer or None, but -1"),
    ({"alpha": 0}, r"`alpha` must be a number strictly between 0 and 1"),
    ({"adjust": "regression", "model": "ols"},
     r"`model` must be one of \['poisson', 'negbin'\], but 'ols' was passed"),
    ({"adjust": "regression", "covariates": ["postcode"]},
     r"`covariates` must be one of \[.*\], but 'postcode' was passed"),
    ({"population": "rich"}, r"`population` must be one of \['minima', 'all'\]"),
])
def test_bad_options(sample, kwargs, match):
    with pytest.raises(SpecificationError, match=match):
        practice_ranking(sample["person_years"], sample["practices"], **kwargs)


def test_too_few_practices_is_an_error():
    panel = pd.DataFrame({"person_id": ["a", "b", "c", "d"], "year": 2015,
                          "practice_id": ["A", "A", "B", "B"], "insured_days": 365,
                          "poli_dbc_cost": [1.0, 2.0, 3.0, 5.0]})
    practices = pd.DataFrame({"practice_id": ["A", "B"], "group": ["kbz", "control"]})
    with pytest.raises(SpecificationError, match=r"at least 3 practices with an "
                       r"estimate, but 2"):
        quiet(practice_ranking, panel, practices, adjust="none")
