"""What KBZ saved on outpatient DBCs, against the control trend: ``kbz.savings``.

The seeds' efficiency figure: "had the outpatient care use of the KBZ minima grown like
the control group's, 2015 would have cost EUR 356 more per person; over the 1,641
minima, after the extra financing, a saving of over half a million" (and EUR 26 per
person over all insured). This module computes that counterfactual with intervals at the
practice level (KBZ is assigned to practices), a person-level interval labelled as such,
totals over insured years and an age/sex-adjusted variant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.estimators.risk_adjustment import REFERENCE_OPTIONS, Reference, expected_values
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats.options import Inference, PracticeMethod, check_option
from kbz_eval.stats.practice import (
    DEFAULT_N_WILD,
    PERSONS_ONLY,
    PracticeInference,
    PracticeSums,
    impossible_message,
)
from kbz_eval.stats.pvalues import format_p

#: Extra financing (EUR) the KBZ practices received for the minima in the saving year.
#: **An assumption**: the seeds do not state the amount; EUR 60,000 makes the published
#: EUR 356 × 1,641 − financing "over half a million" (about EUR 524,000). Pass the real
#: amount as ``extra_financing_eur``.
DEFAULT_EXTRA_FINANCING_EUR = 60_000.0

#: The values summed per cell, in the order of the column blocks of the sums.
VALUES = ("cost", "insured_years", "person_years", "expected")
KBZ, CONTROL = 0, 1  # group axis of the cell sums (cc.GROUPS order)

#: Label of the published-style total (× persons instead of × insured years).
PUBLISHED_STYLE = ("published-style approximation: saving per insured year × persons, "
                   "not × insured years")


class SavingsResult(Result):
    """Result of :func:`savings`.

    ``tidy()`` rows (EUR; *per person* = per insured year):
    ``saving_per_person``, ``saving_per_person_persons_only`` (the same estimate with the
    person-level bootstrap interval, only with ``inference="practice"``),
    ``actual_cost_per_person``, ``counterfactual_cost_per_person``, ``n_persons``,
    ``insured_years`` (KBZ insured years in ``year``), ``total_saving`` (saving ×
    insured years), ``net_saving`` (total − extra financing), ``break_even_financing``
    (the financing at which the net saving is zero = the total saving),
    ``total_saving_persons`` (saving × persons: the published-style approximation) and,
    with ``adjust="age_sex"``, ``saving_per_person_age_sex``, ``total_saving_age_sex``
    and ``net_saving_age_sex``. Extra columns: ``unit``, ``inference`` (``"practice"``
    or ``"person"``), ``df`` (Satterthwaite degrees of freedom of the practice-level
    variance, the t reference of ``practice_method="cr2"``; NaN at the person level),
    ``p_randomisation`` (randomisation p of the saving over practice relabellings, on
    the saving and total rows) and ``note`` (the person-level label, the financing
    assumption, the published-style approximation).

    ``tables``: ``by_group_year`` (cost per insured year per group and year with
    intervals) and ``counterfactual`` (per year: KBZ actual, KBZ had it followed the
    control trend, the difference; what :meth:`plot` draws). Their intervals are at the
    level of ``settings["inference"]``.
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
        """The saving per insured year with its (practice-level) interval and p, the
        total over insured years and the net saving with the financing flagged."""
        e = self.estimates.set_index("term")
        s = self.settings
        sv, tot, net = e.loc["saving_per_person"], e.loc["total_saving"], e.loc["net_saving"]
        iy = e.loc["insured_years", "estimate"]
        flag = " (assumption)" if s["extra_financing_is_assumption"] else ""
        return (
            f"{s['year']} saving vs control practices' trend ({s['population']}): EUR "
            f"{sv['estimate']:,.0f} per insured year ({_interval_words(sv, s)}); × "
            f"{iy:,.0f} KBZ insured years ({int(e.loc['n_persons', 'estimate']):,} "
            f"persons) = EUR {tot['estimate']:,.0f}; net of EUR "
            f"{s['extra_financing_eur']:,.0f} extra financing{flag}: EUR "
            f"{net['estimate']:,.0f} ({_interval_words(net, s, brief=True)})"
        )

    def summary(self) -> pd.DataFrame:
        out = self.tidy()
        num = ["estimate", "std_error", "ci_lower", "ci_upper", "df"]
        out[num] = out[num].round(2)
        out[["p_value", "p_randomisation"]] = out[["p_value", "p_randomisation"]].round(4)
        return out


