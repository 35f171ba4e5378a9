"""Shared machinery of the claims analyses: validation, bootstrap, Poisson GLM, practices."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kbz_eval.errors import DataValidationError, SpecificationError
from kbz_eval.estimators import claims_common as cc

COEF_TOL = 1e-6  # relative: our cell-sum Poisson fit vs statsmodels on the rows
VCOV_TOL = 1e-5  # relative: our sandwich vs statsmodels' cluster covariance
SE_TOL = 0.05  # relative: bootstrap SE of a mean vs the analytic SE (large sample)


def _panel(n=40, seed=0):
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(n), 3)
    year = np.tile([2012, 2013, 2014], n)
    practice = np.where(person % 2 == 0, "A", "B")
    return pd.DataFrame({
        "person_id": [f"p{i:03d}" for i in person], "year": year,
        "practice_id": practice, "insured_days": 300,
        "minima": person % 3 == 0, "sex": np.where(person % 4 < 2, "F", "M"),
        "birth_year": 1950 + person % 40,
        "poli_dbc_count": rng.poisson(1.0, person.size),
        "poli_dbc_cost": rng.gamma(1.0, 300.0, person.size).round(2),
    })


PRACTICES = pd.DataFrame({"practice_id": ["A", "B"], "group": ["kbz", "control"],
                          "kbz_start_year": [2013, None]})


# --------------------------------------------------------------------------- validation
def test_prepare_copies_sorts_and_codes_persons():
    panel = _panel()
    before = panel.copy()
    cp = cc.prepare_claims(panel.sample(frac=1, random_state=1), PRACTICES,
                           population="all", values=["poli_dbc_cost"])
    pd.testing.assert_frame_equal(panel, before)
    f = cp.frame
    assert list(f["person"]) == sorted(f["person"])
    assert cp.n_persons == 40 and "person_id" not in f.columns
    np.testing.assert_allclose(f["iy"], 300 / np.where(f["year"] == 2012, 366, 365))
    assert set(f["group"]) == {"kbz", "control"}


def test_prepare_selects_minima_person_years():
    panel = _panel()
    cp = cc.prepare_claims(panel, PRACTICES, population="minima", values=["poli_dbc_cost"])
    assert len(cp.frame) == int(panel["minima"].sum())


@pytest.mark.parametrize("coding", [
    lambda s: s.astype(int), lambda s: s.map({True: "ja", False: "nee"}),
    lambda s: s.map({True: "TRUE", False: "false"}).astype("category"),
])
def test_minima_codings_agree(coding):
    panel = _panel()
    ref = cc.prepare_claims(panel, PRACTICES, population="minima", values=["poli_dbc_cost"])
    other = cc.prepare_claims(panel.assign(minima=coding(panel["minima"])), PRACTICES,
                              population="minima", values=["poli_dbc_cost"])
    pd.testing.assert_frame_equal(ref.frame, other.frame)


def test_bad_population_message_names_parameter_values_and_value():
    with pytest.raises(SpecificationError) as err:
        cc.prepare_claims(_panel(), PRACTICES, population="poor", values=[])
    assert str(err.value) == (
        "The value for `population` must be one of ['minima', 'all'], but 'poor' was "
        "passed.")


def test_year_not_in_panel_is_a_clear_error():
    with pytest.raises(SpecificationError, match=r"`base_year` must be a year in the panel "
                       r"\[2012, 2013, 2014\], but 2011"):
        cc.prepare_claims(_panel(), PRACTICES, population="all", values=[],
                          required_years=[("base_year", 2011)])


def test_missing_columns_are_listed_at_once():
    panel = _panel().drop(columns=["insured_days", "minima"])
    with pytest.raises(DataValidationError) as err:
        cc.prepare_claims(panel, PRACTICES, population="minima", values=[])
    cols = {v.column for v in err.value.violations}
    assert cols == {"insured_days", "minima"}


def test_bad_group_and_duplicate_practice_are_reported():
    bad = pd.DataFrame({"practice_id": ["A", "A"], "group": ["kbz", "treated"]})
    with pytest.raises(DataValidationError) as err:
        cc.prepare_claims(_panel(), bad, population="all", values=[])
    assert {v.column for v in err.value.violations} == {"group", "practice_id"}


def test_person_years_outside_practices_are_dropped_and_noted():
    panel = _panel()
    panel.loc[panel.index[:3], "practice_id"] = "Z"
    cp = cc.prepare_claims(panel, PRACTICES, population="all", values=[])
    assert cp.n_rows_outside == 3 and "left out" in cp.notes[0]


def test_negative_cost_is_refused():
    panel = _panel()
    panel.loc[panel.index[4], "poli_dbc_cost"] = -1.0
    with pytest.raises(DataValidationError, match="poli_dbc_cost"):
        cc.prepare_claims(panel, PRACTICES, population="all", values=["poli_dbc_cost"])


def test_age_band_from_birth_year_when_absent():
    cp = cc.prepare_claims(_panel(), PRACTICES, population="all", values=[],
                           need_age_sex=True)
    f = cp.frame
    # person 0: born 1950, in 2012 aged 62 -> band 60-64
    assert f.loc[(f["person"] == 0) & (f["year"] == 2012), "age_band"].item() == "60-64"


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_keeps_stratum_sizes_and_is_seeded():
    rng = np.random.default_rng(3)
    strata = rng.integers(0, 3, 500)
    ones = np.column_stack([(strata == s).astype(float) for s in range(3)])
    reps = cc.stratified_bootstrap_sums(ones, strata, n_boot=50, seed=9)
    np.testing.assert_array_equal(reps, np.tile(ones.sum(axis=0), (50, 1)))
    x = rng.gamma(1.0, 1.0, (500, 2))
    a = cc.stratified_bootstrap_sums(x, strata, n_boot=30, seed=9)
    b = cc.stratified_bootstrap_sums(x, strata, n_boot=30, seed=9)
    c = cc.stratified_bootstrap_sums(x, strata, n_boot=30, seed=10)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_bootstrap_se_of_a_mean_matches_the_analytic_se():
    rng = np.random.default_rng(4)
    x = rng.lognormal(0, 1, 20_000)
    reps = cc.stratified_bootstrap_sums(x[:, None], np.zeros(x.size, int), n_boot=999,
                                        seed=1)[:, 0] / x.size
    analytic = x.std(ddof=1) / math.sqrt(x.size)
    assert abs(reps.std(ddof=1) / analytic - 1) < SE_TOL


def test_percentile_inference_and_its_p_value():
    reps = np.arange(1, 1000, dtype=float)  # 1..999
    out = cc.bootstrap_inference(500.0, reps, alpha=0.1, null=0.0)
    lo, hi = np.quantile(reps, [0.05, 0.95])
    assert (out["ci_lower"], out["ci_upper"]) == (lo, hi)
    assert out["p_value"] == pytest.approx(2 / 1000)
    assert cc.bootstrap_inference(500.0, reps, alpha=0.1, null=500.0)["p_value"] == 1.0


def test_bca_without_bias_or_acceleration_is_the_percentile_interval():
    rng = np.random.default_rng(5)
    reps = rng.normal(0, 1, 4000)
    reps = np.concatenate([reps, -reps])  # symmetric around 0: z0 = 0
    bca = cc.bootstrap_inference(0.0, reps, alpha=0.05, acceleration=0.0)
    pct = cc.bootstrap_inference(0.0, reps, alpha=0.05)
    assert bca["ci_lower"] == pytest.approx(pct["ci_lower"], rel=1e-6)
    assert bca["ci_upper"] == pytest.approx(pct["ci_upper"], rel=1e-6)


def test_bca_p_value_inverts_the_interval():
    rng = np.random.default_rng(6)
    reps = rng.gamma(4.0, 1.0, 5000)
    est = 4.2
    for alpha in (0.05, 0.2):
        out = cc.bootstrap_inference(est, reps, alpha=alpha, acceleration=0.05)
        at_lower = cc.bootstrap_inference(est, reps, alpha=alpha, acceleration=0.05,
                                          null=out["ci_lower"])
        assert at_lower["p_value"] == pytest.approx(alpha, abs=0.01)


def test_jackknife_acceleration_of_a_mean_is_the_skewness_over_six():
    rng = np.random.default_rng(7)
    x = rng.gamma(2.0, 1.0, 3000)
    jack = (x.sum() - x) / (x.size - 1)
    a = cc.jackknife_acceleration(jack, np.zeros(x.size, int))
    d = x - x.mean()
    skew = np.mean(d**3) / np.mean(d**2) ** 1.5
    assert a == pytest.approx(skew / (6 * math.sqrt(x.size)), rel=1e-3)


# --------------------------------------------------------------------------- Poisson GLM
def test_cell_glm_equals_statsmodels_with_person_clusters():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(8)
    n_p = 300
    person = np.repeat(np.arange(n_p), 4)
    frail = rng.gamma(2.0, 0.5, n_p)[person]
    cell = rng.integers(0, 6, person.size)
    design = np.column_stack([np.ones(6), np.eye(6)[:, 1:4], [0, 1, 0, 1, 1, 0]])
    expo = rng.uniform(0.2, 1.0, person.size)
    y = rng.poisson(expo * frail * np.exp(design @ [0.1, 0.2, -0.3, 0.4, -0.2])[cell])
    ours = cc.poisson_cell_glm(y.astype(float), expo, cell, design, person, n_p)
    X = design[cell]
    ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(expo)).fit(
        cov_type="cluster", cov_kwds={"groups": person})
    np.testing.assert_allclose(ours.coef, ref.params, rtol=COEF_TOL)
    np.testing.assert_allclose(ours.vcov, ref.cov_params(), rtol=VCOV_TOL)


def test_batched_newton_equals_single_fits():
    rng = np.random.default_rng(9)
    X = np.column_stack([np.ones(8), np.eye(8)[:, 1:3]])
    y = rng.poisson(5.0, (4, 8)).astype(float)
    off = np.log(rng.uniform(1, 2, (4, 8)))
    batch, ok = cc.poisson_newton(X, y, off)
    assert ok
    for i in range(4):
        single, _ = cc.poisson_newton(X, y[i], off[i])
        np.testing.assert_allclose(batch[i], single, rtol=1e-10)


# --------------------------------------------------------------------------- practices
def test_assignments_enumerate_every_relabelling_observed_first():
    obs = np.array([True, False, True, False, False, True])
    rows, exact = cc.practice_assignments(obs, seed=0)
    assert exact and len(rows) == math.comb(6, 3)
    np.testing.assert_array_equal(rows[0], obs)
    assert len({r.tobytes() for r in rows}) == len(rows)
    assert (rows.sum(axis=1) == 3).all()


def test_assignments_sample_when_there_are_too_many():
    obs = np.zeros(30, bool)
    obs[:15] = True
    rows, exact = cc.practice_assignments(obs, seed=1, max_assignments=200)
    assert not exact and rows.shape == (200, 30) and (rows.sum(axis=1) == 15).all()
    np.testing.assert_array_equal(rows[0], obs)


def test_randomisation_p_value_counts_the_observed():
    assert cc.randomisation_p_value(np.array([3.0, 1.0, -4.0, 2.0])) == 0.5
    assert cc.randomisation_p_value(np.array([5.0, 1.0, -4.0, 2.0])) == 0.25
