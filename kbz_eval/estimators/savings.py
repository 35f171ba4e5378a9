"""What KBZ saved on outpatient DBCs, against the control trend: ``kbz.savings``.

The seeds' efficiency figure: "had the outpatient care use of the KBZ minima grown like
the control group's, 2015 would have cost EUR 356 more per person; over the 1,641
minima, after the extra financing, a saving of over half a million" (and EUR 26 per
person over all insured). This module computes exactly that counterfactual, with
person-level bootstrap intervals, a practice-level randomisation check and an
age/sex-adjusted variant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.estimators.risk_adjustment import REFERENCE_OPTIONS, Reference, expected_values
from kbz_eval.results import Result, tidy_frame

#: Extra financing (EUR) the KBZ practices received for the minima in the saving year.
#: **An assumption**: the seeds do not state the amount; EUR 60,000 makes the published
#: EUR 356 × 1,641 − financing "over half a million" (about EUR 524,000). Pass the real
#: amount as ``extra_financing_eur``.
DEFAULT_EXTRA_FINANCING_EUR = 60_000.0


class SavingsResult(Result):
    """Result of :func:`savings`.

    ``tidy()`` rows (EUR; *per person* = per insured year):
    ``saving_per_person``, ``actual_cost_per_person``, ``counterfactual_cost_per_person``,
    ``n_persons``, ``total_saving`` (saving per person × persons), ``net_saving`` (total −
    extra financing), ``break_even_financing`` (the financing at which the net saving is
    zero = the total saving), ``total_saving_insured_years`` (saving × insured years, the
    stricter exposure-weighted total), ``saving_per_person_practice_randomisation`` (the
    same estimate with the practice-level randomisation p-value) and, with
    ``adjust="age_sex"``, ``saving_per_person_age_sex``, ``total_saving_age_sex`` and
    ``net_saving_age_sex``. Extra column ``unit``.

    ``tables``: ``by_group_year`` (cost per insured year per group and year with bootstrap
    intervals) and ``counterfactual`` (per year: KBZ actual, KBZ had it followed the
    control trend, the difference; what :meth:`plot` draws).
    """

    title = "outpatient-DBC saving against the control trend"
    plotter = "claims:plot_savings"

    def plot_data(self) -> pd.DataFrame:
        """Long frame: ``series`` (``kbz`` actual, ``kbz_control_trend`` counterfactual),
        ``year, cost_per_insured_year, ci_lower, ci_upper, n_persons``."""
        t = self.tables["counterfactual"]
        parts = []
        for series, col in (("kbz", "actual"), ("kbz_control_trend", "counterfactual")):
            parts.append(pd.DataFrame({
                "series": series, "year": t["year"].to_numpy(),
                "cost_per_insured_year": t[col].to_numpy(),
                "ci_lower": t[f"{col}_ci_lower"].to_numpy(),
                "ci_upper": t[f"{col}_ci_upper"].to_numpy(),
                "n_persons": t["n_persons"].to_numpy(),
            }))
        return pd.concat(parts, ignore_index=True)

    def headline(self) -> str:
        e = self.estimates.set_index("term")
        s = self.settings
        sv, tot, net = e.loc["saving_per_person"], e.loc["total_saving"], e.loc["net_saving"]
        level = f"{100 * (1 - s['alpha']):g}%"
        return (
            f"{s['year']} saving vs control trend ({s['population']}): EUR "
            f"{sv['estimate']:,.0f} per person ({level} CI {sv['ci_lower']:,.0f} to "
            f"{sv['ci_upper']:,.0f}); × {int(e.loc['n_persons', 'estimate']):,} persons = "
            f"EUR {tot['estimate']:,.0f}; net of EUR {s['extra_financing_eur']:,.0f} extra "
            f"financing{' (assumed)' if s['extra_financing_is_assumption'] else ''}: EUR "
            f"{net['estimate']:,.0f} ({level} CI {net['ci_lower']:,.0f} to "
            f"{net['ci_upper']:,.0f})"
        )

    def summary(self) -> pd.DataFrame:
        out = self.tidy()
        num = ["estimate", "std_error", "ci_lower", "ci_upper"]
        out[num] = out[num].round(2)
        out["p_value"] = out["p_value"].round(4)
        return out


_INTERVAL_WORDS = {"bca": "BCa (bias-corrected and accelerated)", "percentile": "percentile"}


def _check_money(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                         np.floating)) or not (
        np.isfinite(value) and value >= 0
    ):
        raise SpecificationError(
            f"The value for `{name}` must be a non-negative amount in EUR, but {value!r} "
            "was passed."
        )
    return float(value)


def _statistics(sums: np.ndarray, *, n_years: int, b: int, t: int, financing: float,
                adjusted: bool) -> dict[str, np.ndarray]:
    """Every statistic from column sums (rows = replicates; 1 row for the estimate).

    Layout of the columns: cost, insured years, persons (and expected) per cell; cell
    ``g * n_years + year index`` with g = 0 KBZ, 1 control.
    """
    n_cells = 2 * n_years
    cost, iy, pers = (sums[:, i * n_cells:(i + 1) * n_cells] for i in range(3))
    rate = cc.safe_ratio(cost, iy)
    k = slice(0, n_years)
    c = slice(n_years, n_cells)
    rk, rc = rate[:, k], rate[:, c]
    cf = rk[:, [b]] * cc.safe_ratio(rc, rc[:, [b]])
    saving = cf[:, t] - rk[:, t]
    n_pers = pers[:, k][:, t]
    iy_kt = iy[:, k][:, t]
    out = {
        "rate": rate, "counterfactual": cf, "saving_by_year": cf - rk,
        "saving_per_person": saving, "actual_cost_per_person": rk[:, t],
        "counterfactual_cost_per_person": cf[:, t], "n_persons": n_pers,
        "total_saving": saving * n_pers, "net_saving": saving * n_pers - financing,
        "break_even_financing": saving * n_pers,
        "total_saving_insured_years": saving * iy_kt,
    }
    if adjusted:
        exp = sums[:, 3 * n_cells:4 * n_cells]
        oe = cc.safe_ratio(cost, exp)
        ok, oc = oe[:, k], oe[:, c]
        cf_oe = ok[:, [b]] * cc.safe_ratio(oc, oc[:, [b]])
        scale = cc.safe_ratio(exp[:, k], iy[:, k])  # expected cost per insured year, KBZ
        sav_adj = (cf_oe[:, t] - ok[:, t]) * scale[:, t]
        out["saving_per_person_age_sex"] = sav_adj
        out["total_saving_age_sex"] = sav_adj * n_pers
        out["net_saving_age_sex"] = sav_adj * n_pers - financing
    return out


def savings(
    panel: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    year: int = 2015,
    base_year: int = 2012,
    population: cc.Population = "minima",
    extra_financing_eur: float | None = None,
    outcome: str = "poli_dbc_cost",
    years: Sequence[int] | None = None,
    adjust: cc.Adjust = "none",
    reference: Reference = "pooled",
    n_boot: int = cc.DEFAULT_N_BOOT,
    interval: cc.Interval = "bca",
    seed: int | None = 0,
    alpha: float = 0.05,
) -> SavingsResult:
    """The saving of KBZ practices had their costs grown like the controls'.

    Parameters
    ----------
    panel
        Person-year panel (``person_years`` contract, e.g. from ``kbz.build_panel``):
        ``person_id, year, practice_id, insured_days, minima`` and ``outcome``; ``sex``
        and ``age_band`` or ``birth_year`` for ``adjust="age_sex"``. Not modified.
    practices
        Practices table: ``practice_id``, ``group`` (``kbz``/``control``). Not modified.
    year
        The year of the saving (default 2015, as published).
    base_year
        The year before KBZ both groups are compared from (default 2012).
    population
        ``"minima"`` (default; minima person-years) or ``"all"`` person-years.
    extra_financing_eur
        Extra financing KBZ practices received (EUR), subtracted from the total saving.
        ``None`` uses :data:`DEFAULT_EXTRA_FINANCING_EUR` (EUR 60,000) — an
        **assumption**, flagged as such in the result, since the seeds do not state it.
    outcome
        Cost column (default ``poli_dbc_cost``: outpatient DBCs).
    years
        Years for the per-year table and figure; default every year of the panel.
    adjust
        ``"none"`` (default) or ``"age_sex"``: add the age/sex-adjusted saving (indirect
        standardisation, see Notes).
    reference
        Reference population of the adjustment: ``"pooled"``, ``"control"`` or a table
        of rates (see :func:`kbz_eval.risk_adjustment`).
    n_boot
        Bootstrap replicates (default 999; at least 99).
    interval
        ``"bca"`` (default): bias-corrected and accelerated bootstrap intervals;
        ``"percentile"``: percentile intervals.
    seed
        Seed of the bootstrap (and of a random subset of practice relabellings when
        there are too many to enumerate).
    alpha
        1 − confidence level (0.05: 95 % intervals).

    Returns
    -------
    SavingsResult

    Raises
    ------
    SpecificationError
        Unknown option values, ``year`` or ``base_year`` not in the panel, or
        ``year == base_year``.
    DataValidationError
        Missing columns or values that break the contract.

    Notes
    -----
    **Estimand.** With ``r[g, t]`` the cost per insured year of group ``g`` in year
    ``t`` (sum of ``outcome`` over the group's person-years / sum of their insured years;
    the group of a person-year is its practice's group that year), the counterfactual KBZ
    cost is ``r[kbz, base] × r[control, year] / r[control, base]`` (KBZ grown at the
    control rate) and the *saving per person* is counterfactual − ``r[kbz, year]``. It is
    a difference in differences on the log scale turned into euros; it assumes that
    without KBZ the KBZ costs would have grown at the control rate (parallel trends in
    ratios). *Per person* means per insured year (part-year persons count pro rata), as
    in the published figure. The *total* multiplies by the persons with a KBZ person-year
    in ``year`` (the published 1,641 for the minima); ``total_saving_insured_years``
    multiplies by their insured years instead.

    **Intervals.** Persons are resampled with replacement within their group (stratified
    bootstrap, all their years kept), ``n_boot`` times; intervals are BCa intervals
    (bias-corrected and accelerated, acceleration from the leave-one-person-out
    jackknife; they adjust for the skewness of cost ratios) or percentile intervals,
    and p-values the matching bootstrap test of zero. The financing is a fixed
    amount. Costs are skewed with many zeros; the bootstrap makes no distributional
    assumption about them. With few practices the person-level intervals do not contain
    practice-level variation: the row ``saving_per_person_practice_randomisation`` gives
    the randomisation p-value of permuting the group labels over the practices (exact
    over all relabellings when there are at most 5,000).

    **Adjustment** (``adjust="age_sex"``). Each group-year cost is divided by its
    expected cost (indirect standardisation on age band × sex, reference rates pooled
    over the analysed years unless ``reference`` says otherwise), the counterfactual is
    built on these O/E ratios, and the saving is converted back to euros with the KBZ
    expected cost per insured year in ``year``. It removes the effect of changes in the
    age/sex mix of either group; reference rates are held fixed in the bootstrap.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> s = kbz.load_sample()                                      # doctest: +SKIP
    >>> r = kbz.savings(s["person_years"], s["practices"])          # doctest: +SKIP
    >>> round(r.tidy().set_index("term").loc["saving_per_person", "estimate"])  # doctest: +SKIP
    356
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
    assumed = extra_financing_eur is None
    financing = _check_money("extra_financing_eur",
                             DEFAULT_EXTRA_FINANCING_EUR if assumed else extra_financing_eur)
    adjusted = adjust == "age_sex"
    cp = cc.prepare_claims(panel, practices, population=population, values=[outcome],
                           years=years, need_age_sex=adjusted,
                           required_years=[("year", year), ("base_year", base_year)])
    year, base_year = int(year), int(base_year)
    if year == base_year:
        raise SpecificationError(
            f"`year` and `base_year` must differ, but both are {year}.")
    yrs = tuple(sorted(set(cp.years) | {year, base_year}))
    if yrs != cp.years:
        raise SpecificationError(
            f"`years` {list(cp.years)} must include `year` ({year}) and `base_year` "
            f"({base_year}).")
    n_years = len(yrs)
    b, t = yrs.index(base_year), yrs.index(year)
    f = cp.frame
    person = cp.person_array()
    cell = cc.cell_codes(cp, yrs)
    values = [f[outcome].to_numpy(), f["iy"].to_numpy(), np.ones(len(f))]
    notes = list(cp.notes)
    ref_desc = None
    if adjusted:
        expected, _, _, ref_desc, ref_notes = expected_values(cp, outcome, reference)
        values.append(expected)
        notes += ref_notes
    matrix = cc.person_cell_matrix(person, cell, cp.n_persons, 2 * n_years, values)
    observed = matrix.sum(axis=0, keepdims=True)
    missing = [lab for lab, e in zip(cc.cell_labels(cc.GROUPS, yrs),
                                     observed[0, 2 * n_years:4 * n_years], strict=True)
               if e == 0]
    if missing:
        raise SpecificationError(
            f"No insured years in {missing} for {cc.describe_population(population)}; "
            "the cost per insured year and the saving are not defined there."
        )
    kw = {"n_years": n_years, "b": b, "t": t, "financing": financing, "adjusted": adjusted}
    boot = cc.SumsBootstrap(lambda sums: _statistics(sums, **kw), matrix, cp.strata,
                              n_boot=n_boot, seed=seed, interval=interval)
    est = boot.estimate

    # practice-level randomisation check on the crude saving
    sums, is_kbz = cc.practice_year_sums(cp, [base_year, year], [outcome, "iy"])
    assign, exact = cc.practice_assignments(is_kbz, seed=seed)
    a = assign.astype(float)
    tot_k, tot_c = np.einsum("ap,pyc->ayc", a, sums), np.einsum("ap,pyc->ayc", 1 - a, sums)
    rk, rc = (cc.safe_ratio(x[..., 0], x[..., 1]) for x in (tot_k, tot_c))
    perm_stat = rk[:, 0] * rc[:, 1] / rc[:, 0] - rk[:, 1]
    p_rand = cc.randomisation_p_value(perm_stat)

    n_kt = int(est["n_persons"][0])
    units = {"saving_per_person": "EUR per insured year",
             "actual_cost_per_person": "EUR per insured year",
             "counterfactual_cost_per_person": "EUR per insured year",
             "n_persons": "persons", "total_saving": "EUR", "net_saving": "EUR",
             "break_even_financing": "EUR", "total_saving_insured_years": "EUR",
             "saving_per_person_age_sex": "EUR per insured year",
             "total_saving_age_sex": "EUR", "net_saving_age_sex": "EUR"}
    nulls = {"net_saving": 0.0, "net_saving_age_sex": 0.0}
    rows = []
    for term, unit in units.items():
        if term not in est:
            continue
        value = float(est[term][0])
        if term == "n_persons":
            rows.append({"term": term, "estimate": value, "n": n_kt, "unit": unit})
            continue
        inf = boot.infer(term, alpha=alpha, null=nulls.get(term, 0.0))
        if term in ("actual_cost_per_person", "counterfactual_cost_per_person"):
            inf["p_value"] = np.nan
        rows.append({"term": term, **inf, "n": n_kt, "unit": unit})
        if term == "saving_per_person":
            rows.append({"term": "saving_per_person_practice_randomisation",
                         "estimate": value, "p_value": p_rand, "n": n_kt, "unit": unit})

    # tables
    labels = cc.cell_labels(cc.GROUPS, yrs)
    n_cells = 2 * n_years
    cost_o, iy_o, pers_o = (observed[0, i * n_cells:(i + 1) * n_cells] for i in range(3))
    by_gy = []
    for i, (g, y) in enumerate(labels):
        inf = boot.infer("rate", (i,), alpha=alpha)
        by_gy.append({"group": g, "year": y, "n_persons": int(pers_o[i]),
                      "insured_years": float(iy_o[i]), "cost": float(cost_o[i]),
                      "cost_per_insured_year": float(est["rate"][0, i]),
                      "ci_lower": inf["ci_lower"], "ci_upper": inf["ci_upper"]})
    by_group_year = pd.DataFrame(by_gy)
    cf_rows = []
    for j, y in enumerate(yrs):
        act = boot.infer("rate", (j,), alpha=alpha)
        cfi = boot.infer("counterfactual", (j,), alpha=alpha)
        svi = boot.infer("saving_by_year", (j,), alpha=alpha)
        cf_rows.append({
            "year": y,
            "n_persons": int(min(pers_o[j], pers_o[b], pers_o[n_years + j],
                                 pers_o[n_years + b])),
            "actual": float(est["rate"][0, j]), "actual_ci_lower": act["ci_lower"],
            "actual_ci_upper": act["ci_upper"],
            "counterfactual": float(est["counterfactual"][0, j]),
            "counterfactual_ci_lower": cfi["ci_lower"],
            "counterfactual_ci_upper": cfi["ci_upper"],
            "saving": float(est["saving_by_year"][0, j]), "saving_ci_lower": svi["ci_lower"],
            "saving_ci_upper": svi["ci_upper"],
        })
    counterfactual = pd.DataFrame(cf_rows)
    messages = [*notes, cc.sparse_cells_message(by_group_year, ["group", "year"]),
                cc.few_practices_message(cp, p_rand)]
    emitted = cc.emit(messages)
    level = f"{100 * (1 - alpha):g}%"
    method = (
        f"Cost per insured year of {outcome} ({cc.describe_population(population)}); group "
        f"of a person-year = its practice's group that year. Counterfactual KBZ {year} = "
        f"KBZ {base_year} × control {year} / control {base_year}; saving per person (per "
        f"insured year) = counterfactual − actual KBZ {year}; assumes KBZ costs would have "
        f"grown at the control rate. Total = saving × {n_kt:,} persons with a KBZ "
        f"person-year in {year}; net = total − extra financing of EUR {financing:,.0f}"
        f"{' (an assumption: the seeds do not state the amount)' if assumed else ''}; "
        f"break-even financing = total. {level} {_INTERVAL_WORDS[interval]} intervals and "
        "p-values from a "
        f"person-level bootstrap stratified by group ({n_boot} replicates, seed {seed}), "
        "all years of a person kept together; they do not contain practice-level "
        f"variation — the practice-level randomisation check ({len(assign)} "
        f"{'(all)' if exact else 'random'} relabellings of {len(is_kbz)} practices) gives "
        f"p = {p_rand:.3g}."
    )
    if adjusted:
        method += (
            " Age/sex-adjusted variant: group-year costs divided by expected costs "
            f"(indirect standardisation on age band × sex, reference: {ref_desc}), the "
            "counterfactual built on these O/E ratios and converted to euros with the KBZ "
            f"expected cost per insured year in {year}; reference rates fixed in the "
            "bootstrap."
        )
    return SavingsResult(
        estimates=tidy_frame(rows),
        tables={"by_group_year": by_group_year, "counterfactual": counterfactual},
        method=method,
        settings={"year": year, "base_year": base_year, "population": population,
                  "outcome": outcome, "years": list(yrs),
                  "extra_financing_eur": financing,
                  "extra_financing_is_assumption": assumed, "adjust": adjust,
                  "reference": reference if isinstance(reference, str) else "table",
                  "n_boot": n_boot, "interval": interval, "seed": seed, "alpha": alpha,
                  "practice_randomisation_exact": exact,
                  "practice_randomisation_assignments": int(len(assign)),
                  "n_person_years_outside_practices": cp.n_rows_outside},
        warnings=emitted,
    )


__all__ = ["DEFAULT_EXTRA_FINANCING_EUR", "SavingsResult", "savings"]
