"""Cluster-robust (sandwich) variances, written once.

- :func:`cr1_factor`: the one small-sample factor of CR1,
  ``G/(G − 1) · (N − 1)/(N − k)`` (Stata's and statsmodels' ``cluster`` default);
- :func:`cr2_vcov`: the CR2 variance of Bell & McCaffrey (2002) for a linear model, each
  cluster's residuals multiplied by ``(I − H_gg)^{-1/2}`` so the variance is unbiased
  under independent homoskedastic errors, and
- :func:`bell_mccaffrey_df`: the Satterthwaite degrees of freedom of a CR2 contrast
  (Bell & McCaffrey 2002; Imbens & Kolesár 2016), the t reference that keeps a test
  close to its size with few clusters.
"""

from __future__ import annotations

import numpy as np


def cr1_factor(n_clusters: int, n_obs: int, n_params: int) -> float:
    """CR1 small-sample factor ``G/(G − 1) · (N − 1)/(N − k)`` (1 when undefined)."""
    g, n, k = int(n_clusters), int(n_obs), int(n_params)
    if g <= 1 or n <= k:
        return 1.0
    return g / (g - 1) * (n - 1) / (n - k)


def _inv_sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric inverse square root, pseudo-inverse on the null space."""
    vals, vecs = np.linalg.eigh((matrix + matrix.T) / 2)
    tol = 1e-12 * max(1.0, float(np.abs(vals).max(initial=0.0)))
    inv = np.where(vals > tol, 1.0 / np.sqrt(np.clip(vals, tol, None)), 0.0)
    return (vecs * inv) @ vecs.T


def _cluster_adjustments(X: np.ndarray, bread: np.ndarray, cluster: np.ndarray,
                         weights: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per cluster: row indices and ``A_g = (I − H_gg)^{-1/2}`` (weighted hat matrix)."""
    out = []
    sw = np.sqrt(weights)
    for g in np.unique(cluster):
        rows = np.flatnonzero(cluster == g)
        xg = X[rows] * sw[rows, None]
        h = xg @ bread @ xg.T
        out.append((rows, _inv_sqrt_psd(np.eye(rows.size) - h)))
    return out


def cr2_vcov(X: np.ndarray, residuals: np.ndarray, cluster: np.ndarray,
             weights: np.ndarray | None = None) -> tuple[np.ndarray, list]:
    """CR2 (Bell–McCaffrey) cluster-robust variance of weighted least squares.

    Parameters
    ----------
    X
        ``(n, k)`` design (any absorbed effects already partialled out).
    residuals
        ``(n,)`` residuals of the fit.
    cluster
        Cluster code per row.
    weights
        Regression weights (default 1).

    Returns
    -------
    vcov, adjustments
        The ``(k, k)`` variance and the per-cluster ``(rows, A_g)`` used by
        :func:`bell_mccaffrey_df`.
    """
    X = np.asarray(X, dtype=float)
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=float)
    bread = np.linalg.pinv((X * w[:, None]).T @ X)
    adj = _cluster_adjustments(X, bread, np.asarray(cluster), w)
    sw = np.sqrt(w)
    meat = np.zeros((X.shape[1], X.shape[1]))
    for rows, a in adj:
        score = (X[rows] * sw[rows, None]).T @ (a @ (residuals[rows] * sw[rows]))
        meat += np.outer(score, score)
    return bread @ meat @ bread, adj


def bell_mccaffrey_df(X: np.ndarray, contrast: np.ndarray, adjustments: list,
                      weights: np.ndarray | None = None) -> float:
    """Satterthwaite degrees of freedom of ``contrast' β`` under CR2.

    The CR2 variance of ``c'β`` is ``Σ_g (p_g' e_g)²`` with ``p_g = A_g' W_g^{1/2} X_g
    M c``; under a working model of independent homoskedastic errors its distribution
    is approximated by a scaled chi-square with ``ν = (Σ λ)² / Σ λ²`` degrees of freedom,
    ``λ`` the eigenvalues of ``G' G`` where the columns of ``G`` are ``(I − H)_{·,g} p_g``.
    """
    X = np.asarray(X, dtype=float)
    n = len(X)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    sw = np.sqrt(w)
    xs = X * sw[:, None]
    bread = np.linalg.pinv(xs.T @ xs)
    mc = bread @ np.asarray(contrast, dtype=float)
    cols = []
    for rows, a in adjustments:
        p = a.T @ (xs[rows] @ mc)
        # (I − H)[:, rows] p, with H = xs bread xs'
        col = -xs @ (bread @ (xs[rows].T @ p))
        col[rows] += p
        cols.append(col)
    g_mat = np.column_stack(cols)
    lam = np.linalg.eigvalsh(g_mat.T @ g_mat)
    lam = lam[lam > 1e-12 * max(1.0, float(lam.max(initial=0.0)))]
    return float(lam.sum() ** 2 / (lam**2).sum()) if lam.size else np.nan


__all__ = ["bell_mccaffrey_df", "cr1_factor", "cr2_vcov"]
