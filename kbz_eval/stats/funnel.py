"""Funnel-plot numerics, written once: control limits, z-scores and overdispersion.

A funnel plot compares units (practices) on one indicator against a *target*: each
unit's value is drawn against its size (the expected count for a ratio, the number of
persons for a proportion, the exposure for a rate), with control limits that narrow as
the size grows. Three kinds of indicator:

* ``"ratio"`` — an indirectly standardised ratio ``O / E``; under the target ``θ0`` the
  observed count is Poisson with mean ``θ0 E``; size is ``E``;
* ``"proportion"`` — ``O / n`` with ``O`` binomial ``(n, θ0)``; size is ``n``;
* ``"rate"`` — ``O / T`` with ``O`` Poisson with mean ``θ0 T`` (``T``: exposure, e.g.
  insured years); size is ``T``.

Limits are at 95 % and 99.8 % (two-sided; tail probabilities 0.025 and 0.001).

**Exact limits.** Poisson kinds (:func:`poisson_limits`): with ``μ = θ0 × size``

* lower limit ``= G⁻¹(p; shape μ) / size``,
* upper limit ``= G⁻¹(1 − p; shape μ + 1) / size``,

with ``G⁻¹(·; shape a)`` the quantile of the Gamma(a, 1) distribution (equivalently
``χ²_p(2μ) / (2 size)`` and ``χ²_{1−p}(2μ + 2) / (2 size)``). This is the exact (Garwood)
confidence interval of a Poisson mean, read with the expected count ``μ`` in the place of
the observed count: a smooth curve near the discrete Poisson quantiles, the formulation
of the NHS FunnelPlotR package. At ``θ0 = 1`` and ``E = 15, 20, 30`` it gives the 95 %
lower limits 0.5597, 0.6108, 0.6747 and the 99.8 % upper limits 2.0829, 1.9021, 1.7028.
(FunnelPlotR scales the limits at ``θ0 = 1`` by ``θ0``; here the Poisson mean is
``θ0 E``, which is the null distribution of ``O``; both agree at ``θ0 = 1``.) Its
discreteness is not symmetric: the chance that a count under the target falls strictly
above the upper limit is at most the nominal tail probability, while the chance below
the lower limit can be larger for small expected counts (95 % limits: at most 0.079 for
``μ ≥ 5``, 0.043 for ``μ ≥ 20``, 0.032 for ``μ ≥ 100``, against 0.025; 99.8 %: at most
0.022, 0.0048, 0.0020 against 0.001). Practices have expected counts in the hundreds
or thousands, where both sides are close to nominal.

Proportions (:func:`binomial_limits`): Spiegelhalter's (2005, Statistics in Medicine
24:1185–1202, appendix) interpolation of the exact binomial quantiles. With ``r_p`` the
``p``-quantile of Binomial(n, θ0) (the smallest ``r`` with ``P(R ≤ r) ≥ p``) and
``α = (P(R ≤ r_p) − p) / P(R = r_p)``, the limit is ``(r_p − α) / n``: it lies between
``(r_p − 1) / n`` and ``r_p / n`` and equals ``r_p / n`` when ``P(R ≤ r_p) = p``.

**z-scores** (:func:`z_scores`) on a variance-stabilising scale, ``z = (y − y0) / s``:

* ``transform="sqrt"`` (Spiegelhalter): ``y = √value`` for ratios and rates (``s = 1 /
  (2 √size)``), ``y = arcsin √value`` for proportions (``s = 1 / (2 √n)``);
* ``transform="log"`` (SHMI): ``y = log value``, ``s = 1 / √(θ0 size)`` for ratios and
  rates (one over the root of the expected count), ``s = √((1 − θ0) / (θ0 n))`` for
  proportions; a zero count is read as 0.5 events (the log of 0 is not finite).

**Overdispersion.** Robust z-scores first: with the square-root transform the z-scores
are *winsorised* (those below the ``trim`` quantile set to it, those above the ``1 −
trim`` quantile set to it; quantiles interpolated linearly, numpy's default);
with the log transform they are *truncated* (the ``⌊trim × n⌋`` units with the lowest and
the ``⌊trim × n⌋`` with the highest z-scores are left out of the estimation).

* multiplicative: ``φ = mean of the robust z²`` (over the ``n'`` units used); when
  ``φ > 1`` the limits are ``y0 ± z_level √φ s`` back-transformed;
* additive random effects (DerSimonian–Laird, as in Spiegelhalter 2005, "Handling
  over-dispersion of performance indicators", Qual Saf Health Care 14:347–351): with
  ``w = 1 / s²`` over the units used,
  ``τ² = max(0, (n' φ − (n' − 1)) / (Σw − Σw² / Σw))``, and when ``τ² > 0`` the limits
  are ``y0 ± z_level √(s² + τ²)`` back-transformed.

Without overdispersion (``"none"``, ``φ ≤ 1`` or ``τ² = 0``) the exact limits are used.
The *dispersion ratio* reported is the Pearson statistic ``Σ z² / (n − 1)`` over all
units (no trimming) with its χ²(n − 1) p-value: how much more the units vary than chance
alone explains.

Every function works along the last axis, so many data sets (simulations) are handled at
once: arrays of shape ``(..., n_units)``, targets and estimates of shape ``(..., 1)``.
Nothing here imports pandas or matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

#: Kind of indicator: indirectly standardised ratio, proportion, or rate per exposure.
Kind = Literal["ratio", "proportion", "rate"]
#: Overdispersion handling: none, multiplicative (φ) or additive random effects (τ²).
Overdispersion = Literal["none", "multiplicative", "additive"]
#: Scale of the z-scores: Spiegelhalter's square root (winsorised) or SHMI's log (truncated).
Transform = Literal["sqrt", "log"]

KINDS: tuple[str, ...] = ("ratio", "proportion", "rate")
OVERDISPERSION: tuple[str, ...] = ("none", "multiplicative", "additive")
TRANSFORMS: tuple[str, ...] = ("sqrt", "log")

#: The two funnel levels (percent, two-sided).
LEVELS: tuple[float, ...] = (95.0, 99.8)
#: Default fraction trimmed (winsorised or truncated) at each end.
DEFAULT_TRIM = 0.10
#: Events a zero count is read as on the log scale.
ZERO_COUNT = 0.5


def tail(level: float) -> float:
    """Probability in each tail of a two-sided ``level`` (percent): 95 → 0.025."""
    return (1.0 - level / 100.0) / 2.0


def z_quantile(level: float) -> float:
    """Standard normal quantile of a two-sided ``level``: 95 → 1.959964, 99.8 → 3.090232."""
    return float(stats.norm.isf(tail(level)))


def level_key(level: float) -> str:
    """Column suffix of a level: 95 → ``"95"``, 99.8 → ``"998"``."""
    return f"{level:g}".replace(".", "")


# --------------------------------------------------------------------------- exact limits
def poisson_limits(size: np.ndarray, target: np.ndarray | float, level: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson limits of ``O / size`` with ``O ~ Poisson(target × size)``.

    Parameters
    ----------
    size
        Expected count at target 1 (ratios) or exposure (rates); > 0.
    target
        The target value ``θ0`` (> 0), broadcast against ``size``.
    level
        Two-sided level in percent (95, 99.8).

    Returns
    -------
    lower, upper
        ``G⁻¹(p; θ0 size) / size`` and ``G⁻¹(1 − p; θ0 size + 1) / size`` with
        ``p = tail(level)`` (see the module notes).
    """
    size = np.asarray(size, dtype=float)
    mu = np.asarray(target, dtype=float) * size
    p = tail(level)
    lower = stats.gamma.ppf(p, mu) / size
    upper = stats.gamma.ppf(1.0 - p, mu + 1.0) / size
    return lower, upper


