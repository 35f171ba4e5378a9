"""Small-cell suppression: no published cell rests on fewer than ``threshold`` persons.

A *cell* is a row of a published table (or of a figure's data) together with the number
of persons behind it. Which columns count persons is never guessed from column names:
every published table declares it in a :class:`Cells` (see
:mod:`kbz_eval.report.cells`), and a table without a declaration is not published.

Method
------
The method is *cell suppression* as in the statistical-disclosure tools of the
national statistics offices (τ-ARGUS, sdcTable in R): a primary rule on the cells
themselves, then complementary (secondary) suppression so that no suppressed cell can
be recovered from the published ones, then an audit. :func:`protect` implements:

1. *Primary (threshold rule).* A row is suppressed when any declared person count
   (:attr:`Cells.counts`) is below ``threshold``, or when a declared *numerator*
   (persons with a property, :attr:`Cells.numerators`) or its complement
   (``count − numerator``) is: a share of 2 of 80 publishes a count of 2.
2. *Secondary, along every margin.* Rows that add up to a total form a *line*: the
   rows sharing every key column but one margin dimension (:attr:`Cells.margins`:
   group, year, role, practice, category, ...). Totals are assumed to be known (they
   are published elsewhere, or can be), so a line with exactly one suppressed row
   would give that row away by subtraction. In every such line the row with the next
   smallest count is suppressed too, and the lines are revisited until none has a
   single suppression (the singleton rule of sdcTable's ``SIMPLEHEURISTIC`` and of
   τ-ARGUS's hypercube method, applied to each one-dimensional line of the table).
3. *Distributions of individual values* (counts per mark, per difference, per rating:
   :attr:`Cells.distribution`). Besides the total, the report publishes other linear
   statistics of the same values (a mean, a standard deviation, a share positive, the
   cumulative positions of a stacked bar), and partial sums defeat any count of
   complementary suppressions. So a distribution line with any suppressed category is
   suppressed whole (all categories of that line), and its mean and shares stay the
   only published statistics of those values.
4. *Linked tables.* The tables of one result describe the same persons. A row
   suppressed in one table suppresses every row of the result's other tables that
   declare the same key columns and have the same values in them (the tidy rows, the
   figure's data), and the primary and secondary rules run again until nothing
   changes.

Guarantee: no suppressed cell is the difference of a published total and published
cells of the same line, in any table of the result; no category of a distribution line
with a small category is published. The disclosure audit in the tests checks the
stronger property on the microdata of adversarial extracts: no primary-suppressed
cell's indicator vector lies in the linear span of the vectors of the published cells
and statistics (linear differencing across margins, tables, formats and languages).
Not guaranteed: interval (bounds) protection; the width of the feasible interval of a
suppressed cell is not controlled, as with τ-ARGUS's hypercube method.

Suppressed values become ``NaN`` in the frame used for drawing, and read
``"too few observations"`` / ``"onvoldoende waarnemingen"`` in published tables
(:func:`publishable`), never 0. Key and label columns are never suppressed, so the
reader sees which row was withheld. The threshold is configurable but never below
:data:`MIN_THRESHOLD`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError

#: Default smallest number of persons behind a published cell.
DEFAULT_THRESHOLD = 10
#: The threshold may be raised, never set below this.
MIN_THRESHOLD = 5
#: Columns that label a cell rather than measure it, wherever they occur (never
#: suppressed). Every other column of a published table is a value and is suppressed
#: in a suppressed row, text included.
LABEL_COLUMNS = (
    "term", "estimator", "statistic", "inference", "role", "unit", "series", "element",
    "label", "level", "comparison", "measure", "indicator", "area", "reference",
    "respondent_type", "item", "specialism", "group", "year", "wave", "measurement",
    "from_measurement", "to_measurement", "practice_id", "component", "period", "time",
    "post", "contrast", "age_band", "sex", "cost_group", "method", "trajectory",
    "position", "base_year", "follow_year", "lookback_year", "year_start", "year_end",
    "x",
)
#: What a suppressed cell reads, by report language.
SUPPRESSED_LABEL = {"en": "too few observations", "nl": "onvoldoende waarnemingen"}


@dataclass(frozen=True)
class Cells:
    """How the rows of one published table rest on persons (the declaration).

    Attributes
    ----------
    counts
        Columns that count the persons (or respondents, patients) behind a row.
    keys
        Columns that identify a row (group, year, measurement, ...). They link the
        table to the result's other tables and are never suppressed.
    margins
        Key columns along which rows add up to a total (a partition of persons):
        secondary suppression runs along each of them.
    numerators
        Columns counting persons with a property among ``counts[0]``; the count and
        its complement must both reach the threshold.
    distribution
        For a distribution of individual values: the category column (a key); a line
        with a suppressed category is suppressed whole.
    public
        The table holds aggregates of published open data only (no person cells).
    drop_suppressed
        Suppressed rows are left out instead of labelled (rows of individual values,
        whose number alone would tell a count).
    """

    counts: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    margins: tuple[str, ...] = ()
    numerators: tuple[str, ...] = ()
    distribution: str | None = None
    public: bool = False
    drop_suppressed: bool = False

    def __post_init__(self) -> None:
        extra = [m for m in self.margins if m not in self.keys]
        if self.distribution is not None and self.distribution not in self.keys:
            extra.append(self.distribution)
        if extra:
            raise SpecificationError(f"Cells: margins/distribution {extra} must be keys.")

    def label_columns(self, frame: pd.DataFrame) -> list[str]:
        """Columns of ``frame`` that are never suppressed."""
        fixed = set(self.keys) | set(LABEL_COLUMNS)
        return [c for c in frame.columns if c in fixed and c not in self.counts]

    def suppressible_columns(self, frame: pd.DataFrame) -> list[str]:
        """Columns of ``frame`` blanked in a suppressed row (counts and values)."""
        labels = set(self.label_columns(frame))
        return [c for c in frame.columns if c not in labels]


def check_threshold(threshold: int) -> int:
    """Return ``threshold`` if allowed, else raise :class:`SpecificationError`."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise SpecificationError(f"`threshold` must be an integer, but {threshold!r} was passed.")
    if threshold < MIN_THRESHOLD:
        raise SpecificationError(
            f"`threshold` must be at least {MIN_THRESHOLD} (published cells never rest on "
            f"fewer persons), but {threshold} was passed."
        )
    return int(threshold)


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _row_size(frame: pd.DataFrame, cells: Cells) -> pd.Series:
    """The smallest declared count of each row (``inf`` when none is declared)."""
    counts = [c for c in cells.counts if c in frame.columns]
    if not counts:
        return pd.Series(np.inf, index=frame.index)
    return pd.concat([_numeric(frame, c) for c in counts], axis=1).min(axis=1)


