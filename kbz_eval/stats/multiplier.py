"""The multiplier bootstrap of influence functions, and simultaneous (sup-t) bands.

An asymptotically linear estimator ``theta_hat`` with influence function ``psi`` has
``theta_hat - theta ≈ (1/n) sum_i psi_i``. The multiplier bootstrap perturbs that sum
with independent mean-zero, unit-variance weights ``v`` drawn per cluster ``c``:
``theta*_b - theta_hat = (1/n) sum_c v_{bc} S_c`` with ``S_c = sum_{i in c} psi_i``.
No model is re-estimated, so thousands of replicates of many estimates cost one matrix
product. Weights are Rademacher (±1 with probability 1/2 each), as in R ``did``.

A simultaneous band at level ``1 - alpha`` over ``K`` estimates uses the
``1 - alpha`` quantile of ``max_k |theta*_bk - theta_hat_k| / se_k`` as the critical
value (sup-t band; Montiel Olea & Plagborg-Møller 2019; Callaway & Sant'Anna 2021,
sec. 4.1): all ``K`` intervals ``theta_hat_k ± c · se_k`` then cover jointly.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

#: Standard errors at or below this are treated as zero (a degenerate estimate, e.g. an
#: ATT fixed at 0 in the base period); such estimates are left out of the band.
DEGENERATE_SE = float(np.sqrt(np.finfo(float).eps) * 10)

#: Replicates drawn per block, to bound memory with many clusters.
_BLOCK = 256


def cluster_sums(influence: np.ndarray, cluster_codes: np.ndarray | None) -> np.ndarray:
    """Sum influence-function rows within clusters.

    Parameters
    ----------
    influence
        ``(n, K)`` influence functions, one row per unit.
    cluster_codes
        Integer cluster code ``0..G-1`` per row, or ``None`` (every row its own cluster).

    Returns
    -------
    numpy.ndarray
        ``(G, K)`` cluster sums.
    """
    influence = np.asarray(influence, dtype=float)
    if influence.ndim == 1:
        influence = influence[:, None]
    if cluster_codes is None:
        return influence
    n_clusters = int(cluster_codes.max()) + 1
    out = np.zeros((n_clusters, influence.shape[1]))
    np.add.at(out, cluster_codes, influence)
    return out


def analytic_se(sums: np.ndarray, n: int) -> np.ndarray:
    """Standard errors ``sqrt(sum_c S_c^2) / n`` from cluster sums of the influence
    function (no small-sample factor; with one unit per cluster this is R ``did``'s
    ``sqrt(mean(psi^2) / n)``)."""
    return np.sqrt(np.sum(np.asarray(sums, dtype=float) ** 2, axis=0)) / n


def multiplier_draws(sums: np.ndarray, n: int, *, n_boot: int, seed: int | None
                     ) -> np.ndarray:
    """Bootstrap deviations ``theta*_b - theta_hat`` from cluster sums.

    Parameters
    ----------
    sums
        ``(G, K)`` cluster sums of the influence functions.
    n
        The number of units the influence functions are scaled by.
    n_boot
        Replicates.
    seed
        Seed of the Rademacher weights.

    Returns
    -------
    numpy.ndarray
        ``(n_boot, K)`` deviations.
    """
    sums = np.asarray(sums, dtype=float)
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, sums.shape[1]))
    for start in range(0, n_boot, _BLOCK):
        stop = min(start + _BLOCK, n_boot)
        v = rng.integers(0, 2, size=(stop - start, sums.shape[0])) * 2.0 - 1.0
        out[start:stop] = v @ sums / n
    return out


def sup_t_critical(draws: np.ndarray, se: np.ndarray, alpha: float) -> float:
    """Critical value of a simultaneous band over the non-degenerate estimates.

    Parameters
    ----------
    draws
        ``(n_boot, K)`` bootstrap deviations (see :func:`multiplier_draws`).
    se
        ``(K,)`` standard errors that studentise the deviations.
    alpha
        1 - joint coverage.

    Returns
    -------
    float
        The ``1 - alpha`` quantile of ``max_k |draw_k / se_k|`` over the estimates with
        ``se_k > DEGENERATE_SE`` (inverted empirical CDF, R's ``type=1``); the normal
        quantile ``z_{1-alpha/2}`` when only one estimate is non-degenerate would give
        the same band up to bootstrap noise, so that case returns it exactly; NaN when
        none is.
    """
    se = np.asarray(se, dtype=float)
    keep = np.isfinite(se) & (se > DEGENERATE_SE)
    if keep.sum() == 0:
        return float("nan")
    if keep.sum() == 1:
        return float(stats.norm.ppf(1 - alpha / 2))
    t_max = np.max(np.abs(draws[:, keep] / se[keep]), axis=1)
    ordered = np.sort(t_max)
    index = int(np.ceil((1 - alpha) * len(ordered))) - 1
    return float(ordered[max(index, 0)])


__all__ = ["DEGENERATE_SE", "analytic_se", "cluster_sums", "multiplier_draws",
           "sup_t_critical"]
