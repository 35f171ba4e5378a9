"""Case-mix adjusted expected values by regression (``expected_by_regression``).

Checked three ways: against statsmodels fitted from a formula on a design built
independently in pandas (prior-year cost by a merge on person and year − 1); against
indirect standardisation, which a saturated Poisson model on the age band × sex strata
must reproduce exactly; and on hand-checkable data (closed-form rates and sandwich
variances, a noise-free outcome whose coefficients must be recovered).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from _claims_helpers import quiet

import kbz_eval as kbz
from kbz_eval import tables
from kbz_eval.errors import DataValidationError, SpecificationError, StatisticalWarning
from kbz_eval.estimators.case_mix import (
    COVARIATES,
    CaseMixResult,
    expected_by_regression,
)
from kbz_eval.estimators.claims_common import prepare_claims
from kbz_eval.results import TIDY_COLUMNS
from kbz_eval.stats import standardise

#: A saturated Poisson model reproduces the stratum rates: equal up to the convergence
#: tolerance of the fit.
SATURATED_REL = 1e-8
#: Our design and fit against statsmodels' formula interface on the same data.
COEF_TOL = 1e-7
SE_REL = 1e-6
#: Closed-form values of the hand-checkable example.
HAND_REL = 1e-9
#: A noise-free outcome: the fit must recover the generating coefficients.
KNOWN_TRUTH_ABS = 1e-7
YEARS = [2015, 2016]


@pytest.fixture(scope="module")
def sample():
    return kbz.load_sample()


def _sample_fit(sample, **kwargs):
    return quiet(expected_by_regression, sample["person_years"], sample["practices"],
                 **kwargs)


@pytest.fixture(scope="module")
def default_fit(sample):
    """The default model (Poisson; age band, sex, minima, prior-year cost) of DBC
    counts in 2015–2016 of the sample, fitted once for the tests that read it."""
    return _sample_fit(sample, outcome="poli_dbc_count", years=YEARS)


@pytest.fixture(scope="module")
def saturated_fit(sample):
    return _sample_fit(sample, outcome="poli_dbc_cost", covariates=("age_band:sex",),
                       years=YEARS)


# --------------------------------------------------------------------------- statsmodels
def _independent_design(panel: pd.DataFrame) -> pd.DataFrame:
    """The default covariates built directly in pandas, for the statsmodels formula."""
    prev = panel[["person_id", "year", "total_cost"]].assign(year=panel["year"] + 1)
    d = panel.merge(prev.rename(columns={"total_cost": "prior"}), on=["person_id", "year"],
                    how="left")
    d = d[d["year"].isin(YEARS)].reset_index(drop=True)
    d["no_prior"] = d["prior"].isna().astype(float)
    d["lp"] = np.log1p(d["prior"].fillna(0.0))
    d["minima_f"] = d["minima"].astype(float)
    d["iy"] = d["insured_days"] / np.where(d["year"] % 4 == 0, 366.0, 365.0)
    d["cluster"] = pd.factorize(d["person_id"])[0]
    return d


@pytest.fixture(scope="module")
def statsmodels_poisson(sample):
    """``smf.glm(y ~ C(age_band) + C(sex) + minima + lp + no_prior, offset=log iy)``,
    person-clustered covariance, on 2015–2016 of the sample."""
    smf = pytest.importorskip("statsmodels.formula.api")
    sm = pytest.importorskip("statsmodels.api")
    d = _independent_design(sample["person_years"])
    bands = [b for b in tables.AGE_BANDS if b in set(d["age_band"])]
    d["band"] = pd.Categorical(d["age_band"], categories=bands)
    fit = smf.glm("poli_dbc_count ~ C(band) + C(sex) + minima_f + lp + no_prior", data=d,
                  family=sm.families.Poisson(), offset=np.log(d["iy"])).fit(
        cov_type="cluster", cov_kwds={"groups": d["cluster"]}, tol=1e-13)
    return d, fit


def test_coefficients_and_robust_errors_equal_statsmodels(default_fit, statsmodels_poisson):
    d, ref = statsmodels_poisson
    r = default_fit
    m = r.tables["model"]
    assert len(m) == len(ref.params)  # same parameterisation: first level as reference
    np.testing.assert_allclose(m["estimate"], ref.params.to_numpy(), rtol=0,
                               atol=COEF_TOL)
    np.testing.assert_allclose(m["std_error"], ref.bse.to_numpy(), rtol=SE_REL)
    fit = r.tables["fit"].iloc[0]
    assert fit["deviance"] == pytest.approx(ref.deviance, rel=1e-9)
    assert fit["null_deviance"] == pytest.approx(ref.null_deviance, rel=1e-9)
    assert fit["pearson_chi2"] == pytest.approx(ref.pearson_chi2, rel=1e-9)
    assert fit["aic"] == pytest.approx(ref.aic, rel=1e-9)
    assert fit["n"] == len(d)
    # expected per practice and year: the fitted values summed
    exp = d.assign(mu=ref.fittedvalues).groupby(["practice_id", "year"])["mu"].sum()
    oe = r.tables["observed_expected"].set_index(["practice", "year"])
    np.testing.assert_allclose(oe["expected"], exp.loc[oe.index], rtol=1e-9)


def test_negative_binomial_equals_statsmodels(sample):
    smf = pytest.importorskip("statsmodels.formula.api")
    d = _independent_design(sample["person_years"])
    d = d[d["year"] == 2016].reset_index(drop=True)
    ref = smf.negativebinomial("poli_dbc_count ~ C(sex) + minima_f + lp + no_prior",
                               data=d, offset=np.log(d["iy"]), loglike_method="nb2").fit(
        disp=0, method="newton", maxiter=200)
    r = _sample_fit(sample, outcome="poli_dbc_count", model="negbin", years=[2016],
                    covariates=("sex", "minima", "prior_cost"))
    fit = r.tables["fit"].iloc[0]
    assert fit["alpha"] == pytest.approx(ref.params["alpha"], rel=1e-5)
    np.testing.assert_allclose(r.tables["model"]["estimate"], ref.params.to_numpy()[:-1],
                               rtol=0, atol=1e-6)
    assert fit["log_likelihood"] == pytest.approx(ref.llf, rel=1e-9)
    assert fit["aic"] == pytest.approx(ref.aic, rel=1e-9)  # k + 1 parameters with α
    assert fit["n_parameters"] == len(ref.params)


# --------------------------------------------------------------------------- standardisation
def test_saturated_poisson_equals_indirect_standardisation(sample, saturated_fit):
    """With the age band × sex strata as the only covariates the Poisson model fits
    each stratum's pooled rate, so E is indirect standardisation with the pooled
    reference — the same number from the regression, from ``risk_adjustment`` and from
    :mod:`kbz_eval.stats.standardise`, to ``SATURATED_REL``."""
    panel, practices = sample["person_years"], sample["practices"]
    ours = saturated_fit.tables["observed_expected"].set_index(["practice", "year"])
    ra = quiet(kbz.risk_adjustment, panel, practices, outcome="poli_dbc_cost", years=YEARS,
               by="practice", reference="pooled")
    theirs = ra.tables["observed_expected"].set_index(["unit", "year"])
    theirs.index.names = ["practice", "year"]
    np.testing.assert_allclose(ours["expected"], theirs.loc[ours.index, "expected"],
                               rtol=SATURATED_REL)
    np.testing.assert_allclose(ours["oe_ratio"], theirs.loc[ours.index, "oe_ratio"],
                               rtol=SATURATED_REL)
    # and straight from the shared numerics
    cp = prepare_claims(panel, practices, population="all", values=["poli_dbc_cost"],
                        years=YEARS, need_age_sex=True)
    rates = standardise.stratum_rates(cp.frame, value="poli_dbc_cost", exposure="iy",
                                      strata=["age_band", "sex"])
    e = cp.frame.assign(e=standardise.expected(cp.frame, rates, exposure="iy",
                                               strata=["age_band", "sex"]))
    by_cell = e.groupby(["practice_id", "year"])["e"].sum()
    np.testing.assert_allclose(ours["expected"], by_cell.loc[ours.index], rtol=SATURATED_REL)


def test_main_effects_are_not_saturated_but_centre_on_one(sample, saturated_fit):
    """Age band + sex without interaction is a different (smoother) model: E differs
    from indirect standardisation, yet a Poisson fit with an intercept makes ΣE = ΣO."""
    r = _sample_fit(sample, outcome="poli_dbc_cost", covariates=("age_band", "sex"),
                    years=YEARS)
    t = r.tables["observed_expected"]
    assert t["expected"].sum() == pytest.approx(t["observed"].sum(), rel=1e-9)
    s = saturated_fit.tables["observed_expected"]
    # measured: the expected values differ by up to 0.23 % per practice and year
    assert np.abs(t["expected"] / s["expected"] - 1).max() > 1e-3


# --------------------------------------------------------------------------- by hand
def _hand_panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eight persons, one full year (2015), one practice per sex for variety.

    Women: 0, 1, 2, 5 DBCs (rate 2); men: 1, 1, 3, 0 (rate 1.25).
    """
    panel = pd.DataFrame({
        "person_id": [f"p{i}" for i in range(8)], "year": 2015,
        "practice_id": ["A", "B"] * 4, "insured_days": 365,
        "sex": ["F"] * 4 + ["M"] * 4, "age_band": "40-44",
        "poli_dbc_count": [0, 1, 2, 5, 1, 1, 3, 0],
    })
    practices = pd.DataFrame({"practice_id": ["A", "B"], "group": ["kbz", "control"]})
    return panel, practices


