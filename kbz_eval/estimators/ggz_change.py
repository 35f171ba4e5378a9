"""Specialist mental-health (GGZ) cost per insured, before and after: ``kbz.ggz_change``.

The seeds' GGZ analysis (2013 → 2016): cost per insured −7.3 % at KBZ practices and
−1.8 % at the controls (difference not significant), −23 % at the practice that
implemented KBZ for GGZ most fully, fewer GGZ patients but a higher cost per patient in
both groups, and *new* GGZ patients EUR 700 cheaper at KBZ practices.

Here the effect — the difference in change, KBZ − control practices — and every other
group comparison get practice-level intervals (KBZ is assigned to practices); the best
practice is a descriptive order statistic without a test; and the new-patient comparison
is set against the same comparison in a year before KBZ (a placebo year), so a
difference that existed before KBZ is not read as its effect.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from kbz_eval.errors import SpecificationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.estimators.risk_adjustment import REFERENCE_OPTIONS, Reference, expected_values
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats.multiplicity import mark_family
from kbz_eval.stats.options import Inference, PracticeMethod, check_option
from kbz_eval.stats.practice import (
    PERSONS_ONLY,
    PracticeInference,
    PracticeSums,
    impossible_message,
)
from kbz_eval.stats.pvalues import format_p
from kbz_eval.stats.sandwich import bell_mccaffrey_df, cr2_vcov

#: Broad age groups for the new-patient GLM (five-year bands would leave empty cells):
#: upper bounds (exclusive) of the groups, in years.
NEW_PATIENT_AGE_BREAKS = (35, 50, 65)

#: The values summed per group × year cell, in the order of the column blocks of the
#: sums (person matrix and practice sums alike); ``expected`` only with age/sex adjustment.
VALUES = ("cost", "insured_years", "person_years", "patients", "new_patients",
          "new_patient_cost", "placebo_new_patients", "placebo_new_patient_cost",
          "expected")
_V = {name: i for i, name in enumerate(VALUES)}
#: The values summed per practice × year for the per-practice changes.
PRACTICE_VALUES = ("cost", "insured_years", "person_years", "patients")
KBZ, CONTROL = 0, 1  # group axis (cc.GROUPS order)
BASE, FOLLOW = 0, 1  # year axis: base year, follow year (then the placebo year if apart)

#: The declared primary outcome; ``ratio_of_changes`` restates it as a ratio.
PRIMARY = ("difference_in_change", "ratio_of_changes")

#: What the best-practice row is.
BEST_PRACTICE_NOTE = ("descriptive; the best of {n} KBZ practices is selected, so it "
                      "overstates that practice's change; no p-value")


class GgzChangeResult(Result):
    """Result of :func:`ggz_change`.

    ``tidy()`` rows: ``change_kbz``, ``change_control`` (relative change of cost per
    insured year, follow vs base year; within-group changes, not effects),
    ``difference_in_change`` (KBZ − control, in fractions: −0.055 = 5.5 percentage
    points; **the primary outcome**), ``difference_in_change_persons_only`` (the same
    with the person-level interval, only with ``inference="practice"``),
    ``ratio_of_changes``, ``prevalence_change_<group>``,
    ``cost_per_patient_change_<group>``, ``best_practice_change`` (descriptive, no
    interval or p-value; extra column ``practice_id``), ``new_patient_cost_kbz`` /
    ``_control`` (means, no test), ``new_patient_difference`` (EUR, KBZ − control, the
    unadjusted published comparison), ``new_patient_ratio`` (KBZ / control, follow
    year), ``new_patient_ratio_placebo`` (the same ratio in the placebo year, before
    KBZ), ``new_patient_ratio_baseline_adjusted`` (their ratio: the difference in
    differences of the log cost ratio; **the primary new-patient row**),
    ``new_patient_difference_baseline_adjusted`` (EUR: KBZ mean divided by the placebo
    ratio − control mean), the Gamma-GLM rows ``new_patient_ratio_age_sex``,
    ``new_patient_difference_age_sex`` and ``new_patient_ratio_baseline_adjusted_age_sex``
    and, with ``adjust="age_sex"``, ``change_<group>_age_sex`` and
    ``difference_in_change_age_sex``.

    Extra columns: ``unit``, ``practice_id``, ``inference`` (``"practice"``,
    ``"person"`` or ``"descriptive"``), ``df`` (t reference of ``cr2`` and of the GLM
    rows; NaN otherwise), ``p_randomisation`` (practice relabellings; on the
    comparisons of KBZ with control practices), ``note``, ``role`` and ``p_adjusted``
    (Holm over the secondary rows; the primary rows keep their p-value).

    ``tables``: ``by_group_year``, ``decomposition`` (intervals at the level of
    ``settings["inference"]``), ``by_practice`` (each practice's change with the
    interval from its own persons — a description of that practice; what :meth:`plot`
    draws with the group rows) and ``new_patients`` (mean cost per group in the
    analysis and the placebo year).
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
        """The difference in change against the control practices with its
        (practice-level) interval and p; the best practice as a description; new
        patients unadjusted and adjusted for the placebo year."""
        e = self.estimates.set_index("term")
        s = self.settings
        d, best = e.loc["difference_in_change"], e.loc["best_practice_change"]
        adj = e.loc["new_patient_ratio_baseline_adjusted"]
        diff = _interval_words(d, s, scale=100, fmt="{:+.1f}", unit=" pp")
        if s["placebo_years"]:
            adjusted = (f"KBZ/control cost ratio relative to {s['placebo_years'][1]} "
                        f"{adj['estimate']:.2f} "
                        f"({_interval_words(adj, s, scale=1, fmt='{:.2f}', unit='')})")
        else:
            adjusted = "no placebo year to adjust for the baseline difference"
        return (
            f"GGZ cost per insured {s['base_year']}→{s['follow_year']}: KBZ practices "
            f"{100 * e.loc['change_kbz', 'estimate']:+.1f}%, control practices "
            f"{100 * e.loc['change_control', 'estimate']:+.1f}%; difference "
            f"{100 * d['estimate']:+.1f} pp ({diff}); best of {s['n_practices_kbz']} KBZ "
            f"practices {100 * best['estimate']:+.1f}% (descriptive, selected); new GGZ "
            f"patients EUR {e.loc['new_patient_difference', 'estimate']:+,.0f} "
            f"(unadjusted), {adjusted}"
        )


def _interval_words(row: pd.Series, settings: dict[str, Any], *, scale: float, fmt: str,
                    unit: str) -> str:
    """``95% CI a to b, <level>, p = ...`` or why there is no interval."""
    level = f"{100 * (1 - settings['alpha']):g}%"
    if not np.isfinite(row["ci_lower"]):
        if row["inference"] == "practice":
            return (f"no practice-level interval: {settings['n_practices_kbz']} KBZ and "
                    f"{settings['n_practices_control']} control practice(s)")
        return "no interval"
    how = "practice-level" if row["inference"] == "practice" else PERSONS_ONLY
    lo, hi = (fmt.format(scale * row[c]) for c in ("ci_lower", "ci_upper"))
    return f"{level} CI {lo} to {hi}{unit}, {how}, {format_p(row['p_value'])}"


