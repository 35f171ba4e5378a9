"""Comparison groups and covariate balance: ``comparison_units``, ``balance``.

References: entropy balancing (Hainmueller 2012) is checked by its defining constraints
(exact moments, positive weights summing to 1) and by the closed form for one binary
covariate; propensity ATT weights against ``statsmodels`` ``Logit`` fitted
probabilities; the standardised mean difference by hand. The weighted 2 × 2 DiD uses
the weights on a noise-free panel with covariate-specific trends where the unweighted
DiD is biased and the weighted one is exact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kbz_eval.errors import SpecificationError
from kbz_eval.estimators.balance import (
    BalanceResult,
    balance,
    comparison_units,
    practice_weights,
)
from kbz_eval.results import TIDY_COLUMNS
from kbz_eval.synth.rollout import rollout_sample

#: Tolerances.
MOMENT_TOL = 1e-8  # entropy-balanced moments vs treated moments
WEIGHT_TOL = 1e-8  # weights vs closed form / statsmodels
SMD_TOL = 1e-12  # SMD vs hand computation
DID_TOL = 1e-8  # weighted DiD vs planted effect (noise-free)


def _units(seed: int = 5, n_t: int = 30, n_c: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_t + n_c
    d = np.r_[np.ones(n_t, bool), np.zeros(n_c, bool)]
    size = rng.normal(3.0, 0.8, n) + 0.4 * d
    city = (rng.random(n) < np.where(d, 0.5, 0.25)).astype(float)
    age = rng.gamma(4.0, 10.0, n) - 5 * d
    return pd.DataFrame({"practice_id": [f"P{i:03d}" for i in range(n)], "kbz": d,
                         "list_size": size, "amsterdam": city, "age": age})


COVS = ["list_size", "amsterdam", "age"]


# ------------------------------------------------------------------------ entropy
def test_entropy_matches_treated_means_positive_weights_sum_to_one():
    df = _units()
    before = df.copy()
    res = balance(df, treated="kbz", covariates=COVS, method="entropy")
    pd.testing.assert_frame_equal(df, before)  # caller's frame untouched
    w = res.tables["weights"]
    wc = w.loc[~w["treated"], "weight"].to_numpy()
    assert np.all(wc > 0)
    assert wc.sum() == pytest.approx(1.0, abs=1e-12)
    xc = df.loc[~df["kbz"], COVS].to_numpy()
    xt = df.loc[df["kbz"], COVS].to_numpy()
    np.testing.assert_allclose(wc @ xc, xt.mean(axis=0), rtol=0, atol=MOMENT_TOL)
    assert np.abs(res.tables["balance"]["smd_after"]).max() < MOMENT_TOL
    assert np.abs(res.tables["balance"]["smd_before"]).max() > 0.2  # imbalance existed
    # the treated keep equal weights
    assert np.allclose(w.loc[w["treated"], "weight"], 1 / 30)


def test_entropy_with_variances_matches_variances_too():
    df = _units()
    res = balance(df, treated="kbz", covariates=COVS, variances=True)
    wc = res.tables["weights"].query("~treated")["weight"].to_numpy()
    xc = df.loc[~df["kbz"], ["list_size", "age"]].to_numpy()
    xt = df.loc[df["kbz"], ["list_size", "age"]].to_numpy()
    mc = wc @ xc
    np.testing.assert_allclose(mc, xt.mean(axis=0), atol=MOMENT_TOL)
    np.testing.assert_allclose(wc @ (xc - mc) ** 2, xt.var(axis=0), rtol=1e-8)
    vr = res.tables["balance"].set_index("covariate")["variance_ratio_after"]
    assert vr["list_size"] == pytest.approx(1.0, abs=1e-8)
    assert vr["age"] == pytest.approx(1.0, abs=1e-8)


def test_entropy_one_binary_covariate_closed_form():
    """One binary x: w_i = p_t / n_c1 when x_i = 1, (1 - p_t) / n_c0 when x_i = 0,
    i.e. proportional to treated share / comparison share of the unit's cell."""
    x_t = [1, 1, 1, 0]  # p_t = 0.75
    x_c = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0]  # n_c1 = 2, n_c0 = 8
    df = pd.DataFrame({"practice_id": range(14), "kbz": [1] * 4 + [0] * 10,
                       "x": x_t + x_c})
    res = balance(df, treated="kbz", covariates=["x"])
    wc = res.tables["weights"].query("~treated")["weight"].to_numpy()
    expected = np.where(np.array(x_c) == 1, 0.75 / 2, 0.25 / 8)
    np.testing.assert_allclose(wc, expected, rtol=0, atol=WEIGHT_TOL)
    # ESS of these weights, Kish
    assert res.settings["ess"] == pytest.approx(1 / np.sum(expected**2), rel=1e-8)
    assert res.tidy().iloc[-1]["term"] == "effective_sample_size"


