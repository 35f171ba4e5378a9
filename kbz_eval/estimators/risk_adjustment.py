"""Risk adjustment by indirect standardisation on age band × sex: ``kbz.risk_adjustment``.

Costs depend strongly on age and sex, and the KBZ and control practices differ in both.
Indirect standardisation asks: what would this group have cost if each of its persons
had cost what a person of the same age band and sex costs in a *reference* population?
That is the *expected* cost ``E``; the ratio ``O/E`` of observed to expected cost says
how much more (> 1) or less (< 1) a group costs than its age/sex mix predicts.

The same machinery (:func:`expected_values`) gives the age/sex-adjusted variants of
:func:`kbz_eval.savings`, :func:`kbz_eval.ggz_change` and :func:`kbz_eval.dbc_index`
(``adjust="age_sex"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from kbz_eval import tables
from kbz_eval.errors import SpecificationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.results import Result, tidy_frame

#: Allowed string values of ``reference``.
REFERENCE_OPTIONS: tuple[str, ...] = ("pooled", "control")
#: Allowed values of ``by``.
BY_OPTIONS: tuple[str, ...] = ("group", "practice")

Reference = Literal["pooled", "control"] | pd.DataFrame


class RiskAdjustmentResult(Result):
    """Result of :func:`risk_adjustment`: observed/expected ratios per unit and year.

    ``tidy()`` rows ``oe_<unit>_<year>``: the O/E ratio with its interval and the p-value
    of O/E = 1; extra columns ``unit``, ``year``.

    ``tables``: ``observed_expected`` (unit, group, year, ``n_persons``, insured years,
    observed, expected, O/E with interval, crude and standardised rate per insured year)
    and ``reference_rates`` (age band × sex rates of the reference population, with
    ``n_persons``; empty strata omitted).
    """

    title = "observed/expected ratio (indirect standardisation on age band × sex)"
    plotter = "claims:plot_risk_adjustment"

    def plot_data(self) -> pd.DataFrame:
        """O/E per unit and year: ``unit, group, year, oe_ratio, ci_lower, ci_upper,
        n_persons``."""
        t = self.tables["observed_expected"]
        return t[["unit", "group", "year", "oe_ratio", "ci_lower", "ci_upper",
                  "n_persons"]].reset_index(drop=True)

    def headline(self) -> str:
        t = self.tables["observed_expected"]
        last = t[t["year"] == t["year"].max()]
        parts = ", ".join(
            f"{r.unit} {r.oe_ratio:.3f} ({r.ci_lower:.3f}–{r.ci_upper:.3f})"
            for r in last.itertuples()
        )
        return (f"O/E of {self.settings.get('outcome')} in {int(t['year'].max())} "
                f"(reference: {self.settings.get('reference')}): {parts}")


# --------------------------------------------------------------------------- helpers
def reference_rates(frame: pd.DataFrame, outcome: str, mask: np.ndarray | None = None
                    ) -> pd.DataFrame:
    """Rate per insured year of ``outcome`` per age band × sex over the rows in ``mask``.

    Columns ``age_band, sex, n_persons, insured_years, total, rate``; strata without
    exposure are left out. ``n_persons`` counts distinct persons (``person`` codes).
    """
    f = frame if mask is None else frame[mask]
    g = f.groupby(["age_band", "sex"], sort=True, observed=True)
    out = g.agg(n_persons=("person", "nunique"), insured_years=("iy", "sum"),
                total=(outcome, "sum")).reset_index()
    out = out[out["insured_years"] > 0].reset_index(drop=True)
    out["rate"] = out["total"] / out["insured_years"]
    return out


def _external_rates(reference: pd.DataFrame) -> pd.DataFrame:
    needed = ["age_band", "sex", "rate"]
    missing = [c for c in needed if c not in reference.columns]
    if missing:
        raise SpecificationError(
            f"A `reference` table must have the columns {needed}, but {missing} are "
            "missing. Give the reference rate per insured year per age band and sex."
        )
    out = pd.DataFrame({
        "age_band": reference["age_band"].astype("string").str.strip().to_numpy(
            dtype=object).astype(str),
        "sex": reference["sex"].astype("string").str.strip().str.upper().to_numpy(
            dtype=object).astype(str),
        "rate": pd.to_numeric(reference["rate"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan),
    })
    if not np.isfinite(out["rate"]).all() or (out["rate"] < 0).any():
        raise SpecificationError("`reference` rates must be finite numbers ≥ 0.")
    if out.duplicated(["age_band", "sex"]).any():
        raise SpecificationError("`reference` has more than one rate for an age band × sex.")
    bad = ~out["age_band"].isin(tables.AGE_BANDS) | ~out["sex"].isin(("M", "F"))
    if bad.any():
        raise SpecificationError(
            f"`reference` holds unknown strata (age bands must be {tables.AGE_BANDS[0]} "
            f"... {tables.AGE_BANDS[-1]}, sex M or F): "
            f"{out.loc[bad, ['age_band', 'sex']].head(3).to_dict('records')}."
        )
    return out


def expected_values(cp: cc.ClaimsPanel, outcome: str, reference: Any
                    ) -> tuple[np.ndarray, pd.DataFrame, float, str, list[str]]:
    """Expected ``outcome`` of every row of ``cp.frame`` under the reference rates.

    Parameters
    ----------
    cp
        Prepared panel with ``sex`` and ``age_band``.
    outcome
        Value column (cost or count).
    reference
        ``"pooled"`` (every row of ``cp``: both groups, all analysed years),
        ``"control"`` (the control rows) or a DataFrame ``age_band, sex, rate``.

    Returns
    -------
    expected, rates, crude_reference_rate, description, notes
        ``expected = insured years × rate of the row's stratum``; the rate table; the
        crude rate of the reference population (for standardised rates; for an external
        table the mean of the internal expected per insured year); a description of the
        reference; notes (strata without reference exposure).
    """
    f = cp.frame
    notes: list[str] = []
    if isinstance(reference, pd.DataFrame):
        rates = _external_rates(reference)
        desc = "a user-supplied table of age band × sex rates"
    else:
        cc.check_choice("reference", reference, REFERENCE_OPTIONS)
        mask = None if reference == "pooled" else (f["group"].to_numpy() == "control")
        rates = reference_rates(f, outcome, mask)
        desc = ("all person-years analysed (both groups, all analysed years)"
                if reference == "pooled" else "the control person-years analysed")
    key = pd.MultiIndex.from_frame(rates[["age_band", "sex"]])
    row_key = pd.MultiIndex.from_arrays([f["age_band"].to_numpy(), f["sex"].to_numpy()])
    pos = key.get_indexer(row_key)
    iy = f["iy"].to_numpy()
    rate_arr = rates["rate"].to_numpy()
    if isinstance(reference, pd.DataFrame):
        if (pos < 0).any():
            missing = sorted({(a, s) for a, s, p in zip(f["age_band"], f["sex"], pos,
                                                         strict=True) if p < 0})
            raise SpecificationError(
                f"`reference` has no rate for {len(missing)} age band × sex strata of the "
                f"panel, e.g. {missing[:4]}. Give a rate for every stratum."
            )
        crude = float((iy * rate_arr[pos]).sum() / iy.sum())
    else:
        ref_mask = (np.ones(len(f), bool) if reference == "pooled"
                    else f["group"].to_numpy() == "control")
        crude = float(f.loc[ref_mask, outcome].sum() / f.loc[ref_mask, "iy"].sum())
        if (pos < 0).any():
            n_missing = int((pos < 0).sum())
            notes.append(
                f"{n_missing} person-year(s) are in age band × sex strata without reference "
                "exposure; their expected value uses the crude reference rate."
            )
    row_rate = np.where(pos >= 0, rate_arr[np.maximum(pos, 0)], crude)
    return iy * row_rate, rates, crude, desc, notes


def oe_inference(observed: np.ndarray, expected: np.ndarray, *, alpha: float
                 ) -> dict[str, float]:
    """O/E with a log-scale interval from the person-level ratio-estimator variance.

    ``observed`` and ``expected`` are per-person sums within one cell. The variance of
    ``R = ΣO/ΣE`` treats the reference rates as fixed:
    ``Var(R) = n/(n − 1) · Σ (o_i − R e_i)² / (Σ e_i)²``; the interval is
    ``R · exp(± z · se/R)`` and the p-value tests ``R = 1`` on the log scale.
    """
    o, e = np.asarray(observed, float), np.asarray(expected, float)
    n = o.size
    big_o, big_e = o.sum(), e.sum()
    if big_e <= 0 or n < 2:
        return {"oe_ratio": np.nan, "std_error": np.nan, "ci_lower": np.nan,
                "ci_upper": np.nan, "p_value": np.nan}
    r = big_o / big_e
    se = float(np.sqrt(n / (n - 1) * np.sum((o - r * e) ** 2)) / big_e)
    z = stats.norm.ppf(1 - alpha / 2)
    if r > 0 and se > 0:
        se_log = se / r
        lo, hi = r * np.exp(-z * se_log), r * np.exp(z * se_log)
        p = float(2 * stats.norm.sf(abs(np.log(r)) / se_log))
    else:
        lo, hi, p = np.nan, np.nan, np.nan
    return {"oe_ratio": float(r), "std_error": se, "ci_lower": float(lo),
            "ci_upper": float(hi), "p_value": p}


# --------------------------------------------------------------------------- front door
def risk_adjustment(
    panel: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    outcome: str = "poli_dbc_cost",
    population: cc.Population = "all",
    years: Sequence[int] | None = None,
    by: Literal["group", "practice"] = "group",
    reference: Reference = "pooled",
    alpha: float = 0.05,
) -> RiskAdjustmentResult:
    """Observed/expected ratios by indirect standardisation on age band × sex.

    Parameters
    ----------
    panel
        Person-year panel (``person_years`` contract): ``person_id, year, practice_id,
        insured_days, sex``, ``age_band`` or ``birth_year``, ``minima`` (for
        ``population="minima"``) and the ``outcome``. Not modified.
    practices
        Practices table (``practice_id``, ``group`` = ``kbz``/``control``). Not modified.
    outcome
        Value column to standardise: a cost (EUR) or a count, e.g. ``"poli_dbc_cost"``,
        ``"poli_dbc_count"``, ``"ggz_cost"``.
    population
        ``"all"`` person-years (default) or ``"minima"`` person-years only.
    years
        Years to analyse; default every year of the panel.
    by
        Units to compare: ``"group"`` (KBZ vs control) or ``"practice"``.
    reference
        Reference population for the stratum rates: ``"pooled"`` (every analysed
        person-year, both groups and all analysed years — the default), ``"control"``
        (the control person-years), or a DataFrame with columns ``age_band, sex, rate``
        (rate per insured year, e.g. national figures).
    alpha
        1 − confidence level (0.05: 95 % intervals).

    Returns
    -------
    RiskAdjustmentResult

    Raises
    ------
    SpecificationError
        Unknown option values, years not in the panel, or a reference table that misses
        strata of the panel.
    DataValidationError
        Missing columns or values that break the contract.

    Notes
    -----
    For unit ``u`` and year ``t``: ``O = Σ outcome``, ``E = Σ insured years × r_s`` over
    its person-years, with ``r_s`` the reference rate per insured year of the row's age
    band × sex stratum ``s`` (five-year bands from ``age_band``, else from ``year −
    birth_year``). ``O/E = 1`` means the unit costs what its age/sex mix predicts. The
    *standardised rate* is ``O/E × crude reference rate``.

    The interval treats the reference rates as known (usual for indirect
    standardisation; with an internal reference the stated precision is slightly too
    high) and uses the person-level variance of a ratio estimator (each person appears
    once per unit-year), on the log scale. Like every person-level interval here it
    does not contain practice-level variation.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> s = kbz.load_sample()                                  # doctest: +SKIP
    >>> kbz.risk_adjustment(s["person_years"], s["practices"],
    ...                     outcome="poli_dbc_cost").tidy()     # doctest: +SKIP
    """
    cc.check_choice("by", by, BY_OPTIONS)
    if not isinstance(outcome, str):
        raise SpecificationError(
            f"The value for `outcome` must be a column name, but {outcome!r} was passed.")
    alpha = cc.check_alpha(alpha)
    if not isinstance(reference, pd.DataFrame):
        cc.check_choice("reference", reference, REFERENCE_OPTIONS)
    cp = cc.prepare_claims(panel, practices, population=population, values=[outcome],
                           years=years, need_age_sex=True)
    expected, rates, crude, desc, notes = expected_values(cp, outcome, reference)
    f = cp.frame.assign(expected=expected)
    unit_col = "group" if by == "group" else "practice_id"
    rows, trows = [], []
    units = (list(cc.GROUPS) if by == "group"
             else list(cp.practices["practice_id"]))
    group_of = dict(zip(cp.practices["practice_id"], cp.practices["group"], strict=True))
    for unit in units:
        for year in cp.years:
            sel = (f[unit_col].to_numpy() == unit) & (f["year"].to_numpy() == year)
            if not sel.any():
                continue
            sub = f[sel]
            inf = oe_inference(sub[outcome].to_numpy(), sub["expected"].to_numpy(),
                               alpha=alpha)
            iy = float(sub["iy"].sum())
            obs = float(sub[outcome].sum())
            rows.append({
                "unit": unit, "group": unit if by == "group" else group_of[unit],
                "year": int(year), "n_persons": int(sub["person"].nunique()),
                "insured_years": iy, "observed": obs, "expected": float(sub["expected"].sum()),
                "oe_ratio": inf["oe_ratio"], "ci_lower": inf["ci_lower"],
                "ci_upper": inf["ci_upper"], "p_value": inf["p_value"],
                "crude_rate": obs / iy, "standardised_rate": inf["oe_ratio"] * crude,
            })
            trows.append({"term": f"oe_{unit}_{int(year)}", "estimate": inf["oe_ratio"],
                          "std_error": inf["std_error"], "ci_lower": inf["ci_lower"],
                          "ci_upper": inf["ci_upper"], "p_value": inf["p_value"],
                          "n": int(sub["person"].nunique()), "unit": unit,
                          "year": int(year)})
    table = pd.DataFrame(rows)
    messages = [*notes, cc.sparse_cells_message(table, ["unit", "year"]),
                cc.few_practices_message(cp) if by == "group" else None]
    emitted = cc.emit(messages)
    method = (
        f"Indirect standardisation of {outcome} on five-year age band × sex. Expected = "
        f"insured years × the reference rate per insured year of the person's stratum; "
        f"reference: {desc}. O/E per {by} and year, {cc.describe_population(population)}. "
        "95% intervals (log scale) from the person-level variance of a ratio estimator, "
        "treating the reference rates as fixed; they do not contain practice-level "
        "variation."
    ).replace("95%", f"{100 * (1 - alpha):g}%")
    ref_table = rates.rename(columns={"total": outcome})
    if "n_persons" not in ref_table:
        ref_table.insert(2, "n_persons", pd.array([pd.NA] * len(ref_table), dtype="Int64"))
    return RiskAdjustmentResult(
        estimates=tidy_frame(trows),
        tables={"observed_expected": table, "reference_rates": ref_table},
        method=method,
        settings={"outcome": outcome, "population": population, "years": list(cp.years),
                  "by": by, "reference": reference if isinstance(reference, str)
                  else "table", "alpha": alpha,
                  "crude_reference_rate": crude},
        warnings=emitted,
    )


__all__ = ["RiskAdjustmentResult", "expected_values", "oe_inference", "reference_rates",
           "risk_adjustment"]