# --------------------------------------------------------------------------- design
@dataclass(frozen=True)
class _Design:
    """The years: base and follow year, the placebo comparison (lookback, year) or
    ``None``, and the years of the cell axis (base, follow, then the placebo year when
    it is neither)."""

    base: int
    follow: int
    placebo: tuple[int, int] | None

    @property
    def cells(self) -> tuple[int, ...]:
        extra = () if self.placebo is None or self.placebo[1] in (self.base, self.follow) \
            else (self.placebo[1],)
        return (self.base, self.follow, *extra)

    @property
    def placebo_cell(self) -> int:
        """Cell of the placebo year (the base cell when there is none: its placebo
        sums are then zero and the placebo terms NaN)."""
        return BASE if self.placebo is None else self.cells.index(self.placebo[1])


def _placebo(panel: Any, base_year: Any, follow_year: Any, placebo_years: Any
             ) -> tuple[tuple[int, int] | None, list[tuple[str, Any]], list[str]]:
    """Check the years; the default placebo comparison is (base − 1 → base) when the
    panel has the year before the base year. Returns the placebo (lookback, year), the
    years the panel must hold (for :func:`claims_common.prepare_claims`) and notes."""
    required = [("base_year", base_year), ("follow_year", follow_year)]
    if all(isinstance(y, (int, np.integer)) and not isinstance(y, bool)
           for y in (base_year, follow_year)) and follow_year <= base_year:
        raise SpecificationError(
            f"`follow_year` must be after `base_year`, but {follow_year} <= {base_year} "
            "was passed.")
    notes: list[str] = []
    if placebo_years is None:
        have = set()
        if isinstance(panel, pd.DataFrame) and "year" in panel.columns:
            # the distinct years (not a set built from every row)
            have = set(pd.unique(pd.to_numeric(panel["year"], errors="coerce").dropna()
                                 .astype(int)).tolist())
        placebo = (int(base_year) - 1, int(base_year)) \
            if isinstance(base_year, (int, np.integer)) and int(base_year) - 1 in have \
            else None
        if placebo is None:
            notes.append(
                f"The panel has no year before {base_year}: new GGZ patients cannot be "
                "compared in a year before KBZ, so the baseline-adjusted new-patient rows "
                "are NaN (give `placebo_years`).")
    else:
        ok = (isinstance(placebo_years, (tuple, list)) and len(placebo_years) == 2
              and all(isinstance(y, (int, np.integer)) and not isinstance(y, bool)
                      for y in placebo_years))
        if not ok or not placebo_years[0] < placebo_years[1] < follow_year:
            raise SpecificationError(
                "The value for `placebo_years` must be None or a pair (lookback year, "
                "placebo year) with lookback < placebo year < `follow_year`, but "
                f"{placebo_years!r} was passed.")
        placebo = (int(placebo_years[0]), int(placebo_years[1]))
        required += [("placebo_years", placebo[0]), ("placebo_years", placebo[1])]
    return placebo, required, notes


# --------------------------------------------------------------------------- statistics
def _statistics(sums: np.ndarray, *, n_cells: int, placebo_cell: int,
                adjusted: bool) -> dict[str, np.ndarray]:
    """Every group-level statistic from column sums laid out ``value × group × year``
    (values :data:`VALUES`, without ``expected`` unless ``adjusted``); rows are
    replicates, relabellings or leave-one-out sums (one row for the estimate)."""
    n_values = len(VALUES) - (0 if adjusted else 1)
    cells = sums.reshape(sums.shape[0], n_values, 2, n_cells)  # rows × value × group × year

    def value(name: str) -> np.ndarray:
        return cells[:, _V[name]]

    def change(x: np.ndarray) -> np.ndarray:  # rows × group
        return x[:, :, FOLLOW] / x[:, :, BASE] - 1

    rate = cc.safe_ratio(value("cost"), value("insured_years"))
    prevalence = cc.safe_ratio(value("patients"), value("person_years"))
    intensity = cc.safe_ratio(value("cost"), value("patients"))
    out: dict[str, np.ndarray] = {"rate": rate, "prevalence": prevalence,
                                  "intensity": intensity}
    for g, grp in enumerate(cc.GROUPS):
        out[f"change_{grp}"] = change(rate)[:, g]
        out[f"prevalence_change_{grp}"] = change(prevalence)[:, g]
        out[f"cost_per_patient_change_{grp}"] = change(intensity)[:, g]
    out["difference_in_change"] = out["change_kbz"] - out["change_control"]
    out["ratio_of_changes"] = (1 + out["change_kbz"]) / (1 + out["change_control"])
    new = cc.safe_ratio(value("new_patient_cost")[:, :, FOLLOW],
                        value("new_patients")[:, :, FOLLOW])  # rows × group
    old = cc.safe_ratio(value("placebo_new_patient_cost")[:, :, placebo_cell],
                        value("placebo_new_patients")[:, :, placebo_cell])
    ratio, ratio_placebo = (cc.safe_ratio(x[:, KBZ], x[:, CONTROL]) for x in (new, old))
    out |= {
        "new_patient_cost": new, "new_patient_cost_placebo": old,
        "new_patient_cost_kbz": new[:, KBZ], "new_patient_cost_control": new[:, CONTROL],
        "new_patient_difference": new[:, KBZ] - new[:, CONTROL],
        "new_patient_ratio": ratio, "new_patient_ratio_placebo": ratio_placebo,
        "new_patient_ratio_baseline_adjusted": cc.safe_ratio(ratio, ratio_placebo),
        "new_patient_difference_baseline_adjusted":
            cc.safe_ratio(new[:, KBZ], ratio_placebo) - new[:, CONTROL],
    }
    if adjusted:
        oe_change = change(cc.safe_ratio(value("cost"), value("expected")))
        for g, grp in enumerate(cc.GROUPS):
            out[f"change_{grp}_age_sex"] = oe_change[:, g]
        out["difference_in_change_age_sex"] = oe_change[:, KBZ] - oe_change[:, CONTROL]
    return out


def _practice_statistics(sums: np.ndarray, *, n_practices: int) -> dict[str, np.ndarray]:
    """Per practice: cost per insured year in the base and follow year and its change
    (columns ``value × practice × year``, values :data:`PRACTICE_VALUES`)."""
    cells = sums.reshape(sums.shape[0], len(PRACTICE_VALUES), n_practices, 2)
    rate = cc.safe_ratio(cells[:, 0], cells[:, 1])
    return {"practice_rate": rate,
            "practice_change": rate[..., FOLLOW] / rate[..., BASE] - 1}


# --------------------------------------------------------------------------- sums
def _new_patients(person: np.ndarray, year: np.ndarray, cost: np.ndarray, *, target: int,
                  lookback: int) -> np.ndarray:
    """Rows of ``target`` with cost > 0 whose person had a ``lookback`` row with cost 0
    (insured then, no GGZ cost): the new patients of ``target``."""
    prior = np.full(int(person.max()) + 1 if person.size else 0, np.nan)
    at = year == lookback
    prior[person[at]] = cost[at]
    return (year == target) & (cost > 0) & (prior[person] == 0)


