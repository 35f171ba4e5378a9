"""Professionals (Aim 4): workload and job satisfaction over repeated staff surveys.

:func:`workforce_change` gives the mean of each measure per wave (overall, per location
and per role) with intervals, and the change from the first wave from a linear mixed
model with a random intercept per respondent (when respondents answer in several waves)
or per location (repeated cross-sections). With the ``practices`` table it also
compares KBZ and control practices: the change in each group and the difference
(KBZ − control), which is the effect estimate.

KBZ is assigned to practices, so by default (``inference="practice"``) every change is
inferred at the practice level: a cluster-robust variance of the mixed model's fixed
effects with practices as clusters, with a wild cluster bootstrap (default) or a t
reference on Bell–McCaffrey degrees of freedom (``practice_method="cr2"``).
``inference="person"`` gives the model-based intervals, labelled "persons only".
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

import numpy as np
import pandas as pd
import scipy.sparse
from scipy import stats
from scipy.sparse.csgraph import connected_components

from kbz_eval.errors import (
    DataValidationError,
    SpecificationError,
    StatisticalWarning,
    Violation,
)
from kbz_eval.estimators.cvg import RandomInterceptFit, fit_random_intercept, wald_contrasts
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats._linalg import Grouping
from kbz_eval.stats.options import (
    Inference,
    PracticeMethod,
    RandomIntercept,
    check_alpha,
    check_n_boot,
    check_option,
    check_seed,
)
from kbz_eval.stats.practice import PERSONS_ONLY, impossible_message, webb_weights
from kbz_eval.stats.pvalues import format_p
from kbz_eval.stats.sandwich import bell_mccaffrey_df, cr2_vcov
from kbz_eval.validation import validate

#: The measures of the ``workforce`` table.
MEASURES: tuple[str, ...] = ("workload", "job_satisfaction")

#: Group order when the practices table is given.
GROUPS: tuple[str, ...] = ("kbz", "control")

#: Default wild bootstrap replicates (with 12 or more practices all 2**G sign patterns
#: are used when that is fewer).
DEFAULT_N_BOOT = 9999

#: Suffix of the person-level secondary rows of the headline terms.
PERSONS_ONLY_SUFFIX = "_persons_only"


@dataclass(repr=False)
class WorkforceResult(Result):
    """Result of :func:`workforce_change`.

    ``tidy()`` rows: ``<measure>:change_wave_<k>_vs_<first>`` (all respondents) and,
    when ``practices`` was given, ``<measure>:change_wave_<k>_vs_<first>:<group>`` and
    ``<measure>:difference_wave_<k>:kbz-control`` (difference in change, KBZ minus
    control practices: the effect estimate). With ``inference="practice"`` (default)
    these rows are practice-level and each headline row (the differences; without
    ``practices`` the changes) has a secondary ``<term>_persons_only`` row with the
    person-level (model-based) interval. Extra columns ``measure``, ``wave``, ``group``,
    ``inference`` (``"practice"`` or ``"person"``) and ``df`` (t degrees of freedom of
    ``practice_method="cr2"``; NaN otherwise).

    ``tables``: ``means`` (measure × wave, and × group when given), ``means_by_location``
    (measure × wave × practice), ``means_by_role`` (measure × wave × role) — every one
    with ``n`` respondents and a t interval over respondents (descriptive) —, and
    ``variance_components`` per measure.
    """

    title: ClassVar[str] = "workforce: workload and job satisfaction"
    plotter: ClassVar[str | None] = "surveys:plot_workforce"

    def plot_data(self, *, measure: str | None = None) -> pd.DataFrame:
        """Mean per wave with its interval: one line per measure (× group).

        Parameters
        ----------
        measure
            Only this measure; default all measures analysed.

        Returns
        -------
        pandas.DataFrame
            Columns ``measure, group, wave, n, mean, ci_lower, ci_upper`` (``group`` is
            ``"all"`` without the practices table) and ``x``, the horizontal position:
            the wave, shifted a little per group so the intervals do not overlap.
        """
        means = self.tables["means"]
        if measure is not None:
            check_option("measure", measure, self.settings["measures"])
            means = means[means["measure"] == measure]
        out = means[["measure", "group", "wave", "n", "mean", "ci_lower",
                     "ci_upper"]].reset_index(drop=True)
        groups = list(pd.unique(out["group"]))
        shift = {g: (i - (len(groups) - 1) / 2) * 0.06 for i, g in enumerate(groups)}
        out["x"] = out["wave"].astype(float) + out["group"].map(shift).astype(float)
        return out

    def plot(self, ax: Any = None, *, measure: str | None = None,
             language: str = "en") -> Any:
        """Draw the means per wave (one measure, or every measure) and return the Axes;
        ``language`` (``"en"`` or ``"nl"``) is the language of the labels."""
        from kbz_eval.plotting.surveys import plot_workforce

        return plot_workforce(self, ax=ax, measure=measure, language=language)

    def headline(self) -> str:
        """The effect per measure at the last wave, with its interval and p-value.

        With the practices table: the difference in change, KBZ minus control
        practices (never the change at KBZ practices alone); without it: the change of
        all respondents, said to have no comparison group.
        """
        s = self.settings
        est = self.estimates
        first, last = min(s["waves"]), max(s["waves"])
        level = f"{100 * (1 - s.get('alpha', 0.05)):g}%"
        main = est[~est["term"].str.endswith(PERSONS_ONLY_SUFFIX) & (est["wave"] == last)]
        if s["by_group"]:
            main = main[main["group"] == "kbz − control"]
            lead = (f"KBZ − control practices, difference in change wave {last} vs {first} "
                    "(KBZ practices against control practices)")
        else:
            lead = (f"Change wave {last} vs {first}, all respondents (no comparison "
                    "group)")
        parts = []
        for _, r in main.iterrows():
            if np.isfinite(r["ci_lower"]) and np.isfinite(r["ci_upper"]):
                ci = (f"{level} CI {r['ci_lower']:+.2f} to {r['ci_upper']:+.2f}, "
                      f"{format_p(r['p_value'])}")
            else:
                ci = "no practice-level interval: too few practices"
            parts.append(f"{r['measure']} {r['estimate']:+.2f} ({ci})")
        how = (f"practice-level inference, {s['practice_method_words']}"
               if s["inference"] == "practice" else PERSONS_ONLY)
        return (f"{lead}: " + "; ".join(parts)
                + f" ({how}; random intercept per {s['random_intercept']})")


def _fail(column: str, rule: str, detail: str) -> NoReturn:
    raise DataValidationError("workforce", "workforce", [Violation(column, rule,
                                                                   detail=detail)])


# --------------------------------------------------------------------------- input
def _check_measures(measures: str | Sequence[str]) -> list[str]:
    wanted = [measures] if isinstance(measures, str) else list(measures)
    if not wanted:
        raise SpecificationError("`measures` must name at least one measure.")
    for m in wanted:
        check_option("measures", m, MEASURES)
    return wanted


def _prepare(workforce: pd.DataFrame, practices: pd.DataFrame | None,
             wanted: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Validated rows with a ``group`` column (``"all"`` without ``practices``), waves."""
    refs = {"practices": practices} if practices is not None else None
    data = validate(workforce, "workforce", source="workforce", references=refs).data
    if data.empty:
        _fail("wave", "no rows", "The workforce table has no rows.")
    waves = np.sort(np.unique(data["wave"].to_numpy()))
    gaps = sorted(set(range(1, int(waves.max()) + 1)) - set(waves.tolist()))
    if gaps:
        _fail("wave", "wave without respondents",
              f"Wave(s) {gaps} have no respondents while later waves do; waves must be "
              "numbered 1, 2, ... without gaps. Add the missing wave or renumber.")
    if waves.size < 2:
        raise SpecificationError("A change over the waves needs at least two waves; only "
                                 f"wave {int(waves[0])} is present.")
    for m in wanted:
        answered = data.dropna(subset=[m])["wave"].unique()
        empty = sorted(set(waves.tolist()) - set(answered.tolist()))
        if empty:
            _fail(m, "wave without respondents",
                  f"Nobody answered `{m}` in wave(s) {empty}; the change over the waves "
                  "cannot be estimated. Leave the measure out or the wave.")
    if practices is None:
        return data.assign(group="all"), waves
    prac = validate(practices, "practices", source="practices").data
    data = data.merge(prac[["practice_id", "group"]].astype({"group": str}),
                      on="practice_id", how="left", validate="many_to_one")
    present = set(data["group"].unique())
    if present != set(GROUPS):
        raise SpecificationError(
            "Comparing groups needs respondents at both kbz and control practices; "
            f"found only {sorted(present)}."
        )
    return data, waves


