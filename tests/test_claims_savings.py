"""``kbz.savings``: the published figures, exact recovery, cross-checks, invariance."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _claims_helpers import quiet as _quiet
from _claims_helpers import term as _term

import kbz_eval as kbz
from kbz_eval.errors import DataValidationError, SpecificationError, StatisticalWarning
from kbz_eval.estimators.savings import DEFAULT_EXTRA_FINANCING_EUR

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
    assert saving["ci_lower"] < saving["estimate"] < saving["ci_upper"]
    assert saving["p_value"] < 0.05


def test_minima_persons_are_exactly_1641_and_net_is_over_half_a_million(minima):
    n = _term(minima, "n_persons")["estimate"]
    assert n == PUBLISHED_MINIMA_PERSONS
    saving = _term(minima, "saving_per_person")["estimate"]
    total, net = _term(minima, "total_saving"), _term(minima, "net_saving")
    assert total["estimate"] == pytest.approx(saving * n, rel=EXACT)
    assert net["estimate"] == pytest.approx(saving * n - DEFAULT_EXTRA_FINANCING_EUR,
                                            rel=EXACT)
    assert net["estimate"] > HALF_MILLION
    assert _term(minima, "break_even_financing")["estimate"] == total["estimate"]
    assert minima.settings["extra_financing_is_assumption"] is True
    assert "assumption" in minima.method and "(assumed)" in minima.headline()


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
    """Linearised (influence-function) SE of the saving, stratified by group."""
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
    boot_se = _term(everyone, "saving_per_person")["std_error"]
    assert abs(boot_se / delta_se - 1) < SE_REL_TOL


def test_tables_carry_n_persons_and_no_person_ids(minima):
    for name, table in minima.tables.items():
        assert "n_persons" in table.columns, name
        assert not any("person_id" in str(c) for c in table.columns), name
    cf = minima.tables["counterfactual"].set_index("year")
    assert cf.loc[2015, "saving"] == pytest.approx(
        _term(minima, "saving_per_person")["estimate"], rel=EXACT)
    assert cf.loc[2012, "saving"] == 0.0


def test_practice_randomisation_is_exact_over_all_relabellings(minima):
    row = _term(minima, "saving_per_person_practice_randomisation")
    assert minima.settings["practice_randomisation_assignments"] == math.comb(12, 6)
    assert 0 < row["p_value"] <= 1
    assert any("practice" in w for w in minima.warnings)


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
    # 400 × 300 / 200 − 300 = 300 per insured year; 20 persons
    row = _term(r, "saving_per_person")
    assert row["estimate"] == pytest.approx(300.0, rel=EXACT)
    assert row["ci_lower"] == pytest.approx(300.0, rel=EXACT)
    assert row["ci_upper"] == pytest.approx(300.0, rel=EXACT)
    assert _term(r, "net_saving")["estimate"] == pytest.approx(300 * 20 - 1000, rel=EXACT)
    assert r.settings["extra_financing_is_assumption"] is False
    assert "assumption" not in r.method


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
    assert a.tidy()["ci_lower"].iloc[0] != c.tidy()["ci_lower"].iloc[0]
    assert a.tidy()["estimate"].iloc[0] == c.tidy()["estimate"].iloc[0]


def test_sparse_cells_and_few_practices_warn():
    panel, practices = _random_panel(n=20)
    with pytest.warns(StatisticalWarning) as rec:
        r = kbz.savings(panel, practices, n_boot=99)
    texts = " ".join(str(w.message) for w in rec)
    assert "fewer than 10 persons" in texts and "2 KBZ and 2 control practices" in texts
    assert len(r.warnings) == 2


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
