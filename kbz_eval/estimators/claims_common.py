"""Shared machinery of the claims analyses (Aim 3: efficiency).

:func:`kbz_eval.dbc_index`, :func:`kbz_eval.savings`, :func:`kbz_eval.ggz_change` and
:func:`kbz_eval.risk_adjustment` all start from the person-year panel (the
``person_years`` contract, e.g. from :func:`kbz_eval.build_panel`) and the ``practices``
table. This module holds what they share:

* **validation at the boundary** (:func:`prepare_claims`): column presence and types,
  allowed option values, years that must be in the panel; the caller's frames are never
  modified (only the needed columns are copied);
* **the definitions every analysis shares**: the group of a person-year is the group of
  its practice *that year*; exposure is ``tables.insured_years(insured_days, year)``;
  *per insured year* means a sum over person-years divided by the sum of insured years;
  ``population="minima"`` keeps the person-years with ``minima`` true (the municipal
  low-income policy that year), ``"all"`` keeps every person-year;
* **person-level aggregation** (:func:`person_cell_matrix`): per person, the sums of a
  value over the person-years in each analysis cell (group × year, practice × year...);
* **the person-level bootstrap stratified by group** (:func:`stratified_bootstrap_sums`):
  persons are resampled with replacement within their stratum (the set of groups they
  were in), keeping all their years, so the correlation of a person's costs over years
  is kept; it is vectorised as a matrix of resampling counts times the per-person sums,
  and :class:`SumsBootstrap` turns it into BCa (or percentile) intervals, the BCa
  acceleration coming from a leave-one-person-out jackknife computed from the same sums;
* **a Poisson GLM on cell sufficient statistics with person-clustered sandwich
  variance** (:func:`poisson_cell_glm`), exactly the row-level fit;
* **a practice-level randomisation check** (:func:`practice_assignments`,
  :func:`randomisation_p_value`): the group labels are permuted over the practices, which
  shows how unusual the observed contrast is among practice-level relabellings (the
  person-level intervals do not contain practice-level variation).

Small cells. Every published table carries ``n_persons``: the smallest number of
distinct persons the numbers in that row rest on (insured persons for rates per insured
year; patients for values about patients), so a report can suppress rows of fewer than
10 persons. No table ever holds a person id.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kbz_eval import tables
from kbz_eval.errors import (
    DataValidationError,
    SpecificationError,
    StatisticalWarning,
    Violation,
)
from kbz_eval.stats.bootstrap import (  # noqa: F401  (re-exported for the analyses)
    SumsBootstrap,
    bootstrap_inference,
    jackknife_acceleration,
    stratified_bootstrap_sums,
)
from kbz_eval.stats.codes import unique_codes
from kbz_eval.stats.glm import PoissonFit, poisson_cell_glm, poisson_newton  # noqa: F401
from kbz_eval.stats.options import (  # noqa: F401
    DEFAULT_N_BOOT,
    MIN_N_BOOT,
    Adjust,
    Inference,
    Interval,
    Population,
    PracticeMethod,
    allowed,
    check_alpha,
    check_n_boot,
    check_option,
    check_seed,
)
from kbz_eval.stats.practice import (  # noqa: F401
    MAX_ASSIGNMENTS,
    PERSONS_ONLY,
    PracticeInference,
    PracticeSums,
    practice_assignments,
    randomisation_p_value,
)

POPULATIONS: tuple[str, ...] = allowed("population")
ADJUST_OPTIONS: tuple[str, ...] = allowed("adjust")
INTERVAL_OPTIONS: tuple[str, ...] = allowed("interval")

#: The two groups of ``practices.group``; KBZ first.
GROUPS: tuple[str, str] = ("kbz", "control")

#: Cells resting on fewer persons than this get a :class:`StatisticalWarning`.
MIN_CELL_PERSONS = 10

#: Fewer practices than this in a group: practice-level variation is poorly known.
FEW_PRACTICES = 10

_TRUE_TEXT = {"true", "1", "yes", "ja", "j", "y", "t"}
_FALSE_TEXT = {"false", "0", "no", "nee", "n", "f"}


# --------------------------------------------------------------------------- options
def check_choice(name: str, value: Any, allowed_values: Sequence[Any]) -> Any:
    """:func:`kbz_eval.stats.options.check_option` with explicit allowed values."""
    return check_option(name, value, allowed_values)


def check_year(name: str, value: Any, available: Iterable[int]) -> int:
    """``value`` as an int that is one of the ``available`` years of the panel."""
    years = sorted({int(y) for y in available})
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SpecificationError(
            f"The value for `{name}` must be a calendar year (an integer), but {value!r} "
            "was passed."
        )
    if int(value) not in years:
        raise SpecificationError(
            f"The value for `{name}` must be a year in the panel {years}, but {value!r} "
            "was passed. Choose a year the extract covers."
        )
    return int(value)


def check_years(years: Any, available: Iterable[int]) -> tuple[int, ...]:
    """The analysed years: all ``available`` ones (``None``) or a checked subset."""
    have = sorted({int(y) for y in available})
    if years is None:
        return tuple(have)
    if isinstance(years, (str, bytes)) or not isinstance(years, Iterable):
        raise SpecificationError(
            f"The value for `years` must be None or a list of calendar years, but "
            f"{years!r} was passed."
        )
    out = []
    for y in years:
        out.append(check_year("years", y, have))
    if not out:
        raise SpecificationError("The value for `years` must name at least one year.")
    return tuple(sorted(set(out)))


# --------------------------------------------------------------------------- panel
@dataclass
class ClaimsPanel:
    """A validated copy of the panel, restricted to the population and years.

    Attributes
    ----------
    frame
        One row per person-year, sorted by person and year, with columns ``person``
        (integer code; persons sorted by their id), ``year``, ``practice_id`` (str),
        ``group`` (``"kbz"``/``"control"``), ``iy`` (insured years), the requested value
        columns (float), and ``sex``/``age_band`` when asked for.
    n_persons
        Number of distinct persons (codes ``0 .. n_persons - 1``).
    strata
        Bootstrap stratum code per person: the set of groups the person was in.
    practices
        The practices with person-years in ``frame``: ``practice_id``, ``group``,
        ``kbz_start_year`` (float, NaN when empty), sorted by id.
    n_rows_outside
        Person-years dropped because their practice is not in ``practices``.
    population, years
        What was selected.
    """

    frame: pd.DataFrame
    n_persons: int
    strata: np.ndarray
    practices: pd.DataFrame
    n_rows_outside: int
    population: str
    years: tuple[int, ...]
    notes: list[str] = field(default_factory=list)

    def person_array(self) -> np.ndarray:
        """Person code of every row."""
        return self.frame["person"].to_numpy()


def _missing_columns(frame: pd.DataFrame, needed: Sequence[str], source: str,
                     table: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataValidationError(
            source=source, table=table,
            violations=[Violation(column=c, rule="required column is missing",
                                  detail=f"columns present: {sorted(map(str, frame.columns))}")
                        for c in missing],
        )


def _as_bool(series: pd.Series, column: str, source: str, table: str) -> np.ndarray:
    """A yes/no column as bool: bool dtype, 0/1 numbers or true/false text."""
    if pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isin(values, (0.0, 1.0))
        if not bad.any():
            return values == 1.0
    else:
        text = series.astype("string").str.strip().str.lower()
        is_true = text.isin(_TRUE_TEXT).to_numpy(dtype=bool)
        is_false = text.isin(_FALSE_TEXT).to_numpy(dtype=bool)
        bad = ~(is_true | is_false)
        if not bad.any():
            return is_true
    rows = np.flatnonzero(bad)[:5]
    raise DataValidationError(
        source=source, table=table,
        violations=[Violation(column=column, rule="must be true/false (or 1/0)",
                              n_rows=int(bad.sum()), rows=tuple(int(r) for r in rows),
                              values=tuple(str(series.iloc[r]) for r in rows))],
    )


def _as_number(series: pd.Series, column: str, source: str, table: str, *,
               minimum: float | None = None, positions: np.ndarray | None = None
               ) -> np.ndarray:
    """Finite floats (≥ ``minimum``); violations name rows by their position in the
    caller's frame (``positions`` maps the rows of ``series`` to it)."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    rule = "must be a finite number"
    if minimum is not None:
        bad |= values < minimum
        rule += f" ≥ {minimum:g}"
    if bad.any():
        rows = np.flatnonzero(bad)[:5]
        where = rows if positions is None else np.asarray(positions)[rows]
        raise DataValidationError(
            source=source, table=table,
            violations=[Violation(column=column, rule=rule + " (rows: positions in the "
                                  "DataFrame, from 0)", n_rows=int(bad.sum()),
                                  rows=tuple(int(r) for r in where),
                                  values=tuple(str(series.iloc[r]) for r in rows))],
        )
    return values