def _interval_words(row: pd.Series, settings: dict[str, Any], *, brief: bool = False
                    ) -> str:
    """``95% CI a to b, <level and method>; p = ...`` (``brief``: the interval only) or
    why there is no interval."""
    level = f"{100 * (1 - settings['alpha']):g}%"
    n_k, n_c = settings["n_practices_kbz"], settings["n_practices_control"]
    if row["inference"] == "person":
        how = PERSONS_ONLY
    elif settings["practice_method"] == "wild":
        how = f"practice-level wild cluster bootstrap, {n_k} KBZ vs {n_c} control practices"
    else:
        how = (f"practice-level CR2 t on {row['df']:.1f} df, {n_k} KBZ vs {n_c} control "
               "practices")
    if not np.isfinite(row["ci_lower"]):
        if brief:
            return "no interval"
        if row["inference"] == "practice" and impossible_message(n_k, n_c):
            return (f"no practice-level interval: {n_k} KBZ and {n_c} control "
                    "practice(s), variation between practices cannot be estimated")
        return f"no {level} CI ({how})"
    text = f"{level} CI {row['ci_lower']:,.0f} to {row['ci_upper']:,.0f}"
    return text if brief else f"{text}, {how}; {format_p(row['p_value'])}"


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


def _statistics(sums: np.ndarray, *, n_years: int, base: int, target: int,
                financing: float, adjusted: bool) -> dict[str, np.ndarray]:
    """Every statistic from column sums (rows = replicates; 1 row for the estimate).

    The columns are ``value × group × year`` (values :data:`VALUES`, groups KBZ then
    control), the layout of :meth:`PracticeSums.layout` and of the person matrix.
    """
    cells = sums.reshape(sums.shape[0], -1, 2, n_years)  # rows × value × group × year
    cost, iy, person_years = cells[:, 0], cells[:, 1], cells[:, 2]
    rate = cc.safe_ratio(cost, iy)  # rows × group × year
    kbz, ctl = rate[:, KBZ], rate[:, CONTROL]
    counterfactual = kbz[:, [base]] * cc.safe_ratio(ctl, ctl[:, [base]])
    saving = counterfactual[:, target] - kbz[:, target]
    n_persons = person_years[:, KBZ, target]  # one person-year per person and year
    insured_years = iy[:, KBZ, target]
    total = saving * insured_years
    out = {
        "rate": rate, "counterfactual": counterfactual,
        "saving_by_year": counterfactual - kbz,
        "saving_per_person": saving, "actual_cost_per_person": kbz[:, target],
        "counterfactual_cost_per_person": counterfactual[:, target],
        "n_persons": n_persons, "insured_years": insured_years,
        "total_saving": total, "net_saving": total - financing,
        "break_even_financing": total, "total_saving_persons": saving * n_persons,
    }
    if adjusted:
        expected = cells[:, 3]
        oe = cc.safe_ratio(cost, expected)
        oe_kbz, oe_ctl = oe[:, KBZ], oe[:, CONTROL]
        cf_oe = oe_kbz[:, [base]] * cc.safe_ratio(oe_ctl, oe_ctl[:, [base]])
        # back to euros with the KBZ expected cost per insured year in the target year
        scale = cc.safe_ratio(expected[:, KBZ, target], insured_years)
        saving_adj = (cf_oe[:, target] - oe_kbz[:, target]) * scale
        out["saving_per_person_age_sex"] = saving_adj
        out["total_saving_age_sex"] = saving_adj * insured_years
        out["net_saving_age_sex"] = saving_adj * insured_years - financing
    return out


@dataclass
class _Level:
    """Inference at one level: ``practice`` (:class:`PracticeInference`) or ``person``
    (:class:`~kbz_eval.stats.bootstrap.SumsBootstrap`), with one ``infer`` for both.

    ``estimate`` is the statistic of the observed totals from the person matrix, the
    one estimate both levels report (the practices' sums add up to the same totals, up
    to rounding in the last digits).
    """

    name: str
    engine: Any
    alpha: float
    estimate: dict[str, np.ndarray]

    def infer(self, term: str, index: tuple[int, ...] = (), *, null: float = 0.0
              ) -> dict[str, Any]:
        if self.name == "practice":
            out = self.engine.infer(term, index, null=null)
        else:
            out = {**self.engine.infer(term, index, alpha=self.alpha, null=null),
                   "df": np.nan, "p_randomisation": np.nan}
        value = float(self.estimate[term][(0, *index)])
        return {**out, "estimate": value, "inference": self.name}


