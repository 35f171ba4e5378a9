"""Multiple testing: Holm's step-down adjustment, and primary/secondary families.

Each analysis has a declared primary outcome (its headline); every other test it reports
is secondary and is shown with a Holm-adjusted p-value (:func:`mark_family`), so a reader
scanning many secondary rows is not misled by the one that happens to fall below 0.05.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def holm(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Holm (1979) adjusted p-values; NaN entries stay NaN and do not count.

    ``p_adj[(i)] = max_{j ≤ i} min(1, (m − j + 1) · p_(j))`` over the ``m`` finite
    p-values sorted ascending. Controls the family-wise error rate under any dependence.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out


__all__ = ["holm", "mark_family"]


def mark_family(tidy: pd.DataFrame, primary: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """Add ``role`` (primary/secondary) and Holm ``p_adjusted`` to a tidy frame.

    The declared ``primary`` term(s) keep their p-value (``p_adjusted`` = ``p_value``);
    every other row with a p-value is in the secondary family and gets the Holm-adjusted
    p-value over that family. Rows whose term ends in ``_persons_only`` repeat a primary
    estimate at the person level and are left out of the family (``p_adjusted`` NaN).

    Parameters
    ----------
    tidy
        A ``Result.tidy()`` frame (not modified).
    primary
        The primary term(s) of the analysis.

    Returns
    -------
    pandas.DataFrame
        A copy with the two columns.
    """
    out = tidy.copy()
    terms = out["term"].astype(str)
    is_primary = terms.isin(list(primary)).to_numpy()
    person_copy = terms.str.endswith("_persons_only").to_numpy()
    p = out["p_value"].to_numpy(dtype=float, na_value=np.nan)
    family = ~is_primary & ~person_copy & np.isfinite(p)
    adjusted = np.full(len(out), np.nan)
    adjusted[family] = holm(p[family])
    adjusted[is_primary] = p[is_primary]
    out["role"] = np.where(is_primary, "primary",
                           np.where(person_copy, "persons only", "secondary"))
    out["p_adjusted"] = adjusted
    return out
