"""Comparison groups and covariate balance: ``comparison_units`` and ``balance``.

Issue 14, item 3. KBZ (krachtige basiszorg) practices can be compared with *all*
non-KBZ practices, or with *applicants*: practices that applied for KBZ funding but were
not (yet) funded (in Amsterdam 8 of 20 applicants were funded later). Applicants are
selected on the same deprived-neighbourhood profile, so they are often the more credible
comparison, but they are few; weighting on practice characteristics (city, list size...)
then brings the comparison group closer to the KBZ practices.

- :func:`comparison_units` picks the comparison practices from a practice table;
- :func:`balance` weights them to the treated practices (entropy balancing of
  Hainmueller 2012, or propensity-score ATT weights) and reports standardised mean
  differences and variance ratios before and after weighting, and the effective sample
  size (a :class:`BalanceResult`);
- :func:`practice_weights` returns the weights as a table ``practice, weight`` to pass
  into a weighted analysis (e.g. a weighted 2 × 2 DiD of practice-year means).

This module computes only; the love plot is :func:`kbz_eval.plotting.balance.plot_love`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats.options import check_option

#: Comparison group: every practice never treated in the window, or applicants only.
Comparison = Literal["all", "applicants"]
#: Weighting method: entropy balancing, propensity-score ATT weights, or none.
BalanceMethod = Literal["entropy", "propensity", "none"]
#: Estimand the weights target: the average effect on the treated.
Target = Literal["att"]

#: Newton iterations and tolerance (max abs. standardised moment gap) of the dual.
_MAX_ITER = 200
_TOL = 1e-11
#: Gap accepted when Newton's steps no longer decrease the dual at machine precision.
_TOL_STALLED = 1e-8
#: |SMD| above this is commonly read as imbalance (Stuart 2010; Austin 2009).
SMD_THRESHOLD = 0.1

_COMPARISON_TEXT = {
    "all": "all practices not treated in the window",
    "applicants": "applicant practices not (yet) funded",
}


def _fmt(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


def _need_columns(frame: pd.DataFrame, cols: dict[str, Any], name: str) -> None:
    for role, col in cols.items():
        if col not in frame.columns:
            raise SpecificationError(
                f"The column for `{role}` ({_fmt(col)}) is not in `{name}`. Columns: "
                f"{[str(c) for c in frame.columns][:20]}."
            )


# --------------------------------------------------------------------- comparison units
def comparison_units(practices: pd.DataFrame, *, comparison: Comparison = "all",
                     window: tuple[int, int] | None = None, unit: str = "practice_id",
                     start: str = "kbz_start_year", applied: str = "applied_year"
                     ) -> pd.DataFrame:
    """The practices that form the comparison group.

    Parameters
    ----------
    practices
        One row per practice (e.g. ``rollout_sample()["practices"]``), with the columns
        ``unit``, ``start`` (first KBZ year, NaN when never funded) and ``applied``
        (year of the KBZ application, NaN when the practice did not apply). Not
        modified.
    comparison
        ``"all"``: every practice not treated in the window (never-treated, and KBZ
        practices funded only after the window). ``"applicants"``: only practices that
        applied (``applied`` not NaN) and were not funded before the window's last year.
    window
        ``(first_year, last_year)`` of the analysis. ``None``: the whole observed
        period, i.e. only practices never funded are comparison units.
    unit, start, applied
        Column names.

    Returns
    -------
    pandas.DataFrame
        A copy of the selected rows with two more columns: ``comparison_role``
        (``"never_treated"``: not funded by ``last_year``; ``"not_yet_treated"``:
        funded in ``(first_year, last_year]``) and ``comparison_last_year`` (the last
        year the practice may serve as a comparison: ``last_year``, or the year before
        its KBZ start).

    Notes
    -----
    **A later-funded applicant** (an applicant whose KBZ start falls inside the window)
    is a *not-yet-treated* comparison unit: it is kept with role ``"not_yet_treated"``
    and may be used only up to ``comparison_last_year`` = start − 1, as in the
    ``control="notyet"`` option of :func:`kbz_eval.estimators.staggered.staggered_did`.
    A practice funded in or before ``first_year`` has no untreated year in the window
    and is never a comparison unit. With ``comparison="all"`` the same rule is applied
    only to practices funded after the window (never-treated in the window); practices
    funded inside the window are treated units there, not comparisons. Applicants are
    recognised by a non-missing application year, whatever their ``group`` label, and
    whatever the year of application (applying signals the same selection, e.g. a
    deprived neighbourhood, whether it happened before or after the window). With
    ``window=None`` nobody is not-yet-treated: every funded practice is a treated unit.

    Examples
    --------
    >>> from kbz_eval.synth.rollout import rollout_sample
    >>> p = rollout_sample(seed=1)["practices"]
    >>> comparison_units(p, comparison="applicants")["group"].unique().tolist()
    ['applicant']
    """
    comparison = check_option("comparison", comparison, Comparison)
    if not isinstance(practices, pd.DataFrame):
        raise SpecificationError(
            f"`practices` must be a pandas DataFrame with one row per practice, but a "
            f"{type(practices).__name__} was passed.")
    _need_columns(practices, {"unit": unit, "start": start, "applied": applied},
                  "practices")
    if practices[unit].duplicated().any():
        raise SpecificationError(
            f"`practices` must have one row per practice, but {_fmt(unit)} has "
            f"duplicates (first: {practices.loc[practices[unit].duplicated(), unit].iloc[0]!r}).")
    s = pd.to_numeric(practices[start], errors="coerce").to_numpy(float)
    a = pd.to_numeric(practices[applied], errors="coerce").to_numpy(float)
    if window is None:
        first, last = -np.inf, np.inf
    else:
        if (not isinstance(window, (tuple, list)) or len(window) != 2
                or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                           for v in window) or window[0] >= window[1]):
            raise SpecificationError(
                f"The value for `window` must be None or (first_year, last_year) with "
                f"first_year < last_year, but {window!r} was passed.")
        first, last = float(window[0]), float(window[1])
    never = np.isnan(s) | (s > last)
    not_yet = np.zeros(len(s), bool)
    if comparison == "all":
        keep = never
    else:
        if window is not None:
            not_yet = ~np.isnan(s) & (s > first) & (s <= last)
        keep = ~np.isnan(a) & (never | not_yet)
    out = practices.loc[keep].copy()
    role = np.where(not_yet[keep], "not_yet_treated", "never_treated")
    out["comparison_role"] = pd.array(role, dtype="string")
    lastyear = np.where(not_yet[keep], s[keep] - 1, last)
    out["comparison_last_year"] = np.where(np.isfinite(lastyear), lastyear, np.nan)
    out.attrs = dict(practices.attrs)
    out.attrs["comparison"] = comparison
    return out


# ----------------------------------------------------------------------------- result
class BalanceResult(Result):
    """Result of :func:`balance`.

    ``tidy()`` rows: one per covariate and stage (``term`` =
    ``"smd[<covariate>, unweighted]"`` / ``"smd[<covariate>, weighted]"``,
    ``estimate`` = standardised mean difference treated − comparison; extra columns
    ``covariate, stage, mean_treated, mean_comparison, variance_ratio``) and a last row
    ``effective_sample_size`` of the weighted comparison group. ``n`` is the number of
    comparison units. No standard errors: these are descriptive diagnostics.

    ``tables``: ``weights`` (``unit, treated, weight``; treated units ``1/n_treated``,
    comparison weights sum to 1) and ``balance`` (one row per covariate: ``covariate,
    mean_treated, mean_comparison_before, mean_comparison_after, smd_before,
    smd_after, variance_ratio_before, variance_ratio_after``).
    """

    title = "covariate balance"
    plotter = "balance:plot_love"

    def plot_data(self) -> pd.DataFrame:
        """The love plot: ``covariate, stage, smd`` (stage ``unweighted``/``weighted``)."""
        t = self.estimates[self.estimates["stage"].notna()]
        return pd.DataFrame({"covariate": t["covariate"].astype(str).to_numpy(),
                             "stage": t["stage"].astype(str).to_numpy(),
                             "smd": t["estimate"].to_numpy(float)})

    def headline(self) -> str:
        """One sentence: comparison group, method, largest |SMD| before/after, ESS."""
        s = self.settings
        b = self.tables["balance"]
        return (
            f"{s['n_treated']} treated vs {s['n_comparison']} comparison practices "
            f"({s['comparison_label']}), {s['method']} weights: max |SMD| "
            f"{np.abs(b['smd_before']).max():.3g} before, {np.abs(b['smd_after']).max():.3g} "
            f"after; effective comparison sample size {s['ess']:.3g}"
        )


# -------------------------------------------------------------------------- numerics
def _wmean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return w @ x / w.sum()


def _wvar(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted population variance ``sum w (x - mean_w)² / sum w`` (ddof = 0)."""
    w = w / w.sum()
    return w @ (x - w @ x) ** 2


