"""``kbz.risk_adjustment``: O/E ratios by indirect standardisation, checked by hand;
practice-level inference checked by brute force; the one shared standardisation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _claims_helpers import quiet as _quiet
from _claims_helpers import term as _term
from scipy import stats
from statsmodels.stats.multitest import multipletests

import kbz_eval as kbz
from kbz_eval.errors import DataValidationError, SpecificationError, StatisticalWarning
from kbz_eval.estimators.claims_common import prepare_claims
from kbz_eval.estimators.risk_adjustment import expected_values
from kbz_eval.open_data.standardise import standardise as open_data_standardise
from kbz_eval.stats import standardise

EXACT = 1e-12
BRUTE = 1e-9  # brute-force recomputations in pandas (different summation order)
# Person-level O/E of the sample before the practice level became the default
# (estimate, std_error, ci_lower, ci_upper, p_value), which inference="person" reproduces.
OLD_PERSON_LEVEL = {
    "oe_kbz_2016": (1.0155581827957447, 0.009873385309893283, 0.996389909071268,
                    1.0350952104730982, 0.11229429510740152),
    "oe_control_2015": (1.0772076601480536, 0.01837648975244437, 1.0417858790976264,
                        1.1138338178347535, 1.3029549527096796e-05),
}
INFERENCE_COLUMNS = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]


def _tiny():
    """Two strata (young/old women), one year, two practices; full insured years.

    KBZ: young 100, 300; old 1000.   Control: young 200; old 800, 1600.
    """
    rows = [("k1", "kbz", "20-24", 100.0), ("k2", "kbz", "20-24", 300.0),
            ("k3", "kbz", "70-74", 1000.0), ("c1", "control", "20-24", 200.0),
            ("c2", "control", "70-74", 800.0), ("c3", "control", "70-74", 1600.0)]
    panel = pd.DataFrame({
        "person_id": [r[0] for r in rows], "year": 2015,
        "practice_id": [r[1].upper() for r in rows], "insured_days": 365, "sex": "F",
        "age_band": [r[2] for r in rows], "poli_dbc_cost": [r[3] for r in rows],
    })
    practices = pd.DataFrame({"practice_id": ["KBZ", "CONTROL"], "group": ["kbz", "control"]})
    return panel, practices


def test_oe_equals_a_hand_computation_with_the_pooled_reference():
    panel, practices = _tiny()
    r = _quiet(kbz.risk_adjustment, panel, practices)
    t = r.tables["observed_expected"].set_index("unit")
    # pooled rates: young (100 + 300 + 200) / 3 = 200; old (1000 + 800 + 1600) / 3 = 3400/3
    young, old = 200.0, 3400.0 / 3
    assert t.loc["kbz", "expected"] == pytest.approx(2 * young + old, rel=EXACT)
    assert t.loc["control", "expected"] == pytest.approx(young + 2 * old, rel=EXACT)
    assert t.loc["kbz", "oe_ratio"] == pytest.approx(1400 / (2 * young + old), rel=EXACT)
    assert t.loc["control", "oe_ratio"] == pytest.approx(2600 / (young + 2 * old), rel=EXACT)
    # one year, pooled reference: expected totals add up to the observed total
    assert t["expected"].sum() == pytest.approx(t["observed"].sum(), rel=EXACT)
    ref = r.tables["reference_rates"].set_index("age_band")["rate"]
    assert ref["20-24"] == pytest.approx(young) and ref["70-74"] == pytest.approx(old)


def test_oe_interval_is_the_ratio_estimator_variance_by_hand():
    panel, practices = _tiny()
    r = _quiet(kbz.risk_adjustment, panel, practices, alpha=0.1, inference="person")
    row = r.tidy().set_index("term").loc["oe_kbz_2015"]
    young, old = 200.0, 3400.0 / 3
    o = np.array([100.0, 300.0, 1000.0])
    e = np.array([young, young, old])
    ratio = o.sum() / e.sum()
    se = math.sqrt(3 / 2 * np.sum((o - ratio * e) ** 2)) / e.sum()
    z = stats.norm.ppf(0.95)
    assert row["std_error"] == pytest.approx(se, rel=EXACT)
    assert row["ci_lower"] == pytest.approx(ratio * math.exp(-z * se / ratio), rel=EXACT)
    assert row["ci_upper"] == pytest.approx(ratio * math.exp(z * se / ratio), rel=EXACT)
    assert row["p_value"] == pytest.approx(
        2 * stats.norm.sf(abs(math.log(ratio)) / (se / ratio)), rel=1e-9)


def test_control_reference_gives_the_control_group_an_oe_of_one():
    panel, practices = _tiny()
    r = _quiet(kbz.risk_adjustment, panel, practices, reference="control")
    t = r.tables["observed_expected"].set_index("unit")
    assert t.loc["control", "oe_ratio"] == pytest.approx(1.0, rel=EXACT)
    # control rates: young 200, old 1200 -> KBZ expected 2*200 + 1200
    assert t.loc["kbz", "oe_ratio"] == pytest.approx(1400 / 1600, rel=EXACT)


def test_external_reference_table():
    panel, practices = _tiny()
    ref = pd.DataFrame({"age_band": ["20-24", "70-74"], "sex": ["F", "F"],
                        "rate": [150.0, 1000.0]})
    r = _quiet(kbz.risk_adjustment, panel, practices, reference=ref)
    t = r.tables["observed_expected"].set_index("unit")
    assert t.loc["kbz", "expected"] == pytest.approx(1300.0, rel=EXACT)
    assert t.loc["control", "expected"] == pytest.approx(2150.0, rel=EXACT)
    assert r.settings["reference"] == "table"


def test_external_reference_missing_a_stratum_is_an_error():
    panel, practices = _tiny()
    ref = pd.DataFrame({"age_band": ["20-24"], "sex": ["F"], "rate": [150.0]})
    with pytest.raises(SpecificationError, match="no rate for 1 age band × sex strata"):
        kbz.risk_adjustment(panel, practices, reference=ref)


def test_by_practice_and_standardised_rate():
    panel, practices = _tiny()
    r = _quiet(kbz.risk_adjustment, panel, practices, by="practice")
    t = r.tables["observed_expected"]
    assert set(t["unit"]) == {"KBZ", "CONTROL"}
    crude_ref = 4000 / 6  # all costs / all insured years
    np.testing.assert_allclose(t["standardised_rate"], t["oe_ratio"] * crude_ref, rtol=EXACT)


def test_sample_oe_over_years_and_tables(recwarn):
    s = kbz.load_sample()
    r = _quiet(kbz.risk_adjustment, s["person_years"], s["practices"],
               outcome="poli_dbc_count", population="minima")
    t = r.tables["observed_expected"]
    assert len(t) == 10 and (t["n_persons"] >= 10).all()
    # pooled over groups and years, observed and expected totals agree
    assert t["observed"].sum() == pytest.approx(t["expected"].sum(), rel=1e-9)
    for table in r.tables.values():
        assert "n_persons" in table.columns
    assert "indirect standardisation" in r.method.lower()


def test_missing_age_information_is_reported():
    panel, practices = _tiny()
    with pytest.raises(DataValidationError, match="age_band or birth_year"):
        kbz.risk_adjustment(panel.drop(columns="age_band"), practices)


@pytest.mark.parametrize("kwargs, match", [
    ({"by": "person"}, r"`by` must be one of \['group', 'practice'\], but 'person'"),
    ({"reference": "nl"}, r"`reference` must be one of \['pooled', 'control'\], but 'nl'"),
    ({"years": [2030]}, r"`years` must be a year in the panel \[2015\], but 2030"),
    ({"inference": "cluster"}, r"`inference` must be one of \['practice', 'person'\]"),
    ({"practice_method": "cr1"}, r"`practice_method` must be one of \['wild', 'cr2'\]"),
    ({"seed": -1}, r"`seed` must be a non-negative integer"),
])
def test_bad_arguments(kwargs, match):
    panel, practices = _tiny()
    with pytest.raises(SpecificationError, match=match):
        kbz.risk_adjustment(panel, practices, **kwargs)


def test_plot_draws_one_errorbar_line_per_unit():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    s = kbz.load_sample()
    r = _quiet(kbz.risk_adjustment, s["person_years"], s["practices"], years=[2013, 2016],
               outcome="ggz_cost")
    ax = r.plot()
    data = r.plot_data()
    assert len(ax.containers) == 2  # one errorbar per unit
    for container, unit in zip(ax.containers, ("kbz", "control"), strict=True):
        sub = data[data["unit"] == unit].sort_values("year")
        line, _, (bars,) = container.lines
        np.testing.assert_allclose(line.get_ydata(), sub["oe_ratio"])
        segments = bars.get_segments()
        np.testing.assert_allclose([seg[:, 1].min() for seg in segments], sub["ci_lower"])
        np.testing.assert_allclose([seg[:, 1].max() for seg in segments], sub["ci_upper"])
    assert any(np.allclose(ln.get_ydata(), 1) for ln in ax.get_lines())
    plt.close(ax.figure)


# --------------------------------------------------------------------------- practice level
def _practices_panel(seed: int, *, n_kbz: int = 3, n_control: int = 3, persons: int = 80
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two years, persons fixed at a practice, four age/sex strata with different
    costs, a practice effect and a KBZ effect of 0.9 in 2016."""
    rng = np.random.default_rng(seed)
    ids = [f"K{i}" for i in range(n_kbz)] + [f"C{i}" for i in range(n_control)]
    practices = pd.DataFrame({"practice_id": ids,
                              "group": ["kbz"] * n_kbz + ["control"] * n_control})
    strata = [("20-24", "F", 300.0), ("20-24", "M", 200.0), ("70-74", "F", 1500.0),
              ("70-74", "M", 1800.0)]
    rows = []
    for pid in ids:
        effect = np.exp(rng.normal(0, 0.1))
        old_share = rng.uniform(0.2, 0.6)  # practices differ in age mix
        for i in range(persons):
            band, sex, mean = strata[(2 if rng.random() < old_share else 0) + i % 2]
            for year in (2015, 2016):
                kbz_effect = 0.9 if pid.startswith("K") and year == 2016 else 1.0
                rows.append({"person_id": f"{pid}-{i}", "year": year, "practice_id": pid,
                             "insured_days": 365 if year == 2015 else 366, "sex": sex,
                             "age_band": band, "poli_dbc_cost": float(
                                 mean * effect * kbz_effect * rng.gamma(2.0, 0.5))})
    return pd.DataFrame(rows), practices


