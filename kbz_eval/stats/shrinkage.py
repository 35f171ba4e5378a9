"""Random-effects models across units and the shrunken (empirical-Bayes) estimates.

The normal–normal model of a set of unit estimates (practices, trials, areas): unit
``i`` has an estimate ``y_i`` with known sampling variance ``v_i`` of its true value
``θ_i``, and the true values scatter around a common mean,

    y_i | θ_i ~ N(θ_i, v_i),        θ_i ~ N(μ, τ²).

Written once here, with no knowledge of claims:

* :func:`cochran_q` — the heterogeneity statistic ``Q`` and its degrees of freedom;
* :func:`tau2_dersimonian_laird` — the method-of-moments ``τ²`` of DerSimonian & Laird
  (1986);
* :func:`tau2_reml` — the restricted maximum likelihood ``τ²`` (Fisher scoring, as in
  Viechtbauer 2005 and metafor);
* :func:`random_effects` — both, the pooled mean ``μ̂`` and ``I²``, as a
  :class:`RandomEffects`;
* :func:`blup` — the shrunken estimates (best linear unbiased predictions, the
  empirical-Bayes posterior means) and their posterior variances;
* :func:`posterior_ranks` — ranks of the units with intervals, by simulation from the
  approximate joint posterior.

Every function works on the last axis and broadcasts over leading axes, so a simulation
study fits thousands of data sets in one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from kbz_eval.errors import SpecificationError
from kbz_eval.stats.options import check_alpha, check_option, check_seed

#: Estimators of the between-unit variance τ².
Tau2Method = Literal["reml", "dl"]
TAU2_METHODS: tuple[str, ...] = ("reml", "dl")
#: Names of the τ² estimators, for tables and text.
TAU2_NAMES = {"reml": "REML", "dl": "DerSimonian–Laird"}

#: Smallest number of posterior draws for rank intervals.
MIN_N_SIM = 200


def _arrays(y: Any, v: Any) -> tuple[np.ndarray, np.ndarray]:
    """``y`` and ``v`` as float arrays of one shape, checked: finite, ``v > 0``, at least
    two units on the last axis."""
    y_arr = np.asarray(y, dtype=float)
    v_arr = np.asarray(v, dtype=float)
    try:
        y_arr, v_arr = np.broadcast_arrays(y_arr, v_arr)
    except ValueError as exc:
        raise SpecificationError(
            f"`y` and `v` must have the same shape, but {np.shape(y)} and {np.shape(v)} "
            "were passed.") from exc
    if y_arr.ndim == 0 or y_arr.shape[-1] < 2:
        raise SpecificationError(
            "A random-effects model needs at least two units (the last axis of `y`), but "
            f"an array of shape {y_arr.shape} was passed.")
    if not (np.isfinite(y_arr).all() and np.isfinite(v_arr).all()):
        raise SpecificationError("`y` and `v` must be finite numbers (drop units without "
                                 "an estimate first).")
    if (v_arr <= 0).any():
        raise SpecificationError("The sampling variances `v` must be > 0.")
    return y_arr, v_arr


def _weighted_mean(y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Σ w y / Σ w`` and ``Σ w`` over the last axis."""
    sw = w.sum(axis=-1)
    return (w * y).sum(axis=-1) / sw, sw


def cochran_q(y: Any, v: Any) -> tuple[np.ndarray, int]:
    """Cochran's heterogeneity statistic ``Q = Σ (y_i − ȳ_w)² / v_i`` (``ȳ_w`` the
    inverse-variance weighted mean) and its degrees of freedom ``k − 1``."""
    y_arr, v_arr = _arrays(y, v)
    w = 1.0 / v_arr
    mu, _ = _weighted_mean(y_arr, w)
    q = (w * (y_arr - mu[..., None]) ** 2).sum(axis=-1)
    return q, y_arr.shape[-1] - 1


