"""``kbz.dbc_index``: the seeds' figure, GLM identities, statsmodels cross-checks and
practice-level inference against a brute-force delete-one-practice jackknife."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from _claims_helpers import quiet as _quiet
from _claims_helpers import term as _term
from scipy import stats

import kbz_eval as kbz
from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.stats.pvalues import format_p

EXACT = 1e-9  # relative: saturated-model identities
SM_TOL = 1e-6  # relative: our fit vs statsmodels GLM on the person-years
JACK_TOL = 1e-6  # relative: practice-level interval vs refits per left-out practice


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


@pytest.fixture(scope="module")
def figure(sample):
    """The seeds' figure: minima, 2012–2015."""
    return _quiet(kbz.dbc_index, sample["person_years"], sample["practices"],
                  years=range(2012, 2016))


def _crude_rates(sample, years, minima=True):
    py, pr = sample["person_years"], sample["practices"]
    if minima:
        py = py[py["minima"]]
    py = py[py["year"].isin(years)].assign(
        group=lambda d: d["practice_id"].map(pr.set_index("practice_id")["group"]),
        iy=lambda d: d["insured_days"] / np.where(d["year"] % 4 == 0, 366, 365))
    s = py.groupby(["group", "year"])[["poli_dbc_count", "iy"]].sum()
    return s["poli_dbc_count"] / s["iy"]


# --------------------------------------------------------------------------- the seeds
def test_kbz_falls_below_and_control_rises_above_the_base(figure):
    idx = figure.tables["index"].set_index(["group", "year"])["index"]
    assert idx["kbz", 2012] == idx["control", 2012] == 100
    assert idx["kbz", 2015] < 100 < idx["control", 2015]
    did = _term(figure, "did_rate_ratio")
    assert did["inference"] == "practice"
    assert did["estimate"] < 1 and did["ci_upper"] < 1 and did["p_value"] < 0.05
    assert sorted(figure.tables["index"]["year"].unique()) == [2012, 2013, 2014, 2015]


def test_rates_and_indices_equal_crude_pandas(sample, figure):
    r = _crude_rates(sample, range(2012, 2016))
    rates = figure.tables["rates"].set_index(["group", "year"])["rate_per_1000"]
    pd.testing.assert_series_equal(rates.sort_index(), 1000 * r.sort_index(),
                                   check_names=False, rtol=EXACT)
    idx = figure.tables["index"].set_index(["group", "year"])["index"]
    for g in ("kbz", "control"):
        assert idx[g, 2015] == pytest.approx(100 * r[g, 2015] / r[g, 2012], rel=EXACT)


def test_event_study_is_the_ratio_of_ratios_of_crude_rates(sample, figure):
    r = _crude_rates(sample, range(2012, 2016))
    for y in (2013, 2014, 2015):
        expected = (r["kbz", y] / r["kbz", 2012]) / (r["control", y] / r["control", 2012])
        assert _term(figure, f"event_study_{y}")["estimate"] == pytest.approx(expected,
                                                                               rel=EXACT)


def test_two_period_did_is_the_ratio_of_ratios(sample):
    res = _quiet(kbz.dbc_index, sample["person_years"], sample["practices"],
                 years=[2012, 2015])
    r = _crude_rates(sample, [2012, 2015])
    expected = (r["kbz", 2015] / r["kbz", 2012]) / (r["control", 2015] / r["control", 2012])
    assert _term(res, "did_rate_ratio")["estimate"] == pytest.approx(expected, rel=EXACT)
    assert _term(res, "did_rate_ratio")["estimate"] == pytest.approx(
        _term(res, "event_study_2015")["estimate"], rel=EXACT)