@dataclass
class _Cells:
    """The sums of one analysis: per person and per practice, same column layout."""

    person_matrix: Any  # CSR, persons × value × group × year
    practice_sums: PracticeSums
    observed: np.ndarray  # (value, group, year) totals
    ref_desc: str | None
    notes: list[str]


@dataclass
class _RowValues:
    """What the person matrix needs of the prepared rows: the person and group × year
    cell of every row and the values summed (cost, insured years, one, expected)."""

    person: np.ndarray
    group_year: np.ndarray
    values: list[np.ndarray]


def _practice_and_row_values(cp: cc.ClaimsPanel, outcome: str, yrs: tuple[int, ...], *,
                             adjusted: bool, reference: Any
                             ) -> tuple[PracticeSums, _RowValues, str | None, list[str]]:
    """The practices' sums per year and the row values of the person matrix, taken
    from ``cp.frame`` so that the frame can be let go before the matrix is built.

    The person-year value one is a read-only broadcast (no memory per row), the cell
    codes are held in the smallest integer type and the person codes in 32 bits when
    they fit; the sums are those of the plain arrays.
    """
    f = cp.frame
    values = [f[outcome].to_numpy(), f["iy"].to_numpy(),
              np.broadcast_to(np.float64(1.0), len(f))]
    notes, ref_desc = list(cp.notes), None
    if adjusted:
        expected, _, _, ref_desc, ref_notes = expected_values(cp, outcome, reference)
        values.append(expected)
        notes += ref_notes
    # practice cells: the year only; a practice's group is fixed (practices table)
    practice_ids = cp.practices["practice_id"].tolist()
    psums = PracticeSums.from_rows(
        cc.row_codes(f["practice_id"], {p: i for i, p in enumerate(practice_ids)}),
        cc.row_codes(f["year"], {y: i for i, y in enumerate(yrs)}), values,
        is_kbz=cp.practices["group"].to_numpy() == "kbz", n_cells=len(yrs),
        practice_ids=practice_ids)
    # person matrix cells: group × year (-1: none)
    group_year = cc.cell_codes(cp, yrs).astype(np.min_scalar_type(-2 * len(yrs)))
    person = cp.person_array()
    if cp.n_persons < np.iinfo(np.int32).max:
        person = person.astype(np.int32)
    return psums, _RowValues(person, group_year, values), ref_desc, notes


#: Person-years per slice of the person matrix: each slice is summed on its own and its
#: entries written into the matrix, so the working arrays are those of one slice.
MATRIX_SLICE_ROWS = 1 << 20