def test_entropy_infeasible_raises_with_advice():
    df = _units()
    df.loc[df["kbz"], "age"] = df["age"].max() + 100  # treated mean outside comparison range
    with pytest.raises(SpecificationError, match=r"infeasible.*\['age'\]") as err:
        balance(df, treated="kbz", covariates=COVS)
    msg = str(err.value)
    assert "comparison='all'" in msg and "method='propensity'" in msg


# --------------------------------------------------------------------- propensity
def test_propensity_att_weights_match_statsmodels_logit():
    sm = pytest.importorskip("statsmodels.api")
    df = _units(seed=11)
    res = balance(df, treated="kbz", covariates=COVS, method="propensity")
    x = sm.add_constant(df[COVS].to_numpy(float))
    fit = sm.Logit(df["kbz"].astype(float).to_numpy(), x).fit(disp=0, tol=1e-12,
                                                              maxiter=200)
    p = fit.predict(x)[~df["kbz"].to_numpy()]
    odds = p / (1 - p)
    expected = odds / odds.sum()
    wc = res.tables["weights"].query("~treated")["weight"].to_numpy()
    np.testing.assert_allclose(wc, expected, rtol=0, atol=WEIGHT_TOL)
    # better balance than none on these data
    tab = res.tables["balance"]
    assert np.abs(tab["smd_after"]).max() < np.abs(tab["smd_before"]).max()


def test_propensity_separation_raises():
    df = _units()
    df["sep"] = df["kbz"].astype(float) * 10 + np.arange(len(df)) * 1e-3
    with pytest.raises(SpecificationError, match="separates"):
        balance(df, treated="kbz", covariates=["sep"], method="propensity")


# ------------------------------------------------------------------------------ SMD
def test_smd_and_variance_ratio_by_hand():
    df = _units(seed=3)
    res = balance(df, treated="kbz", covariates=COVS, method="none")
    t = df[df["kbz"]]
    c = df[~df["kbz"]]
    tab = res.tables["balance"].set_index("covariate")
    for col in COVS:
        pooled = np.sqrt((t[col].var(ddof=1) + c[col].var(ddof=1)) / 2)
        smd = (t[col].mean() - c[col].mean()) / pooled
        assert tab.loc[col, "smd_before"] == pytest.approx(smd, abs=SMD_TOL)
        assert tab.loc[col, "smd_after"] == pytest.approx(smd, abs=SMD_TOL)
        assert tab.loc[col, "variance_ratio_before"] == pytest.approx(
            c[col].var(ddof=0) / t[col].var(ddof=0), rel=1e-12)
    assert res.settings["ess"] == pytest.approx(len(c))
    # weighted: same denominator, weighted comparison mean
    eb = balance(df, treated="kbz", covariates=COVS)
    wc = eb.tables["weights"].query("~treated")["weight"].to_numpy()
    col = "age"
    pooled = np.sqrt((t[col].var(ddof=1) + c[col].var(ddof=1)) / 2)
    assert eb.tables["balance"].set_index("covariate").loc[col, "mean_comparison_after"] \
        == pytest.approx(wc @ c[col].to_numpy(), rel=1e-12)
    assert eb.tables["balance"].set_index("covariate").loc[col, "smd_before"] \
        == pytest.approx((t[col].mean() - c[col].mean()) / pooled, abs=SMD_TOL)