# --------------------------------------------------------------------------- model
@dataclass(frozen=True)
class _Options:
    inference: str
    practice_method: str
    alpha: float
    n_boot: int
    seed: int | None


@dataclass(frozen=True)
class _Contrast:
    """One tidy row: a linear combination of the fixed effects."""

    term: str
    vector: np.ndarray
    wave: int
    group: str  # "all", "kbz", "control" or "kbz − control"
    n: int
    headline: bool  # gets a persons-only secondary row


def _design(sub: pd.DataFrame, waves: np.ndarray, by_group: bool) -> tuple[np.ndarray,
                                                                            list[str]]:
    """``measure ~ C(wave) (* group)``: intercept, wave dummies (and KBZ terms)."""
    wave = sub["wave"].to_numpy()
    later = [int(k) for k in waves[1:]]
    cols = {"intercept": np.ones(len(sub))}
    cols.update({f"wave_{k}": (wave == k).astype(float) for k in later})
    if by_group:
        kbz = (sub["group"] == "kbz").to_numpy(dtype=float)
        cols["kbz"] = kbz
        cols.update({f"kbz:wave_{k}": kbz * (wave == k) for k in later})
    return np.column_stack(list(cols.values())), list(cols)


def _contrasts(sub: pd.DataFrame, measure: str, waves: np.ndarray, names: list[str],
               by_group: bool) -> list[_Contrast]:
    """The change per wave (per group) and the difference in change, by name."""
    first = int(waves[0])

    def vec(*terms: str) -> np.ndarray:
        out = np.zeros(len(names))
        out[[names.index(t) for t in terms]] = 1.0
        return out

    wave = sub["wave"].to_numpy()
    group_of = sub["group"].to_numpy() if by_group else None

    def n_at(k: int, group: str | None = None) -> int:
        mask = wave == k
        if group is not None:
            mask &= group_of == group
        return int(mask.sum())

    out = []
    for k in (int(w) for w in waves[1:]):
        change = f"{measure}:change_wave_{k}_vs_{first}"
        if not by_group:
            out.append(_Contrast(change, vec(f"wave_{k}"), k, "all", n_at(k), True))
            continue
        out += [
            _Contrast(f"{change}:kbz", vec(f"wave_{k}", f"kbz:wave_{k}"), k, "kbz",
                      n_at(k, "kbz"), False),
            _Contrast(f"{change}:control", vec(f"wave_{k}"), k, "control",
                      n_at(k, "control"), False),
            _Contrast(f"{measure}:difference_wave_{k}:kbz-control", vec(f"kbz:wave_{k}"), k,
                      "kbz − control", n_at(k), True),
        ]
    return out


