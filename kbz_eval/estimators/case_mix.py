"""Case-mix adjusted expected values by regression: ``expected_by_regression``.

Indirect standardisation (:func:`kbz_eval.risk_adjustment`) adjusts for age band × sex
only. Practices in deprived neighbourhoods also differ in how many of their insured are
on the municipal low-income policy (*minima*) and in how much care their persons already
used. This module fits one regression of the outcome on the case mix — age band, sex,
minima and the person's cost of the previous year — over every practice together, with
**no practice terms**, and sums the fitted values of each practice's person-years into
its *expected* value ``E``. ``O/E`` then says how much more (> 1) or less (< 1) a
practice's persons used than persons with the same case mix across all practices.

The model is a generalised linear model with log link and the log of insured years as
offset: Poisson (for counts such as ``poli_dbc_count``, and for costs as
quasi-likelihood: the Poisson score equations need no integer outcome) or negative
binomial (NB2, counts only). Coefficients carry person-clustered robust standard
errors (statsmodels' cluster sandwich), and the fit is reported (deviance, Pearson
dispersion, pseudo-R², AIC, the NB α), so a reader can judge the model that made ``E``.

With the age band × sex strata as the only covariates (``covariates=("age_band:sex",)``)
the Poisson fit reproduces the stratum rates, so ``E`` equals indirect standardisation
with the pooled reference (tested to 1e-8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from kbz_eval import tables
from kbz_eval.errors import DataValidationError, SpecificationError, Violation
from kbz_eval.estimators import claims_common as cc
from kbz_eval.estimators.risk_adjustment import oe_inference
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats.options import check_option

#: GLM families of the case-mix model.
Model = Literal["poisson", "negbin"]
MODELS: tuple[str, ...] = ("poisson", "negbin")
#: Case-mix terms the model may use. ``"age_band:sex"``: one level per age band × sex
#: stratum (it contains the main effects ``age_band`` and ``sex``); ``"prior_cost"``:
#: ``log1p`` of the person's total cost in the previous calendar year and an indicator of
#: person-years without that year; ``"year"``: calendar-year levels.
COVARIATES: tuple[str, ...] = ("age_band", "sex", "age_band:sex", "minima", "prior_cost",
                               "year")
DEFAULT_COVARIATES: tuple[str, ...] = ("age_band", "sex", "minima", "prior_cost")

#: Names of the model families, for tables and text.
MODEL_NAMES = {"poisson": "Poisson", "negbin": "negative binomial (NB2)"}
_COVARIATE_WORDS = {"age_band": "age band", "sex": "sex", "age_band:sex": "age band × sex",
                    "minima": "minima", "prior_cost": "prior-year cost", "year": "year"}
_ROW = "__kbz_row"  # position of a panel row, carried through the selection


class CaseMixResult(Result):
    """Result of :func:`expected_by_regression`.

    ``tidy()`` rows ``oe_<practice>_<year>``: observed/expected with its person-level
    interval and the p-value of O/E = 1 (extra columns ``practice``, ``group``, ``year``).

    ``tables``:

    * ``observed_expected`` — ``practice, group, year, n_persons, insured_years,
      observed, expected, oe_ratio, ci_lower, ci_upper``;
    * ``model`` — ``term, n_persons, estimate, std_error, ci_lower, ci_upper,
      rate_ratio, p_value``: the coefficients (log scale) with person-clustered robust
      standard errors; ``n_persons`` counts the persons with the indicator at 1 (every
      person of the fit for the intercept and continuous terms);
    * ``fit`` — one row: ``model, n, n_persons, n_parameters, deviance, null_deviance,
      pearson_chi2, df_resid, dispersion, pseudo_r2, aic, log_likelihood, alpha,
      alpha_std_error, converged`` (``n`` person-years, ``n_persons`` persons;
      ``dispersion`` = Pearson χ² / residual df; ``pseudo_r2`` = 1 − deviance / null
      deviance; AIC and log-likelihood NaN for a quasi-likelihood fit; ``alpha`` the NB
      overdispersion, NaN for Poisson).
    """

    title = "observed/expected ratio (case mix by regression)"
    plotter = "ranking:plot_observed_expected"

    def plot_data(self) -> pd.DataFrame:
        """O/E per practice in the last analysed year, sorted by O/E: ``position,
        practice, group, year, oe_ratio, ci_lower, ci_upper, n_persons``."""
        t = self.tables["observed_expected"]
        last = t[t["year"] == t["year"].max()].sort_values(["oe_ratio", "practice"],
                                                         kind="stable")
        out = last[["practice", "group", "year", "oe_ratio", "ci_lower", "ci_upper",
                    "n_persons"]].reset_index(drop=True)
        out.insert(0, "position", np.arange(len(out)))
        return out

    def headline(self) -> str:
        """The last year's lowest and highest O/E and the model's fit."""
        t = self.tables["observed_expected"]
        fit = self.tables["fit"].iloc[0]
        s = self.settings
        year = int(t["year"].max())
        last = t[t["year"] == year].dropna(subset=["oe_ratio"]).sort_values("oe_ratio")
        if last.empty:
            return f"{self.title}: no estimates"
        lo, hi = last.iloc[0], last.iloc[-1]
        level = f"{100 * (1 - s['alpha']):g}%"
        return (
            f"Observed/expected {s['outcome']} in {year}, each practice against persons "
            f"with the same case mix ({s['covariate_words']}) in all {len(last)} practices "
            f"(KBZ and control), {MODEL_NAMES[s['model']]} model: lowest {lo['practice']} "
            f"({lo['group']}) {lo['oe_ratio']:.3f} ({level} CI {lo['ci_lower']:.3f}–"
            f"{lo['ci_upper']:.3f}), highest {hi['practice']} ({hi['group']}) "
            f"{hi['oe_ratio']:.3f} ({hi['ci_lower']:.3f}–{hi['ci_upper']:.3f}); "
            f"pseudo-R² {fit['pseudo_r2']:.3f}")


# --------------------------------------------------------------------------- options
def check_covariates(covariates: Any) -> tuple[str, ...]:
    """The covariates as a tuple of allowed names (duplicates dropped, order kept)."""
    if isinstance(covariates, (str, bytes)) or not isinstance(covariates, Sequence):
        raise SpecificationError(
            f"The value for `covariates` must be a list of names from {list(COVARIATES)}, "
            f"but {covariates!r} was passed.")
    for c in covariates:
        check_option("covariates", c, COVARIATES)
    return tuple(dict.fromkeys(covariates))


# --------------------------------------------------------------------------- data
@dataclass
class CaseMixFit:
    """A fitted case-mix model and the expected value of every analysed person-year.

    Attributes
    ----------
    cp
        The prepared panel (:class:`~kbz_eval.estimators.claims_common.ClaimsPanel`);
        ``cp.frame`` has the extra column ``expected`` (the fitted value).
    model, fit
        The coefficient and fit tables of :class:`CaseMixResult`.
    design_terms
        Names of the design columns (intercept first).
    notes
        What was dropped or assumed (constant columns, person-years without a prior
        year, a quasi-likelihood fit).
    """

    cp: cc.ClaimsPanel
    model: pd.DataFrame
    fit: pd.DataFrame
    design_terms: list[str]
    notes: list[str] = field(default_factory=list)


def _prior_costs(panel: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """For every row of ``panel``: the same person's ``column`` in the previous calendar
    year, and whether that year is in the panel (with a value).

    The lookup runs over the whole panel (every practice, population and year), so a
    person's prior year counts wherever the person was then.
    """
    if column not in panel.columns:
        raise DataValidationError(source="panel", table="person_years", violations=[
            Violation(column=column, rule="required column is missing",
                      detail="the prior-year cost covariate needs each person's total "
                             "cost per year; set `prior_cost_column` or leave "
                             "'prior_cost' out of `covariates`")])
    codes, uniques = pd.factorize(panel["person_id"])
    person_text = np.asarray(pd.Index(uniques).astype(str), dtype=object)[codes]
    year = pd.to_numeric(panel["year"], errors="coerce").to_numpy(dtype=float,
                                                                   na_value=np.nan)
    cost = pd.to_numeric(panel[column], errors="coerce").to_numpy(dtype=float,
                                                                   na_value=np.nan)
    bad = (cost < 0) | np.isinf(cost)
    if bad.any():
        rows = np.flatnonzero(bad)[:5]
        raise DataValidationError(source="panel", table="person_years", violations=[
            Violation(column=column, rule="must be a number ≥ 0 (EUR) (rows: positions in "
                      "the DataFrame, from 0)", n_rows=int(bad.sum()),
                      rows=tuple(int(r) for r in rows),
                      values=tuple(str(panel[column].iloc[r]) for r in rows))])
    table = pd.DataFrame({"p": person_text, "y": year + 1, "prior": cost})
    table = table[np.isfinite(table["y"].to_numpy())]
    table = table.drop_duplicates(["p", "y"], keep=False)  # a doubled key has no prior
    looked_up = pd.DataFrame({"p": person_text, "y": year}).merge(
        table, on=["p", "y"], how="left")["prior"].to_numpy(dtype=float, na_value=np.nan)
    has = np.isfinite(looked_up)
    return np.where(has, looked_up, 0.0), has


def _dummies(values: np.ndarray, levels: Sequence[str], prefix: str
             ) -> dict[str, np.ndarray]:
    """Indicator columns of every level but the first (the reference)."""
    return {f"{prefix}[{lev}]": (values == lev).astype(float) for lev in levels[1:]}


def _ordered_bands(bands: np.ndarray) -> list[str]:
    present = set(pd.unique(bands))
    return [b for b in tables.AGE_BANDS if b in present]


def _design(frame: pd.DataFrame, covariates: tuple[str, ...], minima: np.ndarray | None,
            prior: np.ndarray | None, has_prior: np.ndarray | None
            ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Design columns (intercept first) and notes on columns left out."""
    n = len(frame)
    cols: dict[str, np.ndarray] = {"intercept": np.ones(n)}
    notes: list[str] = []
    if "age_band:sex" in covariates:
        bands = frame["age_band"].to_numpy().astype(str)
        sex = frame["sex"].to_numpy().astype(str)
        stratum = np.char.add(np.char.add(bands, " "), sex)
        levels = [f"{b} {s}" for b in _ordered_bands(bands) for s in ("F", "M")
                  if f"{b} {s}" in set(pd.unique(stratum))]
        cols.update(_dummies(stratum, levels, "age_band:sex"))
    else:
        if "age_band" in covariates:
            bands = frame["age_band"].to_numpy().astype(str)
            cols.update(_dummies(bands, _ordered_bands(bands), "age_band"))
        if "sex" in covariates:
            cols["sex[M]"] = (frame["sex"].to_numpy() == "M").astype(float)
    if minima is not None:
        cols["minima[True]"] = minima.astype(float)
    if prior is not None and has_prior is not None:
        cols["log1p_prior_cost"] = np.log1p(prior)
        cols["no_prior_year"] = (~has_prior).astype(float)
    if "year" in covariates:
        years = frame["year"].to_numpy()
        levels = [str(y) for y in sorted(pd.unique(years))]
        cols.update(_dummies(years.astype(str), levels, "year"))
    constant = [k for k, c in cols.items() if k != "intercept" and np.ptp(c) == 0]
    for k in constant:
        del cols[k]
    if constant:
        notes.append(f"design columns without variation in the analysed person-years "
                     f"were left out: {', '.join(constant)}.")
    return cols, notes