def _text_codes(series: pd.Series, *, upper: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Values as stripped text, coded: ``(codes, texts)`` with ``texts[codes]`` the
    text of every row (missing values as ``""``). Each distinct raw value is stripped
    once, so a column of millions of rows with a few dozen values costs one factorize."""
    if isinstance(series.dtype, pd.CategoricalDtype):  # already coded: no pass over rows
        codes, uniques = series.cat.codes.to_numpy(), series.cat.categories
    else:
        codes, uniques = pd.factorize(series)
    text = [str(v).strip() for v in uniques] + [""]
    if upper:
        text = [t.upper() for t in text]
    merged, texts = pd.factorize(pd.Index(text, dtype=object))
    merged = merged.astype(np.min_scalar_type(-len(texts)))  # the smallest signed type
    return merged[codes], np.asarray(texts, dtype=object)  # code -1 picks the trailing ""


def _text(series: pd.Series, *, upper: bool = False) -> np.ndarray:
    """Values as stripped text (object array; missing values as ``""``)."""
    codes, texts = _text_codes(series, upper=upper)
    return texts[codes]


def _categorical(codes: np.ndarray, texts: np.ndarray) -> pd.Categorical:
    """Coded text as a categorical whose categories are the used texts sorted as text.

    Sorted categories keep ``groupby``/``sort_values`` in the same order as plain text,
    while comparisons, ``map`` and grouping work on the few distinct values (a few
    dozen practices, two groups, two sexes, twenty age bands) instead of every row.
    """
    used = np.flatnonzero(np.bincount(codes, minlength=len(texts)))
    order = used[np.argsort(np.asarray(texts[used], dtype=str), kind="stable")]
    rank = np.full(len(texts), -1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    return pd.Categorical.from_codes(rank[codes],
                                     categories=pd.Index(texts[order], dtype=object))


def normalise_practices(practices: Any) -> pd.DataFrame:
    """``practice_id`` (str), ``group`` (``kbz``/``control``), ``kbz_start_year`` (float).

    Raises
    ------
    SpecificationError
        If ``practices`` is not a DataFrame.
    DataValidationError
        For missing columns, unknown groups or duplicated practice ids.
    """
    if not isinstance(practices, pd.DataFrame):
        raise SpecificationError(
            f"`practices` must be a pandas DataFrame (the practices table), but a "
            f"{type(practices).__name__} was passed."
        )
    _missing_columns(practices, ["practice_id", "group"], "practices", "practices")
    if "kbz_start_year" in practices.columns:
        start = pd.to_numeric(practices["kbz_start_year"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan)
    else:
        start = np.full(len(practices), np.nan)
    fast = _plain_practices(practices, start)
    if fast is not None:
        return fast
    pid = practices["practice_id"].astype("string").str.strip()
    group = practices["group"].astype("string").str.strip().str.lower()
    problems = []
    bad = ~group.isin(GROUPS).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad)[:5]
        problems.append(Violation(
            column="group", rule="must be one of kbz, control", n_rows=int(bad.sum()),
            rows=tuple(int(r) for r in rows),
            values=tuple(str(practices["group"].iloc[r]) for r in rows)))
    dup = pid.duplicated(keep=False).to_numpy(dtype=bool) | pid.isna().to_numpy(dtype=bool)
    if dup.any():
        rows = np.flatnonzero(dup)[:5]
        problems.append(Violation(
            column="practice_id", rule="unique and not empty", n_rows=int(dup.sum()),
            rows=tuple(int(r) for r in rows), values=tuple(str(pid.iloc[r]) for r in rows)))
    if problems:
        raise DataValidationError(source="practices", table="practices", violations=problems)
    out = pd.DataFrame({
        "practice_id": pid.to_numpy(dtype=object).astype(str),
        "group": group.to_numpy(dtype=object).astype(str),
        "kbz_start_year": start,
    })
    return out.sort_values("practice_id", kind="stable").reset_index(drop=True)


def plain_ascii_texts(column: pd.Series) -> list[str] | None:
    """The values of ``column`` when every one is ASCII text with nothing to strip;
    ``None`` otherwise (missing values, numbers, other text).

    For such text pandas' ``str.strip`` is the identity and its ``str.lower`` /
    ``str.upper`` are Python's, so a small table (practices, reference rates) can be
    normalised on the Python strings without pandas' string methods.
    """
    values = column.tolist()
    if all(type(v) is str and v.isascii() and v == v.strip() for v in values):
        return values
    return None


def _plain_practices(practices: pd.DataFrame, start: np.ndarray) -> pd.DataFrame | None:
    """:func:`normalise_practices` of a table whose ids and groups are plain ASCII text,
    computed on Python strings instead of through pandas' string methods (a few
    milliseconds per call that every claims analysis paid); ``None`` when the table
    is not plain or breaks a rule (the general path then checks and reports it).

    For ASCII text without surrounding whitespace, stripping is the identity and
    ``str.lower`` is pandas' lower case, and the sort by id is the same (ids unique).
    """
    ids = plain_ascii_texts(practices["practice_id"])
    groups = plain_ascii_texts(practices["group"])
    if ids is None or groups is None:
        return None
    groups = [g.lower() for g in groups]
    if len(set(ids)) < len(ids) or not set(groups) <= set(GROUPS):
        return None
    id_array = np.array(ids, dtype=object).astype(str)
    order = np.argsort(id_array, kind="stable")
    return pd.DataFrame({
        "practice_id": id_array[order],
        "group": np.array(groups, dtype=object).astype(str)[order],
        "kbz_start_year": start[order],
    })


def prepare_claims(
    panel: Any,
    practices: Any,
    *,
    population: str,
    values: Sequence[str],
    years: Sequence[int] | None = None,
    need_age_sex: bool = False,
    required_years: Sequence[tuple[str, Any]] = (),
) -> ClaimsPanel:
    """Validate and copy what an analysis needs from the panel.

    Inside :func:`shared_preparation`, the selection of a panel (population and years)
    is made once and reused by the next analyses of the same panel and selection.

    Parameters
    ----------
    panel
        Person-year panel (``person_years`` contract). Not modified.
    practices
        Practices table with ``practice_id`` and ``group``. Not modified.
    population
        ``"minima"`` or ``"all"``.
    values
        Value columns to copy as floats (costs ≥ 0, counts ≥ 0).
    years
        Years to keep; ``None``: every year of the panel.
    need_age_sex
        Also build ``sex`` and ``age_band`` (from ``age_band`` or ``birth_year``).
    required_years
        ``(parameter name, year)`` pairs that must be years of the panel; checked before
        anything else so the message names the parameter.

    Returns
    -------
    ClaimsPanel

    Raises
    ------
    SpecificationError
        Bad option values or years that are not in the panel.
    DataValidationError
        Missing columns or values that break the contract.
    """
    check_choice("population", population, POPULATIONS)
    if not isinstance(panel, pd.DataFrame):
        raise SpecificationError(
            f"`panel` must be a pandas DataFrame (the person-year panel), but a "
            f"{type(panel).__name__} was passed."
        )
    _check_columns(panel, population, values, need_age_sex)
    prac = normalise_practices(practices)
    shared = _SHARED[-1] if _SHARED else None
    year = None
    if shared is not None and shared.panel is panel:
        available = shared.available
    else:
        year = _whole_years(panel)
        available = distinct_years(year)
        if shared is not None:  # a new panel: what was kept of the last one is let go
            shared.panel, shared.available, shared.selection = panel, available, None
    for name, value in required_years:
        check_year(name, value, available)
    keep_years = check_years(years, available)

    key = (id(practices), population, keep_years)
    sel = shared.selection if shared is not None else None
    if sel is None or sel.key != key or sel.practices is not practices:
        if shared is not None:
            shared.selection = None  # let the last selection go before the next is made
        sel = _select(panel, practices, prac, population, keep_years,
                      _whole_years(panel) if year is None else year)
        sel.key = key
    out = sel.claims_panel(panel, values, need_age_sex)
    if shared is not None:  # kept for the next analysis, or left to this one alone
        shared.selection = sel if shared.keep else None
    return out


@dataclass
class _Selection:
    """The rows of a panel an analysis selects (population, years), in person-year
    order, with the columns made for them so far (:func:`prepare_claims`)."""

    practices: Any
    key: tuple[Any, ...]
    idx: np.ndarray | None  # panel positions of the selected rows (None: every row)
    order: slice | np.ndarray  # person-year order of the selected rows
    frame: pd.DataFrame  # the columns made so far
    n_persons: int
    strata: np.ndarray
    used: pd.DataFrame
    n_outside: int
    population: str
    years: tuple[int, ...]
    notes: list[str]

    def _column(self, panel: pd.DataFrame, name: str) -> pd.Series:
        return panel[name] if self.idx is None else panel[name].iloc[self.idx]

    def _add(self, panel: pd.DataFrame, values: Sequence[str], need_age_sex: bool) -> None:
        """Make the value (and age/sex) columns not made yet; every column is checked
        in row order (violations name the first rows), then put in person-year order."""
        src, tab, order = "panel", "person_years", self.order
        for col in values:
            if col not in self.frame.columns:
                self.frame[col] = _as_number(self._column(panel, col), col, src, tab,
                                               minimum=0, positions=self.idx)[order]
        if need_age_sex and "age_band" not in self.frame.columns:
            self.frame["sex"] = _sexes(self._column(panel, "sex"))[order]
            ages = [c for c in ("age_band", "birth_year") if c in panel.columns]
            sub = panel[ages] if self.idx is None else panel[ages].iloc[self.idx]
            year = sorted_year = self.frame["year"].to_numpy()
            if not isinstance(order, slice):  # the years in row order
                year = np.empty_like(sorted_year)
                year[order] = sorted_year
            self.frame["age_band"] = _age_bands(sub, year, src, tab)[order]

    def claims_panel(self, panel: pd.DataFrame, values: Sequence[str],
                     need_age_sex: bool) -> ClaimsPanel:
        """The :class:`ClaimsPanel` with the base columns and those asked for; its frame
        shares the selection's columns (pandas copies them before a change, so they
        stay intact)."""
        self._add(panel, values, need_age_sex)
        names = ["person", "year", "practice_id", "group", "iy",
                 *dict.fromkeys(values), *(("sex", "age_band") if need_age_sex else ())]
        return ClaimsPanel(frame=self.frame[names], n_persons=self.n_persons, strata=self.strata,
                           practices=self.used.copy(), n_rows_outside=self.n_outside,
                           population=self.population, years=self.years,
                           notes=list(self.notes))


def _select(panel: pd.DataFrame, practices: Any, prac: pd.DataFrame, population: str,
            keep_years: tuple[int, ...], year: np.ndarray) -> _Selection:
    """The rows of the population and years, with the base columns of
    :class:`ClaimsPanel` (person, year, practice, group, insured years)."""
    src, tab = "panel", "person_years"
    person_id = panel["person_id"]
    if person_id.isna().any():
        raise DataValidationError(source=src, table=tab, violations=[
            Violation(column="person_id", rule="not empty",
                      n_rows=int(person_id.isna().sum()))])
    p_codes, p_texts = _text_codes(panel["practice_id"])
    mask = in_years(year, keep_years)
    if population == "minima":
        mask &= _as_bool(panel["minima"], "minima", src, tab)
    # index into GROUP_TEXTS; -1: not listed
    group = _group_codes(p_texts, prac).astype(np.int8)[p_codes]
    n_outside = int((mask & (group < 0)).sum())
    mask &= group >= 0
    if not mask.any():
        raise DataValidationError(source=src, table=tab, violations=[
            Violation(column="practice_id", rule="no person-year of the selected "
                      f"population ({population}) and years {list(keep_years)} is at a "
                      "practice of `practices`")])

    idx = np.flatnonzero(mask)
    every = idx.size == len(panel)
    del mask

    def column(name: str) -> pd.Series:
        """One column of the selected rows (the panel's own when every row is kept)."""
        return panel[name] if every else panel[name].iloc[idx]

    person, n_persons = _person_codes(column("person_id"))
    sel_year = year if every else year[idx]
    del year
    order = _person_year_order(person, sel_year)
    # the selection is held once and never the panel
    data: dict[str, Any] = {"person": person[order], "year": sel_year[order]}
    del person
    picked = slice(None) if every else idx  # a slice: no copy when every row is kept
    data["practice_id"] = _categorical(p_codes[picked][order], p_texts)
    group = group[picked][order]
    data["group"] = _categorical(group, GROUP_TEXTS)
    is_kbz_row = group == 0  # GROUP_TEXTS[0] is "kbz"
    del p_codes, group
    data["iy"] = tables.insured_years(
        _as_number(column("insured_days"), "insured_days", src, tab, minimum=1,
                   positions=None if every else idx)[order],
        data["year"])
    del sel_year
    # rows are sorted by person and year: a repeated key is equal to the row before it
    person_s, year_s = data["person"], data["year"]
    dup = np.zeros(len(person_s), dtype=bool)
    dup[1:] = (person_s[1:] == person_s[:-1]) & (year_s[1:] == year_s[:-1])
    if dup.any():
        raise DataValidationError(source=src, table=tab, violations=[
            Violation(column="person_id", rule="person_id + year must be unique",
                      n_rows=int(dup.sum()))])
    del dup

    strata = _person_strata(person_s, is_kbz_row, n_persons)
    used = prac[prac["practice_id"].isin(pd.unique(data["practice_id"]))].reset_index(
        drop=True)
    notes = []
    if n_outside:
        notes.append(
            f"{n_outside} person-year(s) of the selection are at practices that are not in "
            "`practices`; they are left out."
        )
    return _Selection(practices=practices, key=(), idx=None if every else idx, order=order,
                      frame=pd.DataFrame(data, copy=False), n_persons=n_persons,
                      strata=strata, used=used, n_outside=n_outside, population=population,
                      years=keep_years, notes=notes)


@dataclass
class SharedPreparation:
    """What :func:`shared_preparation` keeps: the last panel's years and selection.

    Attributes
    ----------
    keep
        Whether the selection the next analysis makes or reuses is kept for the one
        after it (default ``True``). Set it to ``False`` before the last analysis of a
        selection (or one whose selection no other analysis shares), so that analysis
        holds the selection alone and can let it go as it goes on.
    """

    keep: bool = True
    panel: Any = None
    available: np.ndarray | None = None
    selection: _Selection | None = None


_SHARED: list[SharedPreparation] = []


@contextmanager
def shared_preparation() -> Iterator[SharedPreparation]:
    """Within this block, :func:`prepare_claims` makes each selection of a panel once.

    An analysis that selects the same rows of the same panel and practices table (the
    same objects, the same population and years) as the one before reuses that
    selection's checked columns and adds only those it lacks; a different selection
    replaces it, so at most one is held. The panel and the practices table must not be
    changed inside the block. The report runs its claims analyses in one such block,
    those with the same selection one after another, and sets
    :attr:`SharedPreparation.keep` so a selection is held only while another analysis
    will use it.

    Examples
    --------
    >>> with shared_preparation() as sharing:  # doctest: +SKIP
    ...     a = kbz.savings(panel, practices, population="all")
    ...     sharing.keep = False  # the last analysis of this selection
    ...     b = kbz.risk_adjustment(panel, practices)
    """
    sharing = SharedPreparation()
    _SHARED.append(sharing)
    try:
        yield sharing
    finally:
        _SHARED.pop()


def _person_year_order(person: np.ndarray, year: np.ndarray) -> slice | np.ndarray:
    """The order that sorts rows by person, then year: ``slice(None)`` when they
    already are (as the engine's panel is), so no copy is made by indexing with it."""
    if len(person) < 2:
        return slice(None)
    before, after = person[:-1], person[1:]
    if (after >= before).all():  # compared in place: no array of differences
        in_order = year[1:] >= year[:-1]
        in_order |= after != before
        if in_order.all():
            return slice(None)
    return np.lexsort((year, person))


def distinct_years(year: np.ndarray) -> np.ndarray:
    """``np.unique(year)`` of whole-number years; counted over the span of years
    when it is short (a column of millions of rows spans a few years), which takes a
    fraction of the time of hashing or sorting every row."""
    return unique_codes(np.asarray(year))


def in_years(year: np.ndarray, years: Sequence[int]) -> np.ndarray:
    """``np.isin(year, years)``: by one comparison per year when there are few."""
    year = np.asarray(year)
    if len(years) > 16 or not np.issubdtype(year.dtype, np.integer):
        return np.isin(year, years)
    mask = np.zeros(year.shape, dtype=bool)
    for y in years:
        mask |= year == y
    return mask


def _check_columns(panel: pd.DataFrame, population: str, values: Sequence[str],
                   need_age_sex: bool) -> None:
    """Every column the selection needs is in the panel."""
    needed = ["person_id", "year", "practice_id", "insured_days", *values]
    if population == "minima":
        needed.append("minima")
    if need_age_sex:
        needed.append("sex")
    _missing_columns(panel, list(dict.fromkeys(needed)), "panel", "person_years")
    if need_age_sex and "age_band" not in panel.columns and "birth_year" not in panel.columns:
        raise DataValidationError(
            source="panel", table="person_years",
            violations=[Violation(column="age_band", rule="age_band or birth_year is "
                                  "required for age/sex adjustment")],
        )


def _whole_years(panel: pd.DataFrame) -> np.ndarray:
    """The ``year`` column as integers (refused when not whole years)."""
    column = panel["year"]
    if isinstance(column.dtype, np.dtype) and np.issubdtype(column.dtype, np.integer):
        return column.to_numpy().astype(np.int64)  # whole numbers, never missing
    year = _as_number(column, "year", "panel", "person_years")
    if (year != np.round(year)).any():
        raise DataValidationError(source="panel", table="person_years", violations=[
            Violation(column="year", rule="must be a whole calendar year")])
    return year.astype(np.int64)


#: The group texts, in the order of the codes :func:`_group_codes` gives.
GROUP_TEXTS = np.array(["kbz", "control"], dtype=object)


def _group_codes(practice_texts: np.ndarray, prac: pd.DataFrame) -> np.ndarray:
    """Per practice text, the index of its group in :data:`GROUP_TEXTS` (``-1`` for
    practices not in ``practices``)."""
    index = {g: i for i, g in enumerate(GROUP_TEXTS)}
    group_of = {p: index[g] for p, g in zip(prac["practice_id"].tolist(),
                                            prac["group"].tolist(), strict=True)}
    return np.array([group_of.get(p, -1) for p in practice_texts], dtype=np.int64)


def _person_codes(person_id: pd.Series) -> tuple[np.ndarray, int]:
    """Persons coded in the order of their id (as text), so row order never matters.

    A categorical of text ids whose categories are already in text order (as
    :func:`kbz_eval.report.engine_inputs.read_panel` gives) is coded from its codes:
    the rank of each used category, with no hashing or sorting of the ids.
    """
    dtype = person_id.dtype
    if (isinstance(dtype, pd.CategoricalDtype) and dtype.categories.inferred_type == "string"
            and dtype.categories.is_monotonic_increasing):
        codes = person_id.cat.codes.to_numpy()
        used = np.zeros(len(dtype.categories), dtype=bool)
        used[codes] = True
        if used.all():  # every category used: its code is its rank
            return codes.astype(np.int64), len(used)
        rank = np.cumsum(used, dtype=np.int64) - 1
        return rank[codes], int(rank[-1]) + 1 if len(rank) else 0
    raw_codes, raw_ids = pd.factorize(person_id)
    id_text = pd.Index(raw_ids).astype(str).to_numpy(dtype=str)
    uniques, inverse = np.unique(id_text, return_inverse=True)
    return inverse.ravel()[raw_codes].astype(np.int64), len(uniques)


def _sexes(sex_column: pd.Series) -> pd.Categorical:
    """``M``/``F`` per row (refused otherwise)."""
    codes, texts = _text_codes(sex_column, upper=True)
    bad_text = ~np.isin(texts, ("M", "F"))
    bad = bad_text[codes]
    if bad.any():
        raise DataValidationError(source="panel", table="person_years", violations=[
            Violation(column="sex", rule="must be M or F", n_rows=int(bad.sum()),
                      values=tuple(str(v) for v in texts[pd.unique(codes[bad])][:5]))])
    return _categorical(codes, texts)


def _person_strata(person: np.ndarray, is_kbz_row: np.ndarray, n_persons: int
                   ) -> np.ndarray:
    """Bootstrap stratum per person (``person`` and ``is_kbz_row`` per row): 1 KBZ
    only, 2 control only, 3 both."""
    is_kbz = np.asarray(is_kbz_row, dtype=bool)
    has_kbz = np.zeros(n_persons, dtype=bool)
    has_kbz[person[is_kbz]] = True  # a person with any KBZ row
    has_ctl = np.zeros(n_persons, dtype=bool)
    has_ctl[person[~is_kbz]] = True
    return has_kbz.astype(np.int64) + 2 * has_ctl.astype(np.int64)


def _age_bands(sub: pd.DataFrame, year: np.ndarray, source: str, table: str
               ) -> pd.Categorical:
    bands = np.asarray(tables.AGE_BANDS, dtype=object)
    if "age_band" in sub.columns:
        codes, texts = _text_codes(sub["age_band"])
        known = {b: i for i, b in enumerate(bands)}
        band_of = np.array([known.get(t, -1 if t else -2) for t in texts], dtype=np.int64)
        index = band_of[codes]  # -2: empty, -1: not a band
    else:
        index = np.full(len(sub), -2, dtype=np.int64)
    missing = index == -2
    if missing.any():
        if "birth_year" not in sub.columns:
            raise DataValidationError(source=source, table=table, violations=[
                Violation(column="age_band", rule="not empty (no birth_year to derive it)",
                          n_rows=int(missing.sum()))])
        every = bool(missing.all())  # no band given (as in the engine's panel)
        birth = _as_number(sub["birth_year"] if every else
                           sub["birth_year"].iloc[np.flatnonzero(missing)], "birth_year",
                           source, table)
        age = np.subtract(year if every else year[missing], birth)
        np.maximum(age, 0, out=age)  # birth years are finite: no NaN to keep
        band = age.astype(np.int64)
        del age, birth
        band //= 5
        np.minimum(band, len(bands) - 1, out=band)
        if every:
            index = band
        else:
            index[missing] = band
    bad = index < 0
    if bad.any():
        raise DataValidationError(source=source, table=table, violations=[
            Violation(column="age_band", rule="one of the five-year bands "
                      f"{bands[0]} ... {bands[-1]}",
                      n_rows=int(bad.sum()),
                      values=tuple(str(v) for v in texts[codes[bad]][:5]))])
    return _categorical(index, bands)


# --------------------------------------------------------------------------- aggregation
def person_cell_matrix(person: np.ndarray, cell: np.ndarray, n_persons: int, n_cells: int,
                       values: Sequence[np.ndarray]) -> np.ndarray:
    """Per person, the sum of each value over that person's rows in each cell.

    Rows with ``cell < 0`` are ignored. Returns an array of shape
    ``(n_persons, len(values) * n_cells)``: value 0 in cells ``0 .. n_cells - 1``, then
    value 1, and so on.
    """
    keep = cell >= 0
    flat = person[keep] * n_cells + cell[keep]
    blocks = [
        np.bincount(flat, weights=np.asarray(v, dtype=float)[keep],
                    minlength=n_persons * n_cells).reshape(n_persons, n_cells)
        for v in values
    ]
    return np.hstack(blocks) if blocks else np.zeros((n_persons, 0))


def person_cell_sparse(person: np.ndarray, cell: np.ndarray, n_persons: int, n_cells: int,
                       values: Sequence[np.ndarray]) -> Any:
    """:func:`person_cell_matrix` as a SciPy CSR matrix (same layout and sums).

    For wide layouts where each person fills few columns (a cell per practice × year,
    say): millions of persons then take megabytes instead of gigabytes.

    Parameters
    ----------
    person
        Person code of every row (``0 .. n_persons - 1``).
    cell
        Cell code of every row (``0 .. n_cells - 1``); rows with ``cell < 0`` are
        ignored.
    n_persons, n_cells
        Number of persons (rows of the result) and cells per value.
    values
        One array per value, a number per row.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n_persons, len(values) * n_cells)`` with sorted column indices and no stored
        zeros: the per-person sums of value ``i`` in cell ``c`` at column
        ``i * n_cells + c``.

    Notes
    -----
    The matrix is assembled in its compressed form directly: the rows are grouped once
    by (person, cell), each value is summed per group with one ``bincount`` (rows of a
    group in their given order, as a sparse matrix sums duplicate entries) and its
    non-zero sums are placed in the rows. Memory stays at a few arrays of one number
    per row, instead of the coordinate triples of every value and row at once.
    """
    return person_cell_blocks(person, n_persons, [(cell, n_cells, values)])


class _CellGroups:
    """The rows of one layout grouped by (person, cell), in person-then-cell order."""

    def __init__(self, person: np.ndarray, cell: np.ndarray, n_persons: int,
                 n_cells: int) -> None:
        person, cell = np.asarray(person), np.asarray(cell)
        keep = cell >= 0
        self.every = bool(keep.all())
        self.keep = None if self.every else keep
        key = (person.astype(np.int64) * n_cells + cell) if self.every else (
            person[keep].astype(np.int64) * n_cells + cell[keep])
        self.order = None
        if key.size > 1 and not non_decreasing(key):
            self.order = np.argsort(key, kind="stable")
            key = key[self.order]
        first = np.ones(key.size, dtype=bool)
        first[1:] = key[1:] != key[:-1]
        pairs = key[first]
        del key
        self.n_pairs = pairs.size
        self.group = None  # (person, cell) group of every row, in key order; None: one row each
        if self.n_pairs < first.size:
            self.group = np.cumsum(first, dtype=np.int64)
            self.group -= 1
        del first
        small = max(n_persons, n_cells) < np.iinfo(np.int32).max
        self.row = (pairs // n_cells).astype(np.int32 if small else np.int64)
        self.col = (pairs - self.row.astype(np.int64) * n_cells).astype(self.row.dtype)

    def sums(self, v: np.ndarray) -> np.ndarray:
        """The sum of ``v`` (a number per row) in every group."""
        v = np.asarray(v, dtype=float)
        v = v if self.every else v[self.keep]
        if self.order is not None:
            v = v[self.order]
        if self.group is None:  # every group is one row: its sum is that row's value
            return v
        return np.bincount(self.group, weights=v, minlength=self.n_pairs)


def person_cell_blocks(person: np.ndarray, n_persons: int,
                       blocks: Sequence[tuple[np.ndarray, int, Sequence[np.ndarray]]]
                       ) -> Any:
    """Several :func:`person_cell_sparse` layouts side by side, as one CSR matrix.

    Parameters
    ----------
    person
        Person code of every row (``0 .. n_persons - 1``).
    n_persons
        Number of persons (rows of the result).
    blocks
        ``(cell, n_cells, values)`` per layout, as the arguments of
        :func:`person_cell_sparse`; its columns follow those of the layouts before it.

    Returns
    -------
    scipy.sparse.csr_matrix
        Equal to ``scipy.sparse.hstack`` of the layouts' matrices, built without holding
        them and their copy together.
    """
    from scipy import sparse

    grouped = [_CellGroups(person, cell, n_persons, n_cells)
               for cell, n_cells, values in blocks if len(values)]
    layouts = [(g, n_cells, values) for g, (_, n_cells, values)
               in zip(grouped, [b for b in blocks if len(b[2])], strict=True)]
    n_columns = sum(n_cells * len(values) for _, n_cells, values in blocks)
    shape = (n_persons, n_columns)
    if not layouts:
        return sparse.csr_matrix(shape)
    indptr = np.zeros(n_persons + 1, dtype=np.int64)
    for g, _, values in layouts:  # first pass: the number of non-zero sums per person
        for v in values:
            indptr[1:] += np.bincount(g.row[g.sums(v) != 0], minlength=n_persons)
    np.cumsum(indptr, out=indptr)
    nnz = int(indptr[-1])
    index_type = np.int32 if max(nnz, n_columns) < np.iinfo(np.int32).max else np.int64
    data = np.empty(nnz, dtype=float)
    indices = np.empty(nnz, dtype=index_type)
    offset = indptr[:-1].copy()  # where the next value's entries of each row start
    column = 0
    for g, n_cells, values in layouts:  # second pass: values in column order
        for v in values:
            s = g.sums(v)
            at = np.flatnonzero(s != 0)
            r = g.row[at]
            count = np.bincount(r, minlength=n_persons)
            before = np.cumsum(count) - count  # entries of this value in earlier rows
            pos = offset[r] + (np.arange(at.size) - before[r])
            data[pos] = s[at]
            indices[pos] = column + g.col[at]
            offset += count
            column += n_cells
            del s, at, r, pos, count, before
    return sparse.csr_matrix((data, indices, indptr.astype(index_type)), shape=shape)


# --------------------------------------------------------------------------- practices
def practice_year_sums(cp: ClaimsPanel, years: Sequence[int], columns: Sequence[str]
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Sums per practice × year of ``columns``: array ``(practices, years, columns)``.

    Returns the sums and the KBZ indicator per practice (practices as in
    ``cp.practices``).
    """
    f = cp.frame
    p_index = {p: i for i, p in enumerate(cp.practices["practice_id"])}
    y_index = {int(y): i for i, y in enumerate(years)}
    pi = f["practice_id"].map(p_index).to_numpy()
    yi = f["year"].map(y_index).to_numpy(dtype=float, na_value=np.nan)
    keep = ~np.isnan(yi)
    n_p, n_y = len(p_index), len(years)
    flat = pi[keep].astype(np.int64) * n_y + yi[keep].astype(np.int64)
    out = np.stack([
        np.bincount(flat, weights=f[c].to_numpy(dtype=float)[keep],
                    minlength=n_p * n_y).reshape(n_p, n_y)
        for c in columns
    ], axis=-1)
    return out, (cp.practices["group"].to_numpy() == "kbz")


# --------------------------------------------------------------------------- warnings
def few_practices_message(cp: ClaimsPanel, p_value: float | None = None) -> str | None:
    """The few-practices caveat, or ``None`` when both groups have enough practices."""
    counts = cp.practices["group"].value_counts()
    n_k, n_c = int(counts.get("kbz", 0)), int(counts.get("control", 0))
    if min(n_k, n_c) >= FEW_PRACTICES:
        return None
    text = (
        f"Only {n_k} KBZ and {n_c} control practices: the intervals are person-level "
        "(persons resampled or clustered) and do not contain variation between practices"
    )
    if p_value is not None and np.isfinite(p_value):
        text += (f"; the practice-level randomisation check (group labels permuted over "
                 f"practices) gives p = {p_value:.3g}")
    return text + "."


def sparse_cells_message(frame: pd.DataFrame, label_columns: Sequence[str],
                         *, column: str = "n_persons", minimum: int = MIN_CELL_PERSONS
                         ) -> str | None:
    """A warning text naming the rows of ``frame`` resting on fewer than ``minimum``."""
    below = frame[column] < minimum
    if not below.any():  # the usual case: nothing to name, no rows to select
        return None
    small = frame[below]
    names = ", ".join(
        "/".join(str(row[c]) for c in label_columns) for _, row in small.head(6).iterrows()
    )
    more = " ..." if len(small) > 6 else ""
    return (
        f"{len(small)} cell(s) rest on fewer than {minimum} persons ({names}{more}); their "
        "estimates are unstable and a published table must suppress them."
    )


def emit(messages: Iterable[str | None], *, stacklevel: int = 3) -> list[str]:
    """Raise each message as a :class:`StatisticalWarning`; return the non-empty ones."""
    out = [m for m in messages if m]
    for m in out:
        warnings.warn(m, StatisticalWarning, stacklevel=stacklevel)
    return out


def cell_labels(groups: Sequence[str], years: Sequence[int]) -> list[tuple[str, int]]:
    """``(group, year)`` pairs in cell-code order ``g * len(years) + y``."""
    return [(g, int(y)) for g in groups for y in years]


def cell_codes(cp: ClaimsPanel, years: Sequence[int], groups: Sequence[str] = GROUPS
               ) -> np.ndarray:
    """Cell code ``g * len(years) + y`` of every row; ``-1`` for other years."""
    f = cp.frame
    y_index = {int(y): i for i, y in enumerate(years)}
    g_index = {g: i for i, g in enumerate(groups)}
    if isinstance(f["group"].dtype, pd.CategoricalDtype):  # as prepare_claims codes it
        year = f["year"].to_numpy()
        code = np.full(year.size, -1, dtype=np.int64)
        for y, i in y_index.items():
            code[year == y] = i
        cats = f["group"].cat.categories
        g_of = np.array([g_index.get(c, -1) for c in cats] + [-1], dtype=np.int64)
        gi = g_of[f["group"].cat.codes.to_numpy()]  # code -1 (missing) picks the -1
        known = (code >= 0) & (gi >= 0)
        code[known] += gi[known] * len(years)
        code[~known] = -1
        return code
    yi = f["year"].map(y_index).to_numpy(dtype=float, na_value=np.nan)
    gi = f["group"].map(g_index).to_numpy(dtype=float, na_value=np.nan)
    code = gi * len(years) + yi
    return np.where(np.isnan(code), -1, code).astype(np.int64)


def non_decreasing(values: np.ndarray) -> bool:
    """Whether ``values`` never decrease from one element to the next (rows already in
    the order a stable sort would give them)."""
    return bool(np.all(values[1:] >= values[:-1]))


def safe_ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
    """``num / den`` with NaN where ``den`` is 0.

    Divides everywhere, then writes NaN where ``den`` is 0: the same numbers as dividing
    only where ``den`` is not 0, in about half the time (a masked division is slow).
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(np.divide(num, den))  # 0-d for two numbers
    np.copyto(out, np.nan, where=den == 0)
    return out


def row_codes(column: pd.Series, mapping: dict[Any, int]) -> np.ndarray:
    """``column.map(mapping).to_numpy(dtype=np.int64)``: the code of every row's value.

    A categorical column is looked up per category and a column of integers (years)
    through a table over its range, instead of a hash lookup per row; any other column,
    or a value without a code, goes through ``Series.map`` (which gives NaN for it).
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        lut = np.array([mapping.get(c, -1) for c in column.cat.categories] + [-1],
                       dtype=np.int64)  # code -1 (missing) picks the trailing -1
        out = lut[codes]
        if out.size and out.min() >= 0:
            return out
    elif (pd.api.types.is_integer_dtype(column.dtype) and isinstance(column.dtype, np.dtype)
          and len(column) and all(isinstance(k, (int, np.integer))
                                  and not isinstance(k, bool) for k in mapping)):
        values = column.to_numpy()
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < 1_000_000:
            lut = np.full(hi - lo + 1, -1, dtype=np.int64)
            for key, code in mapping.items():
                if lo <= key <= hi:
                    lut[int(key) - lo] = code
            out = lut[values - lo]
            if out.min() >= 0:
                return out
    return column.map(mapping).to_numpy(dtype=np.int64)


def describe_population(population: str) -> str:
    """Words for the population option."""
    return ("minima person-years, i.e. on the municipal low-income policy that year"
            if population == "minima" else "all insured person-years")


__all__ = [
    "ADJUST_OPTIONS", "Adjust", "ClaimsPanel", "DEFAULT_N_BOOT", "GROUPS", "MIN_N_BOOT",
    "POPULATIONS", "Population", "PoissonFit", "bootstrap_inference", "check_alpha",
    "check_choice", "check_n_boot", "check_seed", "check_year", "check_years", "emit",
    "few_practices_message", "normalise_practices", "person_cell_matrix",
    "person_cell_sparse", "plain_ascii_texts", "row_codes",
    "poisson_cell_glm", "poisson_newton", "practice_assignments", "practice_year_sums",
    "prepare_claims", "randomisation_p_value", "SharedPreparation", "shared_preparation",
    "sparse_cells_message",
    "stratified_bootstrap_sums",
]

