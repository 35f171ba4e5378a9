"""``kbz.dbc_index``: the seeds' figure, GLM identities and statsmodels cross-checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _claims_helpers import quiet as _quiet
from _claims_helpers import term as _term

import kbz_eval as kbz
from kbz_eval.errors import SpecificationError

EXACT = 1e-9  # relative: saturated-model identities
SM_TOL = 1e-6  # relative: our fit vs statsmodels GLM on the person-years


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


def test_person_clustered_ses_equal_statsmodels(sample):
    """Pooled DiD on the minima: statsmodels GLM(Poisson, offset) with
    ``cov_type="cluster"`` by person on the person-years gives the same fit."""
    sm = pytest.importorskip("statsmodels.api")
    res = _quiet(kbz.dbc_index, sample["person_years"], sample["practices"])
    py, pr = sample["person_years"], sample["practices"]
    d = py[py["minima"]].assign(
        kbz=lambda x: (x["practice_id"].map(pr.set_index("practice_id")["group"])
                       == "kbz").astype(float),
        iy=lambda x: x["insured_days"] / np.where(x["year"] % 4 == 0, 366, 365))
    X = pd.get_dummies(d["year"], prefix="y", drop_first=True, dtype=float)
    X.insert(0, "kbz", d["kbz"])
    X.insert(0, "const", 1.0)
    X["kbz_post"] = d["kbz"] * (d["year"] >= 2014)
    fit = sm.GLM(d["poli_dbc_count"].to_numpy(), X.to_numpy(), family=sm.families.Poisson(),
                 offset=np.log(d["iy"].to_numpy())).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["person_id"])[0]})
    did = _term(res, "did_rate_ratio")
    assert did["estimate"] == pytest.approx(np.exp(fit.params[-1]), rel=SM_TOL)
    se_log = did["std_error"] / did["estimate"]
    assert se_log == pytest.approx(fit.bse[-1], rel=SM_TOL)


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


def test_noise_free_panel_recovers_the_rate_ratio_exactly():
    rows = []
    counts = {("kbz", 2012): 4, ("kbz", 2015): 3, ("control", 2012): 2, ("control", 2015): 3}
    for (g, y), c in counts.items():
        for i in range(25):
            rows.append({"person_id": f"{g}{i}", "year": y, "practice_id": g,
                         "insured_days": 366 if y == 2012 else 365, "minima": True,
                         "poli_dbc_count": c})
    panel = pd.DataFrame(rows)
    practices = pd.DataFrame({"practice_id": ["kbz", "control"], "group": ["kbz", "control"],
                              "kbz_start_year": [2014, None]})
    r = _quiet(kbz.dbc_index, panel, practices)
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


def test_method_says_why_poisson_and_what_the_intervals_miss(figure):
    assert "Poisson" in figure.method and "negative-binomial" in figure.method
    assert "person-clustered" in figure.method and "practice-level" in figure.method
    assert figure.settings["start_year"] == 2014


@pytest.mark.parametrize("kwargs, match", [
    ({"base_year": 2011}, r"`base_year` must be a year in the panel"),
    ({"years": [2013, 2014], "base_year": 2012}, r"must include `base_year` \(2012\)"),
    ({"years": [2014, 2015, 2016], "base_year": 2014}, "needs analysed years before"),
    ({"adjust": True}, r"`adjust` must be one of \['none', 'age_sex'\], but True"),
    ({"start_year": "2014"}, "`start_year` must be a calendar year"),
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