def primary_mask(frame: pd.DataFrame, cells: Cells, threshold: int) -> pd.Series:
    """Rows failing the threshold rule (rule 1 of the module docstring)."""
    threshold = check_threshold(threshold)
    mask = pd.Series(False, index=frame.index)
    if cells.public or frame.empty:
        return mask
    missing = [c for c in (*cells.counts, *cells.numerators) if c not in frame.columns]
    if missing:
        raise SpecificationError(
            f"declared count columns {missing} are not in the table (columns: "
            f"{list(frame.columns)}).")
    for col in cells.counts:
        mask |= (_numeric(frame, col) < threshold).fillna(False)
    if cells.numerators:
        total = _numeric(frame, cells.counts[0])
        for col in cells.numerators:
            part = _numeric(frame, col)
            mask |= ((part < threshold) | (total - part < threshold)).fillna(False)
    return mask.astype(bool)


def _lines(frame: pd.DataFrame, cells: Cells, margin: str) -> list[pd.Index]:
    """Row groups that add up along ``margin`` (rows sharing every other key)."""
    others = [k for k in cells.keys if k != margin and k in frame.columns]
    if margin not in frame.columns:
        return []
    if not others:
        return [frame.index]
    key = pd.Series(list(zip(*(frame[c].astype(object).where(frame[c].notna(), "\x00na")
                               for c in others), strict=True)), index=frame.index)
    return [idx for idx in frame.groupby(key, sort=False).groups.values()]


def _secondary(frame: pd.DataFrame, cells: Cells, mask: pd.Series) -> pd.Series:
    """One pass of rules 2 and 3 over every line of ``frame``; returns a new mask."""
    mask = mask.copy()
    if cells.public or frame.empty or not mask.any():
        return mask
    size = _row_size(frame, cells)
    margins = list(cells.margins)
    if cells.distribution is not None and cells.distribution not in margins:
        margins.append(cells.distribution)
    for margin in margins:
        whole = margin == cells.distribution
        for idx in _lines(frame, cells, margin):
            hidden = int(mask.loc[idx].sum())
            if hidden == 0 or hidden == len(idx) or (hidden >= 2 and not whole):
                continue
            if whole:
                mask.loc[idx] = True
                continue
            shown = size.loc[idx][~mask.loc[idx]].sort_values(kind="stable")
            mask.loc[shown.index[:1]] = True
    return mask


def _key_text(frame: pd.DataFrame, keys: list[str]) -> list[tuple[str, ...]]:
    """Key values as comparable text (``3``, ``3.0`` and ``"3"`` are one key)."""
    cols = []
    for k in keys:
        col = frame[k]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            col = pd.to_numeric(col, errors="coerce").astype("float64")
            cols.append([f"{v:.12g}" if v == v else "\x00na" for v in col])
        else:
            cols.append(["\x00na" if pd.isna(v) else str(v) for v in col.astype(object)])
    return list(zip(*cols, strict=True))


