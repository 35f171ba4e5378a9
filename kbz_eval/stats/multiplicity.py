"""Multiple testing: Holm's step-down adjustment of a family of p-values."""

from __future__ import annotations

import numpy as np


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


__all__ = ["holm"]
