"""Pre-trends and sensitivity to violations of parallel trends.

Two questions about an event study (the ``dynamic`` table of
:func:`kbz_eval.staggered_did`):

- :func:`pretrend_test` — are the pre-treatment event-time effects jointly zero? A Wald
  test with the covariance of the event-time estimates from their influence functions.
  Not rejecting is weak evidence: pre-trend tests often have little power (Roth 2022),
  which is why the second question matters.
- :func:`honest_sensitivity` — how far may parallel trends fail before the conclusion
  about a post-treatment effect changes? Robust confidence sets of Rambachan & Roth
  (2023) under two restrictions on the bias vector ``delta`` (the event-study
  coefficients minus the treatment effects), and the *breakdown value*: the largest
  restriction parameter at which the set still excludes zero.

Notation (as in Rambachan & Roth): event-study coefficients ``beta_t`` at relative periods
``t = -T_pre..-1, 1..T_post`` with the reference period ``t = 0`` normalised to zero.
With ``staggered_did(..., base_period="universal")`` the reference is event time
``e = -1`` and ``t = e + 1`` (so the first post period ``e = 0`` is ``t = 1``).
``beta = tau + delta`` with ``tau_t = 0`` before treatment, so pre-period coefficients
estimate ``delta`` there.

- **Smoothness** ``Delta^SD(M)``: every second difference of ``delta`` (over the whole
  grid, the reference ``delta_0 = 0`` included) lies in ``[-M, M]``; ``M = 0`` allows
  exactly linear trends. Confidence set: the fixed-length confidence interval (FLCI) of
  Armstrong & Kolesár (2018) as used by Rambachan & Roth (sec. 4.1), computed exactly
  as the minimum over affine estimators ``v' beta_hat`` of ``sigma_v cv_alpha(b(v) /
  sigma_v)``, with ``b(v)`` the worst-case bias over ``Delta^SD(M)`` (a closed form, an
  L1 norm, see :func:`_sd_bias_matrix`) and ``cv_alpha(b)`` the ``1 - alpha`` quantile of
  ``|N(b, 1)|``.
- **Relative magnitudes** ``Delta^RM(Mbar)``: every post-treatment first difference
  ``|delta_{t+1} - delta_t|`` (``t >= 0``) is at most ``Mbar`` times the largest
  pre-treatment first difference ``D = max_{s<0} |delta_{s+1} - delta_s|``. The
  identified set of ``tau_t`` is ``beta_t ± t Mbar D``. Confidence set: a **Bonferroni
  projection** (our construction, not the conditional-least-favourable hybrid "C-LF" of
  the R ``HonestDiD`` package) — with ``alpha_1 + alpha_2 = alpha``,

  ``beta_hat_t ± [z(alpha_1/2) sigma_t + t Mbar (D_hat + z(alpha_2 / (2 T_pre)) s_max)]``

  where ``D_hat = max_s |Delta beta_hat_s|`` and ``s_max`` the largest standard error of
  the pre-period first differences. With probability at least ``1 - alpha`` both
  ``beta_hat_t`` is within ``z(alpha_1/2) sigma_t`` of ``beta_t`` and every first
  difference within its Bonferroni margin, and then ``D <= D_hat + z s_max`` — so the
  set covers ``tau_t`` uniformly over ``Delta^RM(Mbar)``. The split ``alpha_1`` is
  chosen (without looking at the estimates) to minimise ``z(alpha_1/2) sigma_t + t Mbar
  z(alpha_2/(2 T_pre)) s_max``; hence ``alpha_1 = alpha`` and the conventional interval
  at ``Mbar = 0``, a half-length that is continuous and non-decreasing in ``Mbar``, and
  nested sets. It is conservative: wider than ``HonestDiD``'s C-LF sets (on the
  Medicaid example of the ``HonestDiD`` README 1.6 to 1.8 times as long for ``Mbar``
  from 0.5 to 2, with a breakdown value of 0.89 against their about 2; see
  ``tests/test_bacon_sensitivity.py``).

How this differs from the R ``HonestDiD`` package (as documented in its README, commit
02b541bb):

- smoothness: the same FLCI; ``HonestDiD`` finds the optimal ``v`` by a numerical search
  over the bias bound with a convex solver, we minimise the (convex) half-length
  directly; on the README's Medicaid example every printed bound (three significant
  digits, ``M`` = 0 to 0.05) is matched to within half a unit of its last digit plus
  5e-5, the slack of fixest's small-sample factor, which the test rebuilds.
- relative magnitudes: Bonferroni projection instead of C-LF (see above); valid but
  longer, so breakdown values are smaller (conservative).
- only a single post period ``e`` (``l_vec`` a basis vector); no sign / monotonicity
  restrictions, no combined restrictions, no ARP conditional test for ``Delta^SD``.
- breakdown values are solved for (root finding), not read off a grid.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats.options import check_alpha, check_option
from kbz_eval.stats.pvalues import format_p

#: Restriction on violations of parallel trends (Rambachan & Roth 2023).
SensitivityMethod = Literal["relative_magnitude", "smoothness"]

#: Default grid of ``Mbar`` for relative magnitudes.
DEFAULT_MBAR = tuple(np.round(np.arange(0, 2.01, 0.25), 2))

#: Points in the default ``M`` grid for smoothness (0 to twice the standard error of the
#: target coefficient divided by the number of post periods to it).
DEFAULT_M_POINTS = 9

#: Agreement required between the event study recomputed from ``data`` and the result.
_MATCH_TOL = 1e-8

_SQRT_2PI = float(np.sqrt(2 * np.pi))

_METHOD_TEXT = {
    "relative_magnitude": "relative magnitudes (Delta^RM: post-treatment changes in the "
                          "bias at most Mbar times the largest pre-treatment change)",
    "smoothness": "smoothness (Delta^SD: the slope of the bias changes by at most M "
                  "between consecutive periods)",
}


# --------------------------------------------------------------------------- event study
@dataclass(frozen=True)
class EventStudy:
    """Event-study coefficients and their covariance, reference period left out.

    Attributes
    ----------
    event_time
        Event times ``e`` of the coefficients (sorted; the reference ``e = -1`` absent).
    estimate
        The coefficients.
    vcov
        Their covariance matrix.
    n
        Units (for ``tidy()``), or ``None``.
    treated_clusters
        Per coefficient, the number of treated clusters whose data enter it (the
        clusters that carry its variance), or ``None`` when unknown; used for the
        small-sample reference distribution of :func:`pretrend_test`.
    """

    event_time: np.ndarray
    estimate: np.ndarray
    vcov: np.ndarray
    n: int | None = None
    treated_clusters: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, estimate: Sequence[float], vcov: Any, *, n_pre: int,
                    n: int | None = None,
                    treated_clusters: Sequence[int] | None = None) -> EventStudy:
        """Coefficients ordered ``e = -n_pre-1, ..., -2, 0, 1, ...`` (reference ``-1``
        left out), as ``HonestDiD``'s ``betahat, sigma, numPrePeriods``; optionally the
        number of treated clusters behind each coefficient."""
        est = np.asarray(estimate, dtype=float).ravel()
        cov = np.asarray(vcov, dtype=float)
        k = len(est)
        if cov.shape != (k, k):
            raise SpecificationError(
                f"`vcov` must be a {k} x {k} matrix (one row per coefficient), but its "
                f"shape is {cov.shape}."
            )
        if not isinstance(n_pre, (int, np.integer)) or not 0 <= n_pre < k:
            raise SpecificationError(
                f"`n_pre` must be an integer from 0 to {k - 1} (the number of "
                f"pre-treatment coefficients), but {n_pre!r} was passed."
            )
        times = np.concatenate([np.arange(-n_pre - 1, -1), np.arange(0, k - n_pre)])
        counts = None
        if treated_clusters is not None:
            counts = np.asarray(treated_clusters)
            if (counts.shape != (k,) or not np.issubdtype(counts.dtype, np.number)
                    or np.any(counts < 2) or np.any(counts != np.round(counts))):
                raise SpecificationError(
                    f"`treated_clusters` must hold {k} whole numbers of at least 2 (one "
                    f"per coefficient), but {treated_clusters!r} was passed."
                )
            counts = counts.astype(int)
        return cls(event_time=times, estimate=est, vcov=(cov + cov.T) / 2, n=n,
                   treated_clusters=counts)


def _check_staggered(result: Any) -> None:
    from kbz_eval.estimators.staggered import StaggeredDidResult

    if not isinstance(result, StaggeredDidResult):
        raise SpecificationError(
            f"`result` must be a StaggeredDidResult (from kbz.staggered_did) or an "
            f"EventStudy, but a {type(result).__name__} was passed."
        )


def event_study(result: Any, data: pd.DataFrame) -> EventStudy:
    """The event-time effects of a staggered DiD and their influence-function covariance.

    :class:`~kbz_eval.estimators.staggered.StaggeredDidResult` keeps tables, not the
    ``n × K`` influence functions, so they are recomputed here from ``data`` with the
    result's settings (deterministic: the point estimates must equal the result's
    ``dynamic`` table to 1e-8, else ``data`` is not the data the result came from).

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.staggered.StaggeredDidResult`.
    data
        The panel ``result`` was estimated on.

    Returns
    -------
    EventStudy
        Event times other than the reference (``-1`` with ``base_period="universal"``,
        where it is fixed at 0), the ATT by event time and
        ``V = S' S / n²`` with ``S`` the cluster sums of the influence functions (so
        ``sqrt(diag V)`` equals the result's ``se``).

    Raises
    ------
    SpecificationError
        ``result`` is no StaggeredDidResult, or ``data`` gives other estimates.
    """
    _check_staggered(result)
    from kbz_eval.estimators import staggered as sg
    from kbz_eval.stats.multiplier import cluster_sums

    s = result.settings
    options = sg._check_options(
        control=s["control"], anticipation=s["anticipation"], estimation=s["estimation"],
        base_period=s["base_period"], n_boot=s["n_boot"], seed=s["seed"],
        alpha=s["alpha"], bootstrap=s["bootstrap"])
    roles, cov_list = sg._resolve_columns(
        data, outcome=s["outcome"], unit=s["unit"], time=s["time"], group=s["group"],
        cluster=s["cluster"], covariates=s["covariates"] or None,
        weights=s.get("weights"))
    panel, _ = sg._prepare(data, roles, cov_list, options["anticipation"],
                           options["control"])
    gt = sg._group_time(panel, control=options["control"],
                        anticipation=options["anticipation"],
                        estimation=options["estimation"],
                        base_period=options["base_period"])
    agg = sg._aggregate(gt, panel)
    table = agg.tables["dynamic"]  # one numpy array per column
    att = np.asarray(table["att"], dtype=float)
    mine = result.tables["dynamic"]
    if len(mine) != len(att) or not np.allclose(
            att, mine["att"].to_numpy(float), rtol=0, atol=_MATCH_TOL, equal_nan=True):
        raise SpecificationError(
            "`data` does not reproduce the event study of `result` (different ATT by "
            "event time): pass the panel the result was estimated on."
        )
    n = len(panel.g)
    influence = agg.influence["dynamic"]
    sums = cluster_sums(influence, panel.cluster)
    vcov = sums.T @ sums / n**2
    # treated clusters behind each coefficient: those with a treated unit whose
    # influence on it is not zero (units of the cohorts that enter that event time)
    treated = (panel.g > 0)[:, None] & (influence != 0)
    treated_clusters = (cluster_sums(treated.astype(float), panel.cluster) > 0).sum(axis=0)
    times = np.asarray(table["event_time"], dtype=float)
    keep = np.diag(vcov) > 0
    if s["base_period"] == "universal":
        keep &= times != -1
    return EventStudy(event_time=times[keep], estimate=att[keep],
                      vcov=vcov[np.ix_(keep, keep)], n=n,
                      treated_clusters=treated_clusters[keep])


def _as_event_study(result: Any, data: Any) -> EventStudy:
    if isinstance(result, EventStudy):
        if data is not None:
            raise SpecificationError("`data` must be None when `result` is an EventStudy.")
        return result
    _check_staggered(result)
    if data is None:
        raise SpecificationError(
            "`data` is needed with a StaggeredDidResult: the result keeps no influence "
            "functions, so the covariance of the event-time effects is recomputed from "
            "the panel it was estimated on. Pass data=<that panel>."
        )
    return event_study(result, data)


# --------------------------------------------------------------------------- pre-trend test
class PretrendTestResult(Result):
    """Result of :func:`pretrend_test`.

    ``tidy()``: one row, ``term = "pretrend_sup_t"`` or ``"pretrend_wald"``:
    ``estimate`` the statistic (the largest small-sample adjusted |t|, or the Wald
    statistic), ``p_value``, ``df`` (extra column: the number of tested coefficients),
    ``n`` units. ``tables["pre_periods"]``: ``event_time, att, se, ci_lower, ci_upper``
    (pointwise), ``treated_clusters``, ``t``, ``p_value`` (pointwise, small-sample) of
    the tested coefficients.
    """

    title = "joint test of pre-treatment effects"
    plotter = "sensitivity:plot_pretrends"

    def plot_data(self) -> pd.DataFrame:
        """The tested pre-period coefficients with pointwise intervals."""
        return self.tables["pre_periods"].copy()

    def headline(self) -> str:
        """One sentence: statistic, df, p-value and what it means."""
        row = self.estimates.iloc[0]
        verdict = ("rejected" if row["p_value"] < self.settings["alpha"]
                   else "not rejected (which does not show parallel trends hold)")
        if self.settings["test"] == "wald":
            stat = f"Wald chi2({int(row['df'])}) = {row['estimate']:.3f}"
        else:
            stat = f"largest |t| of {int(row['df'])} = {row['estimate']:.3f}"
        return (f"{stat}, {format_p(row['p_value'])}: zero pre-treatment effects "
                f"{verdict}")


#: Tests of zero pre-treatment effects offered by :func:`pretrend_test`.
PretrendTest = Literal["sup_t", "wald"]

#: Normal draws behind the sup-t p-value (Monte Carlo SE below 0.001 near 0.05).
_SUP_T_DRAWS = 200_000


@functools.lru_cache(maxsize=4)
def _standard_normal_draws(k: int) -> tuple[np.ndarray, ...]:
    """The fixed-seed ``(_SUP_T_DRAWS, k)`` standard normal draws of :func:`_sup_t_p_value`,
    in chunks of 50,000 rows (read-only; drawn once per ``k``, the same for every call)."""
    rng = np.random.default_rng(20140151)
    chunks = []
    for start in range(0, _SUP_T_DRAWS, 50_000):
        z = rng.standard_normal((min(50_000, _SUP_T_DRAWS - start), k))
        z.setflags(write=False)
        chunks.append(z)
    return tuple(chunks)


def _sup_t_p_value(z_max: float, corr: np.ndarray) -> float:
    """``P(max_k |Z_k| >= z_max)`` for ``Z ~ N(0, corr)``, by fixed-seed Monte Carlo
    (exact for one coefficient)."""
    if len(corr) == 1:
        return float(2 * stats.norm.sf(z_max))
    vals, vecs = np.linalg.eigh(corr)
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    hits = 0
    for draws in _standard_normal_draws(len(corr)):
        z = draws @ root.T
        hits += int((np.abs(z).max(axis=1) >= z_max).sum())
    return hits / _SUP_T_DRAWS


def pretrend_test(result: Any, *, data: pd.DataFrame | None = None,
                  alpha: float = 0.05, test: PretrendTest = "sup_t"
                  ) -> PretrendTestResult:
    """Joint test that all pre-treatment event-time effects are zero.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.staggered.StaggeredDidResult` (then ``data`` is
        required) or an :class:`EventStudy`.
    data
        The panel ``result`` was estimated on (the result keeps no influence functions).
    alpha
        Level at which a rejection raises a :class:`StatisticalWarning` (default 0.05).
    test
        ``"sup_t"`` (default): the largest of the pre-period |t| statistics, each
        referred to a t distribution with (treated clusters behind it − 1) degrees of
        freedom, against the maximum of correlated normals. ``"wald"``: ``b' V^-1 b``
        against chi-squared(K), without a small-sample correction.

    Returns
    -------
    PretrendTestResult
        The statistic, number of tested coefficients, p-value and the tested
        coefficients.

    Raises
    ------
    SpecificationError
        No pre-treatment coefficients, a singular covariance (Wald), a bad ``test``, or
        see :func:`event_study`.

    Warns
    -----
    StatisticalWarning
        When the test rejects at ``alpha``.

    Notes
    -----
    ``V`` is the covariance of the event-time effects from their influence functions,
    clustered as in the result. Early event times rest on the few practices of the
    cohorts that reach back that far, so ``V`` is estimated from few treated clusters
    and a chi-squared Wald test over-rejects: on 200 seeds of the synthetic roll-out
    (80 practices, 9 pre-period coefficients, cohorts of 6–12 practices, no pre-trend)
    the Wald test rejected 20 % (varying base) and 19 % (universal base) at 5 %. The
    default sup-t test corrects each coefficient: ``t_k = b_k / se_k ·
    sqrt((G_k − 1) / G_k)`` (the CR1 factor) with ``G_k`` the treated clusters behind
    it, turned into the normal quantile of its ``t(G_k − 1)`` tail, and the largest
    against the distribution of ``max_k |Z_k|``, ``Z ~ N(0, corr(V))`` (200,000
    fixed-seed draws). On the same seeds it rejected 3.5 % (varying) and 4 %
    (universal); test ``test_staggered_did_covers_planted_simple_att_over_seeds``
    asserts at most 0.08 with the default. Without
    ``treated_clusters`` (an :class:`EventStudy` built from arrays) no small-sample
    correction is made. The price of the sup-t test is power against a steady drift
    spread over many small period-on-period changes, which the Wald statistic pools;
    ``test="wald"`` remains available when the treated clusters are many. With
    ``base_period="varying"`` the pre-period coefficients are period-on-period changes,
    with ``"universal"`` changes since ``e = -1``. A non-rejection is no proof of
    parallel trends: such tests are often underpowered (Roth 2022) and conditioning on
    passing them distorts inference; see :func:`honest_sensitivity`.

    Examples
    --------
    >>> import numpy as np
    >>> from kbz_eval.estimators.pretrends import EventStudy, pretrend_test
    >>> es = EventStudy.from_arrays([0.1, -0.1, 1.0], np.diag([0.01, 0.01, 0.04]),
    ...                             n_pre=2)
    >>> res = pretrend_test(es, test="wald")
    >>> float(round(res.tidy().loc[0, "estimate"], 6))
    2.0
    """
    alpha = check_alpha(alpha)
    test = check_option("test", test, PretrendTest)
    es = _as_event_study(result, data)
    pre = es.event_time < 0
    if not pre.any():
        raise SpecificationError(
            "There are no pre-treatment event-time effects to test (only the reference "
            "period precedes treatment)."
        )
    notes: list[str] = []
    if es.treated_clusters is not None and test == "sup_t":
        lone = pre & (es.treated_clusters < 2)
        if lone.any():
            times = [_num(x) for x in es.event_time[lone]]
            pre &= ~lone
            notes.append(f"Event times {times} rest on a single treated cluster: no "
                         "small-sample reference exists, so they are left out of the test.")
            if not pre.any():
                raise SpecificationError(
                    "Every pre-treatment event-time effect rests on a single treated "
                    "cluster; the pre-trend test needs at least two behind a coefficient."
                )
    b = es.estimate[pre]
    v = es.vcov[np.ix_(pre, pre)]
    df = int(len(b))
    se = np.sqrt(np.diag(v))
    raw_t = b / se
    if es.treated_clusters is not None:
        g = es.treated_clusters[pre].astype(float)
        # a lone treated cluster (Wald test only) keeps the normal reference
        dof = np.where(g >= 2, g - 1, np.inf)
        factor = np.where(g >= 2, np.sqrt((g - 1) / np.maximum(g, 1)), 1.0)
        t = raw_t * factor
        point_p = 2 * stats.t.sf(np.abs(t), dof)
        crit = stats.t.ppf(1 - alpha / 2, dof) / factor
        small = (f"each |t| scaled by sqrt((G - 1)/G) and referred to t(G - 1), G the "
                 f"treated clusters behind it ({', '.join(str(int(x)) for x in g)})")
    else:
        g = np.full(df, np.nan)
        t = raw_t
        point_p = 2 * stats.norm.sf(np.abs(t))
        crit = np.full(df, stats.norm.ppf(1 - alpha / 2))
        small = "normal reference (the numbers of treated clusters are not known)"
    pre_table = pd.DataFrame({"event_time": es.event_time[pre], "att": b, "se": se,
                              "ci_lower": b - crit * se, "ci_upper": b + crit * se,
                              "treated_clusters": g, "t": t, "p_value": point_p})
    if test == "wald":
        if np.linalg.matrix_rank(v) < len(b):
            raise SpecificationError("The covariance of the pre-treatment effects is "
                                     "singular; the Wald test is not defined.")
        stat = float(b @ np.linalg.solve(v, b))
        p = float(stats.chi2.sf(stat, df))
        stat_text = f"Wald chi2({df}) = {stat:.2f}"
        method = (
            f"Wald test of H0: all {df} pre-treatment event-time effects (event times "
            f"{[_num(x) for x in es.event_time[pre]]}) are zero, W = b' V^-1 b against "
            "chi-squared with as many degrees of freedom; V is the covariance of the "
            "event-time effects from their influence functions (clustered as in the "
            "estimate), without a small-sample correction, so with few treated clusters "
            "behind the early event times it rejects too often (the sup-t test is the "
            "default). A non-rejection does not establish parallel trends (low power, "
            "Roth 2022)."
        )
    else:
        z_eq = stats.norm.isf(np.clip(point_p / 2, 1e-300, 0.5))
        stat = float(np.max(np.abs(t)))
        corr = v / np.outer(se, se)
        p = _sup_t_p_value(float(np.max(z_eq)), corr)
        if p == 0.0:  # beyond the draws: the Bonferroni bound, never a zero
            p = float(min(1.0, df * 2 * stats.norm.sf(np.max(z_eq))))
        stat_text = f"largest |t| = {stat:.2f} of {df}"
        method = (
            f"Sup-t test of H0: all {df} pre-treatment event-time effects (event times "
            f"{[_num(x) for x in es.event_time[pre]]}) are zero: the largest |t|, "
            f"{small}, against the maximum of correlated normals with the correlation "
            "of the event-time effects (influence functions, clustered as in the "
            "estimate; 200,000 fixed-seed draws, the Bonferroni bound beyond them). "
            "Pointwise intervals in the table use the same t references. A "
            "non-rejection does not establish parallel trends (low power, Roth 2022)."
        )
    if p < alpha:
        notes.append(
            f"The pre-treatment event-time effects are jointly different from zero "
            f"({stat_text}, {format_p(p)}): parallel trends are doubtful; "
            "report honest_sensitivity() bounds rather than the conventional intervals."
        )
        warnings.warn(notes[-1], StatisticalWarning, stacklevel=2)
    estimates = tidy_frame([{"term": f"pretrend_{test}", "estimate": stat, "p_value": p,
                             "n": es.n, "df": df}])
    return PretrendTestResult(estimates=estimates, tables={"pre_periods": pre_table},
                              method=method,
                              settings={"alpha": alpha, "df": df, "test": test},
                              warnings=notes)


def _num(t: float) -> int | float:
    return int(t) if float(t).is_integer() else float(t)


# --------------------------------------------------------------------------- numerics
def _cv_folded_normal(bias: float, alpha: float) -> float:
    """The ``1 - alpha`` quantile of ``|N(bias, 1)|`` (Newton's method on
    ``Phi(c - b) - Phi(-c - b) = 1 - alpha``; increasing in ``|bias|``)."""
    b = abs(float(bias))
    if b == 0:
        return float(stats.norm.ppf(1 - alpha / 2))
    c = max(float(stats.norm.ppf(1 - alpha / 2)), b + float(stats.norm.ppf(1 - alpha)))
    for _ in range(100):
        f = special.ndtr(c - b) - special.ndtr(-c - b) - (1 - alpha)
        step = f / (np.exp(-0.5 * (c - b) ** 2) / _SQRT_2PI
                    + np.exp(-0.5 * (c + b) ** 2) / _SQRT_2PI)
        c -= step
        if abs(step) < 1e-13 * max(c, 1.0):
            break
    return float(c)


def _rr_times(es: EventStudy) -> np.ndarray:
    """Rambachan–Roth relative periods: ``t = e + 1`` (reference ``t = 0``)."""
    return es.event_time + 1


def _sd_bias_matrix(t: np.ndarray) -> np.ndarray:
    """``C`` with ``delta = slope · t + C w`` for every ``delta`` with second differences
    ``w`` (``delta_0 = 0``), so that ``sup_{Delta^SD(M)} v' delta = M ||C' v||_1`` when
    ``v' t = 0``."""
    grid = np.arange(int(t.min()), int(t.max()) + 1)
    n_w = len(grid) - 2
    size = len(grid)
    system = np.zeros((size, size))
    for j in range(n_w):  # second differences at interior points
        system[j, j:j + 3] = [1.0, -2.0, 1.0]
    zero = int(np.flatnonzero(grid == 0)[0])
    system[n_w, zero] = 1.0  # delta_0 = 0
    nxt = zero + 1 if zero + 1 < size else zero - 1
    system[n_w + 1, nxt] += 1.0  # the slope next to the reference is free
    system[n_w + 1, zero] -= 1.0
    inverse = np.linalg.inv(system)
    rows = np.searchsorted(grid, t)
    return inverse[rows][:, :n_w]