@dataclass
class _Cells:
    """The sums of the analysis, per person and per practice, in one column layout.

    The sums are over the person-years of the cell years (base, follow, placebo year;
    :class:`_Rows`); persons are recoded over those rows only, so the person bootstrap
    resamples the persons of the analysed years (the lookback year only decides who is
    new).
    """

    design: _Design
    frame: pd.DataFrame  # the new patients' rows (both comparisons), for the GLM
    person_matrix: Any  # CSR: value × group × year, then the per-practice block
    # (None once the person bootstrap has run)
    n_group_columns: int
    strata: np.ndarray
    practice_sums: PracticeSums
    observed: np.ndarray  # value × group × year totals
    practice_observed: np.ndarray  # value × practice × year totals
    expected_desc: str | None
    notes: list[str]

    @property
    def practice_ids(self) -> tuple[str, ...]:
        return self.practice_sums.practice_ids


#: Columns of the new-patient rows the age/sex GLM reads (with the outcome column).
_GLM_COLUMNS = ("practice_id", "group", "age_band", "sex")


@dataclass
class _Rows:
    """The analysed person-years (those of the cell years) as the arrays the sums need.

    Every value of :data:`VALUES` is a row value (cost, insured years, one, expected
    cost) summed over a subset of these rows (all, the patients, the new patients, the
    placebo-year new patients), so no value is held as an array of its own.
    """

    person: np.ndarray  # person code over these rows (0 .. n - 1), rows sorted by person
    group: np.ndarray  # KBZ or CONTROL (int8)
    year_cell: np.ndarray  # index into design.cells (int8)
    practice: np.ndarray  # index into practice_ids (small integer type)
    practice_ids: list[str]
    is_kbz: np.ndarray  # per practice
    cost: np.ndarray
    iy: np.ndarray
    is_patient: np.ndarray  # cost > 0
    new: np.ndarray
    placebo_new: np.ndarray
    expected: np.ndarray | None
    glm_frame: pd.DataFrame  # the new patients of both comparisons, for the GLM
    expected_desc: str | None
    notes: list[str]


def _sorted_codes(person: np.ndarray) -> np.ndarray:
    """Codes ``0 .. n - 1`` of the persons in the order of their code; for rows sorted
    by person (as :class:`claims_common.ClaimsPanel` holds them) a running count of the
    changes of person, equal to ``np.unique(person, return_inverse=True)[1]``."""
    if person.size > 1 and not cc.non_decreasing(person):
        return np.unique(person, return_inverse=True)[1].ravel()
    first = np.empty(person.size, dtype=bool)
    first[:1] = True
    np.not_equal(person[1:], person[:-1], out=first[1:])
    codes = np.cumsum(first, dtype=np.int32 if person.size < 2**31 else np.int64)
    codes -= 1
    return codes


def _small_codes(codes: np.ndarray, n: int) -> np.ndarray:
    """``codes`` (``-1 .. n - 1``) in the smallest signed integer type holding them."""
    return codes.astype(np.min_scalar_type(-max(n, 1)))


def _expected_of(cp: cc.ClaimsPanel, keep: np.ndarray, year: np.ndarray, design: _Design,
                 outcome: str, reference: Any) -> tuple[np.ndarray, str, list[str]]:
    """Expected cost of the kept rows: the reference over the base and follow year (as
    the changes are), zero in the placebo year."""
    main = cc.in_years(year, (design.base, design.follow))
    exp, _, _, desc, notes = expected_values(
        replace(cp, frame=cp.frame[main & keep].reset_index(drop=True)), outcome, reference)
    expected = np.zeros(int(keep.sum()))
    expected[main[keep]] = exp
    return expected, desc, notes


def _analysed_rows(cp: cc.ClaimsPanel, design: _Design, outcome: str, *, adjusted: bool,
                   reference: Any) -> _Rows:
    """The rows of the cell years of ``cp.frame`` as :class:`_Rows`; new patients are
    flagged by their lookback year (which may lie outside the cell years)."""
    f = cp.frame
    year, cost = f["year"].to_numpy(), f[outcome].to_numpy()
    person = cp.person_array()
    new = _new_patients(person, year, cost, target=design.follow, lookback=design.base)
    placebo_new = (np.zeros(len(f), bool) if design.placebo is None else _new_patients(
        person, year, cost, target=design.placebo[1], lookback=design.placebo[0]))
    keep = cc.in_years(year, design.cells)
    every = bool(keep.all())

    def take(a: np.ndarray) -> np.ndarray:
        return a if every else a[keep]

    notes, desc, expected = list(cp.notes), None, None
    if adjusted:
        expected, desc, ref_notes = _expected_of(cp, keep, year, design, outcome, reference)
        notes += ref_notes
    glm_rows = np.flatnonzero(keep & (new | placebo_new))
    glm_frame = f.iloc[glm_rows][[outcome, *_GLM_COLUMNS]].reset_index(drop=True)
    glm_frame["new"], glm_frame["placebo_new"] = new[glm_rows], placebo_new[glm_rows]
    practice_id = take(f["practice_id"])
    present = set(pd.unique(practice_id))
    ids = [p for p in cp.practices["practice_id"] if p in present]
    is_kbz = cp.practices.set_index("practice_id").loc[ids, "group"].to_numpy() == "kbz"
    year_cell = cc.row_codes(take(f["year"]), {y: i for i, y in enumerate(design.cells)})
    cost = take(cost)
    return _Rows(
        person=_sorted_codes(take(person)),
        group=np.where(take(f["group"].to_numpy() == "kbz"), KBZ, CONTROL).astype(np.int8),
        year_cell=_small_codes(year_cell, len(design.cells)),
        practice=_small_codes(cc.row_codes(practice_id, {p: i for i, p in enumerate(ids)}),
                              len(ids)),
        practice_ids=ids, is_kbz=is_kbz, cost=cost, iy=take(f["iy"].to_numpy()),
        is_patient=cost > 0, new=take(new), placebo_new=take(placebo_new),
        expected=expected, glm_frame=glm_frame, expected_desc=desc, notes=notes)


def _value_blocks(rows: _Rows, cell: np.ndarray, names: Sequence[str]
                  ) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """``(cell, values)`` blocks whose columns are the values ``names`` in order: each
    value is a row value summed over a subset of the rows, the subset given by a cell
    code of ``-1`` outside it (for 0/1 values the row value is one: never an array).

    The sums equal those of the full-length values: the rows left out add zeros.
    """
    one = np.broadcast_to(np.float64(1.0), rows.cost.shape)  # no memory per row
    of = {"cost": (None, rows.cost), "insured_years": (None, rows.iy),
          "person_years": (None, one), "patients": (rows.is_patient, one),
          "new_patients": (rows.new, one), "new_patient_cost": (rows.new, rows.cost),
          "placebo_new_patients": (rows.placebo_new, one),
          "placebo_new_patient_cost": (rows.placebo_new, rows.cost),
          "expected": (None, rows.expected)}
    blocks: list[tuple[np.ndarray | None, list[np.ndarray]]] = []
    for name in names:
        subset, value = of[name]
        if blocks and blocks[-1][0] is subset:
            blocks[-1][1].append(value)
        else:
            blocks.append((subset, [value]))
    return [(cell if subset is None else np.where(subset, cell, -1).astype(cell.dtype),
             values) for subset, values in blocks]


def _practice_sums(rows: _Rows, n_cells: int, names: Sequence[str]) -> PracticeSums:
    """The practices' sums of the values ``names`` per year cell (layout as
    :meth:`PracticeSums.from_rows` of the full-length values)."""
    practice = rows.practice.astype(np.int64)  # from_rows multiplies the codes
    parts = [PracticeSums.from_rows(practice, cell, values, is_kbz=rows.is_kbz,
                                    n_cells=n_cells, practice_ids=rows.practice_ids)
             for cell, values in _value_blocks(rows, rows.year_cell, names)]
    return replace(parts[0], sums=np.concatenate([p.sums for p in parts], axis=1))


