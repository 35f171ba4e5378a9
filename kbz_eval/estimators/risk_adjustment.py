"""Risk adjustment by indirect standardisation on age band × sex: ``kbz.risk_adjustment``.

Costs depend strongly on age and sex, and the KBZ and control practices differ in both.
Indirect standardisation asks: what would this group have cost if each of its persons
had cost what a person of the same age band and sex costs in a *reference* population?
That is the *expected* cost ``E``; the ratio ``O/E`` of observed to expected cost says
how much more (> 1) or less (< 1) a group costs than its age/sex mix predicts.

The numerics are :mod:`kbz_eval.stats.standardise` (written once); this module adds the
claims-specific reference choices (:func:`expected_values`, used by the
``adjust="age_sex"`` variants of :func:`kbz_eval.savings` and :func:`kbz_eval.ggz_change`)
and the inference: KBZ against control practices at the practice level (the unit KBZ is
assigned to), each practice's own O/E with its own interval.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from kbz_eval import tables
from kbz_eval.errors import SpecificationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats import standardise
from kbz_eval.stats.multiplicity import mark_family
from kbz_eval.stats.options import Inference, PracticeMethod, allowed, check_option
from kbz_eval.stats.practice import (
    PERSONS_ONLY,
    PracticeInference,
    PracticeSums,
    impossible_message,
)
from kbz_eval.stats.pvalues import format_p

#: Allowed string values of ``reference``.
REFERENCE_OPTIONS: tuple[str, ...] = allowed("reference")
#: Allowed values of ``by``.
BY_OPTIONS: tuple[str, ...] = ("group", "practice")
#: The strata of the standardisation.
STRATA = ("age_band", "sex")
KBZ, CONTROL = 0, 1  # group axis of the cell sums (cc.GROUPS order)
#: The values summed per cell (column blocks of the practice sums).
VALUES = ("observed", "expected")

Reference = Literal["pooled", "control"] | pd.DataFrame

#: What a per-practice interval is about.
OWN_PRACTICE = ("descriptive: this practice's own O/E, interval from its persons "
                "(about this practice only)")


class RiskAdjustmentResult(Result):
    """Result of :func:`risk_adjustment`: observed/expected ratios per unit and year.

    ``tidy()`` rows ``oe_<unit>_<year>``: the O/E ratio with its interval and the p-value
    of O/E = 1 (extra columns ``unit``, ``year``); with ``by="group"`` also
    ``oe_kbz_vs_control_<year>`` (KBZ O/E / control O/E, p-value of 1, randomisation
    p over practice relabellings) and, with ``inference="practice"``, one
    ``oe_kbz_vs_control_<last year>_persons_only`` row. Columns ``inference``
    (``"practice"``/``"person"``), ``df``, ``p_randomisation``, ``note``; with
    ``by="group"`` also ``role`` and Holm ``p_adjusted`` (primary: the last year's
    comparison).

    ``tables``: ``observed_expected`` (unit, group, year, ``n_persons``, insured years,
    observed, expected, O/E with interval, crude and standardised rate per insured year),
    ``reference_rates`` (age band × sex rates of the reference population, with
    ``n_persons``; empty strata omitted) and, with ``by="group"``, ``kbz_vs_control``
    (the ratio of the O/E ratios per year).
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
        """By group: the last year's O/E of both groups and their ratio with its
        (practice-level) interval and p; by practice: each practice's O/E."""
        t = self.tables["observed_expected"]
        s = self.settings
        year = int(t["year"].max())
        last = t[t["year"] == year]
        head = (f"O/E of {s['outcome']} in {year} (reference: {s['reference']}): ")
        if s["by"] == "practice":
            return head + ", ".join(
                f"{r.unit} {r.oe_ratio:.3f} ({r.ci_lower:.3f}–{r.ci_upper:.3f})"
                for r in last.itertuples()) + f" ({OWN_PRACTICE})"
        oe = last.set_index("unit")["oe_ratio"]
        row = self.estimates.set_index("term").loc[f"oe_kbz_vs_control_{year}"]
        level = f"{100 * (1 - s['alpha']):g}%"
        if np.isfinite(row["ci_lower"]):
            how = ("practice-level" if row["inference"] == "practice" else PERSONS_ONLY)
            ci = (f"{level} CI {row['ci_lower']:.3f}–{row['ci_upper']:.3f}, {how}, "
                  f"{format_p(row['p_value'])}")
        else:
            ci = (f"no practice-level interval: {s['n_practices_kbz']} KBZ and "
                  f"{s['n_practices_control']} control practice(s)")
        return (head + f"KBZ practices {oe['kbz']:.3f}, control practices "
                f"{oe['control']:.3f}; KBZ / control {row['estimate']:.3f} ({ci})")