def _check_rank(X: np.ndarray, names: list[str]) -> None:
    xtx = X.T @ X
    scale = np.sqrt(np.diag(xtx))
    corr = xtx / np.outer(scale, scale)
    if np.linalg.matrix_rank(corr, tol=1e-10) < X.shape[1]:
        raise SpecificationError(
            f"The case-mix design {names} is collinear in the analysed person-years; "
            "leave out one of the overlapping covariates.")


def _poisson_start(X: np.ndarray, y: np.ndarray, offset: np.ndarray, *,
                   max_iter: int = 100, tol: float = 1e-12) -> np.ndarray:
    """Poisson (quasi-)maximum likelihood by Newton steps on the normal equations, with
    step halving: the start that lets the statsmodels fit converge in one iteration.

    Solving the small ``k × k`` system ``X'diag(μ)X`` is much cheaper than the
    least-squares solve of every IRLS iteration on person-year rows.
    """
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(max(y.sum(), 1e-12) / np.exp(offset).sum())

    def quasi_ll(b: np.ndarray) -> float:
        eta = X @ b + offset
        return float(y @ eta - np.exp(eta).sum())

    ll = quasi_ll(beta)
    for _ in range(max_iter):
        mu = np.exp(X @ beta + offset)
        hess = X.T @ (X * mu[:, None])
        step = np.linalg.lstsq(hess, X.T @ (y - mu), rcond=None)[0]
        t = 1.0
        new_ll = quasi_ll(beta + step)
        while new_ll < ll - 1e-12 * abs(ll) and t > 1e-8:
            t /= 2
            new_ll = quasi_ll(beta + t * step)
        beta, ll = beta + t * step, new_ll
        if np.abs(t * step).max() < tol * (1 + np.abs(beta).max()):
            break
    return beta