def test_kbz_vs_control_interval_is_the_delete_one_practice_jackknife():
    """CR2 method, by brute force: the expected values under the (fixed) pooled
    reference rates, then the ratio of O/E ratios without each practice in turn;
    se² = Σ_g (n_g − 1)/n_g Σ (θ₍ₚ₎ − θ̄_g)², t on Welch–Satterthwaite df."""
    alpha = 0.1
    panel, practices = _practices_panel(2)
    r = _quiet(kbz.risk_adjustment, panel, practices, practice_method="cr2", alpha=alpha)
    f = panel.assign(iy=panel["insured_days"] / np.where(panel["year"] % 4 == 0, 366, 365),
                     group=panel["practice_id"].str[0].map({"K": "kbz", "C": "control"}))
    s = f.groupby(["age_band", "sex"])[["poli_dbc_cost", "iy"]].sum()
    rate = (s["poli_dbc_cost"] / s["iy"]).rename("rate")
    f = f.join(rate, on=["age_band", "sex"]).assign(expected=lambda d: d["iy"] * d["rate"])

    def ratio(sub: pd.DataFrame) -> float:
        g = sub[sub["year"] == 2016].groupby("group")[["poli_dbc_cost", "expected"]].sum()
        oe = g["poli_dbc_cost"] / g["expected"]
        return oe["kbz"] / oe["control"]

    theta = {p: ratio(f[f["practice_id"] != p]) for p in practices["practice_id"]}
    comps, sizes = [], []
    for prefix in ("K", "C"):
        t = np.array([v for p, v in theta.items() if p.startswith(prefix)])
        comps.append((t.size - 1) / t.size * np.sum((t - t.mean()) ** 2))
        sizes.append(t.size)
    se = np.sqrt(sum(comps))
    df = sum(comps) ** 2 / sum(c**2 / (n - 1) for c, n in zip(comps, sizes, strict=True))
    est = ratio(f)
    q = stats.t.ppf(1 - alpha / 2, df)
    row = _term(r, "oe_kbz_vs_control_2016")
    assert row["inference"] == "practice"
    assert row["estimate"] == pytest.approx(est, rel=BRUTE)
    assert row["std_error"] == pytest.approx(se, rel=BRUTE)
    assert row["df"] == pytest.approx(df, rel=BRUTE)
    assert row["ci_lower"] == pytest.approx(est - q * se, rel=BRUTE)
    assert row["ci_upper"] == pytest.approx(est + q * se, rel=BRUTE)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(est - 1) / se, df), rel=1e-7)
    assert np.isfinite(row["p_randomisation"])
    # the table carries the same practice-level numbers
    t = r.tables["kbz_vs_control"].set_index("year")
    assert t.loc[2016, "ci_lower"] == row["ci_lower"]