@dataclass
class _Interval:
    lower: float
    upper: float
    centre: float
    half_length: float
    bias: float
    se: float


def _minimise_half_length(v0: np.ndarray, basis: np.ndarray, sigma: np.ndarray,
                          cmat: np.ndarray, m: float, alpha: float,
                          start: np.ndarray) -> np.ndarray:
    """``argmin_z sd(v) cv_alpha(m ||C' v||_1 / sd(v))`` with ``v = v0 + basis z``.

    The half-length is convex in ``v`` (the perspective of the convex, increasing
    ``cv_alpha`` composed with a norm and an L1 norm), so a local minimum is global. The
    L1 norm is smoothed by auxiliary variables ``u >= |C' v|`` (SLSQP); Nelder–Mead on
    the exact objective polishes the solution.
    """
    nz = basis.shape[1]
    cb, c0 = cmat.T @ basis, cmat.T @ v0

    def exact(z: np.ndarray) -> float:
        v = v0 + basis @ z
        sd = float(np.sqrt(v @ sigma @ v))
        return sd * _cv_folded_normal(m * float(np.abs(cmat.T @ v).sum()) / sd, alpha)

    def smooth(x: np.ndarray) -> float:
        v = v0 + basis @ x[:nz]
        sd = float(np.sqrt(v @ sigma @ v))
        return sd * _cv_folded_normal(m * float(x[nz:].sum()) / sd, alpha)

    scale = max(exact(start), 1e-300)
    x0 = np.concatenate([start, np.abs(cb @ start + c0) + 1e-12])
    cons = [{"type": "ineq", "fun": lambda x: x[nz:] - (cb @ x[:nz] + c0),
             "jac": lambda x: np.hstack([-cb, np.eye(len(c0))])},
            {"type": "ineq", "fun": lambda x: x[nz:] + (cb @ x[:nz] + c0),
             "jac": lambda x: np.hstack([cb, np.eye(len(c0))])}]
    fit = optimize.minimize(lambda x: smooth(x) / scale, x0, method="SLSQP",
                            constraints=cons, options={"ftol": 1e-15, "maxiter": 500})
    best = fit.x[:nz] if exact(fit.x[:nz]) <= exact(start) else start
    polish = optimize.minimize(lambda z: exact(z) / scale, best, method="Nelder-Mead",
                               options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 4000})
    return polish.x if exact(polish.x) <= exact(best) else best


