"""Ranking practices with honest uncertainty: ``practice_ranking``.

A league table of practices ranks noise as much as performance: a small practice has a
wide interval and, by chance alone, often sits at either end. This module gives each
practice its case-mix adjusted observed/expected ratio with an interval, fits a
random-effects model across the practices (how much do practices really differ, τ²?),
and reports the **shrunken** estimate of every practice — pulled towards the mean of all
practices the more, the less its own data say — with a posterior interval, and its
**rank with an interval** for the rank. Practices whose rank intervals overlap cannot be
told apart. KBZ and control practices are ranked together and keep their group, so a
practice sees itself against both kinds of peers.

The numerics of the random-effects model live in :mod:`kbz_eval.stats.shrinkage`; the
expected values come from indirect standardisation on age band × sex
(:mod:`kbz_eval.estimators.risk_adjustment`), from the case-mix regression
(:mod:`kbz_eval.estimators.case_mix`), or from exposure alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from kbz_eval.errors import SpecificationError
from kbz_eval.estimators import case_mix
from kbz_eval.estimators import claims_common as cc
from kbz_eval.estimators.risk_adjustment import expected_values, oe_inference
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats import shrinkage
from kbz_eval.stats.options import check_option
from kbz_eval.stats.parallel import ARRAY_THREADS, ordered_map

#: Case-mix adjustment of the expected values: none (exposure only), indirect
#: standardisation on age band × sex, or the case-mix regression.
RankingAdjust = Literal["none", "age_sex", "regression"]
ADJUST_OPTIONS: tuple[str, ...] = ("none", "age_sex", "regression")
_ADJUST_WORDS = {
    "none": "not adjusted for case mix (rate per insured year against the rate of all "
            "practices)",
    "age_sex": "adjusted for age band × sex (indirect standardisation)",
    "regression": "adjusted for case mix by regression",
}
#: Fewer practices with an estimate than this: no random-effects model.
MIN_PRACTICES = 3
#: Fewer practices than this: τ² is poorly estimated (a warning says so).
FEW_FOR_TAU2 = 10

_PLOT_COLUMNS = ["position", "practice", "group", "n_persons", "estimate", "ci_lower",
                 "ci_upper", "shrunken", "shrunken_lower", "shrunken_upper", "rank",
                 "rank_lower", "rank_upper"]


class RankingResult(Result):
    """Result of :func:`practice_ranking`.

    ``tidy()`` rows: ``oe_<practice>`` (the practice's own O/E, its interval and the
    p-value of O/E = 1), ``shrunken_oe_<practice>`` (the shrunken O/E and its posterior
    interval), ``pooled_oe`` (the random-effects mean of all practices) and ``tau2``
    (between-practice variance of log O/E, no interval). ``std_error`` is on the scale of
    the estimate (delta method for the ratios). Extra columns ``practice``, ``group``,
    ``kind``.

    ``tables``:

    * ``practices`` — one row per practice: ``practice, group, n_persons,
      insured_years, observed, expected, crude_rate, estimate, std_error, ci_lower,
      ci_upper, shrunken, shrunken_lower, shrunken_upper, shrinkage, rank, rank_lower,
      rank_upper``; ``estimate`` is O/E (ratio scale) and ``std_error`` that of its log;
      rank 1 is the lowest O/E;
    * ``heterogeneity`` — one row per τ² estimator: ``method, k, tau2, tau, i2, q, df,
      q_p_value, pooled, pooled_lower, pooled_upper, used, converged``.
    """

    title = "practice ranking (observed/expected, shrunken estimates)"
    plotter = "ranking:plot_caterpillar"

    def plot_data(self) -> pd.DataFrame:
        """The practices with an estimate, sorted by the shrunken O/E (then id), with
        their drawing ``position`` (0 at the bottom): ``position, practice, group,
        n_persons, estimate, ci_lower, ci_upper, shrunken, shrunken_lower,
        shrunken_upper, rank, rank_lower, rank_upper``."""
        t = self.tables["practices"].dropna(subset=["estimate", "shrunken"])
        t = t.sort_values(["shrunken", "practice"], kind="stable").reset_index(drop=True)
        t.insert(0, "position", np.arange(len(t)))
        return t[_PLOT_COLUMNS]

    def headline(self) -> str:
        """The comparison in plain words: lowest and highest practice after shrinkage
        with their rank intervals, the spread between practices, and how many rank
        intervals are wide."""
        s = self.settings
        t = self.tables["practices"].dropna(subset=["shrunken"]).sort_values("shrunken")
        het = self.tables["heterogeneity"]
        used = het[het["used"]].iloc[0]
        k = len(t)
        lo, hi = t.iloc[0], t.iloc[-1]
        wide = int(((t["rank_upper"] - t["rank_lower"] + 1) > k / 2).sum())
        n_kbz = int((t["group"] == "kbz").sum())
        return (
            f"{k} practices ({n_kbz} KBZ, {k - n_kbz} control) ranked on observed/expected "
            f"{s['outcome']} ({s['period']}; {_ADJUST_WORDS[s['adjust']]}), each against "
            f"the mean of all {k}: lowest {lo['practice']} ({lo['group']}) shrunken O/E "
            f"{lo['shrunken']:.3f}, rank {lo['rank_lower']}–{lo['rank_upper']}; highest "
            f"{hi['practice']} ({hi['group']}) {hi['shrunken']:.3f}, rank "
            f"{hi['rank_lower']}–{hi['rank_upper']}. Between-practice SD of log O/E "
            f"τ = {used['tau']:.3f} ({used['method']}), I² = {100 * used['i2']:.0f}%; "
            f"{wide} of {k} rank intervals span more than half the ranks.")


# --------------------------------------------------------------------------- pieces
def _expected(panel: pd.DataFrame, practices: pd.DataFrame, *, outcome: str,
              adjust: str, population: str, years: Sequence[int] | None,
              required: Sequence[tuple[str, Any]], model: str,
              covariates: Sequence[str], prior_cost_column: str, alpha: float
              ) -> tuple[cc.ClaimsPanel, list[str], dict[str, Any]]:
    """The prepared panel with the ``expected`` column, notes, and model details."""
    if adjust == "regression":
        cfit = case_mix.fit_case_mix(
            panel, practices, outcome=outcome, model=model, covariates=covariates,
            population=population, years=years, prior_cost_column=prior_cost_column,
            alpha=alpha, required_years=required)
        fit = cfit.fit.iloc[0]
        return cfit.cp, cfit.notes, {"model": model, "covariates": list(covariates),
                                     "pseudo_r2": float(fit["pseudo_r2"])}
    cp = cc.prepare_claims(panel, practices, population=population, values=[outcome],
                           years=years, need_age_sex=adjust == "age_sex",
                           required_years=required)
    notes = list(cp.notes)
    if adjust == "age_sex":
        exp, _, _, _, more = expected_values(cp, outcome, "pooled")
        notes += more
    else:
        f = cp.frame
        crude = float(f[outcome].sum() / f["iy"].sum())
        exp = f["iy"].to_numpy() * crude
    cp.frame = cp.frame.assign(expected=exp)
    return cp, notes, {}


def _practice_row_sets(frame: pd.DataFrame) -> Iterator[tuple[str, np.ndarray]]:
    """Each practice of ``frame`` (in the order of ``groupby("practice_id",
    sort=True)``) with the positions of its rows, ascending.

    One practice at a time from the integer codes of the column, so a practice's rows
    are never copied as a frame: the positions of one practice are held at once
    instead of a sub-frame per practice and a person-level frame within it.
    """
    column = frame["practice_id"]
    if isinstance(column.dtype, pd.CategoricalDtype):  # grouped in category order
        codes, ids = column.cat.codes.to_numpy(), column.cat.categories
    else:
        codes, ids = pd.factorize(column, sort=True)
    for k, pid in enumerate(ids):
        rows = np.flatnonzero(codes == k)
        if rows.size:  # groupby leaves out practices without rows
            yield pid, rows


def _person_sums(person: np.ndarray, values: Sequence[np.ndarray]
                ) -> tuple[int, list[np.ndarray]] | None:
    """Per person, the sums of ``values`` over the person's rows, persons in the order
    of ``person`` (rows sorted by person, as :class:`~kbz_eval.estimators.claims_common.
    ClaimsPanel` keeps them); ``None`` when the rows are not sorted by person.

    ``np.add.reduceat`` over each person's run of rows: the sums that
    ``groupby("person", sort=False).sum()`` gives, without the frame.
    """
    if person.size and (person[1:] < person[:-1]).any():
        return None
    starts = np.flatnonzero(np.r_[True, person[1:] != person[:-1]]) if person.size \
        else np.zeros(0, dtype=np.int64)
    return starts.size, [np.add.reduceat(v, starts) if starts.size else v[:0]
                         for v in values]


def _practice_row(rows: np.ndarray, person: np.ndarray,
                  columns: dict[str, np.ndarray], f: pd.DataFrame, outcome: str,
                  alpha: float) -> dict[str, Any]:
    """The sums, O/E and standard error of log O/E of one practice (its ``rows``)."""
    o, e = columns[outcome][rows], columns["expected"][rows]
    sums = _person_sums(person[rows], [o, e])
    if sums is None:  # not sorted by person: the plain grouping
        persons = f.iloc[rows].groupby("person", sort=False)[[outcome, "expected"]].sum()
        sums = len(persons), [persons[outcome].to_numpy(), persons["expected"].to_numpy()]
    n_persons, (o_person, e_person) = sums
    inf = oe_inference(o_person, e_person, alpha=alpha)
    r = inf["oe_ratio"]
    observed, iy = float(o.sum()), float(columns["iy"][rows].sum())
    return {"n_persons": n_persons, "insured_years": iy,
            "observed": observed, "expected": float(e.sum()),
            "crude_rate": observed / iy, "estimate": r,
            "std_error": inf["std_error"] / r if r > 0 else np.nan,
            "ci_lower": inf["ci_lower"], "ci_upper": inf["ci_upper"],
            "p_value": inf["p_value"]}


def _practice_rows(cp: cc.ClaimsPanel, outcome: str, alpha: float) -> pd.DataFrame:
    """Per practice: sums, O/E and the standard error of log O/E from per-person sums
    (a person's years at the practice summed, so persons are the independent units).

    Works on one practice's rows' positions at a time (:func:`_practice_row_sets`), two
    practices side by side in threads (:mod:`kbz_eval.stats.parallel`; rows in practice
    order), so the working memory is that of two practices' rows, not of the panel."""
    f = cp.frame
    group_of = dict(zip(cp.practices["practice_id"], cp.practices["group"], strict=True))
    person = f["person"].to_numpy()
    columns = {c: f[c].to_numpy(dtype=float) for c in (outcome, "expected", "iy")}
    sets = list(_practice_row_sets(f))

    def one(item: tuple[Any, np.ndarray]) -> dict[str, Any]:
        pid, rows = item
        row = _practice_row(rows, person, columns, f, outcome, alpha)
        return {"practice": pid, "group": group_of[pid], **row}

    out = list(ordered_map(one, sets, threads=ARRAY_THREADS, name="kbz-ranking"))
    table = pd.DataFrame(out)
    table["n_persons"] = table["n_persons"].astype("Int64")
    return table


def _n_persons_in(cp: cc.ClaimsPanel, practices: set[str]) -> int:
    """Distinct persons with a row at one of ``practices``, counted on a mark per
    person code instead of a copy of the rows' person codes."""
    person = cp.frame["person"].to_numpy()
    seen = np.zeros(int(person.max()) + 1 if person.size else 0, dtype=bool)
    for pid, rows in _practice_row_sets(cp.frame):
        if pid in practices:
            seen[person[rows]] = True
    return int(np.count_nonzero(seen))


def _heterogeneity(y: np.ndarray, v: np.ndarray, chosen: str, alpha: float
                   ) -> tuple[pd.DataFrame, dict[str, shrinkage.RandomEffects]]:
    """Both τ² estimators, the chosen one marked ``used``."""
    z = stats.norm.ppf(1 - alpha / 2)
    fits, rows = {}, []
    for method in ("reml", "dl"):
        re = shrinkage.random_effects(y, v, method=method)
        fits[method] = re
        rows.append({"method": shrinkage.TAU2_NAMES[method], "k": re.k, "tau2": re.tau2,
                     "tau": float(np.sqrt(re.tau2)), "i2": re.i2, "q": re.q, "df": re.df,
                     "q_p_value": re.q_p_value, "pooled": float(np.exp(re.mu)),
                     "pooled_lower": float(np.exp(re.mu - z * re.mu_se)),
                     "pooled_upper": float(np.exp(re.mu + z * re.mu_se)),
                     "used": method == chosen, "converged": re.converged})
    return pd.DataFrame(rows), fits


def _tidy_rows(table: pd.DataFrame, post_sd: np.ndarray, het: pd.DataFrame,
               n_total: int, alpha: float) -> list[dict[str, Any]]:
    """Tidy rows of the practices in the model (``table`` rows in the order of
    ``post_sd``, the posterior standard deviations of log O/E)."""
    z = stats.norm.ppf(1 - alpha / 2)
    rows: list[dict[str, Any]] = []
    for r, sd in zip(table.itertuples(), post_sd, strict=True):
        common = {"n": r.n_persons, "practice": r.practice, "group": r.group}
        rows.append({"term": f"oe_{r.practice}", "estimate": r.estimate,
                     "std_error": r.estimate * r.std_error, "ci_lower": r.ci_lower,
                     "ci_upper": r.ci_upper, "p_value": r.p_value, "kind": "own",
                     **common})
        rows.append({"term": f"shrunken_oe_{r.practice}", "estimate": r.shrunken,
                     "std_error": r.shrunken * sd, "ci_lower": r.shrunken_lower,
                     "ci_upper": r.shrunken_upper, "p_value": np.nan, "kind": "shrunken",
                     **common})
    used = het[het["used"]].iloc[0]
    mu_se = (np.log(used["pooled_upper"]) - np.log(used["pooled"])) / z
    rows.append({"term": "pooled_oe", "estimate": used["pooled"],
                 "std_error": used["pooled"] * mu_se, "ci_lower": used["pooled_lower"],
                 "ci_upper": used["pooled_upper"],
                 "p_value": float(2 * stats.norm.sf(abs(np.log(used["pooled"])) / mu_se)),
                 "kind": "random_effects", "n": n_total, "practice": None, "group": None})
    rows.append({"term": "tau2", "estimate": used["tau2"], "kind": "random_effects",
                 "n": n_total, "practice": None, "group": None})
    return rows


def _method(outcome: str, adjust: str, period: str, population: str, tau2_method: str,
            n_sim: int, seed: int | None, alpha: float, extra: dict[str, Any]) -> str:
    level = f"{100 * (1 - alpha):g}%"
    if adjust == "regression":
        how = (f"E from the case-mix regression ({case_mix.MODEL_NAMES[extra['model']]} GLM "
               f"on {case_mix.describe_covariates(extra['covariates'])}, no practice "
               "terms)")
    elif adjust == "age_sex":
        how = ("E by indirect standardisation on age band × sex with the rates of all "
               "analysed person-years")
    else:
        how = ("E = insured years × the rate per insured year of all analysed person-years"
               " (O/E is the practice's rate relative to all practices)")
    return (
        f"Per practice, observed/expected {outcome} over {period}, "
        f"{cc.describe_population(population)}; {how}. Own estimate: log O/E with the "
        "delta-method standard error of a ratio of person-level sums (a person's years at "
        f"the practice summed; E held fixed), {level} interval exp(log O/E ± z·se). "
        "Across practices a normal random-effects model on log O/E, "
        f"log O/E_i ~ N(θ_i, se_i²), θ_i ~ N(μ, τ²), with τ² by "
        f"{shrinkage.TAU2_NAMES[tau2_method]} (both REML and DerSimonian–Laird are in the "
        "heterogeneity table). Shrunken estimates are the empirical-Bayes posterior means "
        "(BLUPs) B_i μ̂ + (1 − B_i) log O/E_i with B_i = se_i²/(se_i² + τ²); their "
        f"{level} intervals use the posterior variance with τ² fixed at its estimate "
        "(including the uncertainty of μ̂, not that of τ²). Ranks: rank 1 is the lowest "
        f"O/E; the point rank orders the shrunken estimates; the {level} rank interval is "
        f"the equal-tailed interval of ranks over {n_sim} draws from the joint approximate "
        f"posterior (seed {seed}). All practices, KBZ and control, share one mean: the "
        "ranking compares each practice with all practices, not KBZ with control.")


# --------------------------------------------------------------------------- front door
def practice_ranking(
    panel: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    outcome: str = "poli_dbc_cost",
    year: int | None = None,
    adjust: RankingAdjust = "age_sex",
    population: cc.Population = "all",
    tau2_method: shrinkage.Tau2Method = "reml",
    model: case_mix.Model = "poisson",
    covariates: Sequence[str] = case_mix.DEFAULT_COVARIATES,
    prior_cost_column: str = "total_cost",
    n_sim: int = 4000,
    seed: int | None = 0,
    alpha: float = 0.05,
) -> RankingResult:
    """Rank practices on observed/expected with intervals, shrunken estimates and rank
    intervals.

    Parameters
    ----------
    panel
        Person-year panel (``person_years`` contract). Not modified.
    practices
        Practices table (``practice_id``, ``group`` = ``kbz``/``control``). Not modified.
    outcome
        Value column: a cost (``"poli_dbc_cost"``, ``"ggz_cost"``) or a count
        (``"poli_dbc_count"``).
    year
        One calendar year of the panel; ``None`` (default): every year pooled (O and E
        summed over the years of each practice).
    adjust
        How the expected values are made: ``"age_sex"`` (default; indirect
        standardisation on age band × sex, pooled reference), ``"regression"`` (the
        case-mix GLM of :func:`kbz_eval.estimators.case_mix.expected_by_regression`) or
        ``"none"`` (insured years × the rate of all practices).
    population
        ``"all"`` person-years (default) or ``"minima"`` only.
    tau2_method
        Estimator of the between-practice variance used for shrinkage: ``"reml"``
        (default) or ``"dl"`` (DerSimonian–Laird). Both are reported.
    model, covariates, prior_cost_column
        The case-mix model with ``adjust="regression"`` (see
        :func:`~kbz_eval.estimators.case_mix.expected_by_regression`).
    n_sim
        Draws from the approximate posterior for the rank intervals (≥ 200).
    seed
        Seed of those draws.
    alpha
        1 − level of every interval (0.05: 95 %).

    Returns
    -------
    RankingResult

    Raises
    ------
    SpecificationError
        Unknown option values, a year not in the panel, fewer than three practices with
        an estimate.
    DataValidationError
        Missing columns or values that break the contract.

    Notes
    -----
    **The effect** of practice ``i`` is ``log(O_i / E_i)``, O its observed total and E
    its expected total (sums over its person-years). Its standard error is the delta
    method for a ratio of sums with persons as the independent units:
    ``se² = n/(n − 1) Σ_p (o_p − R e_p)² / O²`` over the practice's ``n`` persons
    (``o_p``, ``e_p`` the person's sums at the practice), E treated as fixed. A practice
    with ``O = 0`` has no log O/E and is left out of the model (a warning names it).

    **Random effects.** ``log O/E_i ~ N(θ_i, se_i²)``, ``θ_i ~ N(μ, τ²)`` over all
    practices (KBZ and control together). τ² by REML (default) or DerSimonian–Laird;
    Cochran's Q and ``I² = τ²/(τ² + s²)`` (``s²`` the typical sampling variance) say how
    much of the spread is real. With few practices τ² is imprecise (a warning with
    fewer than 10).

    **Shrinkage.** The shrunken estimate is the BLUP ``B_i μ̂ + (1 − B_i) log O/E_i``,
    ``B_i = se_i²/(se_i² + τ²)``: small practices (large ``se_i``) move most towards the
    mean; with ``τ² = 0`` every practice gets the pooled mean. Posterior variance
    ``se_i²(1 − B_i) + B_i²/Σ w`` (τ² fixed at its estimate).

    **Ranks.** Rank 1 is the lowest O/E. The point rank orders the shrunken estimates;
    the rank interval is the equal-tailed interval of the ranks in ``n_sim`` draws from
    the joint posterior (μ drawn first, so draws share its uncertainty), ties broken at
    random. A rank interval from 1 to k says the data cannot place the practice.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> from kbz_eval.estimators.ranking import practice_ranking
    >>> s = kbz.load_sample()                                          # doctest: +SKIP
    >>> r = practice_ranking(s["person_years"], s["practices"],
    ...                      outcome="poli_dbc_cost", year=2016)      # doctest: +SKIP
    >>> r.tables["practices"]                                          # doctest: +SKIP
    """
    check_option("adjust", adjust, ADJUST_OPTIONS)
    check_option("tau2_method", tau2_method, shrinkage.TAU2_METHODS)
    if adjust == "regression":
        check_option("model", model, case_mix.MODELS)
        covariates = case_mix.check_covariates(covariates)
    if not isinstance(outcome, str):
        raise SpecificationError(
            f"The value for `outcome` must be a column name, but {outcome!r} was passed.")
    if year is not None and (isinstance(year, bool)
                             or not isinstance(year, (int, np.integer))):
        raise SpecificationError(
            f"The value for `year` must be None (every year) or a calendar year (an "
            f"integer), but {year!r} was passed.")
    n_sim = shrinkage.check_n_sim(n_sim)
    seed, alpha = cc.check_seed(seed), cc.check_alpha(alpha)
    required = () if year is None else (("year", int(year)),)
    years = None if year is None else [int(year)]
    cp, notes, extra = _expected(panel, practices, outcome=outcome, adjust=adjust,
                                 population=population, years=years, required=required,
                                 model=model, covariates=covariates,
                                 prior_cost_column=prior_cost_column, alpha=alpha)
    table = _practice_rows(cp, outcome, alpha)
    ok = (np.isfinite(table["std_error"]) & (table["std_error"] > 0)
          & (table["estimate"] > 0)).to_numpy()
    if not ok.all():
        notes.append(
            f"{int((~ok).sum())} practice(s) have no log O/E with a standard error (no "
            f"observed {outcome}, or fewer than two persons) and are left out of the "
            f"random-effects model and the ranks: "
            f"{', '.join(table.loc[~ok, 'practice'])}.")
    if ok.sum() < MIN_PRACTICES:
        raise SpecificationError(
            f"A ranking needs at least {MIN_PRACTICES} practices with an estimate, but "
            f"{int(ok.sum())} have one in this selection. Widen the years or population.")
    if ok.sum() < FEW_FOR_TAU2:
        notes.append(
            f"Only {int(ok.sum())} practices: the between-practice variance τ² is "
            "imprecise, and the shrunken intervals and rank intervals treat it as known.")
    y = np.log(table.loc[ok, "estimate"].to_numpy(dtype=float))
    v = table.loc[ok, "std_error"].to_numpy(dtype=float) ** 2
    het, fits = _heterogeneity(y, v, tau2_method, alpha)
    tau2 = fits[tau2_method].tau2
    post = shrinkage.blup(y, v, tau2)
    ranks = shrinkage.posterior_ranks(y, v, tau2, alpha=alpha, n_sim=n_sim, seed=seed)
    z = stats.norm.ppf(1 - alpha / 2)
    post_sd = np.sqrt(post["variance"])
    fill = {
        "shrunken": np.exp(post["estimate"]),
        "shrunken_lower": np.exp(post["estimate"] - z * post_sd),
        "shrunken_upper": np.exp(post["estimate"] + z * post_sd),
        "shrinkage": post["shrinkage"], "rank": ranks["rank"],
    }
    for col, values in fill.items():
        table[col] = np.nan
        table.loc[ok, col] = values
    for col in ("rank_lower", "rank_upper"):
        table[col] = pd.array([pd.NA] * len(table), dtype="Int64")
        table.loc[ok, col] = ranks["lower" if col == "rank_lower" else "upper"]
    in_model = set(table.loc[ok, "practice"])
    n_total = _n_persons_in(cp, in_model)
    rows = _tidy_rows(table.loc[ok], post_sd, het, n_total, alpha)
    table = table.drop(columns=["p_value"])
    period = "all years" if year is None else str(int(year))
    messages = [*notes, cc.sparse_cells_message(table, ["practice"])]
    emitted = cc.emit(messages)
    return RankingResult(
        estimates=tidy_frame(rows),
        tables={"practices": table, "heterogeneity": het},
        method=_method(outcome, adjust, period, population, tau2_method, n_sim, seed,
                       alpha, extra),
        settings={"outcome": outcome, "year": None if year is None else int(year),
                  "period": period, "years": list(cp.years), "adjust": adjust,
                  "population": population, "tau2_method": tau2_method, "n_sim": n_sim,
                  "seed": seed, "alpha": alpha, **extra},
        warnings=emitted,
    )


__all__ = ["ADJUST_OPTIONS", "MIN_PRACTICES", "RankingAdjust", "RankingResult",
           "practice_ranking"]
