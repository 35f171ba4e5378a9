"""``kbz.savings``: the published figures, exact recovery, cross-checks, invariance."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from _claims_helpers import quiet as _quiet
from _claims_helpers import term as _term
from scipy import stats

import kbz_eval as kbz
from kbz_eval.errors import DataValidationError, SpecificationError, StatisticalWarning
from kbz_eval.estimators.savings import DEFAULT_EXTRA_FINANCING_EUR
from kbz_eval.stats.practice import DEFAULT_N_WILD, PERSONS_ONLY
from kbz_eval.stats.pvalues import format_p

# Published targets (shared/seeds/004) and the tolerances of the foundation issue.
PUBLISHED_SAVING_MINIMA, SAVING_REL_TOL = 356.0, 0.03
PUBLISHED_SAVING_ALL, SAVING_ALL_ABS_TOL = 26.0, 5.0
PUBLISHED_MINIMA_PERSONS = 1641
HALF_MILLION = 500_000
EXACT = 1e-9  # relative: noise-free recovery and identities
SE_REL_TOL = 0.08  # bootstrap SE vs delta-method SE (999 replicates: MC error ~2 %)


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


@pytest.fixture(scope="module")
def minima(sample):
    return _quiet(kbz.savings, sample["person_years"], sample["practices"])


@pytest.fixture(scope="module")
def everyone(sample):
    return _quiet(kbz.savings, sample["person_years"], sample["practices"],
                  population="all")


# --------------------------------------------------------------------------- the seeds
def test_minima_saving_is_the_published_356(minima):
    saving = _term(minima, "saving_per_person")
    assert abs(saving["estimate"] / PUBLISHED_SAVING_MINIMA - 1) <= SAVING_REL_TOL
    assert saving["inference"] == "practice"
    assert saving["ci_lower"] < saving["estimate"] < saving["ci_upper"]
    assert saving["p_value"] < 0.05
    assert minima.settings["inference"] == "practice"
    assert minima.settings["practice_method"] == "wild"


def test_minima_persons_are_exactly_1641_and_totals_use_insured_years(sample, minima):
    n = _term(minima, "n_persons")["estimate"]
    assert n == PUBLISHED_MINIMA_PERSONS
    py = sample["person_years"]
    kbz_ids = sample["practices"].query("group == 'kbz'")["practice_id"]
    sel = py[py["minima"] & (py["year"] == 2015) & py["practice_id"].isin(kbz_ids)]
    insured_years = float((sel["insured_days"] / 365).sum())
    assert _term(minima, "insured_years")["estimate"] == pytest.approx(insured_years,
                                                                      rel=EXACT)
    saving = _term(minima, "saving_per_person")["estimate"]
    total, net = _term(minima, "total_saving"), _term(minima, "net_saving")
    assert total["estimate"] == pytest.approx(saving * insured_years, rel=EXACT)
    assert net["estimate"] == pytest.approx(total["estimate"] - DEFAULT_EXTRA_FINANCING_EUR,
                                            rel=EXACT)
    be = _term(minima, "break_even_financing")
    for col in ("estimate", "ci_lower", "ci_upper"):
        assert be[col] == total[col]
    # the published "× 1,641 minima − financing: over half a million" is kept, labelled
    published = _term(minima, "total_saving_persons")
    assert published["estimate"] == pytest.approx(saving * n, rel=EXACT)
    assert published["estimate"] - DEFAULT_EXTRA_FINANCING_EUR > HALF_MILLION
    assert "published-style approximation" in published["note"]


def test_net_saving_has_a_practice_level_interval_and_flags_the_assumed_financing(minima):
    total, net = _term(minima, "total_saving"), _term(minima, "net_saving")
    f = DEFAULT_EXTRA_FINANCING_EUR
    # a fixed amount shifts the estimate and the interval, not the standard error
    assert net["inference"] == "practice"
    assert net["std_error"] == pytest.approx(total["std_error"], rel=EXACT)
    assert net["ci_lower"] == pytest.approx(total["ci_lower"] - f, rel=EXACT)
    assert net["ci_upper"] == pytest.approx(total["ci_upper"] - f, rel=EXACT)
    assert net["ci_lower"] < net["estimate"] < net["ci_upper"]
    assert minima.settings["extra_financing_is_assumption"] is True
    flag = "assumes extra financing of EUR 60,000 (assumption)"
    assert net["note"] == flag
    assert "the net saving " + flag in minima.method
    assert "net of EUR 60,000 extra financing (assumption)" in minima.headline()
    assert f"{net['ci_lower']:,.0f} to {net['ci_upper']:,.0f}" in minima.headline()


def test_headline_is_practice_level_and_names_the_control_practices(minima):
    row = _term(minima, "saving_per_person")
    text = minima.headline()
    assert text.startswith("2015 saving vs control practices' trend (minima): EUR 356 "
                           "per insured year (95% CI ")
    assert (f"{row['ci_lower']:,.0f} to {row['ci_upper']:,.0f}, practice-level wild "
            "cluster bootstrap, 6 KBZ vs 6 control practices; "
            f"{format_p(row['p_value'])})") in text
    assert PERSONS_ONLY not in text
    assert "at the practice level" in minima.method and PERSONS_ONLY in minima.method


def test_persons_only_row_is_present_and_labelled(minima):
    main, person = (_term(minima, "saving_per_person"),
                    _term(minima, "saving_per_person_persons_only"))
    assert person["inference"] == "person" and person["note"] == PERSONS_ONLY
    assert person["estimate"] == main["estimate"]
    assert person["ci_lower"] != main["ci_lower"]
    assert np.isnan(person["p_randomisation"]) and np.isnan(person["df"])
    terms = minima.tidy()["term"]
    assert terms.str.endswith("_persons_only").sum() == 1
    assert not terms.str.endswith("_practice_randomisation").any()
    others = minima.tidy().query("term != 'saving_per_person_persons_only'")
    assert set(others["inference"]) == {"practice"}


def test_all_insured_saving_is_the_published_26(everyone):
    saving = _term(everyone, "saving_per_person")["estimate"]
    assert abs(saving - PUBLISHED_SAVING_ALL) <= SAVING_ALL_ABS_TOL


def test_saving_equals_an_independent_pandas_computation(sample, minima):
    py, pr = sample["person_years"], sample["practices"]
    py = py[py["minima"]].assign(
        group=py["practice_id"].map(pr.set_index("practice_id")["group"]),
        iy=lambda d: d["insured_days"] / np.where(d["year"] % 4 == 0, 366, 365))
    s = py.groupby(["group", "year"])[["poli_dbc_cost", "iy"]].sum()
    r = s["poli_dbc_cost"] / s["iy"]
    expected = r["kbz", 2012] * r["control", 2015] / r["control", 2012] - r["kbz", 2015]
    assert _term(minima, "saving_per_person")["estimate"] == pytest.approx(expected, rel=EXACT)
    n15 = py[(py["year"] == 2015) & (py["group"] == "kbz")]["person_id"].nunique()
    assert _term(minima, "n_persons")["estimate"] == n15


def test_bootstrap_se_matches_the_delta_method(sample, everyone):
    """Person-level bootstrap SE vs the linearised (influence-function) SE of the
    saving over persons, stratified by group."""
    py, pr = sample["person_years"], sample["practices"]
    df = py.assign(group=py["practice_id"].map(pr.set_index("practice_id")["group"]),
                   iy=py["insured_days"] / np.where(py["year"] % 4 == 0, 366, 365))
    df = df[df["year"].isin([2012, 2015])]
    s = df.groupby(["group", "year"])[["poli_dbc_cost", "iy"]].sum()
    r = s["poli_dbc_cost"] / s["iy"]
    kb, cb, ct = r["kbz", 2012], r["control", 2012], r["control", 2015]
    deriv = {("kbz", 2012): ct / cb, ("kbz", 2015): -1.0,
             ("control", 2012): -kb * ct / cb**2, ("control", 2015): kb / cb}
    contrib = np.zeros(len(df))
    for (g, y), d in deriv.items():
        m = ((df["group"] == g) & (df["year"] == y)).to_numpy()
        contrib[m] = d * (df.loc[m, "poli_dbc_cost"] - r[g, y] * df.loc[m, "iy"]) / s.loc[
            (g, y), "iy"]
    per_person = pd.DataFrame({"person_id": df["person_id"], "group": df["group"],
                               "u": contrib}).groupby(["group", "person_id"])["u"].sum()
    var = sum(len(u) / (len(u) - 1) * np.sum((u - u.mean()) ** 2)
              for _, u in per_person.groupby(level="group"))
    delta_se = math.sqrt(var)
    boot_se = _term(everyone, "saving_per_person_persons_only")["std_error"]
    assert abs(boot_se / delta_se - 1) < SE_REL_TOL


def test_tables_carry_n_persons_and_no_person_ids(minima):
    for name, table in minima.tables.items():
        assert "n_persons" in table.columns, name
        assert not any("person_id" in str(c) for c in table.columns), name
    cf = minima.tables["counterfactual"].set_index("year")
    assert cf.loc[2015, "saving"] == pytest.approx(
        _term(minima, "saving_per_person")["estimate"], rel=EXACT)
    assert cf.loc[2012, "saving"] == 0.0


def test_practice_randomisation_equals_a_brute_force_over_all_relabellings(sample, minima):
    """Every one of the C(12, 6) = 924 ways to choose 6 KBZ practices, recomputed from
    practice × year sums in pandas."""
    py, pr = sample["person_years"], sample["practices"]
    py = py[py["minima"] & py["year"].isin([2012, 2015])].assign(
        iy=lambda d: d["insured_days"] / np.where(d["year"] % 4 == 0, 366, 365))
    sums = py.groupby(["practice_id", "year"])[["poli_dbc_cost", "iy"]].sum()
    ids = sorted(pr["practice_id"])
    observed_kbz = set(pr.loc[pr["group"] == "kbz", "practice_id"])

    def saving(kbz_ids):
        g = np.where(sums.index.get_level_values("practice_id").isin(kbz_ids), "kbz",
                     "control")
        s = sums.groupby([g, sums.index.get_level_values("year")]).sum()
        r = s["poli_dbc_cost"] / s["iy"]
        return r["kbz", 2012] * r["control", 2015] / r["control", 2012] - r["kbz", 2015]

    observed = saving(observed_kbz)
    relabelled = np.array([saving(set(c)) for c in itertools.combinations(ids, 6)])
    expected = np.mean(np.abs(relabelled) >= abs(observed) * (1 - 1e-12))
    assert minima.settings["practice_randomisation_assignments"] == math.comb(12, 6)
    assert minima.settings["practice_randomisation_exact"] is True
    for term in ("saving_per_person", "total_saving", "total_saving_persons"):
        assert _term(minima, term)["p_randomisation"] == pytest.approx(expected, rel=EXACT)
    assert np.isnan(_term(minima, "net_saving")["p_randomisation"])
    assert any("6 KBZ and 6 control practices" in w and "practice-level" in w
               for w in minima.warnings)


# --------------------------------------------------------------------------- small panels
def _noise_free(kbz_costs=(400.0, 300.0), control_costs=(200.0, 300.0), n=20):
    """Every person-year of a group costs the same: the saving is known exactly."""
    rows = []
    for g, costs, practices in (("kbz", kbz_costs, ("K1", "K2")),
                                ("control", control_costs, ("C1", "C2"))):
        for i in range(n):
            for year, cost in zip((2012, 2015), costs, strict=True):
                rows.append({"person_id": f"{g}{i:03d}", "year": year,
                             "practice_id": practices[i % 2],
                             "insured_days": 366 if year == 2012 else 365,
                             "sex": "F" if i % 2 else "M", "age_band": "40-44",
                             "minima": True, "poli_dbc_cost": cost})
    practices = pd.DataFrame({"practice_id": ["K1", "K2", "C1", "C2"],
                              "group": ["kbz", "kbz", "control", "control"],
                              "kbz_start_year": [2014, 2014, None, None]})
    return pd.DataFrame(rows), practices


def test_noise_free_panel_recovers_the_saving_exactly():
    panel, practices = _noise_free()
    r = _quiet(kbz.savings, panel, practices, n_boot=99, extra_financing_eur=1000)
    # 400 × 300 / 200 − 300 = 300 per insured year; 20 persons, 20 insured years
    row = _term(r, "saving_per_person")
    assert row["estimate"] == pytest.approx(300.0, rel=EXACT)
    assert row["std_error"] == pytest.approx(0.0, abs=1e-9)  # no practice differs
    person = _term(r, "saving_per_person_persons_only")
    assert person["ci_lower"] == pytest.approx(300.0, rel=EXACT)
    assert person["ci_upper"] == pytest.approx(300.0, rel=EXACT)
    net = _term(r, "net_saving")
    assert net["estimate"] == pytest.approx(300 * 20 - 1000, rel=EXACT)
    assert r.settings["extra_financing_is_assumption"] is False
    assert "assumption" not in r.method and "assumption" not in r.headline()
    assert net["note"] == "extra financing of EUR 1,000 (given)"


def test_age_sex_adjustment_equals_crude_when_the_mix_never_changes():
    panel, practices = _noise_free()
    r = _quiet(kbz.savings, panel, practices, n_boot=99, adjust="age_sex")
    assert _term(r, "saving_per_person_age_sex")["estimate"] == pytest.approx(
        _term(r, "saving_per_person")["estimate"], rel=EXACT)


def test_age_sex_adjustment_removes_a_change_in_the_age_mix():
    """Old persons cost 1000, young 100, in every group and year; the control group ages
    (50 % → 70 % old). Crude: a spurious saving; adjusted: none."""
    rows = []
    layout = {("kbz", 2012): 50, ("kbz", 2015): 50, ("control", 2012): 50,
              ("control", 2015): 70}
    for (g, year), n_old in layout.items():
        for i in range(100):
            old = i < n_old
            rows.append({"person_id": f"{g}{year}{i:03d}", "year": year,
                         "practice_id": ("K1" if g == "kbz" else "C1"),
                         "insured_days": 366 if year == 2012 else 365, "sex": "F",
                         "age_band": "70-74" if old else "20-24", "minima": True,
                         "poli_dbc_cost": 1000.0 if old else 100.0})
    panel = pd.DataFrame(rows)
    practices = pd.DataFrame({"practice_id": ["K1", "C1"], "group": ["kbz", "control"]})
    r = _quiet(kbz.savings, panel, practices, n_boot=99, adjust="age_sex")
    crude = 550 * 730 / 550 - 550
    assert _term(r, "saving_per_person")["estimate"] == pytest.approx(crude, rel=EXACT)
    assert _term(r, "saving_per_person_age_sex")["estimate"] == pytest.approx(0.0, abs=1e-9)


def _random_panel(seed=0, n=600):
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(n), 3)
    year = np.tile([2012, 2013, 2015], n)
    prac = np.array(["K1", "K2", "C1", "C2"])[person % 4]
    return pd.DataFrame({
        "person_id": [f"x{i:04d}" for i in person], "year": year, "practice_id": prac,
        "insured_days": rng.integers(100, 366, person.size), "sex": np.where(person % 2,
                                                                            "F", "M"),
        "birth_year": 1940 + person % 60, "minima": (person % 5) < 3,
        "poli_dbc_cost": np.round(rng.gamma(0.5, 800.0, person.size), 2),
    }), pd.DataFrame({"practice_id": ["K1", "K2", "C1", "C2"],
                      "group": ["kbz", "kbz", "control", "control"],
                      "kbz_start_year": [2014, 2014, None, None]})


def test_row_order_column_order_and_category_coding_do_not_matter():
    panel, practices = _random_panel()
    before, before_p = panel.copy(), practices.copy()
    kw = {"n_boot": 199, "seed": 4, "adjust": "age_sex"}
    ref = _quiet(kbz.savings, panel, practices, **kw)
    pd.testing.assert_frame_equal(panel, before)
    pd.testing.assert_frame_equal(practices, before_p)
    shuffled = panel.sample(frac=1, random_state=2)[panel.columns[::-1]]
    recoded = panel.assign(
        person_id=panel["person_id"].astype("category"),
        practice_id=pd.Categorical(panel["practice_id"], categories=["C2", "K1", "C1",
                                                                     "K2"]),
        sex=panel["sex"].astype("category"), minima=panel["minima"].astype(int))
    recoded_p = practices.assign(group=practices["group"].str.upper().astype("category"))
    for p, q in ((shuffled, practices), (recoded, recoded_p),
                 (panel, practices.iloc[::-1])):
        other = _quiet(kbz.savings, p, q, **kw)
        pd.testing.assert_frame_equal(ref.tidy(), other.tidy())
        for name in ref.tables:
            pd.testing.assert_frame_equal(ref.tables[name], other.tables[name])


def test_seed_reproduces_and_changes_the_bootstrap():
    panel, practices = _random_panel()
    a = _quiet(kbz.savings, panel, practices, n_boot=99, seed=1)
    b = _quiet(kbz.savings, panel, practices, n_boot=99, seed=1)
    c = _quiet(kbz.savings, panel, practices, n_boot=99, seed=2)
    pd.testing.assert_frame_equal(a.tidy(), b.tidy())
    # 2 vs 2 practices: the practice level is the analytic (seed-free) interval, the
    # person bootstrap of the labelled secondary row moves with the seed
    ta, tc = (r.tidy().set_index("term") for r in (a, c))
    assert ta.loc["saving_per_person", "ci_lower"] == tc.loc["saving_per_person", "ci_lower"]
    row = "saving_per_person_persons_only"
    assert ta.loc[row, "ci_lower"] != tc.loc[row, "ci_lower"]
    assert ta.loc[row, "estimate"] == tc.loc[row, "estimate"]


def test_sparse_cells_and_few_practices_warn():
    panel, practices = _random_panel(n=20)
    with pytest.warns(StatisticalWarning) as rec:
        r = kbz.savings(panel, practices, n_boot=99)
    texts = " ".join(str(w.message) for w in rec)
    assert "fewer than 10 persons" in texts and "2 KBZ and 2 control practices" in texts
    assert len(r.warnings) == 2


# --------------------------------------------------------------------------- practice level
def _practice_panel(seed=0, n_kbz=4, n_control=5, persons=30):
    """Practices of one group each, with a practice effect and a practice × year shock."""
    rng = np.random.default_rng(seed)
    ids = [f"K{i}" for i in range(n_kbz)] + [f"C{i}" for i in range(n_control)]
    rows = []
    for p in ids:
        effect = rng.lognormal(0.0, 0.3)
        for year in (2012, 2013, 2015):
            shock = rng.lognormal(0.0, 0.1)
            for i in range(persons):
                rows.append({"person_id": f"{p}-{i:03d}", "year": year, "practice_id": p,
                             "insured_days": int(rng.integers(120, 366)), "minima": True,
                             "poli_dbc_cost": float(rng.gamma(0.6, 700.0) * effect * shock)})
    groups = ["kbz"] * n_kbz + ["control"] * n_control
    return pd.DataFrame(rows), pd.DataFrame({"practice_id": ids, "group": groups})


def _pandas_estimates(panel, practices, drop=None):
    """Saving per insured year, total (× KBZ insured years) and KBZ 2015 rate, in pandas,
    without practice ``drop``."""
    d = panel[panel["practice_id"] != drop].assign(
        group=lambda x: x["practice_id"].map(practices.set_index("practice_id")["group"]),
        iy=lambda x: x["insured_days"] / np.where(x["year"] % 4 == 0, 366, 365))
    s = d.groupby(["group", "year"])[["poli_dbc_cost", "iy"]].sum()
    r = s["poli_dbc_cost"] / s["iy"]
    saving = r["kbz", 2012] * r["control", 2015] / r["control", 2012] - r["kbz", 2015]
    return {"saving_per_person": saving, "total_saving": saving * s.loc[("kbz", 2015), "iy"],
            "rate_kbz_2015": r["kbz", 2015]}


def _brute_force_cr2(panel, practices, name, alpha=0.05):
    """Delete-one-practice jackknife stratified by group, by recomputation: se, the
    Welch–Satterthwaite df and the t interval."""
    est = _pandas_estimates(panel, practices)[name]
    comps, sizes = [], []
    for _, ids in practices.groupby("group")["practice_id"]:
        theta = np.array([_pandas_estimates(panel, practices, drop=p)[name] for p in ids])
        n_h = len(ids)
        comps.append((n_h - 1) / n_h * np.sum((theta - theta.mean()) ** 2))
        sizes.append(n_h)
    comps, sizes = np.array(comps), np.array(sizes)
    se = math.sqrt(comps.sum())
    use = comps > 0
    df = comps[use].sum() ** 2 / np.sum(comps[use] ** 2 / (sizes[use] - 1))
    q = stats.t.ppf(1 - alpha / 2, df)
    return {"estimate": est, "std_error": se, "df": df, "ci_lower": est - q * se,
            "ci_upper": est + q * se, "p_value": 2 * stats.t.sf(abs(est / se), df)}


def test_cr2_interval_equals_a_brute_force_delete_one_practice_jackknife():
    panel, practices = _practice_panel()
    r = _quiet(kbz.savings, panel, practices, n_boot=99, practice_method="cr2")
    assert r.settings["practice_method"] == "cr2"
    for term in ("saving_per_person", "total_saving"):
        want = _brute_force_cr2(panel, practices, term)
        row = _term(r, term)
        assert row["inference"] == "practice"
        for col, value in want.items():
            assert row[col] == pytest.approx(value, rel=EXACT), (term, col)
    # the table's KBZ 2015 cost per insured year: only the 4 KBZ practices vary it
    want = _brute_force_cr2(panel, practices, "rate_kbz_2015")
    assert want["df"] == pytest.approx(3.0, rel=EXACT)
    cell = r.tables["by_group_year"].set_index(["group", "year"]).loc[("kbz", 2015)]
    assert cell["n_practices"] == 4
    assert cell["ci_lower"] == pytest.approx(want["ci_lower"], rel=EXACT)
    assert cell["ci_upper"] == pytest.approx(want["ci_upper"], rel=EXACT)
    assert "CR2 t on" in r.headline() and "4 KBZ vs 5 control practices" in r.headline()


def test_wild_bootstrap_studentises_with_the_jackknife_se():
    panel, practices = _practice_panel()
    wild = _quiet(kbz.savings, panel, practices, n_boot=99, seed=5)
    cr2 = _quiet(kbz.savings, panel, practices, n_boot=99, seed=5, practice_method="cr2")
    w, c = _term(wild, "saving_per_person"), _term(cr2, "saving_per_person")
    assert w["std_error"] == pytest.approx(c["std_error"], rel=EXACT)
    # symmetric: estimate ± (bootstrap quantile of |t*|) × the jackknife se
    assert w["estimate"] - w["ci_lower"] == pytest.approx(w["ci_upper"] - w["estimate"],
                                                          rel=1e-9)
    assert w["ci_upper"] != pytest.approx(c["ci_upper"], rel=1e-6)
    # p = (1 + #{|t*| >= |t|}) / (1 + B): a multiple of 1 / (1 + B), never 0
    scaled = w["p_value"] * (1 + DEFAULT_N_WILD)
    assert scaled == pytest.approx(round(scaled), abs=1e-6) and scaled >= 1
    assert wild.settings["practice_n_boot"] == DEFAULT_N_WILD
    again = _quiet(kbz.savings, panel, practices, n_boot=99, seed=5)
    pd.testing.assert_frame_equal(wild.tidy(), again.tidy())


def test_one_practice_per_group_gives_no_practice_level_numbers_and_says_so():
    panel, practices = _practice_panel(n_kbz=1, n_control=1)
    with pytest.warns(StatisticalWarning, match="Practice-level inference is impossible "
                      "with 1 KBZ and 1 control practice"):
        r = kbz.savings(panel, practices, n_boot=99)
    t = r.tidy().set_index("term")
    main = t[t["inference"] == "practice"].drop(index=["n_persons", "insured_years"])
    assert len(main) == 7  # saving, actual, counterfactual and four totals
    for col in ("std_error", "ci_lower", "ci_upper", "p_value", "p_randomisation"):
        assert main[col].isna().all(), col
    assert np.isfinite(main["estimate"]).all()
    person = t.loc["saving_per_person_persons_only"]
    assert np.isfinite(person[["ci_lower", "ci_upper", "p_value"]].astype(float)).all()
    assert r.tables["counterfactual"][["actual_ci_lower", "saving_ci_upper"]].isna().all(
        ).all()
    assert "no practice-level interval: 1 KBZ and 1 control practice(s)" in r.headline()
    assert "(no interval)" in r.headline()
    assert r.settings["practice_randomisation_assignments"] == 0


#: ``kbz.savings(*_random_panel(), n_boot=199, seed=3, adjust="age_sex")`` with the
#: person-level implementation of commit 1b66477 (before practice-level inference):
#: ``estimate, std_error, ci_lower, ci_upper, p_value``. Its ``total_saving`` was × persons
#: (now ``total_saving_persons``), its ``total_saving_insured_years`` is now
#: ``total_saving``.
PERSON_LEVEL_GOLDEN = {
    "saving_per_person": (7.504513131307135, 137.92663004445984, -242.24158345916769,
                          335.4474228464488, 0.9851234612485379),
    "actual_cost_per_person": (676.335590113529, 66.53116521415473, 566.2066432172877,
                               822.4057611630355, np.nan),
    "counterfactual_cost_per_person": (683.8401032448361, 123.04286426796445,
                                       484.0784519659029, 978.8863143479213, np.nan),
    "total_saving_persons": (1350.8123636352843, 24826.793408002774, -43604.82101031886,
                             60380.01179191158, 0.9851234827246993),
    "total_saving": (869.2899046347003, 15883.09348100892, -27682.668671707554,
                     39555.444985943424, 0.9851234928645923),
    "saving_per_person_age_sex": (8.98017525300552, 138.58589220126694,
                                  -237.53036310378175, 351.77698911312586,
                                  0.9448761561600937),
}
PERSON_LEVEL_GOLDEN_SAVING_BY_YEAR = {  # counterfactual table: saving, ci_lower, ci_upper
    2013: (118.8115723816112, -142.82573625618127, 485.91955109307105),
    2015: (7.504513131307135, -242.24158345916769, 335.4474228464488),
}


def test_person_inference_reproduces_the_person_level_numbers():
    panel, practices = _random_panel()
    kw = {"n_boot": 199, "seed": 3, "adjust": "age_sex"}
    r = _quiet(kbz.savings, panel, practices, inference="person", **kw)
    cols = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]
    for term, values in PERSON_LEVEL_GOLDEN.items():
        np.testing.assert_allclose(_term(r, term)[cols].to_numpy(dtype=float), values,
                                   rtol=EXACT, err_msg=term)
    cf = r.tables["counterfactual"].set_index("year")
    for year, values in PERSON_LEVEL_GOLDEN_SAVING_BY_YEAR.items():
        np.testing.assert_allclose(
            cf.loc[year, ["saving", "saving_ci_lower", "saving_ci_upper"]].to_numpy(
                dtype=float), values, rtol=EXACT)
    t = r.tidy()
    assert set(t["inference"]) == {"person"}
    assert not t["term"].str.endswith("_persons_only").any()
    assert t["p_randomisation"].isna().all() and t["df"].isna().all()
    assert _term(r, "saving_per_person")["note"] == PERSONS_ONLY
    assert PERSONS_ONLY in r.headline() and PERSONS_ONLY in r.method
    assert r.settings["inference"] == "person"
    assert any("inference='person'" in w for w in r.warnings)
    # the practice-level default keeps the same person-level numbers in its labelled row
    default = _quiet(kbz.savings, panel, practices, **kw)
    np.testing.assert_array_equal(
        _term(default, "saving_per_person_persons_only")[cols].to_numpy(dtype=float),
        _term(r, "saving_per_person")[cols].to_numpy(dtype=float))


@pytest.mark.parametrize("kwargs, match", [
    ({"population": "rich"}, r"`population` must be one of \['minima', 'all'\], but 'rich'"),
    ({"year": 2019}, r"`year` must be a year in the panel \[2012, 2013, 2015\], but 2019"),
    ({"base_year": 2015}, "`year` and `base_year` must differ"),
    ({"extra_financing_eur": -5}, "`extra_financing_eur` must be a non-negative amount"),
    ({"n_boot": 10}, "`n_boot` must be an integer of at least 99"),
    ({"adjust": "age"}, r"`adjust` must be one of \['none', 'age_sex'\], but 'age'"),
    ({"interval": "normal"}, r"`interval` must be one of \['bca', 'percentile'\]"),
    ({"seed": -1}, "`seed` must be a non-negative integer or None"),
    ({"alpha": 5}, "`alpha` must be a number strictly between 0 and 1"),
    ({"years": [2012, 2013]}, r"must include `year` \(2015\)"),
    ({"inference": "persons"},
     r"The value for `inference` must be one of \['practice', 'person'\], but 'persons' "
     "was passed"),
    ({"practice_method": "cr1"},
     r"The value for `practice_method` must be one of \['wild', 'cr2'\], but 'cr1' was "
     "passed"),
])
def test_bad_arguments_are_specification_errors(kwargs, match):
    panel, practices = _random_panel(n=40)
    with pytest.raises(SpecificationError, match=match):
        _quiet(kbz.savings, panel, practices, **kwargs)


def test_missing_outcome_column_is_a_data_validation_error():
    panel, practices = _random_panel(n=40)
    with pytest.raises(DataValidationError, match="poli_dbc_cost"):
        kbz.savings(panel.drop(columns="poli_dbc_cost"), practices)


def test_options_are_keyword_only():
    panel, practices = _random_panel(n=40)
    with pytest.raises(TypeError):
        kbz.savings(panel, practices, 2015)  # type: ignore[misc]


# --------------------------------------------------------------------------- plot
def test_plot_draws_actual_and_counterfactual_with_bands(minima):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    ax = minima.plot()
    data = minima.plot_data()
    lines = ax.get_lines()
    assert len(lines) == 2 and len(ax.collections) == 2
    for line, series in zip(lines, ("kbz", "kbz_control_trend"), strict=True):
        sub = data[data["series"] == series].sort_values("year")
        np.testing.assert_array_equal(line.get_xdata(), sub["year"].to_numpy(dtype=float))
        np.testing.assert_allclose(line.get_ydata(), sub["cost_per_insured_year"])
    for band, series in zip(ax.collections, ("kbz", "kbz_control_trend"), strict=True):
        sub = data[data["series"] == series].sort_values("year")
        ys = band.get_paths()[0].vertices[:, 1]
        assert ys.min() == pytest.approx(sub["ci_lower"].min())
        assert ys.max() == pytest.approx(sub["ci_upper"].max())
    plt.close(ax.figure)


def test_repr_and_html(minima):
    assert "\n" not in repr(minima) and "1,641" in repr(minima)
    assert "<table" in minima._repr_html_()


# --------------------------------------------------------------------------- engine
def test_same_result_on_the_panel_built_from_claim_lines(sample, minima):
    engine = pytest.importorskip("kbz_eval.engine")
    build_panel = getattr(engine, "build_panel", None)
    if build_panel is None:
        pytest.skip("kbz_eval.engine.build_panel is not available yet")
    panel = build_panel(sample["claim_lines"], sample["insured_periods"])
    other = _quiet(kbz.savings, panel, sample["practices"])
    a, b = minima.tidy(), other.tidy()
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-9)