def _entropy_weights(c: np.ndarray, target: np.ndarray, base: np.ndarray,
                     names: list[str]) -> np.ndarray:
    """Entropy balancing weights by Newton's method on the convex dual.

    Minimise ``sum w log(w / q)`` subject to ``sum w = 1`` and ``sum w c = target``.
    The dual is ``min_l log(sum q exp(l'(c - target)))``, with gradient the weighted
    mean of ``c - target`` and Hessian its weighted covariance; ``w ∝ q exp(l'c)``.
    """
    scale = c.std(axis=0)
    scale[scale == 0] = 1.0
    z = (c - target) / scale
    lam = np.zeros(z.shape[1])
    q = base / base.sum()
    for _ in range(_MAX_ITER):
        eta = z @ lam
        w = q * np.exp(eta - eta.max())
        w /= w.sum()
        grad = w @ z
        if np.max(np.abs(grad)) < _TOL:
            return w
        hess = (z * w[:, None]).T @ z - np.outer(grad, grad)
        try:
            step = np.linalg.solve(hess + 1e-14 * np.eye(len(lam)), grad)
        except np.linalg.LinAlgError:  # pragma: no cover - guarded by rank check
            break
        # backtracking on the dual objective
        f0 = np.log(q @ np.exp(eta - eta.max())) + eta.max()
        t = 1.0
        while t > 1e-10:
            new = lam - t * step
            e2 = z @ new
            f1 = np.log(q @ np.exp(e2 - e2.max())) + e2.max()
            if f1 <= f0 - 1e-4 * t * grad @ step:
                break
            t /= 2
        else:
            break  # no decrease left at floating-point precision
        lam = new
    # Newton stalled: converged when the gap is negligible (standardised moments within
    # 1e-8 of the treated ones; rounding keeps some from 1e-11), otherwise infeasible
    eta = z @ lam
    w = q * np.exp(eta - eta.max())
    w /= w.sum()
    grad = w @ z
    if np.max(np.abs(grad)) < _TOL_STALLED:
        return w
    raise SpecificationError(
        f"Entropy balancing did not converge: the treated moments of {names} cannot be "
        "matched exactly by positive weights on the comparison units (largest remaining "
        f"standardised gap {np.max(np.abs(grad)):.3g}). Drop or coarsen a covariate, "
        "balance means only (variances=False), choose a larger comparison group "
        "(comparison='all') or use method='propensity'.")