def _flci(es: EventStudy, target: int, m: float, alpha: float) -> _Interval:
    """Optimal fixed-length confidence interval for ``tau`` at index ``target`` under
    ``Delta^SD(m)``."""
    t = _rr_times(es)
    pre = np.flatnonzero(t < 0)
    k = len(t)
    sigma = es.vcov
    base = np.zeros(k)
    base[target] = 1.0
    # v = base + N z over pre-period weights with v' t = 0 (unbiased for linear trends).
    if len(pre) == 0:
        raise SpecificationError("Smoothness restrictions need at least one "
                                 "pre-treatment coefficient besides the reference.")
    tp = t[pre]
    v0 = base.copy()
    v0[pre] = -tp * (t[target] / (tp @ tp))
    basis = np.zeros((k, len(pre) - 1))
    if len(pre) > 1:
        null = np.linalg.svd(tp[None, :])[2][1:].T  # (len(pre), len(pre)-1)
        basis[pre] = null
    cmat = _sd_bias_matrix(t)

    def parts(z: np.ndarray) -> tuple[np.ndarray, float, float]:
        v = v0 + basis @ z
        return v, float(np.sqrt(v @ sigma @ v)), float(m * np.abs(cmat.T @ v).sum())

    # M = 0: the GLS (BLUE) weights under a linear trend, in closed form.
    if basis.shape[1]:
        a = basis.T @ sigma @ basis
        z_gls = -np.linalg.solve(a, basis.T @ sigma @ v0)
    else:
        z_gls = np.zeros(0)
    if m > 0 and basis.shape[1]:
        z_opt = _minimise_half_length(v0, basis, sigma, cmat, m, alpha, z_gls)
    else:
        z_opt = z_gls
    v, sd, bias = parts(z_opt)
    hl = sd * _cv_folded_normal(bias / sd, alpha) if sd > 0 else bias
    centre = float(v @ es.estimate)
    return _Interval(centre - hl, centre + hl, centre, hl, bias, sd)