def _did_frame(py, pr, years=None, start=2014):
    """Minima person-years with the pooled-DiD design (``const, kbz, y_<year>...,
    kbz_post``), counts, log exposure, practice and person."""
    d = py[py["minima"]]
    if years is not None:
        d = d[d["year"].isin(years)]
    d = d.assign(
        kbz=lambda x: (x["practice_id"].map(pr.set_index("practice_id")["group"])
                       == "kbz").astype(float),
        iy=lambda x: x["insured_days"] / np.where(x["year"] % 4 == 0, 366, 365))
    d = d[d["practice_id"].isin(pr["practice_id"])]
    X = pd.get_dummies(d["year"], prefix="y", drop_first=True, dtype=float)
    X.insert(0, "kbz", d["kbz"])
    X.insert(0, "const", 1.0)
    X["kbz_post"] = d["kbz"] * (d["year"] >= start)
    return d, X


def _person_did_statsmodels(sm, py, pr):
    d, X = _did_frame(py, pr)
    return sm.GLM(d["poli_dbc_count"].to_numpy(), X.to_numpy(),
                  family=sm.families.Poisson(), offset=np.log(d["iy"].to_numpy())).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["person_id"])[0]})


def test_person_clustered_ses_equal_statsmodels(sample):
    """Pooled DiD on the minima, ``inference="person"``: statsmodels GLM(Poisson, offset)
    with ``cov_type="cluster"`` by person on the person-years gives the same fit; the
    ``did_rate_ratio_persons_only`` row of the practice-level result is the same row."""
    sm = pytest.importorskip("statsmodels.api")
    py, pr = sample["person_years"], sample["practices"]
    res = _quiet(kbz.dbc_index, py, pr, inference="person")
    fit = _person_did_statsmodels(sm, py, pr)
    did = _term(res, "did_rate_ratio")
    assert did["inference"] == "person" and np.isnan(did["df"])
    assert did["estimate"] == pytest.approx(np.exp(fit.params[-1]), rel=SM_TOL)
    se_log = did["std_error"] / did["estimate"]
    assert se_log == pytest.approx(fit.bse[-1], rel=SM_TOL)
    z = stats.norm.ppf(0.975)
    assert did["ci_lower"] == pytest.approx(np.exp(fit.params[-1] - z * fit.bse[-1]),
                                            rel=SM_TOL)
    assert did["p_value"] == pytest.approx(fit.pvalues[-1], rel=SM_TOL)
    assert "did_rate_ratio_persons_only" not in set(res.tidy()["term"])
    practice = _quiet(kbz.dbc_index, py, pr)
    secondary = _term(practice, "did_rate_ratio_persons_only")
    cols = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]
    np.testing.assert_allclose(secondary[cols].to_numpy(dtype=float),
                               did[cols].to_numpy(dtype=float), rtol=1e-12)
    assert secondary["inference"] == "person"


def test_person_level_event_study_equals_statsmodels(sample):
    """``inference="person"``: the event-study rate ratios and the indices are contrasts
    of a statsmodels GLM with one dummy per group × year, person-clustered (CR1)."""
    sm = pytest.importorskip("statsmodels.api")
    py, pr = sample["person_years"], sample["practices"]
    years = [2012, 2013, 2014, 2015]
    res = _quiet(kbz.dbc_index, py, pr, years=years, inference="person")
    d, _ = _did_frame(py, pr, years)
    cell = d["kbz"].map({1.0: "kbz", 0.0: "control"}) + "_" + d["year"].astype(str)
    X = pd.get_dummies(cell, dtype=float)
    fit = sm.GLM(d["poli_dbc_count"].to_numpy(), X, family=sm.families.Poisson(),
                 offset=np.log(d["iy"].to_numpy())).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["person_id"])[0]})
    z = stats.norm.ppf(0.975)
    for y in years[1:]:
        w = pd.Series(0.0, index=X.columns)
        w[[f"kbz_{y}", "control_2012"]] = 1.0
        w[[f"control_{y}", "kbz_2012"]] = -1.0
        est, se = float(w @ fit.params), float(np.sqrt(w @ fit.cov_params() @ w))
        row = _term(res, f"event_study_{y}")
        assert row["estimate"] == pytest.approx(np.exp(est), rel=SM_TOL)
        assert row["ci_upper"] == pytest.approx(np.exp(est + z * se), rel=SM_TOL)
        assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(est) / se),
                                               rel=SM_TOL, abs=1e-12)
        w = pd.Series(0.0, index=X.columns)
        w[f"control_{y}"], w["control_2012"] = 1.0, -1.0
        est, se = float(w @ fit.params), float(np.sqrt(w @ fit.cov_params() @ w))
        row = _term(res, f"index_control_{y}")
        assert row["ci_lower"] == pytest.approx(100 * np.exp(est - z * se), rel=SM_TOL)