def test_one_binary_covariate_by_hand():
    """Poisson with sex only: exp(intercept) = the women's rate 2, exp(sex[M]) = 1.25/2.

    Person-clustered (CR1) variance, each person one row: with residuals
    r = y − rate, Var(intercept) = c · Σ_F r² / (Σ_F y)² = c · 14 / 64 and
    Var(sex[M]) = c · (14 / 64 + 4.75 / 25), c = G/(G − 1) · (N − 1)/(N − k) = 8/7 · 7/6.
    """
    panel, practices = _hand_panel()
    r = quiet(expected_by_regression, panel, practices, outcome="poli_dbc_count",
              covariates=("sex",))
    m = r.tables["model"].set_index("term")
    assert m.loc["intercept", "estimate"] == pytest.approx(math.log(2.0), rel=HAND_REL)
    assert m.loc["sex[M]", "estimate"] == pytest.approx(math.log(1.25 / 2.0), rel=HAND_REL)
    c = 8 / 7 * 7 / 6
    assert m.loc["intercept", "std_error"] == pytest.approx(math.sqrt(c * 14 / 64),
                                                            rel=1e-7)
    assert m.loc["sex[M]", "std_error"] == pytest.approx(
        math.sqrt(c * (14 / 64 + 4.75 / 25)), rel=1e-7)
    assert m.loc["sex[M]", "n_persons"] == 4 and m.loc["intercept", "n_persons"] == 8
    # practice A holds p0, p2 (F: rate 2) and p4, p6 (M: rate 1.25): E = 6.5, O = 0+2+1+3
    oe = r.tables["observed_expected"].set_index("practice")
    assert oe.loc["A", "expected"] == pytest.approx(6.5, rel=HAND_REL)
    assert oe.loc["A", "observed"] == 6.0
    assert oe.loc["A", "oe_ratio"] == pytest.approx(6.0 / 6.5, rel=HAND_REL)
    fit = r.tables["fit"].iloc[0]
    assert fit["pseudo_r2"] == pytest.approx(1 - fit["deviance"] / fit["null_deviance"])
    assert fit["dispersion"] == pytest.approx(fit["pearson_chi2"] / (8 - 2))
    assert math.isnan(fit["alpha"])


