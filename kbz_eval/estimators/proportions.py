"""Intervals shared by the survey analyses: proportions, their differences, and means.

- :func:`wilson_interval`: the Wilson score interval of one proportion;
- :func:`newcombe_difference`: Newcombe's hybrid score interval of ``p1 - p2``
  (method 10 of Newcombe, 1998), i.e. MOVER with Wilson limits;
- :func:`mover_combination`: MOVER (Zou & Donner, 2008) for any linear combination of
  independent estimates with known limits, used for the difference in changes of
  four independent survey percentages;
- :func:`difference_in_changes`: ``(p_a2 - p_a1) - (p_r2 - p_r1)`` with a MOVER-Wilson
  interval and a Wald standard error;
- :func:`mean_interval`: a mean with its Student-t interval.

Everything is vectorised over numpy arrays, so a simulation can call the same code the
analyses use on thousands of replicates at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from kbz_eval.errors import SpecificationError
from kbz_eval.stats.options import check_alpha  # noqa: F401  (re-exported)


def z_value(alpha: float) -> float:
    """The two-sided normal quantile ``z_{1 - alpha/2}`` (1.96 for ``alpha=0.05``)."""
    return float(stats.norm.ppf(1 - alpha / 2))


def wilson_interval(
    successes: Any, n: Any, *, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion.

    Parameters
    ----------
    successes
        Number of successes (may be fractional, e.g. ``percent / 100 * n`` when only a
        published percentage is known); scalar or array.
    n
        Number of trials, ``> 0``; scalar or array broadcastable with ``successes``.
    alpha
        ``1 - alpha`` is the coverage (0.05 gives 95% intervals).

    Returns
    -------
    lower, upper : numpy.ndarray
        The limits, as proportions in [0, 1]; ``NaN`` where ``n`` is not positive or
        missing.

    Notes
    -----
    With ``p = x / n`` and ``z = z_{1-alpha/2}`` the limits are
    ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` (Wilson, 1927). Unlike the
    Wald interval it stays inside [0, 1] and keeps close to nominal coverage for small
    ``n`` and for proportions near 0 or 1 (Newcombe, 1998, Stat Med 17:857–872).

    Examples
    --------
    >>> lo, hi = wilson_interval(81, 263)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2553, 0.3662)
    """
    x = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    z = z_value(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / m
        denom = 1 + z * z / m
        centre = (p + z * z / (2 * m)) / denom
        half = z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / denom
    bad = ~(m > 0)
    lower = np.where(bad, np.nan, np.clip(centre - half, 0.0, 1.0))
    upper = np.where(bad, np.nan, np.clip(centre + half, 0.0, 1.0))
    return lower, upper


def mover_combination(
    estimates: Any, lowers: Any, uppers: Any, coefficients: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MOVER interval of ``sum(c_i * theta_i)`` for independent estimates.

    Parameters
    ----------
    estimates, lowers, uppers
        Arrays of shape ``(..., k)``: each estimate with its own interval limits (for
        proportions, Wilson limits).
    coefficients
        Length-``k`` coefficients ``c_i`` (e.g. ``[1, -1]`` for a difference).

    Returns
    -------
    estimate, lower, upper : numpy.ndarray
        The combination and its limits, shape ``(...)``.

    Notes
    -----
    Method of variance estimates recovery (Zou & Donner, 2008, Stat Med 27:1693–1702):
    ``L = C - sqrt(sum_i (c_i theta_i - min(c_i l_i, c_i u_i))²)`` and
    ``U = C + sqrt(sum_i (max(c_i l_i, c_i u_i) - c_i theta_i)²)``. With Wilson limits
    and ``c = (1, -1)`` this is Newcombe's hybrid score interval (method 10).
    """
    est = np.asarray(estimates, dtype=float)
    lo = np.asarray(lowers, dtype=float)
    hi = np.asarray(uppers, dtype=float)
    c = np.asarray(coefficients, dtype=float)
    if est.shape[-1] != c.size or lo.shape != est.shape or hi.shape != est.shape:
        raise SpecificationError(
            "`estimates`, `lowers` and `uppers` must have the same shape, with the last "
            f"axis as long as `coefficients` ({c.size})."
        )
    scaled = c * est
    a, b = c * lo, c * hi
    low_lim, high_lim = np.minimum(a, b), np.maximum(a, b)
    total = scaled.sum(axis=-1)
    lower = total - np.sqrt(((scaled - low_lim) ** 2).sum(axis=-1))
    upper = total + np.sqrt(((high_lim - scaled) ** 2).sum(axis=-1))
    return total, lower, upper


def newcombe_difference(
    x1: Any, n1: Any, x2: Any, n2: Any, *, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference of two independent proportions ``p1 - p2`` with Newcombe's interval.

    Parameters
    ----------
    x1, n1, x2, n2
        Successes and trials of the two samples (scalars or arrays; successes may be
        fractional).
    alpha
        ``1 - alpha`` is the coverage.

    Returns
    -------
    difference, lower, upper : numpy.ndarray
        ``p1 - p2`` and its limits (proportions, not percentage points).

    Notes
    -----
    Newcombe's hybrid score interval (Newcombe, 1998, Stat Med 17:873–890, method 10):
    the Wilson limits of each proportion combined by :func:`mover_combination`.

    Examples
    --------
    >>> d, lo, hi = newcombe_difference(56, 70, 48, 80)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.0524, 0.3339)
    """
    p1 = np.asarray(x1, dtype=float) / np.asarray(n1, dtype=float)
    p2 = np.asarray(x2, dtype=float) / np.asarray(n2, dtype=float)
    l1, u1 = wilson_interval(x1, n1, alpha=alpha)
    l2, u2 = wilson_interval(x2, n2, alpha=alpha)
    return mover_combination(
        np.stack(np.broadcast_arrays(p1, p2), axis=-1),
        np.stack(np.broadcast_arrays(l1, l2), axis=-1),
        np.stack(np.broadcast_arrays(u1, u2), axis=-1),
        [1.0, -1.0],
    )


@dataclass(frozen=True)
class DifferenceInChanges:
    """``(p_a2 - p_a1) - (p_r2 - p_r1)`` with its interval (all as proportions).

    Attributes
    ----------
    estimate, lower, upper
        The difference in changes and its MOVER-Wilson limits.
    std_error
        Wald standard error ``sqrt(sum p(1-p)/n)``.
    p_value
        Two-sided Wald test of no difference.
    """

    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    std_error: np.ndarray
    p_value: np.ndarray


def difference_in_changes(
    p: Any, n: Any, *, alpha: float = 0.05
) -> DifferenceInChanges:
    """Difference between two areas' changes in a proportion, independent samples.

    Parameters
    ----------
    p
        Proportions of shape ``(..., 4)`` in the order area-start, area-end,
        reference-start, reference-end.
    n
        Sample sizes, broadcastable to ``p``.
    alpha
        ``1 - alpha`` is the coverage.

    Returns
    -------
    DifferenceInChanges
        Estimate, MOVER-Wilson limits, Wald standard error and p-value.

    Notes
    -----
    The four percentages are treated as independent samples (a separate survey per area
    and year). The interval combines the four Wilson intervals with MOVER
    (:func:`mover_combination`, coefficients ``(-1, 1, 1, -1)``); for two proportions
    this is Newcombe's hybrid score interval. The standard error and the p-value are
    the Wald ones, ``sqrt(sum p(1-p)/n)``. When one area lies inside the other (a
    neighbourhood and its city) the two samples overlap a little; ignoring the positive
    covariance makes the interval slightly conservative.
    """
    prop = np.asarray(p, dtype=float)
    size = np.broadcast_to(np.asarray(n, dtype=float), prop.shape)
    lo, hi = wilson_interval(prop * size, size, alpha=alpha)
    est, lower, upper = mover_combination(prop, lo, hi, [-1.0, 1.0, 1.0, -1.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt((prop * (1 - prop) / size).sum(axis=-1))
        z = est / se
    pval = 2 * stats.norm.sf(np.abs(z))
    return DifferenceInChanges(est, lower, upper, se, pval)


@dataclass(frozen=True)
class MeanInterval:
    """A mean with its Student-t interval.

    Attributes
    ----------
    n, mean, sd, std_error, lower, upper
        Number of non-missing values, mean, standard deviation (``ddof=1``), standard
        error ``sd / sqrt(n)`` and the ``t_{n-1}`` interval (``NaN`` when ``n < 2``).
    """

    n: int
    mean: float
    sd: float
    std_error: float
    lower: float
    upper: float


def mean_interval(values: Any, *, alpha: float = 0.05) -> MeanInterval:
    """Mean of the non-missing ``values`` with a Student-t interval.

    Parameters
    ----------
    values
        Numbers (missing values are skipped).
    alpha
        ``1 - alpha`` is the coverage.

    Returns
    -------
    MeanInterval
        ``NaN`` for the mean when there are no values, and for the standard deviation
        and the interval when there is one.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return MeanInterval(0, np.nan, np.nan, np.nan, np.nan, np.nan)
    mean = float(x.mean())
    if n == 1:
        return MeanInterval(1, mean, np.nan, np.nan, np.nan, np.nan)
    sd = float(x.std(ddof=1))
    se = sd / np.sqrt(n)
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
    return MeanInterval(n, mean, sd, se, mean - half, mean + half)