# ------------------------------------------------------------------ comparison units
def test_applicant_selection_on_rollout_sample():
    p = rollout_sample(seed=1)["practices"]
    before = p.copy()
    app = comparison_units(p, comparison="applicants")
    pd.testing.assert_frame_equal(p, before)
    assert set(app["practice_id"]) == set(p.loc[p["group"] == "applicant", "practice_id"])
    assert (app["comparison_role"] == "never_treated").all()
    allc = comparison_units(p, comparison="all")
    assert set(allc["group"]) == {"control", "applicant"}
    assert len(allc) == int((p["group"] != "kbz").sum())
    # window 2012-2020: the 2022 cohort (applied 2021) is never treated in the window;
    # the 2019/2020 cohorts are not-yet-treated until the year before their start
    win = comparison_units(p, comparison="applicants", window=(2012, 2020))
    kbz = win[win["group"] == "kbz"]
    later = p[(p["group"] == "kbz") & p["applied_year"].notna()]
    assert set(kbz["practice_id"]) == set(later["practice_id"])
    ny = kbz[kbz["comparison_role"] == "not_yet_treated"]
    assert set(ny["kbz_start_year"]) == {2019.0, 2020.0}
    np.testing.assert_array_equal(ny["comparison_last_year"], ny["kbz_start_year"] - 1)
    nev = kbz[kbz["comparison_role"] == "never_treated"]
    assert set(nev["kbz_start_year"]) == {2022.0}
    assert (nev["comparison_last_year"] == 2020).all()
    # Overvecht (2014, no application) is never an applicant
    assert not (win["kbz_start_year"] == 2014).any()
    # "all" with the window: never-treated plus the 2022 cohort
    allw = comparison_units(p, comparison="all", window=(2012, 2020))
    assert set(allw.loc[allw["group"] == "kbz", "kbz_start_year"]) == {2022.0}


def test_balance_on_rollout_applicants_vs_all():
    s = rollout_sample(seed=1)
    p = s["practices"]
    treated = p[p["kbz_start_year"] == 2019].assign(kbz=True)
    for comparison in ("all", "applicants"):
        comp = comparison_units(p, comparison=comparison).assign(kbz=False)
        units = pd.concat([treated, comp], ignore_index=True)
        units["amsterdam"] = (units["city"] == "Amsterdam").astype(float)
        units["list_size_1000"] = units["list_size"] / 1000
        res = balance(units, treated="kbz", covariates=["list_size_1000", "amsterdam"],
                      comparison_label=comparison)
        assert np.abs(res.tables["balance"]["smd_after"]).max() < 1e-8
        assert comparison in res.headline()
        assert 1 < res.settings["ess"] <= len(comp)


# -------------------------------------------------------------- weighted 2x2 DiD
def test_practice_weights_in_weighted_two_by_two_did():
    """Noise-free panel: Amsterdam practices grow 30 EUR/year faster; KBZ practices are
    more often in Amsterdam; effect -50 from 2019. Unweighted DiD is biased by the
    trend difference times the share difference; balancing on Amsterdam removes it."""
    rng = np.random.default_rng(2)
    n_t, n_c = 20, 60
    ams = np.r_[np.arange(n_t) < 12, np.arange(n_c) < 15].astype(float)  # .6 vs .25
    units = pd.DataFrame({"practice_id": [f"P{i}" for i in range(n_t + n_c)],
                          "kbz": np.r_[np.ones(n_t, bool), np.zeros(n_c, bool)],
                          "amsterdam": ams, "level": rng.normal(2000, 150, n_t + n_c)})
    res = balance(units, treated="kbz", covariates=["amsterdam"])
    weights = practice_weights(res)
    assert list(weights.columns) == ["practice", "weight", "treated"]
    years = np.arange(2016, 2022)
    panel = units.merge(pd.DataFrame({"year": years}), how="cross")
    post = panel["year"] >= 2019
    panel["cost"] = (panel["level"] + (20 + 30 * panel["amsterdam"]) * (panel["year"] - 2016)
                     - 50.0 * (panel["kbz"] & post))
    # 2 x 2 DiD of practice-year means: per practice the change of the mean cost from
    # the pre (2016-18) to the post (2019-21) years, then weighted means per group
    panel["period"] = np.where(post, "post", "pre")
    means = panel.pivot_table(index=["practice_id", "kbz"], columns="period",
                              values="cost").reset_index()
    means["change"] = means["post"] - means["pre"]
    means = means.merge(weights[["practice", "weight"]], left_on="practice_id",
                        right_on="practice", how="left", validate="one_to_one")
    assert means["weight"].notna().all()

    def did(w: np.ndarray) -> float:
        t = means["kbz"].to_numpy()
        change = means["change"].to_numpy()
        return (np.sum(w[t] * change[t]) / w[t].sum()
                - np.sum(w[~t] * change[~t]) / w[~t].sum())

    weighted = did(means["weight"].to_numpy())
    unweighted = did(np.ones(len(means)))
    # period means are 3 years apart; trend gap 30 EUR/yr; Amsterdam share .6 vs .25
    assert unweighted == pytest.approx(-50 + 30 * 3 * (0.6 - 0.25), abs=1e-8)
    assert weighted == pytest.approx(-50.0, abs=DID_TOL)


