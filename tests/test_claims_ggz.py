"""``kbz.ggz_change``: the published GGZ pattern, practice-level inference checked by
brute force, the placebo-year adjustment of new patients, exact identities."""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from _claims_helpers import quiet as _quiet
from _claims_helpers import term as _term
from scipy import stats
from statsmodels.stats.multitest import multipletests

import kbz_eval as kbz
from kbz_eval.errors import SpecificationError, StatisticalWarning

# Published targets (shared/seeds/004) and the tolerances of the foundation issue.
PUBLISHED_CHANGE_KBZ, PUBLISHED_CHANGE_CONTROL, CHANGE_TOL = -0.073, -0.018, 0.005
PUBLISHED_BEST_PRACTICE, BEST_TOL = -0.23, 0.02
PUBLISHED_NEW_PATIENT_DIFF, NEW_DIFF_TOL = -700.0, 100.0
SIGNIFICANT = 0.05
EXACT = 1e-9
SE_REL_TOL = 0.10  # bootstrap SE of the new-patient difference vs Welch's SE
# Person-level results of the sample before the practice level became the default
# (seed 0, 999 BCa replicates), which inference="person" must reproduce.
OLD_PERSON_LEVEL = {
    "difference_in_change": (-0.054999977016572665, 0.08157990339505401,
                             -0.22643653892120774, 0.10005910668327951, 0.4748299916676163),
    "new_patient_difference": (-700.0001220904696, 231.16697272960627, -1142.5070251604848,
                               -244.81964692177695, 0.001303368359701388),
    "new_patient_ratio_age_sex": (0.8118657555928481, 0.04827185902435662,
                                  0.7225593740512254, 0.9122101640018552,
                                  0.00045602421515209056),
    "difference_in_change_age_sex": (-0.05301109546803895, 0.07992691575847838,
                                     -0.22011229102530852, 0.09849262393472592,
                                     0.4647745694895635),
}
OLD_TOL = 1e-9
INFERENCE_COLUMNS = ("estimate", "std_error", "ci_lower", "ci_upper", "p_value")


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


@pytest.fixture(scope="module")
def result(sample):
    return _quiet(kbz.ggz_change, sample["person_years"], sample["practices"],
                  adjust="age_sex")


@pytest.fixture(scope="module")
def person_result(sample):
    return _quiet(kbz.ggz_change, sample["person_years"], sample["practices"],
                  adjust="age_sex", inference="person")


@pytest.fixture(scope="module")
def frame(sample):
    """The sample with the group and insured years, computed here independently."""
    py, pr = sample["person_years"], sample["practices"]
    return py.assign(group=py["practice_id"].map(pr.set_index("practice_id")["group"]),
                     iy=py["insured_days"] / np.where(py["year"] % 4 == 0, 366, 365))


