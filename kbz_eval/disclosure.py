"""Small-cell suppression: no published cell rests on fewer than ``threshold`` persons.

A *cell* is a row of a published table (or of a figure's data) together with the number
of persons behind it. Rules, applied by :func:`suppress_small_cells`:

1. *Primary.* A row whose person count is below ``threshold`` has its count and every
   value column suppressed.
2. *Secondary.* Within each group of rows that add up to a published total (rows sharing
   the ``by`` columns), a single suppressed row could be recovered by subtraction. When
   exactly one row of such a group is suppressed, the row with the next smallest count is
   suppressed too.

Suppressed values become ``NaN`` in the frame used for drawing, and read
``"too few observations"`` / ``"onvoldoende waarnemingen"`` in published tables
(:func:`publishable`), never 0. The threshold is configurable but never below
:data:`MIN_THRESHOLD`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError

#: Default smallest number of persons behind a published cell.
DEFAULT_THRESHOLD = 10
#: The threshold may be raised, never set below this.
MIN_THRESHOLD = 5
#: Columns that count persons (or respondents) behind a cell.
COUNT_COLUMNS = ("n", "n_persons", "n_patients", "n_respondents", "n_insured")
#: Columns that label a cell rather than measure it (never suppressed).
LABEL_COLUMNS = ("year", "wave", "measurement", "base_year", "follow_year", "period")
#: What a suppressed cell reads, by report language.
SUPPRESSED_LABEL = {"en": "too few observations", "nl": "onvoldoende waarnemingen"}


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


def count_columns(frame: pd.DataFrame) -> list[str]:
    """The person-count columns of ``frame`` (see :data:`COUNT_COLUMNS`)."""
    return [c for c in frame.columns if c in COUNT_COLUMNS]


def value_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric columns that measure something (everything numeric but labels)."""
    return [
        c for c in frame.columns
        if c not in LABEL_COLUMNS
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def suppression_mask(
    frame: pd.DataFrame, *, threshold: int = DEFAULT_THRESHOLD,
    by: Sequence[str] | None = None,
) -> pd.Series:
    """Boolean Series: which rows of ``frame`` must be suppressed.

    Rows are judged by the smallest of their person-count columns; a frame without any
    count column suppresses nothing (it holds no person-based cells).
    """
    threshold = check_threshold(threshold)
    counts = count_columns(frame)
    if not counts or frame.empty:
        return pd.Series(False, index=frame.index)
    n = frame[counts].apply(pd.to_numeric, errors="coerce").min(axis=1)
    primary = (n < threshold).fillna(False).astype(bool)
    mask = primary.copy()
    if by:
        missing = [c for c in by if c not in frame.columns]
        if missing:
            raise SpecificationError(f"`by` names columns not in the table: {missing}.")
        work = pd.DataFrame({"n": n, "mask": primary})
        keys = [frame[c].rename(f"__by{i}") for i, c in enumerate(by)]
        for _, group in work.groupby(keys, sort=True, dropna=False):
            if group["mask"].sum() == 1 and len(group) > 1:
                rest = group.loc[~group["mask"], "n"].sort_values(kind="stable")
                mask.loc[rest.index[0]] = True
    return mask


def suppress_small_cells(
    frame: pd.DataFrame, *, threshold: int = DEFAULT_THRESHOLD,
    by: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Copy of ``frame`` with small cells set to ``NaN``, and the row mask.

    Parameters
    ----------
    frame
        A table with at least one person-count column (:data:`COUNT_COLUMNS`).
    threshold
        Smallest number of persons a published cell may rest on (≥ 5).
    by
        Columns that define groups adding up to a total, for secondary suppression.

    Returns
    -------
    (DataFrame, Series)
        The suppressed copy (value and count columns of suppressed rows are ``NaN``) and
        the boolean mask of suppressed rows. The caller's frame is not modified.
    """
    mask = suppression_mask(frame, threshold=threshold, by=by)
    out = frame.copy()
    if mask.any():
        for col in [*value_columns(frame), *count_columns(frame)]:
            out[col] = out[col].astype("float64")
            out.loc[mask, col] = np.nan
    return out, mask


def publishable(
    frame: pd.DataFrame, mask: pd.Series, *, language: str = "en"
) -> pd.DataFrame:
    """Replace the suppressed cells of ``frame`` by the suppression label (as text)."""
    label = SUPPRESSED_LABEL[language]
    out = frame.copy()
    if not mask.any():
        return out
    for col in [*value_columns(frame), *count_columns(frame)]:
        out[col] = out[col].astype(object)
        out.loc[mask, col] = label
    return out