# --------------------------------------------------------------------------- practices
@dataclass
class _PracticeModel:
    """The fitted mixed model whitened by its own covariance; practices are clusters.

    Rows ``y - θ_g ȳ_g`` (and the same for ``X``) with ``θ_g = 1 - sqrt(σ² / (σ² + m_g
    τ²))`` have independent errors of equal variance under the fitted random-intercept
    model, and OLS on them is the model's GLS (REML) estimate.
    """

    xw: np.ndarray
    residuals: np.ndarray
    cluster: np.ndarray  # codes 0..G-1
    n_clusters: int
    merged: bool  # practices joined because respondents moved between them
    vcov: np.ndarray  # CR2
    adjustments: list


def _practice_clusters(groups: np.ndarray, practice: np.ndarray) -> tuple[np.ndarray, int,
                                                                           bool]:
    """Practices as clusters, joined where a random-intercept group spans several
    (a respondent who moved): a cluster must hold whole groups."""
    g_codes, g_labels = pd.factorize(groups)
    p_codes, p_labels = pd.factorize(practice)
    n_g, n_p = len(g_labels), len(p_labels)
    graph = scipy.sparse.coo_array(
        (np.ones(len(g_codes)), (g_codes, n_g + p_codes)), shape=(n_g + n_p, n_g + n_p))
    _, component = connected_components(graph, directed=False)
    codes, labels = pd.factorize(component[n_g + p_codes])
    return codes, len(labels), len(labels) < n_p