def interpolated_binomial_quantile(n: np.ndarray, target: np.ndarray | float, p: float
                                   ) -> np.ndarray:
    """Spiegelhalter's interpolated ``p``-quantile of ``Binomial(n, target) / n``.

    ``(r_p − α) / n`` with ``r_p`` the exact quantile and ``α = (P(R ≤ r_p) − p) /
    P(R = r_p)``; clipped to [0, 1].
    """
    n = np.asarray(n, dtype=float)
    target = np.asarray(target, dtype=float)
    r = stats.binom.ppf(p, n, target)
    at = stats.binom.cdf(r, n, target)
    below = stats.binom.cdf(r - 1, n, target)
    alpha = (at - p) / (at - below)
    return np.clip((r - alpha) / n, 0.0, 1.0)


def binomial_limits(n: np.ndarray, target: np.ndarray | float, level: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial limits of ``O / n`` with ``O ~ Binomial(n, target)``, interpolated
    between the discrete quantiles (:func:`interpolated_binomial_quantile`)."""
    p = tail(level)
    return (interpolated_binomial_quantile(n, target, p),
            interpolated_binomial_quantile(n, target, 1.0 - p))


def exact_limits(kind: str, size: np.ndarray, target: np.ndarray | float, level: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The exact limits of ``kind`` (binomial for proportions, Poisson otherwise)."""
    if kind == "proportion":
        return binomial_limits(size, target, level)
    return poisson_limits(size, target, level)


# --------------------------------------------------------------------------- transforms
def forward(kind: str, transform: str, value: np.ndarray) -> np.ndarray:
    """The indicator on the z-score scale (``√``, ``arcsin √`` or ``log``)."""
    value = np.asarray(value, dtype=float)
    if transform == "log":
        with np.errstate(divide="ignore"):
            return np.log(value)
    if kind == "proportion":
        return np.arcsin(np.sqrt(np.clip(value, 0.0, 1.0)))
    return np.sqrt(value)


def backward(kind: str, transform: str, y: np.ndarray) -> np.ndarray:
    """Back from the z-score scale to the indicator (limits below 0 or above 1 for a
    proportion are clipped)."""
    y = np.asarray(y, dtype=float)
    if transform == "log":
        out = np.exp(y)
        return np.minimum(out, 1.0) if kind == "proportion" else out
    if kind == "proportion":
        return np.sin(np.clip(y, 0.0, np.pi / 2)) ** 2
    return np.maximum(y, 0.0) ** 2


def within_se(kind: str, transform: str, size: np.ndarray, target: np.ndarray | float
              ) -> np.ndarray:
    """Standard error ``s`` of the transformed indicator under the target (Poisson or
    binomial variation only)."""
    size = np.asarray(size, dtype=float)
    target = np.asarray(target, dtype=float)
    if transform == "sqrt":
        return 1.0 / (2.0 * np.sqrt(size))
    if kind == "proportion":
        return np.sqrt((1.0 - target) / (target * size))
    return 1.0 / np.sqrt(target * size)


def z_scores(observed: np.ndarray, size: np.ndarray, *, kind: str, transform: str,
             target: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Unadjusted z-scores ``(y − y0) / s`` and the standard errors ``s``.

    With the log transform a zero count is read as :data:`ZERO_COUNT` events.
    """
    observed = np.asarray(observed, dtype=float)
    size = np.asarray(size, dtype=float)
    if transform == "log":
        observed = np.where(observed > 0, observed, ZERO_COUNT)
    y = forward(kind, transform, observed / size)
    y0 = forward(kind, transform, target)
    s = within_se(kind, transform, size, target)
    return (y - y0) / s, s


# --------------------------------------------------------------------------- overdispersion
def winsorise(z: np.ndarray, trim: float) -> tuple[np.ndarray, np.ndarray]:
    """z-scores pulled in to their ``trim`` and ``1 − trim`` quantiles (last axis).

    Returns the winsorised z-scores and a mask of the units that were changed.
    """
    z = np.asarray(z, dtype=float)
    if trim <= 0:
        return z.copy(), np.zeros(z.shape, dtype=bool)
    lo = np.quantile(z, trim, axis=-1, keepdims=True)
    hi = np.quantile(z, 1.0 - trim, axis=-1, keepdims=True)
    out = np.clip(z, lo, hi)
    return out, out != z


def truncate(z: np.ndarray, trim: float) -> np.ndarray:
    """Mask of the units kept when the ``⌊trim × n⌋`` lowest and highest z-scores are
    left out (last axis; ties keep their order of appearance)."""
    z = np.asarray(z, dtype=float)
    n = z.shape[-1]
    m = int(np.floor(trim * n + 1e-9))
    rank = np.argsort(np.argsort(z, axis=-1, kind="stable"), axis=-1, kind="stable")
    return (rank >= m) & (rank < n - m)


def phi_estimate(z: np.ndarray, *, transform: str, trim: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The multiplicative overdispersion factor from robust z-scores.

    Returns
    -------
    phi, used, trimmed
        ``φ`` (shape ``(..., 1)``): the mean of the winsorised (sqrt) or truncated (log)
        z²; ``used``: mask of the units in the estimate (all, when winsorised);
        ``trimmed``: mask of the units winsorised or truncated.
    """
    z = np.asarray(z, dtype=float)
    if transform == "sqrt":
        zw, changed = winsorise(z, trim)
        used = np.ones(z.shape, dtype=bool)
        return np.mean(zw**2, axis=-1, keepdims=True), used, changed
    used = truncate(z, trim)
    n_used = used.sum(axis=-1, keepdims=True)
    phi = np.where(used, z**2, 0.0).sum(axis=-1, keepdims=True) / n_used
    return phi, used, ~used


def tau2_dersimonian_laird(phi: np.ndarray, s: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Additive between-unit variance ``τ²`` on the transformed scale.

    ``max(0, (n' φ − (n' − 1)) / (Σw − Σw² / Σw))`` with ``w = 1 / s²`` summed over the
    ``n'`` units in ``used``.
    """
    w = np.where(used, 1.0 / np.asarray(s, dtype=float) ** 2, 0.0)
    n_used = used.sum(axis=-1, keepdims=True)
    sw = w.sum(axis=-1, keepdims=True)
    sw2 = (w**2).sum(axis=-1, keepdims=True)
    num = n_used * phi - (n_used - 1)
    return np.maximum(0.0, num / (sw - sw2 / sw))


def dispersion_ratio(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson dispersion ratio ``Σ z² / (n − 1)`` over all units and its χ²(n − 1)
    p-value (small: more variation between units than chance explains)."""
    z = np.asarray(z, dtype=float)
    n = z.shape[-1]
    chi2 = (z**2).sum(axis=-1, keepdims=True)
    return chi2 / (n - 1), stats.chi2.sf(chi2, n - 1)


# --------------------------------------------------------------------------- limits
def widened_se(kind: str, transform: str, size: np.ndarray, target: np.ndarray | float, *,
               overdispersion: str, phi: np.ndarray | float, tau2: np.ndarray | float
               ) -> np.ndarray:
    """Standard error on the transformed scale with overdispersion: ``√φ s`` (φ > 1),
    ``√(s² + τ²)``, or ``s``."""
    s = within_se(kind, transform, size, target)
    if overdispersion == "multiplicative":
        return s * np.sqrt(np.maximum(phi, 1.0))
    if overdispersion == "additive":
        return np.sqrt(s**2 + tau2)
    return s


def is_widened(overdispersion: str, phi: np.ndarray | float, tau2: np.ndarray | float
               ) -> np.ndarray:
    """Whether the limits are widened: ``φ > 1`` (multiplicative) or ``τ² > 0``
    (additive); never with ``"none"``."""
    if overdispersion == "multiplicative":
        return np.asarray(phi) > 1.0
    if overdispersion == "additive":
        return np.asarray(tau2) > 0.0
    return np.zeros(np.shape(phi), dtype=bool)


def funnel_limits(size: np.ndarray, *, kind: str, transform: str,
                  target: np.ndarray | float, overdispersion: str = "none",
                  phi: np.ndarray | float = 1.0, tau2: np.ndarray | float = 0.0
                  ) -> dict[str, np.ndarray]:
    """Limits in use at each ``size``: exact, or widened for overdispersion.

    Returns
    -------
    dict
        ``lower_95, upper_95, lower_998, upper_998`` (limits in use) and
        ``exact_lower_95 ...`` (the exact limits, always).
    """
    size = np.asarray(size, dtype=float)
    widened = is_widened(overdispersion, phi, tau2)
    sd = widened_se(kind, transform, size, target, overdispersion=overdispersion, phi=phi,
                    tau2=tau2)
    y0 = forward(kind, transform, target)
    out: dict[str, np.ndarray] = {}
    for level in LEVELS:
        key = level_key(level)
        lo, hi = exact_limits(kind, size, target, level)
        zq = z_quantile(level)
        adj_lo = backward(kind, transform, y0 - zq * sd)
        adj_hi = backward(kind, transform, y0 + zq * sd)
        out[f"lower_{key}"] = np.where(widened, adj_lo, lo)
        out[f"upper_{key}"] = np.where(widened, adj_hi, hi)
        out[f"exact_lower_{key}"] = lo
        out[f"exact_upper_{key}"] = hi
    return out


def pooled_target(observed: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``Σ observed / Σ size`` along the last axis (shape ``(..., 1)``)."""
    return (np.sum(observed, axis=-1, keepdims=True)
            / np.sum(size, axis=-1, keepdims=True))


# --------------------------------------------------------------------------- the fit
@dataclass(frozen=True)
class FunnelFit:
    """Everything a funnel plot shows about a set of units (arrays along the last axis).

    Attributes
    ----------
    value
        The indicator ``observed / size``.
    z, z_adjusted
        z-score on the transformed scale, and with the overdispersion in use
        (``(y − y0) / widened s``; equal to ``z`` when the limits are not widened).
    p_value
        Two-sided normal p-value of ``z_adjusted``.
    limits
        :func:`funnel_limits` at each unit's own size.
    outlier_95, outlier_998
        The value is strictly outside the 95 % / 99.8 % limits in use.
    high_95, high_998
        ... and above the upper limit.
    phi, tau2
        Multiplicative factor and additive variance (estimated whatever the method).
    dispersion_ratio, dispersion_p
        Pearson ``Σ z² / (n − 1)`` and its χ² p-value.
    widened
        Whether the limits in use are widened for overdispersion.
    used, trimmed
        Units in the φ / τ² estimate; units winsorised or truncated.
    target
        The target used.
    """

    value: np.ndarray
    z: np.ndarray
    z_adjusted: np.ndarray
    p_value: np.ndarray
    s: np.ndarray
    limits: dict[str, np.ndarray]
    outlier_95: np.ndarray
    outlier_998: np.ndarray
    high_95: np.ndarray
    high_998: np.ndarray
    phi: np.ndarray
    tau2: np.ndarray
    dispersion_ratio: np.ndarray
    dispersion_p: np.ndarray
    widened: np.ndarray
    used: np.ndarray
    trimmed: np.ndarray
    target: np.ndarray


def fit_funnel(observed: np.ndarray, size: np.ndarray, *, kind: str,
               target: np.ndarray | float | None = None, overdispersion: str = "additive",
               transform: str = "sqrt", trim: float = DEFAULT_TRIM) -> FunnelFit:
    """z-scores, overdispersion and limits of one (or many) sets of units.

    Parameters
    ----------
    observed, size
        Arrays ``(..., n_units)``: observed counts (or sums) and sizes (expected count,
        persons or exposure). Checked by the caller.
    kind, overdispersion, transform, trim
        See the module notes.
    target
        ``θ0``; ``None``: 1 for ratios, the pooled ``Σ O / Σ size`` otherwise.

    Returns
    -------
    FunnelFit
    """
    observed = np.asarray(observed, dtype=float)
    size = np.asarray(size, dtype=float)
    if target is None:
        target = (np.ones(observed.shape[:-1] + (1,)) if kind == "ratio"
                  else pooled_target(observed, size))
    target = np.broadcast_to(np.asarray(target, dtype=float),
                             observed.shape[:-1] + (1,)).copy()
    value = observed / size
    z, s = z_scores(observed, size, kind=kind, transform=transform, target=target)
    phi, used, trimmed = phi_estimate(z, transform=transform, trim=trim)
    tau2 = tau2_dersimonian_laird(phi, s, used)
    ratio, ratio_p = dispersion_ratio(z)
    widened = is_widened(overdispersion, phi, tau2)
    sd = widened_se(kind, transform, size, target, overdispersion=overdispersion, phi=phi,
                    tau2=tau2)
    z_adj = np.where(widened, z * s / sd, z)
    limits = funnel_limits(size, kind=kind, transform=transform, target=target,
                           overdispersion=overdispersion, phi=phi, tau2=tau2)
    high_95 = value > limits["upper_95"]
    high_998 = value > limits["upper_998"]
    return FunnelFit(
        value=value, z=z, z_adjusted=z_adj, p_value=2.0 * stats.norm.sf(np.abs(z_adj)),
        s=s, limits=limits,
        outlier_95=high_95 | (value < limits["lower_95"]),
        outlier_998=high_998 | (value < limits["lower_998"]),
        high_95=high_95, high_998=high_998, phi=phi, tau2=tau2, dispersion_ratio=ratio,
        dispersion_p=ratio_p, widened=widened, used=used, trimmed=trimmed, target=target)


def own_interval(observed: np.ndarray, size: np.ndarray, *, kind: str, level: float = 95.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The unit's own exact interval of ``observed / size``: Garwood (Poisson kinds) or
    Clopper–Pearson (proportions) at ``level`` percent."""
    observed = np.asarray(observed, dtype=float)
    size = np.asarray(size, dtype=float)
    p = tail(level)
    if kind == "proportion":
        lo = np.where(observed > 0, stats.beta.ppf(p, observed, size - observed + 1), 0.0)
        hi = np.where(observed < size, stats.beta.ppf(1 - p, observed + 1, size - observed),
                      1.0)
        return lo, hi
    lo = np.where(observed > 0, stats.gamma.ppf(p, np.maximum(observed, 1e-300)), 0.0)
    hi = stats.gamma.ppf(1 - p, observed + 1)
    return lo / size, hi / size


def own_se(observed: np.ndarray, size: np.ndarray, *, kind: str) -> np.ndarray:
    """The unit's own standard error of ``observed / size``: ``√O / size`` (Poisson
    kinds) or ``√(p (1 − p) / n)`` (proportions)."""
    observed = np.asarray(observed, dtype=float)
    size = np.asarray(size, dtype=float)
    if kind == "proportion":
        p = observed / size
        return np.sqrt(p * (1 - p) / size)
    return np.sqrt(observed) / size


__all__ = [
    "DEFAULT_TRIM", "FunnelFit", "KINDS", "Kind", "LEVELS", "OVERDISPERSION", "Overdispersion",
    "TRANSFORMS", "Transform", "ZERO_COUNT", "backward", "binomial_limits",
    "dispersion_ratio", "exact_limits", "fit_funnel", "forward", "funnel_limits",
    "interpolated_binomial_quantile", "is_widened", "level_key", "own_interval", "own_se",
    "phi_estimate", "poisson_limits", "pooled_target", "tail", "tau2_dersimonian_laird",
    "truncate", "widened_se", "winsorise", "within_se", "z_quantile", "z_scores",
]