def _glm_fit(X: np.ndarray, y: np.ndarray, offset: np.ndarray, groups: np.ndarray,
             model: str, alpha: float, whole: bool
             ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, Any], list[str]]:
    """Fit the GLM with statsmodels; return fitted values, coefficient arrays, fit
    statistics and notes."""
    import statsmodels.api as sm

    notes: list[str] = []
    nb_alpha, nb_alpha_se, llf_nb = np.nan, np.nan, np.nan
    start = _poisson_start(X, y, offset)
    if model == "poisson":
        family = sm.families.Poisson()
    else:
        nb = sm.NegativeBinomial(y, X, offset=offset, loglike_method="nb2").fit(
            start_params=np.append(start, 0.5), method="newton", maxiter=200, disp=0)
        if not nb.mle_retvals.get("converged", False):
            notes.append("the negative-binomial maximum likelihood did not converge.")
        nb_alpha = float(nb.params[-1])
        nb_alpha_se = float(np.sqrt(nb.cov_params()[-1, -1]))
        llf_nb = float(nb.llf)
        family = sm.families.NegativeBinomial(alpha=nb_alpha)
        start = np.asarray(nb.params[:-1], dtype=float)
    glm = sm.GLM(y, X, family=family, offset=offset)
    res = glm.fit(start_params=start, tol=1e-13, maxiter=200, cov_type="cluster",
                  cov_kwds={"groups": groups})
    converged = bool(getattr(res, "converged", True))
    if not converged:
        notes.append("the GLM iterations did not converge; the expected values are "
                     "unreliable.")
    mu = np.asarray(res.fittedvalues, dtype=float)
    beta = np.asarray(res.params, dtype=float)
    se = np.asarray(res.bse, dtype=float)
    z = stats.norm.ppf(1 - alpha / 2)
    coef = {"estimate": beta, "std_error": se, "ci_lower": beta - z * se,
            "ci_upper": beta + z * se, "rate_ratio": np.exp(beta),
            "p_value": np.asarray(res.pvalues, dtype=float)}
    k = X.shape[1]
    deviance, null_deviance = float(res.deviance), float(res.null_deviance)
    if model == "poisson":
        llf = float(res.llf) if whole else np.nan
        aic = 2 * k - 2 * llf if whole else np.nan
        if not whole:
            notes.append("the outcome is not a count: the Poisson model is a "
                         "quasi-likelihood fit (coefficients and robust standard errors "
                         "are valid; the likelihood and AIC are not defined).")
    else:
        llf = llf_nb
        aic = 2 * (k + 1) - 2 * llf
    df_resid = float(len(y) - k)
    fit = {"model": model, "n": len(y), "n_persons": int(np.unique(groups).size),
           "n_parameters": k + (model == "negbin"), "deviance": deviance,
           "null_deviance": null_deviance, "pearson_chi2": float(res.pearson_chi2),
           "df_resid": df_resid, "dispersion": float(res.pearson_chi2) / df_resid,
           "pseudo_r2": 1.0 - deviance / null_deviance if null_deviance > 0 else np.nan,
           "aic": aic, "log_likelihood": llf, "alpha": nb_alpha,
           "alpha_std_error": nb_alpha_se, "converged": converged}
    return mu, coef, fit, notes