def _practice_model(fit: RandomInterceptFit, y: np.ndarray, x: np.ndarray,
                    groups: np.ndarray, practice: np.ndarray) -> _PracticeModel:
    codes, labels = pd.factorize(groups)
    by_group = Grouping(codes, len(labels))
    tau2, sigma2 = max(fit.group_var, 0.0), max(fit.residual_var, 0.0)
    total = sigma2 + by_group.counts * tau2
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(total > 0, 1.0 - np.sqrt(sigma2 / total), 0.0)[codes]
    xw = x - theta[:, None] * by_group.means(x)[codes]
    yw = y - theta * by_group.means(y)[codes]
    residuals = yw - xw @ fit.params
    cluster, n_clusters, merged = _practice_clusters(groups, practice)
    vcov, adjustments = cr2_vcov(xw, residuals, cluster)
    return _PracticeModel(xw=xw, residuals=residuals, cluster=cluster,
                          n_clusters=n_clusters, merged=merged, vcov=vcov,
                          adjustments=adjustments)


def _wild_t(model: _PracticeModel, contrasts: np.ndarray, t_obs: np.ndarray,
            opts: _Options) -> tuple[np.ndarray, np.ndarray]:
    """Wild cluster bootstrap-t of each contrast: quantile of ``|t*|`` and the p-value.

    One Webb weight per practice multiplies its whitened residuals; every replicate is
    studentised by its own CR2 variance. Nothing is refitted: with ``u = w ∘ e``, the
    replicate's contrast is ``h'u`` (``h = X(X'X)^-1 c``) and its CR2 score for cluster
    ``g`` is ``(M p̃_g)'u`` (``p̃_g = A_g X_g (X'X)^-1 c`` on the rows of ``g``), so both
    are ``(B × G)`` products with per-cluster sums.
    """
    xw, e = model.xw, model.residuals
    bread = np.linalg.pinv(xw.T @ xw)
    member = np.zeros((len(e), model.n_clusters))
    member[np.arange(len(e)), model.cluster] = 1.0
    weights = webb_weights(opts.n_boot, model.n_clusters, opts.seed)
    h = xw @ bread @ contrasts.T
    numerators = weights @ (member.T @ (e[:, None] * h))
    quantiles, p_values = np.full(len(contrasts), np.nan), np.full(len(contrasts), np.nan)
    for j, c in enumerate(contrasts):
        p_tilde = np.zeros(len(e))
        for rows, a in model.adjustments:
            p_tilde[rows] = a @ (xw[rows] @ (bread @ c))
        by_cluster = member * p_tilde[:, None]
        r = by_cluster - xw @ (bread @ (xw.T @ by_cluster))
        scores = weights @ (member.T @ (e[:, None] * r))
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = np.abs(numerators[:, j]) / np.sqrt(np.sum(scores**2, axis=1))
        t_star = t_star[np.isfinite(t_star)]
        if t_star.size and np.isfinite(t_obs[j]):
            quantiles[j] = np.quantile(t_star, 1 - opts.alpha, method="higher")
            exceed = np.count_nonzero(t_star >= abs(t_obs[j]) - 1e-12)
            p_values[j] = min(1.0, (1 + exceed) / (1 + t_star.size))
    return quantiles, p_values


def _practice_rows(model: _PracticeModel, fit: RandomInterceptFit, contrasts: np.ndarray,
                   opts: _Options) -> list[dict[str, float]]:
    """Practice-level estimate, standard error, interval, p-value and df per contrast.

    The standard error is the CR2 one, but never below the model-based one: under the
    random-intercept model the practices add nothing, so the variance of a contrast is
    at least the model-based variance; a smaller CR2 estimate is sampling noise of a
    variance estimated from a dozen practices.
    """
    est = contrasts @ fit.params
    var_cr2 = np.einsum("ij,jk,ik->i", contrasts, model.vcov, contrasts)
    var_model = np.einsum("ij,jk,ik->i", contrasts, fit.cov, contrasts)
    se = np.sqrt(np.maximum(var_cr2, var_model))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_obs = np.where(se > 0, est / se, np.nan)
    if opts.practice_method == "cr2":
        df = np.array([bell_mccaffrey_df(model.xw, c, model.adjustments) for c in contrasts])
        q = stats.t.ppf(1 - opts.alpha / 2, df)
        p = 2 * stats.t.sf(np.abs(t_obs), df)
    else:
        q, p = _wild_t(model, contrasts, t_obs, opts)
        df = np.full(len(contrasts), np.nan)
    return [
        {"estimate": est[j], "std_error": se[j], "ci_lower": est[j] - q[j] * se[j],
         "ci_upper": est[j] + q[j] * se[j], "p_value": p[j], "df": df[j],
         "se_cr2": np.sqrt(max(var_cr2[j], 0.0)), "se_model": np.sqrt(var_model[j])}
        for j in range(len(contrasts))
    ]