def _strata(person: np.ndarray, is_kbz_row: np.ndarray) -> np.ndarray:
    """Bootstrap stratum per person: the set of groups the person was in (as
    :func:`claims_common.prepare_claims`)."""
    n = int(person.max()) + 1
    has_kbz = np.bincount(person, weights=is_kbz_row, minlength=n) > 0
    has_ctl = np.bincount(person, weights=1.0 - is_kbz_row, minlength=n) > 0
    return has_kbz.astype(np.int64) + 2 * has_ctl.astype(np.int64)


def _prepared_rows(panel: pd.DataFrame, practices: pd.DataFrame, years: tuple[Any, Any],
                   placebo: tuple[int, int] | None, outcome: str, *, population: str,
                   required: list[tuple[str, Any]], adjusted: bool, reference: Any
                   ) -> tuple[_Design, _Rows, cc.ClaimsPanel]:
    """Prepare the panel and take the analysed rows of the ``(base, follow)`` years;
    returns the design, the rows and the prepared panel without its rows (their copy
    is let go before the sums are built)."""
    # prepare_claims checks the required years (named by their parameter) first
    cp = cc.prepare_claims(panel, practices, population=population, values=[outcome],
                           need_age_sex=True, required_years=required,
                           years=[y for _, y in required] + list(placebo or ()))
    design = _Design(int(years[0]), int(years[1]), placebo)
    rows = _analysed_rows(cp, design, outcome, adjusted=adjusted, reference=reference)
    return design, rows, replace(cp, frame=cp.frame.iloc[:0].copy())


def _cells(rows: _Rows, design: _Design, *, adjusted: bool) -> _Cells:
    """Per-person and per-practice sums of every value in every group × year cell."""
    n_cells = len(design.cells)
    names = VALUES if adjusted else VALUES[:-1]
    n_p = len(rows.practice_ids)
    psums = _practice_sums(rows, n_cells, names)
    practice_year = _small_codes(np.where(
        rows.year_cell <= FOLLOW, rows.practice.astype(np.int64) * 2 + rows.year_cell, -1),
        2 * n_p)
    group_year = (rows.group * n_cells + rows.year_cell).astype(rows.year_cell.dtype)
    n_persons = int(rows.person[-1]) + 1 if rows.person.size else 0
    strata = _strata(rows.person, rows.group == KBZ)
    n_group_columns = len(names) * 2 * n_cells
    # sparse: a person fills a few of the value × group × year and practice × year cells;
    # both layouts side by side in one matrix (columns: the group cells, then the
    # practice cells)
    person_matrix = cc.person_cell_blocks(rows.person, n_persons, [
        *((cell, 2 * n_cells, values) for cell, values
          in _value_blocks(rows, group_year, names)),  # value × group × year
        *((cell, 2 * n_p, values) for cell, values
          in _value_blocks(rows, practice_year, PRACTICE_VALUES))])
    del practice_year, group_year
    totals = np.asarray(person_matrix.sum(axis=0)).ravel()
    observed = totals[:n_group_columns].reshape(len(names), 2, n_cells)
    practice_observed = totals[n_group_columns:].reshape(len(PRACTICE_VALUES), n_p, 2)
    return _Cells(design=design, frame=rows.glm_frame, person_matrix=person_matrix,
                  n_group_columns=n_group_columns, strata=strata, practice_sums=psums,
                  observed=observed, practice_observed=practice_observed,
                  expected_desc=rows.expected_desc, notes=rows.notes)


# --------------------------------------------------------------------------- inference
@dataclass
class _Inference:
    """One ``infer`` for both levels: the practice level (:class:`PracticeInference` on
    the practices' sums) and the person level (the person bootstrap), with the estimate
    always from the observed totals of the person matrix."""

    boot: cc.SumsBootstrap
    practice: PracticeInference
    level: str
    alpha: float

    def at(self, term: str, index: tuple[int, ...] = (), *, null: float = 0.0,
           contrast: bool = False, level: str | None = None) -> dict[str, Any]:
        """Estimate, interval and p of ``term`` at ``level`` (default: the analysis'
        level); ``contrast``: KBZ against control practices, so the randomisation
        p-value over practice relabellings applies."""
        level = level or self.level
        if level == "practice":
            out = self.practice.infer(term, index, null=null)
            if not contrast:
                out["p_randomisation"] = np.nan
        else:
            out = {**self.boot.infer(term, index, alpha=self.alpha, null=null),
                   "df": np.nan, "p_randomisation": np.nan}
        value = float(self.boot.estimate[term][(0, *index)])
        return {**out, "estimate": value, "inference": level,
                "note": PERSONS_ONLY if level == "person" else None}


def _inference(cells: _Cells, *, adjusted: bool, inference: str, practice_method: str,
               n_boot: int, interval: str, seed: int | None, alpha: float) -> _Inference:
    """Run the person bootstrap (group and per-practice statistics, one resampling) and
    set up the practice-level inference of the group statistics."""
    kw = {"n_cells": len(cells.design.cells), "placebo_cell": cells.design.placebo_cell,
          "adjusted": adjusted}
    k, n_p = cells.n_group_columns, len(cells.practice_ids)

    def person_statistic(s: np.ndarray) -> dict[str, np.ndarray]:
        return {**_statistics(s[:, :k], **kw),
                **_practice_statistics(s[:, k:], n_practices=n_p)}

    boot = cc.SumsBootstrap(person_statistic, cells.person_matrix, cells.strata,
                            n_boot=n_boot, seed=seed, interval=interval)
    practice = PracticeInference(lambda s: _statistics(s, **kw), cells.practice_sums,
                                 method=practice_method, seed=seed, alpha=alpha)
    return _Inference(boot, practice, inference, alpha)


def _age_groups(age_band: np.ndarray) -> np.ndarray:
    lower = np.array([int(b.rstrip("+").split("-")[0]) for b in age_band])
    return np.searchsorted(np.asarray(NEW_PATIENT_AGE_BREAKS), lower, side="right")


def _glm_design(kbz: np.ndarray, age_band: np.ndarray, sex: np.ndarray,
                period: np.ndarray | None = None) -> tuple[np.ndarray, int, list[str]]:
    """Design of the new-patient GLM: intercept, KBZ (and follow period, KBZ × follow
    period), broad age groups, sex. Returns it, the column of the effect (KBZ, or the
    interaction) and notes."""
    ag = _age_groups(age_band)
    cols = [np.ones(kbz.size), kbz.astype(float)]
    effect = 1
    if period is not None:
        cols += [period.astype(float), (kbz & period).astype(float)]
        effect = 3
    cols += [(ag == lv).astype(float) for lv in np.unique(ag)[1:]]
    cols.append((sex == "F").astype(float))
    X = np.column_stack(cols)
    notes = []
    if np.linalg.matrix_rank(X) < X.shape[1]:
        X = X[:, :-1]
        notes.append("The new patients are all of one sex; the GLM adjusts for age only.")
    return X, effect, notes


def _glm_fit(cost: np.ndarray, X: np.ndarray, *, robust: bool) -> Any:
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GLM(cost, X, family=families.Gamma(families.links.Log()))
        return model.fit(cov_type="HC1") if robust else model.fit()