def test_prior_year_cost_is_found_wherever_the_person_was_and_recovered_exactly():
    """A noise-free outcome y = iy · exp(a + b·log1p(prior) + c·no_prior) must give back
    a, b and c (Poisson quasi-likelihood fits y = μ exactly). Prior years are found
    outside the analysed years, at another practice and for non-minima years; a person
    with a gap (2014, 2016) and a newly insured person have no prior year."""
    a, b, c = math.log(300.0), 0.25, 0.7
    rows = []
    specs = [  # person, years, practice per year
        ("p1", [2014, 2015, 2016], ["A", "A", "A"]),
        ("p2", [2015, 2016], ["B", "A"]),          # moved: 2015 prior at practice B
        ("p3", [2014, 2016], ["A", "A"]),          # gap: no prior in 2016
        ("p4", [2016], ["B"]),                     # newly insured
        ("p5", [2015, 2016], ["A", "B"]),
        ("p6", [2014, 2015, 2016], ["B", "B", "B"]),
    ]
    costs = {("p1", 2014): 50.0, ("p1", 2015): 900.0, ("p2", 2015): 0.0,
             ("p3", 2014): 4000.0, ("p5", 2015): 120.0, ("p6", 2014): 10.0,
             ("p6", 2015): 2500.0}
    for pid, years, pracs in specs:
        for yr, prac in zip(years, pracs, strict=True):
            rows.append({"person_id": pid, "year": yr, "practice_id": prac,
                         "insured_days": 200 if pid == "p4" else 365, "sex": "F",
                         "age_band": "30-34", "minima": yr == 2016,
                         "total_cost": costs.get((pid, yr), 100.0)})
    panel = pd.DataFrame(rows)
    prior = panel.set_index(["person_id", "year"])["total_cost"]
    lp, no = [], []
    for row in panel.itertuples():
        key = (row.person_id, row.year - 1)
        lp.append(math.log1p(prior[key]) if key in prior.index else 0.0)
        no.append(0.0 if key in prior.index else 1.0)
    iy = panel["insured_days"] / np.where(panel["year"] % 4 == 0, 366, 365)
    panel["y"] = iy * np.exp(a + b * np.array(lp) + c * np.array(no))
    practices = pd.DataFrame({"practice_id": ["A", "B"], "group": ["kbz", "control"]})
    before = panel.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        warnings.filterwarnings("ignore", message="Perfect separation or prediction")
        r = expected_by_regression(panel, practices, outcome="y", years=[2015, 2016],
                                   covariates=("prior_cost",), population="minima")
    pd.testing.assert_frame_equal(panel, before)  # the caller's frame is untouched
    m = r.tables["model"].set_index("term")
    assert m.loc["intercept", "estimate"] == pytest.approx(a, abs=KNOWN_TRUTH_ABS)
    assert m.loc["log1p_prior_cost", "estimate"] == pytest.approx(b, abs=KNOWN_TRUTH_ABS)
    assert m.loc["no_prior_year", "estimate"] == pytest.approx(c, abs=KNOWN_TRUTH_ABS)
    oe = r.tables["observed_expected"]
    np.testing.assert_allclose(oe["oe_ratio"], 1.0, rtol=1e-9)
    assert set(oe["year"]) == {2016}  # population="minima": only 2016 rows are minima
    assert math.isnan(r.tables["fit"].iloc[0]["aic"])  # quasi-likelihood: no AIC


