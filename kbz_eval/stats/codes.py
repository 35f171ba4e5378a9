"""Distinct values of whole-number codes, counted instead of sorted.

Person codes, strata and years are whole numbers that span a short range compared with
the millions of rows that carry them; ``np.unique`` sorts every row (about a second for
five million), while counting over the span takes one pass.
"""

from __future__ import annotations

import numpy as np

#: Spans (largest − smallest value) up to this many, or up to the number of values, are
#: counted; wider spans are sorted by ``np.unique``.
COUNTED_SPAN = 1 << 16


def _span(values: np.ndarray) -> tuple[int, int] | None:
    """``(smallest, span)`` when ``values`` are integers worth counting; else ``None``."""
    if values.size < 1_000 or not np.issubdtype(values.dtype, np.integer):
        return None
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    return (low, span) if span <= max(COUNTED_SPAN, values.size) else None


def unique_codes(values: np.ndarray, *, return_inverse: bool = False
                 ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """``np.unique(values)`` (with ``return_inverse``: and the index of each value's
    unique value), the same arrays; integers of a short span are counted.

    Parameters
    ----------
    values
        One-dimensional array.
    return_inverse
        Also return, per value, its position in the unique values.
    """
    values = np.asarray(values).ravel()
    found = _span(values)
    if found is None:
        if return_inverse:
            uniques, inverse = np.unique(values, return_inverse=True)
            return uniques, inverse.ravel()
        return np.unique(values)
    low, span = found
    shifted = values - low if low else values
    present = np.bincount(shifted, minlength=span) > 0
    uniques = (np.flatnonzero(present) + low).astype(values.dtype)
    if not return_inverse:
        return uniques
    position = np.cumsum(present, dtype=np.intp)
    position -= 1
    return uniques, position[shifted]


def count_distinct(values: np.ndarray) -> int:
    """``np.unique(values).size``."""
    return int(unique_codes(values).size)


__all__ = ["count_distinct", "unique_codes"]
