"""Specialist mental-health (GGZ) cost per insured, before and after: ``kbz.ggz_change``.

The seeds' GGZ analysis (2013 → 2016): cost per insured −7.3 % at KBZ practices and
−1.8 % at the controls (difference not significant), −23 % at the practice that
implemented KBZ for GGZ most fully, fewer GGZ patients but a higher cost per patient in
both groups, and *new* GGZ patients EUR 700 cheaper at KBZ practices (significant).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from kbz_eval.errors import SpecificationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.estimators.risk_adjustment import REFERENCE_OPTIONS, Reference, expected_values
from kbz_eval.results import Result, tidy_frame

#: Broad age groups for the new-patient GLM (five-year bands would leave empty cells):
#: upper bounds (exclusive) of the groups, in years.
NEW_PATIENT_AGE_BREAKS = (35, 50, 65)


class GgzChangeResult(Result):
    """Result of :func:`ggz_change`.

    ``tidy()`` rows: ``change_kbz``, ``change_control`` (relative change of cost per
    insured year, follow vs base year), ``difference_in_change`` (KBZ − control, in
    fractions: −0.055 = 5.5 percentage points), ``ratio_of_changes``, the same with the
    practice-level randomisation p-value, ``prevalence_change_<group>``,
    ``cost_per_patient_change_<group>``, ``best_practice_change`` (extra column
    ``practice_id``), ``new_patient_cost_kbz``/``_control``,
    ``new_patient_difference`` (EUR, KBZ − control, unadjusted, bootstrap),
    ``new_patient_ratio_age_sex`` and ``new_patient_difference_age_sex`` (Gamma GLM, log
    link, robust SEs), and with ``adjust="age_sex"`` the O/E-based
    ``change_<group>_age_sex`` and ``difference_in_change_age_sex``.

    ``tables``: ``by_group_year``, ``decomposition``, ``by_practice`` (what :meth:`plot`
    draws), ``new_patients``.
    """

    title = "change in specialist GGZ cost per insured"
    plotter = "claims:plot_ggz_change"

    def plot_data(self) -> pd.DataFrame:
        """``label, level`` (``group``/``practice``), ``group, change, ci_lower, ci_upper,
        n_persons``: the relative change per group and per practice."""
        g = self.tables["by_group_year"]
        s = self.settings
        e = self.estimates.set_index("term")
        rows = []
        for grp in cc.GROUPS:
            r = e.loc[f"change_{grp}"]
            n = int(g.loc[g["group"] == grp, "n_persons"].min())
            label = "KBZ total" if grp == "kbz" else "control total"
            rows.append({"label": label, "level": "group", "group": grp,
                         "change": r["estimate"], "ci_lower": r["ci_lower"],
                         "ci_upper": r["ci_upper"], "n_persons": n})
        p = self.tables["by_practice"]
        for r in p.itertuples():
            rows.append({"label": r.practice_id, "level": "practice", "group": r.group,
                         "change": r.change, "ci_lower": r.ci_lower, "ci_upper": r.ci_upper,
                         "n_persons": r.n_persons})
        out = pd.DataFrame(rows)
        out.attrs["years"] = (s["base_year"], s["follow_year"])
        return out

    def headline(self) -> str:
        e = self.estimates.set_index("term")
        s = self.settings
        d, n = e.loc["difference_in_change"], e.loc["new_patient_difference"]
        return (
            f"GGZ cost per insured {s['base_year']}→{s['follow_year']}: KBZ "
            f"{100 * e.loc['change_kbz', 'estimate']:+.1f}%, control "
            f"{100 * e.loc['change_control', 'estimate']:+.1f}% (difference "
            f"{100 * d['estimate']:+.1f} pp, p = {d['p_value']:.2g}); best KBZ practice "
            f"{100 * e.loc['best_practice_change', 'estimate']:+.1f}%; new patients EUR "
            f"{n['estimate']:+,.0f} (p = {n['p_value']:.2g})"
        )


def _age_groups(age_band: np.ndarray) -> np.ndarray:
    lower = np.array([int(b.rstrip("+").split("-")[0]) for b in age_band])
    return np.searchsorted(np.asarray(NEW_PATIENT_AGE_BREAKS), lower, side="right")


def _new_patient_glm(cost: np.ndarray, kbz: np.ndarray, age_band: np.ndarray,
                     sex: np.ndarray, alpha: float) -> tuple[dict[str, float],
                                                             dict[str, float], list[str]]:
    """Gamma GLM (log link) of new patients' cost on KBZ + broad age group + sex.

    Returns the KBZ/control cost ratio and the standardised EUR difference (mean over the
    new patients of the predicted cost as KBZ minus as control), with HC1 robust
    inference (delta method for the difference), and notes.
    """
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    notes: list[str] = []
    ag = _age_groups(age_band)
    levels = np.unique(ag)
    cols = [np.ones(cost.size), kbz.astype(float)]
    cols += [(ag == lv).astype(float) for lv in levels[1:]]
    cols.append((sex == "F").astype(float))
    X = np.column_stack(cols)
    keep = np.linalg.matrix_rank(X) == X.shape[1]
    if not keep:
        X = X[:, :-1]
        notes.append("The new patients are all of one sex; the GLM adjusts for age only.")
    nan = {"estimate": np.nan, "std_error": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
           "p_value": np.nan}
    if cost.size < X.shape[1] + 2 or kbz.all() or not kbz.any():
        return nan, dict(nan), notes + ["Too few new patients for the adjusted GLM."]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = GLM(cost, X, family=families.Gamma(families.links.Log())).fit(cov_type="HC1")
    beta, vcov = np.asarray(fit.params), np.asarray(fit.cov_params())
    z = stats.norm.ppf(1 - alpha / 2)
    b, se = beta[1], np.sqrt(vcov[1, 1])
    ratio = {"estimate": float(np.exp(b)), "std_error": float(np.exp(b) * se),
             "ci_lower": float(np.exp(b - z * se)), "ci_upper": float(np.exp(b + z * se)),
             "p_value": float(2 * stats.norm.sf(abs(b) / se))}
    x1, x0 = X.copy(), X.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    m1, m0 = np.exp(x1 @ beta), np.exp(x0 @ beta)
    diff = float(np.mean(m1 - m0))
    grad = (m1[:, None] * x1 - m0[:, None] * x0).mean(axis=0)
    se_d = float(np.sqrt(grad @ vcov @ grad))
    difference = {"estimate": diff, "std_error": se_d, "ci_lower": diff - z * se_d,
                  "ci_upper": diff + z * se_d,
                  "p_value": float(2 * stats.norm.sf(abs(diff) / se_d))}
    return ratio, difference, notes


def ggz_change(
    panel: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    base_year: int = 2013,
    follow_year: int = 2016,
    population: cc.Population = "all",
    outcome: str = "ggz_cost",
    adjust: cc.Adjust = "none",
    reference: Reference = "pooled",
    n_boot: int = cc.DEFAULT_N_BOOT,
    interval: cc.Interval = "bca",
    seed: int | None = 0,
    alpha: float = 0.05,
) -> GgzChangeResult:
    """Change in specialist GGZ cost per insured, its decomposition, and new patients.

    Parameters
    ----------
    panel
        Person-year panel (``person_years`` contract): ``person_id, year, practice_id,
        insured_days, sex``, ``age_band`` or ``birth_year``, ``minima`` (for
        ``population="minima"``) and ``outcome``. Not modified.
    practices
        Practices table: ``practice_id``, ``group`` (``kbz``/``control``). Not modified.
    base_year, follow_year
        The two years compared (default 2013 → 2016, as published).
    population
        ``"all"`` person-years (default, as published) or ``"minima"``.
    outcome
        GGZ cost column (default ``ggz_cost``: specialist GGZ).
    adjust
        ``"none"`` or ``"age_sex"``: add the changes of the O/E ratios (indirect
        standardisation on age band × sex).
    reference
        Reference population of the adjustment (see :func:`kbz_eval.risk_adjustment`).
    n_boot
        Bootstrap replicates (default 999; at least 99).
    interval
        ``"bca"`` (default): bias-corrected and accelerated bootstrap intervals;
        ``"percentile"``: percentile intervals.
    seed
        Seed of the bootstrap.
    alpha
        1 − confidence level (0.05: 95 % intervals).

    Returns
    -------
    GgzChangeResult

    Raises
    ------
    SpecificationError
        Unknown options, years not in the panel, ``follow_year <= base_year``, or a
        group without insured years in either year.
    DataValidationError
        Missing columns or values that break the contract.

    Notes
    -----
    **Change.** ``r[g, t]`` = sum of ``outcome`` over group ``g``'s person-years in year
    ``t`` / their insured years (group of the practice that year); the change is
    ``r[g, follow] / r[g, base] − 1``; the effect is the *difference in changes* KBZ −
    control (also given as the ratio of ratios). Per practice the same.

    **Decomposition.** Cost per insured year = prevalence (share of the group's
    person-years with ``outcome > 0``: GGZ patients) × intensity (cost per GGZ patient)
    × persons per insured year; the relative changes of prevalence and intensity are
    reported with intervals.

    **New patients.** Persons with a follow-year person-year with ``outcome > 0`` and a
    base-year person-year with ``outcome == 0`` (insured in both years, no GGZ cost in the
    base year); group of the follow-year practice. Compared on their follow-year cost
    per person (not per insured year): the unadjusted difference in means with bootstrap
    inference, and, adjusted for age (broad groups < 35, 35–49, 50–64, 65+) and sex, a
    Gamma GLM with log link and HC1 robust standard errors: the KBZ/control cost ratio,
    and the standardised difference in euros (average over the new patients of the
    predicted cost as KBZ minus as control; delta-method interval).

    **Intervals.** BCa (bias-corrected and accelerated; acceleration from the
    leave-one-person-out jackknife, which adjusts for skewed costs) or percentile
    intervals, and the matching bootstrap p-values, from resampling persons within their
    group (all their years kept), ``n_boot`` times. They are person-level
    and do not contain practice-level variation; the row
    ``difference_in_change_practice_randomisation`` gives the randomisation p-value of
    permuting the group labels over the practices. The *best practice* is the KBZ
    practice with the lowest change; picking the lowest of several makes its change an
    optimistic estimate of that practice's effect.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> s = kbz.load_sample()                                     # doctest: +SKIP
    >>> kbz.ggz_change(s["person_years"], s["practices"]).tidy()  # doctest: +SKIP
    """
    cc.check_choice("adjust", adjust, cc.ADJUST_OPTIONS)
    if not isinstance(reference, pd.DataFrame):
        cc.check_choice("reference", reference, REFERENCE_OPTIONS)
    if not isinstance(outcome, str):
        raise SpecificationError(
            f"The value for `outcome` must be a column name, but {outcome!r} was passed.")
    n_boot = cc.check_n_boot(n_boot)
    interval = cc.check_choice("interval", interval, cc.INTERVAL_OPTIONS)
    seed = cc.check_seed(seed)
    alpha = cc.check_alpha(alpha)
    adjusted = adjust == "age_sex"
    if isinstance(follow_year, (int, np.integer)) and isinstance(base_year, (int, np.integer)) \
            and not isinstance(follow_year, bool) and follow_year <= base_year:
        raise SpecificationError(
            f"`follow_year` must be after `base_year`, but {follow_year} <= {base_year} "
            "was passed.")
    cp = cc.prepare_claims(
        panel, practices, population=population, values=[outcome], need_age_sex=True,
        required_years=[("base_year", base_year), ("follow_year", follow_year)],
        years=[base_year, follow_year],
    )
    base_year, follow_year = int(base_year), int(follow_year)
    yrs = (base_year, follow_year)
    notes = list(cp.notes)
    expected = None
    ref_desc = None
    if adjusted:
        expected, _, _, ref_desc, ref_notes = expected_values(cp, outcome, reference)
        notes += ref_notes
    f = cp.frame
    person = cp.person_array()
    n_persons = cp.n_persons
    strata = cp.strata

    year = f["year"].to_numpy()
    cost = f[outcome].to_numpy()
    iy = f["iy"].to_numpy()
    patient = (cost > 0).astype(float)
    ones = np.ones(len(f))
    gy = ((f["group"].to_numpy() == "control").astype(np.int64) * 2
          + (year == follow_year).astype(np.int64))
    # new patients: follow-year patient, base-year person-year with zero cost
    base_cost = np.full(n_persons, np.nan)
    at_base = year == base_year
    base_cost[person[at_base]] = cost[at_base]
    new = (year == follow_year) & (cost > 0) & (base_cost[person] == 0)
    new_cell = np.where(new, (f["group"].to_numpy() == "control").astype(np.int64), -1)

    prac_ids = list(cp.practices["practice_id"])
    p_index = {p: i for i, p in enumerate(prac_ids)}
    n_p = len(prac_ids)
    py_cell = f["practice_id"].map(p_index).to_numpy() * 2 + (year == follow_year)

    blocks = [cc.person_cell_matrix(person, gy, n_persons, 4,
                                    [cost, iy, ones, patient]),
              cc.person_cell_matrix(person, new_cell, n_persons, 2, [new.astype(float),
                                                                     cost]),
              cc.person_cell_matrix(person, py_cell, n_persons, 2 * n_p,
                                    [cost, iy, ones, patient])]
    if adjusted:
        blocks.append(cc.person_cell_matrix(person, gy, n_persons, 4, [expected]))
    widths = [b.shape[1] for b in blocks]
    matrix = np.hstack(blocks)
    observed = matrix.sum(axis=0, keepdims=True)
    gy_obs = observed[0, :16].reshape(4, 4)  # value × cell
    if (gy_obs[1] == 0).any():
        raise SpecificationError(
            f"A group has no insured years in {base_year} or {follow_year} "
            f"({cc.describe_population(population)}).")

    def statistics(s: np.ndarray) -> dict[str, np.ndarray]:
        off = np.cumsum([0, *widths])
        g = s[:, off[0]:off[1]].reshape(-1, 4, 4)  # (rep, value, cell)
        c_, e_, n_, p_ = g[:, 0], g[:, 1], g[:, 2], g[:, 3]
        rate = cc.safe_ratio(c_, e_)
        prev = cc.safe_ratio(p_, n_)
        inten = cc.safe_ratio(c_, p_)
        out = {"rate": rate, "prevalence": prev, "intensity": inten}
        for gi, grp in enumerate(cc.GROUPS):
            b0, b1 = 2 * gi, 2 * gi + 1
            out[f"change_{grp}"] = rate[:, b1] / rate[:, b0] - 1
            out[f"prevalence_change_{grp}"] = prev[:, b1] / prev[:, b0] - 1
            out[f"cost_per_patient_change_{grp}"] = inten[:, b1] / inten[:, b0] - 1
        out["difference_in_change"] = out["change_kbz"] - out["change_control"]
        out["ratio_of_changes"] = (1 + out["change_kbz"]) / (1 + out["change_control"])
        nw = s[:, off[1]:off[2]].reshape(-1, 2, 2)  # (rep, value, group)
        mean_new = cc.safe_ratio(nw[:, 1], nw[:, 0])
        out["new_patient_cost_kbz"] = mean_new[:, 0]
        out["new_patient_cost_control"] = mean_new[:, 1]
        out["new_patient_difference"] = mean_new[:, 0] - mean_new[:, 1]
        pr = s[:, off[2]:off[3]].reshape(-1, 4, n_p, 2)  # (rep, value, practice, year)
        prate = cc.safe_ratio(pr[:, 0], pr[:, 1])
        out["practice_rate"] = prate
        out["practice_change"] = prate[..., 1] / prate[..., 0] - 1
        if adjusted:
            ex = s[:, off[3]:off[4]]
            oe = cc.safe_ratio(c_, ex)
            for gi, grp in enumerate(cc.GROUPS):
                out[f"change_{grp}_age_sex"] = oe[:, 2 * gi + 1] / oe[:, 2 * gi] - 1
            out["difference_in_change_age_sex"] = (out["change_kbz_age_sex"]
                                                   - out["change_control_age_sex"])
        return out

    boot = cc.SumsBootstrap(statistics, matrix, strata, n_boot=n_boot, seed=seed,
                              interval=interval)
    est = boot.estimate

    # practice-level randomisation of the difference in changes
    sums, prac_kbz = cc.practice_year_sums(cp, list(yrs), [outcome, "iy"])
    assign, exact = cc.practice_assignments(prac_kbz, seed=seed)
    a = assign.astype(float)
    tk, tc = np.einsum("ap,pyc->ayc", a, sums), np.einsum("ap,pyc->ayc", 1 - a, sums)
    with np.errstate(divide="ignore", invalid="ignore"):
        rk, rc = (cc.safe_ratio(x[..., 0], x[..., 1]) for x in (tk, tc))
        perm = (rk[:, 1] / rk[:, 0]) - (rc[:, 1] / rc[:, 0])
    p_rand = cc.randomisation_p_value(perm)

    # counts for n_persons
    n_cell = gy_obs[2].astype(int)
    pat_cell = gy_obs[3].astype(int)
    new_n = observed[0, widths[0]:widths[0] + 2].astype(int)
    pr_obs = observed[0, widths[0] + widths[1]:widths[0] + widths[1] + widths[2]]
    pr_obs = pr_obs.reshape(4, n_p, 2)

    def inf(term: str, null: float = 0.0, col: int | None = None) -> dict[str, float]:
        return boot.infer(term, () if col is None else (col,), alpha=alpha, null=null)

    rows: list[dict[str, Any]] = []
    n_min = {g: int(min(pat_cell[2 * i], pat_cell[2 * i + 1])) for i, g in enumerate(cc.GROUPS)}
    for g in cc.GROUPS:
        rows.append({"term": f"change_{g}", **inf(f"change_{g}"), "n": n_min[g],
                     "unit": "fraction"})
    d = inf("difference_in_change")
    both = min(n_min.values())
    rows.append({"term": "difference_in_change", **d, "n": both, "unit": "fraction"})
    rows.append({"term": "difference_in_change_practice_randomisation",
                 "estimate": d["estimate"], "p_value": p_rand, "n": both, "unit": "fraction"})
    rows.append({"term": "ratio_of_changes", **inf("ratio_of_changes", null=1.0), "n": both,
                 "unit": "ratio"})
    for g in cc.GROUPS:
        rows.append({"term": f"prevalence_change_{g}", **inf(f"prevalence_change_{g}"),
                     "n": n_min[g], "unit": "fraction"})
        rows.append({"term": f"cost_per_patient_change_{g}",
                     **inf(f"cost_per_patient_change_{g}"), "n": n_min[g],
                     "unit": "fraction"})
    # practices
    p_rows = []
    for i, pid in enumerate(prac_ids):
        grp = cp.practices["group"].iloc[i]
        ci = inf("practice_change", col=i)
        rates = est["practice_rate"][0, i]
        p_rows.append({
            "practice_id": pid, "group": grp,
            "n_persons": int(min(pr_obs[3, i, 0], pr_obs[3, i, 1])),
            "n_insured": int(min(pr_obs[2, i, 0], pr_obs[2, i, 1])),
            f"cost_per_insured_year_{base_year}": float(rates[0]),
            f"cost_per_insured_year_{follow_year}": float(rates[1]),
            "change": ci["estimate"], "ci_lower": ci["ci_lower"], "ci_upper": ci["ci_upper"],
        })
    by_practice = pd.DataFrame(p_rows)
    kbz_p = by_practice[by_practice["group"] == "kbz"]
    finite = kbz_p[np.isfinite(kbz_p["change"].to_numpy(dtype=float))]
    if finite.empty:
        notes.append(f"No KBZ practice has {outcome} in both {base_year} and {follow_year}; "
                     "there is no best practice.")
        rows.append({"term": "best_practice_change", "n": 0, "unit": "fraction"})
    else:
        best = finite.loc[finite["change"].idxmin()]
        bi = prac_ids.index(best["practice_id"])
        rows.append({"term": "best_practice_change", **inf("practice_change", col=bi),
                     "n": int(best["n_persons"]), "unit": "fraction",
                     "practice_id": best["practice_id"]})
    # new patients
    for gi, g in enumerate(cc.GROUPS):
        rows.append({"term": f"new_patient_cost_{g}", **inf(f"new_patient_cost_{g}"),
                     "n": int(new_n[gi]), "unit": "EUR per person"})
        rows[-1]["p_value"] = np.nan
    rows.append({"term": "new_patient_difference", **inf("new_patient_difference"),
                 "n": int(new_n.min()), "unit": "EUR per person"})
    fn = f[new]
    ratio, diff, glm_notes = _new_patient_glm(
        fn[outcome].to_numpy(), fn["group"].to_numpy() == "kbz", fn["age_band"].to_numpy(),
        fn["sex"].to_numpy(), alpha)
    notes += glm_notes
    rows.append({"term": "new_patient_ratio_age_sex", **ratio, "n": int(new_n.min()),
                 "unit": "ratio"})
    rows.append({"term": "new_patient_difference_age_sex", **diff, "n": int(new_n.min()),
                 "unit": "EUR per person"})
    if adjusted:
        for g in cc.GROUPS:
            rows.append({"term": f"change_{g}_age_sex", **inf(f"change_{g}_age_sex"),
                         "n": n_min[g], "unit": "fraction"})
        rows.append({"term": "difference_in_change_age_sex",
                     **inf("difference_in_change_age_sex"), "n": both, "unit": "fraction"})

    # tables
    gy_rows, dec_rows = [], []
    for ci_, (g, y) in enumerate((g, y) for g in cc.GROUPS for y in yrs):
        r = inf("rate", col=ci_)
        gy_rows.append({"group": g, "year": y, "n_persons": int(pat_cell[ci_]),
                        "n_insured": int(n_cell[ci_]), "insured_years": float(gy_obs[1, ci_]),
                        "cost": float(gy_obs[0, ci_]),
                        "cost_per_insured_year": r["estimate"], "ci_lower": r["ci_lower"],
                        "ci_upper": r["ci_upper"]})
        pv, it = inf("prevalence", col=ci_), inf("intensity", col=ci_)
        dec_rows.append({"group": g, "year": y, "n_persons": int(pat_cell[ci_]),
                         "n_insured": int(n_cell[ci_]), "prevalence": pv["estimate"],
                         "prevalence_ci_lower": pv["ci_lower"],
                         "prevalence_ci_upper": pv["ci_upper"],
                         "cost_per_patient": it["estimate"],
                         "cost_per_patient_ci_lower": it["ci_lower"],
                         "cost_per_patient_ci_upper": it["ci_upper"],
                         "cost_per_insured_year": r["estimate"]})
    new_rows = []
    for gi, g in enumerate(cc.GROUPS):
        r = inf(f"new_patient_cost_{g}")
        new_rows.append({"group": g, "year": follow_year, "n_persons": int(new_n[gi]),
                         "mean_cost": r["estimate"], "ci_lower": r["ci_lower"],
                         "ci_upper": r["ci_upper"]})
    tables_out = {"by_group_year": pd.DataFrame(gy_rows),
                  "decomposition": pd.DataFrame(dec_rows),
                  "by_practice": by_practice, "new_patients": pd.DataFrame(new_rows)}
    messages = [*notes,
                cc.sparse_cells_message(tables_out["by_group_year"], ["group", "year"]),
                cc.sparse_cells_message(by_practice, ["practice_id"]),
                cc.sparse_cells_message(tables_out["new_patients"], ["group", "year"]),
                cc.few_practices_message(cp, p_rand)]
    emitted = cc.emit(messages)
    level = f"{100 * (1 - alpha):g}%"
    method = (
        f"{outcome} per insured year ({cc.describe_population(population)}; group of the "
        f"practice that year), {base_year} → {follow_year}: relative change per group and "
        "practice, difference in changes KBZ − control. Decomposition: prevalence (share "
        f"of person-years with {outcome} > 0) × cost per GGZ patient. New patients: "
        f"{outcome} > 0 in {follow_year}, insured with {outcome} = 0 in {base_year}; mean "
        f"{follow_year} cost per person, KBZ − control (group of the {follow_year} "
        f"practice). {level} {'BCa' if interval == 'bca' else 'percentile'} intervals and "
        "p-values from a person-level "
        f"bootstrap stratified by group ({n_boot} replicates, seed {seed}); adjusted "
        "new-patient comparison: Gamma GLM, log link, KBZ + age group (<35, 35–49, "
        "50–64, 65+) + sex, HC1 robust SEs, standardised EUR difference by the delta "
        "method. Intervals are person-level and do not contain practice-level variation; "
        f"the practice-level randomisation check of the difference in changes "
        f"({len(assign)} {'(all)' if exact else 'random'} relabellings) gives "
        f"p = {p_rand:.3g}. The best practice is the lowest of several changes "
        "(optimistic)."
    )
    if adjusted:
        method += (f" Age/sex-adjusted changes: of O/E ratios (indirect standardisation on "
                   f"age band × sex, reference: {ref_desc}); reference rates fixed in the "
                   "bootstrap.")
    return GgzChangeResult(
        estimates=tidy_frame(rows),
        tables=tables_out,
        method=method,
        settings={"base_year": base_year, "follow_year": follow_year,
                  "population": population, "outcome": outcome, "adjust": adjust,
                  "reference": reference if isinstance(reference, str) else "table",
                  "n_boot": n_boot, "interval": interval, "seed": seed, "alpha": alpha,
                  "practice_randomisation_exact": exact,
                  "n_person_years_outside_practices": cp.n_rows_outside},
        warnings=emitted,
    )


__all__ = ["GgzChangeResult", "ggz_change", "NEW_PATIENT_AGE_BREAKS"]