def _logit_probabilities(d: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Fitted probabilities of a logistic regression of ``d`` on ``x`` (Newton)."""
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        grad = x.T @ (d - p)
        hess = (x * (p * (1 - p))[:, None]).T @ x
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = 1.0 / (1.0 + np.exp(-(x @ beta)))
    if np.any(p > 1 - 1e-8) or np.any(p < 1e-8):
        raise SpecificationError(
            "The propensity model separates treated and comparison practices (fitted "
            "probabilities of 0 or 1), so ATT weights p/(1-p) are unbounded. Drop the "
            "covariate that separates them, or use method='entropy' with a larger "
            "comparison group.")
    return p


# ------------------------------------------------------------------------- front door
def balance(units: pd.DataFrame, *, treated: str, covariates: Sequence[str],
            method: BalanceMethod = "entropy", target: Target = "att",
            variances: bool = False, unit: str = "practice_id",
            base_weight: str | None = None, comparison_label: str = "comparison"
            ) -> BalanceResult:
    """Weight comparison units to the treated units and report covariate balance.

    Parameters
    ----------
    units
        One row per unit (practice): treated and comparison units together, e.g. the
        KBZ practices stacked on :func:`comparison_units`. Not modified.
    treated
        Name of a boolean (or 0/1) column: ``True`` for treated units.
    covariates
        Numeric practice characteristics to balance (code categories such as city as
        0/1 columns).
    method
        ``"entropy"`` (default): entropy balancing (Hainmueller 2012); ``"propensity"``:
        logistic propensity score, ATT weights ``p / (1 - p)``; ``"none"``: equal
        weights (the unweighted diagnostics only).
    target
        The estimand the weights serve; only ``"att"`` (the treated units keep equal
        weights; comparison units are reweighted to resemble them).
    variances
        Entropy balancing only: also match the treated variances of the non-binary
        covariates (second moments), not just the means.
    unit
        Column with the unit identifier.
    base_weight
        Optional column of base weights of the comparison units (entropy balancing
        stays as close as possible to them; default equal).
    comparison_label
        Words naming the comparison group in the headline (e.g. ``"applicants"``).

    Returns
    -------
    BalanceResult

    Raises
    ------
    SpecificationError
        For bad options or columns; when a treated mean lies outside the range of the
        comparison units (no positive weights can match it); when entropy balancing
        does not converge or the propensity model separates the groups.

    Notes
    -----
    **Weights.** Comparison weights are normalised to sum to 1 and are positive;
    treated units each weigh ``1 / n_treated``. Entropy balancing minimises the
    Kullback–Leibler divergence of the weights from the base weights subject to the
    weighted comparison means (and, with ``variances=True``, second moments) equalling
    the treated ones; it is solved by Newton's method with backtracking on the convex
    dual (covariates standardised), to a largest standardised gap of 1e-11. Propensity
    weighting fits ``logit P(treated | x)`` with an intercept by maximum likelihood and
    gives comparison unit *i* weight ``p_i / (1 - p_i)``: the odds reweight the
    comparison distribution of ``x`` to the treated one (ATT).

    **Standardised mean difference** of covariate x: ``(mean_treated −
    weighted mean_comparison) / sqrt((s²_treated + s²_comparison) / 2)``, where the two
    variances are the *unweighted* sample variances (ddof = 1) of the groups, so the
    denominator is the same before and after weighting and only the numerator changes
    (Austin 2009; Stuart 2010). **Variance ratio**: weighted comparison variance over
    treated variance, both population variances (ddof = 0, ``Σw(x − x̄_w)²`` with
    weights summing to 1), so that a ratio of 1 is what ``variances=True`` achieves.
    **Effective sample size** of the comparison group: ``(Σw)² / Σw²``
    (Kish).

    No effect is estimated here; pass :func:`practice_weights` into the analysis.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"practice_id": list("abcdef"), "kbz": [1, 1, 0, 0, 0, 0],
    ...                    "size": [3.0, 4.0, 1.0, 2.0, 5.0, 6.0]})
    >>> res = balance(df, treated="kbz", covariates=["size"])
    >>> float(res.tables["balance"]["mean_comparison_after"].iloc[0].round(8))
    3.5
    >>> round(res.settings["ess"], 6)  # symmetric comparison units: equal weights
    4.0
    """
    method = check_option("method", method, BalanceMethod)
    check_option("target", target, Target)
    check_option("variances", bool(variances) if isinstance(variances, np.bool_)
                 else variances, (True, False))
    if not isinstance(units, pd.DataFrame):
        raise SpecificationError(
            f"`units` must be a pandas DataFrame with one row per unit, but a "
            f"{type(units).__name__} was passed.")
    if isinstance(covariates, str) or not isinstance(covariates, Sequence) or not covariates:
        raise SpecificationError(
            f"`covariates` must be a non-empty list of column names, but {covariates!r} "
            "was passed.")
    cov = list(covariates)
    roles: dict[str, Any] = {"treated": treated, "unit": unit}
    if base_weight is not None:
        roles["base_weight"] = base_weight
    _need_columns(units, {**roles, **{f"covariates ({c})": c for c in cov}}, "units")
    df = units[list(dict.fromkeys([unit, treated, *cov,
                                   *([base_weight] if base_weight else [])]))].copy()
    for c in cov:
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise SpecificationError(
                f"Covariate {_fmt(c)} must be numeric (code categories as 0/1 columns), "
                f"but it has dtype {df[c].dtype}.")
    if df[cov].isna().any().any():
        raise SpecificationError(
            f"The covariates {[c for c in cov if df[c].isna().any()]} have missing "
            "values; impute or drop those units first.")
    tvals = set(pd.unique(df[treated].astype(float)))
    if not tvals <= {0.0, 1.0}:
        raise SpecificationError(
            f"The column for `treated` ({_fmt(treated)}) must be boolean or 0/1, but it "
            f"holds {sorted(tvals)[:5]}.")
    d = df[treated].astype(float).to_numpy() == 1.0
    n_t, n_c = int(d.sum()), int((~d).sum())
    if n_t < 1 or n_c < 2:
        raise SpecificationError(
            f"Balance needs at least 1 treated and 2 comparison units, but there are "
            f"{n_t} treated and {n_c} comparison units.")
    x = df[cov].to_numpy(float)
    xt, xc = x[d], x[~d]
    mt = xt.mean(axis=0)
    base = (df.loc[~d, base_weight].to_numpy(float) if base_weight
            else np.ones(n_c))
    if base_weight and (np.any(~np.isfinite(base)) or np.any(base <= 0)):
        raise SpecificationError(
            f"`base_weight` ({_fmt(base_weight)}) must be positive and finite for every "
            "comparison unit.")

    if method == "entropy":
        lo, hi = xc.min(axis=0), xc.max(axis=0)
        outside = [c for c, m, a, b in zip(cov, mt, lo, hi, strict=True)
                   if not (a < m < b) and not (a == b == m)]
        if outside:
            detail = "; ".join(f"{c}: treated mean {m:.4g}, comparison range "
                               f"[{a:.4g}, {b:.4g}]"
                               for c, m, a, b in zip(cov, mt, lo, hi, strict=True)
                               if c in outside)
            raise SpecificationError(
                f"Exact balance is infeasible: the treated mean of {outside} lies outside "
                f"(or on the edge of) the range of the comparison units ({detail}), so no "
                "positive weights can reach it. Use a larger comparison group "
                "(comparison='all'), drop or coarsen that covariate, or use "
                "method='propensity' and inspect the remaining imbalance.")
        keep = np.ptp(xc, axis=0) > 0
        cols, tgt = [xc[:, keep]], [mt[keep]]
        if variances:
            binary = np.all(np.isin(x, (0.0, 1.0)), axis=0)
            v = keep & ~binary
            cols.append(xc[:, v] ** 2)
            # second moments: with the means matched, equal mean of x² means equal
            # (population, ddof=0) variances
            tgt.append((xt[:, v] ** 2).mean(axis=0))
        c_mat, t_vec = np.hstack(cols), np.concatenate(tgt)
        if c_mat.shape[1] and np.linalg.matrix_rank(c_mat - c_mat.mean(axis=0)) < c_mat.shape[1]:
            raise SpecificationError(
                "The covariates are collinear among the comparison units (e.g. all city "
                "indicators together); drop one of them.")
        w = (_entropy_weights(c_mat, t_vec, base, cov) if c_mat.shape[1]
             else base / base.sum())
        method_text = ("entropy balancing (Hainmueller 2012) of the comparison means"
                       + (" and variances" if variances else "")
                       + " to the treated ones, solved by Newton's method on the convex "
                       "dual")
    elif method == "propensity":
        design = np.column_stack([np.ones(len(d)), x])
        if np.linalg.matrix_rank(design) < design.shape[1]:
            raise SpecificationError(
                "The covariates are collinear (with the intercept); drop one of them.")
        p = _logit_probabilities(d.astype(float), design)
        w = p[~d] / (1 - p[~d])
        w = w / w.sum()
        method_text = ("propensity-score weighting for the ATT: logistic regression of "
                       "treatment on the covariates, comparison weights p/(1-p)")
    else:
        w = base / base.sum()
        method_text = "no weighting (equal comparison weights)"

    equal = np.ones(n_c) / n_c
    var_t = xt.var(axis=0, ddof=1) if n_t > 1 else np.full(len(cov), np.nan)
    sd_pooled = np.sqrt((np.nan_to_num(var_t) + xc.var(axis=0, ddof=1)) / 2)
    mb, ma = _wmean(xc, equal), _wmean(xc, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        smd_b = np.where(sd_pooled > 0, (mt - mb) / sd_pooled, 0.0)
        smd_a = np.where(sd_pooled > 0, (mt - ma) / sd_pooled, 0.0)
        var_t0 = xt.var(axis=0) if n_t > 1 else np.full(len(cov), np.nan)
        vr_b = _wvar(xc, equal) / var_t0
        vr_a = _wvar(xc, w) / var_t0
    ess = float(w.sum() ** 2 / np.sum(w**2))
    table = pd.DataFrame({
        "covariate": cov, "mean_treated": mt, "mean_comparison_before": mb,
        "mean_comparison_after": ma, "smd_before": smd_b, "smd_after": smd_a,
        "variance_ratio_before": vr_b, "variance_ratio_after": vr_a})
    rows: list[dict[str, Any]] = []
    for stage, smd, mc, vr in (("unweighted", smd_b, mb, vr_b), ("weighted", smd_a, ma, vr_a)):
        for j, c in enumerate(cov):
            rows.append({"term": f"smd[{c}, {stage}]", "estimate": smd[j], "n": n_c,
                         "covariate": c, "stage": stage, "mean_treated": mt[j],
                         "mean_comparison": mc[j], "variance_ratio": vr[j]})
    rows.append({"term": "effective_sample_size", "estimate": ess, "n": n_c,
                 "covariate": None, "stage": None})
    estimates = tidy_frame(rows)
    weights = pd.DataFrame({
        "unit": np.concatenate([df.loc[d, unit].to_numpy(), df.loc[~d, unit].to_numpy()]),
        "treated": np.concatenate([np.ones(n_t, bool), np.zeros(n_c, bool)]),
        "weight": np.concatenate([np.full(n_t, 1.0 / n_t), w]),
    })
    method_full = (
        f"Comparison group: {comparison_label} ({n_c} units) against {n_t} treated units; "
        f"target: ATT. Weights: {method_text}; comparison weights are positive and sum to "
        "1. Standardised mean difference = (treated mean − weighted comparison mean) / "
        "sqrt((s²_treated + s²_comparison)/2) with unweighted ddof=1 variances (the same "
        "denominator before and after weighting); variance ratio = weighted comparison "
        "variance / treated variance (both ddof=0); effective sample size (Σw)²/Σw² "
        "(Kish). Balance on the chosen covariates says nothing about unmeasured "
        "differences.")
    return BalanceResult(
        estimates=estimates, tables={"weights": weights, "balance": table},
        method=method_full,
        settings={"method": method, "target": target, "variances": bool(variances),
                  "covariates": cov, "n_treated": n_t, "n_comparison": n_c, "ess": ess,
                  "comparison_label": comparison_label, "unit": unit})


def practice_weights(result: BalanceResult) -> pd.DataFrame:
    """The weights of a :class:`BalanceResult` as a table ``practice, weight, treated``.

    Treated practices weigh ``1 / n_treated`` and comparison practices their balancing
    weight (summing to 1 within the group), so a weighted mean within each group is
    ``sum(weight * y)``. Merge on ``practice`` into a practice-year panel and use the
    weight for every year of the practice (e.g. a weighted 2 × 2 DiD of practice-year
    means; see ``tests/test_balance.py``).

    Parameters
    ----------
    result
        The output of :func:`balance`.

    Returns
    -------
    pandas.DataFrame
        Columns ``practice, weight, treated``.
    """
    if not isinstance(result, BalanceResult):
        raise SpecificationError(
            f"`result` must be a BalanceResult from balance(), but a "
            f"{type(result).__name__} was passed.")
    w = result.tables["weights"]
    return pd.DataFrame({"practice": w["unit"].to_numpy(), "weight": w["weight"].to_numpy(),
                         "treated": w["treated"].to_numpy()})


__all__ = ["BalanceMethod", "BalanceResult", "Comparison", "SMD_THRESHOLD", "Target",
           "balance", "comparison_units", "practice_weights"]