def _person_matrix(person: np.ndarray, cell: np.ndarray, n_persons: int, n_cells: int,
                   values: Sequence[np.ndarray], *, slice_rows: int = MATRIX_SLICE_ROWS
                   ) -> Any:
    """:func:`claims_common.person_cell_sparse` of rows sorted by person, summed over
    slices of whole persons and written into one CSR matrix (the same matrix).

    The matrix's arrays are allocated for the most entries there can be (a row adds at
    most one per value) and filled slice by slice; only the part written takes memory
    (pages are mapped when first written), and a slice's arrays go before the next
    slice is summed: the memory is the matrix and one slice's working arrays instead of
    the working arrays of every row at once.
    """
    from scipy import sparse

    n_slices = -(-person.size // slice_rows)
    if n_slices <= 1 or not cc.non_decreasing(person):
        return cc.person_cell_sparse(person, cell, n_persons, n_cells, values)
    n_columns = n_cells * len(values)
    most = person.size * len(values)
    index_type = np.int32 if max(most, n_columns) < np.iinfo(np.int32).max else np.int64
    data = np.empty(most, dtype=float)
    indices = np.empty(most, dtype=index_type)
    indptr = np.zeros(n_persons + 1, dtype=index_type)
    first = np.linspace(0, n_persons, n_slices + 1).astype(np.int64)  # person per slice
    rows = np.searchsorted(person, first)  # its first row
    at = 0
    for p0, p1, r0, r1 in zip(first[:-1], first[1:], rows[:-1], rows[1:], strict=True):
        part = cc.person_cell_sparse(person[r0:r1] - p0, cell[r0:r1], int(p1 - p0),
                                     n_cells, [v[r0:r1] for v in values])
        data[at:at + part.nnz] = part.data
        indices[at:at + part.nnz] = part.indices
        indptr[p0 + 1:p1 + 1] = part.indptr[1:] + at
        at += part.nnz
        del part
    return sparse.csr_matrix((data[:at], indices[:at], indptr), shape=(n_persons, n_columns))


def _prepared_cells(panel: pd.DataFrame, practices: pd.DataFrame, *, population: str,
                    outcome: str, years: Sequence[int] | None, year: Any, base_year: Any,
                    adjusted: bool, reference: Any
                    ) -> tuple[_Cells, cc.ClaimsPanel, tuple[int, ...]]:
    """Prepare the panel (:func:`claims_common.prepare_claims`), check the years and sum
    cost, insured years, person-years (and expected cost) per person and per practice in
    every group × year cell; checks that no cell is empty.

    Returns the sums, the prepared panel without its rows (their copy is let go before
    the person matrix is built) and the analysed years.
    """
    cp = cc.prepare_claims(panel, practices, population=population, values=[outcome],
                           years=years, need_age_sex=adjusted,
                           required_years=[("year", year), ("base_year", base_year)])
    yrs = _check_years(cp, int(year), int(base_year))
    psums, rows, ref_desc, notes = _practice_and_row_values(
        cp, outcome, yrs, adjusted=adjusted, reference=reference)
    cp = replace(cp, frame=cp.frame.iloc[:0].copy())
    n_years = len(yrs)
    matrix = _person_matrix(rows.person, rows.group_year, cp.n_persons, 2 * n_years,
                            rows.values)  # a person fills few cells
    del rows
    observed = np.asarray(matrix.sum(axis=0)).reshape(psums.sums.shape[1], 2, n_years)
    empty = [(g, int(y)) for gi, g in enumerate(cc.GROUPS) for yi, y in enumerate(yrs)
             if observed[VALUES.index("insured_years"), gi, yi] == 0]
    if empty:
        raise SpecificationError(
            f"No insured years in {empty} for {cc.describe_population(population)}; "
            "the cost per insured year and the saving are not defined there."
        )
    return _Cells(matrix, psums, observed, ref_desc, notes), cp, yrs


#: term → (unit, has a test of zero, the saving whose randomisation p it carries). A total
#: is its saving × the actual KBZ exposure, a fixed amount: the hypothesis of no effect is
#: the saving's, so the total carries the saving's randomisation p (relabelling would
#: also move the exposure). The net saving and the costs have none.
_TERMS: dict[str, tuple[str, bool, str | None]] = {
    "saving_per_person": ("EUR per insured year", True, "saving_per_person"),
    "actual_cost_per_person": ("EUR per insured year", False, None),
    "counterfactual_cost_per_person": ("EUR per insured year", False, None),
    "n_persons": ("persons", False, None),
    "insured_years": ("insured years", False, None),
    "total_saving": ("EUR", True, "saving_per_person"),
    "net_saving": ("EUR", True, None),
    "break_even_financing": ("EUR", True, "saving_per_person"),
    "total_saving_persons": ("EUR", True, "saving_per_person"),
    "saving_per_person_age_sex": ("EUR per insured year", True,
                                  "saving_per_person_age_sex"),
    "total_saving_age_sex": ("EUR", True, "saving_per_person_age_sex"),
    "net_saving_age_sex": ("EUR", True, None),
}
_COUNTS = ("n_persons", "insured_years")


def _rows(level: _Level, person: _Level, *, financing_note: str) -> list[dict[str, Any]]:
    """The tidy rows: every term at ``level``; the saving also at the person level
    (``saving_per_person_persons_only``) when ``level`` is the practice level."""
    est = person.estimate
    n_persons = int(est["n_persons"][0])
    notes = {"net_saving": financing_note, "net_saving_age_sex": financing_note,
             "total_saving_persons": PUBLISHED_STYLE}
    rows = []
    for term, (unit, tested, randomised_as) in _TERMS.items():
        if term not in est:
            continue
        base = {"term": term, "n": n_persons, "unit": unit, "inference": level.name}
        if term in _COUNTS:
            rows.append({**base, "estimate": float(est[term][0])})
            continue
        inf = level.infer(term)
        if not tested:
            inf["p_value"] = np.nan
        inf["p_randomisation"] = (level.infer(randomised_as)["p_randomisation"]
                                  if randomised_as else np.nan)
        note = [notes[term]] if term in notes else []
        if level.name == "person":
            note.append(PERSONS_ONLY)
        rows.append({**base, **inf, "note": "; ".join(note) or None})
        if term == "saving_per_person" and level.name == "practice":
            rows.append({**base, **person.infer(term), "term": f"{term}_persons_only",
                         "note": PERSONS_ONLY})
    return rows


def _tables(level: _Level, cells: _Cells, est: dict[str, np.ndarray],
            yrs: tuple[int, ...], base: int) -> dict[str, pd.DataFrame]:
    """``by_group_year`` and ``counterfactual``, intervals at ``level``."""
    cost, iy, persons = (cells.observed[VALUES.index(v)]
                         for v in ("cost", "insured_years", "person_years"))
    psums = cells.practice_sums
    practice_iy = psums.sums[:, VALUES.index("insured_years")]
    in_group = {KBZ: psums.is_kbz, CONTROL: ~psums.is_kbz}
    by_gy = []
    for g, group in enumerate(cc.GROUPS):
        for j, y in enumerate(yrs):
            inf = level.infer("rate", (g, j))
            by_gy.append({
                "group": group, "year": y, "n_persons": int(persons[g, j]),
                "n_practices": int(np.count_nonzero(practice_iy[in_group[g], j] > 0)),
                "insured_years": float(iy[g, j]), "cost": float(cost[g, j]),
                "cost_per_insured_year": float(est["rate"][0, g, j]),
                "ci_lower": inf["ci_lower"], "ci_upper": inf["ci_upper"]})
    cf_rows = []
    for j, y in enumerate(yrs):
        row = {"year": y, "n_persons": int(min(persons[KBZ, j], persons[KBZ, base],
                                               persons[CONTROL, j],
                                               persons[CONTROL, base]))}
        for col, term, index in (("actual", "rate", (KBZ, j)),
                                 ("counterfactual", "counterfactual", (j,)),
                                 ("saving", "saving_by_year", (j,))):
            inf = level.infer(term, index)
            row |= {col: inf["estimate"], f"{col}_ci_lower": inf["ci_lower"],
                    f"{col}_ci_upper": inf["ci_upper"]}
        cf_rows.append(row)
    return {"by_group_year": pd.DataFrame(by_gy), "counterfactual": pd.DataFrame(cf_rows)}


def _messages(cells: _Cells, level: _Level, by_group_year: pd.DataFrame) -> list[str | None]:
    """Notes of the preparation, sparse cells, and what the practice count means for
    the intervals at ``level``."""
    psums = cells.practice_sums
    n_k, n_c = int(psums.is_kbz.sum()), int((~psums.is_kbz).sum())
    few = None
    if level.name == "practice":
        few = impossible_message(n_k, n_c)
        if few is None and min(n_k, n_c) < cc.FEW_PRACTICES:
            how = ("wild cluster bootstrap-t with Webb weights"
                   if level.engine.method == "wild" else
                   "CR2 variance with a Satterthwaite t reference")
            few = (f"Only {n_k} KBZ and {n_c} control practices: the intervals and "
                   f"p-values are practice-level ({how}, a method that holds with few "
                   "practices) and wide; the row `saving_per_person_persons_only` shows "
                   f"the person-level interval ({PERSONS_ONLY}).")
    elif min(n_k, n_c) < cc.FEW_PRACTICES:
        few = (f"Only {n_k} KBZ and {n_c} control practices and inference='person': the "
               f"intervals are {PERSONS_ONLY}; inference='practice' gives intervals at "
               "the unit KBZ is assigned to.")
    return [*cells.notes, cc.sparse_cells_message(by_group_year, ["group", "year"]), few]


def _method(level: _Level, *, outcome: str, population: str, year: int, base_year: int,
            financing: float, assumed: bool, boot: cc.SumsBootstrap, interval: str,
            seed: int | None, ref_desc: str | None) -> str:
    """Estimand, totals, the financing assumption and the inference, in words."""
    assumption = (f"assumes extra financing of EUR {financing:,.0f} (assumption) — the "
                  "seeds do not state the amount" if assumed else
                  f"extra financing of EUR {financing:,.0f} (given)")
    person_words = f"{boot.describe(_INTERVAL_WORDS[interval])} — {PERSONS_ONLY}"
    text = (
        f"Cost per insured year of {outcome} ({cc.describe_population(population)}); "
        f"group of a person-year = its practice's group (KBZ or control practices). "
        f"Counterfactual KBZ {year} = KBZ {base_year} × control {year} / control "
        f"{base_year}; saving per person (per insured year) = counterfactual − actual "
        f"KBZ {year}; assumes KBZ costs would have grown at the control practices' rate. "
        f"Total = saving × the KBZ insured years in {year}; net = total − extra "
        f"financing; the net saving {assumption}; break-even financing = total. "
        f"total_saving_persons = saving × persons ({PUBLISHED_STYLE}). "
    )
    if level.name == "practice":
        text += (f"{level.engine.describe()[:-1]}; seed {seed}. The row "
                 f"saving_per_person_persons_only gives {person_words}.")
    else:
        text += f"{100 * (1 - level.alpha):g}% {person_words}."
    if ref_desc is not None:
        text += (
            " Age/sex-adjusted variant: group-year costs divided by expected costs "
            f"(indirect standardisation on age band × sex, reference: {ref_desc}), the "
            "counterfactual built on these O/E ratios and converted to euros with the KBZ "
            f"expected cost per insured year in {year}; reference rates held fixed.")
    return text


def _check_years(cp: cc.ClaimsPanel, year: int, base_year: int) -> tuple[int, ...]:
    """The analysed years; they must hold ``year`` and ``base_year``, which differ."""
    if year == base_year:
        raise SpecificationError(
            f"`year` and `base_year` must differ, but both are {year}.")
    yrs = tuple(sorted(set(cp.years) | {year, base_year}))
    if yrs != cp.years:
        raise SpecificationError(
            f"`years` {list(cp.years)} must include `year` ({year}) and `base_year` "
            f"({base_year}).")
    return yrs


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
    inference: Inference = "practice",
    practice_method: PracticeMethod = "wild",
    n_boot: int = cc.DEFAULT_N_BOOT,
    interval: cc.Interval = "bca",
    seed: int | None = 0,
    alpha: float = 0.05,
) -> SavingsResult:
    """The saving of KBZ practices had their costs grown like the control practices'.

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
        **assumption**, flagged as such in the result (``settings``, the ``note`` of the
        net rows, ``method`` and the headline), since the seeds do not state it.
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
    inference
        ``"practice"`` (default): intervals and p-values with the practices as the
        independent units (KBZ is assigned to practices); ``"person"``: the person-level
        bootstrap for every row — persons only, ignores variation between practices.
    practice_method
        ``"wild"`` (default): wild cluster bootstrap-t (Webb weights); ``"cr2"``:
        delete-one-practice jackknife (CR2) variance with a t reference on
        Satterthwaite degrees of freedom.
    n_boot
        Person-level bootstrap replicates (default 999; at least 99).
    interval
        Person-level intervals: ``"bca"`` (default; bias-corrected and accelerated) or
        ``"percentile"``.
    seed
        Seed of the person bootstrap, the wild bootstrap weights and a random subset of
        practice relabellings when there are too many to enumerate.
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
    the group of a person-year is its practice's group), the counterfactual KBZ cost is
    ``r[kbz, base] × r[control, year] / r[control, base]`` (KBZ grown at the control
    practices' rate) and the *saving per person* is counterfactual − ``r[kbz, year]``:
    a difference in differences on the log scale turned into euros, assuming that
    without KBZ the KBZ costs would have grown at the control rate (parallel trends in
    ratios). *Per person* means per insured year, as in the published figure. The
    *total* multiplies by the KBZ insured years in ``year`` (part-year persons count
    pro rata); ``total_saving_persons`` multiplies by the persons instead — the
    published "× 1,641 minima" product, kept as a labelled approximation. The *net*
    saving is total − extra financing (a fixed amount), the *break-even financing* the
    total.

    **Intervals** (``inference="practice"``). Every estimate is a smooth function of
    the groups' cost, insured-year and person-year sums, so the practices' sums carry
    all the information: the standard error is the delete-one-practice jackknife
    stratified by group, and intervals and p-values come from the wild cluster
    bootstrap-t (``practice_method="wild"``) or a t reference on Satterthwaite degrees
    of freedom (``"cr2"``) — see :class:`kbz_eval.stats.practice.PracticeInference`.
    ``p_randomisation`` permutes the group labels over the practices (exact when there
    are at most 5,000 relabellings); the totals carry their saving's, since they only
    multiply it by the (fixed) KBZ exposure. With one practice in a group there is no
    practice-level interval (NaN and a warning). The row
    ``saving_per_person_persons_only`` (and every row with ``inference="person"``) uses
    the person-level bootstrap: persons resampled within their group, all their years
    kept, ``n_boot`` times, BCa or percentile intervals; it ignores variation between
    practices and is labelled so.

    **Adjustment** (``adjust="age_sex"``). Each group-year cost is divided by its
    expected cost (indirect standardisation on age band × sex, reference rates pooled
    over the analysed years unless ``reference`` says otherwise), the counterfactual is
    built on these O/E ratios, and the saving is converted back to euros with the KBZ
    expected cost per insured year in ``year``; reference rates are held fixed in the
    resampling and relabelling.

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
    check_option("inference", inference)
    check_option("practice_method", practice_method)
    n_boot = cc.check_n_boot(n_boot)
    interval = cc.check_choice("interval", interval, cc.INTERVAL_OPTIONS)
    seed, alpha = cc.check_seed(seed), cc.check_alpha(alpha)
    assumed = extra_financing_eur is None
    financing = _check_money("extra_financing_eur",
                             DEFAULT_EXTRA_FINANCING_EUR if assumed else extra_financing_eur)
    adjusted = adjust == "age_sex"
    cells, cp, yrs = _prepared_cells(
        panel, practices, population=population, outcome=outcome, years=years, year=year,
        base_year=base_year, adjusted=adjusted, reference=reference)
    year, base_year = int(year), int(base_year)

    def statistic(sums: np.ndarray) -> dict[str, np.ndarray]:
        return _statistics(sums, n_years=len(yrs), base=yrs.index(base_year),
                           target=yrs.index(year), financing=financing, adjusted=adjusted)

    boot = cc.SumsBootstrap(statistic, cells.person_matrix, cp.strata, n_boot=n_boot,
                            seed=seed, interval=interval)
    person = level = _Level("person", boot, alpha, boot.estimate)
    if inference == "practice":
        level = _Level("practice", PracticeInference(
            statistic, cells.practice_sums, method=practice_method, seed=seed,
            alpha=alpha), alpha, boot.estimate)
    financing_note = (f"assumes extra financing of EUR {financing:,.0f} (assumption)"
                      if assumed else f"extra financing of EUR {financing:,.0f} (given)")
    rows = _rows(level, person, financing_note=financing_note)
    tables = _tables(level, cells, boot.estimate, yrs, yrs.index(base_year))
    emitted = cc.emit(_messages(cells, level, tables["by_group_year"]))
    is_kbz = cells.practice_sums.is_kbz
    practice = level.engine if inference == "practice" else None
    return SavingsResult(
        estimates=tidy_frame(rows), tables=tables,
        method=_method(level, outcome=outcome, population=population, year=year,
                       base_year=base_year, financing=financing, assumed=assumed,
                       boot=boot, interval=interval, seed=seed,
                       ref_desc=cells.ref_desc),
        settings={"year": year, "base_year": base_year, "population": population,
                  "outcome": outcome, "years": list(yrs),
                  "extra_financing_eur": financing,
                  "extra_financing_is_assumption": assumed, "adjust": adjust,
                  "reference": reference if isinstance(reference, str) else "table",
                  "inference": inference, "practice_method": practice_method,
                  "practice_n_boot": DEFAULT_N_WILD if practice else 0,
                  "n_practices_kbz": int(is_kbz.sum()),
                  "n_practices_control": int((~is_kbz).sum()),
                  "n_boot": n_boot, "interval": interval, "seed": seed, "alpha": alpha,
                  "person_interval_method": boot.method,
                  "practice_randomisation_exact": bool(practice and practice.exact),
                  "practice_randomisation_assignments":
                      practice.n_assignments if practice else 0,
                  "n_person_years_outside_practices": cp.n_rows_outside},
        warnings=emitted,
    )


__all__ = ["DEFAULT_EXTRA_FINANCING_EUR", "SavingsResult", "savings"]