# ------------------------------------------------------------------------- contract
def test_contract_tidy_plot_data_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = balance(_units(), treated="kbz", covariates=COVS, comparison_label="applicants")
    assert isinstance(res, BalanceResult)
    tidy = res.tidy()
    assert tuple(tidy.columns[: len(TIDY_COLUMNS)]) == TIDY_COLUMNS
    assert len(tidy) == 2 * len(COVS) + 1
    assert (tidy["n"] == 120).all()
    assert "applicants" in repr(res) and "entropy" in res.headline()
    assert "<table" in res._repr_html_()
    assert "s²_treated + s²_comparison" in res.method
    data = res.plot_data()
    assert list(data.columns) == ["covariate", "stage", "smd"]
    ax = res.plot()
    try:
        assert len(ax.collections) == 2
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels == COVS
        for coll, stage in zip(ax.collections, ("unweighted", "weighted"), strict=True):
            assert coll.get_label() == stage
            sub = data[data["stage"] == stage]
            np.testing.assert_allclose(coll.get_offsets()[:, 0], sub["smd"])
            np.testing.assert_allclose(coll.get_offsets()[:, 1],
                                       [COVS.index(c) for c in sub["covariate"]])
        fig, ax2 = plt.subplots()
        assert res.plot(ax=ax2) is ax2
        plt.close(fig)
    finally:
        plt.close(ax.figure)


@pytest.mark.parametrize(("kwargs", "name", "bad"), [
    ({"method": "ebal"}, "method", "'ebal'"),
    ({"target": "ate"}, "target", "'ate'"),
    ({"variances": "yes"}, "variances", "'yes'"),
])
def test_bad_balance_options(kwargs, name, bad):
    with pytest.raises(SpecificationError) as err:
        balance(_units(), treated="kbz", covariates=COVS, **kwargs)
    msg = str(err.value)
    assert f"`{name}`" in msg and bad in msg and "must be one of" in msg


def test_bad_comparison_and_columns():
    p = rollout_sample(seed=1)["practices"]
    with pytest.raises(SpecificationError,
                       match=r"`comparison` must be one of \['all', 'applicants'\], but "
                             r"'nonkbz'"):
        comparison_units(p, comparison="nonkbz")
    with pytest.raises(SpecificationError, match="`window`"):
        comparison_units(p, window=(2020, 2012))
    with pytest.raises(SpecificationError, match="not in `units`"):
        balance(_units(), treated="kbz", covariates=["nope"])
    with pytest.raises(SpecificationError, match="`covariates`"):
        balance(_units(), treated="kbz", covariates="age")


def test_entropy_jointly_infeasible_raises():
    """Treated mean (0.9, 0.9) is inside each covariate's range but outside the convex
    hull of the comparison points: the dual diverges and a clear error follows."""
    df = pd.DataFrame({"practice_id": range(7), "kbz": [1, 1, 0, 0, 0, 0, 0],
                       "x": [.9, .9, 0, 1, .5, .2, 0], "y": [.9, .9, 1, 0, .5, .8, 0]})
    with pytest.raises(SpecificationError, match="did not converge.*method='propensity'"):
        balance(df, treated="kbz", covariates=["x", "y"])


def test_entropy_balancing_accepts_a_gap_left_only_by_rounding():
    """On the roll-out sample, balancing the 10 applicants to the 36 KBZ practices on
    list size leaves a standardised gap of ~1e-10 that Newton cannot shrink further in
    floating point: that is convergence (gap below 1e-8), not infeasibility."""
    from kbz_eval.estimators.balance import balance, comparison_units
    from kbz_eval.synth.rollout import rollout_sample

    practices = rollout_sample(persons_per_practice=0)["practices"]
    units = pd.concat([practices[practices["kbz_start_year"].notna()].assign(t=True),
                       comparison_units(practices, comparison="applicants").assign(t=False)],
                      ignore_index=True)
    res = balance(units, treated="t", covariates=["list_size"], method="entropy")
    after = res.tidy().set_index("term").loc["smd[list_size, weighted]", "estimate"]
    assert abs(after) < 1e-8