def _impossible(sub: pd.DataFrame, by_group: bool) -> str | None:
    """Why practice-level inference cannot be done for these rows (or ``None``)."""
    if by_group:
        n = sub.groupby("group")["practice_id"].nunique()
        return impossible_message(int(n.get("kbz", 0)), int(n.get("control", 0)))
    if sub["practice_id"].nunique() < 2:
        return ("Practice-level inference is impossible with one practice: variation "
                "between practices cannot be estimated, so no practice-level interval or "
                "p-value is given (NaN).")
    return None


# --------------------------------------------------------------------------- rows
def _change_rows(sub: pd.DataFrame, measure: str, waves: np.ndarray, group_col: str,
                 by_group: bool, opts: _Options) -> tuple[list[dict[str, Any]],
                                                          RandomInterceptFit, list[str]]:
    """Fit the change model of one measure; its tidy rows, the fit and any notes.

    Tidy rows carry ``se_cr2`` and ``se_model`` on the practice-level rows (moved to the
    ``practice_variance`` table by the caller).
    """
    y = sub[measure].to_numpy(dtype=float)
    x, names = _design(sub, waves, by_group)
    groups = sub[group_col].to_numpy()
    fit = fit_random_intercept(y, x, groups, names=names)
    specs = _contrasts(sub, measure, waves, names, by_group)
    matrix = np.vstack([s.vector for s in specs])
    person = wald_contrasts(fit, matrix, alpha=opts.alpha).to_dict("records")
    notes: list[str] = []
    practice: list[dict[str, float]] = []
    if opts.inference == "practice":
        reason = _impossible(sub, by_group)
        if reason is None:
            model = _practice_model(fit, y, x, groups, sub["practice_id"].to_numpy())
            practice = _practice_rows(model, fit, matrix, opts)
            if model.merged:
                notes.append(
                    f"{measure}: some respondents answered at more than one practice; "
                    "their practices form one cluster for the practice-level inference.")
        else:
            notes.append(f"{measure}: {reason}")
            practice = [{"estimate": float(v @ fit.params), "std_error": np.nan,
                         "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan,
                         "df": np.nan} for v in matrix]
    rows: list[dict[str, Any]] = []
    for j, spec in enumerate(specs):
        base = {"term": spec.term, "n": spec.n, "measure": measure, "wave": spec.wave,
                "group": spec.group}
        person_row = {**base, **person[j], "df": np.nan, "inference": "person"}
        if opts.inference == "person":
            rows.append(person_row)
            continue
        rows.append({**base, **practice[j], "inference": "practice"})
        if spec.headline:
            rows.append({**person_row, "term": spec.term + PERSONS_ONLY_SUFFIX})
    return rows, fit, notes


