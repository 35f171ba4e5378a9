"""CVG (cijfer voor gezondheid): the 1–10 mark patients give their own health (Aim 1).

- :func:`cvg_trajectory`: mean CVG per measurement (dropout visible in ``n``), the change
  from the first measurement from a linear mixed model with a random intercept per
  patient (all patients, not only completers), the completers-only change as a
  sensitivity check, and responsiveness (standardised response mean, effect size);
- :func:`cvg_agreement`: patient versus GP mark: Bland–Altman bias and limits of
  agreement (repeated measurements per patient allowed), ICC(2,1) and weighted kappa.

The building blocks are public for reuse and testing: :func:`fit_random_intercept`
(REML random-intercept model, also used by :func:`kbz_eval.estimators.workforce.
workforce_change`), :func:`wald_contrasts`, :func:`icc_2_1`, :func:`weighted_kappa` and
:func:`bland_altman`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NoReturn

import numpy as np
import pandas as pd
from scipy import stats

from kbz_eval.errors import (
    DataValidationError,
    SpecificationError,
    StatisticalWarning,
    Violation,
)
from kbz_eval.estimators.proportions import (
    check_alpha,
    mean_interval,
    wilson_interval,
    z_value,
)
from kbz_eval.results import Result, tidy_frame
from kbz_eval.validation import validate

#: Allowed values of ``weights`` in :func:`weighted_kappa` and :func:`cvg_agreement`.
KappaWeights = Literal["quadratic", "linear"]
KAPPA_WEIGHTS: tuple[str, ...] = ("quadratic", "linear")


# =========================================================================== mixed model
@dataclass
class RandomInterceptFit:
    """A linear mixed model with a random intercept per group, fitted by REML.

    Attributes
    ----------
    params, cov
        Fixed effects and their model-based covariance (inverse Fisher information).
    names
        Names of the fixed effects, in the order of ``params``.
    group_var, residual_var
        Variance of the random intercept and of the residual.
    n_obs, n_groups
        Observations and groups used.
    converged
        Whether the optimiser reported convergence.
    messages
        Warnings raised by the fit (convergence, boundary), as text.
    """

    params: np.ndarray
    cov: np.ndarray
    names: list[str]
    group_var: float
    residual_var: float
    n_obs: int
    n_groups: int
    converged: bool
    messages: list[str] = field(default_factory=list)


def fit_random_intercept(
    y: np.ndarray, design: np.ndarray, groups: np.ndarray, *, names: Sequence[str]
) -> RandomInterceptFit:
    """Fit ``y = X beta + u_group + e`` by REML (the solution of statsmodels ``MixedLM``).

    Parameters
    ----------
    y
        Outcome, shape ``(n,)``, no missing values.
    design
        Fixed-effects design ``X``, shape ``(n, p)``, full column rank.
    groups
        Group label per row (the random intercept's grouping).
    names
        Names of the columns of ``design``.

    Returns
    -------
    RandomInterceptFit

    Notes
    -----
    ``u_group ~ N(0, tau²)`` and ``e ~ N(0, sigma²)`` independent; REML estimates of
    ``tau²`` and ``sigma²``; fixed effects by GLS given those. With one variance
    component the REML log-likelihood profiled over ``beta`` and ``sigma²`` depends on
    the ratio ``gamma = tau² / sigma²`` alone, and every term is a sum over groups of
    the group size ``m_g`` and the group sums of ``X`` and ``y`` (the cluster inverse
    ``(I + gamma J)^-1 = I - gamma / (1 + gamma m_g) J``; Harville 1977), so the fit is
    a root of the scalar score (``gamma = 0`` when the score is negative there: the
    boundary). The covariance of the fixed effects is statsmodels' ``MixedLM`` one: the
    inverse of the observed information of ``(beta, gamma)`` at the optimum, written
    out for this model (:func:`_ri_hessian`), and the messages are the ones statsmodels
    gives there (variance near the boundary, information not positive definite). Where
    the score has no clean root, or a coarse grid finds a higher likelihood, the fit
    falls back to statsmodels ``MixedLM`` itself (:func:`_fit_statsmodels`). Agreement
    with ``MixedLM`` is tested in ``tests/test_surveys_mixed_model.py``.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(design, dtype=float)
    g = np.asarray(groups)
    codes, labels = pd.factorize(g)
    fit = None
    # every group a single row: tau² and sigma² are not separately identified (flat
    # likelihood), and statsmodels' answer is where its optimiser starts
    if (codes.min(initial=0) >= 0 and len(labels) < y.size and y.size > x.shape[1]
            and np.all(np.isfinite(y))):
        fit = _fit_profiled(y, x, codes, len(labels), names)
    if fit is None:
        fit = _fit_statsmodels(y, x, g, names)
    return fit


@dataclass
class _RIProfile:
    """The pieces of the profiled REML likelihood at one variance ratio ``gamma``."""

    gamma: float
    beta: np.ndarray
    a: np.ndarray  # X' V0^-1 X, V0 = I + gamma Z Z'
    rvir: float  # r' V0^-1 r
    w: np.ndarray  # 1 / (1 + gamma m_g)
    rs: np.ndarray  # residual sums per group
    loglike: float
    score: float


class _RIModel:
    """Sufficient statistics of a random-intercept model (group sums of X and y)."""

    def __init__(self, y: np.ndarray, x: np.ndarray, codes: np.ndarray, n_groups: int):
        self.y, self.x, self.codes = y, x, codes
        self.n, self.p = x.shape
        self.m = np.bincount(codes, minlength=n_groups).astype(float)
        self.xs = np.zeros((n_groups, self.p))
        np.add.at(self.xs, codes, x)
        self.ys = np.bincount(codes, weights=y, minlength=n_groups)
        self.xtx, self.xty = x.T @ x, x.T @ y

    def at(self, gamma: float) -> _RIProfile:
        w = 1.0 / (1.0 + gamma * self.m)
        c = gamma * w
        cxs = self.xs * c[:, None]
        a = self.xtx - self.xs.T @ cxs
        beta = np.linalg.solve(a, self.xty - cxs.T @ self.ys)
        r = self.y - self.x @ beta
        rs = np.bincount(self.codes, weights=r, minlength=self.m.size)
        rvir = float(r @ r - c @ rs**2)
        fac = self.n - self.p
        logdet = np.linalg.slogdet(a)[1]
        loglike = -0.5 * (fac * np.log(rvir) + np.log1p(gamma * self.m).sum() + logdet)
        wxs = self.xs * w[:, None]
        trace = float(np.sum(np.linalg.solve(a, wxs.T) * wxs.T))  # tr(A^-1 sum w² xs xs')
        score = -0.5 * (-fac * float((w * rs) @ (w * rs)) / rvir + float(self.m @ w)
                        - trace)
        return _RIProfile(gamma, beta, a, rvir, w, rs, float(loglike), score)


def _ri_hessian(model: _RIModel, pr: _RIProfile) -> np.ndarray:
    """statsmodels ``MixedLM.hessian`` for one random intercept, at the REML optimum.

    The Hessian of the REML log-likelihood profiled over ``sigma²`` with respect to
    ``(beta, gamma)``, ``gamma = tau² / sigma²`` (statsmodels' parameterisation), each
    of its sums over groups evaluated with ``Z_g = 1``: ``Z' V0^-1 = w_g 1'``.
    """
    fac = model.n - model.p
    w, rs, xs, m = pr.w, pr.rs, model.xs, model.m
    scale = pr.rvir / fac
    b = (w**2 * rs) @ xs
    d = float(np.sum(2 * m * w**3 * rs**2))
    bb = float(np.sum(w**2 * rs**2))
    h_re = float(np.sum(m**2 * w**2)) / 2 - 0.5 * fac * (d / pr.rvir - bb**2 / pr.rvir**2)
    xtax = (xs * (w**2)[:, None]).T @ xs
    f = (xs * (2 * m * w**3)[:, None]).T @ xs
    ql = np.linalg.solve(pr.a, xtax)
    h_re += 0.5 * (float(np.sum(ql.T * ql)) - float(np.trace(np.linalg.solve(pr.a, f))))
    p = model.p
    hess = np.empty((p + 1, p + 1))
    hess[:p, :p] = -pr.a / scale
    hess[:p, p] = hess[p, :p] = -b / scale
    hess[p, p] = h_re
    return hess


#: Variance ratios at which the profiled likelihood is checked against the root found
#: (a higher value there sends the fit to statsmodels).
_GAMMA_GRID = (0.0, 0.01, 0.1, 1.0, 10.0, 100.0)


def _fit_profiled(y: np.ndarray, x: np.ndarray, codes: np.ndarray, n_groups: int,
                  names: Sequence[str]) -> RandomInterceptFit | None:
    """The REML fit by the scalar score; ``None`` when it is not clean (see caller):
    no sign change of the score, a higher likelihood on :data:`_GAMMA_GRID`, a
    singular matrix or any floating-point trouble."""
    model = _RIModel(y, x, codes, n_groups)
    try:
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            return _solve_profiled(model, names)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return None


def _solve_profiled(model: _RIModel, names: Sequence[str]) -> RandomInterceptFit | None:
    """The root of the profiled score (or the boundary), the checks and the covariance."""
    from scipy.optimize import brentq

    at0 = model.at(0.0)
    if not (np.isfinite(at0.score) and at0.rvir > 0):
        return None
    if at0.score <= 0:
        best = at0  # the likelihood falls from gamma = 0: tau² = 0, the boundary
    else:
        hi = 1.0
        while model.at(hi).score > 0:
            hi *= 10.0
            if hi > 1e8:
                return None
        gamma = brentq(lambda t: model.at(t).score, 0.0, hi, xtol=1e-14,
                       rtol=4 * np.finfo(float).eps, maxiter=200)
        best = model.at(gamma)
    if any(model.at(t).loglike > best.loglike + 1e-8 for t in _GAMMA_GRID):
        return None
    hess = _ri_hessian(model, best)
    pcov = np.linalg.inv(-hess)
    p = model.p
    scale = best.rvir / (model.n - p)
    tau2 = best.gamma * scale
    messages = []
    if abs(tau2) < 0.01:  # statsmodels' rule and words
        messages.append("The MLE may be on the boundary of the parameter space.")
    if np.any(np.diag(hess) >= 0):
        messages.append("The Hessian matrix at the estimated parameter values is not "
                        "positive definite.")
    return RandomInterceptFit(
        params=best.beta, cov=pcov[:p, :p], names=list(names), group_var=float(tau2),
        residual_var=float(scale), n_obs=int(model.n), n_groups=int(model.m.size),
        converged=True, messages=sorted(messages),
    )


def _fit_statsmodels(y: np.ndarray, x: np.ndarray, g: np.ndarray,
                     names: Sequence[str], **fit_kwargs: Any) -> RandomInterceptFit:
    """The same model fitted by statsmodels ``MixedLM`` (REML): the fallback of
    :func:`fit_random_intercept` and its outside reference in the tests."""
    import statsmodels.api as sm

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.MixedLM(y, x, groups=g)
        fit = model.fit(reml=True, **fit_kwargs)
    messages = sorted({str(w.message).strip() for w in caught})
    p = x.shape[1]
    params = np.asarray(fit.fe_params, dtype=float)
    cov = np.asarray(fit.cov_params(), dtype=float)[:p, :p]
    return RandomInterceptFit(
        params=params, cov=cov, names=list(names),
        group_var=float(np.asarray(fit.cov_re).ravel()[0]), residual_var=float(fit.scale),
        n_obs=int(y.size), n_groups=int(pd.unique(g).size), converged=bool(fit.converged),
        messages=messages,
    )


def wald_contrasts(
    fit: RandomInterceptFit, contrasts: np.ndarray, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Linear combinations ``L beta`` of the fixed effects with Wald inference.

    Parameters
    ----------
    fit
        A :class:`RandomInterceptFit`.
    contrasts
        Matrix ``L`` of shape ``(m, p)``, one contrast per row.
    alpha
        ``1 - alpha`` is the coverage.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, std_error, ci_lower, ci_upper, p_value`` (normal reference
        distribution), one row per contrast.
    """
    lmat = np.atleast_2d(np.asarray(contrasts, dtype=float))
    est = lmat @ fit.params
    se = np.sqrt(np.einsum("ij,jk,ik->i", lmat, fit.cov, lmat))
    z = z_value(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        pval = 2 * stats.norm.sf(np.abs(est / se))
    return pd.DataFrame({
        "estimate": est, "std_error": se, "ci_lower": est - z * se,
        "ci_upper": est + z * se, "p_value": pval,
    })


def change_model(
    y: np.ndarray, occasion: np.ndarray, groups: np.ndarray, *, alpha: float = 0.05
) -> tuple[pd.DataFrame, RandomInterceptFit]:
    """Change from the first occasion: ``y ~ C(occasion) + (1 | group)`` by REML.

    Parameters
    ----------
    y
        Outcome per observation.
    occasion
        Integer occasion (measurement or wave) per observation; the smallest is the
        reference.
    groups
        Random-intercept group per observation (patient, respondent or location).
    alpha
        ``1 - alpha`` is the coverage.

    Returns
    -------
    contrasts, fit
        ``contrasts`` has one row per later occasion with ``occasion, estimate,
        std_error, ci_lower, ci_upper, p_value`` (occasion k minus the first, Wald z
        interval); ``fit`` is the :class:`RandomInterceptFit`.
    """
    occ = np.asarray(occasion)
    levels = np.unique(occ)
    design = np.column_stack([np.ones(occ.size)] + [(occ == k).astype(float)
                                                    for k in levels[1:]])
    names = ["intercept"] + [f"occasion_{k}" for k in levels[1:]]
    fit = fit_random_intercept(y, design, groups, names=names)
    lmat = np.eye(len(names))[1:]
    out = wald_contrasts(fit, lmat, alpha=alpha)
    out.insert(0, "occasion", levels[1:])
    return out, fit


# =========================================================================== agreement
@dataclass(frozen=True)
class ICCResult:
    """ICC(2,1) with its F test and interval (see :func:`icc_2_1`)."""

    icc: float
    lower: float
    upper: float
    f_value: float
    df1: int
    df2: int
    p_value: float
    n_targets: int
    n_raters: int
    ms_rows: float
    ms_columns: float
    ms_error: float


def icc_2_1(ratings: Any, *, alpha: float = 0.05) -> ICCResult:
    """ICC(2,1): two-way random effects, absolute agreement, single rater.

    Parameters
    ----------
    ratings
        Array of shape ``(n_targets, k_raters)``, complete (no missing values).
    alpha
        ``1 - alpha`` is the coverage of the interval.

    Returns
    -------
    ICCResult

    Notes
    -----
    From the two-way ANOVA mean squares for targets (``MSR``), raters (``MSC``) and
    error (``MSE``) (Shrout & Fleiss, 1979, Psychol Bull 86:420–428)::

        ICC(2,1) = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)

    The interval is McGraw & Wong's (1996, Psychol Methods 1:30–46, case 2A) with
    Satterthwaite degrees of freedom; the F test is ``MSR / MSE`` on ``(n-1)`` and
    ``(n-1)(k-1)`` degrees of freedom. On Shrout & Fleiss's table 2 (6 targets, 4
    judges) ICC(2,1) = 0.29.
    """
    y = np.asarray(ratings, dtype=float)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 2 or np.isnan(y).any():
        raise DataValidationError("<ratings>", "ratings", [Violation(
            "ratings", "not a complete targets x raters array",
            detail="ICC(2,1) needs at least 2 targets rated by at least 2 raters, "
                   "with no missing ratings.",
        )])
    n, k = y.shape
    grand = y.mean()
    ss_rows = k * ((y.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((y.mean(axis=0) - grand) ** 2).sum()
    ss_err = ((y - grand) ** 2).sum() - ss_rows - ss_cols
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    df2 = (n - 1) * (k - 1)
    mse = ss_err / df2
    icc = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        f_value = msr / mse
        p_value = float(stats.f.sf(f_value, n - 1, df2))
        a = k * icc / (n * (1 - icc))
        b = 1 + k * icc * (n - 1) / (n * (1 - icc))
        v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / df2)
        f_l = stats.f.ppf(1 - alpha / 2, n - 1, v)
        f_u = stats.f.ppf(1 - alpha / 2, v, n - 1)
        lower = n * (msr - f_l * mse) / (f_l * (k * msc + (k * n - k - n) * mse) + n * msr)
        upper = n * (f_u * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_u * msr)
    return ICCResult(
        icc=float(icc), lower=float(lower), upper=float(upper), f_value=float(f_value),
        df1=n - 1, df2=int(df2), p_value=p_value, n_targets=n, n_raters=k,
        ms_rows=float(msr), ms_columns=float(msc), ms_error=float(mse),
    )


@dataclass(frozen=True)
class KappaResult:
    """Weighted kappa with its large-sample standard error (see :func:`weighted_kappa`)."""

    kappa: float
    std_error: float
    lower: float
    upper: float
    observed_agreement: float
    expected_agreement: float
    n: int
    weights: str
    categories: tuple[float, ...]


def weighted_kappa(
    rater_a: Any, rater_b: Any, *, weights: KappaWeights = "quadratic", alpha: float = 0.05
) -> KappaResult:
    """Cohen's weighted kappa of two raters on an ordinal scale.

    Parameters
    ----------
    rater_a, rater_b
        Paired ratings (numbers on the same scale, e.g. CVG marks 1–10), no missing
        values.
    weights
        ``"quadratic"`` (disagreement ``(i - j)²``) or ``"linear"`` (``|i - j|``).
    alpha
        ``1 - alpha`` is the coverage of the interval.

    Returns
    -------
    KappaResult

    Notes
    -----
    ``kappa_w = 1 - sum p_ij d_ij / sum p_i. p_.j d_ij`` with disagreement ``d`` on the
    rating values (Cohen, 1968); the result does not depend on the scale's length. The
    standard error is the large-sample (non-null) one of Fleiss, Cohen & Everitt (1969,
    Psychol Bull 72:323–327), computed with agreement weights ``w = 1 - d / max d``;
    the interval is ``kappa ± z SE``.
    """
    if weights not in KAPPA_WEIGHTS:
        raise SpecificationError(
            f"The value for `weights` must be one of {list(KAPPA_WEIGHTS)}, but "
            f"{weights!r} was passed."
        )
    a = np.asarray(rater_a, dtype=float)
    b = np.asarray(rater_b, dtype=float)
    cats = np.unique(np.concatenate([a, b]))
    ia, ib = np.searchsorted(cats, a), np.searchsorted(cats, b)
    c = cats.size
    n = a.size
    table = np.zeros((c, c))
    np.add.at(table, (ia, ib), 1.0)
    p = table / n
    row, col = p.sum(axis=1), p.sum(axis=0)
    diff = cats[:, None] - cats[None, :]
    d = diff**2 if weights == "quadratic" else np.abs(diff)
    dmax = d.max()
    z = z_value(alpha)
    if dmax == 0:
        nan = float("nan")
        return KappaResult(nan, nan, nan, nan, 1.0, 1.0, n, weights, tuple(cats))
    w = 1 - d / dmax
    po = float((w * p).sum())
    pe = float((w * np.outer(row, col)).sum())
    kappa = (po - pe) / (1 - pe)
    wi = w @ col  # weighted mean over columns for each row category
    wj = row @ w  # weighted mean over rows for each column category
    term = (p * (w - (wi[:, None] + wj[None, :]) * (1 - kappa)) ** 2).sum()
    var = (term - (kappa - pe * (1 - kappa)) ** 2) / (n * (1 - pe) ** 2)
    se = float(np.sqrt(max(var, 0.0)))
    return KappaResult(
        kappa=float(kappa), std_error=se, lower=float(kappa - z * se),
        upper=float(kappa + z * se), observed_agreement=po, expected_agreement=pe, n=n,
        weights=weights, categories=tuple(float(x) for x in cats),
    )


@dataclass(frozen=True)
class BlandAltman:
    """Bland–Altman bias and limits of agreement (see :func:`bland_altman`)."""

    bias: float
    bias_se: float
    bias_lower: float
    bias_upper: float
    sd_difference: float
    loa_lower: float
    loa_upper: float
    loa_se: float
    loa_lower_ci: tuple[float, float]
    loa_upper_ci: tuple[float, float]
    between_var: float
    within_var: float
    n_pairs: int
    n_subjects: int


def bland_altman(
    differences: Any, subjects: Any, *, alpha: float = 0.05
) -> BlandAltman:
    """Bias and 95% limits of agreement, allowing several pairs per subject.

    Parameters
    ----------
    differences
        Method B minus method A, one per pair.
    subjects
        Subject of each pair (pairs of one subject are correlated).
    alpha
        ``1 - alpha`` is the coverage of the intervals and of the limits.

    Returns
    -------
    BlandAltman

    Notes
    -----
    Bland & Altman (2007, J Biopharm Stat 17:571–582), the case where the true value
    varies between a subject's measurements: a one-way ANOVA of the differences by
    subject gives the within-subject variance ``s_w² = MSW`` and the between-subject
    component ``s_b² = (MSB - MSW) / lambda`` with ``lambda = (N² - sum m_i²) /
    ((k - 1) N)`` (``N`` pairs, ``k`` subjects, ``m_i`` pairs of subject ``i``;
    ``s_b²`` truncated at 0); the SD of a single difference is ``sqrt(s_b² + s_w²)``.
    With one pair per subject this is the ordinary SD of the differences. The bias is
    the mean difference with variance ``(s_b² sum m_i² + s_w² N) / N²`` and a
    ``t_{k-1}`` interval. The limits are ``bias ± z SD``; their intervals use the
    approximation ``SE² = var(bias) + z² SD² / (2 (k - 1))`` (Bland & Altman, 1986,
    with the number of subjects as the sample size, which is conservative).
    """
    d = np.asarray(differences, dtype=float)
    codes, _ = pd.factorize(pd.Series(subjects))
    n = d.size
    k = int(codes.max()) + 1 if n else 0
    if n < 2 or k < 2:
        raise DataValidationError("<pairs>", "pairs", [Violation(
            "differences", "too few pairs",
            detail=f"Limits of agreement need pairs from at least 2 subjects; got {n} "
                   f"pair(s) from {k} subject(s).",
        )])
    m = np.bincount(codes).astype(float)
    means = np.bincount(codes, weights=d) / m
    bias = float(d.mean())
    if n == k:
        s2_w, s2_b = 0.0, float(d.var(ddof=1))
        var_bias = s2_b / n
    else:
        msb = float((m * (means - bias) ** 2).sum() / (k - 1))
        msw = float(((d - means[codes]) ** 2).sum() / (n - k))
        lam = (n**2 - (m**2).sum()) / ((k - 1) * n)
        s2_w = msw
        s2_b = max(0.0, (msb - msw) / lam)
        var_bias = (s2_b * (m**2).sum() + s2_w * n) / n**2
    sd = float(np.sqrt(s2_b + s2_w))
    z = z_value(alpha)
    t = float(stats.t.ppf(1 - alpha / 2, k - 1))
    se_bias = float(np.sqrt(var_bias))
    lo, hi = bias - z * sd, bias + z * sd
    se_loa = float(np.sqrt(var_bias + z * z * sd * sd / (2 * (k - 1))))
    return BlandAltman(
        bias=bias, bias_se=se_bias, bias_lower=bias - t * se_bias,
        bias_upper=bias + t * se_bias, sd_difference=sd, loa_lower=lo, loa_upper=hi,
        loa_se=se_loa, loa_lower_ci=(lo - t * se_loa, lo + t * se_loa),
        loa_upper_ci=(hi - t * se_loa, hi + t * se_loa), between_var=s2_b,
        within_var=s2_w, n_pairs=n, n_subjects=k,
    )


# =========================================================================== helpers
def _violation_error(column: str, rule: str, detail: str, *, rows: int = 0) -> NoReturn:
    raise DataValidationError("cvg", "cvg", [Violation(column, rule, n_rows=rows,
                                                       detail=detail)])


def _validated_cvg(cvg: pd.DataFrame) -> pd.DataFrame:
    """The contract-checked CVG table with consecutive measurements 1, 2, ... ."""
    data = validate(cvg, "cvg", source="cvg").data
    if data.empty:
        _violation_error("cvg_patient", "no rows", "The CVG table has no rows.")
    present = np.unique(data["measurement"].to_numpy())
    gaps = sorted(set(range(1, int(present.max()) + 1)) - set(present.tolist()))
    if gaps:
        _violation_error(
            "measurement", "measurement without respondents",
            f"Measurement(s) {gaps} have no respondents while later ones do; measurements "
            "must be numbered 1, 2, ... without gaps. Add the missing measurement or "
            "renumber.",
        )
    return data


def _emit(messages: list[str]) -> None:
    for text in messages:
        warnings.warn(text, StatisticalWarning, stacklevel=3)


def _fmt_signed(x: float, digits: int = 2) -> str:
    return f"{x:+.{digits}f}"


# =========================================================================== trajectory
#: What a before/after change of KBZ patients alone cannot show, said wherever it is shown.
NO_COMPARISON = ("no comparison group: an uncontrolled before/after change of the patients "
                 "selected for KBZ; regression to the mean is not excluded")


@dataclass(repr=False)
class CvgTrajectoryResult(Result):
    """Result of :func:`cvg_trajectory`.

    ``tidy()`` rows (column ``estimator`` says which): ``mean_k`` (mean CVG at
    measurement ``k``, t interval), ``change_k_vs_1`` (linear mixed model, REML, Wald
    z interval), ``change_k_vs_1_completers`` (paired t on patients with every
    measurement), ``srm_j_to_k`` and ``es_j_to_k`` (standardised response mean and
    effect size, approximate intervals).

    ``tables``: ``means`` (per measurement: ``n``, mean, SD, interval, patients lost
    since the first measurement), ``change`` (mixed model and completers side by side),
    ``responsiveness`` and ``variance_components``. Individual trajectories, with
    anonymous sequence numbers instead of person ids, are in :attr:`trajectories` (not
    a published table).
    """

    title: ClassVar[str] = "CVG trajectory"
    plotter: ClassVar[str | None] = "surveys:plot_cvg_trajectory"

    trajectories: pd.DataFrame | None = None

    def plot_data(self) -> pd.DataFrame:
        """Individual trajectories (thin) and the mean with its interval (bold).

        Columns ``series`` (``"individual"`` or ``"mean"``), ``trajectory`` (1, 2, ...
        for individuals: anonymous sequence numbers; ``<NA>`` for the mean),
        ``measurement``, ``value``, ``ci_lower``, ``ci_upper``, ``n``.
        """
        means = self.tables["means"]
        mean_rows = pd.DataFrame({
            "series": "mean",
            "trajectory": pd.array([pd.NA] * len(means), dtype="Int64"),
            "measurement": means["measurement"].to_numpy(),
            "value": means["mean"].to_numpy(),
            "ci_lower": means["ci_lower"].to_numpy(),
            "ci_upper": means["ci_upper"].to_numpy(),
            "n": means["n"].to_numpy(),
        })
        traj = self.trajectories if self.trajectories is not None else pd.DataFrame()
        ind = pd.DataFrame({
            "series": "individual",
            "trajectory": pd.array(traj["trajectory"].to_numpy(), dtype="Int64"),
            "measurement": traj["measurement"].to_numpy(),
            "value": traj["cvg_patient"].to_numpy(dtype=float),
            "ci_lower": np.nan,
            "ci_upper": np.nan,
            "n": 1,
        })
        out = pd.concat([ind, mean_rows], ignore_index=True)
        out["series"] = out["series"].astype(str)
        out["n"] = out["n"].astype("int64")
        return out

    def headline(self) -> str:
        """Means per measurement with ``n``, and the mixed-model change at the last."""
        means = self.tables["means"]
        path = " → ".join(f"{m:.1f} (n={n})" for m, n in zip(means["mean"], means["n"],
                                                            strict=True))
        est = self.estimates.set_index("term")
        last = int(means["measurement"].max())
        row = est.loc[f"change_{last}_vs_1"]
        comp = est.loc[f"change_{last}_vs_1_completers"]
        level = f"{100 * (1 - self.settings.get('alpha', 0.05)):g}%"
        return (
            f"mean CVG {path}; change at measurement {last} vs 1 (mixed model, all "
            f"patients) {_fmt_signed(row['estimate'])} ({level} CI "
            f"{row['ci_lower']:.2f} to {row['ci_upper']:.2f}); completers only "
            f"{_fmt_signed(comp['estimate'])} (n={int(comp['n'])}); {NO_COMPARISON}"
        )


def cvg_trajectory(cvg: pd.DataFrame, *, alpha: float = 0.05) -> CvgTrajectoryResult:
    """Self-rated health (CVG) over repeated measurements, with dropout.

    Parameters
    ----------
    cvg
        The ``cvg`` table (``person_id, practice_id, measurement, cvg_patient``; see
        :data:`kbz_eval.tables.CVG`). Not changed.
    alpha
        ``1 - alpha`` is the coverage of every interval (0.05: 95%).

    Returns
    -------
    CvgTrajectoryResult
        Means per measurement, change from the first measurement (mixed model and
        completers), responsiveness; ``.plot()`` draws individual trajectories and the
        mean.

    Raises
    ------
    DataValidationError
        If the table breaks its contract (a mark outside 1–10, a duplicate patient ×
        measurement, ...), has no rows, has a measurement without respondents (gaps in
        the numbering) or only one measurement.
    SpecificationError
        For an invalid ``alpha``.

    Notes
    -----
    *Means* per measurement are over the patients measured then, with Student-t
    intervals; ``n`` shows the dropout. Because the patients who stay may differ from
    those who leave, later means are not a like-for-like comparison.

    *Change* from measurement 1 to ``k`` is the fixed effect of measurement ``k`` in the
    linear mixed model ``cvg ~ C(measurement) + (1 | patient)`` fitted by REML
    (statsmodels ``MixedLM``'s solution, :func:`fit_random_intercept`), with a Wald z
    interval from the model-based covariance.
    It uses every measurement of every patient and is unbiased when dropout depends on
    the marks observed before it (missing at random). The *completers* estimate, the
    mean paired difference among patients with every measurement (t interval), is the
    sensitivity check: it is biased when those who stay differ.

    *Responsiveness* per step ``j → k`` over the patients measured at both: the
    standardised response mean ``SRM = mean change / SD of change`` and the effect size
    ``ES = mean change / SD at j`` (Kazis). Their intervals are delta-method
    approximations: ``SE²(SRM) = 1/n + SRM² / (2(n-1))``,
    ``SE²(ES) = (SD change / SD at j)² / n + ES² / (2(n-1))``.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> res = kbz.cvg_trajectory(kbz.load_sample()["cvg"])       # doctest: +SKIP
    >>> res.tables["means"][["measurement", "n", "mean"]]          # doctest: +SKIP
    """
    alpha = check_alpha(alpha)
    data = _validated_cvg(cvg)
    levels = np.sort(np.unique(data["measurement"].to_numpy()))
    if levels.size < 2:
        _violation_error(
            "measurement", "only one measurement",
            "A trajectory needs at least two measurements; only measurement 1 is present.",
        )
    y = data["cvg_patient"].to_numpy(dtype=float)
    occ = data["measurement"].to_numpy()
    person = data["person_id"].to_numpy()
    messages: list[str] = []

    means = _means_by_measurement(y, occ, levels, alpha, messages)
    contrasts, fit = change_model(y, occ, person, alpha=alpha)
    if not fit.converged:
        messages.append("The mixed model did not converge; its change estimates are "
                        "unreliable.")
    messages += [f"Mixed model: {m}" for m in fit.messages]
    wide = data.pivot(index="person_id", columns="measurement", values="cvg_patient")
    wide = wide.reindex(columns=levels).astype(float)
    completers = wide.dropna()
    if len(completers) < 2:
        messages.append(f"Only {len(completers)} patient(s) have every measurement: no "
                        "completers-only estimate.")
    resp = _responsiveness(wide, levels, alpha)

    rows: list[dict[str, Any]] = []
    for _, r in means.iterrows():
        rows.append({"term": f"mean_{int(r['measurement'])}", "estimate": r["mean"],
                     "std_error": r["std_error"], "ci_lower": r["ci_lower"],
                     "ci_upper": r["ci_upper"], "n": r["n"],
                     "estimator": "mean, t interval", "measurement": r["measurement"]})
    change_rows = []
    for _, c in contrasts.iterrows():
        k = int(c["occasion"])
        n_k = int(means.loc[means["measurement"] == k, "n"].iloc[0])
        rows.append({"term": f"change_{k}_vs_1", "estimate": c["estimate"],
                     "std_error": c["std_error"], "ci_lower": c["ci_lower"],
                     "ci_upper": c["ci_upper"], "p_value": c["p_value"], "n": n_k,
                     "estimator": "linear mixed model (REML), Wald z", "measurement": k})
        comp = mean_interval((completers[k] - completers[levels[0]]).to_numpy(),
                             alpha=alpha)
        p_comp = (float(2 * stats.t.sf(abs(comp.mean / comp.std_error), comp.n - 1))
                  if comp.n >= 2 and comp.std_error > 0 else np.nan)
        rows.append({"term": f"change_{k}_vs_1_completers", "estimate": comp.mean,
                     "std_error": comp.std_error, "ci_lower": comp.lower,
                     "ci_upper": comp.upper, "p_value": p_comp, "n": comp.n,
                     "estimator": "completers only, paired t", "measurement": k})
        change_rows.append({
            "measurement": k, "n": n_k, "mixed_estimate": c["estimate"],
            "mixed_ci_lower": c["ci_lower"], "mixed_ci_upper": c["ci_upper"],
            "n_completers": comp.n, "completers_estimate": comp.mean,
            "completers_ci_lower": comp.lower, "completers_ci_upper": comp.upper,
        })
    rows += _responsiveness_rows(resp)
    estimates = tidy_frame(rows)
    estimates["measurement"] = estimates["measurement"].astype("int64")
    trajectories = _anonymous_trajectories(data)
    _emit(messages)
    return CvgTrajectoryResult(
        estimates=estimates,
        tables={
            "means": means,
            "change": pd.DataFrame(change_rows),
            "responsiveness": resp,
            "variance_components": _variance_components(fit),
        },
        method=_TRAJECTORY_METHOD,
        settings={"alpha": alpha, "measurements": [int(x) for x in levels],
                  "n_patients": int(pd.unique(person).size),
                  "n_completers": int(len(completers))},
        warnings=messages,
        trajectories=trajectories,
    )


_TRAJECTORY_METHOD = (
    "Mean CVG per measurement over the patients measured then (t intervals; n shows "
    "the dropout). Change from measurement 1: fixed effect of measurement k in a "
    "linear mixed model cvg ~ C(measurement) + (1 | patient), REML (profiled "
    "likelihood; statsmodels MixedLM as fallback), Wald z intervals from the "
    "model-based covariance; it uses every "
    "patient and is unbiased if dropout depends only on marks observed earlier "
    "(missing at random). Sensitivity check: mean paired change among completers "
    "(patients with every measurement), t interval. Responsiveness: standardised "
    "response mean and effect size per step, delta-method intervals. The change is "
    f"not an effect of KBZ: {NO_COMPARISON}."
)


def _responsiveness_rows(resp: pd.DataFrame) -> list[dict[str, Any]]:
    """Tidy rows of the standardised response mean and effect size per step."""
    rows = []
    for _, r in resp.iterrows():
        step = f"{int(r['from_measurement'])}_to_{int(r['to_measurement'])}"
        for key, label in (("srm", "standardised response mean"),
                           ("es", "effect size (change / SD at start)")):
            rows.append({"term": f"{key}_{step}", "estimate": r[key],
                         "std_error": r[f"{key}_se"], "ci_lower": r[f"{key}_ci_lower"],
                         "ci_upper": r[f"{key}_ci_upper"], "n": r["n"],
                         "estimator": f"{label}, approximate interval",
                         "measurement": r["to_measurement"]})
    return rows


def _variance_components(fit: Any) -> pd.DataFrame:
    """Between- and within-patient variance of the mixed model, with shares."""
    total_var = fit.group_var + fit.residual_var
    return pd.DataFrame({
        "component": ["between patients (random intercept)", "within patient (residual)"],
        "variance": [fit.group_var, fit.residual_var],
        "share": [fit.group_var / total_var, fit.residual_var / total_var],
        "n": [fit.n_groups, fit.n_obs],
    })


def _means_by_measurement(
    y: np.ndarray, occ: np.ndarray, levels: np.ndarray, alpha: float, messages: list[str]
) -> pd.DataFrame:
    rows = []
    n_first = int((occ == levels[0]).sum())
    for k in levels:
        mi = mean_interval(y[occ == k], alpha=alpha)
        if mi.n < 2:
            messages.append(f"Measurement {int(k)} has {mi.n} patient(s): no interval.")
        rows.append({"measurement": int(k), "n": mi.n, "mean": mi.mean, "sd": mi.sd,
                     "std_error": mi.std_error, "ci_lower": mi.lower, "ci_upper": mi.upper,
                     "n_lost_since_first": n_first - mi.n,
                     "retained_share": mi.n / n_first})
    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype("int64")
    return out


def _responsiveness(wide: pd.DataFrame, levels: np.ndarray, alpha: float) -> pd.DataFrame:
    """SRM and ES for each consecutive step and, from the third on, from the first."""
    steps = [(levels[i - 1], levels[i]) for i in range(1, levels.size)]
    steps += [(levels[0], levels[i]) for i in range(2, levels.size)]
    z = z_value(alpha)
    rows = []
    for j, k in steps:
        both = wide[[j, k]].dropna()
        n = len(both)
        change = (both[k] - both[j]).to_numpy()
        mean_change = float(change.mean()) if n else np.nan
        sd_change = float(change.std(ddof=1)) if n >= 2 else np.nan
        sd_start = float(both[j].std(ddof=1)) if n >= 2 else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            srm = mean_change / sd_change if sd_change > 0 else np.nan
            es = mean_change / sd_start if sd_start > 0 else np.nan
            srm_se = np.sqrt(1 / n + srm**2 / (2 * (n - 1))) if n >= 2 else np.nan
            es_se = (np.sqrt((sd_change / sd_start) ** 2 / n + es**2 / (2 * (n - 1)))
                     if n >= 2 else np.nan)
        rows.append({
            "from_measurement": int(j), "to_measurement": int(k), "n": n,
            "mean_change": mean_change, "sd_change": sd_change, "sd_start": sd_start,
            "srm": srm, "srm_se": srm_se, "srm_ci_lower": srm - z * srm_se,
            "srm_ci_upper": srm + z * srm_se, "es": es, "es_se": es_se,
            "es_ci_lower": es - z * es_se, "es_ci_upper": es + z * es_se,
        })
    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype("int64")
    return out


def _anonymous_trajectories(data: pd.DataFrame) -> pd.DataFrame:
    """Marks per patient and measurement with sequence numbers 1..N instead of ids."""
    codes, _ = pd.factorize(data["person_id"], sort=True)
    out = pd.DataFrame({
        "trajectory": codes + 1,
        "measurement": data["measurement"].to_numpy(),
        "cvg_patient": data["cvg_patient"].to_numpy(),
    })
    return out.sort_values(["trajectory", "measurement"], ignore_index=True)


# =========================================================================== agreement
@dataclass(repr=False)
class CvgAgreementResult(Result):
    """Result of :func:`cvg_agreement`: patient versus GP CVG mark.

    ``tidy()`` rows: ``bias`` (GP minus patient), ``loa_lower``, ``loa_upper`` (95%
    limits of agreement), ``icc_2_1``, ``weighted_kappa``, ``share_identical`` and
    ``share_within_1`` (Wilson intervals, pairs treated as independent).

    ``tables``: ``agreement`` (the same, readable), ``differences`` (number of pairs per
    difference GP − patient).
    """

    title: ClassVar[str] = "CVG agreement, patient vs GP"
    plotter: ClassVar[str | None] = "surveys:plot_cvg_agreement"

    pairs: pd.DataFrame | None = None

    def plot_data(self) -> pd.DataFrame:
        """The Bland–Altman plot: points and the three horizontal lines.

        Columns ``element`` (``"pairs"``: one row per distinct (mean, difference) with
        ``n`` pairs drawn as a point of that size; ``"bias"``, ``"loa_lower"``,
        ``"loa_upper"``: horizontal lines at ``difference``), ``mean_rating``,
        ``difference``, ``n``.
        """
        pairs = self.pairs if self.pairs is not None else pd.DataFrame(
            columns=["mean_rating", "difference"])
        points = (pairs.groupby(["mean_rating", "difference"], as_index=False)
                  .size().rename(columns={"size": "n"}))
        points.insert(0, "element", "pairs")
        est = self.estimates.set_index("term")
        lines = pd.DataFrame({
            "element": ["bias", "loa_lower", "loa_upper"],
            "mean_rating": np.nan,
            "difference": [est.loc[t, "estimate"] for t in ("bias", "loa_lower",
                                                              "loa_upper")],
            "n": int(est.loc["bias", "n"]),
        })
        out = pd.concat([points, lines], ignore_index=True)
        out["element"] = out["element"].astype(str)
        out["n"] = out["n"].astype("int64")
        return out

    def headline(self) -> str:
        """Bias, limits of agreement, ICC and kappa in one sentence."""
        e = self.estimates.set_index("term")
        level = f"{100 * (1 - self.settings.get('alpha', 0.05)):g}%"
        return (
            f"GP minus patient: bias {_fmt_signed(e.loc['bias', 'estimate'])} marks "
            f"({level} CI {e.loc['bias', 'ci_lower']:.2f} to "
            f"{e.loc['bias', 'ci_upper']:.2f}), limits of agreement "
            f"{e.loc['loa_lower', 'estimate']:.2f} to {e.loc['loa_upper', 'estimate']:.2f}; "
            f"ICC(2,1) {e.loc['icc_2_1', 'estimate']:.2f} "
            f"({e.loc['icc_2_1', 'ci_lower']:.2f}–{e.loc['icc_2_1', 'ci_upper']:.2f}); "
            f"{self.settings.get('weights')} weighted kappa "
            f"{e.loc['weighted_kappa', 'estimate']:.2f}; "
            f"{100 * e.loc['share_identical', 'estimate']:.0f}% identical, "
            f"{100 * e.loc['share_within_1', 'estimate']:.0f}% within one mark "
            f"({int(e.loc['bias', 'n'])} pairs)"
        )


def cvg_agreement(
    cvg: pd.DataFrame, *, weights: KappaWeights = "quadratic", alpha: float = 0.05
) -> CvgAgreementResult:
    """How well the patient's and the GP's CVG marks agree.

    Parameters
    ----------
    cvg
        The ``cvg`` table with both ``cvg_patient`` and ``cvg_gp``. Rows without a GP
        mark are left out. Not changed.
    weights
        Kappa weights: ``"quadratic"`` (default; close to the ICC) or ``"linear"``.
    alpha
        ``1 - alpha`` is the coverage of every interval.

    Returns
    -------
    CvgAgreementResult
        Bias and limits of agreement, ICC(2,1), weighted kappa and the shares of
        identical marks and of marks within one point; ``.plot()`` draws the
        Bland–Altman plot.

    Raises
    ------
    DataValidationError
        If the table breaks its contract (a mark outside 1–10, ...), has no
        ``cvg_gp`` column, or fewer than 2 patients with both marks.
    SpecificationError
        For an invalid ``weights`` or ``alpha``.

    Notes
    -----
    The difference is GP minus patient, so a positive bias means the GP rates the
    patient's health higher. Bland–Altman bias and limits of agreement allow several
    pairs per patient (see :func:`bland_altman`). ICC(2,1) (two-way random, absolute
    agreement, single rater; :func:`icc_2_1`) and weighted kappa
    (:func:`weighted_kappa`) treat each patient × measurement pair as a target; pairs of
    one patient are correlated, so these two intervals may be somewhat narrow. The shares
    of identical marks and of marks at most one point apart have Wilson intervals on the
    pairs, with the same caveat.
    """
    alpha = check_alpha(alpha)
    if weights not in KAPPA_WEIGHTS:
        raise SpecificationError(
            f"The value for `weights` must be one of {list(KAPPA_WEIGHTS)}, but "
            f"{weights!r} was passed."
        )
    if "cvg_gp" not in cvg.columns:
        _violation_error("cvg_gp", "missing column",
                         "Agreement needs the GP's mark in column `cvg_gp`.")
    data = _validated_cvg(cvg)
    both = data.dropna(subset=["cvg_gp"])
    if both["person_id"].nunique() < 2:
        _violation_error(
            "cvg_gp", "too few pairs",
            f"Agreement needs patient and GP marks for at least 2 patients; "
            f"{both['person_id'].nunique()} patient(s) have both.",
        )
    patient = both["cvg_patient"].to_numpy(dtype=float)
    gp = both["cvg_gp"].to_numpy(dtype=float)
    diff = gp - patient
    ba = bland_altman(diff, both["person_id"].to_numpy(), alpha=alpha)
    icc = icc_2_1(np.column_stack([patient, gp]), alpha=alpha)
    kap = weighted_kappa(patient, gp, weights=weights, alpha=alpha)
    n_pairs = int(diff.size)
    n_identical = int((diff == 0).sum())
    n_within = int((np.abs(diff) <= 1).sum())
    ident_lo, ident_hi = wilson_interval(n_identical, n_pairs, alpha=alpha)
    within_lo, within_hi = wilson_interval(n_within, n_pairs, alpha=alpha)
    messages: list[str] = []
    if np.isnan(kap.kappa):
        messages.append("Every mark is the same: weighted kappa is undefined.")
    rows = [
        {"term": "bias", "estimate": ba.bias, "std_error": ba.bias_se,
         "ci_lower": ba.bias_lower, "ci_upper": ba.bias_upper,
         "p_value": float(2 * stats.t.sf(abs(ba.bias / ba.bias_se), ba.n_subjects - 1))
         if ba.bias_se > 0 else np.nan,
         "n": n_pairs, "estimator": "mean difference GP − patient (repeated-measures "
                                    "Bland–Altman)"},
        {"term": "loa_lower", "estimate": ba.loa_lower, "std_error": ba.loa_se,
         "ci_lower": ba.loa_lower_ci[0], "ci_upper": ba.loa_lower_ci[1], "n": n_pairs,
         "estimator": "lower 95% limit of agreement"},
        {"term": "loa_upper", "estimate": ba.loa_upper, "std_error": ba.loa_se,
         "ci_lower": ba.loa_upper_ci[0], "ci_upper": ba.loa_upper_ci[1], "n": n_pairs,
         "estimator": "upper 95% limit of agreement"},
        {"term": "icc_2_1", "estimate": icc.icc, "ci_lower": icc.lower,
         "ci_upper": icc.upper, "p_value": icc.p_value, "n": n_pairs,
         "estimator": "ICC(2,1), McGraw–Wong interval"},
        {"term": "weighted_kappa", "estimate": kap.kappa, "std_error": kap.std_error,
         "ci_lower": kap.lower, "ci_upper": kap.upper, "n": n_pairs,
         "estimator": f"Cohen's kappa, {weights} weights, Fleiss–Cohen–Everitt SE"},
        {"term": "share_identical", "estimate": n_identical / n_pairs,
         "ci_lower": float(ident_lo), "ci_upper": float(ident_hi), "n": n_pairs,
         "estimator": "share of pairs with the same mark, Wilson"},
        {"term": "share_within_1", "estimate": n_within / n_pairs,
         "ci_lower": float(within_lo), "ci_upper": float(within_hi), "n": n_pairs,
         "estimator": "share of pairs at most one mark apart, Wilson"},
    ]
    estimates = tidy_frame(rows)
    readable = estimates[["term", "estimate", "ci_lower", "ci_upper", "n", "estimator"]]
    counts = (pd.Series(diff.astype(int), name="difference").value_counts().sort_index()
              .rename_axis("difference").reset_index(name="n"))
    pairs = pd.DataFrame({"mean_rating": (patient + gp) / 2, "difference": diff})
    _emit(messages)
    method = (
        "Difference = GP mark minus patient mark. Bland–Altman bias and 95% limits of "
        "agreement for repeated pairs per patient (Bland & Altman 2007: between- and "
        "within-patient variance of the differences from a one-way ANOVA); bias "
        f"interval t with {ba.n_subjects - 1} df; approximate intervals for the limits. "
        "ICC(2,1): two-way random effects, absolute agreement, single rater (Shrout & "
        "Fleiss 1979), McGraw–Wong interval. Cohen's weighted kappa with "
        f"{weights} weights, Fleiss–Cohen–Everitt large-sample SE. ICC, kappa and the "
        "shares treat each patient × measurement pair as independent; pairs of one "
        "patient are correlated, so those intervals may be a little narrow."
    )
    return CvgAgreementResult(
        estimates=estimates,
        tables={"agreement": readable.reset_index(drop=True), "differences": counts},
        method=method,
        settings={"alpha": alpha, "weights": weights, "n_pairs": n_pairs,
                  "n_patients": ba.n_subjects,
                  "between_patient_var": ba.between_var, "within_patient_var": ba.within_var},
        warnings=messages,
        pairs=pairs,
    )
