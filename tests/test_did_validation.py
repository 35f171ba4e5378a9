"""``kbz.did`` on synthetic panels with a planted effect.

Fast: a noise-free panel recovers the effect exactly; row order, column order and the
coding of ids do not change any result (bootstrap included); the caller's frame is left
alone. Slow (``@pytest.mark.slow``, run in CI): bias and 95% coverage over many seeds,
and the wild cluster bootstrap and CR2 against CR1 with few clusters.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import kbz_eval as kbz
from kbz_eval.errors import StatisticalWarning

TAU = 1.0
#: The noise-free panel must give the planted effect to this absolute precision.
EXACT_TOL = 1e-10
#: Width allowed for the bootstrap interval of a noise-free panel (round-off residuals).
DEGENERATE_CI_TOL = 1e-6
#: |mean bias| must be below this fraction of the estimator's Monte Carlo SD.
BIAS_TOL_SD = 0.1
#: Accepted band for the empirical coverage of nominal 95% intervals.
COVERAGE_BAND = (0.92, 0.98)


def planted_panel(
    seed: int,
    *,
    n_units: int = 40,
    n_periods: int = 6,
    start: int = 3,
    rho: float = 0.5,
    noise: float = 1.0,
) -> pd.DataFrame:
    """Half the units treated from period ``start`` with effect ``TAU``.

    Unit effects correlated with treatment (treated units are higher), period effects,
    and AR(1) errors within units (``rho``), so clustering by unit matters.
    """
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(n_periods), n_units)
    treated = unit < n_units // 2
    errors = np.empty((n_units, n_periods))
    errors[:, 0] = rng.normal(size=n_units)
    for t in range(1, n_periods):
        errors[:, t] = rho * errors[:, t - 1] + np.sqrt(1 - rho**2) * rng.normal(size=n_units)
    d = (treated & (period >= start)).astype(int)
    y = (
        rng.normal(size=n_units)[unit] + 0.5 * treated
        + rng.normal(size=n_periods)[period]
        + TAU * d
        + noise * errors.ravel()
    )
    return pd.DataFrame({"unit": unit, "period": period, "treat": d, "y": y})


def practice_panel(
    seed: int,
    *,
    n_practices: int = 40,
    persons: int = 5,
    n_treated: int | None = None,
    n_periods: int = 6,
    start: int = 3,
    drop: float = 0.0,
) -> pd.DataFrame:
    """Persons (units) in practices (clusters); treatment assigned per practice.

    Errors: a practice × period shock shared by its persons plus person noise; a
    time-varying covariate that also shifts the outcome. With ``drop`` > 0 a share of the
    person-years is removed at random (keeping each person's first and last period), so
    the panel is unbalanced.
    """
    rng = np.random.default_rng(seed)
    n_treated = n_practices // 2 if n_treated is None else n_treated
    n_units = n_practices * persons
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(n_periods), n_units)
    practice = unit // persons
    treated = practice < n_treated
    d = (treated & (period >= start)).astype(int)
    shock = rng.normal(size=(n_practices, n_periods))[practice, period]
    x = rng.normal(size=unit.size) + 0.2 * period
    y = (
        rng.normal(size=n_units)[unit]
        + rng.normal(size=n_periods)[period]
        + TAU * d
        + 0.5 * x
        + shock
        + rng.normal(size=unit.size)
    )
    frame = pd.DataFrame(
        {"person": unit, "practice": practice, "period": period, "treat": d, "x": x, "y": y}
    )
    if drop:
        keep = (rng.random(unit.size) > drop) | np.isin(period, [0, n_periods - 1])
        frame = frame[keep].reset_index(drop=True)
    return frame


def _estimate(df: pd.DataFrame, **kwargs) -> pd.DataFrame:
    opts = {"outcome": "y", "unit": "unit", "time": "period", "treatment": "treat"}
    opts.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return kbz.did(df, **opts).tidy()


# --------------------------------------------------------------------------- noise-free
def test_noise_free_balanced_panel_recovers_the_effect_exactly():
    df = planted_panel(0, noise=0.0)
    tidy = _estimate(df)
    assert abs(tidy.loc[0, "estimate"] - TAU) < EXACT_TOL
    assert tidy.loc[0, "std_error"] < EXACT_TOL


def test_noise_free_unbalanced_panel_with_covariate_recovers_the_effect_exactly():
    df = practice_panel(0, drop=0.3)
    rng = np.random.default_rng(1)
    unit_fx = rng.normal(size=df["person"].max() + 1)
    df["y"] = unit_fx[df["person"]] + 0.3 * df["period"] ** 2 + TAU * df["treat"] + 0.5 * df["x"]
    res = kbz.did(df, outcome="y", unit="person", time="period", treatment="treat",
                  cluster="practice", covariates=["x"])
    coefs = res.tables["coefficients"].set_index("term")["estimate"]
    assert abs(coefs["treat"] - TAU) < EXACT_TOL
    assert abs(coefs["x"] - 0.5) < EXACT_TOL


def test_noise_free_few_clusters_bootstrap_interval_collapses_on_the_effect():
    df = practice_panel(2, n_practices=8, n_treated=3, persons=2)
    df["y"] = df["person"] * 0.1 + df["period"] * 0.2 + TAU * df["treat"]
    with pytest.warns(StatisticalWarning):
        res = kbz.did(df, outcome="y", unit="person", time="period", treatment="treat",
                      cluster="practice", n_boot=199)
    wb = res.tidy().set_index("term").loc["att_wild_bootstrap"]
    assert abs(wb["estimate"] - TAU) < EXACT_TOL
    # residuals are pure round-off, so the interval shrinks to a round-off-sized band
    assert abs(wb["ci_lower"] - TAU) < DEGENERATE_CI_TOL
    assert abs(wb["ci_upper"] - TAU) < DEGENERATE_CI_TOL
    assert wb["ci_lower"] <= TAU + EXACT_TOL and wb["ci_upper"] >= TAU - EXACT_TOL


# --------------------------------------------------------------------------- invariance
@pytest.fixture(scope="module")
def few_cluster_panel() -> pd.DataFrame:
    """Unbalanced, 10 practices: the (random, Webb-weight) bootstrap runs."""
    return practice_panel(7, n_practices=10, n_treated=4, persons=3, drop=0.2)


def _full(df: pd.DataFrame, **kwargs):
    opts = {"outcome": "y", "unit": "person", "time": "period", "treatment": "treat",
            "cluster": "practice", "covariates": ["x"], "n_boot": 499, "seed": 3}
    opts.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return kbz.did(df, **opts)


def _assert_same(a, b, *, tables: bool = True) -> None:
    pd.testing.assert_frame_equal(a.tidy(), b.tidy(), check_exact=True)
    if tables:
        for name in a.tables:
            pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True)


def test_row_order_does_not_change_results(few_cluster_panel):
    base = _full(few_cluster_panel)
    assert "att_wild_bootstrap" in set(base.tidy()["term"])
    shuffled = few_cluster_panel.sample(frac=1.0, random_state=12).reset_index(drop=True)
    _assert_same(base, _full(shuffled))
    reversed_rows = few_cluster_panel.iloc[::-1]
    _assert_same(base, _full(reversed_rows))


def test_column_order_does_not_change_results(few_cluster_panel):
    base = _full(few_cluster_panel)
    _assert_same(base, _full(few_cluster_panel[few_cluster_panel.columns[::-1]]))


def test_id_coding_does_not_change_results(few_cluster_panel):
    base = _full(few_cluster_panel)
    df = few_cluster_panel
    as_text = df.assign(person="p" + df["person"].astype(str),
                        practice="practice-" + df["practice"].astype(str))
    _assert_same(base, _full(as_text))
    as_category = df.assign(person=df["person"].astype("category"),
                            practice=df["practice"].astype(str).astype("category"))
    _assert_same(base, _full(as_category))
    # an arbitrary relabelling that reverses the order of the ids
    relabelled = df.assign(person=10_000 - df["person"], practice=(df["practice"] * 7919) % 10007)
    _assert_same(base, _full(relabelled))
    as_bool = df.assign(treat=df["treat"].astype(bool))
    _assert_same(base, _full(as_bool))


def test_time_coding_does_not_change_estimates(few_cluster_panel):
    base = _full(few_cluster_panel)
    labels = {p: f"wave {p}" for p in range(6)}
    ordered = few_cluster_panel.assign(
        period=pd.Categorical(few_cluster_panel["period"].map(labels),
                              categories=list(labels.values()), ordered=True)
    )
    _assert_same(base, _full(ordered), tables=False)
    as_year = few_cluster_panel.assign(period=few_cluster_panel["period"] + 2012)
    _assert_same(base, _full(as_year), tables=False)


def test_the_callers_frame_is_not_modified(few_cluster_panel):
    df = few_cluster_panel.copy(deep=True)
    df["practice"] = df["practice"].astype("category")
    before = df.copy(deep=True)
    _full(df)
    pd.testing.assert_frame_equal(df, before, check_exact=True)
    assert list(df.columns) == list(before.columns)


# --------------------------------------------------------------------------- Monte Carlo
#: Seeds of the main scenario (SE of a 95% coverage estimate: 0.007).
N_SEEDS_MAIN = 1000
#: Seeds of the person-in-practice scenario.
N_SEEDS_PRACTICE = 400
#: Seeds and bootstrap replicates of the few-clusters scenario.
N_SEEDS_FEW, N_BOOT_FEW = 400, 399


@pytest.mark.slow
def test_bias_and_cr1_coverage_balanced_panel_ar1_errors():
    """40 units (20 treated from period 3 of 0..5), AR(1) errors, clustered by unit.

    Measured: mean bias -0.004 (0.014 SD), coverage 0.962, mean SE / SD 1.05.
    """
    rows = [_estimate(planted_panel(seed)).iloc[0] for seed in range(N_SEEDS_MAIN)]
    est = np.array([r["estimate"] for r in rows])
    se = np.array([r["std_error"] for r in rows])
    covered = np.array([r["ci_lower"] <= TAU <= r["ci_upper"] for r in rows])
    sd = est.std(ddof=1)
    assert abs(est.mean() - TAU) < BIAS_TOL_SD * sd
    assert COVERAGE_BAND[0] <= covered.mean() <= COVERAGE_BAND[1]
    # the CR1 standard error tracks the estimator's spread (within 10%)
    assert 0.9 < se.mean() / sd < 1.1


@pytest.mark.slow
def test_bias_and_cr1_coverage_unbalanced_persons_in_practices():
    """40 practices × 5 persons, 30% of middle person-years dropped, covariate,
    practice × period shocks; clustered by practice.

    Measured: mean bias -0.002 (0.008 SD), coverage 0.938, mean SE / SD 0.98.
    """
    rows = [
        _estimate(practice_panel(seed, drop=0.3), unit="person", cluster="practice",
                  covariates=["x"]).iloc[0]
        for seed in range(N_SEEDS_PRACTICE)
    ]
    est = np.array([r["estimate"] for r in rows])
    covered = np.array([r["ci_lower"] <= TAU <= r["ci_upper"] for r in rows])
    assert abs(est.mean() - TAU) < BIAS_TOL_SD * est.std(ddof=1)
    assert COVERAGE_BAND[0] <= covered.mean() <= COVERAGE_BAND[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("n_practices", "n_treated", "weights"),
    [
        (12, 3, "rademacher"),  # measured over 400 seeds: CR1 0.873, WCR 0.938, CR2 0.955
        (8, 3, "webb"),  # measured over 400 seeds: CR1 0.915, WCR 0.938, CR2 0.968
    ],
)
def test_wild_bootstrap_and_cr2_beat_cr1_with_few_clusters(n_practices, n_treated, weights):
    """Practices × 5 persons, treatment assigned per practice (the default cluster):
    CR1 with t(G-1) under-covers; the WCR interval (test inversion) and CR2 with
    Bell–McCaffrey degrees of freedom are closer to 95% on the same seeds."""
    cr1, wcr, cr2 = [], [], []
    opts = {"outcome": "y", "unit": "person", "time": "period", "treatment": "treat",
            "assignment": "practice", "covariates": ["x"]}
    for seed in range(N_SEEDS_FEW):
        df = practice_panel(seed, n_practices=n_practices, n_treated=n_treated)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            res = kbz.did(df, n_boot=N_BOOT_FEW, seed=seed, **opts)
            res2 = kbz.did(df, vcov="CR2", wild_bootstrap=False, **opts)
        assert res.settings["bootstrap_weights"] == weights
        assert res.settings["cluster"] == "practice"
        tidy = res.tidy().set_index("term")
        cr1.append(tidy.loc["att", "ci_lower"] <= TAU <= tidy.loc["att", "ci_upper"])
        wb = tidy.loc["att_wild_bootstrap"]
        wcr.append(wb["ci_lower"] <= TAU <= wb["ci_upper"])
        att2 = res2.tidy().iloc[0]
        cr2.append(att2["ci_lower"] <= TAU <= att2["ci_upper"])
    cov_cr1, cov_wcr, cov_cr2 = np.mean(cr1), np.mean(wcr), np.mean(cr2)
    assert cov_cr1 < cov_wcr  # CR1 intervals are too short with so few clusters
    assert abs(cov_wcr - 0.95) < abs(cov_cr1 - 0.95)
    assert abs(cov_cr2 - 0.95) < abs(cov_cr1 - 0.95)
    assert COVERAGE_BAND[0] <= cov_wcr <= COVERAGE_BAND[1]
    assert COVERAGE_BAND[0] <= cov_cr2 <= COVERAGE_BAND[1]