def _glm_vcov(fit: Any, X: np.ndarray, cost: np.ndarray, cluster: np.ndarray | None
              ) -> tuple[np.ndarray, list | None]:
    """HC1 (persons, ``cluster=None``) or CR2 by practice. For a Gamma GLM with log
    link the IRLS weights are 1 and the working residuals ``(y − μ)/μ``, so the CR2
    sandwich of the linear model on the working response is the GLM's."""
    if cluster is None:
        return np.asarray(fit.cov_params()), None
    mu = np.asarray(fit.fittedvalues)
    return cr2_vcov(X, (cost - mu) / mu, cluster)


def _glm_contrast(value: float, grad: np.ndarray, vcov: np.ndarray, df: float,
                  alpha: float, *, log: bool) -> dict[str, float]:
    """Interval and p of a contrast (``log``: a log coefficient, shown as a ratio);
    normal reference when ``df`` is infinite (HC1), t(df) otherwise (CR2)."""
    se = float(np.sqrt(max(grad @ vcov @ grad, 0.0)))
    # the t distribution's functions with df passed (what a frozen ``stats.t(df)``
    # calls, without building a distribution object per contrast)
    t_args = () if not np.isfinite(df) else (df,)
    dist = stats.norm if not np.isfinite(df) else stats.t
    q = float(dist.ppf(1 - alpha / 2, *t_args))
    p = float(2 * dist.sf(abs(value) / se, *t_args)) if se > 0 else np.nan
    out = {"df": df if np.isfinite(df) else np.nan, "p_value": p}
    if log:
        return {**out, "estimate": float(np.exp(value)), "std_error": float(np.exp(value) * se),
                "ci_lower": float(np.exp(value - q * se)),
                "ci_upper": float(np.exp(value + q * se))}
    return {**out, "estimate": value, "std_error": se, "ci_lower": value - q * se,
            "ci_upper": value + q * se}


_NAN = {"estimate": np.nan, "std_error": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
        "p_value": np.nan, "df": np.nan}


def _as_kbz_and_control(X: np.ndarray, beta: np.ndarray, effect: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each patient's design and predicted cost with the effect column set to 1 (as
    KBZ) and to 0 (as control)."""
    x1, x0 = X.copy(), X.copy()
    x1[:, effect], x0[:, effect] = 1.0, 0.0
    return x1, x0, np.exp(x1 @ beta), np.exp(x0 @ beta)


def _glm_one(cost: np.ndarray, X: np.ndarray, effect: int, practice: np.ndarray,
             kbz: np.ndarray, *, level: str, alpha: float, difference: bool
             ) -> tuple[dict[str, float], dict[str, float] | None]:
    """Fit one Gamma GLM; the effect as a ratio and (``difference``) the standardised
    EUR difference (mean over the patients of the prediction as KBZ − as control).

    ``level="practice"``: CR2 by practice with Bell–McCaffrey degrees of freedom (NaN
    with fewer than two practices per group); ``"person"``: HC1, normal reference.
    """
    if cost.size < X.shape[1] + 2 or kbz.all() or not kbz.any():
        return dict(_NAN), dict(_NAN) if difference else None
    at_practice = level == "practice"
    fit = _glm_fit(cost, X, robust=not at_practice)
    beta = np.asarray(fit.params)
    x1, x0, m1, m0 = _as_kbz_and_control(X, beta, effect)
    if at_practice and min(np.unique(practice[kbz]).size,
                           np.unique(practice[~kbz]).size) < 2:
        ratio = {**_NAN, "estimate": float(np.exp(beta[effect]))}
        return ratio, {**_NAN, "estimate": float(np.mean(m1 - m0))} if difference else None
    vcov, adj = _glm_vcov(fit, X, cost, practice if at_practice else None)
    unit = np.eye(X.shape[1])[effect]
    df = bell_mccaffrey_df(X, unit, adj) if at_practice else np.inf
    ratio = _glm_contrast(float(beta[effect]), unit, vcov, df, alpha, log=True)
    if not difference:
        return ratio, None
    grad = (m1[:, None] * x1 - m0[:, None] * x0).mean(axis=0)
    df_d = bell_mccaffrey_df(X, grad, adj) if at_practice else np.inf
    return ratio, _glm_contrast(float(np.mean(m1 - m0)), grad, vcov, df_d, alpha, log=False)


def _new_patient_glm(cells: _Cells, outcome: str, *, level: str, alpha: float
                     ) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Age/sex-adjusted new-patient comparisons (Gamma GLM, log link): the follow-year
    KBZ/control ratio and standardised EUR difference, and the ratio relative to the
    placebo year (KBZ × follow-period interaction of the pooled model)."""
    fr = cells.frame
    practice_code = cc.row_codes(fr["practice_id"],
                                 {p: i for i, p in enumerate(cells.practice_ids)})
    sel = fr["new"].to_numpy()
    kbz = fr["group"].to_numpy() == "kbz"
    out = {"new_patient_ratio_age_sex": dict(_NAN),
           "new_patient_difference_age_sex": dict(_NAN),
           "new_patient_ratio_baseline_adjusted_age_sex": dict(_NAN)}
    if not (kbz[sel].any() and (~kbz[sel]).any()):
        return out, ["Too few new patients for the adjusted GLM."]
    X, effect, notes = _glm_design(kbz[sel], fr["age_band"].to_numpy()[sel],
                                   fr["sex"].to_numpy()[sel])
    ratio, diff = _glm_one(fr[outcome].to_numpy()[sel], X, effect, practice_code[sel],
                           kbz[sel], level=level, alpha=alpha, difference=True)
    if not np.isfinite(ratio["estimate"]):
        notes.append("Too few new patients for the adjusted GLM.")
    out |= {"new_patient_ratio_age_sex": ratio, "new_patient_difference_age_sex": diff}
    both = sel | fr["placebo_new"].to_numpy()
    if cells.design.placebo is not None and fr["placebo_new"].any():
        X2, effect2, _ = _glm_design(kbz[both], fr["age_band"].to_numpy()[both],
                                     fr["sex"].to_numpy()[both], period=sel[both])
        out["new_patient_ratio_baseline_adjusted_age_sex"], _ = _glm_one(
            fr[outcome].to_numpy()[both], X2, effect2, practice_code[both], kbz[both],
            level=level, alpha=alpha, difference=False)
    return out, list(dict.fromkeys(notes))