def _rm_interval(es: EventStudy, target: int, mbar: float, alpha: float) -> _Interval:
    """Bonferroni projection set for ``tau`` at index ``target`` under
    ``Delta^RM(mbar)``."""
    t = _rr_times(es)
    pre = np.flatnonzero(t < 0)
    if len(pre) == 0:
        raise SpecificationError("Relative-magnitude restrictions need at least one "
                                 "pre-treatment coefficient besides the reference.")
    k = len(t)
    # first differences delta_{s+1} - delta_s over the pre-periods, delta_0 = 0
    order = pre[np.argsort(t[pre])]
    diff = np.zeros((len(order), k))
    for i, idx in enumerate(order):
        diff[i, idx] = -1.0
        if i + 1 < len(order):
            diff[i, order[i + 1]] = 1.0
    d_hat = float(np.max(np.abs(diff @ es.estimate)))
    s_max = float(np.sqrt(np.max(np.diag(diff @ es.vcov @ diff.T))))
    se = float(np.sqrt(es.vcov[target, target]))
    steps = float(t[target])
    n_diff = len(order)
    z1 = stats.norm.ppf(1 - alpha / 2)
    if mbar == 0:
        hl = z1 * se
        a1 = alpha
    else:
        def cost(a1: float) -> float:
            return float(stats.norm.ppf(1 - a1 / 2) * se + steps * mbar * s_max
                         * stats.norm.ppf(1 - (alpha - a1) / (2 * n_diff)))

        fit = optimize.minimize_scalar(cost, bounds=(alpha * 1e-9, alpha * (1 - 1e-9)),
                                       method="bounded", options={"xatol": alpha * 1e-10})
        a1 = float(fit.x)
        hl = cost(a1) + steps * mbar * d_hat
    centre = float(es.estimate[target])
    return _Interval(centre - hl, centre + hl, centre, hl, steps * mbar * d_hat, se)