@pytest.mark.filterwarnings("ignore::kbz_eval.errors.StatisticalWarning")
def test_one_practice_per_group_gives_no_practice_level_number():
    panel, practices = _tiny()
    with pytest.warns(StatisticalWarning, match="Practice-level inference is impossible"):
        r = kbz.risk_adjustment(panel, practices)
    t = r.tidy().set_index("term")
    for name in ("oe_kbz_2015", "oe_control_2015", "oe_kbz_vs_control_2015"):
        assert np.isfinite(t.loc[name, "estimate"]), name
        assert t.loc[name, ["std_error", "ci_lower", "ci_upper", "p_value"]].isna().all()
    assert np.isfinite(t.loc["oe_kbz_vs_control_2015_persons_only", "ci_lower"])
    assert "no practice-level interval: 1 KBZ and 1 control practice(s)" in r.headline()


def test_persons_only_row_adds_the_log_scale_variances_of_the_groups():
    panel, practices = _tiny()
    r = _quiet(kbz.risk_adjustment, panel, practices)
    person = _quiet(kbz.risk_adjustment, panel, practices, inference="person")
    k, c = _term(person, "oe_kbz_2015"), _term(person, "oe_control_2015")
    ratio = k["estimate"] / c["estimate"]
    se_log = math.hypot(k["std_error"] / k["estimate"], c["std_error"] / c["estimate"])
    z = stats.norm.ppf(0.975)
    for row in (_term(r, "oe_kbz_vs_control_2015_persons_only"),
                _term(person, "oe_kbz_vs_control_2015")):
        assert row["inference"] == "person"
        assert row["estimate"] == pytest.approx(ratio, rel=EXACT)
        assert row["ci_lower"] == pytest.approx(ratio * math.exp(-z * se_log), rel=EXACT)
        assert row["p_value"] == pytest.approx(
            2 * stats.norm.sf(abs(math.log(ratio)) / se_log), rel=1e-9)
    assert not person.tidy()["term"].str.endswith("_persons_only").any()


