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


class ClusterAdjustment:
    """One cluster's CR2 adjustment ``A_g = (I − H_gg)^{-1/2}``, held in low rank.

    ``H_gg`` has rank at most ``k`` (the number of columns of the design), so
    ``A_g = I + Q C Q'`` with ``Q`` the ``n_g × k`` orthonormal basis of its column space
    and ``C`` a ``k × k`` matrix: applying it costs ``O(n_g k)`` and storing it
    ``O(n_g k)``, where the dense matrix would cost ``O(n_g³)`` to build (an eigen
    decomposition per cluster) and ``O(n_g²)`` to hold. Symmetric: ``A.T is A``.
    """

    def __init__(self, q: np.ndarray, c: np.ndarray) -> None:
        self.q, self.c = q, c

    @property
    def T(self) -> ClusterAdjustment:  # noqa: N802 - mirrors numpy's ``.T``
        return self

    def __matmul__(self, other: np.ndarray) -> np.ndarray:
        other = np.asarray(other, dtype=float)
        return other + self.q @ (self.c @ (self.q.T @ other))

    def toarray(self) -> np.ndarray:
        """The dense ``n_g × n_g`` matrix (for checks)."""
        return np.eye(len(self.q)) + self.q @ self.c @ self.q.T


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def _adjustment(xg: np.ndarray, bread_sqrt: np.ndarray) -> ClusterAdjustment:
    """``(I − H_gg)^{-1/2}`` with ``H_gg = xg bread xg'``, pseudo-inverse on the null space.

    With ``U = xg bread^{1/2} = Q R``: ``H_gg = Q M Q'``, ``M = R R' = V Λ V'``, so
    ``I − H_gg`` has eigenvalues ``1 − λ`` on the columns of ``Q V`` and 1 elsewhere.
    """
    q, r = np.linalg.qr(xg @ bread_sqrt)
    lam, v = np.linalg.eigh((r @ r.T + (r @ r.T).T) / 2)
    d = 1.0 - lam
    tol = 1e-12 * max(1.0, float(np.abs(d).max(initial=0.0)))
    f = np.where(d > tol, 1.0 / np.sqrt(np.clip(d, tol, None)), 0.0)
    return ClusterAdjustment(q, (v * (f - 1.0)) @ v.T)


def _cluster_adjustments(X: np.ndarray, bread: np.ndarray, cluster: np.ndarray,
                         weights: np.ndarray) -> list[tuple[np.ndarray, ClusterAdjustment]]:
    """Per cluster: row indices and ``A_g = (I − H_gg)^{-1/2}`` (weighted hat matrix)."""
    out = []
    sw = np.sqrt(weights)
    root = _psd_sqrt(bread)
    for g in np.unique(cluster):
        rows = np.flatnonzero(cluster == g)
        out.append((rows, _adjustment(X[rows] * sw[rows, None], root)))
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


__all__ = ["ClusterAdjustment", "bell_mccaffrey_df", "cr1_factor", "cr2_vcov"]
