"""Restricted wild cluster bootstrap (WCR) for one coefficient of a linear model.

The test of ``H0: beta = beta0`` imposes the null, resamples the restricted residuals
with one random weight per cluster, and compares the observed cluster-robust t
statistic with its bootstrap distribution (symmetric, two-sided). The confidence
interval collects every ``beta0`` that this test does not reject at level ``alpha``
(test inversion; Roodman, MacKinnon, Nielsen & Webb 2019, "Fast and wild", *Stata
Journal* 19(1)).

Nothing is refitted per replicate. With ``Dt`` the coefficient's regressor after
partialling out every other regressor (Frisch-Waugh-Lovell), ``Z`` the full design,
``r`` the response after partialling out the other regressors and ``v`` the cluster
weights, the restricted residuals are ``r - beta0 * Dt`` and, for each replicate,

- the numerator ``Dt'(v * e_r)`` is a weighted sum of per-cluster scalars, and
- the per-cluster scores ``Dt_g' M_Z (v * e_r)`` are a ``G × G`` linear map of ``v``
  (kept in low-rank form ``diag(a) - B (Z'Z)^{-1} C'``),

and both are affine in ``beta0``. So the ``G × B`` weight matrix is multiplied once, and
the bootstrap t statistics for any ``beta0`` follow from five length-``B`` vectors:
the interval search costs ``O(B)`` per step.

The data passed in must already be free of absorbed fixed effects, and each absorbed
effect must be nested within the clusters (then partialling it out commutes with the
cluster weights and the bootstrap equals the one on the full dummy-variable model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from kbz_eval.stats._linalg import Grouping

WeightType = Literal["rademacher", "webb"]

#: Below this many clusters the six-point weights of Webb (2023) are used: two-point
#: (Rademacher) weights allow only 2**G distinct draws, too few for a p-value.
WEBB_BELOW = 12

#: Webb's six-point distribution: ±sqrt(1/2), ±1, ±sqrt(3/2) with probability 1/6
#: each (mean 0, variance 1).
WEBB_POINTS = np.array(
    [-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)]
)

_MAX_EXPANSIONS = 60
_BISECTIONS = 80
_CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class WildBootstrapResult:
    """Outcome of :func:`wild_cluster_bootstrap`.

    Attributes
    ----------
    p_value
        Bootstrap p-value of ``H0: beta = null`` (symmetric, two-sided).
    ci_lower, ci_upper
        The ``1 - alpha`` interval by test inversion; infinite when even a far-away
        ``beta0`` cannot be rejected (possible with very few clusters).
    weights
        ``"rademacher"`` or ``"webb"``.
    n_boot
        Number of bootstrap replicates actually used.
    enumerated
        ``True`` when every one of the ``2**G`` Rademacher sign patterns was used instead
        of random draws (then the result does not depend on the seed).
    n_clusters
        Number of clusters ``G``.
    """

    p_value: float
    ci_lower: float
    ci_upper: float
    weights: WeightType
    n_boot: int
    enumerated: bool
    n_clusters: int

    def describe(self) -> str:
        """One sentence naming the variant, for ``Result.method``."""
        if self.weights == "webb":
            draws = (
                f"{self.n_boot} draws of Webb six-point weights (used because there are "
                f"fewer than {WEBB_BELOW} clusters)"
            )
        elif self.enumerated:
            draws = f"all {self.n_boot} Rademacher sign patterns (full enumeration)"
        else:
            draws = f"{self.n_boot} draws of Rademacher weights"
        return (
            "Wild cluster bootstrap, restricted (WCR: null imposed), one weight per cluster "
            f"over {self.n_clusters} clusters, {draws}; symmetric two-sided p-value of the "
            "cluster-robust t statistic; confidence interval by test inversion (all "
            "values not rejected at the chosen level)."
        )


def choose_weights(n_clusters: int) -> WeightType:
    """Webb six-point weights below :data:`WEBB_BELOW` clusters, Rademacher otherwise."""
    return "webb" if n_clusters < WEBB_BELOW else "rademacher"


def draw_weights(
    n_clusters: int, n_boot: int, weights: WeightType, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """The ``G × B`` matrix of cluster weights and whether it is a full enumeration.

    Rademacher weights are enumerated (all ``2**G`` sign patterns) when that is no more
    than ``n_boot`` replicates; otherwise drawn at random.
    """
    if weights == "rademacher":
        if 2**n_clusters <= n_boot:
            patterns = np.arange(2**n_clusters)
            bits = (patterns[None, :] >> np.arange(n_clusters)[:, None]) & 1
            return (2.0 * bits - 1.0), True
        return rng.choice(np.array([-1.0, 1.0]), size=(n_clusters, n_boot)), False
    return rng.choice(WEBB_POINTS, size=(n_clusters, n_boot)), False


class _BootstrapStatistics:
    """The bootstrap t statistics as a cheap function of ``beta0``."""

    def __init__(
        self,
        *,
        partialled_regressor: np.ndarray,
        partialled_response: np.ndarray,
        design: np.ndarray,
        inverse_gram: np.ndarray,
        residuals: np.ndarray,
        clusters: Grouping,
        cluster_weights: np.ndarray,
    ) -> None:
        dt = partialled_regressor
        a0 = clusters.sums(dt * partialled_response)
        a1 = clusters.sums(dt * dt)
        b = clusters.sums(design * dt[:, None])
        c0 = clusters.sums(design * partialled_response[:, None])
        self.dd = float(np.sum(dt * dt))
        self.beta_hat = float(np.sum(dt * partialled_response)) / self.dd
        self.observed_meat = float(np.sum(clusters.sums(dt * residuals) ** 2))

        n_boot = cluster_weights.shape[1]
        self.n0 = np.empty(n_boot)
        self.n1 = np.empty(n_boot)
        self.q00 = np.empty(n_boot)
        self.q01 = np.empty(n_boot)
        self.q11 = np.empty(n_boot)
        chunk = max(1, _CHUNK_ELEMENTS // max(1, clusters.n_groups))
        for start in range(0, n_boot, chunk):
            v = cluster_weights[:, start : start + chunk]
            p0 = a0[:, None] * v - b @ (inverse_gram @ (c0.T @ v))
            p1 = a1[:, None] * v - b @ (inverse_gram @ (b.T @ v))
            sl = slice(start, start + v.shape[1])
            self.n0[sl] = a0 @ v
            self.n1[sl] = a1 @ v
            self.q00[sl] = np.sum(p0 * p0, axis=0)
            self.q01[sl] = np.sum(p0 * p1, axis=0)
            self.q11[sl] = np.sum(p1 * p1, axis=0)

    def observed_t(self, beta0: float) -> float:
        num = (self.beta_hat - beta0) * self.dd
        if self.observed_meat == 0.0:
            return 0.0 if num == 0.0 else float(np.copysign(np.inf, num))
        return num / float(np.sqrt(self.observed_meat))

    def p_value(self, beta0: float) -> float:
        num = self.n0 - beta0 * self.n1
        q = np.maximum(self.q00 - 2.0 * beta0 * self.q01 + beta0 * beta0 * self.q11, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = np.abs(num) / np.sqrt(q)
        t_star = np.where(q > 0, t_star, np.where(num != 0, np.inf, 0.0))
        t_obs = abs(self.observed_t(beta0))
        # the all-ones weight vector reproduces the observed statistic; count such ties
        return float(np.mean(t_star >= t_obs * (1.0 - 1e-10) - 1e-12))


def _bound(stat: _BootstrapStatistics, alpha: float, start: float, direction: float) -> float:
    """Where the bootstrap p-value falls below ``alpha`` moving away from the estimate."""
    centre = stat.beta_hat
    inner = centre
    step = start
    outer = centre + direction * step
    for _ in range(_MAX_EXPANSIONS):
        if stat.p_value(outer) < alpha:
            break
        inner = outer
        step *= 2.0
        outer = centre + direction * step
    else:
        return direction * np.inf
    for _ in range(_BISECTIONS):
        mid = 0.5 * (inner + outer)
        if mid in (inner, outer):
            break
        if stat.p_value(mid) < alpha:
            outer = mid
        else:
            inner = mid
    return 0.5 * (inner + outer)


def wild_cluster_bootstrap(
    *,
    partialled_regressor: np.ndarray,
    partialled_response: np.ndarray,
    design: np.ndarray,
    inverse_gram: np.ndarray,
    residuals: np.ndarray,
    clusters: Grouping,
    alpha: float,
    null: float = 0.0,
    n_boot: int,
    seed: int | None,
    weights: WeightType | None = None,
) -> WildBootstrapResult:
    """Restricted wild cluster bootstrap p-value and test-inversion interval.

    Parameters
    ----------
    partialled_regressor
        The tested regressor after partialling out all other regressors (``Dt``).
    partialled_response
        The response after partialling out all other regressors (not the tested one).
    design
        The full design ``Z`` (tested regressor and all others, fixed effects already
        absorbed).
    inverse_gram
        ``(Z'Z)^{-1}``.
    residuals
        Unrestricted OLS residuals.
    clusters
        Cluster membership of each row.
    alpha
        Level of the interval (``1 - alpha`` coverage).
    null
        The ``beta0`` of the reported p-value.
    n_boot
        Replicates (``G × n_boot`` weights); fewer when Rademacher weights are enumerated.
    seed
        Seed of the weight draws.
    weights
        ``"rademacher"`` or ``"webb"``; by default :func:`choose_weights`.

    Returns
    -------
    WildBootstrapResult

    Notes
    -----
    Every replicate is computed from the same weight matrix for every ``beta0``, so the
    p-value is a deterministic step function of ``beta0`` given the seed; interval
    bounds are located by bracketing and bisection to machine precision. The small
    sample factor ``G/(G-1)·(N-1)/(N-K)`` cancels from the comparison of t statistics.
    """
    g = clusters.n_groups
    kind = weights or choose_weights(g)
    rng = np.random.default_rng(seed)
    v, enumerated = draw_weights(g, n_boot, kind, rng)
    stat = _BootstrapStatistics(
        partialled_regressor=partialled_regressor,
        partialled_response=partialled_response,
        design=design,
        inverse_gram=inverse_gram,
        residuals=residuals,
        clusters=clusters,
        cluster_weights=v,
    )
    se_unscaled = np.sqrt(stat.observed_meat) / stat.dd
    start = max(float(stats.t.ppf(1 - alpha / 2, max(g - 1, 1))) * se_unscaled, 1e-12)
    if not np.isfinite(start):
        start = 1.0
    return WildBootstrapResult(
        p_value=stat.p_value(null),
        ci_lower=_bound(stat, alpha, start, -1.0),
        ci_upper=_bound(stat, alpha, start, 1.0),
        weights=kind,
        n_boot=v.shape[1],
        enumerated=enumerated,
        n_clusters=g,
    )