# --------------------------------------------------------------------------- practice level
def _brute_force_jackknife(thetas, is_kbz):
    """Variance, Welch–Satterthwaite df from leave-one-practice-out estimates."""
    comps, sizes = [], []
    for g in (is_kbz, ~is_kbz):
        t = thetas[g]
        comps.append((t.size - 1) / t.size * np.sum((t - t.mean()) ** 2))
        sizes.append(t.size)
    comps, sizes = np.array(comps), np.array(sizes)
    return comps.sum(), comps.sum() ** 2 / np.sum(comps**2 / (sizes - 1))


def test_cr2_interval_equals_brute_force_practice_jackknife(sample):
    """``practice_method="cr2"``: the DiD log rate ratio refitted by statsmodels on the
    person-years without each practice in turn gives the variance
    ``Σ_h (n_h − 1)/n_h Σ_p (θ₍ₚ₎ − θ̄_h)²``, Welch–Satterthwaite df and the t interval
    ``exp(θ̂ ± t_df √v)`` of the tidy row."""
    sm = pytest.importorskip("statsmodels.api")
    py, pr = sample["person_years"], sample["practices"]
    years = [2012, 2013, 2014, 2015]
    res = _quiet(kbz.dbc_index, py, pr, years=years, practice_method="cr2")
    d, X = _did_frame(py, pr, years)

    def refit(keep):
        return sm.GLM(d["poli_dbc_count"].to_numpy()[keep], X.to_numpy()[keep],
                      family=sm.families.Poisson(),
                      offset=np.log(d["iy"].to_numpy()[keep])).fit(tol=1e-12).params[-1]

    ids = pr["practice_id"].to_numpy()
    theta = np.array([refit((d["practice_id"] != p).to_numpy()) for p in ids])
    full = refit(np.ones(len(d), dtype=bool))
    var, df = _brute_force_jackknife(theta, pr["group"].to_numpy() == "kbz")
    q = stats.t.ppf(0.975, df)
    row = _term(res, "did_rate_ratio")
    assert row["df"] == pytest.approx(df, rel=JACK_TOL)
    assert row["std_error"] == pytest.approx(np.exp(full) * np.sqrt(var), rel=JACK_TOL)
    assert row["ci_lower"] == pytest.approx(np.exp(full - q * np.sqrt(var)), rel=JACK_TOL)
    assert row["ci_upper"] == pytest.approx(np.exp(full + q * np.sqrt(var)), rel=JACK_TOL)
    assert row["p_value"] == pytest.approx(
        2 * stats.t.sf(abs(full) / np.sqrt(var), df), rel=JACK_TOL)
    wild = _term(figure_wild := _quiet(kbz.dbc_index, py, pr, years=years), "did_rate_ratio")
    # same jackknife standard error; the wild interval is symmetric on the log scale
    assert wild["std_error"] == pytest.approx(row["std_error"], rel=EXACT)
    assert np.log(wild["ci_upper"] / wild["estimate"]) == pytest.approx(
        np.log(wild["estimate"] / wild["ci_lower"]), rel=EXACT)
    assert figure_wild.settings["practice_method"] == "wild"


