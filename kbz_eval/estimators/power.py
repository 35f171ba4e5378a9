"""Power and minimum detectable effect (MDE) of a practice-level pilot.

"How many practices do we need?" A pilot of Krachtige basiszorg (KBZ) is assigned to
GP practices, and persons within a practice resemble each other (the intra-practice
correlation, ICC), so the number of *practices*, not of insured persons, limits what a
difference-in-differences can detect. Three front doors:

- :func:`mde_two_by_two` — analytic MDE of the 2 × 2 design (KBZ and control practices,
  years before and after the start), with the cluster design effect;
- :func:`mde_staggered` — MDE of a staggered roll-out analysed with
  :func:`kbz_eval.estimators.staggered.staggered_did`, by simulation;
- :func:`icc_from_panel` — the one-way ANOVA estimate of the ICC from a person-level
  panel, and :func:`autocorrelation_from_panel` — the share of the practice variance that
  persists over the years, to feed the two.

Both MDE functions return a :class:`PowerResult` with a table of the MDE by number of
practices (``tables["mde"]``) and a plot (:func:`kbz_eval.plotting.power.plot_power`).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats.options import check_alpha, check_option, check_seed
from kbz_eval.stats.options import check_int as _check_int

#: Reference distribution of the test statistic: normal, or Student t with
#: ``practices - 2`` degrees of freedom (honest with few practices).
Distribution = Literal["normal", "t"]
#: Comparison units of the simulated staggered analysis (as in ``staggered_did``).
Control = Literal["never", "notyet"]

#: Default and smallest number of simulated data sets of :func:`mde_staggered`.
DEFAULT_N_SIMS = 200
MIN_N_SIMS = 20

_MDE_COLUMNS = ["design", "n_practices", "n_treated", "n_control", "persons_per_practice",
                "icc", "autocorrelation", "design_effect", "std_error", "mde",
                "mde_std_units", "mc_se", "df"]


# --------------------------------------------------------------------------- result
class PowerResult(Result):
    """Result of :func:`mde_two_by_two` and :func:`mde_staggered`.

    ``tidy()``: one row per number of practices, ``term`` ``mde_<n>_practices``,
    ``estimate`` the MDE (outcome units, e.g. EUR per insured year), ``std_error`` its
    Monte Carlo standard error (simulation; NA when analytic), ``ci_lower/ci_upper``
    the MDE ± 1.96 Monte Carlo SE (NA when analytic), ``n`` the number of practices;
    extra columns ``design``, ``n_treated``, ``n_control``.

    ``tables``:

    - ``mde``: ``design`` (``"two_by_two"`` / ``"staggered"``), ``n_practices``,
      ``n_treated``, ``n_control``, ``persons_per_practice``, ``icc``,
      ``autocorrelation``, ``design_effect`` (analytic), ``std_error`` (of the effect
      estimate: analytic, or the SD over simulations), ``mde``, ``mde_std_units``
      (MDE / ``sd``), ``mc_se`` (simulation), ``df`` (t distribution) and, for
      simulations, ``mde_from_sd``, ``mean_se``, ``size`` (rejection rate without an
      effect), ``n_sims``.
    - ``draws`` (simulation only): ``n_practices``, ``sim``, ``estimate``,
      ``std_error`` — the simple ATT and its standard error in each data set simulated
      without an effect; :meth:`power_at` reads them.
    """

    title = "minimum detectable effect"
    plotter = "power:plot_power"

    def plot_data(self) -> pd.DataFrame:
        """The ``mde`` table: MDE by number of practices (what :meth:`plot` draws)."""
        return self.tables["mde"].copy()

    def summary(self) -> pd.DataFrame:
        """The ``mde`` table, rounded."""
        return self.tables["mde"].round(4)

    def headline(self) -> str:
        """One sentence: the MDE for the numbers of practices considered."""
        t = self.tables["mde"]
        level = f"{100 * self.settings['power']:g}%"
        parts = ", ".join(f"{int(r.n_practices)} practices: {r.mde:.4g}"
                          for r in t.itertuples())
        return (f"{self.settings['design']} design, MDE at {level} power and two-sided "
                f"alpha {self.settings['alpha']:g} — {parts}")

    def power_at(self, effect: float, *, n_practices: int | None = None) -> float:
        """Power to detect ``effect`` (same units as the MDE; sign ignored).

        Parameters
        ----------
        effect
            Effect size (e.g. EUR per insured year).
        n_practices
            Row of the ``mde`` table; default the first.

        Returns
        -------
        float
            Analytic designs: the power formula of :func:`mde_two_by_two` (two-sided,
            both tails). Simulations: the share of the simulated null data sets in which
            the estimate shifted by ``effect`` is significant — exact for an additive
            effect common to all treated cells, because ``staggered_did``'s simple ATT
            shifts by the effect and its standard error does not change.
        """
        t = self.tables["mde"]
        if n_practices is None:
            n_practices = int(t["n_practices"].iloc[0])
        if n_practices not in set(t["n_practices"].astype(int)):
            raise SpecificationError(
                f"The value for `n_practices` must be one of "
                f"{t['n_practices'].astype(int).tolist()}, but {n_practices!r} was passed."
            )
        row = t[t["n_practices"] == n_practices].iloc[0]
        effect = abs(float(effect))
        alpha = self.settings["alpha"]
        if self.settings["design"] == "staggered":
            d = self.tables["draws"]
            d = d[d["n_practices"] == n_practices]
            z = stats.norm.ppf(1 - alpha / 2)
            return _empirical_power(effect, d["estimate"].to_numpy(),
                                    d["std_error"].to_numpy(), z)
        return _analytic_power(effect, float(row["std_error"]), alpha,
                               self.settings["distribution"], float(row["df"]))


# --------------------------------------------------------------------------- validation
def _check_count(name: str, value: Any, minimum: int) -> np.ndarray:
    """An integer or a sequence of integers, each at least ``minimum``."""
    arr = np.atleast_1d(np.asarray(value, dtype=object))
    ok = arr.ndim == 1 and len(arr) > 0 and all(
        not isinstance(v, bool) and isinstance(v, (int, np.integer)) and v >= minimum
        for v in arr)
    if not ok:
        raise SpecificationError(
            f"The value for `{name}` must be an integer of at least {minimum} (or a "
            f"non-empty sequence of such integers), but {value!r} was passed."
        )
    return arr.astype(np.int64)


def _check_number(name: str, value: Any, *, low: float, high: float | None,
                  low_open: bool = False, high_open: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer,
                                                            np.floating))
    if ok:
        v = float(value)
        ok = np.isfinite(v) and (v > low if low_open else v >= low)
        if ok and high is not None:
            ok = v < high if high_open else v <= high
    if not ok:
        lo = f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f" and {'<' if high_open else '<='} {high:g}"
        raise SpecificationError(
            f"The value for `{name}` must be a number {lo}{hi}, but {value!r} was passed."
        )
    return float(value)


def _check_power(power: Any, alpha: float) -> float:
    p = _check_number("power", power, low=0.0, high=1.0, low_open=True, high_open=True)
    if p <= alpha / 2:
        raise SpecificationError(
            f"The value for `power` must exceed alpha / 2 = {alpha / 2:g} (a test has at "
            f"least that power), but {power!r} was passed."
        )
    return p


def _check_common(*, persons_per_practice: Any, icc: Any, sd: Any, alpha: Any,
                  power: Any, autocorrelation: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["persons_per_practice"] = _check_int("persons_per_practice", persons_per_practice,
                                             1)
    out["icc"] = _check_number("icc", icc, low=0.0, high=1.0, high_open=True)
    out["sd"] = _check_number("sd", sd, low=0.0, high=None, low_open=True)
    out["alpha"] = check_alpha(alpha)
    out["power"] = _check_power(power, out["alpha"])
    out["autocorrelation"] = _check_number("autocorrelation", autocorrelation, low=0.0,
                                           high=1.0)
    return out


# --------------------------------------------------------------------------- numerics
def design_effect(persons_per_practice: float, icc: float,
                  autocorrelation: float = 0.0) -> float:
    """Variance inflation of a practice-level difference in changes over persons.

    ``1 + (m - 1) ρ - m r ρ`` with ``m`` persons per practice and period, ICC ``ρ`` and
    cluster autocorrelation ``r``; with ``r = 0`` the familiar ``1 + (m - 1) ρ``. See
    :func:`mde_two_by_two`, Notes.
    """
    m, rho, r = persons_per_practice, icc, autocorrelation
    return 1 + (m - 1) * rho - m * r * rho


def _analytic_power(effect: float, se: float, alpha: float, distribution: str,
                    df: float) -> float:
    """Two-sided power (both tails) of a test of size ``alpha`` at ``effect``."""
    if distribution == "normal":
        z = stats.norm.ppf(1 - alpha / 2)
        return float(stats.norm.cdf(effect / se - z) + stats.norm.cdf(-effect / se - z))
    crit = stats.t.ppf(1 - alpha / 2, df)
    nc = effect / se
    # the opposite tail is tiny and scipy's nct.cdf can return NaN far in it
    opposite = float(np.nan_to_num(stats.nct.cdf(-crit, df, nc), nan=0.0))
    return float(stats.nct.sf(crit, df, nc) + opposite)


def _analytic_mde(se: float, alpha: float, power: float, distribution: str,
                  df: float) -> float:
    if distribution == "normal":
        return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)
    # exact noncentral t: solve power(nc) = power for the noncentrality nc = MDE / se
    upper = stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df) + 10
    nc = optimize.brentq(lambda d: _analytic_power(d, 1.0, alpha, "t", df) - power,
                         0.0, upper, xtol=1e-13, rtol=1e-13)
    return float(nc * se)


def _empirical_power(effect: float, estimate: np.ndarray, se: np.ndarray,
                     crit: float) -> float:
    return float(np.mean(np.abs(estimate + effect) > crit * se))


# --------------------------------------------------------------------------- 2 x 2
def mde_two_by_two(
    *,
    n_practices_treated: int | Sequence[int],
    n_practices_control: int | Sequence[int],
    persons_per_practice: int,
    icc: float,
    sd: float,
    years_pre: int = 1,
    years_post: int = 1,
    alpha: float = 0.05,
    power: float = 0.8,
    autocorrelation: float = 0.0,
    distribution: Distribution = "t",
) -> PowerResult:
    """Analytic minimum detectable effect of a 2 × 2 practice-level design.

    KBZ practices and control practices, ``years_pre`` years before and ``years_post``
    years after the start, ``persons_per_practice`` insured per practice and year; the
    effect is estimated as the difference in changes of practice means
    (difference-in-differences on the practices' change scores).

    Parameters
    ----------
    n_practices_treated, n_practices_control
        Practices in each arm (at least 1 each); an integer, or sequences (broadcast
        against each other) for a table of MDE by number of practices.
    persons_per_practice
        Insured persons per practice and year, ``m`` (at least 1).
    icc
        Intra-practice correlation ``ρ`` in a year, 0 ≤ ρ < 1 (see
        :func:`icc_from_panel`).
    sd
        Person-level standard deviation ``σ`` of the outcome (e.g. the cost per insured
        year), > 0. The MDE is in the same units.
    years_pre, years_post
        Years averaged before and after the start (at least 1 each).
    alpha
        Two-sided significance level (default 0.05).
    power
        Power to detect the MDE (default 0.8).
    autocorrelation
        Cluster autocorrelation ``r`` (Hooper et al. 2016): the correlation between a
        practice's true mean in two different years, 0–1. ``0`` (default, conservative):
        practice effects do not persist, and the design effect is the textbook
        ``1 + (m - 1) ρ``; with persistent practice levels (``r`` near 1) the
        difference in changes removes them and the MDE is smaller. Practice cost
        levels usually persist, so ``0`` can overstate the MDE several-fold (on the
        roll-out sample, 20 + 20 practices: 489 EUR with r = 0, about 200 EUR with
        r = 0.9); estimate r with :func:`autocorrelation_from_panel`.
    distribution
        ``"t"`` (default): Student t with ``n_treated + n_control - 2`` degrees of
        freedom (exact noncentral-t power), honest with few practices; ``"normal"``:
        the large-sample z formula.

    Returns
    -------
    PowerResult
        ``tables["mde"]`` one row per (treated, control) pair; ``tidy()`` the MDEs.

    Raises
    ------
    SpecificationError
        If an option is outside its range (the message names the parameter, the allowed
        values and the value passed), or the t distribution has no degrees of freedom
        (fewer than 3 practices).

    Notes
    -----
    **Model.** ``Y_ipt = μ_t + c_p + u_pt + e_ipt`` for person i of practice p in year t,
    with ``Var(c_p) = r ρ σ²``, ``Var(u_pt) = (1 - r) ρ σ²`` and ``Var(e_ipt) = (1 - ρ)
    σ²``: the ICC within a year is ρ, the cluster autocorrelation is r, and persons are
    independent across years (cross-sectional samples; for a closed cohort with
    persistent person effects this is conservative).

    **Effect and variance.** The effect is the difference between KBZ and control
    practices in the change of the practice mean from the ``years_pre`` years before
    to the ``years_post`` years after the start. Its variance is::

        V = σ² (1/T0 + 1/T1) [(1 - r) ρ + (1 - ρ)/m] (1/k1 + 1/k0)
          = σ² (1/T0 + 1/T1) (1/(k1 m) + 1/(k0 m)) · DE,
        DE = 1 + (m - 1) ρ - m r ρ,

    with ``T0, T1`` the years before and after, ``k1, k0`` the practices per arm. ``DE``
    is the design effect relative to the same persons not clustered: with r = 0 it is
    the familiar ``1 + (m - 1) ρ`` of cluster-randomised designs (Donner & Klar 2000;
    Hemming et al. 2020); with r > 0 the change scores remove the persistent practice
    level (Hooper et al. 2016, cluster autocorrelation). ``std_error`` = sqrt(V).

    **MDE.** Normal: ``MDE = (z_{1-α/2} + z_{power}) sqrt(V)`` (Bloom 1995, 2005; the
    opposite tail's rejection probability, below 1e-6 at 80 % power and α = 0.05, is
    ignored, as usual). t: the effect at which a two-sided t test with ``k1 + k0 - 2``
    df has the requested power under the noncentral t distribution (solved exactly;
    Bloom's approximation ``(t_{1-α/2} + t_{power}) sqrt(V)`` is within about 1 % for 10
    or more df). A difference in changes estimated by regression with practice fixed
    effects gives the same point estimate and, with cluster-robust errors, the same
    large-sample variance; ANCOVA on the baseline mean would be more efficient
    (Teerenstra et al. 2012).

    References: Donner A, Klar N (2000), *Design and Analysis of Cluster Randomization
    Trials in Health Research*, Arnold. Bloom HS (2005), Randomizing groups to evaluate
    place-based programs, in *Learning More from Social Experiments*, Russell Sage.
    Hooper R, Teerenstra S, de Hoop E, Eldridge S (2016), Sample size calculation for
    stepped wedge and other longitudinal cluster randomised trials, *Stat Med* 35:
    4718–4728. Hemming K, Kasza J, Hooper R, Forbes A, Taljaard M (2020), A tutorial on
    sample size calculation for multiple-period cluster randomized parallel, cross-over
    and stepped-wedge trials using the Shiny CRT Calculator, *Int J Epidemiol* 49:
    979–995. Teerenstra S, Eldridge S, Graff M, de Hoop E, Borm GF (2012), A simple
    sample size formula for analysis of covariance in cluster randomized trials,
    *Stat Med* 31: 2169–2178.

    Examples
    --------
    >>> from kbz_eval.estimators.power import mde_two_by_two
    >>> res = mde_two_by_two(n_practices_treated=[5, 10, 20], n_practices_control=[5, 10,
    ...                      20], persons_per_practice=2000, icc=0.004, sd=4000)
    >>> res.tables["mde"][["n_practices", "mde"]].round(0)
       n_practices    mde
    0           10  768.0
    1           20  503.0
    2           40  345.0
    """
    common = _check_common(persons_per_practice=persons_per_practice, icc=icc, sd=sd,
                           alpha=alpha, power=power, autocorrelation=autocorrelation)
    k1 = _check_count("n_practices_treated", n_practices_treated, 1)
    k0 = _check_count("n_practices_control", n_practices_control, 1)
    try:
        k1, k0 = np.broadcast_arrays(k1, k0)
    except ValueError:
        raise SpecificationError(
            f"`n_practices_treated` ({len(k1)} values) and `n_practices_control` "
            f"({len(k0)} values) must have the same length, or one must be a single "
            "integer."
        ) from None
    t0 = _check_int("years_pre", years_pre, 1)
    t1 = _check_int("years_post", years_post, 1)
    distribution = check_option("distribution", distribution, Distribution)
    if distribution == "t" and np.any(k1 + k0 < 3):
        raise SpecificationError(
            "distribution='t' needs at least 3 practices in all (df = practices - 2), "
            f"but {int(np.min(k1 + k0))} were passed; use more practices or "
            "distribution='normal'."
        )
    m, rho, r, sigma = (common["persons_per_practice"], common["icc"],
                        common["autocorrelation"], common["sd"])
    de = design_effect(m, rho, r)
    rows = []
    for a, b in zip(k1.tolist(), k0.tolist(), strict=True):
        var = sigma**2 * (1 / t0 + 1 / t1) * (1 / (a * m) + 1 / (b * m)) * de
        se = float(np.sqrt(var))
        df = float(a + b - 2) if distribution == "t" else np.inf
        mde = _analytic_mde(se, common["alpha"], common["power"], distribution, df)
        rows.append({"design": "two_by_two", "n_practices": a + b, "n_treated": a,
                     "n_control": b, "persons_per_practice": m, "icc": rho,
                     "autocorrelation": r, "design_effect": de, "std_error": se,
                     "mde": mde, "mde_std_units": mde / sigma, "mc_se": np.nan,
                     "df": df})
    table = pd.DataFrame(rows)[_MDE_COLUMNS]
    settings = {**common, "design": "two_by_two", "years_pre": t0, "years_post": t1,
                "distribution": distribution}
    method = (
        "Analytic minimum detectable effect of a 2 × 2 difference in changes of "
        f"practice means ({t0} year(s) before, {t1} after): V = sd² (1/T0 + 1/T1) "
        "(1/(k1 m) + 1/(k0 m)) · DE with design effect DE = 1 + (m - 1) ICC - m r ICC "
        f"(m = {m} persons per practice, ICC = {rho:g}, cluster autocorrelation r = "
        f"{r:g}: DE = {de:.4g}); MDE = effect with {100 * common['power']:g}% power in a "
        f"two-sided test at alpha {common['alpha']:g} ("
        + ("normal: (z_{1-alpha/2} + z_power) sqrt(V)" if distribution == "normal" else
           "noncentral t with practices - 2 df, solved exactly")
        + "). Assumes persons independent across years and practices assigned "
        "independently of their trends (Donner & Klar 2000; Bloom 2005; Hooper et al. "
        "2016; Hemming et al. 2020)."
    )
    return PowerResult(estimates=_tidy(table), tables={"mde": table}, method=method,
                       settings=settings)


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for r in table.itertuples():
        mc = r.mc_se
        rows.append({
            "term": f"mde_{int(r.n_practices)}_practices", "estimate": r.mde,
            "std_error": mc,
            "ci_lower": r.mde - 1.96 * mc if np.isfinite(mc) else np.nan,
            "ci_upper": r.mde + 1.96 * mc if np.isfinite(mc) else np.nan,
            "p_value": np.nan, "n": int(r.n_practices), "design": r.design,
            "n_treated": int(r.n_treated), "n_control": int(r.n_control),
        })
    return tidy_frame(rows)


# --------------------------------------------------------------------------- staggered
def _allocate(n: int, treated_share: float, n_cohorts: int) -> tuple[list[int], int]:
    n_treated = int(round(treated_share * n))
    base, extra = divmod(n_treated, n_cohorts)
    sizes = [base + (1 if i < extra else 0) for i in range(n_cohorts)]
    return sizes, n - n_treated


def _simulate_panels(rng: np.random.Generator, *, n_sims: int, n: int, n_periods: int,
                     m: int, rho: float, r: float, sigma: float) -> np.ndarray:
    """Null practice-year means, shape (n_sims, n, n_periods): ``c_p + u_pt + ē_pt``."""
    c = np.sqrt(r * rho) * sigma * rng.standard_normal((n_sims, n, 1))
    u = np.sqrt((1 - r) * rho) * sigma * rng.standard_normal((n_sims, n, n_periods))
    e = np.sqrt((1 - rho) / m) * sigma * rng.standard_normal((n_sims, n, n_periods))
    return c + u + e


def mde_staggered(
    *,
    n_practices: int | Sequence[int],
    persons_per_practice: int,
    icc: float,
    sd: float,
    n_periods: int = 6,
    cohorts: Sequence[int] = (3, 4, 5),
    treated_share: float = 0.5,
    autocorrelation: float = 0.0,
    control: Control = "never",
    alpha: float = 0.05,
    power: float = 0.8,
    n_sims: int = DEFAULT_N_SIMS,
    seed: int = 0,
) -> PowerResult:
    """Minimum detectable effect of a staggered roll-out, by simulation.

    Practices start KBZ in different periods (``cohorts``) or never; each simulated data
    set is analysed with :func:`kbz_eval.estimators.staggered.staggered_did`, and the MDE
    is the smallest effect on its simple ATT that is significant in ``power`` of the
    data sets.

    Parameters
    ----------
    n_practices
        Total number of practices, or a sequence of them (one row of the MDE table each).
    persons_per_practice
        Insured persons per practice and period, ``m``.
    icc
        Intra-practice correlation within a period, 0 ≤ ρ < 1 (:func:`icc_from_panel`).
    sd
        Person-level standard deviation of the outcome (> 0); the MDE is in its units.
    n_periods
        Periods (years) observed, numbered 1 … ``n_periods`` (at least 2).
    cohorts
        First KBZ period of each cohort, each in 2 … ``n_periods`` (distinct); treated
        practices are split over them as evenly as possible (earlier cohorts get the
        remainder). ``n_periods=2, cohorts=(2,)`` is the 2 × 2 design.
    treated_share
        Share of the practices that start KBZ (rounded), 0 < share < 1; the rest never
        start.
    autocorrelation
        Cluster autocorrelation ``r`` (see :func:`mde_two_by_two`), 0–1.
    control
        Comparison units of ``staggered_did``: ``"never"`` (default) or ``"notyet"``.
    alpha
        Two-sided significance level (default 0.05).
    power
        Target power (default 0.8).
    n_sims
        Simulated data sets per number of practices (default 200, at least 20).
    seed
        Seed of the simulation (non-negative integer).

    Returns
    -------
    PowerResult
        ``tables["mde"]`` (one row per ``n_practices``), ``tables["draws"]`` (the null
        estimates) and ``tables["power_curve"]`` (power by effect); see
        :class:`PowerResult`. :meth:`PowerResult.power_at` gives the power at any effect.

    Raises
    ------
    SpecificationError
        If an option is outside its range (naming the parameter, the allowed values and
        the value passed), or a number of practices leaves a cohort or the never-treated
        group with fewer than the needed practices.

    Notes
    -----
    **Data.** Practice-year means are drawn like the roll-out sample
    (:mod:`kbz_eval.synth.rollout`) at the practice level, as in
    :func:`mde_two_by_two`: ``c_p + u_pt + ē_pt`` with ``Var(c_p) = r ρ σ²``, practice ×
    period shocks ``Var(u_pt) = (1 - r) ρ σ²`` and the mean of ``m`` persons
    ``Var(ē_pt) = (1 - ρ) σ² / m`` (normal: means over many insured persons). All data
    sets of one call are drawn at once (vectorised) without any effect.

    **Estimate and test.** Each data set is analysed by ``staggered_did`` (outcome
    regression, no covariates, practices as units, no bootstrap): the simple ATT (all
    post-treatment cohort × period cells, weighted by cohort size) and its
    influence-function standard error; the test rejects when |ATT| / SE > z_{1-α/2}.
    An effect δ common to all treated cells shifts every ATT(g, t) after the start, and
    so the simple ATT, by exactly δ and leaves the standard error unchanged, so the
    power at δ is the share of null data sets with |ATT₀ + δ| > z SE₀. The MDE is the
    smallest δ ≥ 0 at which that share reaches ``power`` (found by bisection). The table
    also gives ``mde_from_sd`` = (z_{1-α/2} + z_power) × SD of the null estimates, and
    ``size``, the rejection rate without an effect (above alpha when the standard errors
    are too small, e.g. with few practices).

    **Monte Carlo error.** The power at δ is a proportion over ``n_sims`` data sets,
    with standard error sqrt(p (1 - p) / n_sims) (0.028 at p = 0.8 and 200 data sets).
    Translated through the slope of the power curve at the MDE (about φ(z_power) / SD),
    ``mc_se`` = sqrt(p (1 - p) / n_sims) × SD / φ(z_power): about 10 % of the SD of the
    estimate, i.e. about 3.6 % of the MDE, at the defaults. Increase ``n_sims`` (the cost
    is about 40 ms per data set with 80 practices and 12 periods) for final numbers.

    Examples
    --------
    >>> from kbz_eval.estimators.power import mde_staggered
    >>> res = mde_staggered(n_practices=[40, 80], persons_per_practice=2000, icc=0.004,
    ...                     sd=4000, n_sims=50, seed=1)      # doctest: +SKIP
    >>> res.tables["mde"][["n_practices", "mde", "mc_se"]]    # doctest: +SKIP
    """
    from kbz_eval.estimators.staggered import staggered_did

    common = _check_common(persons_per_practice=persons_per_practice, icc=icc, sd=sd,
                           alpha=alpha, power=power, autocorrelation=autocorrelation)
    sizes = _check_count("n_practices", n_practices, 4)
    if len(set(sizes.tolist())) < len(sizes):
        raise SpecificationError(
            f"The value for `n_practices` must hold distinct numbers, but {n_practices!r} "
            "was passed."
        )
    n_periods = _check_int("n_periods", n_periods, 2)
    cohort_arr = np.atleast_1d(np.asarray(cohorts, dtype=object))
    ok = (cohort_arr.ndim == 1 and len(cohort_arr) > 0
          and all(not isinstance(c, bool) and isinstance(c, (int, np.integer))
                  and 2 <= c <= n_periods for c in cohort_arr)
          and len(set(cohort_arr.tolist())) == len(cohort_arr))
    if not ok:
        raise SpecificationError(
            f"The value for `cohorts` must be distinct integers between 2 and n_periods "
            f"= {n_periods} (first KBZ period of each cohort), but {cohorts!r} was passed."
        )
    cohort_list = sorted(int(c) for c in cohort_arr)
    share = _check_number("treated_share", treated_share, low=0.0, high=1.0,
                          low_open=True, high_open=True)
    control = check_option("control", control, Control)
    n_sims = _check_int("n_sims", n_sims, MIN_N_SIMS)
    seed = check_seed(seed)
    if seed is None:
        raise SpecificationError("The value for `seed` must be a non-negative integer, "
                                 "but None was passed.")
    m, rho, r, sigma = (common["persons_per_practice"], common["icc"],
                        common["autocorrelation"], common["sd"])
    alpha_, power_ = common["alpha"], common["power"]
    z = stats.norm.ppf(1 - alpha_ / 2)
    z_pow = stats.norm.ppf(power_)
    periods = np.arange(1, n_periods + 1)

    rows, draws, curves, notes = [], [], [], []
    for k, n in enumerate(sizes.tolist()):
        cohort_sizes, n_never = _allocate(n, share, len(cohort_list))
        min_never = 2 if control == "never" else 0
        if min(cohort_sizes) < 1 or n_never < min_never or sum(cohort_sizes) + n_never < 3:
            raise SpecificationError(
                f"n_practices = {n} with treated_share = {share:g} gives cohorts of "
                f"{cohort_sizes} practices and {n_never} never treated; every cohort needs "
                f"at least 1 practice and control={control!r} at least {min_never} never "
                "treated. Use more practices or fewer cohorts."
            )
        start = np.concatenate([np.repeat(cohort_list, cohort_sizes), np.zeros(n_never)])
        rng = np.random.default_rng([seed, k])
        y = _simulate_panels(rng, n_sims=n_sims, n=n, n_periods=n_periods, m=m, rho=rho,
                             r=r, sigma=sigma)
        base = pd.DataFrame({"practice": np.repeat(np.arange(n), n_periods),
                             "period": np.tile(periods, n),
                             "start": np.repeat(start, n_periods)})
        est = np.empty(n_sims)
        se = np.empty(n_sims)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            for s in range(n_sims):
                frame = base.assign(y=y[s].ravel())
                res = staggered_did(frame, outcome="y", unit="practice", time="period",
                                    group="start", control=control, estimation="reg",
                                    bootstrap=False)
                row = res.tables["simple"].iloc[0]
                est[s], se[s] = float(row["att"]), float(row["se"])
        if n < 30:
            notes.append(f"With {n} practices the influence-function standard errors of "
                         "staggered_did are too small (few clusters): see the `size` "
                         "column; the MDE assumes the test as staggered_did reports it.")
        sd_est = float(np.std(est, ddof=1))
        hi = (z + z_pow + 6) * max(sd_est, float(np.mean(se)))
        while _empirical_power(hi, est, se, z) < power_:
            hi *= 2
        lo = 0.0
        for _ in range(80):
            mid = (lo + hi) / 2
            if _empirical_power(mid, est, se, z) >= power_:
                hi = mid
            else:
                lo = mid
        mde = hi
        mc_se = float(np.sqrt(power_ * (1 - power_) / n_sims) * sd_est
                      / stats.norm.pdf(z_pow))
        rows.append({"design": "staggered", "n_practices": n,
                     "n_treated": int(sum(cohort_sizes)), "n_control": n_never,
                     "persons_per_practice": m, "icc": rho, "autocorrelation": r,
                     "design_effect": design_effect(m, rho, r), "std_error": sd_est,
                     "mde": mde, "mde_std_units": mde / sigma, "mc_se": mc_se,
                     "df": np.inf, "mde_from_sd": (z + z_pow) * sd_est,
                     "mean_se": float(np.mean(se)),
                     "size": _empirical_power(0.0, est, se, z), "n_sims": n_sims})
        draws.append(pd.DataFrame({"n_practices": n, "sim": np.arange(n_sims),
                                   "estimate": est, "std_error": se}))
        grid = np.linspace(0, 2 * mde, 41)
        curves.append(pd.DataFrame({
            "n_practices": n, "effect": grid,
            "power": [_empirical_power(g, est, se, z) for g in grid]}))
    table = pd.DataFrame(rows)
    table = table[[*_MDE_COLUMNS, "mde_from_sd", "mean_se", "size", "n_sims"]]
    settings = {**common, "design": "staggered", "n_periods": n_periods,
                "cohorts": cohort_list, "treated_share": share, "control": control,
                "n_sims": n_sims, "seed": seed, "distribution": "normal"}
    method = (
        f"Minimum detectable effect of a staggered roll-out by simulation: {n_sims} data "
        f"sets per number of practices of practice-period means over {n_periods} periods "
        f"(cohorts starting in periods {cohort_list}, {100 * share:g}% of practices "
        f"treated, the rest never), drawn with ICC = {rho:g}, cluster autocorrelation "
        f"r = {r:g}, {m} persons per practice and person SD {sigma:g}; each analysed with "
        f"staggered_did (Callaway & Sant'Anna; {control}-treated comparison, outcome "
        "regression, influence-function SE over practices). MDE = smallest additive "
        f"effect whose simple ATT is significant (two-sided, alpha {alpha_:g}, normal) in "
        f"{100 * power_:g}% of the data sets; mc_se = its Monte Carlo standard error "
        "sqrt(p(1-p)/n_sims) × SD / φ(z_power). Seed "
        f"{seed}."
    )
    out = PowerResult(estimates=_tidy(table),
                      tables={"mde": table, "draws": pd.concat(draws, ignore_index=True),
                              "power_curve": pd.concat(curves, ignore_index=True)},
                      method=method, settings=settings, warnings=notes)
    for msg in notes:
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
    return out


# --------------------------------------------------------------------------- ICC
def icc_from_panel(panel: pd.DataFrame, *, outcome: Hashable, unit: Hashable,
                   time: Hashable | None = None) -> float:
    """Intra-practice correlation by the one-way ANOVA estimator.

    Parameters
    ----------
    panel
        One row per person (or person-year), with the outcome and the practice. Not
        modified.
    outcome
        Numeric outcome column (e.g. the cost per insured year of each person-year).
    unit
        The cluster column (the practice).
    time
        Optional period column: the ICC is then estimated within each period (the ICC
        within a year that :func:`mde_two_by_two` needs, not inflated by persons seen in
        several years) and averaged over periods, weighted by their rows.

    Returns
    -------
    float
        The estimate, truncated at 0 (the ANOVA estimator can be negative when the
        true ICC is near 0).

    Raises
    ------
    SpecificationError
        Unknown or non-numeric outcome column, or fewer than two clusters or no
        within-cluster replication (in a period).

    Warns
    -----
    StatisticalWarning
        Rows with a missing outcome, unit or time are left out.

    Notes
    -----
    With k clusters of sizes n_j (N rows), cluster means ȳ_j and grand mean ȳ: MSB =
    Σ n_j (ȳ_j - ȳ)² / (k - 1), MSW = Σ (y - ȳ_j)² / (N - k), n₀ = (N - Σ n_j² / N) /
    (k - 1), and ρ̂ = (MSB - MSW) / (MSB + (n₀ - 1) MSW) (Fisher's intraclass
    correlation from the one-way random-effects ANOVA; Donner 1986, Int Stat Rev 54:
    67–82). Unweighted: every row counts once; for costs of partial insured years use
    costs per insured year.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from kbz_eval.estimators.power import icc_from_panel
    >>> rng = np.random.default_rng(0)
    >>> p = np.repeat(np.arange(300), 40)
    >>> y = rng.normal(0, np.sqrt(0.1), 300)[p] + rng.normal(0, np.sqrt(0.9), p.size)
    >>> round(icc_from_panel(pd.DataFrame({"y": y, "p": p}), outcome="y", unit="p"), 2)
    0.11
    """
    roles = {"outcome": outcome, "unit": unit, **({"time": time} if time is not None
                                                   else {})}
    cols = _check_columns(panel, **roles)
    df = panel[cols]
    missing = df.isna().any(axis=1)
    if missing.any():
        warnings.warn(f"{int(missing.sum())} rows with a missing {', '.join(map(str, cols))}"
                      " were left out of the ICC.", StatisticalWarning, stacklevel=2)
        df = df[~missing]
    if time is None:
        return _anova_icc(df[outcome].to_numpy(float), df[unit].to_numpy())
    estimates, weights = [], []
    for _, part in df.groupby(time, sort=True):
        estimates.append(_anova_icc(part[outcome].to_numpy(float), part[unit].to_numpy()))
        weights.append(len(part))
    return float(np.average(estimates, weights=weights))


def autocorrelation_from_panel(panel: pd.DataFrame, *, outcome: Hashable,
                               unit: Hashable, time: Hashable) -> float:
    """Cluster autocorrelation of practice means between years, by moments.

    Parameters
    ----------
    panel
        One row per person-year with the outcome, the practice and the year. Not
        modified.
    outcome
        Numeric outcome column (e.g. the cost per insured year).
    unit
        The cluster column (the practice).
    time
        The period column (the year).

    Returns
    -------
    float
        ``r = σ²_c / (σ²_c + σ²_u)`` in [0, 1] (clipped): the share of the practice
        variance that persists over the years, the ``autocorrelation`` of
        :func:`mde_two_by_two` and :func:`mde_staggered`. ``nan`` when the practice
        variance is estimated as zero (no practice variation to persist).

    Raises
    ------
    SpecificationError
        Unknown or non-numeric columns, fewer than two practices observed in at least two
        periods, or no within-cell replication.

    Notes
    -----
    Model ``Y_ipt = μ_t + c_p + u_pt + e_ipt`` (see :func:`mde_two_by_two`). After
    removing year means: the within-cell mean square estimates ``σ²_e``; the variance
    of a practice's cell means over its years estimates ``σ²_u + σ²_e · mean(1/n_pt)``;
    the variance of the practices' averages of cell means estimates ``σ²_c + (σ²_u +
    σ²_e · mean(1/n_pt)) / T_p``; solving gives ``σ²_u`` and ``σ²_c`` (method of moments
    as in the nested ANOVA; negative components set to 0). Practices seen in a single
    period are left out. Persons observed in several years make cell means correlated
    beyond the practice and bias ``r`` upwards; a panel of different persons per year
    (or one year per person) avoids that.
    """
    cols = _check_columns(panel, outcome=outcome, unit=unit, time=time)
    df = panel[cols].dropna()
    y = df[outcome].to_numpy(float)
    t_codes, _ = pd.factorize(df[time])
    y = y - (np.bincount(t_codes, weights=y) / np.bincount(t_codes))[t_codes]
    cell = pd.DataFrame({"u": pd.factorize(df[unit])[0], "t": t_codes, "y": y})
    grouped = cell.groupby(["u", "t"], sort=True)["y"]
    n_pt = grouped.size()
    mean_pt = grouped.mean()
    dev = cell["y"].to_numpy() - cell.set_index(["u", "t"]).index.map(mean_pt).to_numpy()
    if len(cell) <= len(n_pt):
        raise SpecificationError("The autocorrelation needs more than one person in some "
                                 "practice-period cells.")
    sigma2_e = float(np.sum(dev**2) / (len(cell) - len(n_pt)))
    cells = pd.DataFrame({"mean": mean_pt, "inv_n": 1.0 / n_pt}).reset_index()
    per = cells.groupby("u").agg(T=("mean", "size"), var=("mean", "var"),
                                 avg=("mean", "mean"), inv_n=("inv_n", "mean"))
    per = per[per["T"] >= 2]
    if len(per) < 2:
        raise SpecificationError(
            "The autocorrelation needs at least two practices observed in two or more "
            f"periods of {time!r}, but {len(per)} are."
        )
    sigma2_u = max(0.0, float(np.mean(per["var"] - sigma2_e * per["inv_n"])))
    between = float(np.var(per["avg"], ddof=1))
    sigma2_c = max(0.0, between - float(np.mean((sigma2_u + sigma2_e * per["inv_n"])
                                                / per["T"])))
    if sigma2_c + sigma2_u == 0:
        return float("nan")
    return float(min(1.0, sigma2_c / (sigma2_c + sigma2_u)))


def _check_columns(panel: Any, **roles: Hashable) -> list[Hashable]:
    """The role columns (outcome first), checked to exist; the outcome numeric."""
    if not isinstance(panel, pd.DataFrame):
        raise SpecificationError(f"`panel` must be a pandas DataFrame, but "
                                 f"{type(panel).__name__} was passed.")
    for role, col in roles.items():
        if col not in panel.columns:
            raise SpecificationError(
                f"The value for `{role}` must be a column of `panel`, but {col!r} was "
                f"passed (columns: {[str(c) for c in panel.columns][:20]})."
            )
    outcome = roles["outcome"]
    if not pd.api.types.is_numeric_dtype(panel[outcome]) or \
            pd.api.types.is_bool_dtype(panel[outcome]):
        raise SpecificationError(f"The outcome column {outcome!r} must be numeric, but it "
                                 f"has dtype {panel[outcome].dtype}.")
    return list(roles.values())


def _anova_icc(y: np.ndarray, unit: np.ndarray) -> float:
    codes, uniques = pd.factorize(unit)
    k, n_total = len(uniques), len(y)
    if k < 2 or n_total <= k:
        raise SpecificationError(
            f"The ICC needs at least two clusters and more rows than clusters, but there "
            f"are {k} clusters and {n_total} rows."
        )
    n_j = np.bincount(codes, minlength=k).astype(float)
    means = np.bincount(codes, weights=y, minlength=k) / n_j
    grand = y.mean()
    msb = float(np.sum(n_j * (means - grand) ** 2) / (k - 1))
    msw = float(np.sum((y - means[codes]) ** 2) / (n_total - k))
    n0 = (n_total - np.sum(n_j**2) / n_total) / (k - 1)
    denom = msb + (n0 - 1) * msw
    if denom <= 0:
        return 0.0
    return float(max(0.0, (msb - msw) / denom))


__all__ = ["Distribution", "PowerResult", "autocorrelation_from_panel", "design_effect",
           "icc_from_panel",
           "mde_staggered", "mde_two_by_two"]