def test_person_years_without_a_prior_year_are_counted_in_a_warning(sample, default_fit):
    assert any(w.endswith("person-years have no previous year in the panel (e.g. the "
                          "first year, or newly insured); their prior-year cost is set to "
                          "0 and the indicator no_prior_year is 1, so the model estimates "
                          "their level separately.") and " of 63111 " in w
               for w in default_fit.warnings)
    with pytest.warns(StatisticalWarning, match=r"no analysed person-year has a previous "
                      r"year in the panel .* left out of the model"):
        r = expected_by_regression(sample["person_years"], sample["practices"],
                                   outcome="poli_dbc_count", years=[2012])
    assert "log1p_prior_cost" not in set(r.tables["model"]["term"])


# --------------------------------------------------------------------------- contract
def test_result_contract_and_tables(sample, default_fit):
    panel = sample["person_years"]
    before = panel.copy()
    _sample_fit(sample, outcome="poli_dbc_count", years=[2016], covariates=("minima",))
    pd.testing.assert_frame_equal(panel, before)  # the caller's frame is untouched
    r = default_fit
    assert isinstance(r, CaseMixResult)
    assert list(r.tidy().columns[:len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    assert len(r.tidy()) == 12 * len(YEARS)
    assert list(r.tables["observed_expected"].columns) == [
        "practice", "group", "year", "n_persons", "insured_years", "observed", "expected",
        "oe_ratio", "ci_lower", "ci_upper"]
    assert list(r.tables["model"].columns) == [
        "term", "n_persons", "estimate", "std_error", "ci_lower", "ci_upper", "rate_ratio",
        "p_value"]
    assert {"deviance", "dispersion", "pseudo_r2", "aic", "alpha", "n"} <= set(
        r.tables["fit"].columns)
    assert set(r.tables["observed_expected"]["group"]) == {"kbz", "control"}
    for t in r.tables.values():  # no person id reaches a table
        assert not t.astype(str).apply(lambda c: c.str.match(r"^P\d{7}$")).any().any()
    assert "no practice terms" in r.method and "CR1" in r.method
    assert "KBZ and control" in r.headline()
    assert isinstance(r.summary(), pd.DataFrame) and "<table" in r._repr_html_()


def test_plot_draws_exactly_the_plot_data(default_fit):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    r = default_fit
    data = r.plot_data()
    assert (data["year"] == 2016).all() and data["oe_ratio"].is_monotonic_increasing
    ax = r.plot()
    assert len(ax.containers) == 2
    for container in ax.containers:
        group = container.get_label().split(":")[0]
        sub = data[data["group"] == ("kbz" if group.startswith("KBZ") else "control")]
        line, _, (bars,) = container.lines
        np.testing.assert_allclose(line.get_xdata(), sub["oe_ratio"])
        np.testing.assert_allclose(line.get_ydata(), sub["position"])
        segs = bars.get_segments()
        np.testing.assert_allclose([s[:, 0].min() for s in segs], sub["ci_lower"])
        np.testing.assert_allclose([s[:, 0].max() for s in segs], sub["ci_upper"])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(data["practice"])
    plt.close(ax.figure)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"model": "gamma"}, SpecificationError,
     r"`model` must be one of \['poisson', 'negbin'\], but 'gamma' was passed"),
    ({"covariates": ("age_band", "income")}, SpecificationError,
     r"`covariates` must be one of \[.*'prior_cost', 'year'\], but 'income' was passed"),
    ({"covariates": "age_band"}, SpecificationError,
     r"`covariates` must be a list of names"),
    ({"model": "negbin", "outcome": "poli_dbc_cost"}, SpecificationError,
     r"`model` must be 'poisson' for an outcome that is not a count, but 'negbin'"),
    ({"years": [2030]}, SpecificationError, r"`years` must be a year in the panel"),
    ({"population": "poor"}, SpecificationError, r"`population` must be one of"),
    ({"alpha": 1.5}, SpecificationError, r"`alpha` must be a number strictly between"),
    ({"prior_cost_column": "cost_last_year"}, DataValidationError,
     r"cost_last_year.*required column is missing"),
])
def test_bad_options(sample, kwargs, error, match):
    with pytest.raises(error, match=match):
        expected_by_regression(sample["person_years"], sample["practices"], **kwargs)


def test_covariate_options_are_declared_once():
    assert COVARIATES == ("age_band", "sex", "age_band:sex", "minima", "prior_cost",
                          "year")