def fit_case_mix(
    panel: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    outcome: str,
    model: str = "poisson",
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    population: str = "all",
    years: Sequence[int] | None = None,
    prior_cost_column: str = "total_cost",
    alpha: float = 0.05,
    required_years: Sequence[tuple[str, Any]] = (),
) -> CaseMixFit:
    """Validate, build the design and fit the case-mix GLM (the numerics behind
    :func:`expected_by_regression`, also used by :func:`kbz_eval.estimators.ranking.
    practice_ranking`). ``required_years``: ``(parameter name, year)`` pairs that must be
    years of the panel (see :func:`~kbz_eval.estimators.claims_common.prepare_claims`).

    Returns
    -------
    CaseMixFit
        ``cp.frame`` carries the fitted value of every analysed person-year in
        ``expected``.
    """
    check_option("model", model, MODELS)
    covariates = check_covariates(covariates)
    if not isinstance(outcome, str):
        raise SpecificationError(
            f"The value for `outcome` must be a column name, but {outcome!r} was passed.")
    if not isinstance(prior_cost_column, str):
        raise SpecificationError(
            f"The value for `prior_cost_column` must be a column name, but "
            f"{prior_cost_column!r} was passed.")
    alpha = cc.check_alpha(alpha)
    if not isinstance(panel, pd.DataFrame):
        raise SpecificationError(
            f"`panel` must be a pandas DataFrame (the person-year panel), but a "
            f"{type(panel).__name__} was passed.")
    if _ROW in panel.columns:
        raise SpecificationError(f"The panel must not have a column called {_ROW!r}.")
    need_minima = "minima" in covariates
    if need_minima and "minima" not in panel.columns:
        raise DataValidationError(source="panel", table="person_years", violations=[
            Violation(column="minima", rule="required column is missing",
                      detail="the minima covariate needs it; leave 'minima' out of "
                             "`covariates` otherwise")])
    need_age_sex = bool({"age_band", "sex", "age_band:sex"} & set(covariates))
    # the selection keeps the row positions, so per-row covariates can be looked up
    view = panel.assign(**{_ROW: np.arange(len(panel), dtype=float)})
    cp = cc.prepare_claims(view, practices, population=population,
                           values=[outcome, _ROW], years=years, need_age_sex=need_age_sex,
                           required_years=required_years)
    rows = cp.frame[_ROW].to_numpy().astype(np.int64)
    cp.frame = cp.frame.drop(columns=[_ROW])
    y = cp.frame[outcome].to_numpy(dtype=float)
    whole = bool(np.all(y == np.round(y)))
    if model == "negbin" and not whole:
        raise SpecificationError(
            f"The value for `model` must be 'poisson' for an outcome that is not a count, "
            f"but 'negbin' was passed with outcome {outcome!r} (not whole numbers). Use "
            "model='poisson' (a quasi-likelihood fit for costs).")
    minima = (cc._as_bool(panel["minima"].iloc[rows], "minima", "panel", "person_years")
              if need_minima else None)
    prior = has_prior = None
    notes = list(cp.notes)
    if "prior_cost" in covariates:
        all_prior, all_has = _prior_costs(panel, prior_cost_column)
        prior, has_prior = all_prior[rows], all_has[rows]
        missing = int((~has_prior).sum())
        if missing == len(rows):
            notes.append(
                "no analysed person-year has a previous year in the panel (e.g. only the "
                "first panel year is analysed): the prior-year cost is left out of the "
                "model.")
            prior = has_prior = None
        elif missing:
            notes.append(
                f"{missing} of {len(rows)} person-years have no previous year in the panel "
                f"(e.g. the first year, or newly insured); their prior-year cost is set to 0 "
                "and the indicator no_prior_year is 1, so the model estimates their level "
                "separately.")
    cols, design_notes = _design(cp.frame, covariates, minima, prior, has_prior)
    notes += design_notes
    names = list(cols)
    X = np.column_stack([cols[k] for k in names])
    _check_rank(X, names)
    groups = cp.frame["person"].to_numpy()
    mu, coef, fit, fit_notes = _glm_fit(X, y, np.log(cp.frame["iy"].to_numpy()), groups,
                                        model, alpha, whole)
    notes += fit_notes
    cp.frame = cp.frame.assign(expected=mu)
    counts = [_persons_with(X[:, j], groups) if _is_indicator(X[:, j]) and n != "intercept"
              else int(np.unique(groups).size) for j, n in enumerate(names)]
    model_table = pd.DataFrame({"term": names, "n_persons": counts, **coef})
    return CaseMixFit(cp=cp, model=model_table, fit=pd.DataFrame([fit]),
                      design_terms=names, notes=notes)


