"""Generalised linear models on cell sufficient statistics.

:func:`poisson_newton` fits Poisson log-link models with an offset by Newton steps,
batched over many responses sharing one design (so randomisation and jackknife refits
are one call). :func:`poisson_cell_glm` fits a design that is constant within cells from
the cell sums alone and adds a cluster-robust (CR1) sandwich variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats

from kbz_eval.stats.codes import count_distinct
from kbz_eval.stats.sandwich import cr1_factor


@dataclass
class PoissonFit:
    """A Poisson GLM (log link, log-exposure offset) with a cluster sandwich variance."""

    coef: np.ndarray
    vcov: np.ndarray
    n_clusters: int
    n_obs: int
    converged: bool

    def contrast(self, weights: np.ndarray, alpha: float) -> dict[str, float]:
        """Linear combination ``w'β`` on the log scale, returned exponentiated."""
        w = np.asarray(weights, dtype=float)
        est = float(w @ self.coef)
        se = float(np.sqrt(max(w @ self.vcov @ w, 0.0)))
        z = stats.norm.ppf(1 - alpha / 2)
        p = float(2 * stats.norm.sf(abs(est) / se)) if se > 0 else np.nan
        return {"log_estimate": est, "log_std_error": se, "estimate": math.exp(est),
                "ci_lower": math.exp(est - z * se), "ci_upper": math.exp(est + z * se),
                "p_value": p}


def poisson_newton(X: np.ndarray, y: np.ndarray, offset: np.ndarray, *,
                   max_iter: int = 100, tol: float = 1e-10) -> tuple[np.ndarray, bool]:
    """Poisson maximum likelihood (log link, offset) by Newton steps with halving.

    Batched: ``y`` and ``offset`` may be ``(m,)`` or ``(P, m)`` for ``P`` fits sharing the
    design ``X`` (``(m, k)``); returns ``(P, k)`` coefficients (or ``(k,)``) and whether
    every fit converged.
    """
    single = np.ndim(y) == 1
    Y = np.atleast_2d(np.asarray(y, dtype=float))
    off = np.atleast_2d(np.asarray(offset, dtype=float))
    n_fit = Y.shape[0]
    # start: intercept-like least squares of log((y + .5) / exposure) on X
    target = np.log((Y + 0.5) / np.exp(off))
    beta = np.linalg.lstsq(X, target.T, rcond=None)[0].T.copy()
    Xt = X.T

    def loglik(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log-likelihood of every fit and its means ``exp(η)`` (the next Newton step
        starts from the accepted coefficients, whose means are then not recomputed)."""
        eta = b @ Xt
        eta += off
        mu = np.exp(eta)
        eta *= Y
        eta -= mu
        return eta.sum(axis=1), mu

    ll, mu = loglik(beta)
    k = X.shape[1]
    outer = (X[:, :, None] * X[:, None, :]).reshape(X.shape[0], k * k)  # x xᵀ per cell
    converged = np.zeros(n_fit, dtype=bool)
    for _ in range(max_iter):
        grad = (Y - mu) @ X
        hess = (mu @ outer).reshape(n_fit, k, k)
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        t = np.ones(n_fit)
        new = beta + step
        new_ll, new_mu = loglik(new)
        for _ in range(30):
            worse = new_ll < ll - 1e-12 * np.abs(ll)
            if not worse.any():
                break
            t = np.where(worse, t / 2, t)
            new = beta + t[:, None] * step
            new_ll, new_mu = loglik(new)
        change = np.abs(new - beta).max(axis=1)
        beta, ll, mu = new, new_ll, new_mu
        converged = change < tol * (1 + np.abs(beta).max(axis=1))
        if converged.all():
            break
    return (beta[0] if single else beta), bool(converged.all())


def poisson_cell_glm(y: np.ndarray, exposure: np.ndarray, row_cell: np.ndarray,
                     cell_design: np.ndarray, person: np.ndarray, n_persons: int
                     ) -> PoissonFit:
    """Poisson GLM whose design is constant within cells, with person-clustered variance.

    Parameters
    ----------
    y, exposure
        Count and insured years per row (person-year).
    row_cell
        Cell code per row (``0 .. n_cells - 1``).
    cell_design
        ``(n_cells, k)`` design row of each cell (full column rank over used cells).
    person, n_persons
        Cluster (person) code per row.

    Returns
    -------
    PoissonFit

    Notes
    -----
    With a design that is constant within cells the Poisson likelihood depends on the
    data only through the cell sums of counts and exposures, so the fit on the cell sums
    gives exactly the row-level estimates. The cluster-robust (sandwich) variance uses
    the per-person score ``s_i = Σ_rows x_cell (y − exposure · λ_cell)``:
    ``V = c · B⁻¹ (Σ_i s_i s_iᵀ) B⁻¹`` with ``B = Σ_cells μ_cell x xᵀ`` and the usual
    small-sample factor ``c = G/(G − 1) · (N − 1)/(N − k)`` (as statsmodels' ``cluster``
    covariance and Stata's CR1).
    """
    n_cells, k = cell_design.shape
    Y = np.bincount(row_cell, weights=y, minlength=n_cells)
    E = np.bincount(row_cell, weights=exposure, minlength=n_cells)
    used = E > 0
    Xu = cell_design[used]
    coef, ok = poisson_newton(Xu, Y[used], np.log(E[used]))
    lam = np.zeros(n_cells)
    lam[used] = np.exp(Xu @ coef)
    mu = E * lam
    bread = (cell_design * mu[:, None]).T @ cell_design
    resid = y - exposure * lam[row_cell]
    # per person and cell residual sums, then per-person scores
    pc = sparse.coo_matrix((resid, (person, row_cell)), shape=(n_persons, n_cells)).tocsr()
    scores = pc @ cell_design
    meat = scores.T @ scores
    inv = np.linalg.inv(bread)
    n_obs = len(y)
    g = count_distinct(person)
    vcov = cr1_factor(g, n_obs, k) * inv @ meat @ inv
    return PoissonFit(coef=coef, vcov=vcov, n_clusters=g, n_obs=n_obs, converged=ok)


__all__ = ["PoissonFit", "poisson_cell_glm", "poisson_newton"]