@pytest.mark.parametrize("name", list(OLD_PERSON_LEVEL))
def test_person_level_reproduces_the_earlier_numbers(name):
    s = kbz.load_sample()
    r = _quiet(kbz.risk_adjustment, s["person_years"], s["practices"], inference="person")
    row = _term(r, name)
    np.testing.assert_allclose(row[INFERENCE_COLUMNS].to_numpy(dtype=float),
                               OLD_PERSON_LEVEL[name], rtol=1e-9)
    assert r.settings["inference"] == "person"


def test_sample_comparison_is_practice_level_with_holm_for_the_rest():
    s = kbz.load_sample()
    r = _quiet(kbz.risk_adjustment, s["person_years"], s["practices"])
    t = r.tidy()
    assert r.settings["inference"] == "practice" and r.settings["practice_method"] == "wild"
    main = t[~t["term"].str.endswith("_persons_only")]
    assert set(main["inference"]) == {"practice"}
    primary = t[t["role"] == "primary"]
    assert primary["term"].tolist() == ["oe_kbz_vs_control_2016"]
    assert primary["p_adjusted"].item() == primary["p_value"].item()
    secondary = t[t["role"] == "secondary"]
    np.testing.assert_allclose(
        secondary["p_adjusted"],
        multipletests(secondary["p_value"].to_numpy(dtype=float), method="holm")[1],
        rtol=1e-12)
    # randomisation p only for the comparisons of KBZ with control practices
    assert t.loc[t["unit"] == "kbz", "p_randomisation"].isna().all()
    assert t.loc[t["term"].str.match(r"oe_kbz_vs_control_\d{4}$"),
                 "p_randomisation"].notna().all()
    head = r.headline()
    assert "control practices" in head and "practice-level" in head and "p " in head
    assert "practice level" in r.method


def test_by_practice_is_each_practices_own_description():
    """With one practice per group, a practice's own O/E is its group's person-level
    O/E; every row says it is about that practice."""
    panel, practices = _tiny()
    by_practice = _quiet(kbz.risk_adjustment, panel, practices, by="practice")
    by_group = _quiet(kbz.risk_adjustment, panel, practices, inference="person")
    got = by_practice.tidy().set_index("term")
    want = by_group.tidy().set_index("term")
    for practice, group in (("KBZ", "kbz"), ("CONTROL", "control")):
        np.testing.assert_array_equal(
            got.loc[f"oe_{practice}_2015", INFERENCE_COLUMNS].to_numpy(dtype=float),
            want.loc[f"oe_{group}_2015", INFERENCE_COLUMNS].to_numpy(dtype=float))
    assert (got["note"].str.contains("about this practice only")).all()
    assert not got.index.str.contains("vs_control").any()
    assert "no practice is tested" in by_practice.method