def _is_indicator(col: np.ndarray) -> bool:
    return bool(np.isin(col, (0.0, 1.0)).all())


def _persons_with(col: np.ndarray, groups: np.ndarray) -> int:
    return int(np.unique(groups[col == 1.0]).size)


def _observed_expected(f: pd.DataFrame, outcome: str, group_of: dict[str, str],
                       alpha: float) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """O, E and O/E with its person-level interval per practice and year."""
    table, rows = [], []
    for (unit, year), sub in f.groupby(["practice_id", "year"], sort=True):
        inf = oe_inference(sub[outcome].to_numpy(), sub["expected"].to_numpy(),
                           alpha=alpha)
        n = int(sub["person"].nunique())
        table.append({"practice": unit, "group": group_of[unit], "year": int(year),
                      "n_persons": n, "insured_years": float(sub["iy"].sum()),
                      "observed": float(sub[outcome].sum()),
                      "expected": float(sub["expected"].sum()),
                      "oe_ratio": inf["oe_ratio"], "ci_lower": inf["ci_lower"],
                      "ci_upper": inf["ci_upper"]})
        rows.append({"term": f"oe_{unit}_{int(year)}", "estimate": inf["oe_ratio"],
                     "std_error": inf["std_error"], "ci_lower": inf["ci_lower"],
                     "ci_upper": inf["ci_upper"], "p_value": inf["p_value"], "n": n,
                     "practice": unit, "group": group_of[unit], "year": int(year)})
    out = pd.DataFrame(table)
    out["n_persons"] = out["n_persons"].astype("Int64")
    return out, rows