def _breakdown(estimate_sign_check: Any) -> float:
    """Largest parameter value at which the set excludes 0 (bisection; the sets are
    assumed to lose significance once and for all)."""
    if not estimate_sign_check(0.0):
        return float("nan")
    hi = 1.0
    while estimate_sign_check(hi):
        hi *= 2
        if hi > 1e12:
            return float("inf")
    lo = 0.0 if hi == 1.0 else hi / 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if estimate_sign_check(mid):
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-10 * max(hi, 1e-12):
            break
    return lo


# --------------------------------------------------------------------------- sensitivity
class SensitivityResult(Result):
    """Result of :func:`honest_sensitivity`.

    ``tidy()`` rows: ``original`` (the conventional interval under exact parallel
    trends), one row per value of the restriction parameter (``term`` e.g.
    ``"Mbar=0.5"`` or ``"M=0.01"``; ``estimate`` the centre of the set, ``ci_lower``,
    ``ci_upper``), and ``breakdown`` (``estimate`` = the breakdown value, no interval).
    Extra columns: ``parameter`` (the Mbar or M value) and ``excludes_zero``.

    ``tables``: ``sensitivity`` (``parameter, ci_lower, ci_upper, centre,
    half_length, worst_case_bias, excludes_zero``), ``event_study`` (``event_time,
    estimate, se``).
    """

    title = "sensitivity to violations of parallel trends (Rambachan & Roth)"
    plotter = "sensitivity:plot_sensitivity"

    def plot_data(self) -> pd.DataFrame:
        """The sets by parameter, with the conventional interval first
        (``parameter`` NaN, ``kind = "original"``)."""
        s = self.settings
        orig = self.estimates.set_index("term").loc["original"]
        first = pd.DataFrame({"parameter": [np.nan], "ci_lower": [orig["ci_lower"]],
                              "ci_upper": [orig["ci_upper"]],
                              "centre": [orig["estimate"]], "kind": ["original"]})
        rest = self.tables["sensitivity"][["parameter", "ci_lower", "ci_upper",
                                           "centre"]].copy()
        rest["kind"] = s["method"]
        return pd.concat([first, rest], ignore_index=True)

    def headline(self) -> str:
        """One sentence: the target, the breakdown value and what it means."""
        s = self.settings
        name = "Mbar" if s["method"] == "relative_magnitude" else "M"
        bd = s["breakdown"]
        if np.isnan(bd):
            tail = "the conventional interval already includes 0 (no breakdown value)"
        else:
            tail = f"breakdown value {name} = {bd:.4g} (the set excludes 0 up to there)"
        return f"effect at event time {_num(s['e'])} under {s['method']} restrictions: {tail}"