def tau2_dersimonian_laird(y: Any, v: Any) -> np.ndarray:
    """DerSimonian–Laird (1986) moment estimator of τ².

    ``τ² = max(0, (Q − (k − 1)) / (Σ w − Σ w² / Σ w))`` with ``w = 1 / v``.
    """
    y_arr, v_arr = _arrays(y, v)
    q, df = cochran_q(y_arr, v_arr)
    w = 1.0 / v_arr
    c = w.sum(axis=-1) - (w ** 2).sum(axis=-1) / w.sum(axis=-1)
    return np.maximum(0.0, (q - df) / c)


def reml_loglik(tau2: Any, y: Any, v: Any) -> np.ndarray:
    """Restricted log-likelihood of τ² (constants dropped):
    ``−½ [Σ log(v_i + τ²) + log Σ w_i + Σ w_i (y_i − μ̂)²]``, ``w_i = 1/(v_i + τ²)``."""
    y_arr, v_arr = _arrays(y, v)
    t = np.asarray(tau2, dtype=float)[..., None]
    w = 1.0 / (v_arr + t)
    mu, sw = _weighted_mean(y_arr, w)
    return -0.5 * (np.log(v_arr + t).sum(axis=-1) + np.log(sw)
                   + (w * (y_arr - mu[..., None]) ** 2).sum(axis=-1))


def tau2_reml(y: Any, v: Any, *, tol: float = 1e-10, max_iter: int = 500
              ) -> tuple[np.ndarray, bool]:
    """Restricted maximum likelihood estimate of τ² by Fisher scoring.

    Starts at the DerSimonian–Laird value; each step adds
    ``(Σ w²(y − μ̂)² − tr P) / tr(P²)`` (``P = W − w wᵀ / Σ w``, the REML projection) and
    keeps τ² ≥ 0. Steps that lower the restricted likelihood are halved.

    Returns
    -------
    tau2, converged
        The estimates (shape of the leading axes) and whether every fit converged
        (``|Δτ²| < tol · (1 + τ²)``).
    """
    y_arr, v_arr = _arrays(y, v)
    tau2 = np.array(tau2_dersimonian_laird(y_arr, v_arr), dtype=float)
    ll = reml_loglik(tau2, y_arr, v_arr)
    done = np.zeros(tau2.shape, dtype=bool)
    for _ in range(max_iter):
        w = 1.0 / (v_arr + tau2[..., None])
        mu, sw = _weighted_mean(y_arr, w)
        sw2, sw3 = (w ** 2).sum(axis=-1), (w ** 3).sum(axis=-1)
        tr_p = sw - sw2 / sw
        tr_pp = sw2 - 2 * sw3 / sw + (sw2 / sw) ** 2
        score = (w ** 2 * (y_arr - mu[..., None]) ** 2).sum(axis=-1) - tr_p
        step = np.where(done, 0.0, score / tr_pp)
        new = np.maximum(0.0, tau2 + step)
        new_ll = reml_loglik(new, y_arr, v_arr)
        for _ in range(50):
            worse = new_ll < ll - 1e-13 * np.abs(ll)
            if not worse.any():
                break
            step = np.where(worse, step / 2, step)
            new = np.maximum(0.0, tau2 + step)
            new_ll = reml_loglik(new, y_arr, v_arr)
        change = np.abs(new - tau2)
        tau2, ll = new, new_ll
        done |= change < tol * (1.0 + tau2)
        if done.all():
            break
    return tau2, bool(done.all())


def typical_within_variance(v: Any) -> np.ndarray:
    """Higgins & Thompson's (2002) typical sampling variance
    ``s² = (k − 1) Σ w / ((Σ w)² − Σ w²)``, ``w = 1 / v``, used for ``I² = τ²/(τ² + s²)``
    (for the DerSimonian–Laird τ² this equals ``(Q − df) / Q``)."""
    w = 1.0 / np.asarray(v, dtype=float)
    k = w.shape[-1]
    sw = w.sum(axis=-1)
    return (k - 1) * sw / (sw ** 2 - (w ** 2).sum(axis=-1))


