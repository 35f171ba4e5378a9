"""``kbz.ggz_change``: the published GGZ pattern, cross-checks, exact identities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _claims_helpers import quiet as _quiet
from _claims_helpers import term as _term
from scipy import stats

import kbz_eval as kbz
from kbz_eval.errors import SpecificationError

# Published targets (shared/seeds/004) and the tolerances of the foundation issue.
PUBLISHED_CHANGE_KBZ, PUBLISHED_CHANGE_CONTROL, CHANGE_TOL = -0.073, -0.018, 0.005
PUBLISHED_BEST_PRACTICE, BEST_TOL = -0.23, 0.02
PUBLISHED_NEW_PATIENT_DIFF, NEW_DIFF_TOL = -700.0, 100.0
SIGNIFICANT = 0.05
EXACT = 1e-9
SE_REL_TOL = 0.10  # bootstrap SE of the new-patient difference vs Welch's SE


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


@pytest.fixture(scope="module")
def result(sample):
    return _quiet(kbz.ggz_change, sample["person_years"], sample["practices"],
                  adjust="age_sex")


@pytest.fixture(scope="module")
def frame(sample):
    """The sample with the group and insured years, computed here independently."""
    py, pr = sample["person_years"], sample["practices"]
    return py.assign(group=py["practice_id"].map(pr.set_index("practice_id")["group"]),
                     iy=py["insured_days"] / np.where(py["year"] % 4 == 0, 366, 365))


# --------------------------------------------------------------------------- the seeds
def test_changes_per_group_are_the_published_ones(result):
    assert abs(_term(result, "change_kbz")["estimate"] - PUBLISHED_CHANGE_KBZ) <= CHANGE_TOL
    assert abs(_term(result, "change_control")["estimate"]
               - PUBLISHED_CHANGE_CONTROL) <= CHANGE_TOL


def test_overall_difference_is_not_significant(result):
    d = _term(result, "difference_in_change")
    assert d["p_value"] > SIGNIFICANT
    assert d["ci_lower"] < 0 < d["ci_upper"]
    assert d["estimate"] == pytest.approx(
        _term(result, "change_kbz")["estimate"] - _term(result, "change_control")["estimate"],
        rel=EXACT)
    assert _term(result, "difference_in_change_practice_randomisation")["p_value"] > 0.05


def test_best_practice_is_about_minus_23_percent(result):
    best = _term(result, "best_practice_change")
    assert abs(best["estimate"] - PUBLISHED_BEST_PRACTICE) <= BEST_TOL
    p = result.tables["by_practice"]
    assert best["estimate"] == p.loc[p["group"] == "kbz", "change"].min()
    assert best["practice_id"] == p.loc[p["change"] == best["estimate"], "practice_id"].item()


def test_patients_fall_and_cost_per_patient_rises_in_both_groups(result):
    for g in ("kbz", "control"):
        assert _term(result, f"prevalence_change_{g}")["estimate"] < 0
        assert _term(result, f"cost_per_patient_change_{g}")["estimate"] > 0
    dec = result.tables["decomposition"].set_index(["group", "year"])
    for g in ("kbz", "control"):
        assert dec.loc[(g, 2016), "n_persons"] < dec.loc[(g, 2013), "n_persons"]


def test_new_patients_are_about_700_cheaper_and_significant(result):
    diff = _term(result, "new_patient_difference")
    assert abs(diff["estimate"] - PUBLISHED_NEW_PATIENT_DIFF) <= NEW_DIFF_TOL
    assert diff["p_value"] < SIGNIFICANT and diff["ci_upper"] < 0
    adj = _term(result, "new_patient_difference_age_sex")
    assert adj["p_value"] < SIGNIFICANT and adj["ci_upper"] < 0
    assert _term(result, "new_patient_ratio_age_sex")["estimate"] < 1


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


def test_new_patients_equal_pandas_and_welch(result, frame):
    base = frame[frame["year"] == 2013].set_index("person_id")["ggz_cost"]
    f16 = frame[frame["year"] == 2016]
    new = f16[f16["person_id"].map(base).eq(0) & (f16["ggz_cost"] > 0)]
    k = new.loc[new["group"] == "kbz", "ggz_cost"]
    c = new.loc[new["group"] == "control", "ggz_cost"]
    diff = _term(result, "new_patient_difference")
    assert diff["estimate"] == pytest.approx(k.mean() - c.mean(), rel=EXACT)
    assert diff["n"] == min(len(k), len(c))
    welch = stats.ttest_ind(k, c, equal_var=False)
    assert welch.pvalue < SIGNIFICANT
    welch_se = np.sqrt(k.var() / len(k) + c.var() / len(c))
    assert abs(diff["std_error"] / welch_se - 1) < SE_REL_TOL
    table = result.tables["new_patients"].set_index("group")
    assert table.loc["kbz", "n_persons"] == len(k)


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
    rows = []
    costs = {"kbz": [1000.0, 1400.0, 1800.0, 2200.0], "control": [2000.0, 2600.0, 3000.0]}
    for g, values in costs.items():
        for i, v in enumerate(values * 3):
            for year, cost in ((2013, 0.0), (2016, v)):
                rows.append({"person_id": f"{g}{i:02d}", "year": year,
                             "practice_id": "K" if g == "kbz" else "C",
                             "insured_days": 365, "sex": "F", "age_band": "40-44",
                             "ggz_cost": cost})
    panel = pd.DataFrame(rows)
    practices = pd.DataFrame({"practice_id": ["K", "C"], "group": ["kbz", "control"]})
    r = _quiet(kbz.ggz_change, panel, practices, n_boot=99)
    ratio = _term(r, "new_patient_ratio_age_sex")["estimate"]
    assert ratio == pytest.approx(np.mean(costs["kbz"]) / np.mean(costs["control"]), rel=1e-6)
    adj = _term(r, "new_patient_difference_age_sex")["estimate"]
    assert adj == pytest.approx(np.mean(costs["kbz"]) - np.mean(costs["control"]), rel=1e-6)


def test_noise_free_change_is_exact():
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
    r = _quiet(kbz.ggz_change, panel, practices, n_boot=99)
    d = _term(r, "difference_in_change")
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
    plt.close(ax.figure)
