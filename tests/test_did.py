"""``kbz.did``: two-way fixed-effects difference-in-differences.

Outside references used here:

- Card & Krueger (1994), "Minimum wages and employment", AER 84(4), Table 3 (also
  Angrist & Pischke 2009, *Mostly Harmless Econometrics*, Table 5.2.1): mean full-time
  equivalent employment per store, Pennsylvania 23.33 → 21.17, New Jersey 20.44 → 21.03;
  published difference-in-differences 2.76 (computed from unrounded means).
- The mpdta county teen-employment panel (Callaway & Sant'Anna 2021; R package `did`)
  in ``../shared/data/did`` with R `did` 2.5.0 output: for the 2004 cohort against
  never-treated counties the two-way fixed-effects coefficient equals R's group
  aggregation for 2004 (see :func:`test_mpdta_one_cohort_matches_r_did_and_dummies`).
- statsmodels OLS with explicit unit and period dummies and ``cov_type="cluster"``.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import scipy.stats  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402

import kbz_eval as kbz  # noqa: E402
from kbz_eval.errors import SpecificationError, StatisticalWarning  # noqa: E402
from kbz_eval.estimators.did import DiDResult  # noqa: E402
from kbz_eval.results import TIDY_COLUMNS  # noqa: E402
from kbz_eval.stats._linalg import Grouping  # noqa: E402
from kbz_eval.stats.pvalues import format_p  # noqa: E402
from kbz_eval.stats.wild import (  # noqa: E402
    WEBB_POINTS,
    draw_weights,
    wild_cluster_bootstrap,
)

#: Agreement with an independent dummy-variable regression (float64 round-off only).
COEF_TOL = 1e-8
#: Agreement of standard errors after the documented small-sample conversion.
SE_TOL = 1e-8
#: R output is stored with 15 significant digits.
R_TOL = 1e-10
#: Agreement of CR2 and its Bell–McCaffrey degrees of freedom with the written-out
#: definitions on the full dummy-variable design (matrix square roots: round-off only).
CR2_TOL = 1e-7


def make_panel(
    *,
    n_units: int = 40,
    n_periods: int = 6,
    start: int = 3,
    n_treated: int | None = None,
    per_cluster: int = 1,
    tau: float = 1.0,
    noise: float = 1.0,
    seed: int = 0,
    covariate: bool = False,
) -> pd.DataFrame:
    """Balanced panel: units in clusters (``practice``), half treated from ``start``."""
    rng = np.random.default_rng(seed)
    n_treated = n_units // 2 if n_treated is None else n_treated
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(n_periods), n_units)
    treated = unit < n_treated
    d = (treated & (period >= start)).astype(int)
    y = (
        rng.normal(size=n_units)[unit]
        + rng.normal(size=n_periods)[period]
        + tau * d
        + noise * rng.normal(size=unit.size)
    )
    out = pd.DataFrame({
        "unit": unit,
        "practice": unit // per_cluster,
        "year": 2010 + period,
        "treat": d,
        "y": y,
    })
    if covariate:
        out["x"] = rng.normal(size=unit.size) + 0.3 * d
        out["y"] = out["y"] + 0.7 * out["x"]
    return out


def dummy_ols(df: pd.DataFrame, formula: str, cluster: str):
    groups = pd.factorize(df[cluster])[0]
    return smf.ols(formula, data=df).fit(cov_type="cluster", cov_kwds={"groups": groups})


def run(df: pd.DataFrame, **kwargs) -> DiDResult:
    opts = {"outcome": "y", "unit": "unit", "time": "year", "treatment": "treat"}
    opts.update(kwargs)
    return kbz.did(df, **opts)


# --------------------------------------------------------------------------- exactness
def test_balanced_panel_matches_dummy_regression_and_cr1_conversion():
    """Coefficient equals OLS with full dummies; the CR1 SE equals statsmodels' after
    its K (all unit dummies counted, like Stata ``areg``) is replaced by ours (unit
    effects nested in the unit clusters not counted, fixest ``fixef.K="nested"``)."""
    df = make_panel(seed=11)
    res = run(df)
    att = res.tidy().iloc[0]
    ref = dummy_ols(df, "y ~ treat + C(unit) + C(year)", "unit")
    assert abs(att["estimate"] - ref.params["treat"]) < COEF_TOL
    n = len(df)
    k_all = ref.df_model + 1  # every parameter of the dummy regression
    k_nested = 1 + (df["year"].nunique() - 1)  # treatment + period effects
    assert res.settings["k_dof"] == k_nested
    expected_se = ref.bse["treat"] * np.sqrt((n - k_all) / (n - k_nested))
    assert abs(att["std_error"] - expected_se) < SE_TOL
    assert res.settings["t_df"] == df["unit"].nunique() - 1


def test_unbalanced_panel_with_covariate_and_practice_clusters_is_exact():
    """Unbalanced, several rows per unit-period, a covariate, clusters above units."""
    df = make_panel(n_units=60, per_cluster=3, seed=5, covariate=True)
    rng = np.random.default_rng(8)
    # drop rows but keep every unit on both sides of the start, and duplicate some rows
    keep = rng.random(len(df)) > 0.25
    keep |= df["year"].isin([2012, 2013]).to_numpy()
    df = df[keep]
    extra = df.sample(40, random_state=3).assign(y=lambda f: f["y"] + rng.normal(size=40))
    df = pd.concat([df, extra], ignore_index=True)
    with pytest.warns(StatisticalWarning, match="Only 20 clusters"):
        res = run(df, cluster="practice", covariates=["x"], n_boot=199)
    ref = dummy_ols(df, "y ~ treat + x + C(unit) + C(year)", "practice")
    coefs = res.tables["coefficients"].set_index("term")
    assert abs(coefs.loc["treat", "estimate"] - ref.params["treat"]) < COEF_TOL
    assert abs(coefs.loc["x", "estimate"] - ref.params["x"]) < COEF_TOL
    n, k_all, k_nested = len(df), ref.df_model + 1, 2 + 5
    ratio = np.sqrt((n - k_all) / (n - k_nested))
    assert abs(coefs.loc["treat", "std_error"] - ref.bse["treat"] * ratio) < SE_TOL
    assert abs(coefs.loc["x", "std_error"] - ref.bse["x"] * ratio) < SE_TOL
    assert res.tidy().loc[0, "n_clusters"] == 20


def test_clusters_that_do_not_nest_units_count_the_unit_effects():
    df = make_panel(n_units=30, seed=2)
    with pytest.warns(StatisticalWarning) as rec:
        res = run(df, cluster="year")
    texts = [str(w.message) for w in rec]
    assert any("finer than (or cuts across)" in t and "30 of 30" in t for t in texts)
    assert any("not nested" in t for t in texts)
    ref = dummy_ols(df, "y ~ treat + C(unit) + C(year)", "year")
    n, k_all = len(df), ref.df_model + 1
    k_ours = 1 + df["unit"].nunique()  # period effects nested in year clusters
    assert res.settings["k_dof"] == k_ours
    assert not res.settings["units_nested_in_clusters"]
    att = res.tidy().iloc[0]
    assert abs(att["std_error"] - ref.bse["treat"] * np.sqrt((n - k_all) / (n - k_ours))) < SE_TOL
    assert "att_wild_bootstrap" not in set(res.tidy()["term"])
    with pytest.raises(SpecificationError, match="nested"):
        run(df, cluster="year", wild_bootstrap=True)


def test_balanced_two_by_two_equals_difference_of_group_means():
    df = make_panel(seed=4)
    res = run(df)
    means = df.assign(
        group=np.where(df["unit"] < 20, "treated", "control"),
        period=np.where(df["year"] >= 2013, "post", "pre"),
    ).groupby(["group", "period"])["y"].mean()
    did_of_means = (means["treated", "post"] - means["treated", "pre"]) - (
        means["control", "post"] - means["control", "pre"]
    )
    assert abs(res.tidy().loc[0, "estimate"] - did_of_means) < COEF_TOL
    table = res.tables["group_means"].set_index(["group", "period"])["mean_outcome"]
    for key, value in means.items():
        assert abs(table[key] - value) < 1e-12


def test_group_means_by_time_match_pandas():
    df = make_panel(n_units=20, seed=9)
    df = df.drop(index=[0, 7, 50]).reset_index(drop=True)
    res = run(df, wild_bootstrap=False, few_clusters=0)
    got = res.plot_data()
    ref = (
        df.assign(group=np.where(df["unit"] < 10, "treated", "control"))
        .groupby(["group", "year"])
        .agg(mean_outcome=("y", "mean"), n_obs=("y", "size"), n_units=("unit", "nunique"))
    )
    assert len(got) == len(ref) == 12
    for row in got.itertuples():
        expected = ref.loc[(row.group, row.time)]
        assert abs(row.mean_outcome - expected["mean_outcome"]) < 1e-12
        assert row.n_obs == expected["n_obs"] and row.n_units == expected["n_units"]
        assert row.post == (row.time >= 2013)
    assert res.settings["treatment_start"] == 2013


# --------------------------------------------------------------------------- references
#: Card & Krueger (1994), Table 3, rows 1-2, all available observations: mean FTE
#: employment per store. Store counts: 331 New Jersey, 79 Pennsylvania stores.
CK_MEANS = {("NJ", "before"): 20.44, ("NJ", "after"): 21.03,
            ("PA", "before"): 23.33, ("PA", "after"): 21.17}
CK_STORES = {"NJ": 331, "PA": 79}
#: Published difference-in-differences (Table 3, row 3, column iii), from unrounded means.
CK_PUBLISHED_DID = 2.76
#: Each of the four published means is rounded to 0.005, so the DiD of rounded means can
#: differ from the published DiD by at most 0.02.
CK_ROUNDING_TOL = 0.02


def test_card_krueger_textbook_two_by_two():
    """A store panel with exactly the published cell means gives the published DiD.

    The store-level spread is synthetic (only the four means are published), so only the
    point estimate is a reference; standard errors are not compared.
    """
    rng = np.random.default_rng(1994)
    rows = []
    for state, n_stores in CK_STORES.items():
        for wave in ("before", "after"):
            dev = rng.normal(scale=8.0, size=n_stores)
            fte = CK_MEANS[(state, wave)] + dev - dev.mean()
            rows.append(pd.DataFrame({
                "store": [f"{state}{i:03d}" for i in range(n_stores)],
                "state": state,
                "wave": 0 if wave == "before" else 1,
                "fte": fte,
            }))
    stores = pd.concat(rows, ignore_index=True)
    stores["nj_after"] = ((stores["state"] == "NJ") & (stores["wave"] == 1)).astype(int)
    res = kbz.did(stores, outcome="fte", unit="store", time="wave", treatment="nj_after")
    est = res.tidy().loc[0, "estimate"]
    textbook = (CK_MEANS["NJ", "after"] - CK_MEANS["NJ", "before"]) - (
        CK_MEANS["PA", "after"] - CK_MEANS["PA", "before"]
    )
    assert abs(est - textbook) < 1e-10
    assert abs(est - CK_PUBLISHED_DID) <= CK_ROUNDING_TOL
    cells = res.tables["group_means"].set_index(["group", "period"])["mean_outcome"]
    assert abs(cells["treated", "pre"] - CK_MEANS["NJ", "before"]) < 1e-10
    assert abs(cells["control", "post"] - CK_MEANS["PA", "after"]) < 1e-10
    assert res.tidy().loc[0, "n_treated_units"] == CK_STORES["NJ"]


def _mpdta(shared_data) -> pd.DataFrame:
    path = shared_data / "did" / "mpdta.csv"
    if not path.exists():
        pytest.skip(f"{path} not found")
    mp = pd.read_csv(path)
    mp["treat_post"] = ((mp["first.treat"] > 0) & (mp["year"] >= mp["first.treat"])).astype(int)
    return mp


@pytest.mark.data
def test_mpdta_staggered_adoption_is_refused(shared_data):
    mp = _mpdta(shared_data)
    cohorts = mp[mp["first.treat"] > 0].groupby("first.treat")["countyreal"].nunique()
    expected = ", ".join(f"{g} ({n} units)" for g, n in cohorts.items())
    with pytest.raises(SpecificationError, match="Staggered adoption") as info:
        kbz.did(mp, outcome="lemp", unit="countyreal", time="year", treatment="treat_post")
    text = str(info.value)
    assert expected in text
    assert "Goodman-Bacon" in text and "Callaway" in text


@pytest.mark.data
def test_mpdta_one_cohort_matches_r_did_and_dummies(shared_data):
    """Counties first treated in 2004 against never-treated counties, 2003-2007.

    With one cohort, one pre-period and never-treated controls, the TWFE coefficient is
    the average of the post-period ATT(2004, t) of Callaway & Sant'Anna, i.e. R
    ``did::aggte(att_gt(yname = "lemp", tname = "year", idname = "countyreal",
    gname = "first.treat", data = mpdta, control_group = "nevertreated",
    est_method = "dr"), type = "group")`` for group 2004 (stored in
    ``r_did_2.5.0_aggte.csv``, scenario ``mpdta_nev_dr``). The same coefficient and,
    by fixest's documented default small-sample correction, the same CR1 standard
    error come from ``fixest::feols(lemp ~ treat_post | countyreal + year,
    data = subset(mpdta, first.treat %in% c(0, 2004)), cluster = ~countyreal)``; R is
    not available here, so that call was not run. The SE is checked against statsmodels.
    """
    mp = _mpdta(shared_data)
    sub = mp[mp["first.treat"].isin([0, 2004])]
    res = kbz.did(sub, outcome="lemp", unit="countyreal", time="year", treatment="treat_post")
    att = res.tidy().iloc[0]

    agg = pd.read_csv(shared_data / "did" / "r_did_2.5.0_aggte.csv")
    r_group = agg[(agg["scenario"] == "mpdta_nev_dr") & (agg["type"] == "group")
                  & (agg["egt"] == 2004)]["att_egt"].item()
    assert abs(att["estimate"] - r_group) < R_TOL
    attgt = pd.read_csv(shared_data / "did" / "r_did_2.5.0_attgt.csv")
    r_post = attgt[(attgt["scenario"] == "mpdta_nev_dr") & (attgt["group"] == 2004)
                   & (attgt["t"] >= 2004)]["att"]
    assert len(r_post) == 4 and abs(att["estimate"] - r_post.mean()) < R_TOL

    ref = dummy_ols(sub, "lemp ~ treat_post + C(countyreal) + C(year)", "countyreal")
    assert abs(att["estimate"] - ref.params["treat_post"]) < COEF_TOL
    n, k_all, k_nested = len(sub), ref.df_model + 1, 1 + 4
    expected_se = ref.bse["treat_post"] * np.sqrt((n - k_all) / (n - k_nested))
    assert abs(att["std_error"] - expected_se) < SE_TOL
    assert att["n_clusters"] == 309 + 20 and att["n_treated_units"] == 20
    assert "att_wild_bootstrap" not in set(res.tidy()["term"])  # 329 clusters: not few


@pytest.mark.data
def test_mpdta_time_invariant_covariate_is_refused(shared_data):
    sub = _mpdta(shared_data).query("`first.treat` in [0, 2004]")
    with pytest.raises(SpecificationError, match="does not vary within units"):
        kbz.did(sub, outcome="lemp", unit="countyreal", time="year", treatment="treat_post",
                covariates=["lpop"])


# --------------------------------------------------------------------------- bootstrap
def _brute_force_t(x: np.ndarray, y: np.ndarray, cl: np.ndarray, beta0: float) -> float:
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    e = y - x @ coef
    inv = np.linalg.inv(x.T @ x)
    scores = np.array([x[cl == g].T @ e[cl == g] for g in np.unique(cl)])
    var = inv @ scores.T @ scores @ inv
    return (coef[0] - beta0) / np.sqrt(var[0, 0])


def _brute_force_p(x, y, cl, beta0, weights_by_cluster):
    """WCR p-value by refitting the full dummy model for every weight vector."""
    others = x[:, 1:]
    g_coef, *_ = np.linalg.lstsq(others, y - beta0 * x[:, 0], rcond=None)
    fitted = beta0 * x[:, 0] + others @ g_coef
    resid = y - fitted
    t_obs = abs(_brute_force_t(x, y, cl, beta0))
    t_star = np.array([
        abs(_brute_force_t(x, fitted + w[cl] * resid, cl, beta0)) for w in weights_by_cluster
    ])
    return np.mean(t_star >= t_obs * (1 - 1e-10) - 1e-12)


def _dummy_design(df: pd.DataFrame) -> np.ndarray:
    units = pd.get_dummies(df["unit"]).to_numpy(float)
    years = pd.get_dummies(df["year"], drop_first=True).to_numpy(float)
    return np.column_stack([df["treat"].to_numpy(float), units, years])


def test_wild_bootstrap_enumeration_equals_brute_force_refits():
    """12 clusters: all 4096 Rademacher patterns, so the answer does not depend on the
    order of clusters or on the seed, and a refit-per-pattern computation must agree."""
    df = make_panel(n_units=24, per_cluster=2, n_periods=4, start=2, n_treated=10, seed=21)
    with pytest.warns(StatisticalWarning):
        res = run(df, cluster="practice", seed=1)
    with pytest.warns(StatisticalWarning):
        other_seed = run(df, cluster="practice", seed=2)
    pd.testing.assert_frame_equal(res.tidy(), other_seed.tidy())
    assert res.settings["bootstrap_weights"] == "rademacher"
    assert res.settings["bootstrap_enumerated"] and res.settings["n_boot_used"] == 4096

    x, y, cl = _dummy_design(df), df["y"].to_numpy(), df["practice"].to_numpy()
    patterns = 2.0 * ((np.arange(4096)[:, None] >> np.arange(12)[None, :]) & 1) - 1.0
    wb = res.tidy().set_index("term").loc["att_wild_bootstrap"]
    assert wb["p_value"] == pytest.approx(_brute_force_p(x, y, cl, 0.0, patterns), abs=1e-12)
    # the interval bounds are where the brute-force p-value crosses alpha = 0.05
    for bound, inside in ((wb["ci_lower"], +1), (wb["ci_upper"], -1)):
        step = 1e-6
        assert _brute_force_p(x, y, cl, bound + inside * step, patterns) >= 0.05
        assert _brute_force_p(x, y, cl, bound - inside * step, patterns) < 0.05


def test_wild_bootstrap_function_with_webb_weights_equals_brute_force():
    """The vectorised WCR on an explicit dummy design (nothing absorbed) equals refits."""
    df = make_panel(n_units=16, per_cluster=2, n_periods=4, start=2, n_treated=6, seed=3)
    x, y, cl = _dummy_design(df), df["y"].to_numpy(), df["practice"].to_numpy()
    assert np.linalg.matrix_rank(x) == x.shape[1]  # treatment, 16 unit and 3 year dummies
    others = x[:, 1:]
    proj = others @ np.linalg.lstsq(others, np.column_stack([x[:, 0], y]), rcond=None)[0]
    dt, ry = x[:, 0] - proj[:, 0], y - proj[:, 1]
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    out = wild_cluster_bootstrap(
        partialled_regressor=dt, partialled_response=ry, design=x,
        inverse_gram=np.linalg.inv(x.T @ x), residuals=y - x @ coef,
        clusters=Grouping(cl, 8), alpha=0.1, null=0.5, n_boot=199, seed=7,
    )
    assert out.weights == "webb" and not out.enumerated and out.n_boot == 199
    v, _ = draw_weights(8, 199, "webb", np.random.default_rng(7))
    assert set(np.unique(v)) <= set(WEBB_POINTS)
    assert out.p_value == pytest.approx(_brute_force_p(x, y, cl, 0.5, v.T), abs=1e-12)
    assert _brute_force_p(x, y, cl, out.ci_lower + 1e-6, v.T) >= 0.1
    assert _brute_force_p(x, y, cl, out.ci_lower - 1e-6, v.T) < 0.1


def test_few_clusters_warn_and_report_the_bootstrap():
    df = make_panel(n_units=20, per_cluster=2, seed=6)
    with pytest.warns(StatisticalWarning, match=r"Only 10 clusters") as rec:
        res = run(df, cluster="practice", n_boot=999)
    assert "wild cluster bootstrap" in str(rec[0].message)
    tidy = res.tidy()
    assert list(tidy["term"]) == ["att", "att_wild_bootstrap"]
    att, wb = tidy.iloc[0], tidy.iloc[1]
    assert wb["estimate"] == att["estimate"] and pd.isna(wb["std_error"])
    assert wb["ci_lower"] < att["estimate"] < wb["ci_upper"]
    # the p-value and the test-inversion interval tell the same story about 0
    assert (wb["p_value"] < 0.05) == (not wb["ci_lower"] <= 0 <= wb["ci_upper"])
    assert res.settings["bootstrap_weights"] == "webb"  # fewer than 12 clusters
    assert "Webb" in res.method and "WCR" in res.method
    assert res.warnings and "Only 10 clusters" in res.warnings[0]
    # deterministic given the seed, different for another seed (random Webb draws)
    with pytest.warns(StatisticalWarning):
        again = run(df, cluster="practice", n_boot=999)
    pd.testing.assert_frame_equal(tidy, again.tidy())
    with pytest.warns(StatisticalWarning):
        other = run(df, cluster="practice", n_boot=999, seed=99)
    assert other.tidy().loc[1, "ci_upper"] != wb["ci_upper"]


def test_bootstrap_switches():
    df = make_panel(n_units=20, per_cluster=2, seed=6)
    with pytest.warns(StatisticalWarning, match="switched off"):
        off = run(df, cluster="practice", wild_bootstrap=False)
    assert list(off.tidy()["term"]) == ["att"]
    many = make_panel(n_units=40, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        auto = run(many)
        forced = run(many, wild_bootstrap=True, n_boot=199)
    assert list(auto.tidy()["term"]) == ["att"] and not auto.warnings
    assert list(forced.tidy()["term"]) == ["att", "att_wild_bootstrap"]
    assert forced.settings["bootstrap_weights"] == "rademacher"


# --------------------------------------------------------------------------- CR2
def _persons_in_practices(seed: int) -> pd.DataFrame:
    """Unequal practices (1 to 4 persons), 3 of 8 treated, unbalanced, a covariate."""
    rng = np.random.default_rng(seed)
    sizes = [1, 3, 2, 4, 2, 1, 3, 2]
    rows = []
    person = 0
    for practice, size in enumerate(sizes):
        shock = rng.normal(size=4)
        for _ in range(size):
            level = rng.normal()
            for year in range(4):
                treat = int(practice < 3 and year >= 2)
                x = rng.normal()
                y = level + 0.3 * year + treat + 0.5 * x + shock[year] + rng.normal()
                rows.append((person, f"P{practice}", 2014 + year, treat, x, y))
            person += 1
    df = pd.DataFrame(rows, columns=["person", "practice", "year", "treat", "x", "y"])
    return df.drop(index=[5, 22, 37]).reset_index(drop=True)  # keeps every person on both sides


def _cr2_by_definition(x: np.ndarray, y: np.ndarray, cl: np.ndarray, c: np.ndarray):
    """CR2 (Bell & McCaffrey 2002) of ``c'beta`` and its Satterthwaite degrees of
    freedom, written out on the full design, independently of ``kbz_eval.stats``.

    ``V = sum_g (c'(X'X)^-1 X_g' A_g e_g)^2`` with ``A_g`` the Moore–Penrose inverse
    square root of ``I - H_gg`` (by SVD; singular where unit dummies are nested);
    ``V = eps' Q eps`` with ``Q = M (sum_g p_g p_g') M``
    (``M = I - H``, ``p_g = A_g X_g (X'X)^-1 c`` on the rows of cluster ``g``), so under
    iid normal errors ``df = 2 E[V]^2 / Var[V] = tr(Q)^2 / tr(Q^2)``.
    """
    bread = np.linalg.inv(x.T @ x)
    coef = bread @ x.T @ y
    e = y - x @ coef
    hat = x @ bread @ x.T
    n = y.size
    var, q = 0.0, np.zeros((n, n))
    for g in np.unique(cl):
        rows = np.flatnonzero(cl == g)
        inner = np.eye(rows.size) - hat[np.ix_(rows, rows)]
        u, sv, _ = np.linalg.svd(inner)  # symmetric PSD: inner = U diag(sv) U'
        keep = sv > 1e-10
        a = (u[:, keep] / np.sqrt(sv[keep])) @ u[:, keep].T
        p = np.zeros(n)
        p[rows] = a @ x[rows] @ bread @ c
        var += float(p @ e) ** 2
        q += np.outer(p, p)
    m = np.eye(n) - hat
    q = m @ q @ m
    return float(c @ coef), np.sqrt(var), np.trace(q) ** 2 / np.trace(q @ q)


def test_cr2_and_bell_mccaffrey_df_equal_the_definition_on_the_dummy_design():
    """Persons (units, absorbed) in practices (clusters): CR2 on the absorbed design must
    equal CR2 of the full dummy-variable regression, for the treatment and a covariate."""
    df = _persons_in_practices(4)
    with pytest.warns(StatisticalWarning, match="Only 8 clusters"):
        res = kbz.did(df, outcome="y", unit="person", time="year", treatment="treat",
                      assignment="practice", covariates=["x"], vcov="CR2", n_boot=199)
    units = pd.get_dummies(df["person"]).to_numpy(float)
    years = pd.get_dummies(df["year"], drop_first=True).to_numpy(float)
    x = np.column_stack([df["treat"].to_numpy(float), df["x"].to_numpy(float), units, years])
    coefs = res.tables["coefficients"].set_index("term")
    for j, term in enumerate(["treat", "x"]):
        c = np.zeros(x.shape[1])
        c[j] = 1.0
        est, se, dof = _cr2_by_definition(x, df["y"].to_numpy(), df["practice"].to_numpy(), c)
        assert coefs.loc[term, "estimate"] == pytest.approx(est, abs=COEF_TOL)
        assert coefs.loc[term, "std_error"] == pytest.approx(se, rel=CR2_TOL)
        assert coefs.loc[term, "df"] == pytest.approx(dof, rel=CR2_TOL)
    att = res.tidy().set_index("term").loc["att"]
    assert att["df"] == coefs.loc["treat", "df"]
    assert att["df"] < 7  # 3 treated of 8 unequal clusters: far below G - 1
    q = scipy.stats.t.ppf(0.975, att["df"])
    assert att["ci_upper"] - att["estimate"] == pytest.approx(q * att["std_error"], rel=1e-12)
    assert res.settings["vcov"] == "CR2" and "Bell–McCaffrey" in res.method
    assert "CR2 cluster-robust" in res.headline()


def test_cr2_needs_units_nested_in_clusters():
    df = make_panel(n_units=30, seed=2)
    with pytest.raises(SpecificationError, match="vcov='CR2' needs units nested"):
        run(df, cluster="year", vcov="CR2")


# --------------------------------------------------------------------------- clusters
def test_default_cluster_is_the_level_of_treatment_assignment():
    df = _persons_in_practices(5)
    opts = {"outcome": "y", "unit": "person", "time": "year", "treatment": "treat",
            "wild_bootstrap": False, "few_clusters": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        default = kbz.did(df, assignment="practice", **opts)
        explicit = kbz.did(df, assignment="practice", cluster="practice", **opts)
    pd.testing.assert_frame_equal(default.tidy(), explicit.tidy())
    assert default.settings["cluster"] == "practice" and default.settings["cluster_default"]
    assert default.tidy().loc[0, "n_clusters"] == 8
    assert "the level at which treatment is assigned (the default)" in default.method
    # without `assignment` the unit is the finest possible level of assignment
    by_unit = kbz.did(df, **opts)
    assert by_unit.settings["cluster"] == "person"
    assert by_unit.tidy().loc[0, "n_clusters"] == df["person"].nunique()


def test_cluster_finer_than_the_assignment_warns():
    df = _persons_in_practices(5)
    opts = {"outcome": "y", "time": "year", "treatment": "treat", "wild_bootstrap": False,
            "few_clusters": 0}
    with pytest.warns(StatisticalWarning, match="finer than") as rec:
        res = kbz.did(df, unit="person", assignment="practice", cluster="person", **opts)
    assert "6 of 8 'practice' groups" in str(rec[0].message)  # 2 practices have 1 person
    assert "too narrow" in str(rec[0].message) and res.warnings == [str(rec[0].message)]
    assert res.settings["clusters_split_assignment"] == 6
    # unit = practice with person rows, clustered by person: finer than the unit
    with pytest.warns(StatisticalWarning, match="finer than"):
        kbz.did(df, unit="practice", cluster="person", **opts)
    # a coarser cluster holding whole practices is fine
    coarse = df.assign(region=df["practice"].map(lambda p: "north" if p in "P0 P3 P5 P6"
                                                  else "south"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        kbz.did(coarse, unit="person", assignment="practice", cluster="region", **opts)


def test_assignment_must_hold_treatment_constant():
    df = _persons_in_practices(5)
    df["half"] = df["practice"].map(lambda p: "A" if p in ("P1", "P2", "P3", "P4") else "B")
    with pytest.raises(SpecificationError, match="not assigned per 'half'"):
        kbz.did(df, outcome="y", unit="person", time="year", treatment="treat",
                assignment="half")


def test_headline_leads_with_the_wild_bootstrap_and_formats_p():
    df = make_panel(n_units=20, per_cluster=2, seed=6, tau=3.0)
    with pytest.warns(StatisticalWarning):
        res = run(df, cluster="practice", n_boot=999)
    wb = res.tidy().set_index("term").loc["att_wild_bootstrap"]
    # random Webb draws: p = (1 + #{|t*| >= |t|}) / (1 + B), never 0
    count = wb["p_value"] * (1 + 999) - 1
    assert count == pytest.approx(round(count), abs=1e-9) and wb["p_value"] >= 1 / 1000
    text = res.headline()
    lead = text.split(";")[0]
    assert f"{wb['ci_lower']:.4g} to {wb['ci_upper']:.4g}" in lead
    assert format_p(wb["p_value"]) in lead
    assert "wild cluster bootstrap over 10 clusters of 'practice'" in text
    assert "CR1 cluster-robust, t(9)" in text and "e-" not in text


# --------------------------------------------------------------------------- validation
@pytest.fixture
def panel() -> pd.DataFrame:
    return make_panel(seed=1)


def test_missing_column_suggests_the_close_name(panel):
    with pytest.raises(SpecificationError, match=r"`outcome`: column 'yy' .*Did you mean 'y'"):
        run(panel, outcome="yy")
    with pytest.raises(SpecificationError, match=r"`covariates\[0\]`: column 'xx'"):
        run(panel, covariates=["xx"])
    with pytest.raises(SpecificationError, match="Did you mean 'treat'"):
        run(panel, treatment="Treat")


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"alpha": 1.5}, "`alpha`"),
        ({"wild_bootstrap": "yes"}, r"one of \['auto', True, False\]"),
        ({"n_boot": 10}, "`n_boot`"),
        ({"seed": -1}, "`seed`"),
        ({"few_clusters": -3}, "`few_clusters`"),
        ({"covariates": 3.5}, "`covariates`"),
        ({"outcome": "treat"}, "both as"),
        ({"cluster": "y"}, "`cluster`"),
        ({"assignment": "treat"}, "`assignment`"),
        ({"assignment": "practise"}, "Did you mean 'practice'"),
        ({"vcov": "CR3"}, r"`vcov` must be one of \['CR1', 'CR2'\], but 'CR3'"),
        ({"wild_bootstrap": 1}, "`wild_bootstrap`"),
    ],
)
def test_bad_options_are_refused(panel, change, pattern):
    with pytest.raises(SpecificationError, match=pattern):
        run(panel, **change)


def test_data_must_be_a_frame():
    with pytest.raises(SpecificationError, match="DataFrame"):
        kbz.did({"y": [1]}, outcome="y", unit="u", time="t", treatment="d")


def test_treatment_must_be_zero_one(panel):
    bad = panel.assign(treat=panel["treat"] * 2)
    with pytest.raises(SpecificationError, match=r"must be 0 or 1, but 60 rows .*e\.g\. 2\)"):
        run(bad)
    with pytest.raises(SpecificationError, match="must hold 0/1"):
        run(panel.assign(treat=panel["treat"].map({0: "no", 1: "yes"})))
    res = run(panel.assign(treat=panel["treat"].astype(bool)))
    assert res.tidy().loc[0, "estimate"] == pytest.approx(run(panel).tidy().loc[0, "estimate"])


def test_missing_values_are_counted(panel):
    bad = panel.copy()
    bad.loc[[3, 4], "y"] = np.nan
    bad.loc[[4, 9], "unit"] = np.nan
    with pytest.raises(SpecificationError, match=r"3 of 240 rows have missing values"):
        run(bad)


def test_outcome_must_be_numeric(panel):
    with pytest.raises(SpecificationError, match="`outcome` column 'y' must be numeric"):
        run(panel.assign(y=panel["y"].astype(str)))


def test_units_must_be_seen_before_and_after(panel):
    # a control unit observed only after the start
    bad = panel[~((panel["unit"] == 30) & (panel["year"] < 2013))]
    with pytest.raises(SpecificationError, match=r"1 unit\(s\) are not observed both.*30"):
        run(bad)


def test_no_treated_or_no_control_units(panel):
    with pytest.raises(SpecificationError, match="No unit is ever treated"):
        run(panel.assign(treat=0))
    everyone = panel.assign(treat=(panel["year"] >= 2013).astype(int))
    with pytest.raises(SpecificationError, match="never-treated control units"):
        run(everyone)


def test_treatment_varying_within_unit_period(panel):
    extra = panel[(panel["unit"] == 0) & (panel["year"] == 2014)].assign(treat=0)
    with pytest.raises(SpecificationError, match="both 0 and 1 within the same unit and period"):
        run(pd.concat([panel, extra], ignore_index=True))


def test_staggered_adoption_and_switching_off_are_refused(panel):
    staggered = panel.assign(
        treat=((panel["unit"] < 20) & (panel["year"] >= np.where(panel["unit"] < 10, 2013, 2014)))
        .astype(int)
    )
    with pytest.raises(SpecificationError, match=r"2013 \(10 units\), 2014 \(10 units\)"):
        run(staggered)
    off = panel.assign(treat=((panel["unit"] < 20) & panel["year"].isin([2013, 2014])).astype(int))
    with pytest.raises(SpecificationError, match="switches off"):
        run(off)
    always = panel.copy()
    always.loc[always["unit"] == 0, "treat"] = 1
    with pytest.raises(SpecificationError, match="never observed untreated"):
        run(always)


def test_single_period_or_cluster_and_collinear_covariates(panel):
    with pytest.raises(SpecificationError, match="single cluster"):
        run(panel.assign(one=1), cluster="one")
    with pytest.raises(SpecificationError, match="does not vary within units"):
        run(panel.assign(size=panel["unit"] * 2.0), covariates=["size"])
    with pytest.raises(SpecificationError, match="collinear with the time effects"):
        run(panel.assign(trend=panel["year"] * 1.0), covariates=["trend"])
    with pytest.raises(SpecificationError, match="collinear with the covariates"):
        run(panel.assign(copy=panel["treat"] * 3.0), covariates=["copy"])


def test_gaps_in_an_unbalanced_panel_are_not_staggering(panel):
    # a treated unit with no record in 2013 still starts with the others
    gap = panel[~((panel["unit"] == 0) & (panel["year"] == 2013))]
    res = run(gap)
    assert res.settings["treatment_start"] == 2013


# --------------------------------------------------------------------------- contract
def test_result_contract(panel):
    res = run(panel)
    tidy = res.tidy()
    assert tuple(tidy.columns[: len(TIDY_COLUMNS)]) == TIDY_COLUMNS
    assert list(tidy.columns[len(TIDY_COLUMNS):]) == ["df", "n_clusters", "n_treated_units",
                                                       "n_control_units"]
    assert tidy.loc[0, "df"] == 39  # t(G - 1) for CR1 with 40 unit clusters
    assert tidy.loc[0, "n"] == len(panel)
    assert tidy.loc[0, "n_treated_units"] == 20 and tidy.loc[0, "n_control_units"] == 20
    summary = res.summary()
    assert isinstance(summary, pd.DataFrame) and "inference" in summary.columns
    text = repr(res)
    assert "\n" not in text and "ATT" in text and "CR1" in text
    assert "<table" in res._repr_html_()
    for phrase in ("parallel trends", "CR1", "G-1", "two-way fixed effects"):
        assert phrase in res.method
    assert set(res.tables) == {"group_means", "group_means_by_time", "coefficients"}


def test_plot_draws_both_groups_and_the_start(panel):
    res = run(panel)
    fig, ax = plt.subplots()
    out = res.plot(ax=ax)
    assert out is ax
    data = res.plot_data()
    assert len(ax.lines) == 3  # treated, control, treatment start
    for line, group in zip(ax.lines[:2], ("treated", "control"), strict=True):
        sub = data[data["group"] == group]
        np.testing.assert_array_equal(line.get_xdata(), sub["time"].to_numpy())
        np.testing.assert_allclose(line.get_ydata(), sub["mean_outcome"].to_numpy())
    assert list(ax.lines[2].get_xdata()) == [2013, 2013]
    plt.close(fig)


def test_plot_with_text_periods_uses_positions(panel):
    labelled = panel.assign(year=panel["year"].map(lambda y: f"Y{y}"))
    res = run(labelled)
    ax = res.plot()
    assert len(ax.lines) == 3
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(6))
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"Y{y}" for y in range(2010, 2016)]
    assert list(ax.lines[2].get_xdata()) == [3, 3]
    plt.close(ax.figure)


def test_estimators_do_not_import_matplotlib():
    code = (
        "import sys, kbz_eval.estimators.did, kbz_eval.stats.wild; "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