@dataclass
class RandomEffects:
    """A fitted normal–normal random-effects model (one data set).

    Attributes
    ----------
    y, v
        The unit estimates and their sampling variances.
    method
        ``"reml"`` or ``"dl"``.
    tau2
        Between-unit variance τ².
    mu, mu_se
        Pooled mean ``Σ w y / Σ w`` with ``w = 1/(v + τ²)`` and its standard error
        ``(Σ w)^−½``.
    q, df, q_p_value
        Cochran's Q, ``k − 1`` and the p-value of the χ² test of no heterogeneity.
    i2
        ``τ² / (τ² + s²)`` with the typical sampling variance ``s²``.
    converged
        Whether the τ² iteration converged (always true for DL).
    """

    y: np.ndarray
    v: np.ndarray
    method: str
    tau2: float
    mu: float
    mu_se: float
    q: float
    df: int
    q_p_value: float
    i2: float
    converged: bool

    @property
    def k(self) -> int:
        """Number of units."""
        return int(self.y.shape[-1])

    def blup(self) -> dict[str, np.ndarray]:
        """The shrunken estimates of this model (see :func:`blup`)."""
        return blup(self.y, self.v, self.tau2)


def random_effects(y: Any, v: Any, *, method: Tau2Method = "reml") -> RandomEffects:
    """Fit the random-effects model of one set of unit estimates.

    Parameters
    ----------
    y, v
        Unit estimates and their sampling variances (1-D, at least two units).
    method
        ``"reml"`` (restricted maximum likelihood, default) or ``"dl"``
        (DerSimonian–Laird).

    Returns
    -------
    RandomEffects
    """
    check_option("method", method, TAU2_METHODS)
    y_arr, v_arr = _arrays(y, v)
    if y_arr.ndim != 1:
        raise SpecificationError(
            f"`random_effects` takes one set of units (1-D `y`), but shape {y_arr.shape} "
            "was passed; use the tau2_* functions for batches.")
    if method == "dl":
        tau2, ok = float(tau2_dersimonian_laird(y_arr, v_arr)), True
    else:
        t, ok = tau2_reml(y_arr, v_arr)
        tau2 = float(t)
    w = 1.0 / (v_arr + tau2)
    mu, sw = _weighted_mean(y_arr, w)
    q, df = cochran_q(y_arr, v_arr)
    s2 = float(typical_within_variance(v_arr))
    return RandomEffects(
        y=y_arr, v=v_arr, method=method, tau2=tau2, mu=float(mu),
        mu_se=float(1.0 / np.sqrt(sw)), q=float(q), df=int(df),
        q_p_value=float(stats.chi2.sf(float(q), df)), i2=tau2 / (tau2 + s2),
        converged=ok)


def blup(y: Any, v: Any, tau2: Any) -> dict[str, np.ndarray]:
    """Shrunken estimates (BLUPs, empirical-Bayes posterior means) given τ².

    ``θ̃_i = B_i μ̂ + (1 − B_i) y_i`` with the shrinkage factor ``B_i = v_i / (v_i + τ²)``
    and ``μ̂`` the random-effects pooled mean. The posterior variance, τ² taken as known
    and ``μ`` with a flat prior, is ``v_i (1 − B_i) + B_i² / Σ w`` (``w = 1/(v + τ²)``):
    the first term is the uncertainty about ``θ_i`` given ``μ``, the second that of ``μ̂``
    carried into ``θ̃_i``. With ``τ² = 0`` every ``θ̃_i`` is the pooled mean and its
    variance ``1 / Σ w``.

    Returns
    -------
    dict
        ``estimate`` (θ̃), ``variance``, ``shrinkage`` (B), ``mu`` and ``mu_variance``.
    """
    y_arr, v_arr = _arrays(y, v)
    t = np.asarray(tau2, dtype=float)[..., None]
    w = 1.0 / (v_arr + t)
    mu, sw = _weighted_mean(y_arr, w)
    b = v_arr / (v_arr + t)
    est = b * mu[..., None] + (1.0 - b) * y_arr
    var = v_arr * (1.0 - b) + b ** 2 / sw[..., None]
    return {"estimate": est, "variance": var, "shrinkage": b, "mu": mu,
            "mu_variance": 1.0 / sw}