def _means(data: pd.DataFrame, measures: list[str], keys: list[str],
           alpha: float) -> pd.DataFrame:
    """Mean with t interval and ``n`` for each measure and cell of ``keys``.

    The numbers of :func:`~kbz_eval.estimators.proportions.mean_interval` on each cell
    (the same numpy reductions on the same values, in the rows' order), the cells of
    ``data.groupby(keys, sort=True)`` in its order (rows with a missing key left out),
    found by factorising the keys once for every measure; one vectorised t quantile.
    """
    codes, uniques = zip(*(pd.factorize(data[k].to_numpy(), sort=True) for k in keys),
                         strict=True)
    keep = np.flatnonzero(np.all(np.vstack(codes) >= 0, axis=0))
    sizes = [len(u) for u in uniques]
    flat = np.ravel_multi_index([c[keep] for c in codes], sizes)
    cells, inverse = np.unique(flat, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    rows_in_order = keep[order]
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    labels = [u[c] for u, c in zip(uniques, np.unravel_index(cells, sizes), strict=True)]
    out: dict[str, list[Any]] = {c: [] for c in ["measure", *keys, "n", "mean", "sd"]}
    for m in measures:
        values = data[m].to_numpy(dtype=float)[rows_in_order]
        for j, x in enumerate(np.split(values, bounds)):
            x = x[~np.isnan(x)]
            if x.size == 0:
                continue
            out["measure"].append(m)
            for k, lab in zip(keys, labels, strict=True):
                out[k].append(lab[j])
            out["n"].append(x.size)
            out["mean"].append(float(x.mean()))
            out["sd"].append(float(x.std(ddof=1)) if x.size > 1 else np.nan)
    frame = pd.DataFrame(out)
    n = frame["n"].to_numpy()
    frame["std_error"] = frame["sd"] / np.sqrt(n)
    with np.errstate(invalid="ignore"):
        half = stats.t.ppf(1 - alpha / 2, np.where(n > 1, n - 1, np.nan)) * frame["std_error"]
    frame["ci_lower"] = frame["mean"] - half
    frame["ci_upper"] = frame["mean"] + half
    frame["n"] = frame["n"].astype("int64")
    frame["wave"] = frame["wave"].astype("int64")
    return frame


def _practice_words(data: pd.DataFrame, opts: _Options) -> str:
    """The practice-level method in a few words (for the headline and method)."""
    n = data.groupby("group")["practice_id"].nunique()
    who = (f"{int(n.get('kbz', 0))} KBZ and {int(n.get('control', 0))} control practices"
           if "kbz" in n.index else f"{data['practice_id'].nunique()} practices")
    if opts.practice_method == "cr2":
        return (f"CR2 cluster-robust by practice ({who}), t with Bell–McCaffrey degrees "
                "of freedom")
    return f"wild cluster bootstrap-t over practices ({who}; Webb weights)"


def _method_text(*, by_group: bool, chosen: str, label: str, opts: _Options,
                 words: str) -> str:
    text = (
        "Means per wave (and location, role, group) over the respondents who answered, "
        "Student-t intervals (descriptive). Change from the first wave: fixed effect of "
        "the wave in a linear mixed model measure ~ C(wave)"
        f"{' * group' if by_group else ''} + (1 | {chosen}), REML (profiled "
        f"likelihood; statsmodels MixedLM as fallback); random intercept per {label}."
    )
    if by_group:
        text += (" The effect estimate is the difference in change, KBZ practices minus "
                 "control practices (the comparison group); the change per group is a "
                 "within-group change, not an effect. All are linear contrasts of the "
                 "fixed effects.")
    if opts.inference == "person":
        return text + (f" Intervals: Wald z from the model's covariance — {PERSONS_ONLY} "
                       "(respondents in one practice share its circumstances).")
    text += (
        f" Inference at the practice level, the unit KBZ is assigned to: {words}. The "
        "variance of the fixed effects is the CR2 cluster-robust sandwich with practices "
        "as clusters (Bell & McCaffrey 2002), computed on the model whitened by its own "
        "fitted covariance, so it is unbiased when the random-intercept model holds and "
        "stays valid when practices differ in ways the model ignores (practice-specific "
        "changes, which move the KBZ − control contrast); the standard error is never "
        "taken below the model-based one, the variance if practices added nothing "
        "(table 'practice_variance' shows both). A random intercept per practice would "
        "not do: it absorbs practice levels, not practice-specific changes, and a random "
        "slope per practice is not estimable with a handful of practices. "
    )
    if opts.practice_method == "cr2":
        text += ("Intervals and p-values: t with Bell–McCaffrey (Satterthwaite) degrees "
                 "of freedom (Imbens & Kolesár 2016; Pustejovsky & Tipton 2018), which "
                 "keep the test near its level with few practices.")
    else:
        text += (f"Intervals and p-values: wild cluster bootstrap-t ({opts.n_boot} "
                 "replicates, one Webb six-point weight per practice on the whitened "
                 "residuals, studentised by the CR2 variance in every replicate); "
                 "symmetric interval estimate ± q·SE with q the bootstrap quantile of "
                 "|t*|, p = (1 + #{|t*| ≥ |t|}) / (1 + B).")
    return text + (f" Rows ending in {PERSONS_ONLY_SUFFIX!r}: the model-based Wald z "
                   f"interval — {PERSONS_ONLY}.")


def _changes(data: pd.DataFrame, wanted: list[str], waves: np.ndarray, chosen: str,
             by_group: bool, opts: _Options) -> tuple[pd.DataFrame, pd.DataFrame,
                                                      list[str]]:
    """The change rows of every measure, the variance components and the warnings."""
    group_col = "respondent_id" if chosen == "respondent" else "practice_id"
    messages: list[str] = []
    tidy_rows: list[dict[str, Any]] = []
    components = []
    for m in wanted:
        sub = data.dropna(subset=[m])
        rows, fit, notes = _change_rows(sub, m, waves, group_col, by_group, opts)
        tidy_rows += rows
        if not fit.converged:
            messages.append(f"{m}: the mixed model did not converge; its estimates are "
                            "unreliable.")
        messages += [f"{m}: mixed model: {t}" for t in fit.messages] + notes
        total = fit.group_var + fit.residual_var
        components.append({"measure": m, "random_intercept": chosen,
                           "between_var": fit.group_var, "within_var": fit.residual_var,
                           "between_share": fit.group_var / total if total > 0 else np.nan,
                           "n_groups": fit.n_groups, "n": fit.n_obs})
    estimates = tidy_frame(tidy_rows)
    estimates["wave"] = estimates["wave"].astype("int64")
    return estimates, pd.DataFrame(components), messages


def _split_variance(estimates: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Move the CR2 and model-based standard errors of the practice-level rows from the
    tidy frame to their own table (``None`` without practice-level rows)."""
    if "se_cr2" not in estimates.columns:
        return estimates, None
    rows = estimates["inference"] == "practice"
    table = estimates.loc[rows, ["term", "measure", "wave", "group", "se_cr2", "se_model",
                                 "std_error", "df", "n"]].reset_index(drop=True)
    table["model_floor_used"] = table["se_model"] > table["se_cr2"]
    return estimates.drop(columns=["se_cr2", "se_model"]), table


# --------------------------------------------------------------------------- front door
def _group_counts(data: pd.DataFrame, by_group: bool) -> dict[str, int]:
    """Number of KBZ and control practices with respondents (when groups are known)."""
    if not by_group:
        return {}
    per = data.drop_duplicates("practice_id")["group"].value_counts()
    return {"n_practices_kbz": int(per.get("kbz", 0)),
            "n_practices_control": int(per.get("control", 0))}


def workforce_change(
    workforce: pd.DataFrame,
    *,
    measures: str | Sequence[str] = MEASURES,
    practices: pd.DataFrame | None = None,
    random_intercept: RandomIntercept = "auto",
    inference: Inference = "practice",
    practice_method: PracticeMethod = "wild",
    alpha: float = 0.05,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | None = 0,
) -> WorkforceResult:
    """Workload and job satisfaction per wave, and their change over the waves.

    Parameters
    ----------
    workforce
        The ``workforce`` table (``respondent_id, practice_id, wave, role, workload,
        job_satisfaction``; see :data:`kbz_eval.tables.WORKFORCE`). Not changed.
    measures
        Which measures: ``"workload"``, ``"job_satisfaction"`` or both (default).
    practices
        The ``practices`` table; when given, every result is also split by group
        (``kbz``/``control``) and the difference in change between the groups is
        estimated.
    random_intercept
        ``"respondent"`` (repeated respondents), ``"location"`` (repeated
        cross-sections: a random intercept per practice) or ``"auto"`` (default:
        ``"respondent"`` when any respondent answered in more than one wave, else
        ``"location"``).
    inference
        ``"practice"`` (default): intervals and p-values of the changes at the
        practice level, the unit KBZ is assigned to; ``"person"``: the mixed model's
        Wald intervals — persons only, ignoring variation between practices.
    practice_method
        ``"wild"`` (default): wild cluster bootstrap over practices; ``"cr2"``: t with
        Bell–McCaffrey degrees of freedom. Both use the CR2 variance (see Notes).
    alpha
        ``1 - alpha`` is the coverage of every interval.
    n_boot
        Wild bootstrap replicates (default 9999, at least 99).
    seed
        Seed of the wild bootstrap weights.

    Returns
    -------
    WorkforceResult
        Means per wave, location and role with ``n``; changes from the first wave;
        ``headline()`` gives the difference KBZ − control; ``.plot(measure=...)``
        draws one figure per measure.

    Raises
    ------
    DataValidationError
        If the table breaks its contract (a mark outside 1–10, a duplicate
        respondent × wave, a practice missing from ``practices``, ...), has no rows, a
        wave without respondents (waves must be numbered 1, 2, ... without gaps) or a
        wave in which nobody answered a measure.
    SpecificationError
        For an unknown measure, ``random_intercept``, ``inference`` or
        ``practice_method``, only one wave, or an invalid ``alpha``, ``n_boot`` or
        ``seed``.

    Warns
    -----
    StatisticalWarning
        When the mixed model does not converge, or practice-level inference is
        impossible (one practice in a group): its interval and p-value are then NaN.

    Notes
    -----
    **Estimate.** Means per wave (and location, role, group) are over the respondents
    who answered that measure, with Student-t intervals (descriptive). The change from
    the first wave to wave ``k`` is the fixed effect of wave ``k`` in the linear mixed
    model ``measure ~ C(wave) + (1 | respondent)`` (or ``(1 | practice)``) fitted by
    REML (statsmodels ``MixedLM``'s solution, :func:`~kbz_eval.estimators.cvg.
    fit_random_intercept`). With ``practices`` the model is
    ``measure ~ C(wave) * group + (1 | ...)``; the change per group and the
    **difference in change, KBZ minus control practices** — the effect estimate — are
    linear contrasts of its fixed effects.

    **Variance at the practice level** (default). The KBZ − control difference is a
    comparison of practices, so its uncertainty is set by the number of practices,
    not respondents. The variance of the fixed effects is the CR2 cluster-robust
    sandwich with practices as clusters (Bell & McCaffrey 2002), computed on the
    model whitened by its fitted covariance (rows ``y − θ_g ȳ_g``, ``θ_g = 1 −
    sqrt(σ²/(σ² + m_g τ²))``, on which OLS reproduces the REML estimate): unbiased when
    the random-intercept model holds, and still valid when practices differ in ways
    it ignores (practice-specific changes over the waves — exactly what moves the
    KBZ − control contrast). Intervals and p-values come from a restricted wild
    cluster bootstrap over practices (``"wild"``, test inversion; MacKinnon & Webb
    2017) or a t reference with Bell–McCaffrey degrees of freedom (``"cr2"``; Imbens &
    Kolesár 2016, Pustejovsky & Tipton 2018); both keep tests near their level with
    6 + 6 practices. A random intercept per practice is not an alternative: it
    absorbs differences in level between practices but not in change, and a random
    slope per practice cannot be estimated stably from a handful of practices.
    Respondents who answered at several practices join those practices into one
    cluster. ``inference="person"`` gives the model-based Wald z intervals, which
    treat respondents as the only source of variation.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> s = kbz.load_sample()                                       # doctest: +SKIP
    >>> kbz.workforce_change(s["workforce"], practices=s["practices"])  # doctest: +SKIP
    """
    opts = _Options(
        inference=check_option("inference", inference),
        practice_method=check_option("practice_method", practice_method),
        alpha=check_alpha(alpha), n_boot=check_n_boot(n_boot, default=DEFAULT_N_BOOT),
        seed=check_seed(seed),
    )
    wanted = _check_measures(measures)
    check_option("random_intercept", random_intercept)
    data, waves = _prepare(workforce, practices, wanted)
    by_group = practices is not None
    repeated = bool(data.groupby("respondent_id").size().max() > 1)
    chosen = random_intercept
    if chosen == "auto":
        chosen = "respondent" if repeated else "location"

    estimates, components, messages = _changes(data, wanted, waves, chosen, by_group, opts)
    estimates, practice_variance = _split_variance(estimates)
    for text in messages:
        warnings.warn(text, StatisticalWarning, stacklevel=2)
    label = {"respondent": "respondent (repeated respondents)",
             "location": "location (practice; repeated cross-sections)"}[chosen]
    words = _practice_words(data, opts)
    return WorkforceResult(
        estimates=estimates,
        tables={"means": _means(data, wanted, ["group", "wave"], opts.alpha),
                "means_by_location": _means(data, wanted, ["wave", "practice_id"],
                                            opts.alpha),
                "means_by_role": _means(data, wanted, ["wave", "role"], opts.alpha),
                "variance_components": components,
                **({"practice_variance": practice_variance}
                   if practice_variance is not None else {})},
        method=_method_text(by_group=by_group, chosen=chosen, label=label, opts=opts,
                            words=words),
        settings={"measures": wanted, "waves": [int(w) for w in waves],
                  "random_intercept": chosen, "repeated_respondents": repeated,
                  "by_group": by_group, "alpha": opts.alpha, "inference": opts.inference,
                  "practice_method": opts.practice_method, "practice_method_words": words,
                  "n_boot": opts.n_boot, "seed": opts.seed,
                  "n_practices": int(data["practice_id"].nunique()),
                  **_group_counts(data, by_group)},
        warnings=messages,
    )