def _cell_sums_refits(sm, d, practices, years, start=2014):
    """Brute force on the group × year × stratum cell sums of ``d`` (``kbz, year,
    stratum, practice_id, poli_dbc_count, iy``): statsmodels Poisson fits of the pooled
    DiD and of the event study (base = first year), strata without DBCs left out, for
    all practices (``full``) and without each practice in turn (``theta``). Columns:
    DiD, then the event-study log ratio of the last year."""
    last = years[-1]

    def refit(keep):
        cells = d[keep].groupby(["kbz", "year", "stratum"])[["poli_dbc_count", "iy"]].sum()
        cells = cells.reset_index()
        cells = cells[cells.groupby("stratum")["poli_dbc_count"].transform("sum") > 0]
        X = pd.get_dummies(cells[["stratum"]].assign(year=cells["year"].astype(str)),
                           drop_first=True, dtype=float)
        X.insert(0, "kbz", cells["kbz"])
        X.insert(0, "const", 1.0)
        did = X.assign(kbz_post=cells["kbz"] * (cells["year"] >= start))
        event = X.assign(**{f"kbz_{y}": cells["kbz"] * (cells["year"] == y)
                            for y in years[1:]})
        return np.array([
            sm.GLM(cells["poli_dbc_count"], design, family=sm.families.Poisson(),
                   offset=np.log(cells["iy"])).fit(tol=1e-12).params[name]
            for design, name in ((did, "kbz_post"), (event, f"kbz_{last}"))])

    theta = np.array([refit((d["practice_id"] != p).to_numpy())
                      for p in practices["practice_id"]])
    return refit(np.ones(len(d), dtype=bool)), theta


def _assert_cr2_rows(res, full, theta, practices, terms):
    for k, term in enumerate(terms):
        var, df = _brute_force_jackknife(theta[:, k], practices["group"].to_numpy() == "kbz")
        q = stats.t.ppf(0.975, df)
        row = _term(res, term)
        assert row["estimate"] == pytest.approx(np.exp(full[k]), rel=SM_TOL)
        assert row["df"] == pytest.approx(df, rel=JACK_TOL)
        assert row["ci_lower"] == pytest.approx(np.exp(full[k] - q * np.sqrt(var)),
                                                rel=JACK_TOL)
        assert row["ci_upper"] == pytest.approx(np.exp(full[k] + q * np.sqrt(var)),
                                                rel=JACK_TOL)


def test_adjusted_cr2_interval_equals_brute_force_on_cell_sums(sample):
    """``adjust="age_sex"`` on 4 vs 4 practices: statsmodels Poisson fits on the group ×
    year × age band × sex cell sums, refitted without each practice, give the
    practice-level CR2 interval of the DiD and of the event study (cells without
    insured years in some refits); practice- and person-level estimates agree."""
    sm = pytest.importorskip("statsmodels.api")
    py, pr = sample["person_years"], sample["practices"]
    pr = pr[pr["practice_id"].isin(["OV01", "OV03", "OV04", "OV07",
                                    "OV02", "OV05", "OV06", "OV08"])]
    years = [2012, 2013, 2015]
    res = _quiet(kbz.dbc_index, py, pr, years=years, adjust="age_sex",
                 practice_method="cr2")
    person = _quiet(kbz.dbc_index, py, pr, years=years, adjust="age_sex",
                    inference="person")
    main = res.tidy()[res.tidy()["term"] != "did_rate_ratio_persons_only"]
    np.testing.assert_allclose(main["estimate"], person.tidy()["estimate"], rtol=EXACT)
    d, _ = _did_frame(py, pr, years)
    d = d.assign(stratum=d["age_band"].astype(str) + d["sex"].astype(str))
    full, theta = _cell_sums_refits(sm, d, pr, years)
    _assert_cr2_rows(res, full, theta, pr, ("did_rate_ratio", "event_study_2015"))