# --------------------------------------------------------------------------- reference
def reference_rates(frame: pd.DataFrame, outcome: str, mask: np.ndarray | None = None
                    ) -> pd.DataFrame:
    """Rate per insured year of ``outcome`` per age band × sex over the rows in ``mask``.

    Columns ``age_band, sex, n_persons, insured_years, total, rate``; strata without
    exposure are left out. ``n_persons`` counts distinct persons (``person`` codes).
    """
    # only the columns the rates need are selected, not a copy of every column
    needed = list(dict.fromkeys([*STRATA, outcome, "iy", "person"]))
    f = frame if mask is None else frame[needed][mask]
    rates = standardise.stratum_rates(f, value=outcome, exposure="iy", strata=STRATA)
    persons = _stratum_persons(f)
    if persons is None or len(persons) != len(rates):
        persons = f.groupby(list(STRATA), observed=True, sort=True)["person"].nunique(
            ).to_numpy()
    out = pd.DataFrame({
        "age_band": rates["age_band"], "sex": rates["sex"],
        "n_persons": persons, "insured_years": rates["iy"],
        "total": rates[outcome], "rate": rates["rate"]})
    return out[out["insured_years"] > 0].reset_index(drop=True)


def _stratum_persons(f: pd.DataFrame) -> np.ndarray | None:
    """Distinct persons per observed age band × sex, in the order of
    ``groupby(STRATA, observed=True, sort=True)``, counted on the category codes.

    A ``groupby(...).nunique()`` hashes every person code of every stratum; here rows
    sorted by person (as :func:`kbz_eval.estimators.claims_common.prepare_claims` gives)
    are counted by comparing neighbours. ``None`` when the strata are not categorical
    or the persons are not sorted: the caller then counts with ``nunique``.
    """
    if not all(isinstance(f[c].dtype, pd.CategoricalDtype) for c in STRATA):
        return None
    person = f["person"].to_numpy()
    if not cc.non_decreasing(person):
        return None
    bands = f["age_band"].cat.categories
    band = f["age_band"].cat.codes.to_numpy()
    sex = f["sex"].cat.codes.to_numpy()
    n_sex = len(f["sex"].cat.categories)
    n_codes = len(bands) * n_sex
    # counted in age order: a person's age band only grows, so each person's strata
    # are then non-decreasing and the count needs no sort (categories are in text
    # order, where 5-9 comes after 10-14)
    age_rank = _age_order(bands)
    known = (band >= 0) & (sex >= 0)  # a missing category is no group (dropna)
    if not known.all():
        person, band, sex = person[known], band[known], sex[known]
    key = age_rank[band] * n_sex + sex.astype(np.int32)
    by_key = _distinct_persons_per_code(person, key, n_codes)
    # back to (band, sex) code order: the order of the sorted groups of two categoricals
    band_code, sex_code = np.divmod(np.arange(n_codes), n_sex)
    counts = by_key[age_rank[band_code] * n_sex + sex_code]
    return counts[counts > 0]


def _age_order(bands: pd.Index) -> np.ndarray:
    """Rank (``int32``) of each age band category in age order
    (:data:`kbz_eval.tables.AGE_BANDS`); other categories after them, in their order."""
    position = {b: i for i, b in enumerate(tables.AGE_BANDS)}
    where = [position.get(b, len(position) + i) for i, b in enumerate(bands)]
    return np.argsort(np.argsort(where, kind="stable"), kind="stable").astype(np.int32)


