"""Small numerical building blocks shared by the panel estimators.

Group sums and means through a sparse indicator matrix, within-group demeaning, and
least-squares residuals. Nothing here knows about columns or names: arrays in, arrays
out.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse

#: Relative size below which a column counts as linearly dependent on others.
COLLINEARITY_TOL = 1e-9


class Grouping:
    """Rows mapped to ``n_groups`` groups by integer codes ``0 .. n_groups - 1``.

    Parameters
    ----------
    codes
        Integer group code of every row.
    n_groups
        Number of groups; every code in ``range(n_groups)`` must occur.
    """

    def __init__(self, codes: np.ndarray, n_groups: int) -> None:
        self.codes = np.asarray(codes, dtype=np.intp)
        self.n_groups = int(n_groups)
        n = self.codes.shape[0]
        self._indicator = scipy.sparse.csr_array(
            (np.ones(n), (self.codes, np.arange(n))), shape=(self.n_groups, n)
        )
        self.counts = np.bincount(self.codes, minlength=self.n_groups).astype(float)

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (rows × ... ) within each group: shape ``(n_groups, ...)``."""
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            return np.bincount(self.codes, weights=values, minlength=self.n_groups)
        return np.asarray(self._indicator @ values)

    def means(self, values: np.ndarray) -> np.ndarray:
        """Mean of ``values`` within each group."""
        sums = self.sums(values)
        return sums / (self.counts if sums.ndim == 1 else self.counts[:, None])

    def demean(self, values: np.ndarray) -> np.ndarray:
        """``values`` minus their group mean (the within transformation)."""
        values = np.asarray(values, dtype=float)
        return values - self.means(values)[self.codes]


def demeaned_period_dummies(
    units: Grouping, period_codes: np.ndarray, n_periods: int
) -> np.ndarray:
    """Period indicators (first period left out) after demeaning within units.

    Equal to ``units.demean(one_hot(period)[:, 1:])`` but built from per-unit period
    shares without forming the dense indicator first.
    """
    period_codes = np.asarray(period_codes, dtype=np.intp)
    cell = units.codes * n_periods + period_codes
    shares = np.bincount(cell, minlength=units.n_groups * n_periods).reshape(
        units.n_groups, n_periods
    ) / units.counts[:, None]
    dummies = -shares[units.codes, 1:]
    rows = np.flatnonzero(period_codes > 0)
    dummies[rows, period_codes[rows] - 1] += 1.0
    return dummies


def independent_columns(matrix: np.ndarray, *, tol: float = COLLINEARITY_TOL) -> np.ndarray:
    """Indices (ascending) of a maximal set of linearly independent columns."""
    if matrix.shape[1] == 0:
        return np.zeros(0, dtype=np.intp)
    _, r, piv = scipy.linalg.qr(matrix, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    if diag.size == 0 or diag[0] == 0:
        return np.zeros(0, dtype=np.intp)
    rank = int(np.sum(diag > tol * diag[0]))
    return np.sort(piv[:rank])


def residualize(target: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Residual of the least-squares projection of ``target`` on the columns of ``basis``."""
    if basis.shape[1] == 0:
        return np.array(target, dtype=float, copy=True)
    coef, *_ = np.linalg.lstsq(basis, target, rcond=None)
    return target - basis @ coef


def relative_residual_norm(target: np.ndarray, basis: np.ndarray) -> float:
    """``||M_basis target|| / ||target||`` (0 for an all-zero ``target``)."""
    norm = float(np.linalg.norm(target))
    if norm == 0.0:
        return 0.0
    return float(np.linalg.norm(residualize(target, basis))) / norm


def ols_qr(design: np.ndarray, response: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares through a QR decomposition.

    Returns
    -------
    coef
        The coefficients.
    inverse_gram
        ``(design' design)^{-1}``.
    """
    q, r = np.linalg.qr(design)
    r_inv = np.linalg.inv(r)  # small (regressors × regressors), upper triangular
    coef = r_inv @ (q.T @ response)
    return coef, r_inv @ r_inv.T
