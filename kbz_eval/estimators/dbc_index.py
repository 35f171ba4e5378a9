"""Outpatient-DBC use of KBZ and control practices as an index: ``kbz.dbc_index``.

The seeds' figure "index of number of outpatient DBCs, KBZ practices vs controls,
minima insured, 2012–2015" (base year = 100), here with 95 % intervals, the
difference in differences as a rate ratio and an event study per year.

KBZ is assigned to practices, so by default every interval and p-value is practice-level:
all estimates are functions of the group × cell sums of DBCs and insured years, and
:class:`~kbz_eval.stats.practice.PracticeInference` recomputes them from the practices'
sums (delete-one-practice jackknife, wild cluster bootstrap or CR2-type t, randomisation
over practice assignments).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats.multiplicity import holm
from kbz_eval.stats.practice import DEFAULT_N_WILD, impossible_message
from kbz_eval.stats.pvalues import format_p

#: The ``contrast`` column: what a row compares.
CONTRAST_EFFECT = "KBZ vs control practices"
CONTRAST_WITHIN = "within-group change (not an effect)"

#: Pseudo rate (events per insured year) given to an age/sex stratum without any DBC in
#: a practice-level replicate (a left-out practice held all its DBCs), and pseudo
#: exposure of a cell without insured years in a replicate: keeps every stratum effect
#: finite in the batched fit; their cells then carry no information (error ~1e-9).
_PSEUDO = 1e-9

#: Words for the practice-level methods, for the headline.
_METHOD_WORDS = {"wild": "practice-level wild cluster bootstrap",
                 "cr2": "practice-level CR2 t, Satterthwaite df"}


class DbcIndexResult(Result):
    """Result of :func:`dbc_index`.

    ``tidy()`` rows: ``did_rate_ratio`` (KBZ vs control practices, years from the KBZ
    start vs before; the headline), ``did_rate_ratio_persons_only`` (the same estimate
    with the person-clustered interval; only with ``inference="practice"``),
    ``event_study_<year>`` (rate ratio of year vs base year, KBZ relative to control; a
    secondary family with Holm-adjusted ``p_adjusted``) and ``index_<group>_<year>``
    (rate in year / rate in base year × 100, tested against 100: a within-group change,
    not an effect). Extra columns ``group``, ``year``, ``inference`` (``"practice"`` or
    ``"person"``), ``df`` (practice-level degrees of freedom, NaN otherwise),
    ``p_randomisation`` (over practice relabellings; DiD and event-study rows),
    ``p_adjusted`` (Holm, event-study rows) and ``contrast``.

    ``tables``: ``rates`` (outpatient DBCs per 1,000 insured years per group and year,
    crude, with intervals), ``index`` (what :meth:`plot` draws), ``event_study``.
    """

    title = "index of outpatient DBCs, KBZ vs control"
    plotter = "claims:plot_dbc_index"

    def plot_data(self) -> pd.DataFrame:
        """``group, year, index, ci_lower, ci_upper, n_persons`` (base year = 100)."""
        return self.tables["index"][["group", "year", "index", "ci_lower", "ci_upper",
                                     "n_persons"]].reset_index(drop=True)

    def headline(self) -> str:
        e = self.estimates.set_index("term").loc["did_rate_ratio"]
        s = self.settings
        idx = self.tables["index"]
        last = int(idx["year"].max())
        k = idx[(idx["group"] == "kbz") & (idx["year"] == last)]["index"].iloc[0]
        c = idx[(idx["group"] == "control") & (idx["year"] == last)]["index"].iloc[0]
        return (
            f"outpatient DBCs ({s['population']}), index {last} (base {s['base_year']} = "
            f"100): KBZ {k:.1f}, control {c:.1f}; DiD rate ratio {e['estimate']:.3f} vs "
            f"control practices ({_interval_words(e, s)})"
        )


def _interval_words(row: pd.Series, settings: dict[str, Any]) -> str:
    """The bracket of the headline: interval, method, practices and p-value."""
    n_k, n_c = settings["n_kbz_practices"], settings["n_control_practices"]
    practice_level = row["inference"] == "practice"
    if not np.isfinite(row["ci_lower"]):
        if practice_level and impossible_message(n_k, n_c):
            return (f"practice-level interval impossible: {n_k} KBZ and {n_c} control "
                    "practice(s)")
        return "no interval: not estimable"
    how = (f"{_METHOD_WORDS[settings['practice_method']]}, {n_k} vs {n_c} practices"
           if practice_level else cc.PERSONS_ONLY)
    return (f"{100 * (1 - settings['alpha']):g}% CI {row['ci_lower']:.3f} to "
            f"{row['ci_upper']:.3f}, {how}; {format_p(row['p_value'])}")


def dbc_index(
    panel: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    base_year: int = 2012,
    population: cc.Population = "minima",
    years: Sequence[int] | None = None,
    outcome: str = "poli_dbc_count",
    start_year: int | None = None,
    adjust: cc.Adjust = "none",
    inference: cc.Inference = "practice",
    practice_method: cc.PracticeMethod = "wild",
    seed: int | None = 0,
    alpha: float = 0.05,
) -> DbcIndexResult:
    """Outpatient DBCs per 1,000 insured years, their index and the DiD rate ratio.

    Parameters
    ----------
    panel
        Person-year panel (``person_years`` contract): ``person_id, year, practice_id,
        insured_days, minima`` and ``outcome``; ``sex`` and ``age_band`` or
        ``birth_year`` for ``adjust="age_sex"``. Not modified.
    practices
        Practices table: ``practice_id``, ``group`` (``kbz``/``control``),
        ``kbz_start_year``. Not modified.
    base_year
        Index base (= 100) and reference year of the event study (default 2012).
    population
        ``"minima"`` (default) or ``"all"`` person-years.
    years
        Years to analyse; default every year of the panel (the seeds' figure: 2012–2015).
    outcome
        Count column (default ``poli_dbc_count``).
    start_year
        First KBZ year for the pooled difference in differences; default the earliest
        ``kbz_start_year`` of the KBZ practices.
    adjust
        ``"none"`` or ``"age_sex"``: add age band × sex main effects to the models
        (indices, event study and DiD then compare like with like; the ``rates`` table
        stays crude).
    inference
        ``"practice"`` (default): intervals and p-values at the practice level, the unit
        KBZ is assigned to. ``"person"``: person-clustered intervals (persons only —
        ignores variation between practices).
    practice_method
        Practice-level method: ``"wild"`` (default; wild cluster bootstrap-t with Webb
        weights) or ``"cr2"`` (delete-one-practice jackknife variance, t on
        Satterthwaite degrees of freedom).
    seed
        Seed of the wild bootstrap weights and of a random subset of practice
        relabellings (only drawn when there are more than 5,000).
    alpha
        1 − confidence level (0.05: 95 % intervals).

    Returns
    -------
    DbcIndexResult

    Raises
    ------
    SpecificationError
        Unknown options, years not in the panel, no year before or from ``start_year``,
        or a group-year without any DBC.
    DataValidationError
        Missing columns or values that break the contract.

    Warns
    -----
    StatisticalWarning
        Few practices, practice-level inference impossible (one practice in a group),
        sparse cells.

    Notes
    -----
    **Model.** A Poisson GLM with log link and offset ``log(insured years)``. The
    event-study model has one parameter per group × year (so its rates are the crude
    rates); the index of group ``g`` in year ``t`` is ``exp(β[g,t] − β[g,base]) × 100``;
    the event-study rate ratio of year ``t`` is ``exp((β[kbz,t] − β[kbz,base]) −
    (β[control,t] − β[control,base]))``, the ratio of the two indices. The pooled DiD
    model has group, year and ``kbz × (year ≥ start_year)`` terms; ``exp`` of the last
    is the DiD rate ratio (an intention-to-treat contrast of KBZ practices against
    control practices, also for practices that started later).

    **Which contrast is the effect.** The DiD rate ratio (primary) and the event-study
    ratios (a secondary family: Holm-adjusted ``p_adjusted``) compare KBZ with control
    practices. The per-year indices tested against 100 are *within-group changes*, not
    effects: the control practices changed too (``contrast`` column).

    **Practice-level inference (default).** Because the design is constant within
    cells (group × year, × age band × sex with ``adjust="age_sex"``), every estimate is
    a function of the cell sums of DBCs and insured years (the Poisson fit on cell sums
    is exactly the person-year fit). One vectorised statistic of those sums is
    recomputed without each practice in turn (the jackknife gives the variance and the
    practice scores) and under every relabelling of the practices (randomisation
    p-value, ``p_randomisation``); the interval on the log scale comes from the wild
    cluster bootstrap-t (Webb weights) or the CR2-type t with Satterthwaite df, and is
    exponentiated. With one practice in a group no practice-level interval exists and
    NaN is returned with a warning.

    **Why Poisson with robust errors, not negative binomial.** DBC counts are
    overdispersed and a person's counts are correlated over years. The Poisson
    (quasi-)likelihood estimates the rate ratios consistently whatever the variance, as
    long as the mean model holds; robust (practice-level or person-clustered sandwich)
    variances then give valid intervals under any overdispersion. A negative-binomial
    fit would weight persons differently and its model-based variance is wrong when the
    variance function is, so it offers no robustness.

    **Person level.** ``inference="person"`` (and the row
    ``did_rate_ratio_persons_only``) uses the person-clustered sandwich (CR1) on the
    person-years: persons only — ignores variation between practices.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> s = kbz.load_sample()                                           # doctest: +SKIP
    >>> r = kbz.dbc_index(s["person_years"], s["practices"], years=range(2012, 2016))
    ...                                                                   # doctest: +SKIP
    >>> r.plot()                                                          # doctest: +SKIP
    """
    cc.check_option("adjust", adjust)
    cc.check_option("inference", inference)
    cc.check_option("practice_method", practice_method)
    if not isinstance(outcome, str):
        raise SpecificationError(
            f"The value for `outcome` must be a column name, but {outcome!r} was passed.")
    seed = cc.check_seed(seed)
    alpha = cc.check_alpha(alpha)
    cp = cc.prepare_claims(panel, practices, population=population, values=[outcome],
                           years=None if years is None else list(years),
                           need_age_sex=adjust == "age_sex",
                           required_years=[("base_year", base_year)])
    design = _design(cp, outcome, base_year, start_year, adjust)
    notes = list(cp.notes)
    fits = _person_fits(design, notes)
    practice = cc.PracticeInference(
        _DbcStatistic(design.n_years, design.n_strata, design.base, design.did_cells),
        design.practice_sums(), method=practice_method, n_boot=DEFAULT_N_WILD, seed=seed,
        alpha=alpha)
    level = (_PracticeLevel(practice, design) if inference == "practice"
             else _PersonLevel(fits, design, practice, alpha))
    rows, tabs = _assemble(level, design)
    if inference == "practice":
        rows.insert(1, _persons_only_row(_PersonLevel(fits, design, practice, alpha),
                                         design))
    if not fits.converged:
        notes.append("A Poisson fit did not converge fully; treat the estimates with care.")
    p_rand = float(rows[0]["p_randomisation"])
    messages = [*notes, cc.sparse_cells_message(tabs["rates"], ["group", "year"]),
                _practice_message(cp, practice, inference, p_rand)]
    return DbcIndexResult(
        estimates=tidy_frame(rows), tables=tabs,
        method=_method_text(design, practice, inference, alpha, p_rand),
        settings={"base_year": design.years[design.base], "population": population,
                  "years": list(design.years), "outcome": outcome,
                  "start_year": design.start, "adjust": adjust, "inference": inference,
                  "practice_method": practice_method, "seed": seed, "alpha": alpha,
                  "model": "poisson", "n_kbz_practices": practice.n_kbz,
                  "n_control_practices": practice.n_control,
                  "practice_randomisation_exact": bool(practice.exact),
                  "practice_randomisation_assignments": practice.n_assignments,
                  "practice_wild_replicates": (DEFAULT_N_WILD if practice_method == "wild"
                                               else 0),
                  "n_person_years_outside_practices": cp.n_rows_outside},
        warnings=cc.emit(messages),
    )


# --------------------------------------------------------------------------- cells
@dataclass
class _Design:
    """The analysed cells: years, age/sex strata and the rows' cell codes.

    Cells of the person-level fits are ``group-year × stratum`` (code ``gy * S + s``,
    ``gy = g * n_years + j``, KBZ = group 0); the practices' sums use the within-group
    cell ``j * S + s``, which :meth:`PracticeSums.layout` places at ``g * C + j * S + s``
    (the same order).
    """

    cp: cc.ClaimsPanel
    outcome: str
    adjust: str
    years: tuple[int, ...]
    base: int  # position of the base year in `years`
    start: int
    post: list[int]
    counts: np.ndarray
    exposure: np.ndarray
    group_year: np.ndarray  # person-level group-year cell of each row
    year_pos: np.ndarray  # position of each row's year in `years`
    stratum: np.ndarray  # age band × sex stratum of each row (0 without adjustment)
    n_strata: int
    fit_rows: np.ndarray  # rows in strata with at least one DBC (the adjusted fits)
    did_cells: np.ndarray

    @property
    def n_years(self) -> int:
        return len(self.years)

    @property
    def n_group_years(self) -> int:
        return len(cc.GROUPS) * self.n_years

    def practice_sums(self) -> cc.PracticeSums:
        """Each practice's DBCs and insured years per year × stratum cell."""
        prac = self.cp.practices
        code = {p: i for i, p in enumerate(prac["practice_id"])}
        practice = cc.row_codes(self.cp.frame["practice_id"], code)
        return cc.PracticeSums.from_rows(
            practice, self.year_pos * self.n_strata + self.stratum,
            [self.counts, self.exposure], is_kbz=prac["group"].to_numpy() == "kbz",
            n_cells=self.n_years * self.n_strata, practice_ids=list(prac["practice_id"]))


def _design(cp: cc.ClaimsPanel, outcome: str, base_year: Any, start_year: Any,
            adjust: str) -> _Design:
    """Check the years against the panel and code every row's cells."""
    base_year = int(base_year)
    yrs = cp.years
    if base_year not in yrs:
        raise SpecificationError(
            f"`years` {list(yrs)} must include `base_year` ({base_year}).")
    if len(yrs) < 2:
        raise SpecificationError("`years` must hold at least two years (the base year and "
                                 "one more).")
    start = _start_year(cp, start_year)
    pre = [y for y in yrs if y < start]
    post = [y for y in yrs if y >= start]
    if not pre or not post:
        raise SpecificationError(
            f"The pooled difference in differences needs analysed years before and from "
            f"`start_year` ({start}), but the years are {list(yrs)}.")
    f = cp.frame
    counts = f[outcome].to_numpy()
    if not np.allclose(counts, np.round(counts)):
        raise SpecificationError(f"`{outcome}` must hold whole numbers (a count of DBCs).")
    gy = cc.cell_codes(cp, yrs)
    events = np.bincount(gy, weights=counts, minlength=2 * len(yrs))
    empty = [lab for lab, v in zip(cc.cell_labels(cc.GROUPS, yrs), events, strict=True)
             if v == 0]
    if empty:
        raise SpecificationError(
            f"No {outcome} at all in {empty} ({cc.describe_population(cp.population)}); "
            "rates of zero make the index and rate ratios undefined. Choose other years or "
            "the population 'all'.")
    if adjust == "age_sex":
        key = f["age_band"].astype(str) + "|" + f["sex"].astype(str)
        stratum, levels = pd.factorize(key, sort=True)
        has_events = np.bincount(stratum, weights=counts, minlength=len(levels)) > 0
        fit_rows = np.flatnonzero(has_events[stratum])
    else:
        stratum, levels, fit_rows = np.zeros(len(f), dtype=np.int64), [0], np.arange(len(f))
    b = yrs.index(base_year)
    return _Design(cp=cp, outcome=outcome, adjust=adjust, years=yrs, base=b, start=start, post=post,
                   counts=counts, exposure=f["iy"].to_numpy(), group_year=gy,
                   year_pos=np.searchsorted(np.asarray(yrs), f["year"].to_numpy()),
                   stratum=np.asarray(stratum, dtype=np.int64), n_strata=len(levels),
                   fit_rows=fit_rows, did_cells=_did_design(yrs, b, post))


# --------------------------------------------------------------------------- statistic
def _strata_design(cell_design: np.ndarray, n_strata: int) -> np.ndarray:
    """Rows ``cell * S + s``: the cell's design row and stratum dummies (first left out)."""
    return np.hstack([np.repeat(cell_design, n_strata, axis=0),
                      np.tile(np.eye(n_strata)[:, 1:], (cell_design.shape[0], 1))])


def _fit_cells(cell_design: np.ndarray, events: np.ndarray,
               exposure: np.ndarray) -> np.ndarray:
    """Batched Poisson fit of ``log rate = cell_design·β + stratum effect``.

    ``events`` and ``exposure`` are ``(rows, cells, strata)`` sums; returns the
    ``(rows, k)`` coefficients of ``cell_design``. Strata without a DBC in any row are
    left out (they carry no information); a stratum without a DBC in some rows only
    gets the pseudo rate :data:`_PSEUDO`, and a cell without insured years in a row the
    pseudo exposure, so one design serves every row.
    """
    n_rows, n_cells, _ = events.shape
    has = events.sum(axis=1) > 0
    used = has.any(axis=0)
    events, exposure, has = events[..., used], exposure[..., used], has[:, used]
    present = (exposure > 0).any(axis=0).ravel()
    events = np.where(has[:, None, :], events, _PSEUDO * exposure)
    exposure = np.where(exposure > 0, exposure, _PSEUDO)
    design = _strata_design(cell_design, int(used.sum()))[present]
    coef, _ = cc.poisson_newton(design, events.reshape(n_rows, -1)[:, present],
                                np.log(exposure.reshape(n_rows, -1)[:, present]))
    return coef[:, :cell_design.shape[1]]


def _did_without_strata(events: np.ndarray, exposure: np.ndarray, post: np.ndarray, *,
                        max_iter: int = 100) -> np.ndarray:
    """Log DiD rate ratio of the pooled Poisson model without strata, batched over rows.

    Parameters
    ----------
    events, exposure
        ``(rows, 2, n_years)`` group-year sums (KBZ first), all positive.
    post
        ``(n_years,)`` bool: the years of the KBZ × post term.
    max_iter
        Most safeguarded Newton steps per equation.

    Returns
    -------
    numpy.ndarray
        ``(rows,)``: the KBZ × post coefficient of ``log rate = year effect + KBZ +
        KBZ × post`` (the model of :func:`_did_design`), the maximum-likelihood value
        that :func:`_fit_cells` finds with the 7-parameter Newton fit.

    Notes
    -----
    With a free effect per year the Poisson score equations say: the fitted events of
    every year add up to the year's events, and the KBZ practices' fitted events add up
    to their events over the pre years and over the post years. Given the KBZ rate ratio
    ``ρ`` of a period, the fitted KBZ events of year ``t`` are ``Y_t σ_t`` with
    ``σ_t = a_t ρ / (1 + a_t ρ)``, ``a_t`` the KBZ/control exposure ratio and ``Y_t``
    the year's events. So ``u = log ρ`` of each period solves the increasing equation
    ``Σ_t Y_t σ_t(u) = Σ_t y_kbz,t`` over that period's years, whose root lies between
    the years' own log rate ratios; it is found by Newton steps kept inside that
    bracket (halving when a step leaves it), and the DiD is ``u_post − u_pre``. The
    two one-parameter equations replace a 7 × 7 Newton solve per row (thousands of
    practice relabellings), and reach the same root to rounding (~1e-15).
    """
    y_k, y_c = events[:, 0, :], events[:, 1, :]
    total = y_k + y_c
    log_a = np.log(exposure[:, 0, :] / exposure[:, 1, :])
    own = np.log(y_k / y_c) - log_a  # each year's own log rate ratio (root of its term)

    def period_root(years: np.ndarray) -> np.ndarray:
        tot, la, target = total[:, years], log_a[:, years], y_k[:, years].sum(axis=1)
        lo, hi = own[:, years].min(axis=1), own[:, years].max(axis=1)
        # start: the log ratio of the period's crude rates
        u = np.log(target / y_c[:, years].sum(axis=1)) - np.log(
            exposure[:, 0, years].sum(axis=1) / exposure[:, 1, years].sum(axis=1))
        u = np.clip(u, lo, hi)
        for _ in range(max_iter):
            sigma = 1.0 / (1.0 + np.exp(-(la + u[:, None])))
            f = (tot * sigma).sum(axis=1) - target
            slope = (tot * sigma * (1.0 - sigma)).sum(axis=1)
            lo, hi = np.where(f < 0, u, lo), np.where(f > 0, u, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                new = u - f / slope
            outside = ~((new >= lo) & (new <= hi))  # NaN steps too
            new = np.where(outside, (lo + hi) / 2, new)
            done = np.abs(new - u) <= 1e-14 * (1.0 + np.abs(u))
            u = new
            if done.all():
                break
        return u

    return period_root(np.asarray(post, dtype=bool)) - period_root(~np.asarray(post, dtype=bool))


@dataclass(frozen=True)
class _DbcStatistic:
    """Every estimate of :func:`dbc_index` as a function of group × cell sums.

    Called with ``(rows, k)`` column sums in the layout of
    :meth:`~kbz_eval.stats.practice.PracticeSums.layout` (values DBCs and insured years;
    groups KBZ, control; cells year × stratum). Returns, per row: ``log_rate`` (crude,
    ``(rows, 2, n_years)``), ``log_index`` (``(rows, 2, n_years)``, 0 in the base year),
    ``log_event_study`` (``(rows, n_years)``) and ``log_did`` (``(rows,)``). Rows with a
    group-year without DBCs or insured years are NaN.
    """

    n_years: int
    n_strata: int
    base: int
    did_cells: np.ndarray

    def __call__(self, sums: np.ndarray) -> dict[str, np.ndarray]:
        n_rows = sums.shape[0]
        cells = sums.reshape(n_rows, 2, len(cc.GROUPS), self.n_years, self.n_strata)
        events, exposure = cells[:, 0], cells[:, 1]
        y_gy, e_gy = events.sum(axis=-1), exposure.sum(axis=-1)
        ok = (y_gy > 0).all(axis=(1, 2)) & (e_gy > 0).all(axis=(1, 2))
        shape = (n_rows, len(cc.GROUPS), self.n_years)
        log_rate, effect, did = np.full(shape, np.nan), np.full(shape, np.nan), \
            np.full(n_rows, np.nan)
        if ok.any():
            log_rate[ok] = np.log(y_gy[ok] / e_gy[ok])
            flat = (ok.sum(), len(cc.GROUPS) * self.n_years, self.n_strata)
            ev, ex = events[ok].reshape(flat), exposure[ok].reshape(flat)
            if self.n_strata == 1:  # one parameter per group-year: the crude rates
                effect[ok] = log_rate[ok]
                # year effects + KBZ + KBZ × post on group-year sums: two 1-d equations
                did[ok] = _did_without_strata(y_gy[ok], e_gy[ok],
                                              self.did_cells[:self.n_years, -1] == 1)
            else:
                effect[ok] = _fit_cells(np.eye(flat[1]), ev, ex).reshape(-1, *shape[1:])
                did[ok] = _fit_cells(self.did_cells, ev, ex)[:, -1]
        log_index = effect - effect[:, :, [self.base]]
        kbz, control = cc.GROUPS.index("kbz"), cc.GROUPS.index("control")
        return {"log_rate": log_rate, "log_index": log_index,
                "log_event_study": log_index[:, kbz] - log_index[:, control],
                "log_did": did}


# --------------------------------------------------------------------------- person fits
@dataclass
class _PersonFits:
    crude: cc.PoissonFit  # one parameter per group-year (crude rates)
    event_study: cc.PoissonFit  # group-year (+ strata)
    did: cc.PoissonFit  # pooled DiD (+ strata)

    @property
    def converged(self) -> bool:
        return self.crude.converged and self.event_study.converged and self.did.converged


def _person_fits(d: _Design, notes: list[str]) -> _PersonFits:
    """The person-clustered (CR1) Poisson fits on the person-years."""
    person = d.cp.person_array()
    crude = cc.poisson_cell_glm(d.counts, d.exposure, d.group_year, np.eye(d.n_group_years),
                                person, d.cp.n_persons)
    r = d.fit_rows
    if r.size < len(d.counts):
        notes.append(
            f"{len(d.counts) - r.size} person-year(s) in age band × sex strata without any "
            "DBC are left out of the adjusted models (they do not inform the rate ratios).")
    # strata without any DBC are left out: renumber the used ones
    used, stratum = np.unique(d.stratum[r], return_inverse=True)
    row_cell = d.group_year[r] * used.size + stratum.ravel()
    if d.adjust == "age_sex":
        es = cc.poisson_cell_glm(d.counts[r], d.exposure[r], row_cell,
                                 _strata_design(np.eye(d.n_group_years), used.size),
                                 person[r], d.cp.n_persons)
    else:
        es = crude
    did = cc.poisson_cell_glm(d.counts[r], d.exposure[r], row_cell,
                              _strata_design(d.did_cells, used.size), person[r],
                              d.cp.n_persons)
    return _PersonFits(crude=crude, event_study=es, did=did)


# --------------------------------------------------------------------------- levels
def _record(estimate: float, log_se: float, lower: float, upper: float, p: float,
            df: float = np.nan, p_rand: float = np.nan) -> dict[str, float]:
    """One estimate with its inference, on the ratio scale."""
    return {"estimate": estimate, "log_se": log_se, "ci_lower": lower, "ci_upper": upper,
            "p_value": p, "df": df, "p_randomisation": p_rand}


class _PracticeLevel:
    """Estimates with practice-level inference (log scale, exponentiated)."""

    name = "practice"

    def __init__(self, practice: cc.PracticeInference, d: _Design) -> None:
        self.practice = practice
        self.d = d

    def _get(self, term: str, index: tuple[int, ...], randomise: bool) -> dict[str, float]:
        r = self.practice.infer(term, index)
        return _record(math.exp(r["estimate"]), r["std_error"], math.exp(r["ci_lower"]),
                       math.exp(r["ci_upper"]), r["p_value"], r["df"],
                       r["p_randomisation"] if randomise else np.nan)

    def rate(self, g: int, j: int) -> dict[str, float]:
        return self._get("log_rate", (g, j), randomise=False)

    def index(self, g: int, j: int) -> dict[str, float]:
        return self._get("log_index", (g, j), randomise=False)

    def event_study(self, j: int) -> dict[str, float]:
        return self._get("log_event_study", (j,), randomise=True)

    def did(self) -> dict[str, float]:
        return self._get("log_did", (), randomise=True)


class _PersonLevel:
    """Estimates with person-clustered (CR1) inference; the randomisation p-values over
    practice relabellings are kept."""

    name = "person"

    def __init__(self, fits: _PersonFits, d: _Design, practice: cc.PracticeInference,
                 alpha: float) -> None:
        self.fits, self.d, self.practice, self.alpha = fits, d, practice, alpha

    def _get(self, fit: cc.PoissonFit, weights: dict[int, float],
             p_rand: float = np.nan) -> dict[str, float]:
        w = np.zeros(fit.coef.size)
        for column, value in weights.items():
            w[column] += value
        r = fit.contrast(w, self.alpha)
        return _record(r["estimate"], r["log_std_error"], r["ci_lower"], r["ci_upper"],
                       r["p_value"], p_rand=p_rand)

    def _cell(self, g: int, j: int) -> int:
        return g * self.d.n_years + j  # group-year column of the event-study model

    def rate(self, g: int, j: int) -> dict[str, float]:
        return self._get(self.fits.crude, {self._cell(g, j): 1.0})

    def index(self, g: int, j: int) -> dict[str, float]:
        b = self.d.base
        return self._get(self.fits.event_study, {self._cell(g, j): 1.0,
                                                 self._cell(g, b): -1.0})

    def event_study(self, j: int) -> dict[str, float]:
        b, (k, c) = self.d.base, (cc.GROUPS.index("kbz"), cc.GROUPS.index("control"))
        p = self.practice.infer("log_event_study", (j,))["p_randomisation"]
        return self._get(self.fits.event_study, {
            self._cell(k, j): 1.0, self._cell(k, b): -1.0,
            self._cell(c, j): -1.0, self._cell(c, b): 1.0}, p)

    def did(self) -> dict[str, float]:
        p = self.practice.infer("log_did")["p_randomisation"]
        return self._get(self.fits.did, {self.d.did_cells.shape[1] - 1: 1.0}, p)


# --------------------------------------------------------------------------- assembly
def _tidy_row(term: str, rec: dict[str, float], scale: float, n: int, level: str,
              contrast: str, group: str = "kbz", year: float = np.nan) -> dict[str, Any]:
    est = scale * rec["estimate"]
    return {"term": term, "estimate": est, "std_error": est * rec["log_se"],
            "ci_lower": scale * rec["ci_lower"], "ci_upper": scale * rec["ci_upper"],
            "p_value": rec["p_value"], "n": n, "group": group, "year": year,
            "inference": level, "df": rec["df"], "p_randomisation": rec["p_randomisation"],
            "p_adjusted": np.nan, "contrast": contrast}


def _assemble(level: _PracticeLevel | _PersonLevel, d: _Design
              ) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]:
    """Tidy rows (DiD, event study, indices) and the ``rates``, ``index`` and
    ``event_study`` tables, all from one level of inference."""
    n_pers = np.bincount(d.group_year, minlength=d.n_group_years)
    events = np.bincount(d.group_year, weights=d.counts, minlength=d.n_group_years)
    exposure = np.bincount(d.group_year, weights=d.exposure, minlength=d.n_group_years)
    b, ny = d.base, d.n_years
    rates, index, index_rows = [], [], []
    for g, group in enumerate(cc.GROUPS):
        for j, y in enumerate(d.years):
            cell = g * ny + j
            r = level.rate(g, j)
            rates.append({"group": group, "year": y, "n_persons": int(n_pers[cell]),
                          "insured_years": float(exposure[cell]),
                          "dbc_count": int(events[cell]),
                          "rate_per_1000": 1000 * r["estimate"],
                          "ci_lower": 1000 * r["ci_lower"],
                          "ci_upper": 1000 * r["ci_upper"]})
            n_here = int(min(n_pers[cell], n_pers[g * ny + b]))
            if j == b:
                index.append({"group": group, "year": y, "index": 100.0, "ci_lower": 100.0,
                              "ci_upper": 100.0, "n_persons": n_here})
                continue
            row = _tidy_row(f"index_{group}_{y}", level.index(g, j), 100.0, n_here,
                            level.name, CONTRAST_WITHIN, group, y)
            index_rows.append(row)
            index.append({"group": group, "year": y, "index": row["estimate"],
                          "ci_lower": row["ci_lower"], "ci_upper": row["ci_upper"],
                          "n_persons": n_here})
    es_rows = [
        _tidy_row(f"event_study_{y}", level.event_study(j), 1.0,
                  int(min(n_pers[[j, b, ny + j, ny + b]])), level.name, CONTRAST_EFFECT,
                  year=y)
        for j, y in enumerate(d.years) if j != b
    ]
    for row, p_adj in zip(es_rows, holm([r["p_value"] for r in es_rows]), strict=True):
        row["p_adjusted"] = float(p_adj)
    event_study = pd.DataFrame([
        {"year": r["year"], "rate_ratio": r["estimate"], "ci_lower": r["ci_lower"],
         "ci_upper": r["ci_upper"], "p_value": r["p_value"], "p_adjusted": r["p_adjusted"],
         "p_randomisation": r["p_randomisation"], "n_persons": r["n"]} for r in es_rows])
    head = _tidy_row("did_rate_ratio", level.did(), 1.0, int(d.cp.n_persons), level.name,
                     CONTRAST_EFFECT)
    return ([head, *es_rows, *index_rows],
            {"rates": pd.DataFrame(rates), "index": pd.DataFrame(index),
             "event_study": event_study})


def _persons_only_row(person: _PersonLevel, d: _Design) -> dict[str, Any]:
    """The secondary row: the DiD with its person-clustered interval."""
    rec = dict(person.did(), p_randomisation=np.nan)
    return _tidy_row("did_rate_ratio_persons_only", rec, 1.0, int(d.cp.n_persons),
                     "person", CONTRAST_EFFECT)


# --------------------------------------------------------------------------- words
def _practice_message(cp: cc.ClaimsPanel, practice: cc.PracticeInference, inference: str,
                      p_rand: float) -> str | None:
    """The few-practices caveat that is true for the level of inference used."""
    impossible = impossible_message(practice.n_kbz, practice.n_control)
    if inference == "person":
        return cc.few_practices_message(cp, p_rand)
    if impossible:
        return impossible
    if min(practice.n_kbz, practice.n_control) >= cc.FEW_PRACTICES:
        return None
    return (
        f"Only {practice.n_kbz} KBZ and {practice.n_control} control practices: the "
        f"intervals and p-values are practice-level ({_METHOD_WORDS[practice.method]}, a "
        "method that holds with few clusters), so they are wide; with so few practices "
        "they still rest on the practices being comparable apart from KBZ.")


def _method_text(d: _Design, practice: cc.PracticeInference, inference: str,
                 alpha: float, p_rand: float) -> str:
    adjusted = d.adjust == "age_sex"
    level = f"{100 * (1 - alpha):g}%"
    text = (
        f"Poisson GLM (log link, offset log insured years) of {d.outcome} on person-years "
        f"({cc.describe_population(d.cp.population)}), years {list(d.years)}. "
        "Event-study model: one parameter per group × year"
        f"{' plus age band × sex main effects' if adjusted else ''}; index = rate(year)/"
        f"rate({d.years[d.base]}) × 100 per group — a within-group change (not an "
        "effect), since the control practices changed too; event-study rate ratio = "
        "ratio of the KBZ and control indices, KBZ vs control practices (a secondary "
        "family: Holm-adjusted p-values in p_adjusted). Pooled DiD: group + year + KBZ × "
        f"(year ≥ {d.start}) terms, rate ratio = exp(interaction), an intention-to-treat "
        "contrast of KBZ practices against control practices (the primary effect). "
        "Poisson with robust variances is chosen over a negative-binomial model, whose "
        "model-based variance is not robust to a wrong variance function. "
    )
    if inference == "practice":
        text += (
            practice.describe() + " Every estimate is recomputed from the practices' sums "
            "of DBCs and insured years per cell, without each practice in turn and under "
            "each relabelling; intervals are formed on the log scale and exponentiated. "
            "The row did_rate_ratio_persons_only gives the person-clustered (CR1) "
            f"interval: {cc.PERSONS_ONLY}.")
    else:
        text += (
            f"{level} intervals from the person-clustered sandwich variance (CR1; valid "
            "under any overdispersion and within-person correlation): "
            f"{cc.PERSONS_ONLY}. The practice-level randomisation test of the DiD over "
            f"{practice.n_assignments} relabellings of the practices gives "
            f"{format_p(p_rand)}.")
    return text + " The rates table is crude."


# --------------------------------------------------------------------------- helpers
def _start_year(cp: cc.ClaimsPanel, start_year: Any) -> int:
    if start_year is not None:
        if isinstance(start_year, bool) or not isinstance(start_year, (int, np.integer)):
            raise SpecificationError(
                f"The value for `start_year` must be a calendar year or None, but "
                f"{start_year!r} was passed.")
        return int(start_year)
    starts = cp.practices.loc[cp.practices["group"] == "kbz", "kbz_start_year"]
    starts = starts[np.isfinite(starts)]
    if starts.empty:
        raise SpecificationError(
            "`practices.kbz_start_year` is empty for every KBZ practice; pass "
            "`start_year` (the first year of KBZ) explicitly.")
    return int(starts.min())


def _did_design(yrs: Sequence[int], b: int, post: Sequence[int]) -> np.ndarray:
    """Cell design (group-year cells, KBZ first) of the pooled DiD: intercept, KBZ, year
    effects (base year left out), KBZ × post (last column)."""
    n_years = len(yrs)
    rows = []
    for g in (1, 0):
        for j, y in enumerate(yrs):
            year_fx = [1.0 if j == jj else 0.0 for jj in range(n_years) if jj != b]
            rows.append([1.0, float(g), *year_fx, float(g == 1 and y in post)])
    return np.asarray(rows)


__all__ = ["DbcIndexResult", "dbc_index"]