def describe_covariates(covariates: Sequence[str]) -> str:
    """The covariates in words."""
    if not covariates:
        return "no covariates (insured years only)"
    return ", ".join(_COVARIATE_WORDS[c] for c in covariates)


def _method(outcome: str, model: str, covariates: tuple[str, ...], population: str,
            prior_cost_column: str, alpha: float) -> str:
    level = f"{100 * (1 - alpha):g}%"
    family = ("Poisson (quasi-likelihood when the outcome is not a count)"
              if model == "poisson" else "negative binomial (NB2, α by maximum likelihood)")
    prior = (f" Prior-year cost: log(1 + the person's {prior_cost_column} in the previous "
             "calendar year, wherever the person was insured then); person-years without "
             "that year get 0 and an indicator no_prior_year." if "prior_cost" in covariates
             else "")
    return (
        f"Expected {outcome} by regression: a {family} GLM with log link and log insured "
        f"years as offset, of {outcome} on {describe_covariates(covariates)}, fitted to "
        f"{cc.describe_population(population)} of every practice together with no "
        f"practice terms.{prior} The expected value E of a practice and year is the sum "
        "of the fitted values of its person-years; O/E compares the practice with persons "
        "of the same case mix across all practices (KBZ and control). Coefficients have "
        "person-clustered (CR1) robust standard errors. O/E intervals: "
        f"{level}, log scale, from the person-level variance of a ratio estimator with E "
        "held fixed (the model's own uncertainty is not carried into E); a description "
        "of each practice, not a test of KBZ.")


