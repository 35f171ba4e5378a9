"""Outpatient-DBC use of KBZ and control practices as an index: ``kbz.dbc_index``.

The seeds' figure "index of number of outpatient DBCs, KBZ practices vs controls,
minima insured, 2012–2015" (base year = 100), here with 95 % intervals, the
difference in differences as a rate ratio and an event study per year.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.results import Result, tidy_frame


class DbcIndexResult(Result):
    """Result of :func:`dbc_index`.

    ``tidy()`` rows: ``did_rate_ratio`` (KBZ vs control, years from the KBZ start vs
    before; Poisson GLM, person-clustered), ``did_rate_ratio_practice_randomisation``
    (same estimate, practice-level randomisation p-value), ``event_study_<year>`` (rate
    ratio of year vs base year, KBZ relative to control) and ``index_<group>_<year>``
    (rate in year / rate in base year × 100). Extra columns ``group``, ``year``.

    ``tables``: ``rates`` (outpatient DBCs per 1,000 insured years per group and year,
    crude, with intervals), ``index`` (what :meth:`plot` draws), ``event_study``.
    """

    title = "index of outpatient DBCs, KBZ vs control"
    plotter = "claims:plot_dbc_index"

    def plot_data(self) -> pd.DataFrame:
        """``group, year, index, ci_lower, ci_upper, n_persons`` (base year = 100)."""
        return self.tables["index"][["group", "year", "index", "ci_lower", "ci_upper",
                                     "n_persons"]].reset_index(drop=True)

    def headline(self) -> str:
        e = self.estimates.set_index("term").loc["did_rate_ratio"]
        s = self.settings
        level = f"{100 * (1 - s['alpha']):g}%"
        idx = self.tables["index"]
        last = int(idx["year"].max())
        k = idx[(idx["group"] == "kbz") & (idx["year"] == last)]["index"].iloc[0]
        c = idx[(idx["group"] == "control") & (idx["year"] == last)]["index"].iloc[0]
        return (
            f"outpatient DBCs ({s['population']}), index {last} (base {s['base_year']} = "
            f"100): KBZ {k:.1f}, control {c:.1f}; DiD rate ratio {e['estimate']:.3f} "
            f"({level} CI {e['ci_lower']:.3f} to {e['ci_upper']:.3f}, p = "
            f"{e['p_value']:.3g})"
        )


def _one_hot(codes: np.ndarray, n: int) -> np.ndarray:
    return np.eye(n)[codes]


def dbc_index(
    panel: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    base_year: int = 2012,
    population: cc.Population = "minima",
    years: Sequence[int] | None = None,
    outcome: str = "poli_dbc_count",
    start_year: int | None = None,
    adjust: cc.Adjust = "none",
    seed: int | None = 0,
    alpha: float = 0.05,
) -> DbcIndexResult:
    """Outpatient DBCs per 1,000 insured years, their index and the DiD rate ratio.

    Parameters
    ----------
    panel
        Person-year panel (``person_years`` contract): ``person_id, year, practice_id,
        insured_days, minima`` and ``outcome``; ``sex`` and ``age_band`` or
        ``birth_year`` for ``adjust="age_sex"``. Not modified.
    practices
        Practices table: ``practice_id``, ``group`` (``kbz``/``control``),
        ``kbz_start_year``. Not modified.
    base_year
        Index base (= 100) and reference year of the event study (default 2012).
    population
        ``"minima"`` (default) or ``"all"`` person-years.
    years
        Years to analyse; default every year of the panel (the seeds' figure: 2012–2015).
    outcome
        Count column (default ``poli_dbc_count``).
    start_year
        First KBZ year for the pooled difference in differences; default the earliest
        ``kbz_start_year`` of the KBZ practices.
    adjust
        ``"none"`` or ``"age_sex"``: add age band × sex main effects to the models
        (indices, event study and DiD then compare like with like; the ``rates`` table
        stays crude).
    seed
        Seed for a random subset of practice relabellings (only used when there are more
        than 5,000).
    alpha
        1 − confidence level (0.05: 95 % intervals).

    Returns
    -------
    DbcIndexResult

    Raises
    ------
    SpecificationError
        Unknown options, years not in the panel, no year before or from ``start_year``,
        or a group-year without any DBC.
    DataValidationError
        Missing columns or values that break the contract.

    Notes
    -----
    **Model.** A Poisson GLM with log link and offset ``log(insured years)`` on the
    person-years. The event-study model has one parameter per group × year (so its
    rates are the crude rates); the index of group ``g`` in year ``t`` is
    ``exp(β[g,t] − β[g,base]) × 100``; the event-study rate ratio of year ``t`` is
    ``exp((β[kbz,t] − β[kbz,base]) − (β[control,t] − β[control,base]))``, the ratio of
    the two indices. The pooled DiD model has group, year and ``kbz × (year ≥
    start_year)`` terms; ``exp`` of the last is the DiD rate ratio (an intention-to-treat
    contrast by practice group, also for practices that started later).

    **Why Poisson with clustered errors, not negative binomial.** DBC counts are
    overdispersed and a person's counts are correlated over years. The Poisson
    (quasi-)likelihood estimates the rate ratios consistently whatever the variance, as
    long as the mean model holds; the person-clustered sandwich variance (CR1) then
    gives valid intervals under any overdispersion and within-person correlation. A
    negative-binomial fit would weight persons differently and its model-based
    variance is wrong when the variance function is, so it offers no robustness.
    Because the design is constant within cells the fit uses the cell sums (exactly the
    row-level estimates) and the per-person scores for the sandwich.

    **Few practices.** The intervals are person-clustered and do not contain variation
    between practices; the row ``did_rate_ratio_practice_randomisation`` gives the
    randomisation p-value of the DiD over relabellings of the practices (crude model).

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> s = kbz.load_sample()                                           # doctest: +SKIP
    >>> r = kbz.dbc_index(s["person_years"], s["practices"], years=range(2012, 2016))
    ...                                                                   # doctest: +SKIP
    >>> r.plot()                                                          # doctest: +SKIP
    """
    cc.check_choice("adjust", adjust, cc.ADJUST_OPTIONS)
    if not isinstance(outcome, str):
        raise SpecificationError(
            f"The value for `outcome` must be a column name, but {outcome!r} was passed.")
    seed = cc.check_seed(seed)
    alpha = cc.check_alpha(alpha)
    adjusted = adjust == "age_sex"
    cp = cc.prepare_claims(panel, practices, population=population, values=[outcome],
                           years=None if years is None else list(years),
                           need_age_sex=adjusted, required_years=[("base_year", base_year)])
    base_year = int(base_year)
    yrs = cp.years
    if base_year not in yrs:
        raise SpecificationError(
            f"`years` {list(yrs)} must include `base_year` ({base_year}).")
    if len(yrs) < 2:
        raise SpecificationError("`years` must hold at least two years (the base year and "
                                 "one more).")
    start = _start_year(cp, start_year)
    pre = [y for y in yrs if y < start]
    post = [y for y in yrs if y >= start]
    if not pre or not post:
        raise SpecificationError(
            f"The pooled difference in differences needs analysed years before and from "
            f"`start_year` ({start}), but the years are {list(yrs)}.")
    f = cp.frame
    counts = f[outcome].to_numpy()
    if not np.allclose(counts, np.round(counts)):
        raise SpecificationError(
            f"`{outcome}` must hold whole numbers (a count of DBCs).")
    n_years, n_cells = len(yrs), 2 * len(yrs)
    b = yrs.index(base_year)
    gy = cc.cell_codes(cp, yrs)
    person = cp.person_array()
    iy = f["iy"].to_numpy()
    Y_cell = np.bincount(gy, weights=counts, minlength=n_cells)
    empty = [lab for lab, v in zip(cc.cell_labels(cc.GROUPS, yrs), Y_cell, strict=True)
             if v == 0]
    if empty:
        raise SpecificationError(
            f"No {outcome} at all in {empty} ({cc.describe_population(population)}); rates "
            "of zero make the index and rate ratios undefined. Choose other years or the "
            "population 'all'.")
    notes = list(cp.notes)

    # crude event-study model: one parameter per group-year cell
    crude = cc.poisson_cell_glm(counts, iy, gy, np.eye(n_cells), person, cp.n_persons)

    # strata for the adjusted models
    if adjusted:
        key = f["age_band"].to_numpy().astype(object) + "|" + f["sex"].to_numpy().astype(
            object)
        s_codes, s_levels = pd.factorize(pd.Series(key), sort=True)
        s_events = np.bincount(s_codes, weights=counts, minlength=len(s_levels))
        keep_rows = s_events[s_codes] > 0
        if not keep_rows.all():
            notes.append(
                f"{int((~keep_rows).sum())} person-year(s) in age band × sex strata without "
                "any DBC are left out of the adjusted models (they do not inform the rate "
                "ratios).")
        s_used, s_codes = np.unique(s_codes[keep_rows], return_inverse=True)
        n_strata = s_used.size
        rows = np.flatnonzero(keep_rows)
    else:
        n_strata, s_codes, rows = 1, np.zeros(len(f), dtype=np.int64), np.arange(len(f))

    strata_design = _one_hot(np.arange(n_strata), n_strata)[:, 1:]
    # event-study design: cells (group-year) × strata
    es_design = np.hstack([
        np.repeat(np.eye(n_cells), n_strata, axis=0),
        np.tile(strata_design, (n_cells, 1)),
    ])
    row_cell = gy[rows] * n_strata + s_codes
    es = (crude if not adjusted else
          cc.poisson_cell_glm(counts[rows], iy[rows], row_cell, es_design, person[rows],
                              cp.n_persons))

    # pooled DiD design on group-year cells
    did_cells = _did_design(yrs, b, post)
    did_design = np.hstack([np.repeat(did_cells, n_strata, axis=0),
                            np.tile(strata_design, (n_cells, 1))])
    did = cc.poisson_cell_glm(counts[rows], iy[rows], row_cell, did_design, person[rows],
                              cp.n_persons)
    k_did = did_cells.shape[1] - 1  # column of kbz × post

    # practice-level randomisation of the crude pooled DiD
    sums, is_kbz = cc.practice_year_sums(cp, yrs, [outcome, "iy"])
    assign, exact = cc.practice_assignments(is_kbz, seed=seed)
    a = assign.astype(float)
    yk = np.einsum("ap,py->ay", a, sums[..., 0])
    yc = np.einsum("ap,py->ay", 1 - a, sums[..., 0])
    ek = np.einsum("ap,py->ay", a, sums[..., 1])
    ec = np.einsum("ap,py->ay", 1 - a, sums[..., 1])
    y_all, e_all = np.hstack([yk, yc]), np.hstack([ek, ec])
    ok = (e_all > 0).all(axis=1) & (y_all > 0).all(axis=1)
    perm = np.full(len(assign), np.nan)
    if ok.any():
        coef, _ = cc.poisson_newton(did_cells, y_all[ok], np.log(e_all[ok]))
        perm[ok] = coef[:, k_did]
    crude_did = cc.poisson_cell_glm(counts, iy, gy, did_cells, person, cp.n_persons)
    perm[0] = crude_did.coef[k_did]
    p_rand = cc.randomisation_p_value(perm)

    # tables
    n_pers = np.bincount(gy, weights=np.ones(len(f)), minlength=n_cells).astype(int)
    E_cell = np.bincount(gy, weights=iy, minlength=n_cells)
    rate_rows, index_rows, es_rows, trows = [], [], [], []
    for i, (g, y) in enumerate(cc.cell_labels(cc.GROUPS, yrs)):
        w = np.zeros(n_cells)
        w[i] = 1.0
        r = crude.contrast(w, alpha)
        rate_rows.append({"group": g, "year": y, "n_persons": int(n_pers[i]),
                          "insured_years": float(E_cell[i]), "dbc_count": int(Y_cell[i]),
                          "rate_per_1000": 1000 * r["estimate"],
                          "ci_lower": 1000 * r["ci_lower"], "ci_upper": 1000 * r["ci_upper"]})
    k_es = es.coef.size
    for gi, g in enumerate(cc.GROUPS):
        for j, y in enumerate(yrs):
            n_here = int(min(n_pers[gi * n_years + j], n_pers[gi * n_years + b]))
            if j == b:
                index_rows.append({"group": g, "year": y, "index": 100.0, "ci_lower": 100.0,
                                   "ci_upper": 100.0, "n_persons": n_here})
                continue
            w = np.zeros(k_es)
            w[gi * n_years + j], w[gi * n_years + b] = 1.0, -1.0
            r = es.contrast(w, alpha)
            index_rows.append({"group": g, "year": y, "index": 100 * r["estimate"],
                               "ci_lower": 100 * r["ci_lower"],
                               "ci_upper": 100 * r["ci_upper"], "n_persons": n_here})
            trows.append({"term": f"index_{g}_{y}", "estimate": 100 * r["estimate"],
                          "std_error": 100 * r["estimate"] * r["log_std_error"],
                          "ci_lower": 100 * r["ci_lower"], "ci_upper": 100 * r["ci_upper"],
                          "p_value": r["p_value"], "n": n_here, "group": g, "year": y})
    for j, y in enumerate(yrs):
        if j == b:
            continue
        w = np.zeros(k_es)
        w[j], w[b] = 1.0, -1.0
        w[n_years + j], w[n_years + b] = -1.0, 1.0
        r = es.contrast(w, alpha)
        n_here = int(min(n_pers[[j, b, n_years + j, n_years + b]]))
        es_rows.append({"year": y, "rate_ratio": r["estimate"], "ci_lower": r["ci_lower"],
                        "ci_upper": r["ci_upper"], "p_value": r["p_value"],
                        "n_persons": n_here})
        trows.append({"term": f"event_study_{y}", "estimate": r["estimate"],
                      "std_error": r["estimate"] * r["log_std_error"],
                      "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"],
                      "p_value": r["p_value"], "n": n_here, "group": "kbz", "year": y})
    w = np.zeros(did.coef.size)
    w[k_did] = 1.0
    r = did.contrast(w, alpha)
    n_all = int(cp.n_persons)
    head = [
        {"term": "did_rate_ratio", "estimate": r["estimate"],
         "std_error": r["estimate"] * r["log_std_error"], "ci_lower": r["ci_lower"],
         "ci_upper": r["ci_upper"], "p_value": r["p_value"], "n": n_all, "group": "kbz"},
        {"term": "did_rate_ratio_practice_randomisation",
         "estimate": float(np.exp(perm[0])),
         "p_value": p_rand, "n": n_all, "group": "kbz"},
    ]
    rates = pd.DataFrame(rate_rows)
    index = pd.DataFrame(index_rows)
    event_study = pd.DataFrame(es_rows)
    if not (crude.converged and es.converged and did.converged):
        notes.append("A Poisson fit did not converge fully; treat the estimates with care.")
    messages = [*notes, cc.sparse_cells_message(rates, ["group", "year"]),
                cc.few_practices_message(cp, p_rand)]
    emitted = cc.emit(messages)
    level = f"{100 * (1 - alpha):g}%"
    method = (
        f"Poisson GLM (log link, offset log insured years) of {outcome} on person-years "
        f"({cc.describe_population(population)}), years {list(yrs)}. Event-study model: "
        f"one parameter per group × year{' plus age band × sex main effects' if adjusted else ''}"
        f"; index = rate(year)/rate({base_year}) × 100 per group; event-study rate ratio "
        "= ratio of the KBZ and control indices. Pooled DiD: group + year + KBZ × (year ≥ "
        f"{start}) terms, rate ratio = exp(interaction), an intention-to-treat contrast by "
        f"practice group. {level} intervals from the person-clustered sandwich variance "
        "(CR1; valid under any overdispersion and within-person correlation — chosen "
        "over a negative-binomial model, whose model-based variance is not robust). They "
        "do not contain practice-level variation: the practice-level randomisation check "
        f"of the crude DiD ({len(assign)} {'(all)' if exact else 'random'} relabellings) "
        f"gives p = {p_rand:.3g}. The rates table is crude."
    )
    return DbcIndexResult(
        estimates=tidy_frame(head + trows),
        tables={"rates": rates, "index": index, "event_study": event_study},
        method=method,
        settings={"base_year": base_year, "population": population, "years": list(yrs),
                  "outcome": outcome, "start_year": start, "adjust": adjust,
                  "seed": seed, "alpha": alpha, "model": "poisson",
                  "practice_randomisation_exact": exact,
                  "n_person_years_outside_practices": cp.n_rows_outside},
        warnings=emitted,
    )


def _start_year(cp: cc.ClaimsPanel, start_year: Any) -> int:
    if start_year is not None:
        if isinstance(start_year, bool) or not isinstance(start_year, (int, np.integer)):
            raise SpecificationError(
                f"The value for `start_year` must be a calendar year or None, but "
                f"{start_year!r} was passed.")
        return int(start_year)
    starts = cp.practices.loc[cp.practices["group"] == "kbz", "kbz_start_year"]
    starts = starts[np.isfinite(starts)]
    if starts.empty:
        raise SpecificationError(
            "`practices.kbz_start_year` is empty for every KBZ practice; pass "
            "`start_year` (the first year of KBZ) explicitly.")
    return int(starts.min())


def _did_design(yrs: Sequence[int], b: int, post: Sequence[int]) -> np.ndarray:
    """Cell design (group-year cells, KBZ first) of the pooled DiD: intercept, KBZ, year
    effects (base year left out), KBZ × post (last column)."""
    n_years = len(yrs)
    rows = []
    for g in (1, 0):
        for j, y in enumerate(yrs):
            year_fx = [1.0 if j == jj else 0.0 for jj in range(n_years) if jj != b]
            rows.append([1.0, float(g), *year_fx, float(g == 1 and y in post)])
    return np.asarray(rows)


__all__ = ["DbcIndexResult", "dbc_index"]