# --------------------------------------------------------------------------- synthetic
def _synthetic(seed: int, *, n_kbz: int = 3, n_control: int = 4, persons: int = 60,
               kbz_new_factor: float = 1.0, noise: float = 0.4,
               practice_sd: float = 0.15) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A GGZ panel over 2012, 2013 and 2016; every person stays at one practice.

    GGZ cost > 0 with probability 0.35 per year, cost 1000 × practice effect ×
    lognormal noise. The *new patients* of 2013 (none in 2012) and of 2016 (none in
    2013) at KBZ practices cost ``kbz_new_factor`` times more in **both** years: a
    difference that existed before KBZ, not an effect of it.
    """
    rng = np.random.default_rng(seed)
    ids = [f"K{i}" for i in range(n_kbz)] + [f"C{i}" for i in range(n_control)]
    practices = pd.DataFrame({"practice_id": ids,
                              "group": ["kbz"] * n_kbz + ["control"] * n_control,
                              "kbz_start_year": [2014.0] * n_kbz + [np.nan] * n_control})
    rows = []
    for pid in ids:
        effect = np.exp(rng.normal(0, practice_sd)) if practice_sd else 1.0
        for i in range(persons):
            has = rng.random(3) < 0.35
            cost = np.where(has, 1000.0 * effect * np.exp(rng.normal(0, noise, 3)), 0.0)
            if pid.startswith("K"):
                cost[1] *= kbz_new_factor if has[1] and not has[0] else 1.0
                cost[2] *= kbz_new_factor if has[2] and not has[1] else 1.0
            for year, c in zip((2012, 2013, 2016), cost, strict=True):
                rows.append({"person_id": f"{pid}-{i:03d}", "year": year,
                             "practice_id": pid, "insured_days": 366 if year % 4 == 0
                             else 365, "sex": "F" if i % 2 else "M",
                             "age_band": ("30-34", "45-49", "70-74")[i % 3],
                             "ggz_cost": float(c)})
    return pd.DataFrame(rows), practices


def _reference(panel: pd.DataFrame, practices: pd.DataFrame) -> dict[str, float]:
    """Difference in change and the baseline-adjusted new-patient ratio, in pandas."""
    f = panel.assign(group=panel["practice_id"].map(
        practices.set_index("practice_id")["group"]),
        iy=panel["insured_days"] / np.where(panel["year"] % 4 == 0, 366, 365))
    s = f[f["year"].isin([2013, 2016])].groupby(["group", "year"])[["ggz_cost", "iy"]].sum()
    r = (s["ggz_cost"] / s["iy"]).unstack("year")
    change = r[2016] / r[2013] - 1

    def new_ratio(year: int, lookback: int) -> float:
        before = f[f["year"] == lookback].set_index("person_id")["ggz_cost"]
        now = f[f["year"] == year]
        new = now[now["person_id"].map(before).eq(0) & (now["ggz_cost"] > 0)]
        m = new.groupby("group")["ggz_cost"].mean()
        return m["kbz"] / m["control"]

    return {"difference_in_change": change["kbz"] - change["control"],
            "new_patient_ratio_baseline_adjusted": new_ratio(2016, 2013)
            / new_ratio(2013, 2012)}


def _saturated_panel() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[float]]]:
    """One KBZ and one control practice; all new patients of one age group and sex."""
    rows = []
    costs = {"kbz": [1000.0, 1400.0, 1800.0, 2200.0], "control": [2000.0, 2600.0, 3000.0]}
    for g, values in costs.items():
        for i, v in enumerate(values * 3):
            for year, cost in ((2013, 0.0), (2016, v)):
                rows.append({"person_id": f"{g}{i:02d}", "year": year,
                             "practice_id": "K" if g == "kbz" else "C",
                             "insured_days": 365, "sex": "F", "age_band": "40-44",
                             "ggz_cost": cost})
    practices = pd.DataFrame({"practice_id": ["K", "C"], "group": ["kbz", "control"]})
    return pd.DataFrame(rows), practices, costs


# --------------------------------------------------------------------------- the seeds
def test_changes_per_group_are_the_published_ones(result):
    assert abs(_term(result, "change_kbz")["estimate"] - PUBLISHED_CHANGE_KBZ) <= CHANGE_TOL
    assert abs(_term(result, "change_control")["estimate"]
               - PUBLISHED_CHANGE_CONTROL) <= CHANGE_TOL


def test_overall_difference_is_not_significant_at_the_practice_level(result):
    d = _term(result, "difference_in_change")
    assert d["inference"] == "practice"
    assert d["p_value"] > SIGNIFICANT and d["p_randomisation"] > SIGNIFICANT
    assert d["ci_lower"] < 0 < d["ci_upper"]


def test_best_practice_is_descriptive_without_a_p_value(result):
    best = _term(result, "best_practice_change")
    assert abs(best["estimate"] - PUBLISHED_BEST_PRACTICE) <= BEST_TOL
    p = result.tables["by_practice"]
    assert best["estimate"] == p.loc[p["group"] == "kbz", "change"].min()
    assert best["practice_id"] == p.loc[p["change"] == best["estimate"], "practice_id"].item()
    for col in ("p_value", "ci_lower", "ci_upper", "p_adjusted", "p_randomisation"):
        assert np.isnan(best[col]), col
    assert best["inference"] == "descriptive" and best["role"] == "descriptive"
    assert "descriptive; the best of 6 KBZ practices is selected, so it overstates" in (
        best["note"])
    assert "overstates" in result.method
    assert "(descriptive, selected)" in result.headline()


def test_patients_fall_and_cost_per_patient_rises_in_both_groups(result):
    for g in ("kbz", "control"):
        assert _term(result, f"prevalence_change_{g}")["estimate"] < 0
        assert _term(result, f"cost_per_patient_change_{g}")["estimate"] > 0
    dec = result.tables["decomposition"].set_index(["group", "year"])
    for g in ("kbz", "control"):
        assert dec.loc[(g, 2016), "n_persons"] < dec.loc[(g, 2013), "n_persons"]


def test_new_patients_are_about_700_cheaper_unadjusted(result, person_result):
    diff = _term(result, "new_patient_difference")
    assert abs(diff["estimate"] - PUBLISHED_NEW_PATIENT_DIFF) <= NEW_DIFF_TOL
    # significant as published only when persons are taken as independent
    person = _term(person_result, "new_patient_difference")
    assert person["p_value"] < SIGNIFICANT and person["ci_upper"] < 0
    assert diff["std_error"] > person["std_error"]
    adjusted = _term(result, "new_patient_ratio_baseline_adjusted")
    assert adjusted["inference"] == "practice" and np.isfinite(adjusted["p_value"])
    assert adjusted["estimate"] == pytest.approx(
        _term(result, "new_patient_ratio")["estimate"]
        / _term(result, "new_patient_ratio_placebo")["estimate"], rel=EXACT)


# --------------------------------------------------------------------------- the contract
def test_default_is_practice_level_with_one_labelled_person_row(result):
    t = result.tidy().set_index("term")
    assert not any(term.endswith("practice_randomisation") for term in t.index)
    persons_only = [term for term in t.index if term.endswith("_persons_only")]
    assert persons_only == ["difference_in_change_persons_only"]
    levels = t.drop(index=["difference_in_change_persons_only", "best_practice_change"])
    assert set(levels["inference"]) == {"practice"}
    assert t.loc["difference_in_change_persons_only", "inference"] == "person"
    assert "ignores variation between practices" in t.loc[
        "difference_in_change_persons_only", "note"]
    # randomisation p only where KBZ is compared with the control practices
    assert np.isfinite(t.loc["new_patient_ratio_baseline_adjusted", "p_randomisation"])
    assert np.isnan(t.loc["change_kbz", "p_randomisation"])
    assert result.settings["inference"] == "practice"
    assert result.settings["practice_method"] == "wild"
    assert "practice level" in result.method and "control practices" in result.method
    head = result.headline()
    assert "control practices" in head and "practice-level" in head
    assert re.search(r"\de-\d", head) is None  # never 2.34e-15


@pytest.mark.parametrize("name", list(OLD_PERSON_LEVEL))
def test_person_level_reproduces_the_earlier_numbers(person_result, name):
    row = _term(person_result, name)
    assert row["inference"] == "person"
    np.testing.assert_allclose(row[list(INFERENCE_COLUMNS)].to_numpy(dtype=float),
                               OLD_PERSON_LEVEL[name], rtol=OLD_TOL)


def test_persons_only_row_is_the_person_level_analysis(result, person_result):
    a = _term(result, "difference_in_change_persons_only")
    b = _term(person_result, "difference_in_change")
    np.testing.assert_array_equal(a[list(INFERENCE_COLUMNS)].to_numpy(dtype=float),
                                  b[list(INFERENCE_COLUMNS)].to_numpy(dtype=float))
    assert not person_result.tidy()["term"].str.endswith("_persons_only").any()
    assert person_result.settings["inference"] == "person"
    # the per-practice intervals are the practices' own, at either level
    pd.testing.assert_frame_equal(result.tables["by_practice"],
                                  person_result.tables["by_practice"])


def test_secondary_rows_get_holm_adjusted_p_values(result):
    t = result.tidy()
    primary = t[t["role"] == "primary"]
    assert set(primary["term"]) == {"difference_in_change", "ratio_of_changes"}
    np.testing.assert_array_equal(primary["p_adjusted"], primary["p_value"])
    secondary = t[t["role"] == "secondary"]
    assert {"change_kbz", "prevalence_change_kbz", "new_patient_difference",
            "new_patient_ratio_baseline_adjusted"} <= set(secondary["term"])
    expected = multipletests(secondary["p_value"].to_numpy(dtype=float), method="holm")[1]
    np.testing.assert_allclose(secondary["p_adjusted"], expected, rtol=EXACT)
    assert (secondary["p_adjusted"] >= secondary["p_value"]).all()
    others = t[~t["role"].isin(["primary", "secondary"])]
    assert others["p_adjusted"].isna().all()


# --------------------------------------------------------------------------- practice level
@pytest.mark.parametrize("name", ["difference_in_change",
                                  "new_patient_ratio_baseline_adjusted"])
def test_practice_interval_is_the_delete_one_practice_jackknife(name):
    """CR2 method: se² = Σ_g (n_g − 1)/n_g Σ (θ₍ₚ₎ − θ̄_g)², the statistic recomputed in
    pandas without each practice in turn; t on Welch–Satterthwaite df."""
    alpha = 0.1
    panel, practices = _synthetic(11)
    r = _quiet(kbz.ggz_change, panel, practices, practice_method="cr2", n_boot=99,
               alpha=alpha)
    row = _term(r, name)
    theta = {pid: _reference(panel[panel["practice_id"] != pid], practices)[name]
             for pid in practices["practice_id"]}
    comps, sizes = [], []
    for g in ("kbz", "control"):
        t = np.array([theta[p] for p in practices.loc[practices["group"] == g,
                                                      "practice_id"]])
        comps.append((t.size - 1) / t.size * np.sum((t - t.mean()) ** 2))
        sizes.append(t.size)
    se = np.sqrt(sum(comps))
    df = sum(comps) ** 2 / sum(c**2 / (n - 1) for c, n in zip(comps, sizes, strict=True))
    estimate = _reference(panel, practices)[name]
    null = 1.0 if "ratio" in name else 0.0
    q = stats.t.ppf(1 - alpha / 2, df)
    assert row["estimate"] == pytest.approx(estimate, rel=EXACT)
    assert row["std_error"] == pytest.approx(se, rel=EXACT)
    assert row["df"] == pytest.approx(df, rel=EXACT)
    assert row["ci_lower"] == pytest.approx(estimate - q * se, rel=EXACT)
    assert row["ci_upper"] == pytest.approx(estimate + q * se, rel=EXACT)
    assert row["p_value"] == pytest.approx(
        2 * stats.t.sf(abs(estimate - null) / se, df), rel=1e-7)


def test_randomisation_p_value_enumerates_every_relabelling_of_the_practices():
    panel, practices = _synthetic(11)
    r = _quiet(kbz.ggz_change, panel, practices, n_boot=99)
    observed = _reference(panel, practices)["difference_in_change"]
    ids = practices["practice_id"].to_numpy()
    stats_ = []
    for kbz_ids in combinations(ids, 3):
        relabelled = practices.assign(group=np.where(np.isin(ids, kbz_ids), "kbz",
                                                     "control"))
        stats_.append(_reference(panel, relabelled)["difference_in_change"])
    stats_ = np.array(stats_)
    p = np.mean(np.abs(stats_) >= abs(observed) - 1e-12)
    assert _term(r, "difference_in_change")["p_randomisation"] == pytest.approx(p)
    assert r.settings["practice_randomisation_exact"]


def test_wild_and_cr2_share_the_jackknife_and_the_wild_p_is_never_zero():
    panel, practices = _synthetic(11)
    wild = _quiet(kbz.ggz_change, panel, practices, n_boot=99)
    cr2 = _quiet(kbz.ggz_change, panel, practices, n_boot=99, practice_method="cr2")
    for name in ("difference_in_change", "new_patient_difference"):
        w, c = _term(wild, name), _term(cr2, name)
        assert w["std_error"] == pytest.approx(c["std_error"], rel=EXACT)
        assert w["estimate"] - w["ci_lower"] == pytest.approx(
            w["ci_upper"] - w["estimate"], rel=1e-9)
        # p = (1 + #{|t*| >= |t|}) / (1 + 9999)
        assert w["p_value"] * 10_000 == pytest.approx(round(w["p_value"] * 10_000), abs=1e-6)
        assert w["p_value"] >= 1 / 10_000


@pytest.mark.filterwarnings("ignore::kbz_eval.errors.StatisticalWarning")
def test_one_practice_per_group_gives_no_practice_level_number():
    panel, practices = _synthetic(4, n_kbz=1, n_control=1, persons=150)
    with pytest.warns(StatisticalWarning, match="Practice-level inference is impossible"):
        r = kbz.ggz_change(panel, practices, n_boot=99)
    for name in ("difference_in_change", "new_patient_difference",
                 "new_patient_ratio_baseline_adjusted", "new_patient_ratio_age_sex",
                 "new_patient_difference_age_sex"):
        row = _term(r, name)
        assert np.isfinite(row["estimate"]), name
        for col in ("std_error", "ci_lower", "ci_upper", "p_value"):
            assert np.isnan(row[col]), (name, col)
    assert np.isfinite(_term(r, "difference_in_change_persons_only")["std_error"])
    assert "no practice-level interval: 1 KBZ and 1 control practice(s)" in r.headline()


# --------------------------------------------------------------------------- placebo year
def test_placebo_year_removes_a_pre_existing_difference_exactly():
    """KBZ new patients cost 1.5 × the control ones in 2013 *and* 2016 (no effect):
    the unadjusted ratio shows 1.5, the baseline-adjusted ratio is exactly 1."""
    panel, practices = _synthetic(5, kbz_new_factor=1.5, noise=0.0, practice_sd=0.0)
    r = _quiet(kbz.ggz_change, panel, practices, n_boot=99)
    assert _term(r, "new_patient_ratio")["estimate"] == pytest.approx(1.5, rel=EXACT)
    assert _term(r, "new_patient_ratio_placebo")["estimate"] == pytest.approx(1.5, rel=EXACT)
    assert _term(r, "new_patient_ratio_baseline_adjusted")["estimate"] == pytest.approx(
        1.0, rel=EXACT)
    assert _term(r, "new_patient_ratio_baseline_adjusted_age_sex")["estimate"] == (
        pytest.approx(1.0, rel=1e-6))
    assert _term(r, "new_patient_difference_baseline_adjusted")["estimate"] == (
        pytest.approx(0.0, abs=1e-6))
    assert r.settings["placebo_years"] == [2012, 2013]


def test_placebo_year_adjustment_on_noisy_data():
    """The same pre-existing difference with noise: the unadjusted comparison is
    significant at the practice level, the baseline-adjusted one is not and removes
    most of the difference."""
    panel, practices = _synthetic(7, n_kbz=5, n_control=5, persons=120, kbz_new_factor=1.5)
    r = _quiet(kbz.ggz_change, panel, practices, n_boot=99)
    unadjusted = _term(r, "new_patient_ratio")
    adjusted = _term(r, "new_patient_ratio_baseline_adjusted")
    assert unadjusted["p_value"] < SIGNIFICANT and unadjusted["ci_lower"] > 1
    assert adjusted["p_value"] > SIGNIFICANT
    assert adjusted["ci_lower"] < 1 < adjusted["ci_upper"]
    assert abs(np.log(adjusted["estimate"])) < abs(np.log(unadjusted["estimate"])) / 2
    glm = _term(r, "new_patient_ratio_baseline_adjusted_age_sex")
    assert glm["p_value"] > SIGNIFICANT and glm["df"] > 1
    table = r.tables["new_patients"]
    assert list(table["comparison"]) == ["analysis"] * 2 + ["placebo"] * 2
    assert list(table["lookback_year"]) == [2013, 2013, 2012, 2012]


@pytest.mark.filterwarnings("ignore::kbz_eval.errors.StatisticalWarning")
def test_without_a_year_before_the_base_year_the_adjusted_rows_are_nan():
    panel, practices = _synthetic(3)
    panel = panel[panel["year"] != 2012]
    with pytest.warns(StatisticalWarning, match="no year before 2013"):
        r = kbz.ggz_change(panel, practices, n_boot=99)
    assert np.isnan(_term(r, "new_patient_ratio_baseline_adjusted")["estimate"])
    assert np.isfinite(_term(r, "new_patient_difference")["estimate"])
    assert "no placebo year" in r.headline()
    explicit = _quiet(kbz.ggz_change, _synthetic(3)[0], practices, n_boot=99,
                      placebo_years=(2012, 2013))
    assert np.isfinite(_term(explicit, "new_patient_ratio_baseline_adjusted")["estimate"])


# --------------------------------------------------------------------------- cross-checks
def test_group_and_practice_changes_equal_pandas(result, frame):
    f = frame[frame["year"].isin([2013, 2016])]
    s = f.groupby(["group", "year"])[["ggz_cost", "iy"]].sum()
    r = (s["ggz_cost"] / s["iy"]).unstack("year")
    for g in ("kbz", "control"):
        assert _term(result, f"change_{g}")["estimate"] == pytest.approx(
            r.loc[g, 2016] / r.loc[g, 2013] - 1, rel=EXACT)
    sp = f.groupby(["practice_id", "year"])[["ggz_cost", "iy"]].sum()
    rp = (sp["ggz_cost"] / sp["iy"]).unstack("year")
    got = result.tables["by_practice"].set_index("practice_id")["change"]
    pd.testing.assert_series_equal(got.sort_index(), (rp[2016] / rp[2013] - 1).sort_index(),
                                   check_names=False, rtol=EXACT)


def test_new_patients_equal_pandas_and_welch(person_result, frame):
    def new_patients(year: int, lookback: int) -> pd.DataFrame:
        before = frame[frame["year"] == lookback].set_index("person_id")["ggz_cost"]
        now = frame[frame["year"] == year]
        return now[now["person_id"].map(before).eq(0) & (now["ggz_cost"] > 0)]

    new = new_patients(2016, 2013)
    k = new.loc[new["group"] == "kbz", "ggz_cost"]
    c = new.loc[new["group"] == "control", "ggz_cost"]
    diff = _term(person_result, "new_patient_difference")
    assert diff["estimate"] == pytest.approx(k.mean() - c.mean(), rel=EXACT)
    assert diff["n"] == min(len(k), len(c))
    welch = stats.ttest_ind(k, c, equal_var=False)
    assert welch.pvalue < SIGNIFICANT
    welch_se = np.sqrt(k.var() / len(k) + c.var() / len(c))
    assert abs(diff["std_error"] / welch_se - 1) < SE_REL_TOL
    old = new_patients(2013, 2012)
    placebo = old.groupby("group")["ggz_cost"].mean()
    assert _term(person_result, "new_patient_ratio_placebo")["estimate"] == pytest.approx(
        placebo["kbz"] / placebo["control"], rel=EXACT)
    table = person_result.tables["new_patients"].set_index(["comparison", "group"])
    assert table.loc[("analysis", "kbz"), "n_persons"] == len(k)
    assert table.loc[("placebo", "control"), "n_persons"] == (old["group"] == "control").sum()


def test_decomposition_multiplies_back_to_the_cost_per_insured_year(result):
    dec = result.tables["decomposition"]
    gy = result.tables["by_group_year"]
    rebuilt = dec["prevalence"] * dec["cost_per_patient"] * dec["n_insured"] / gy[
        "insured_years"]
    np.testing.assert_allclose(rebuilt, gy["cost_per_insured_year"], rtol=EXACT)


def test_tables_carry_n_persons_and_no_person_ids(result):
    for name, table in result.tables.items():
        assert "n_persons" in table.columns, name
        assert not any("person_id" in str(c) for c in table.columns), name


def test_adjusted_glm_is_the_ratio_of_means_without_covariate_variation():
    """All new patients of one age group and sex: the Gamma GLM is saturated and its
    KBZ/control ratio is the ratio of the mean costs."""
    panel, practices, costs = _saturated_panel()
    r = _quiet(kbz.ggz_change, panel, practices, n_boot=99)
    ratio = _term(r, "new_patient_ratio_age_sex")["estimate"]
    assert ratio == pytest.approx(np.mean(costs["kbz"]) / np.mean(costs["control"]), rel=1e-6)
    adj = _term(r, "new_patient_difference_age_sex")["estimate"]
    assert adj == pytest.approx(np.mean(costs["kbz"]) - np.mean(costs["control"]), rel=1e-6)


@pytest.mark.parametrize("inference", ["practice", "person"])
def test_noise_free_change_is_exact(inference):
    """Per insured year: KBZ 100 → 80 (−20 %), control 100 → 95 (−5 %)."""
    rows = []
    for g, (c13, c16) in (("kbz", (100.0, 80.0)), ("control", (100.0, 95.0))):
        for i in range(30):
            for year, cost in ((2013, c13), (2016, c16)):
                rows.append({"person_id": f"{g}{i:02d}", "year": year,
                             "practice_id": f"{g}{i % 3}",
                             "insured_days": 366 if year == 2016 else 365,
                             "sex": "M", "age_band": "50-54", "ggz_cost": cost})
    panel = pd.DataFrame(rows)
    practices = pd.DataFrame({"practice_id": [f"{g}{i}" for g in ("kbz", "control")
                                              for i in range(3)],
                              "group": ["kbz"] * 3 + ["control"] * 3})
    r = _quiet(kbz.ggz_change, panel, practices, n_boot=99, inference=inference)
    d = _term(r, "difference_in_change")
    assert d["inference"] == inference
    assert d["estimate"] == pytest.approx(-0.15, rel=EXACT)
    assert d["ci_lower"] == pytest.approx(-0.15, rel=EXACT)
    assert d["ci_upper"] == pytest.approx(-0.15, rel=EXACT)


def test_invariance_to_row_order_and_coding(sample):
    py, pr = sample["person_years"], sample["practices"]
    sub = py[py["practice_id"].isin(["OV04", "OV09", "OV05", "OV12"])]
    before = sub.copy()
    ref = _quiet(kbz.ggz_change, sub, pr, n_boot=99, seed=3)
    pd.testing.assert_frame_equal(sub, before)
    other = _quiet(kbz.ggz_change,
                   sub.sample(frac=1, random_state=5)[sub.columns[::-1]].assign(
                       sex=lambda d: d["sex"].astype("category"),
                       person_id=lambda d: d["person_id"].astype("category")),
                   pr.iloc[::-1].assign(group=lambda d: d["group"].astype("category")),
                   n_boot=99, seed=3)
    pd.testing.assert_frame_equal(ref.tidy(), other.tidy())


@pytest.mark.parametrize("kwargs, match", [
    ({"follow_year": 2012}, "`follow_year` must be after `base_year`"),
    ({"follow_year": 2020}, r"`follow_year` must be a year in the panel"),
    ({"population": "x"}, r"`population` must be one of \['minima', 'all'\], but 'x'"),
    ({"reference": "national"}, r"`reference` must be one of \['pooled', 'control'\]"),
    ({"inference": "persons"}, r"`inference` must be one of \['practice', 'person'\]"),
    ({"practice_method": "cr1"}, r"`practice_method` must be one of \['wild', 'cr2'\]"),
    ({"placebo_years": (2013, 2012)}, r"`placebo_years` must be None or a pair"),
    ({"placebo_years": (2009, 2010)}, r"`placebo_years` must be a year in the panel"),
])
def test_bad_arguments(sample, kwargs, match):
    with pytest.raises(SpecificationError, match=match):
        kbz.ggz_change(sample["person_years"].head(2000), sample["practices"], **kwargs)


# --------------------------------------------------------------------------- plot
def test_plot_draws_one_bar_and_error_bar_per_row(result):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    ax = result.plot()
    data = result.plot_data()
    bars = ax.patches
    assert len(bars) == len(data) == 14
    np.testing.assert_allclose([b.get_width() for b in bars], 100 * data["change"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == list(data["label"])
    assert data["level"].tolist()[:2] == ["group", "group"]
    group = data[data["level"] == "group"].set_index("group")
    assert group.loc["kbz", "ci_lower"] == _term(result, "change_kbz")["ci_lower"]
    plt.close(ax.figure)