# --------------------------------------------------------------------------- front door
def expected_by_regression(
    panel: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    outcome: str = "poli_dbc_count",
    model: Model = "poisson",
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    population: cc.Population = "all",
    years: Sequence[int] | None = None,
    prior_cost_column: str = "total_cost",
    alpha: float = 0.05,
) -> CaseMixResult:
    """Observed/expected per practice and year, the expected value from a case-mix GLM.

    Parameters
    ----------
    panel
        Person-year panel (``person_years`` contract): ``person_id, year, practice_id,
        insured_days``, the ``outcome``, and what the covariates need (``sex``,
        ``age_band`` or ``birth_year``, ``minima``, ``prior_cost_column``). Not modified.
    practices
        Practices table (``practice_id``, ``group`` = ``kbz``/``control``). Not modified.
    outcome
        Value column: a count (``"poli_dbc_count"``) or a cost (``"poli_dbc_cost"``,
        ``"ggz_cost"``; Poisson quasi-likelihood).
    model
        ``"poisson"`` (default) or ``"negbin"`` (negative binomial NB2; counts only).
    covariates
        Case-mix terms, from :data:`COVARIATES`: ``"age_band"``, ``"sex"``,
        ``"age_band:sex"`` (one level per stratum: the saturated age × sex model),
        ``"minima"``, ``"prior_cost"``, ``"year"``. Default: age band, sex, minima and
        prior-year cost. An empty list fits the intercept only (E proportional to
        insured years).
    population
        ``"all"`` person-years (default) or ``"minima"`` only.
    years
        Years to analyse (fit and O/E); default every year of the panel. The prior-year
        cost is looked up in the whole panel, also outside these years.
    prior_cost_column
        The column holding each person's total cost per year (``"total_cost"``).
    alpha
        1 − confidence level (0.05: 95 % intervals).

    Returns
    -------
    CaseMixResult

    Raises
    ------
    SpecificationError
        Unknown option values, a negative-binomial model for a non-count outcome, a
        collinear design, years not in the panel.
    DataValidationError
        Missing columns or values that break the contract.

    Notes
    -----
    The model is ``log E[y_it] = log(insured years_it) + x_it'β`` over the analysed
    person-years of every practice, **without practice terms**, so ``β`` describes how
    the case mix predicts use across all practices. Categorical covariates enter as
    indicators of every level but the first (age band in :data:`kbz_eval.tables.
    AGE_BANDS` order, women, not minima, the first year). ``prior_cost`` enters as
    ``log1p(cost in year t − 1)`` plus the indicator ``no_prior_year`` (the log term is 0
    there), so person-years without a previous year — everyone in the first panel year,
    newly insured persons — are kept and modelled explicitly; their count is in the
    warnings. Design columns without variation (e.g. ``minima`` with
    ``population="minima"``) are dropped with a note.

    **The effect** is ``O/E = Σ y / Σ μ̂`` per practice and year (1: as expected from
    the case mix). With a Poisson model and an intercept, ``Σ μ̂ = Σ y`` over all
    analysed person-years, so the O/E ratios centre on 1; with the NB model that holds
    only approximately.

    **Variance.** Model coefficients: person-clustered sandwich (statsmodels
    ``cov_type="cluster"``, CR1). O/E: the person-level ratio-estimator variance on the
    log scale with E held fixed (:func:`kbz_eval.estimators.risk_adjustment.
    oe_inference`), as for indirect standardisation.

    With ``covariates=("age_band:sex",)`` and the Poisson model the fitted rate of each
    stratum is its pooled rate, so E equals indirect standardisation with the pooled
    reference (:func:`kbz_eval.risk_adjustment`, ``reference="pooled"``).

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> from kbz_eval.estimators.case_mix import expected_by_regression
    >>> s = kbz.load_sample()                                          # doctest: +SKIP
    >>> r = expected_by_regression(s["person_years"], s["practices"],
    ...                            outcome="poli_dbc_count")          # doctest: +SKIP
    >>> r.tables["fit"]                                                # doctest: +SKIP
    """
    covariates = check_covariates(covariates)
    check_option("model", model, MODELS)
    cfit = fit_case_mix(panel, practices, outcome=outcome, model=model,
                        covariates=covariates, population=population, years=years,
                        prior_cost_column=prior_cost_column, alpha=alpha)
    cp = cfit.cp
    group_of = dict(zip(cp.practices["practice_id"], cp.practices["group"], strict=True))
    table, rows = _observed_expected(cp.frame, outcome, group_of, alpha)
    messages = [*cfit.notes, cc.sparse_cells_message(table, ["practice", "year"])]
    emitted = cc.emit(messages)
    return CaseMixResult(
        estimates=tidy_frame(rows),
        tables={"observed_expected": table, "model": cfit.model, "fit": cfit.fit},
        method=_method(outcome, model, covariates, population, prior_cost_column, alpha),
        settings={"outcome": outcome, "model": model, "covariates": list(covariates),
                  "covariate_words": describe_covariates(covariates),
                  "population": population, "years": list(cp.years),
                  "prior_cost_column": prior_cost_column, "alpha": alpha,
                  "design_terms": cfit.design_terms},
        warnings=emitted,
    )


__all__ = ["COVARIATES", "CaseMixFit", "CaseMixResult", "DEFAULT_COVARIATES", "MODELS",
           "Model", "check_covariates", "describe_covariates", "expected_by_regression",
           "fit_case_mix"]