def check_n_sim(n_sim: Any) -> int:
    """``n_sim`` as an integer of at least :data:`MIN_N_SIM`."""
    if isinstance(n_sim, bool) or not isinstance(n_sim, (int, np.integer)) or (
            n_sim < MIN_N_SIM):
        raise SpecificationError(
            f"The value for `n_sim` must be an integer of at least {MIN_N_SIM}, but "
            f"{n_sim!r} was passed.")
    return int(n_sim)


def posterior_draws(y: Any, v: Any, tau2: Any, *, n_sim: int, rng: np.random.Generator
                    ) -> np.ndarray:
    """Draws of the unit values from their joint approximate posterior.

    ``μ ~ N(μ̂, 1/Σ w)``, then independently ``θ_i | μ ~ N(B_i μ + (1 − B_i) y_i,
    v_i (1 − B_i))``: the exact joint posterior of the normal–normal model with τ² fixed at
    its estimate and a flat prior on ``μ`` (so the draws share the uncertainty of ``μ̂``).
    Shape ``(..., n_sim, k)``.
    """
    y_arr, v_arr = _arrays(y, v)
    post = blup(y_arr, v_arr, tau2)
    b = post["shrinkage"]
    lead = y_arr.shape[:-1]
    mu = post["mu"][..., None] + np.sqrt(post["mu_variance"])[..., None] * \
        rng.standard_normal((*lead, n_sim))
    cond_mean = b[..., None, :] * mu[..., None] + ((1.0 - b) * y_arr)[..., None, :]
    cond_sd = np.sqrt(v_arr * (1.0 - b))[..., None, :]
    return cond_mean + cond_sd * rng.standard_normal((*lead, n_sim, y_arr.shape[-1]))


def ranks_of_draws(draws: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rank (1 = smallest) of every unit within every draw (last axis); exact ties (τ² =
    0 makes every draw a tie) are broken at random, so tied units share the ranks evenly.
    """
    tie_break = rng.random(draws.shape)
    order = np.lexsort((tie_break, draws), axis=-1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, draws.shape[-1] + 1), axis=-1)
    return ranks


def posterior_ranks(y: Any, v: Any, tau2: Any, *, alpha: float = 0.05,
                    n_sim: int = 4000, seed: int | None = 0) -> dict[str, np.ndarray]:
    """Ranks of the units (1 = smallest true value) with equal-tailed intervals.

    Parameters
    ----------
    y, v
        Unit estimates and sampling variances (last axis: units; leading axes: data sets).
    tau2
        Between-unit variance per data set.
    alpha
        1 − level of the rank intervals.
    n_sim
        Posterior draws (:func:`posterior_draws`).
    seed
        Seed of the draws and the tie-breaking.

    Returns
    -------
    dict
        ``rank``: the rank of the shrunken estimate (ties averaged); ``mean_rank``: the
        posterior mean rank; ``lower``/``upper``: the ``α/2`` and ``1 − α/2`` quantiles
        of the simulated ranks (the smallest rank whose posterior cumulative probability
        reaches the level, so both ends are whole ranks).
    """
    alpha = check_alpha(alpha)
    n_sim = check_n_sim(n_sim)
    rng = np.random.default_rng(check_seed(seed))
    y_arr, v_arr = _arrays(y, v)
    draws = posterior_draws(y_arr, v_arr, tau2, n_sim=n_sim, rng=rng)
    ranks = ranks_of_draws(draws, rng)
    lower, upper = np.quantile(ranks, [alpha / 2, 1 - alpha / 2], axis=-2,
                               method="inverted_cdf")
    shrunken = blup(y_arr, v_arr, tau2)["estimate"]
    return {"rank": stats.rankdata(shrunken, axis=-1, method="average"),
            "mean_rank": ranks.mean(axis=-2), "lower": lower.astype(np.int64),
            "upper": upper.astype(np.int64)}


__all__ = ["MIN_N_SIM", "RandomEffects", "TAU2_METHODS", "TAU2_NAMES", "Tau2Method",
           "blup", "check_n_sim", "cochran_q", "posterior_draws", "posterior_ranks",
           "random_effects", "ranks_of_draws", "reml_loglik", "tau2_dersimonian_laird",
           "tau2_reml", "typical_within_variance"]