def _distinct_persons_per_code(person: np.ndarray, code: np.ndarray, n_codes: int
                              ) -> np.ndarray:
    """Number of distinct persons per code ``0 .. n_codes - 1``.

    Parameters
    ----------
    person
        Person code per row, non-decreasing (rows sorted by person).
    code
        Code ``0 .. n_codes - 1`` per row.
    n_codes
        Number of codes.

    Returns
    -------
    numpy.ndarray
        ``int64`` count per code.

    Notes
    -----
    A (person, code) pair starts where the person or the code differs from the row
    before. When each person's codes never decrease (an age band grows with the year),
    equal pairs are next to each other and every start is a new pair. Otherwise the
    rows are put in code order by a stable sort, which keeps each code's persons
    sorted, and the starts are counted there.
    """
    if len(code) == 0:
        return np.zeros(n_codes, dtype=np.int64)
    same_person = person[1:] == person[:-1]
    if (same_person & (code[1:] < code[:-1])).any():
        # the smallest unsigned type: NumPy sorts 8- and 16-bit integers by radix sort
        order = np.argsort(code.astype(np.min_scalar_type(max(n_codes - 1, 0))),
                           kind="stable")
        person, code = person[order], code[order]
        same_person = person[1:] == person[:-1]
    start = np.ones(len(code), dtype=bool)
    start[1:] = ~same_person | (code[1:] != code[:-1])
    return np.bincount(code[start], minlength=n_codes).astype(np.int64)