def _check_grid(name: str, values: Any) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    except (TypeError, ValueError):
        arr = np.array([np.nan])
    if len(arr) == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise SpecificationError(
            f"The value for `{name}` must be a non-negative number or a list of them, "
            f"but {values!r} was passed."
        )
    return np.unique(arr)


def honest_sensitivity(
    result: Any,
    *,
    data: pd.DataFrame | None = None,
    method: SensitivityMethod = "relative_magnitude",
    mbar: Sequence[float] | float | None = None,
    m: Sequence[float] | float | None = None,
    e: int = 0,
    alpha: float = 0.05,
) -> SensitivityResult:
    """Robust confidence sets for a post-treatment effect when parallel trends may fail.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.staggered.StaggeredDidResult` estimated with
        ``base_period="universal"`` (then ``data`` is required), or an
        :class:`EventStudy`.
    data
        The panel ``result`` was estimated on (the result keeps no influence functions).
    method
        ``"relative_magnitude"`` (default, ``Delta^RM(Mbar)``) or ``"smoothness"``
        (``Delta^SD(M)``).
    mbar
        Grid of ``Mbar >= 0`` for relative magnitudes (default 0, 0.25, ..., 2). Only
        with ``method="relative_magnitude"``.
    m
        Grid of ``M >= 0`` for smoothness (default: :data:`DEFAULT_M_POINTS` values from
        0 to twice the standard error of the target effect divided by ``e + 1``). Only
        with ``method="smoothness"``.
    e
        The post-treatment event time whose effect is bounded (default 0, on impact).
    alpha
        1 - confidence level (default 0.05).

    Returns
    -------
    SensitivityResult
        The conventional interval, the robust set per parameter value and the breakdown
        value (``settings["breakdown"]``, also a ``tidy()`` row).

    Raises
    ------
    SpecificationError
        Bad options (naming the parameter, the allowed values and the value passed), a
        grid for the other method, an event time ``e`` that is not a post-treatment
        event time of the event study, no pre-treatment coefficients, a result with
        ``base_period="varying"``.

    Notes
    -----
    **Target.** ``tau_e``, the ATT at event time ``e`` (aggregated over cohorts by
    cohort size, as the ``dynamic`` table), relative to the reference period ``e = -1``.
    **Covariance.** That of the event-time effects from their influence functions
    (clustered as in the result; :func:`event_study`). **Sets.** Smoothness: the optimal
    FLCI (``M = 0`` gives the interval of a linear-trend extrapolation of the
    pre-period coefficients through the reference, estimated by GLS). Relative
    magnitudes: a Bonferroni projection, conservative compared with the R ``HonestDiD``
    C-LF set (``Mbar = 0`` gives the conventional interval under exact parallel
    trends); see the module docstring for both constructions. **Breakdown value.** The
    largest ``Mbar`` (or ``M``) at which the set excludes 0, found by bisection (NaN
    when the conventional interval already includes 0).

    Examples
    --------
    >>> import numpy as np
    >>> from kbz_eval.estimators.pretrends import EventStudy, honest_sensitivity
    >>> es = EventStudy.from_arrays([0.0, 0.0, 1.0, 1.0], np.eye(4) * 0.01, n_pre=2)
    >>> res = honest_sensitivity(es, method="relative_magnitude", mbar=[0, 1])
    >>> res.tidy().loc[1, ["ci_lower", "ci_upper"]].round(4).tolist()
    [0.804, 1.196]
    """
    alpha = check_alpha(alpha)
    method = check_option("method", method, SensitivityMethod)
    if not isinstance(result, EventStudy):
        _check_staggered(result)
        if result.settings.get("anticipation", 0):
            raise SpecificationError(
                "honest_sensitivity takes event time -1 as the reference period, but the "
                f"result allows anticipation = {result.settings['anticipation']} periods "
                "(reference -1 - anticipation); estimate with anticipation=0, or pass an "
                "EventStudy built for that reference."
            )
        if result.settings.get("base_period") != "universal":
            raise SpecificationError(
                "honest_sensitivity needs event-study coefficients relative to one "
                "reference period: estimate with staggered_did(..., "
                "base_period='universal'), but base_period="
                f"{result.settings.get('base_period')!r} was used."
            )
    es = _as_event_study(result, data)
    post_times = es.event_time[es.event_time >= 0]
    if isinstance(e, bool) or not isinstance(e, (int, np.integer, float)) or \
            float(e) not in set(post_times.tolist()):
        raise SpecificationError(
            f"The value for `e` must be one of the post-treatment event times "
            f"{[_num(x) for x in post_times]}, but {e!r} was passed."
        )
    target = int(np.flatnonzero(es.event_time == float(e))[0])
    se_t = float(np.sqrt(es.vcov[target, target]))
    if method == "relative_magnitude":
        if m is not None:
            raise SpecificationError("`m` is the grid of method='smoothness'; with "
                                     "method='relative_magnitude' pass `mbar`.")
        grid = _check_grid("mbar", DEFAULT_MBAR if mbar is None else mbar)

        def interval(x: float) -> _Interval:
            return _rm_interval(es, target, x, alpha)
        name = "Mbar"
    else:
        if mbar is not None:
            raise SpecificationError("`mbar` is the grid of method='relative_magnitude'; "
                                     "with method='smoothness' pass `m`.")
        default_m = np.linspace(0, 2 * se_t / (float(e) + 1), DEFAULT_M_POINTS)
        grid = _check_grid("m", default_m if m is None else m)

        def interval(x: float) -> _Interval:
            return _flci(es, target, x, alpha)
        name = "M"
    if not (es.event_time < 0).any():
        raise SpecificationError("Sensitivity bounds need at least one pre-treatment "
                                 "coefficient besides the reference period.")
    sets = [interval(float(x)) for x in grid]
    table = pd.DataFrame({
        "parameter": grid,
        "ci_lower": [s.lower for s in sets], "ci_upper": [s.upper for s in sets],
        "centre": [s.centre for s in sets], "half_length": [s.half_length for s in sets],
        "worst_case_bias": [s.bias for s in sets],
    })
    table["excludes_zero"] = (table["ci_lower"] > 0) | (table["ci_upper"] < 0)

    def excludes(x: float) -> bool:
        s = interval(x)
        return bool(s.lower > 0 or s.upper < 0)

    breakdown = _breakdown(excludes)
    z = stats.norm.ppf(1 - alpha / 2)
    est_t = float(es.estimate[target])
    rows = [{"term": "original", "estimate": est_t, "std_error": se_t,
             "ci_lower": est_t - z * se_t, "ci_upper": est_t + z * se_t,
             "p_value": 2 * stats.norm.sf(abs(est_t / se_t)), "n": es.n,
             "parameter": np.nan,
             "excludes_zero": abs(est_t) > z * se_t}]
    for row in table.itertuples():
        rows.append({"term": f"{name}={row.parameter:g}", "estimate": row.centre,
                     "ci_lower": row.ci_lower, "ci_upper": row.ci_upper, "n": es.n,
                     "parameter": row.parameter, "excludes_zero": row.excludes_zero})
    rows.append({"term": "breakdown", "estimate": breakdown, "n": es.n,
                 "parameter": breakdown, "excludes_zero": pd.NA})
    estimates = tidy_frame(rows)
    es_table = pd.DataFrame({"event_time": es.event_time, "estimate": es.estimate,
                             "se": np.sqrt(np.diag(es.vcov))})
    level = f"{100 * (1 - alpha):g}%"
    construction = (
        "Bonferroni projection: conventional margin at level alpha_1 plus (e + 1) Mbar "
        "times an upper bound for the largest pre-treatment change at level alpha_2 "
        "(alpha_1 + alpha_2 = alpha, the split chosen without the estimates); "
        "conservative compared with R HonestDiD's C-LF"
        if method == "relative_magnitude" else
        "the optimal fixed-length confidence interval (FLCI, Armstrong & Kolesar 2018; "
        "as R HonestDiD)"
    )
    method_text = (
        f"{level} confidence sets for the ATT at event time {_num(e)} (relative to event "
        f"time -1) that remain valid when parallel trends fail within "
        f"{_METHOD_TEXT[method]} (Rambachan & Roth 2023): {construction}. Covariance of "
        "the event-time effects from their influence functions. Breakdown value: the "
        f"largest {name} at which the set excludes 0 (bisection)."
    )
    settings = {"method": method, "e": float(e), "alpha": alpha, "grid": grid.tolist(),
                "breakdown": breakdown, "parameter_name": name}
    return SensitivityResult(estimates=estimates,
                             tables={"sensitivity": table, "event_study": es_table},
                             method=method_text, settings=settings)


__all__ = ["DEFAULT_MBAR", "EventStudy", "PretrendTestResult", "SensitivityMethod",
           "SensitivityResult", "event_study", "honest_sensitivity", "pretrend_test"]