# --------------------------------------------------------------------------- rows
#: The group-level rows: term → (unit, null value, compares KBZ with control practices,
#: has a test). Within-group changes are changes, not effects.
_TERMS: dict[str, tuple[str, float, bool, bool]] = {
    "change_kbz": ("fraction", 0.0, False, True),
    "change_control": ("fraction", 0.0, False, True),
    "difference_in_change": ("fraction", 0.0, True, True),
    "ratio_of_changes": ("ratio", 1.0, True, True),
    "prevalence_change_kbz": ("fraction", 0.0, False, True),
    "cost_per_patient_change_kbz": ("fraction", 0.0, False, True),
    "prevalence_change_control": ("fraction", 0.0, False, True),
    "cost_per_patient_change_control": ("fraction", 0.0, False, True),
}
_NEW_PATIENT_TERMS: dict[str, tuple[str, float, bool, bool]] = {
    "new_patient_cost_kbz": ("EUR per person", 0.0, False, False),
    "new_patient_cost_control": ("EUR per person", 0.0, False, False),
    "new_patient_difference": ("EUR per person", 0.0, True, True),
    "new_patient_ratio": ("ratio", 1.0, True, True),
    "new_patient_ratio_placebo": ("ratio", 1.0, True, True),
    "new_patient_ratio_baseline_adjusted": ("ratio", 1.0, True, True),
    "new_patient_difference_baseline_adjusted": ("EUR per person", 0.0, True, True),
}
_ADJUSTED_TERMS: dict[str, tuple[str, float, bool, bool]] = {
    "change_kbz_age_sex": ("fraction", 0.0, False, True),
    "change_control_age_sex": ("fraction", 0.0, False, True),
    "difference_in_change_age_sex": ("fraction", 0.0, True, True),
}
#: Rows that describe and are not tested (no p-value by design).
_UNTESTED = tuple(t for t, spec in {**_TERMS, **_NEW_PATIENT_TERMS}.items() if not spec[3])
_GLM_UNITS = {"new_patient_ratio_age_sex": "ratio",
              "new_patient_difference_age_sex": "EUR per person",
              "new_patient_ratio_baseline_adjusted_age_sex": "ratio"}


def _counts(cells: _Cells) -> dict[str, int]:
    """``n`` of every term: the fewest patients (or new patients) a row rests on."""
    pat = cells.observed[_V["patients"]]
    new = cells.observed[_V["new_patients"], :, FOLLOW].astype(int)
    old = cells.observed[_V["placebo_new_patients"], :, cells.design.placebo_cell]
    n_g = {g: int(min(pat[i, BASE], pat[i, FOLLOW])) for i, g in enumerate(cc.GROUPS)}
    both = min(n_g.values())
    n_new, n_old = int(new.min()), int(old.min())
    out = {"change_kbz": n_g["kbz"], "change_control": n_g["control"],
           "difference_in_change": both, "ratio_of_changes": both,
           "new_patient_cost_kbz": int(new[KBZ]), "new_patient_cost_control": int(new[CONTROL]),
           "new_patient_difference": n_new, "new_patient_ratio": n_new,
           "new_patient_ratio_placebo": n_old,
           "new_patient_ratio_baseline_adjusted": min(n_new, n_old),
           "new_patient_difference_baseline_adjusted": min(n_new, n_old),
           "new_patient_ratio_age_sex": n_new, "new_patient_difference_age_sex": n_new,
           "new_patient_ratio_baseline_adjusted_age_sex": min(n_new, n_old),
           "difference_in_change_age_sex": both}
    for g in cc.GROUPS:
        for t in ("prevalence_change", "cost_per_patient_change"):
            out[f"{t}_{g}"] = n_g[g]
        out[f"change_{g}_age_sex"] = n_g[g]
    return out


def _term_rows(inf: _Inference, terms: dict[str, tuple[str, float, bool, bool]],
               counts: dict[str, int]) -> list[dict[str, Any]]:
    """Rows of ``terms`` at the analysis' level; the primary term also at the person
    level (``<term>_persons_only``) when the level is the practice."""
    rows = []
    for term, (unit, null, contrast, tested) in terms.items():
        row = {"term": term, **inf.at(term, null=null, contrast=contrast),
               "n": counts[term], "unit": unit}
        if not tested:
            row["p_value"] = np.nan
        rows.append(row)
        if term == PRIMARY[0] and inf.level == "practice":
            rows.append({**row, **inf.at(term, null=null, level="person"),
                         "term": f"{term}_persons_only"})
    return rows


def _best_practice_row(by_practice: pd.DataFrame, outcome: str, design: _Design
                       ) -> tuple[dict[str, Any], str | None]:
    """The largest fall among the KBZ practices, as a description (no interval, no
    test: the best of several is selected and overstates)."""
    kbz = by_practice[by_practice["group"] == "kbz"]
    finite = kbz[np.isfinite(kbz["change"].to_numpy(dtype=float))]
    row: dict[str, Any] = {"term": "best_practice_change", "unit": "fraction",
                           "inference": "descriptive",
                           "note": BEST_PRACTICE_NOTE.format(n=len(kbz))}
    if finite.empty:
        return {**row, "n": 0}, (
            f"No KBZ practice has {outcome} in both {design.base} and {design.follow}; "
            "there is no best practice.")
    best = finite.loc[finite["change"].idxmin()]
    return {**row, "estimate": float(best["change"]), "n": int(best["n_persons"]),
            "practice_id": best["practice_id"]}, None


def _glm_rows(glm: dict[str, dict[str, float]], counts: dict[str, int], level: str
              ) -> list[dict[str, Any]]:
    note = ("Gamma GLM, log link, age group + sex; "
            + ("CR2 by practice, Bell–McCaffrey t" if level == "practice"
               else f"HC1 — {PERSONS_ONLY}"))
    return [{"term": term, **glm[term], "n": counts[term], "unit": unit,
             "inference": level, "p_randomisation": np.nan, "note": note}
            for term, unit in _GLM_UNITS.items()]


# --------------------------------------------------------------------------- tables
def _group_tables(inf: _Inference, cells: _Cells) -> dict[str, pd.DataFrame]:
    """``by_group_year`` and ``decomposition``: per group and year, intervals at the
    analysis' level."""
    obs, d = cells.observed, cells.design
    gy_rows, dec_rows = [], []
    for g, grp in enumerate(cc.GROUPS):
        for c, year in ((BASE, d.base), (FOLLOW, d.follow)):
            counts = {"n_persons": int(obs[_V["patients"], g, c]),
                      "n_insured": int(obs[_V["person_years"], g, c])}
            r = inf.at("rate", (g, c))
            gy_rows.append({"group": grp, "year": year, **counts,
                            "insured_years": float(obs[_V["insured_years"], g, c]),
                            "cost": float(obs[_V["cost"], g, c]),
                            "cost_per_insured_year": r["estimate"],
                            "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"]})
            pv, it = inf.at("prevalence", (g, c)), inf.at("intensity", (g, c))
            dec_rows.append({"group": grp, "year": year, **counts,
                             "prevalence": pv["estimate"],
                             "prevalence_ci_lower": pv["ci_lower"],
                             "prevalence_ci_upper": pv["ci_upper"],
                             "cost_per_patient": it["estimate"],
                             "cost_per_patient_ci_lower": it["ci_lower"],
                             "cost_per_patient_ci_upper": it["ci_upper"],
                             "cost_per_insured_year": r["estimate"]})
    return {"by_group_year": pd.DataFrame(gy_rows), "decomposition": pd.DataFrame(dec_rows)}


def _practice_table(inf: _Inference, cells: _Cells) -> pd.DataFrame:
    """Each practice's change with the interval from its own persons (person
    bootstrap): a description of that practice."""
    obs, d = cells.practice_observed, cells.design
    rate = inf.boot.estimate["practice_rate"][0]
    rows = []
    for i, pid in enumerate(cells.practice_ids):
        ci = inf.at("practice_change", (i,), level="person")
        rows.append({
            "practice_id": pid,
            "group": "kbz" if cells.practice_sums.is_kbz[i] else "control",
            "n_persons": int(obs[PRACTICE_VALUES.index("patients"), i].min()),
            "n_insured": int(obs[PRACTICE_VALUES.index("person_years"), i].min()),
            f"cost_per_insured_year_{d.base}": float(rate[i, BASE]),
            f"cost_per_insured_year_{d.follow}": float(rate[i, FOLLOW]),
            "change": ci["estimate"], "ci_lower": ci["ci_lower"], "ci_upper": ci["ci_upper"]})
    return pd.DataFrame(rows)