def _external_rates(reference: pd.DataFrame) -> pd.DataFrame:
    needed = ["age_band", "sex", "rate"]
    missing = [c for c in needed if c not in reference.columns]
    if missing:
        raise SpecificationError(
            f"A `reference` table must have the columns {needed}, but {missing} are "
            "missing. Give the reference rate per insured year per age band and sex."
        )
    bands = cc.plain_ascii_texts(reference["age_band"])
    sexes = cc.plain_ascii_texts(reference["sex"])
    if bands is not None and sexes is not None:
        # plain ASCII text without surrounding whitespace: stripping is the identity and
        # str.upper pandas' upper case, so pandas' string methods are not needed
        band_text = np.array(bands, dtype=object).astype(str)
        sex_text = np.array([s.upper() for s in sexes], dtype=object).astype(str)
    else:
        band_text = reference["age_band"].astype("string").str.strip().to_numpy(
            dtype=object).astype(str)
        sex_text = reference["sex"].astype("string").str.strip().str.upper().to_numpy(
            dtype=object).astype(str)
    out = pd.DataFrame({
        "age_band": band_text,
        "sex": sex_text,
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
        ``expected = insured years × rate of the row's stratum``
        (:func:`kbz_eval.stats.standardise.expected`); the rate table; the crude rate of
        the reference population (for standardised rates; for an external table the mean
        of the internal expected per insured year); a description of the reference;
        notes (strata without reference exposure, whose rows get the crude rate).
    """
    f = cp.frame
    notes: list[str] = []
    if isinstance(reference, pd.DataFrame):
        rates = _external_rates(reference)
        desc = "a user-supplied table of age band × sex rates"
        ref_mask = None
    else:
        cc.check_choice("reference", reference, REFERENCE_OPTIONS)
        ref_mask = None if reference == "pooled" else (f["group"].to_numpy() == "control")
        rates = reference_rates(f, outcome, ref_mask)
        desc = ("all person-years analysed (both groups, all analysed years)"
                if reference == "pooled" else "the control person-years analysed")
    exp = _expected_by_codes(f, rates)
    unmatched = np.isnan(exp)
    iy = f["iy"].to_numpy()
    if isinstance(reference, pd.DataFrame):
        if unmatched.any():
            missing = sorted(set(zip(f["age_band"].to_numpy()[unmatched],
                                     f["sex"].to_numpy()[unmatched], strict=True)))
            raise SpecificationError(
                f"`reference` has no rate for {len(missing)} age band × sex strata of the "
                f"panel, e.g. {missing[:4]}. Give a rate for every stratum."
            )
        crude = float(exp.sum() / iy.sum())
    else:
        # the reference's columns, not a copy of the frame's rows
        crude = float(_column(f, outcome, ref_mask).sum() / _column(f, "iy", ref_mask).sum())
        if unmatched.any():
            notes.append(
                f"{int(unmatched.sum())} person-year(s) are in age band × sex strata "
                "without reference exposure; their expected value uses the crude reference "
                "rate.")
    # the crude rate filled in place (exp is a new array): no second array of the rows
    exp[unmatched] = iy[unmatched] * crude
    return exp, rates, crude, desc, notes


def _column(f: pd.DataFrame, name: str, mask: np.ndarray | None) -> pd.Series:
    """Column ``name`` of the rows in ``mask`` (every row when ``None``)."""
    return f[name] if mask is None else f[name][mask]


# --------------------------------------------------------------------------- inference
def _expected_by_codes(f: pd.DataFrame, rates: pd.DataFrame) -> np.ndarray:
    """:func:`kbz_eval.stats.standardise.expected` over :data:`STRATA`, looked up by
    the categorical codes of the rows (a table of rates per age band × sex) instead of
    a join of every row: the same products of insured years and rates, without the
    join's copies of the rows. Other column types go through the join."""
    if not all(isinstance(f[c].dtype, pd.CategoricalDtype) for c in STRATA):
        return standardise.expected(f, rates, exposure="iy", strata=list(STRATA))
    rate_of: dict[tuple[Any, Any], float] = {}
    for band, sex, rate in zip(rates["age_band"], rates["sex"], rates["rate"], strict=True):
        rate_of.setdefault((band, sex), float(rate))
    bands, sexes = f["age_band"].cat.categories, f["sex"].cat.categories
    # one extra row and column of NaN: a missing value (code -1) has no rate
    table = np.full((len(bands) + 1, len(sexes) + 1), np.nan)
    for i, band in enumerate(bands):
        for j, sex in enumerate(sexes):
            table[i, j] = rate_of.get((band, sex), np.nan)
    rate = table[f["age_band"].cat.codes.to_numpy(), f["sex"].cat.codes.to_numpy()]
    # the product in place of the looked-up rates: one array of the rows, not two
    return np.multiply(f["iy"].to_numpy(dtype=float), rate, out=rate)


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
    return {"oe_ratio": float(r), "std_error": se,
            **_log_scale(float(r), se / r if r > 0 else np.nan, alpha)}


def _log_scale(ratio: float, se_log: float, alpha: float) -> dict[str, float]:
    """Normal interval of a ratio on the log scale and the p-value of ratio = 1."""
    if not (ratio > 0 and np.isfinite(se_log) and se_log > 0):
        return {"ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan}
    # special.ndtri / ndtr(−x): what stats.norm.ppf / sf compute, without their checks
    z = special.ndtri(1 - alpha / 2)
    return {"ci_lower": float(ratio * np.exp(-z * se_log)),
            "ci_upper": float(ratio * np.exp(z * se_log)),
            "p_value": float(2 * special.ndtr(-(abs(np.log(ratio)) / se_log)))}


def _oe_statistic(sums: np.ndarray, *, n_years: int) -> dict[str, np.ndarray]:
    """O/E per group and year and the KBZ / control ratio per year, from column sums
    laid out ``value × group × year`` (values :data:`VALUES`)."""
    cells = sums.reshape(sums.shape[0], len(VALUES), 2, n_years)
    oe = cc.safe_ratio(cells[:, 0], cells[:, 1])  # rows × group × year
    return {"oe": oe, "oe_kbz_vs_control": cc.safe_ratio(oe[:, KBZ], oe[:, CONTROL])}


@dataclass
class _Rows:
    """The columns the cell sums read, as arrays over the rows of the prepared frame."""

    person: np.ndarray
    iy: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    #: whether the person codes never decrease (rows sorted by person, as
    #: :func:`kbz_eval.estimators.claims_common.prepare_claims` gives them)
    persons_sorted: bool

    @classmethod
    def of(cls, f: pd.DataFrame, outcome: str, expected: np.ndarray) -> _Rows:
        """The arrays of ``f`` (no copy of the frame) and the expected values."""
        person = f["person"].to_numpy()
        return cls(person=person, iy=f["iy"].to_numpy(), observed=f[outcome].to_numpy(),
                   expected=expected, persons_sorted=cc.non_decreasing(person))

    def n_persons(self, positions: np.ndarray) -> int:
        """Distinct persons among the rows at ``positions`` (increasing positions)."""
        person = self.person[positions]
        if not self.persons_sorted:
            return int(np.unique(person).size)
        # the selected persons are sorted too: a new person differs from the row before
        return int(person.size and 1 + np.count_nonzero(person[1:] != person[:-1]))


@dataclass
class _Cells:
    """Rows grouped by an integer cell code, as ``groupby(..., sort=True)`` groups them.

    One stable sort of the codes puts each cell's rows next to each other, still in
    row order; a cell's rows are then a slice of ``order``. This replaces the sub-frames
    of a ``groupby`` (a sorted copy of every column) and a mask of every row per cell.
    """

    order: np.ndarray
    #: the codes that have rows, ascending
    codes: np.ndarray
    #: cell ``k`` (code ``codes[k]``) holds ``order[bounds[k]:bounds[k + 1]]``
    bounds: np.ndarray

    @classmethod
    def of(cls, code: np.ndarray, n_codes: int) -> _Cells:
        """Cells of the codes ``0 .. n_codes - 1`` (rows with a negative code left out)."""
        keep = code >= 0
        rows = None if keep.all() else np.flatnonzero(keep)
        if rows is not None:
            code = code[rows]
        # the smallest unsigned type: NumPy sorts 8- and 16-bit integers by radix sort
        small = code.astype(np.min_scalar_type(max(n_codes - 1, 0)), copy=False)
        order = np.argsort(small, kind="stable")
        if rows is not None:
            order = rows[order]
        counts = np.bincount(small, minlength=n_codes)
        present = np.flatnonzero(counts)
        bounds = np.zeros(present.size + 1, dtype=np.int64)
        np.cumsum(counts[present], out=bounds[1:])
        return cls(order=order, codes=present, bounds=bounds)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(code, row positions)`` per cell with rows, in code order."""
        for k, code in enumerate(self.codes.tolist()):
            yield code, self.order[self.bounds[k]:self.bounds[k + 1]]


def _cell(rows: _Rows, positions: np.ndarray, crude: float, alpha: float
          ) -> tuple[dict[str, float], dict[str, Any]]:
    """The person-level O/E inference and the ``observed_expected`` sums of one cell."""
    observed, expected = rows.observed[positions], rows.expected[positions]
    inf = oe_inference(observed, expected, alpha=alpha)
    return inf, _cell_row(rows, positions, observed, expected, crude, inf["oe_ratio"])


def _cell_row(rows: _Rows, positions: np.ndarray, observed: np.ndarray,
              expected: np.ndarray, crude: float, oe: float) -> dict[str, Any]:
    """Sums of one unit × year for the ``observed_expected`` table over the rows at
    ``positions`` (``observed`` and ``expected`` already taken from them), missing
    values skipped as pandas sums."""
    iy, obs = float(np.nansum(rows.iy[positions])), float(np.nansum(observed))
    return {"n_persons": rows.n_persons(positions), "insured_years": iy,
            "observed": obs, "expected": float(np.nansum(expected)),
            "oe_ratio": oe, "crude_rate": obs / iy, "standardised_rate": oe * crude}


@dataclass
class _GroupCells:
    """Per-practice sums, and per group × year the person-level O/E inference and the
    ``observed_expected`` sums."""

    years: tuple[int, ...]
    practice_sums: PracticeSums
    person: dict[tuple[int, int], dict[str, float]]  # (group, year) → oe_inference
    sums: dict[tuple[int, int], dict[str, Any]]  # (group, year) → _cell_row

    def n_persons(self, g: int, j: int) -> int:
        return int(self.sums[(g, j)]["n_persons"])


def _is_control(group: pd.Series) -> np.ndarray:
    """Whether each row's group is ``"control"``, looked up per category when the
    column is categorical (as prepared) instead of comparing text per row."""
    if isinstance(group.dtype, pd.CategoricalDtype):
        lut = np.array([c == "control" for c in group.cat.categories] + [False])
        return lut[group.cat.codes.to_numpy()]  # code -1 (missing) picks the False
    return group.to_numpy() == "control"


def _group_cells(f: pd.DataFrame, rows: _Rows, cp: cc.ClaimsPanel, crude: float,
                 alpha: float) -> _GroupCells:
    """The per-practice sums for practice-level inference and, per group × year, the
    person-level O/E inference and the cell sums."""
    years = tuple(int(y) for y in cp.years)
    j = cc.row_codes(f["year"], {y: i for i, y in enumerate(years)})
    ids = cp.practices["practice_id"].tolist()
    psums = PracticeSums.from_rows(
        cc.row_codes(f["practice_id"], {p: i for i, p in enumerate(ids)}), j,
        [rows.observed, rows.expected], is_kbz=cp.practices["group"].to_numpy() == "kbz",
        n_cells=len(years), practice_ids=ids)
    n_years = len(years)
    code = _is_control(f["group"]).astype(np.int64) * n_years + j
    del j
    person, sums = {}, {}
    for c, positions in _Cells.of(code, 2 * n_years):
        key = (c // n_years, c % n_years)
        person[key], sums[key] = _cell(rows, positions, crude, alpha)
    return _GroupCells(years, psums, person, sums)


def _person_comparison(k: dict[str, float], c: dict[str, float], alpha: float
                       ) -> dict[str, float]:
    """KBZ O/E / control O/E at the person level: the groups' persons are distinct
    within a year, so the log-scale variances add."""
    ratio = k["oe_ratio"] / c["oe_ratio"] if c["oe_ratio"] > 0 else np.nan
    se_log = float(np.hypot(k["std_error"] / k["oe_ratio"], c["std_error"] / c["oe_ratio"])
                   ) if k["oe_ratio"] > 0 and c["oe_ratio"] > 0 else np.nan
    return {"estimate": float(ratio), "std_error": float(ratio * se_log),
            **_log_scale(float(ratio), se_log, alpha)}


def _person_row(d: dict[str, float]) -> dict[str, Any]:
    return {"std_error": d["std_error"], "ci_lower": d["ci_lower"],
            "ci_upper": d["ci_upper"], "p_value": d["p_value"], "df": np.nan,
            "p_randomisation": np.nan, "inference": "person", "note": PERSONS_ONLY}


def _practice_row(pi: PracticeInference, term: str, index: tuple[int, ...], *,
                  randomisation: bool) -> dict[str, Any]:
    r = pi.infer(term, index, null=1.0)
    return {"std_error": r["std_error"], "ci_lower": r["ci_lower"],
            "ci_upper": r["ci_upper"], "p_value": r["p_value"], "df": r["df"],
            "p_randomisation": r["p_randomisation"] if randomisation else np.nan,
            "inference": "practice", "note": None}


def _by_group(f: pd.DataFrame, rows: _Rows, cp: cc.ClaimsPanel, crude: float, *,
              inference: str, practice_method: str, seed: int | None, alpha: float
              ) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame], PracticeInference]:
    """KBZ against control practices: O/E per group and year and their ratio, with
    intervals at the practice level (or the person level)."""
    cells = _group_cells(f, rows, cp, crude, alpha)
    n_years = len(cells.years)
    pi = PracticeInference(lambda s: _oe_statistic(s, n_years=n_years), cells.practice_sums,
                           method=practice_method, seed=seed, alpha=alpha)
    at_practice = inference == "practice"
    out, table, compare = [], [], []
    for (g, j), person in cells.person.items():
        group, year = cc.GROUPS[g], cells.years[j]
        level = (_practice_row(pi, "oe", (g, j), randomisation=False) if at_practice
                 else _person_row(person))
        cell = cells.sums[(g, j)]
        out.append({"term": f"oe_{group}_{year}", "estimate": person["oe_ratio"], **level,
                    "n": cell["n_persons"], "unit": group, "year": year})
        table.append({"unit": group, "group": group, "year": year, **cell,
                      **{k: level[k] for k in ("ci_lower", "ci_upper", "p_value")},
                      "inference": level["inference"]})
    last = None
    for j, year in enumerate(cells.years):
        if (KBZ, j) not in cells.person or (CONTROL, j) not in cells.person:
            continue
        person = _person_comparison(cells.person[(KBZ, j)], cells.person[(CONTROL, j)],
                                    alpha)
        level = (_practice_row(pi, "oe_kbz_vs_control", (j,), randomisation=True)
                 if at_practice else _person_row(person))
        n = min(cells.n_persons(KBZ, j), cells.n_persons(CONTROL, j))
        last = {"term": f"oe_kbz_vs_control_{year}", "estimate": person["estimate"],
                **level, "n": n, "unit": "kbz_vs_control", "year": year}
        out.append(last)
        compare.append({"year": year, "n_persons": n, "ratio": person["estimate"],
                        **{k: level[k] for k in ("ci_lower", "ci_upper", "p_value", "df",
                                                 "p_randomisation", "inference")}})
    if at_practice and last is not None:
        j = cells.years.index(last["year"])
        out.append({**last, "term": f"{last['term']}_persons_only", **_person_row(
            _person_comparison(cells.person[(KBZ, j)], cells.person[(CONTROL, j)], alpha))})
    return out, {"observed_expected": pd.DataFrame(table),
                 "kbz_vs_control": pd.DataFrame(compare)}, pi


def _practice_codes(practice_id: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Code per row and the practices in code order, the order in which
    ``groupby("practice_id", sort=True)`` gives them: a categorical's categories (as
    prepared), else the sorted distinct values."""
    if isinstance(practice_id.dtype, pd.CategoricalDtype):
        return (practice_id.cat.codes.to_numpy().astype(np.int64),
                list(practice_id.cat.categories))
    units, codes = np.unique(practice_id.to_numpy(), return_inverse=True)
    return codes.ravel().astype(np.int64), units.tolist()


def _by_practice(f: pd.DataFrame, rows: _Rows, cp: cc.ClaimsPanel, crude: float,
                 alpha: float) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Each practice's own O/E per year, with its own person-level interval."""
    group_of = dict(zip(cp.practices["practice_id"], cp.practices["group"], strict=True))
    years = sorted(int(y) for y in cp.years)
    n_years = len(years)
    practice, units = _practice_codes(f["practice_id"])
    # practice × year code in (practice, year) order; a missing practice (code -1) stays
    # negative and is left out, as groupby leaves out missing keys
    code = practice * n_years + cc.row_codes(f["year"], {y: i for i, y in enumerate(years)})
    code[practice < 0] = -1
    del practice
    out, table = [], []
    for c, positions in _Cells.of(code, len(units) * n_years):
        unit, year = units[c // n_years], years[c % n_years]
        inf, cell = _cell(rows, positions, crude, alpha)
        table.append({"unit": unit, "group": group_of[unit], "year": year, **cell,
                      **{k: inf[k] for k in ("ci_lower", "ci_upper", "p_value")},
                      "inference": "person"})
        out.append({"term": f"oe_{unit}_{year}", "estimate": inf["oe_ratio"],
                    **_person_row(inf), "note": OWN_PRACTICE, "n": cell["n_persons"],
                    "unit": unit, "year": year})
    return out, pd.DataFrame(table)


def _messages(by: str, inference: str, pi: PracticeInference | None,
              n_kbz: int, n_control: int) -> list[str | None]:
    """What the number of practices means for the intervals that were given."""
    if by == "practice":
        return []
    if inference == "person":
        return [f"inference='person': the intervals are {PERSONS_ONLY}; "
                "inference='practice' gives intervals at the unit KBZ is assigned to."]
    impossible = impossible_message(n_kbz, n_control)
    if impossible:
        return [impossible]
    if min(n_kbz, n_control) < cc.FEW_PRACTICES:
        how = ("wild cluster bootstrap-t, Webb weights" if pi.method == "wild"
               else "delete-one-practice (CR2) variance, Satterthwaite t")
        return [f"{n_kbz} KBZ and {n_control} control practices: the intervals and "
                f"p-values are practice-level ({how}; valid with few practices) and "
                "therefore wide; the `_persons_only` row shows the person-level interval "
                f"({PERSONS_ONLY})."]
    return []


def _method(outcome: str, by: str, desc: str, population: str, inference: str,
            pi: PracticeInference | None, alpha: float) -> str:
    level = f"{100 * (1 - alpha):g}%"
    text = (
        f"Indirect standardisation of {outcome} on five-year age band × sex. Expected = "
        f"insured years × the reference rate per insured year of the person's stratum; "
        f"reference: {desc}. O/E per {by} and year, {cc.describe_population(population)}; "
        "reference rates are held fixed in all inference. ")
    person = (f"{level} intervals (log scale) from the person-level variance of a ratio "
              f"estimator")
    if by == "practice":
        return text + (f"{person}, per practice: {OWN_PRACTICE}; no practice is tested "
                       "against the others.")
    text += ("The comparison of KBZ with the control practices is the ratio of their O/E "
             "ratios (KBZ / control) per year. ")
    if inference == "practice":
        return text + (f"{pi.describe()[:-1]}; the null of every O/E and ratio is 1. "
                       f"The `_persons_only` row gives the {person} ({PERSONS_ONLY}; "
                       "log-scale variances of the two groups added).")
    return text + f"{person} ({PERSONS_ONLY})."


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
    inference: Inference = "practice",
    practice_method: PracticeMethod = "wild",
    seed: int | None = 0,
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
        Units to compare: ``"group"`` (KBZ vs control practices) or ``"practice"``
        (each practice's own O/E, descriptive).
    reference
        Reference population for the stratum rates: ``"pooled"`` (every analysed
        person-year, both groups and all analysed years — the default), ``"control"``
        (the control person-years), or a DataFrame with columns ``age_band, sex, rate``
        (rate per insured year, e.g. national figures).
    inference
        With ``by="group"``: ``"practice"`` (default; the practices are the independent
        units, as KBZ is assigned to practices) or ``"person"`` (persons only — ignores
        variation between practices). Not used with ``by="practice"``.
    practice_method
        ``"wild"`` (default): wild cluster bootstrap-t with Webb weights; ``"cr2"``:
        delete-one-practice (CR2) variance with a Satterthwaite t reference.
    seed
        Seed of the wild bootstrap weights and of a random subset of practice
        relabellings (when there are too many to enumerate).
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
    *standardised rate* is ``O/E × crude reference rate``. The numerics are
    :mod:`kbz_eval.stats.standardise`.

    **The effect** (``by="group"``) is the ratio of the O/E ratios, KBZ / control
    practices, per year (1: no difference beyond age and sex). With
    ``inference="practice"`` its interval and p-value, and those of each group's O/E,
    are practice-level (:class:`kbz_eval.stats.practice.PracticeInference`: the
    delete-one-practice jackknife stratified by group, then the wild cluster
    bootstrap-t or a Satterthwaite t), and ``p_randomisation`` permutes the group labels
    over the practices. With one practice in a group there is no practice-level number
    (NaN and a warning). The person-level interval — the ratio-estimator variance over
    persons on the log scale — is shown in the ``_persons_only`` row (and in every row
    with ``inference="person"``); it ignores variation between practices.

    With ``by="practice"`` each practice's O/E has the person-level interval of that
    practice: a description of the practice, not a test of KBZ.

    All intervals treat the reference rates as known (usual for indirect
    standardisation; with an internal reference the stated precision is slightly too
    high).

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
    check_option("inference", inference)
    check_option("practice_method", practice_method)
    seed, alpha = cc.check_seed(seed), cc.check_alpha(alpha)
    if not isinstance(reference, pd.DataFrame):
        cc.check_choice("reference", reference, REFERENCE_OPTIONS)
    cp = cc.prepare_claims(panel, practices, population=population, values=[outcome],
                           years=years, need_age_sex=True)
    expected, rates, crude, desc, notes = expected_values(cp, outcome, reference)
    # the cells read the frame's arrays and the expected values: no copy of the frame
    f = cp.frame
    rows = _Rows.of(f, outcome, expected)
    del expected
    n_kbz = int((cp.practices["group"] == "kbz").sum())
    n_control = len(cp.practices) - n_kbz
    pi = None
    if by == "group":
        terms, out_tables, pi = _by_group(f, rows, cp, crude, inference=inference,
                                          practice_method=practice_method, seed=seed,
                                          alpha=alpha)
    else:
        terms, table = _by_practice(f, rows, cp, crude, alpha)
        out_tables = {"observed_expected": table}
    del rows
    messages = [*notes, cc.sparse_cells_message(out_tables["observed_expected"],
                                                ["unit", "year"]),
                *_messages(by, inference, pi, n_kbz, n_control)]
    emitted = cc.emit(messages)
    estimates = tidy_frame(terms)
    comparisons = [r["term"] for r in terms if r["unit"] == "kbz_vs_control"
                   and not r["term"].endswith("_persons_only")]
    if comparisons:  # primary: the last year's KBZ / control comparison
        estimates = mark_family(estimates, (comparisons[-1],))
    ref_table = rates.rename(columns={"total": outcome})
    if "n_persons" not in ref_table:
        ref_table.insert(2, "n_persons", pd.array([pd.NA] * len(ref_table), dtype="Int64"))
    return RiskAdjustmentResult(
        estimates=estimates,
        tables={**out_tables, "reference_rates": ref_table},
        method=_method(outcome, by, desc, population, inference, pi, alpha),
        settings={"outcome": outcome, "population": population, "years": list(cp.years),
                  "by": by, "reference": reference if isinstance(reference, str)
                  else "table", "inference": inference, "practice_method": practice_method,
                  "seed": seed, "alpha": alpha, "crude_reference_rate": crude,
                  "n_practices_kbz": n_kbz, "n_practices_control": n_control},
        warnings=emitted,
    )


__all__ = ["BY_OPTIONS", "REFERENCE_OPTIONS", "Reference", "RiskAdjustmentResult",
           "expected_values", "oe_inference", "reference_rates", "risk_adjustment"]