def _propagate(frames: Mapping[str, pd.DataFrame], specs: Mapping[str, Cells],
               masks: dict[str, pd.Series]) -> bool:
    """Rule 4: carry suppressed keys to the linked tables; True when a mask grew."""
    grew = False
    for source, frame in frames.items():
        keys = [k for k in specs[source].keys if k in frame.columns]
        if not keys or not masks[source].any():
            continue
        wanted = {key for key in _key_text(frame.loc[masks[source]], keys)
                  if "\x00na" not in key}
        if not wanted:
            continue
        for target, other in frames.items():
            if (target == source or specs[target].public
                    or not set(keys) <= set(specs[target].keys) & set(other.columns)):
                continue
            hit = pd.Series([r in wanted for r in _key_text(other, keys)], index=other.index)
            new = masks[target] | hit
            if bool((new != masks[target]).any()):
                masks[target] = new
                grew = True
    return grew


def protect(
    frames: Mapping[str, pd.DataFrame], specs: Mapping[str, Cells], *,
    threshold: int = DEFAULT_THRESHOLD,
) -> dict[str, pd.Series]:
    """The suppression masks of a set of linked tables (one result's tables).

    Parameters
    ----------
    frames
        Table name -> table, all describing the same persons.
    specs
        Table name -> its :class:`Cells` declaration (every table must have one).
    threshold
        Smallest number of persons a published cell may rest on (≥ 5).

    Returns
    -------
    dict
        Table name -> boolean Series of suppressed rows, after rules 1–4 of the
        module docstring have been applied to a fixed point.
    """
    threshold = check_threshold(threshold)
    undeclared = sorted(set(frames) - set(specs))
    if undeclared:
        raise SpecificationError(f"tables without a disclosure declaration: {undeclared}.")
    masks = {name: primary_mask(frame, specs[name], threshold)
             for name, frame in frames.items()}
    for _ in range(100):
        changed = False
        for name, frame in frames.items():
            new = _secondary(frame, specs[name], masks[name])
            if bool((new != masks[name]).any()):
                masks[name], changed = new, True
        changed |= _propagate(frames, specs, masks)
        if not changed:
            return masks
    raise RuntimeError("suppression did not reach a fixed point")  # pragma: no cover


def apply_mask(frame: pd.DataFrame, mask: pd.Series, cells: Cells) -> pd.DataFrame:
    """Copy of ``frame`` with the suppressible columns of masked rows set to missing."""
    out = frame.copy()
    if not mask.any():
        return out
    if cells.drop_suppressed:
        return out.loc[~mask]
    for col in cells.suppressible_columns(frame):
        if pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype("float64")
            out.loc[mask, col] = np.nan
        else:
            out[col] = out[col].astype(object)
            out.loc[mask, col] = None
    return out


def suppress_small_cells(
    frame: pd.DataFrame, *, threshold: int = DEFAULT_THRESHOLD,
    counts: Sequence[str] = ("n",), by: Sequence[str] | None = None,
    margin: str | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Suppress one table: a convenience front door to :func:`protect`.

    Parameters
    ----------
    frame
        The table.
    threshold
        Smallest number of persons a published cell may rest on (≥ 5).
    counts
        Its person-count columns.
    by
        Key columns that define the lines adding up to a total, together with
        ``margin``; when ``margin`` is ``None`` the rows of each ``by`` group are one
        line (they add up to the group's total).
    margin
        The key column along which rows add up (default: a row number, so every row of
        a ``by`` group is in the same line).

    Returns
    -------
    (DataFrame, Series)
        The suppressed copy (counts and values of suppressed rows missing) and the
        boolean mask of suppressed rows. The caller's frame is not modified.
    """
    by = list(by or [])
    missing = [c for c in by if c not in frame.columns]
    if missing:
        raise SpecificationError(f"`by` names columns not in the table: {missing}.")
    work = frame
    if margin is None:
        margin = "__row"
        work = frame.assign(__row=np.arange(len(frame)))
    cells = Cells(counts=tuple(counts), keys=(*by, margin), margins=(margin,))
    mask = protect({"t": work}, {"t": cells}, threshold=threshold)["t"]
    out = apply_mask(work, mask, cells)
    return out[list(frame.columns)], mask


def publishable(
    frame: pd.DataFrame, mask: pd.Series, cells: Cells | None = None, *,
    language: str = "en",
) -> pd.DataFrame:
    """Replace the suppressed cells of ``frame`` by the suppression label (as text)."""
    cells = cells or Cells()
    label = SUPPRESSED_LABEL[language]
    out = frame.copy()
    if not mask.any():
        return out
    if cells.drop_suppressed:
        return out.loc[~mask.reindex(out.index, fill_value=False)]
    for col in cells.suppressible_columns(frame):
        out[col] = out[col].astype(object)
        out.loc[mask, col] = label
    return out


def suppression_mask(
    frame: pd.DataFrame, *, threshold: int = DEFAULT_THRESHOLD,
    counts: Sequence[str] = ("n",), by: Sequence[str] | None = None,
) -> pd.Series:
    """Boolean Series: which rows of ``frame`` :func:`suppress_small_cells` suppresses."""
    return suppress_small_cells(frame, threshold=threshold, counts=counts, by=by)[1]