# --------------------------------------------------------------------------- standardisation
def _strata_table(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for unit in ("A", "B", "C"):
        for year in (2015, 2016):
            for sex in ("M", "F"):
                for age in ("0-4", "5-9", "10-14"):
                    if rng.random() < 0.15:
                        continue  # a stratum absent in a unit
                    rows.append((unit, year, sex, age, rng.gamma(2, 100), rng.integers(0, 50)))
    return pd.DataFrame(rows, columns=["municipality", "year", "sex", "age_class", "cost",
                                       "insured_years"])


@pytest.mark.parametrize("match", [(), ("year",)])
@pytest.mark.parametrize("external", [False, True])
def test_indirect_standardisation_is_the_open_data_one(match, external):
    """One implementation: :func:`kbz_eval.stats.standardise.indirect` gives exactly the
    open-data indirect standardisation (with and without matching on the year, with
    the pooled or an external reference)."""
    data = _strata_table(1)
    reference = data[data["municipality"] == "A"] if external else None
    want = open_data_standardise(data, value="cost", exposure="insured_years",
                                 by=["municipality", "year"], method="indirect",
                                 reference=reference, match=list(match))
    got = standardise.indirect(data, value="cost", exposure="insured_years",
                               by=["municipality", "year"], strata=["sex", "age_class"],
                               reference=reference, match=match)
    pd.testing.assert_frame_equal(got, want)


def test_risk_adjustment_expected_values_come_from_the_shared_standardisation():
    s = kbz.load_sample()
    cp = prepare_claims(s["person_years"], s["practices"], population="all",
                        values=["ggz_cost"], years=[2015], need_age_sex=True)
    exp, rates, crude, _, notes = expected_values(cp, "ggz_cost", "control")
    f = cp.frame
    control = f[f["group"] == "control"]
    ref = standardise.stratum_rates(control, value="ggz_cost", exposure="iy",
                                    strata=["age_band", "sex"])
    want = standardise.expected(f, ref, exposure="iy", strata=["age_band", "sex"])
    np.testing.assert_array_equal(exp, np.where(np.isnan(want), f["iy"] * crude, want))
    assert crude == pytest.approx(control["ggz_cost"].sum() / control["iy"].sum(), rel=EXACT)
    # the control group is its own reference: its expected total is its observed total
    assert exp[f["group"] == "control"].sum() == pytest.approx(control["ggz_cost"].sum(),
                                                                rel=1e-9)
    assert notes == [] and (rates["insured_years"] > 0).all()


def test_practice_plot_colours_by_group_and_names_every_practice():
    """``by="practice"``: one error-bar line per practice in its group's colour (not a
    dozen repeating colours), the practices side by side within ±0.25 of the year, each
    named once at its line's end, and a legend of the two groups only; the drawn values
    are the plot data's O/E ratios."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = kbz.load_sample()
    r = _quiet(kbz.risk_adjustment, s["person_years"], s["practices"], by="practice")
    data = r.plot_data()
    fig, ax = plt.subplots()
    try:
        r.plot(ax=ax)
        lines = [c.lines[0] for c in ax.containers]
        assert len(lines) == data["unit"].nunique()
        groups = data.drop_duplicates("unit").set_index("unit")["group"]
        colours = {g: {matplotlib.colors.to_hex(ln.get_color()) for ln, u in
                       zip(lines, groups.index, strict=True) if groups[u] == g}
                   for g in ("kbz", "control")}
        assert all(len(c) == 1 for c in colours.values()) and colours["kbz"] != colours["control"]
        for ln, unit in zip(lines, groups.index, strict=True):
            sub = data[data["unit"] == unit].sort_values("year")
            x, y = ln.get_xdata(), ln.get_ydata()
            assert np.allclose(y, sub["oe_ratio"].to_numpy(float))
            assert np.all(np.abs(x - sub["year"].to_numpy(float)) <= 0.25)
        assert sorted(t.get_text() for t in ax.texts) == sorted(groups.index)
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "KBZ practices", "control practices"]
    finally:
        plt.close(fig)