def _new_patient_table(inf: _Inference, cells: _Cells) -> pd.DataFrame:
    """Mean cost of new patients per group in the analysis year and the placebo year."""
    d, obs = cells.design, cells.observed
    periods = [("analysis", d.follow, d.base, "new_patient_cost", "new_patients", FOLLOW)]
    if d.placebo is not None:
        periods.append(("placebo", d.placebo[1], d.placebo[0], "new_patient_cost_placebo",
                        "placebo_new_patients", d.placebo_cell))
    rows = []
    for comparison, year, lookback, term, count, cell in periods:
        for g, grp in enumerate(cc.GROUPS):
            r = inf.at(term, (g,))
            rows.append({"comparison": comparison, "group": grp, "year": year,
                         "lookback_year": lookback, "n_persons": int(obs[_V[count], g, cell]),
                         "mean_cost": r["estimate"], "ci_lower": r["ci_lower"],
                         "ci_upper": r["ci_upper"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- words
def _level_message(inf: _Inference) -> str | None:
    """What the number of practices means for the intervals given."""
    n_k, n_c = inf.practice.n_kbz, inf.practice.n_control
    if inf.level == "person":
        return (f"inference='person': the intervals are {PERSONS_ONLY}; "
                "inference='practice' gives intervals at the unit KBZ is assigned to.")
    impossible = impossible_message(n_k, n_c)
    if impossible or min(n_k, n_c) >= cc.FEW_PRACTICES:
        return impossible
    how = ("wild cluster bootstrap-t, Webb weights" if inf.practice.method == "wild"
           else "delete-one-practice (CR2) variance, Satterthwaite t")
    return (f"{n_k} KBZ and {n_c} control practices: intervals and p-values are "
            f"practice-level ({how}; valid with few practices) and therefore wide; "
            "`difference_in_change_persons_only` shows the person-level interval "
            f"({PERSONS_ONLY}).")


def _placebo_notes(design: _Design, practices: pd.DataFrame) -> list[str]:
    if design.placebo is None:
        return []
    start = pd.to_numeric(practices.loc[practices["group"] == "kbz", "kbz_start_year"],
                          errors="coerce").min()
    notes = []
    if np.isfinite(start) and design.placebo[1] >= start:
        notes.append(f"The placebo year {design.placebo[1]} is not before KBZ started "
                     f"({int(start)}): the baseline adjustment may remove part of the "
                     "effect.")
    return notes


_INTERVAL_WORDS = {"bca": "BCa (bias-corrected and accelerated)", "percentile": "percentile"}


def _method(inf: _Inference, cells: _Cells, *, outcome: str, population: str,
            interval: str, seed: int | None) -> str:
    """Estimands, the placebo logic and the inference, in words."""
    d = cells.design
    level = f"{100 * (1 - inf.alpha):g}%"
    n_kbz = int(cells.practice_sums.is_kbz.sum())
    if d.placebo is None:
        placebo = ("Because KBZ and control new patients may have differed before KBZ, the "
                   "primary new-patient row would divide the KBZ/control cost ratio by the "
                   "ratio in a placebo year (difference in differences of the log cost "
                   "ratio), but the panel has no year before the base year. ")
    else:
        placebo = (
            "Because KBZ and control new patients may have differed before KBZ, the primary "
            "new-patient row divides the KBZ/control cost ratio by the ratio in the same "
            f"comparison among new patients of {d.placebo[1]} (cost > 0 in {d.placebo[1]}, "
            f"insured with cost 0 in {d.placebo[0]}), before KBZ (difference in differences "
            "of the log cost ratio; new_patient_ratio_placebo shows the pre-existing "
            "ratio). ")
    text = (
        f"{outcome} per insured year ({cc.describe_population(population)}; group of a "
        f"person-year = its practice's group), {d.base} → {d.follow}: relative change per "
        "group (within-group changes, not effects) and per practice; the effect is the "
        "difference in changes, KBZ − control practices (primary outcome; "
        "ratio_of_changes restates it). Decomposition: prevalence (share of person-years "
        f"with {outcome} > 0) × cost per GGZ patient. Best practice: the largest fall "
        f"among the KBZ practices — {BEST_PRACTICE_NOTE.format(n=n_kbz)}. New "
        f"patients: {outcome} > 0 in "
        f"{d.follow}, insured with {outcome} = 0 in {d.base}; mean {d.follow} cost per "
        "person, KBZ − control (new_patient_difference: unadjusted, as published). "
        f"{placebo}Age/sex-adjusted new-patient rows: Gamma GLM, log link, KBZ + age "
        "group (<35, 35–49, 50–64, 65+) "
        "+ sex (with the placebo year: + follow period + KBZ × follow period), "
        "standardised EUR difference by the delta method; ")
    person = f"{level} {inf.boot.describe(_INTERVAL_WORDS[interval])} — {PERSONS_ONLY}"
    if inf.level == "practice":
        text += ("CR2 cluster sandwich by practice with Bell–McCaffrey t. "
                 f"{inf.practice.describe()[:-1]}; seed {seed}. "
                 f"difference_in_change_persons_only gives the {person}.")
    else:
        text += f"HC1 robust SEs — {PERSONS_ONLY}. {person}."
    text += (" Per-practice changes (table by_practice) carry the person-level "
             "interval of that practice's own persons: a description of the practice, "
             "not a test. Holm-adjusted p-values (p_adjusted) over the secondary rows.")
    if cells.expected_desc is not None:
        text += (" Age/sex-adjusted changes: of O/E ratios (indirect standardisation on "
                 f"age band × sex, reference: {cells.expected_desc}); reference rates "
                 "fixed in all inference.")
    return text


def ggz_change(
    panel: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    base_year: int = 2013,
    follow_year: int = 2016,
    placebo_years: Sequence[int] | None = None,
    population: cc.Population = "all",
    outcome: str = "ggz_cost",
    adjust: cc.Adjust = "none",
    reference: Reference = "pooled",
    inference: Inference = "practice",
    practice_method: PracticeMethod = "wild",
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
        Practices table: ``practice_id``, ``group`` (``kbz``/``control``), optionally
        ``kbz_start_year``. Not modified.
    base_year, follow_year
        The two years compared (default 2013 → 2016, as published).
    placebo_years
        ``(lookback, year)`` of the placebo new-patient comparison: new patients of
        ``year`` (cost > 0, insured with cost 0 in ``lookback``), a year before KBZ.
        Default ``(base_year − 1, base_year)`` when the panel has that year.
    population
        ``"all"`` person-years (default, as published) or ``"minima"``.
    outcome
        GGZ cost column (default ``ggz_cost``: specialist GGZ).
    adjust
        ``"none"`` or ``"age_sex"``: add the changes of the O/E ratios (indirect
        standardisation on age band × sex).
    reference
        Reference population of the adjustment (see :func:`kbz_eval.risk_adjustment`).
    inference
        ``"practice"`` (default): intervals and p-values with the practices as the
        independent units (KBZ is assigned to practices); ``"person"``: the person
        bootstrap for every row — persons only, ignores variation between practices.
    practice_method
        ``"wild"`` (default): wild cluster bootstrap-t (Webb weights); ``"cr2"``:
        delete-one-practice (CR2) variance with a Satterthwaite t reference.
    n_boot
        Person-level bootstrap replicates (default 999; at least 99).
    interval
        Person-level intervals: ``"bca"`` (default) or ``"percentile"``.
    seed
        Seed of the person bootstrap, the wild weights and a random subset of practice
        relabellings (when there are too many to enumerate).
    alpha
        1 − confidence level (0.05: 95 % intervals).

    Returns
    -------
    GgzChangeResult

    Raises
    ------
    SpecificationError
        Unknown options, years not in the panel, ``follow_year <= base_year``, bad
        ``placebo_years``, or a group without insured years in either year.
    DataValidationError
        Missing columns or values that break the contract.

    Notes
    -----
    **Change.** ``r[g, t]`` = sum of ``outcome`` over group ``g``'s person-years in year
    ``t`` / their insured years; the change is ``r[g, follow] / r[g, base] − 1``. **The
    effect is the difference in changes, KBZ − control practices** (the primary
    outcome; also given as the ratio of ratios). The per-group changes are within-group
    changes, not effects.

    **Decomposition.** Cost per insured year = prevalence (share of the group's
    person-years with ``outcome > 0``) × intensity (cost per GGZ patient) × persons per
    insured year; the relative changes of prevalence and intensity are reported.

    **Best practice.** The largest fall among the KBZ practices is an order statistic:
    picking the best of several overstates that practice's change, so it is reported
    as a description without interval or p-value. Each practice's change in table
    ``by_practice`` has the interval of its own persons (about that practice only).

    **New patients.** Persons with a follow-year person-year with ``outcome > 0`` and a
    base-year person-year with ``outcome == 0``; group of the follow-year practice;
    compared on their follow-year cost per person. ``new_patient_difference`` is the
    unadjusted difference of means (the published comparison). New patients of KBZ and
    control practices may differ for reasons older than KBZ, so the primary
    new-patient row, ``new_patient_ratio_baseline_adjusted``, divides the KBZ/control
    ratio of mean costs by the same ratio among the new patients of the placebo year
    (``new_patient_ratio_placebo``): a difference in differences of the log cost ratio.
    The placebo lookback is one year by default (the analysis uses ``follow − base``
    years); the comparison holds if that affects both groups alike. The Gamma GLMs
    (log link; broad age groups and sex) give the same comparisons adjusted for age
    and sex.

    **Intervals** (``inference="practice"``). Every group-level estimate is a smooth
    function of the groups' sums, so the practices' sums carry the information: the
    delete-one-practice jackknife stratified by group, then the wild cluster
    bootstrap-t or a Satterthwaite t (:class:`kbz_eval.stats.practice.PracticeInference`);
    ``p_randomisation`` permutes the group labels over the practices for the
    comparisons of KBZ with control practices. The GLM rows use the CR2 sandwich by
    practice with Bell–McCaffrey degrees of freedom. With one practice in a group there
    is no practice-level number (NaN and a warning). ``difference_in_change_persons_only``
    (and every row with ``inference="person"``) uses the person bootstrap — persons
    resampled within their group, all their years kept, BCa or percentile — which
    ignores variation between practices; the person-level GLM uses HC1. Secondary rows
    get Holm-adjusted p-values (``p_adjusted``).

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
    check_option("inference", inference)
    check_option("practice_method", practice_method)
    n_boot = cc.check_n_boot(n_boot)
    interval = cc.check_choice("interval", interval, cc.INTERVAL_OPTIONS)
    seed, alpha = cc.check_seed(seed), cc.check_alpha(alpha)
    placebo, required, notes = _placebo(panel, base_year, follow_year, placebo_years)
    adjusted = adjust == "age_sex"
    design, rows, cp = _prepared_rows(
        panel, practices, (base_year, follow_year), placebo, outcome,
        population=population, required=required, adjusted=adjusted, reference=reference)
    cells = _cells(rows, design, adjusted=adjusted)
    del rows
    if (cells.observed[_V["insured_years"], :, :FOLLOW + 1] == 0).any():
        raise SpecificationError(
            f"A group has no insured years in {design.base} or {design.follow} "
            f"({cc.describe_population(population)}).")
    inf = _inference(cells, adjusted=adjusted, inference=inference,
                     practice_method=practice_method, n_boot=n_boot, interval=interval,
                     seed=seed, alpha=alpha)
    # the person sums are resampled: the matrix goes before the GLM and the tables
    cells = replace(cells, person_matrix=None)
    return _assemble(inf, cells, cp, notes, outcome=outcome, population=population,
                     adjust=adjust, reference=reference, n_boot=n_boot, interval=interval,
                     seed=seed)


def _assemble(inf: _Inference, cells: _Cells, cp: cc.ClaimsPanel, notes: list[str], *,
              outcome: str, population: str, adjust: str, reference: Any, n_boot: int,
              interval: str, seed: int | None) -> GgzChangeResult:
    """Rows, tables, messages, method and settings of the result."""
    counts = _counts(cells)
    tables = {**_group_tables(inf, cells), "by_practice": _practice_table(inf, cells),
              "new_patients": _new_patient_table(inf, cells)}
    best, best_note = _best_practice_row(tables["by_practice"], outcome, cells.design)
    glm, glm_notes = _new_patient_glm(cells, outcome, level=inf.level, alpha=inf.alpha)
    rows = [*_term_rows(inf, _TERMS, counts), best,
            *_term_rows(inf, _NEW_PATIENT_TERMS, counts), *_glm_rows(glm, counts, inf.level)]
    if adjust == "age_sex":
        rows += _term_rows(inf, _ADJUSTED_TERMS, counts)
    messages = [*cells.notes, *notes, *_placebo_notes(cells.design, cp.practices),
                best_note, *glm_notes,
                cc.sparse_cells_message(tables["by_group_year"], ["group", "year"]),
                cc.sparse_cells_message(tables["by_practice"], ["practice_id"]),
                cc.sparse_cells_message(tables["new_patients"], ["comparison", "group"]),
                _level_message(inf)]
    d = cells.design
    estimates = mark_family(tidy_frame(rows), PRIMARY)
    untested = estimates["term"].isin([*_UNTESTED, best["term"]])
    estimates.loc[untested, "role"] = "descriptive"
    return GgzChangeResult(
        estimates=estimates,
        tables=tables,
        method=_method(inf, cells, outcome=outcome, population=population,
                       interval=interval, seed=seed),
        settings={"base_year": d.base, "follow_year": d.follow,
                  "placebo_years": None if d.placebo is None else list(d.placebo),
                  "population": population, "outcome": outcome, "adjust": adjust,
                  "reference": reference if isinstance(reference, str) else "table",
                  "inference": inf.level, "practice_method": inf.practice.method,
                  "n_boot": n_boot, "interval": interval, "seed": seed,
                  "person_interval_method": inf.boot.method,
                  "alpha": inf.alpha, "n_practices_kbz": inf.practice.n_kbz,
                  "n_practices_control": inf.practice.n_control,
                  "practice_randomisation_exact": inf.practice.exact,
                  "n_person_years_outside_practices": cp.n_rows_outside},
        warnings=cc.emit(messages),
    )


__all__ = ["GgzChangeResult", "NEW_PATIENT_AGE_BREAKS", "ggz_change"]