def test_stratum_held_by_one_practice_drops_out_of_its_jackknife_refit():
    """All DBCs of one age/sex stratum sit in one KBZ practice: without that practice
    the stratum carries no information (statsmodels refit without it), and the
    practice-level interval still equals the brute-force jackknife."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(7)
    rows = []
    for p in range(8):
        g = "kbz" if p < 4 else "control"
        shock = rng.normal(0, 0.1)
        for i in range(60):
            sex, band = ("M", "85-89") if i < 6 else (("F", "30-34") if i % 2 else
                                                      ("M", "30-34"))
            for y in (2012, 2013, 2014, 2015):
                rate = 0.8 * np.exp(shock) * (0.8 if g == "kbz" and y >= 2014 else 1.0)
                count = rng.poisson(rate) if band != "85-89" else (
                    rng.poisson(2.0) if p == 0 else 0)
                rows.append({"person_id": f"p{p}_{i}", "year": y, "practice_id": f"P{p}",
                             "insured_days": 365 - 30 * (i % 3), "sex": sex,
                             "age_band": band, "minima": True, "poli_dbc_count": count})
    panel = pd.DataFrame(rows)
    practices = pd.DataFrame({"practice_id": [f"P{p}" for p in range(8)],
                              "group": ["kbz"] * 4 + ["control"] * 4,
                              "kbz_start_year": [2014] * 4 + [None] * 4})
    res = _quiet(kbz.dbc_index, panel, practices, adjust="age_sex", practice_method="cr2")
    years = [2012, 2013, 2014, 2015]
    d, _ = _did_frame(panel, practices, years)
    d = d.assign(stratum=d["age_band"] + d["sex"])
    full, theta = _cell_sums_refits(sm, d, practices, years)
    _assert_cr2_rows(res, full, theta, practices, ("did_rate_ratio", "event_study_2015"))


def test_randomisation_p_is_exact_over_practice_relabellings(figure):
    """6 vs 6 practices: all C(12, 6) = 924 relabellings; the p-value is a multiple of
    1/924 on the effect rows and absent on the within-group index rows."""
    assert figure.settings["practice_randomisation_assignments"] == 924
    assert figure.settings["practice_randomisation_exact"] is True
    t = figure.tidy().set_index("term")
    p = t.loc["did_rate_ratio", "p_randomisation"]
    assert p * 924 == pytest.approx(round(p * 924), abs=1e-9)
    assert t.filter(like="index_", axis=0)["p_randomisation"].isna().all()
    assert t.filter(like="event_study_", axis=0)["p_randomisation"].notna().all()


def test_one_practice_per_group_gives_nan_and_says_why():
    panel, practices = _noise_free_panel()
    with pytest.warns(StatisticalWarning, match="Practice-level inference is impossible"):
        r = kbz.dbc_index(panel, practices)
    did = _term(r, "did_rate_ratio")
    assert did["estimate"] == pytest.approx(0.5, rel=EXACT)
    assert did[["std_error", "ci_lower", "ci_upper", "p_value", "df",
                "p_randomisation"]].isna().all()
    assert "impossible" in r.headline() and "CI" not in r.headline()
    assert r.tables["index"][r.tables["index"]["year"] == 2015]["ci_lower"].isna().all()
    person = _term(r, "did_rate_ratio_persons_only")
    assert np.isfinite(person["ci_lower"])


def test_event_study_p_adjusted_is_holm(figure):
    """Holm by hand: sort the m event-study p-values, multiply the j-th smallest by
    m − j + 1, take the running maximum, cap at 1."""
    es = figure.tidy()[figure.tidy()["term"].str.startswith("event_study_")]
    p = es["p_value"].to_numpy()
    order = np.argsort(p)
    expected = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        expected[i] = running
    np.testing.assert_allclose(es["p_adjusted"].to_numpy(), expected, rtol=1e-12)
    assert (es["p_adjusted"].to_numpy() >= p).all()
    assert (es["p_adjusted"].to_numpy() > p).any()
    others = figure.tidy()[~figure.tidy()["term"].str.startswith("event_study_")]
    assert others["p_adjusted"].isna().all()
    np.testing.assert_allclose(figure.tables["event_study"]["p_adjusted"],
                               es["p_adjusted"].to_numpy())


def test_contrast_column_separates_effects_from_within_group_changes(figure):
    t = figure.tidy().set_index("term")
    assert (t.filter(like="index_", axis=0)["contrast"]
            == "within-group change (not an effect)").all()
    effects = t.loc[[x for x in t.index if not x.startswith("index_")], "contrast"]
    assert (effects == "KBZ vs control practices").all()
    assert "within-group change" in figure.method


def test_headline_is_practice_level_and_names_the_comparison(figure):
    did = _term(figure, "did_rate_ratio")
    text = figure.headline()
    assert "vs control practices" in text
    assert "practice-level wild cluster bootstrap, 6 vs 6 practices" in text
    assert f"{did['ci_lower']:.3f} to {did['ci_upper']:.3f}" in text
    assert format_p(did["p_value"]) in text
    assert not re.search(r"\d[eE][-+]?\d", text)  # no scientific notation


def test_age_sex_adjustment_changes_nothing_without_mix_differences():
    rng = np.random.default_rng(1)
    rows = []
    for g, base in (("kbz", 1.0), ("control", 1.2)):
        for i in range(200):
            for y in (2012, 2013, 2014, 2015):
                mult = 0.7 if (g == "kbz" and y >= 2014) else 1.0
                rows.append({"person_id": f"{g}{i}", "year": y,
                             "practice_id": f"{g}{i % 3}", "insured_days": 300,
                             "sex": "F", "age_band": "30-34", "minima": True,
                             "poli_dbc_count": rng.poisson(base * mult)})
    panel = pd.DataFrame(rows)
    practices = pd.DataFrame({"practice_id": [f"{g}{i}" for g in ("kbz", "control")
                                              for i in range(3)],
                              "group": ["kbz"] * 3 + ["control"] * 3,
                              "kbz_start_year": [2014] * 3 + [None] * 3})
    crude = _quiet(kbz.dbc_index, panel, practices)
    adj = _quiet(kbz.dbc_index, panel, practices, adjust="age_sex")
    pd.testing.assert_frame_equal(crude.tidy(), adj.tidy(), rtol=1e-8)


def _noise_free_panel():
    """One KBZ and one control practice, every person with the same count per year."""
    rows = []
    counts = {("kbz", 2012): 4, ("kbz", 2015): 3, ("control", 2012): 2, ("control", 2015): 3}
    for (g, y), c in counts.items():
        for i in range(25):
            rows.append({"person_id": f"{g}{i}", "year": y, "practice_id": g,
                         "insured_days": 366 if y == 2012 else 365, "minima": True,
                         "poli_dbc_count": c})
    practices = pd.DataFrame({"practice_id": ["kbz", "control"], "group": ["kbz", "control"],
                              "kbz_start_year": [2014, None]})
    return pd.DataFrame(rows), practices


def test_noise_free_panel_recovers_the_rate_ratio_exactly():
    panel, practices = _noise_free_panel()
    r = _quiet(kbz.dbc_index, panel, practices, inference="person")
    did = _term(r, "did_rate_ratio")
    assert did["estimate"] == pytest.approx(0.5, rel=EXACT)
    assert did["ci_lower"] == pytest.approx(0.5, rel=1e-6)
    idx = r.tables["index"].set_index(["group", "year"])["index"]
    assert idx["kbz", 2015] == pytest.approx(75.0, rel=EXACT)
    assert idx["control", 2015] == pytest.approx(150.0, rel=EXACT)


def test_invariance_and_no_mutation(sample):
    py, pr = sample["person_years"], sample["practices"]
    sub = py[py["minima"]]
    before = sub.copy()
    ref = _quiet(kbz.dbc_index, sub, pr)
    pd.testing.assert_frame_equal(sub, before)
    other = _quiet(kbz.dbc_index,
                   sub.sample(frac=1, random_state=1)[sub.columns[::-1]].assign(
                       minima=lambda d: d["minima"].astype(int),
                       practice_id=lambda d: d["practice_id"].astype("category")),
                   pr.iloc[::-1].assign(group=lambda d: d["group"].str.upper()))
    pd.testing.assert_frame_equal(ref.tidy(), other.tidy(), rtol=1e-12)
    for name in ref.tables:
        pd.testing.assert_frame_equal(ref.tables[name], other.tables[name], rtol=1e-12)


def test_tables_carry_n_persons(figure):
    for name, table in figure.tables.items():
        assert "n_persons" in table.columns, name
        assert not any("person_id" in str(c) for c in table.columns)


def test_method_says_why_poisson_and_which_level(figure, sample):
    assert "Poisson" in figure.method and "negative-binomial" in figure.method
    assert "practice level" in figure.method and "wild cluster bootstrap-t" in figure.method
    assert "control practices" in figure.method
    assert "persons only — ignores variation between practices" in figure.method
    assert figure.settings["start_year"] == 2014
    assert figure.settings["inference"] == "practice"
    assert figure.settings["practice_method"] == "wild"
    person = _quiet(kbz.dbc_index, sample["person_years"], sample["practices"],
                    years=range(2012, 2016), inference="person")
    assert "person-clustered" in person.method
    assert "persons only — ignores variation between practices" in person.headline()
    assert set(person.tidy()["inference"]) == {"person"}


@pytest.mark.parametrize("kwargs, match", [
    ({"base_year": 2011}, r"`base_year` must be a year in the panel"),
    ({"years": [2013, 2014], "base_year": 2012}, r"must include `base_year` \(2012\)"),
    ({"years": [2014, 2015, 2016], "base_year": 2014}, "needs analysed years before"),
    ({"adjust": True}, r"`adjust` must be one of \['none', 'age_sex'\], but True"),
    ({"start_year": "2014"}, "`start_year` must be a calendar year"),
    ({"inference": "persons"},
     r"`inference` must be one of \['practice', 'person'\], but 'persons'"),
    ({"practice_method": "jackknife"},
     r"`practice_method` must be one of \['wild', 'cr2'\], but 'jackknife'"),
    ({"practice_method": None}, r"`practice_method` must be one of .*, but None"),
])
def test_bad_arguments(sample, kwargs, match):
    with pytest.raises(SpecificationError, match=match):
        _quiet(kbz.dbc_index, sample["person_years"], sample["practices"], **kwargs)


def test_missing_start_year_needs_an_explicit_one(sample):
    pr = sample["practices"].assign(kbz_start_year=pd.NA)
    with pytest.raises(SpecificationError, match="pass `start_year`"):
        kbz.dbc_index(sample["person_years"], pr)
    r = _quiet(kbz.dbc_index, sample["person_years"], pr, start_year=2015)
    assert r.settings["start_year"] == 2015


def test_plot_draws_two_lines_with_bands(figure):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    ax = figure.plot()
    data = figure.plot_data()
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
    assert len(lines) == 2 and len(ax.collections) == 2
    for line, band, g in zip(lines, ax.collections, ("kbz", "control"), strict=True):
        sub = data[data["group"] == g].sort_values("year")
        np.testing.assert_allclose(line.get_ydata(), sub["index"])
        ys = band.get_paths()[0].vertices[:, 1]
        assert ys.min() == pytest.approx(sub["ci_lower"].min())
        assert ys.max() == pytest.approx(sub["ci_upper"].max())
    ref = [ln for ln in ax.get_lines() if len(ln.get_xdata()) <= 2]
    assert ref and np.allclose(ref[0].get_ydata(), 100)
    plt.close(ax.figure)
