"""Difference-in-differences for any panel: ``kbz.did``.

Two-way fixed effects (unit and time effects) with a single treatment start. Inference is
cluster-robust at the level at which treatment is assigned (by default: the ``assignment``
column when given, else the unit) — CR1 with a t(G − 1) reference or CR2 with
Bell–McCaffrey (Satterthwaite) degrees of freedom — and, when there are few clusters, a
restricted wild cluster bootstrap, which then leads the headline. A cluster finer than the
treatment assignment draws a warning. Staggered adoption is refused: the two-way
fixed-effects coefficient is then not an average treatment effect.

Layout: :func:`did` (the front door) validates once at the boundary, builds an internal
:class:`_Panel` of integer codes and float arrays in a canonical order, :func:`_fit`
does the point estimate, :func:`_analytic` the cluster sandwich (through
:mod:`kbz_eval.stats.sandwich`), :func:`_wild` the bootstrap (:mod:`kbz_eval.stats.wild`)
and :class:`DiDResult` is what the caller gets back.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats._linalg import (
    COLLINEARITY_TOL,
    Grouping,
    demeaned_period_dummies,
    independent_columns,
    ols_qr,
    relative_residual_norm,
    residualize,
)
from kbz_eval.stats.options import (
    Sandwich,
    WildBootstrap,
    check_alpha,
    check_n_boot,
    check_option,
    check_seed,
)
from kbz_eval.stats.pvalues import format_p
from kbz_eval.stats.sandwich import bell_mccaffrey_df, cr1_factor, cr2_vcov
from kbz_eval.stats.wild import (
    WEBB_BELOW,
    WildBootstrapResult,
    wild_cluster_bootstrap,
)

#: Default number of wild bootstrap replicates.
DEFAULT_N_BOOT = 9999

#: Units or clusters listed by name in an error message before "...".
_SHOW = 5


# --------------------------------------------------------------------------- result
class DiDResult(Result):
    """Result of :func:`did`: the two-way fixed-effects difference-in-differences.

    ``tidy()`` rows: ``att`` (cluster-robust inference, CR1 or CR2 as chosen by
    ``vcov``) and, when the wild cluster bootstrap ran, ``att_wild_bootstrap`` (same
    estimate, bootstrap p-value and interval, no standard error; it leads the
    headline). Extra columns: ``df`` (degrees of freedom of the t reference: G − 1 for
    CR1, Bell–McCaffrey for CR2; NaN for the bootstrap), ``n_clusters``,
    ``n_treated_units``, ``n_control_units``.

    ``tables``: ``group_means`` (mean outcome by group × pre/post), ``group_means_by_time``
    (mean outcome by group × period; what :meth:`plot` draws) and ``coefficients`` (the
    treatment and any covariates with the chosen cluster-robust inference).
    """

    title = "difference-in-differences (two-way fixed effects)"
    plotter = "did:plot_did"

    def plot_data(self) -> pd.DataFrame:
        """Mean outcome of the treated and the control group in every period.

        Columns ``time, group, mean_outcome, n_obs, n_units, post``; the treatment start
        is ``settings["treatment_start"]`` (the first period with ``post`` true).
        """
        return self.tables["group_means_by_time"].copy()

    def summary(self) -> pd.DataFrame:
        """The estimate(s) with their inference method, rounded for reading."""
        tidy = self.tidy()
        keep = ["term", "estimate", "std_error", "ci_lower", "ci_upper", "p_value", "df",
                "n", "n_clusters", "n_treated_units", "n_control_units"]
        out = tidy[keep].copy()
        att_df = tidy.loc[tidy["term"] == "att", "df"]
        df_text = f"{att_df.iloc[0]:.3g}" if len(att_df) else "?"
        inference = {
            "att": f"{self.settings.get('vcov', 'CR1')} cluster-robust SE by "
                   f"{_fmt(self.settings.get('cluster'))}, t({df_text})",
            "att_wild_bootstrap": "wild cluster bootstrap (WCR), test inversion",
        }
        out["inference"] = out["term"].map(inference).fillna("")
        numeric = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value", "df"]
        out[numeric] = out[numeric].round(4)
        return out

    def headline(self) -> str:
        """One sentence: the estimate with the interval and p-value that lead.

        The wild cluster bootstrap leads when it ran (few clusters); the cluster-robust
        t interval follows as a secondary. Both name the clusters.
        """
        s = self.settings
        est = self.estimates.set_index("term")
        level = f"{100 * (1 - s.get('alpha', 0.05)):g}%"
        att = est.loc["att"]
        g = int(att["n_clusters"])
        clusters = f"{g} clusters of {_fmt(s.get('cluster'))}"
        analytic = (
            f"{s.get('vcov', 'CR1')} cluster-robust, t({att['df']:.3g}): {level} CI "
            f"{att['ci_lower']:.4g} to {att['ci_upper']:.4g}, {format_p(att['p_value'])}"
        )
        text = (
            f"ATT of {_fmt(s.get('treatment'))} on {_fmt(s.get('outcome'))} "
            f"= {att['estimate']:.4g} "
        )
        if "att_wild_bootstrap" in est.index:
            wb = est.loc["att_wild_bootstrap"]
            return text + (
                f"({level} CI {wb['ci_lower']:.4g} to {wb['ci_upper']:.4g}, "
                f"{format_p(wb['p_value'])}; wild cluster bootstrap over {clusters}); "
                f"{analytic}"
            )
        return text + f"({analytic}; {clusters})"


# --------------------------------------------------------------------------- internals
@dataclass
class _Panel:
    """Validated data as arrays in canonical order (see :func:`_canonical_order`)."""

    y: np.ndarray
    d: np.ndarray
    x: np.ndarray  # (n, n_covariates)
    unit: np.ndarray
    time: np.ndarray
    cluster: np.ndarray
    n_units: int
    n_times: int
    n_clusters: int
    time_levels: pd.Index
    treated_unit: np.ndarray  # bool per unit code
    start: int  # time code of the treatment start
    units_nested: bool
    times_nested: bool
    level: _Level


@dataclass(frozen=True)
class _Level:
    """Where treatment is assigned and which clusters the variance uses."""

    assignment: Hashable  # column of the treatment-assignment level (unit by default)
    cluster: Hashable  # column of the clusters
    cluster_default: bool  # cluster not given: the assignment level
    n_groups: int  # assignment groups
    n_split: int  # assignment groups whose rows fall in more than one cluster


@dataclass
class _Fit:
    coef: np.ndarray  # treatment first, then covariates
    vcov: np.ndarray  # CR1, same order
    n_obs: int
    k_dof: int
    small_sample: float
    design: np.ndarray
    inverse_gram: np.ndarray
    residuals: np.ndarray
    partialled_regressor: np.ndarray
    partialled_response: np.ndarray
    clusters: Grouping


@dataclass
class _Analytic:
    """Cluster-robust inference for the slope coefficients (treatment first)."""

    vcov: str  # "CR1" or "CR2"
    se: np.ndarray
    df: np.ndarray  # t reference per coefficient
    crit: np.ndarray  # t quantile at 1 - alpha/2
    p_value: np.ndarray

    def interval(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return coef - self.crit * self.se, coef + self.crit * self.se


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _did_you_mean(name: Any, columns: pd.Index) -> str:
    labels = [str(c) for c in columns]
    lowered = {lab.lower(): lab for lab in labels}
    if str(name).lower() in lowered:
        return f" Did you mean '{lowered[str(name).lower()]}'?"
    close = difflib.get_close_matches(str(name), labels, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""




def _check_options(
    *, alpha: Any, wild_bootstrap: Any, n_boot: Any, seed: Any, few_clusters: Any,
    vcov: Any,
) -> tuple[float, str | bool, int, int | None, str]:
    """The options, checked: ``alpha, wild_bootstrap, n_boot, seed, vcov``."""
    alpha = check_alpha(alpha)
    if isinstance(wild_bootstrap, np.bool_):
        wild_bootstrap = bool(wild_bootstrap)
    mode = check_option("wild_bootstrap", wild_bootstrap)
    n_boot = check_n_boot(n_boot, default=DEFAULT_N_BOOT)
    seed = check_seed(seed)
    vcov = check_option("vcov", vcov)
    if (
        isinstance(few_clusters, bool)
        or not isinstance(few_clusters, (int, np.integer))
        or few_clusters < 0
    ):
        raise SpecificationError(
            f"The value for `few_clusters` must be a non-negative integer (0 switches the "
            f"few-clusters warning off), but {few_clusters!r} was passed."
        )
    return alpha, mode, n_boot, seed, vcov


def _resolve_columns(
    data: Any,
    *,
    outcome: Any,
    unit: Any,
    time: Any,
    treatment: Any,
    cluster: Any,
    assignment: Any,
    covariates: Any,
) -> tuple[dict[str, Hashable], list[Hashable]]:
    """Check every column argument; return ``{role: column}`` and the covariate list.

    ``cluster`` and ``assignment`` are in the roles only when given.
    """
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(
            f"`data` must be a pandas DataFrame with one row per observation, but a "
            f"{type(data).__name__} was passed."
        )
    if data.columns.has_duplicates:
        dup = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        raise SpecificationError(
            f"`data` has duplicated column names {dup}; rename them so every column is "
            "unique."
        )
    cov_list = _covariate_list(covariates)
    roles: dict[str, Hashable] = {
        "outcome": outcome, "unit": unit, "time": time, "treatment": treatment,
    }
    for role, name in (("cluster", cluster), ("assignment", assignment)):
        if name is not None:
            roles[role] = name
    problems: list[str] = []
    named: list[tuple[str, Any]] = [*roles.items()] + [
        (f"covariates[{i}]", c) for i, c in enumerate(cov_list)
    ]
    for role, name in named:
        if name is None or not isinstance(name, Hashable):
            problems.append(f"`{role}` must be a column name, but {name!r} was passed.")
        elif name not in data.columns:
            problems.append(
                f"`{role}`: column {_fmt(name)} is not in `data`."
                f"{_did_you_mean(name, data.columns)}"
            )
    if problems:
        shown = ", ".join(_fmt(c) for c in list(data.columns)[:30])
        raise SpecificationError(
            "kbz.did cannot find the columns it was given:\n  - "
            + "\n  - ".join(problems)
            + f"\n  Columns in `data`: {shown}{' ...' if data.shape[1] > 30 else ''}."
        )
    core = [("outcome", outcome), ("unit", unit), ("time", time), ("treatment", treatment)]
    core += [(f"covariates[{i}]", c) for i, c in enumerate(cov_list)]
    seen: dict[Hashable, str] = {}
    for role, name in core:
        if name in seen:
            raise SpecificationError(
                f"Column {_fmt(name)} is given both as `{seen[name]}` and as `{role}`; each "
                "role needs its own column."
            )
        seen[name] = role
    for role, name in (("cluster", cluster), ("assignment", assignment)):
        if name is not None and name in (outcome, treatment, *cov_list):
            raise SpecificationError(
                f"`{role}` is {_fmt(name)}, which is also the outcome, the treatment or a "
                "covariate; it must identify groups of units (e.g. the unit itself or the "
                "practice)."
            )
    return roles, cov_list


def _covariate_list(covariates: Any) -> list[Hashable]:
    if covariates is None:
        return []
    if isinstance(covariates, str):
        return [covariates]
    if isinstance(covariates, Sequence) or isinstance(covariates, pd.Index):
        return list(covariates)
    raise SpecificationError(
        f"The value for `covariates` must be None, a column name or a list of column "
        f"names, but {covariates!r} was passed."
    )


def _check_missing(frame: pd.DataFrame, used: dict[str, Hashable]) -> None:
    counts = {role: int(frame[col].isna().sum()) for role, col in used.items()}
    bad = {role: n for role, n in counts.items() if n}
    if not bad:
        return
    cols = list(dict.fromkeys(used.values()))
    n_rows = int(frame[cols].isna().any(axis=1).sum())
    detail = ", ".join(f"{role} {_fmt(used[role])}: {n}" for role, n in bad.items())
    raise SpecificationError(
        f"{n_rows} of {len(frame)} rows have missing values in the columns kbz.did uses "
        f"({detail}). kbz.did does not drop rows silently: drop or impute them first, e.g. "
        f"data.dropna(subset={[c for c in cols]!r})."
    )


def _numeric(frame: pd.DataFrame, col: Hashable, role: str) -> np.ndarray:
    s = frame[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)) or (
        pd.api.types.is_complex_dtype(s)
    ):
        raise SpecificationError(
            f"`{role}` column {_fmt(col)} must be numeric, but its dtype is {s.dtype}. "
            "Convert it first (e.g. pd.to_numeric)."
        )
    values = s.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise SpecificationError(
            f"`{role}` column {_fmt(col)} has {int(bad.sum())} infinite value(s); "
            "kbz.did needs finite numbers."
        )
    return values


def _treatment_values(frame: pd.DataFrame, col: Hashable) -> np.ndarray:
    s = frame[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise SpecificationError(
            f"`treatment` column {_fmt(col)} must hold 0/1 (or False/True), but its dtype "
            f"is {s.dtype}. It is 1 for treated units in treated periods, 0 otherwise."
        )
    values = s.to_numpy(dtype=float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        first = ", ".join(str(v) for v in pd.unique(s.to_numpy()[bad])[:_SHOW])
        raise SpecificationError(
            f"`treatment` column {_fmt(col)} must be 0 or 1, but {int(bad.sum())} rows "
            f"hold other values (e.g. {first}). Code it as 1 for treated units in treated "
            "periods and 0 otherwise."
        )
    return values


def _time_codes(frame: pd.DataFrame, col: Hashable) -> tuple[np.ndarray, pd.Index]:
    s = frame[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.cat.remove_unused_categories()
        levels = pd.Index(s.cat.categories)
        if not s.cat.ordered:
            try:
                levels = levels.sort_values()
            except TypeError as exc:
                raise SpecificationError(
                    f"`time` column {_fmt(col)} is an unordered categorical whose "
                    "categories cannot be sorted; make it ordered or numeric."
                ) from exc
    else:
        try:
            levels = pd.Index(pd.unique(s)).sort_values()
        except TypeError as exc:
            raise SpecificationError(
                f"`time` column {_fmt(col)} mixes values that cannot be ordered; use "
                "numbers (e.g. the year), dates or an ordered categorical."
            ) from exc
    codes = pd.Categorical(s, categories=levels).codes.astype(np.intp)
    return codes, levels


def _labels(uniques: Any, codes: np.ndarray) -> str:
    shown = ", ".join(_fmt(uniques[c]) for c in codes[:_SHOW])
    return shown + (", ..." if len(codes) > _SHOW else "")


def _common_lasting_start(
    treated: np.ndarray, first_on: np.ndarray, last_off: np.ndarray, unit_labels: Any,
    time_levels: pd.Index, names: dict[str, Hashable],
) -> int:
    """The one period in which every treated unit starts treatment for good (or refuse:
    switching off, never untreated, staggered adoption)."""
    tr, un, ti = (_fmt(names[k]) for k in ("treatment", "unit", "time"))
    switch_off = np.flatnonzero(treated & (last_off > first_on))
    if switch_off.size:
        raise SpecificationError(
            f"Treatment switches off again for {switch_off.size} unit(s) ({un} "
            f"{_labels(unit_labels, switch_off)}): `treatment` {tr} goes from 1 back to 0. "
            "kbz.did estimates one lasting treatment that starts in the same period for all "
            "treated units. With treatment that turns on and off, two-way fixed effects "
            "mixes effects of switching on and off with weights that can be negative "
            "(de Chaisemartin & D'Haultfoeuille 2020). Code the treatment as it was first "
            "switched on, or restrict the data to a window in which it stays on."
        )
    always = np.flatnonzero(treated & (last_off < 0))
    if always.size:
        raise SpecificationError(
            f"{always.size} treated unit(s) are never observed untreated ({un} "
            f"{_labels(unit_labels, always)}), so their change cannot be measured. Every "
            "treated unit needs at least one period before treatment starts; drop these "
            "units or extend the data back in time."
        )
    treated_codes = np.flatnonzero(treated)
    if last_off[treated_codes].max() >= first_on[treated_codes].min():
        cohorts = pd.Series(first_on[treated_codes]).value_counts().sort_index()
        listing = ", ".join(
            f"{_fmt(time_levels[t])} ({n} unit{'s' if n != 1 else ''})"
            for t, n in cohorts.items()
        )
        raise SpecificationError(
            "Staggered adoption: treated units start treatment in different periods "
            f"(first treated period in {ti}: {listing}). kbz.did refuses this design. "
            "Under staggered adoption the two-way fixed-effects coefficient is a "
            "weighted average of all two-group comparisons, including ones that use "
            "already-treated units as controls; when effects differ between cohorts "
            "or change over time, some weights are negative and the coefficient can "
            "even have the wrong sign (Goodman-Bacon 2021, J. Econometrics 225(2); "
            "de Chaisemartin & D'Haultfoeuille 2020, AER 110(9)). A later version adds "
            "the Callaway & Sant'Anna (2021) estimator for this case. For now, analyse "
            "one adoption cohort at a time against never-treated units (keep the units "
            "first treated in one period plus the never-treated ones)."
        )
    return int(first_on[treated_codes].min())


def _mixed_cells(group: np.ndarray, time: np.ndarray, d: np.ndarray, n_groups: int,
                 n_times: int) -> np.ndarray:
    """Group × period cells (as ``group * n_times + time``) where treatment is both 0
    and 1."""
    cell = group * n_times + time
    on = np.bincount(cell, weights=d, minlength=n_groups * n_times)
    size = np.bincount(cell, minlength=n_groups * n_times)
    return np.flatnonzero((on > 0) & (on < size))


def _treatment_start(
    d: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    n_units: int,
    n_times: int,
    unit_labels: Any,
    time_levels: pd.Index,
    names: dict[str, Hashable],
) -> tuple[np.ndarray, int]:
    """Check the adoption pattern; return treated-unit flags and the start period code."""
    tr, un, ti = (_fmt(names[k]) for k in ("treatment", "unit", "time"))
    mixed = _mixed_cells(unit, time, d, n_units, n_times)
    if mixed.size:
        raise SpecificationError(
            f"`treatment` {tr} is both 0 and 1 within the same unit and period in "
            f"{mixed.size} unit-period cell(s) (first: {un} "
            f"{_fmt(unit_labels[mixed[0] // n_times])} in {_fmt(time_levels[mixed[0] % n_times])}"
            "). Treatment is a property of a unit in a period: 1 for treated units in "
            "treated periods. If the unit is a practice and rows are persons, treatment "
            "must be the same for all persons of a practice in a year."
        )
    treated = np.bincount(unit, weights=d, minlength=n_units) > 0
    if not treated.any():
        raise SpecificationError(
            f"No unit is ever treated (`treatment` {tr} is 0 everywhere): a "
            "difference-in-differences needs treated units observed before and after the "
            "treatment starts."
        )
    if treated.all():
        raise SpecificationError(
            f"Every unit is treated at some point (`treatment` {tr}); a "
            "difference-in-differences needs never-treated control units for the "
            "counterfactual trend."
        )
    first_on = np.full(n_units, n_times, dtype=np.intp)
    np.minimum.at(first_on, unit[d == 1], time[d == 1])
    last_off = np.full(n_units, -1, dtype=np.intp)
    np.maximum.at(last_off, unit[d == 0], time[d == 0])
    start = _common_lasting_start(treated, first_on, last_off, unit_labels, time_levels, names)
    pre = np.bincount(unit, weights=(time < start), minlength=n_units) > 0
    post = np.bincount(unit, weights=(time >= start), minlength=n_units) > 0
    one_sided = np.flatnonzero(~(pre & post))
    if one_sided.size:
        only_pre = int(np.sum(pre & ~post))
        raise SpecificationError(
            f"{one_sided.size} unit(s) are not observed both before and after the treatment "
            f"start ({ti} {_fmt(time_levels[start])}): {only_pre} only before, "
            f"{one_sided.size - only_pre} only after ({un} "
            f"{_labels(unit_labels, one_sided)}). A unit seen on one side only carries no "
            "information about its own change; drop these units (keep units with at least "
            "one period on each side) and call kbz.did again."
        )
    return treated, start


def _content_rank(group: np.ndarray, n_groups: int, records: np.ndarray) -> np.ndarray:
    """Rank of each group by its content (its rows sorted), independent of labels.

    Groups with identical content share a rank (dense ranking).
    """
    keys = [records[:, j] for j in range(records.shape[1] - 1, -1, -1)] + [group]
    order = np.lexsort(keys)
    sorted_records = np.ascontiguousarray(records[order])
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    blobs = [block.tobytes() for block in np.split(sorted_records, bounds)]
    ordering = sorted(range(n_groups), key=blobs.__getitem__)
    rank = np.empty(n_groups, dtype=np.intp)
    current = -1
    previous: bytes | None = None
    for g in ordering:
        if blobs[g] != previous:
            current += 1
            previous = blobs[g]
        rank[g] = current
    return rank


def _canonical_order(
    unit: np.ndarray, n_units: int, cluster: np.ndarray, n_clusters: int, records: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row order and unit/cluster codes that depend only on the data's content.

    Row order, column order and how unit or cluster ids are coded (integers, strings,
    categories, other labels) then cannot change any result, including which bootstrap
    weight goes to which cluster. Returns ``(row_order, unit_code, cluster_code)``.
    """
    unit_rank = _content_rank(unit, n_units, records)
    cluster_records = np.column_stack([unit_rank[unit].astype(float), records])
    cluster_rank = _content_rank(cluster, n_clusters, cluster_records)
    # ordinal cluster codes (ties are clusters with identical content: interchangeable)
    cluster_code = np.empty(n_clusters, dtype=np.intp)
    cluster_code[np.lexsort([np.arange(n_clusters), cluster_rank])] = np.arange(n_clusters)
    row_cluster = cluster_code[cluster]
    # ordinal unit codes: by first cluster, content rank, then the original code
    first_cluster = np.full(n_units, n_clusters, dtype=np.intp)
    np.minimum.at(first_cluster, unit, row_cluster)
    unit_code = np.empty(n_units, dtype=np.intp)
    unit_code[np.lexsort([np.arange(n_units), unit_rank, first_cluster])] = np.arange(n_units)
    row_unit = unit_code[unit]
    keys = [records[:, j] for j in range(records.shape[1] - 1, -1, -1)]
    order = np.lexsort([*keys, row_unit, row_cluster])
    return order, row_unit[order], row_cluster[order]



def _n_split(inner: np.ndarray, n_inner: int, outer: np.ndarray) -> int:
    """How many ``inner`` groups have rows in more than one ``outer`` group."""
    lo = np.full(n_inner, np.iinfo(np.intp).max, dtype=np.intp)
    hi = np.full(n_inner, -1, dtype=np.intp)
    np.minimum.at(lo, inner, outer)
    np.maximum.at(hi, inner, outer)
    return int(np.sum(lo != hi))


def _nested(inner: np.ndarray, n_inner: int, outer: np.ndarray) -> bool:
    """Whether every ``inner`` group lies within a single ``outer`` group."""
    return _n_split(inner, n_inner, outer) == 0


def _assignment_groups(
    frame: pd.DataFrame, roles: dict[str, Hashable], d: np.ndarray, time: np.ndarray,
    time_levels: pd.Index,
) -> tuple[np.ndarray, int]:
    """Codes of the treatment-assignment groups; treatment must be constant within
    assignment group × period (checked here when ``assignment`` was given)."""
    column = roles.get("assignment", roles["unit"])
    codes, labels = pd.factorize(frame[column], sort=False)
    n_groups, n_times = len(labels), len(time_levels)
    if "assignment" in roles:
        mixed = _mixed_cells(codes, time, d, n_groups, n_times)
        if mixed.size:
            raise SpecificationError(
                f"`treatment` {_fmt(roles['treatment'])} is both 0 and 1 within the same "
                f"{_fmt(column)} and period in {mixed.size} cell(s) (first: "
                f"{_fmt(labels[mixed[0] // n_times])} in "
                f"{_fmt(time_levels[mixed[0] % n_times])}), so treatment is not assigned per "
                f"{_fmt(column)}. `assignment` names the level at which treatment is "
                "assigned (e.g. the practice of a person); leave it out or give that level."
            )
    return codes, n_groups


def _prepare(
    data: pd.DataFrame, roles: dict[str, Hashable], covariates: list[Hashable]
) -> _Panel:
    used = dict(roles)
    used.update({f"covariates[{i}]": c for i, c in enumerate(covariates)})
    frame = data.loc[:, list(dict.fromkeys(used.values()))]
    if len(frame) == 0:
        raise SpecificationError("`data` has no rows.")
    _check_missing(frame, used)

    y = _numeric(frame, roles["outcome"], "outcome")
    x = (
        np.column_stack([_numeric(frame, c, f"covariates[{i}]") for i, c in enumerate(covariates)])
        if covariates
        else np.zeros((len(frame), 0))
    )
    d = _treatment_values(frame, roles["treatment"])
    time, time_levels = _time_codes(frame, roles["time"])
    unit_raw, unit_labels = pd.factorize(frame[roles["unit"]], sort=False)
    assignment_col = roles.get("assignment", roles["unit"])
    cluster_col = roles.get("cluster", assignment_col)
    cluster_raw, _ = pd.factorize(frame[cluster_col], sort=False)
    n_units, n_times, n_clusters = len(unit_labels), len(time_levels), int(cluster_raw.max()) + 1

    if n_times < 2:
        raise SpecificationError(
            f"`time` column {_fmt(roles['time'])} has a single period; a "
            "difference-in-differences needs periods before and after the treatment start."
        )
    treated_raw, start = _treatment_start(
        d, unit_raw, time, n_units, n_times, unit_labels, time_levels, roles
    )
    assign, n_assign = _assignment_groups(frame, roles, d, time, time_levels)
    if n_clusters < 2:
        raise SpecificationError(
            f"`cluster` column {_fmt(cluster_col)} has a single cluster; cluster-robust "
            "inference needs at least two (and preferably many more)."
        )
    level = _Level(
        assignment=assignment_col, cluster=cluster_col, cluster_default="cluster" not in roles,
        n_groups=n_assign, n_split=_n_split(assign, n_assign, cluster_raw),
    )

    records = np.column_stack([time.astype(float), d, y, x])
    order, unit_code, cluster_code = _canonical_order(
        unit_raw, n_units, cluster_raw, n_clusters, records
    )
    treated = np.zeros(n_units, dtype=bool)
    treated[unit_code] = treated_raw[unit_raw[order]]
    time = time[order]
    return _Panel(
        y=y[order],
        d=d[order],
        x=x[order],
        unit=unit_code,
        time=time,
        cluster=cluster_code,
        n_units=n_units,
        n_times=n_times,
        n_clusters=n_clusters,
        time_levels=time_levels,
        treated_unit=treated,
        start=start,
        units_nested=_nested(unit_code, n_units, cluster_code),
        times_nested=_nested(time, n_times, cluster_code),
        level=level,
    )


def _fit(panel: _Panel, covariates: list[Hashable], names: dict[str, Hashable]) -> _Fit:
    """Two-way fixed effects by within-unit demeaning plus period dummies (exact FWL)."""
    units = Grouping(panel.unit, panel.n_units)
    y_w = units.demean(panel.y)
    d_w = units.demean(panel.d)
    x_w = units.demean(panel.x) if panel.x.shape[1] else panel.x
    periods = demeaned_period_dummies(units, panel.time, panel.n_times)
    periods = periods[:, independent_columns(periods)]

    for j, name in enumerate(covariates):
        raw = panel.x[:, j] - panel.x[:, j].mean()
        raw_norm = float(np.linalg.norm(raw))
        if raw_norm == 0 or np.linalg.norm(x_w[:, j]) <= COLLINEARITY_TOL * raw_norm:
            raise SpecificationError(
                f"Covariate {_fmt(name)} does not vary within units, so the unit fixed "
                "effects already absorb it and its coefficient is not identified; leave it "
                "out of `covariates`."
            )
        basis = np.column_stack([periods, x_w[:, :j]])
        if relative_residual_norm(x_w[:, j], basis) <= COLLINEARITY_TOL:
            raise SpecificationError(
                f"Covariate {_fmt(name)} is collinear with the time effects"
                + (" and the covariates before it" if j else "")
                + " (after removing unit means); leave it out of `covariates`."
            )
    others = np.column_stack([x_w, periods])
    if relative_residual_norm(d_w, others) <= COLLINEARITY_TOL:
        raise SpecificationError(
            f"`treatment` {_fmt(names['treatment'])} is collinear with the covariates and "
            "the fixed effects, so its effect is not identified; remove the covariate(s) "
            "that reproduce it."
        )
    design = np.column_stack([d_w, x_w, periods])
    coef_all, inverse_gram = ols_qr(design, y_w)
    residuals = y_w - design @ coef_all

    clusters = Grouping(panel.cluster, panel.n_clusters)
    scores = clusters.sums(design * residuals[:, None])
    vcov_all = inverse_gram @ (scores.T @ scores) @ inverse_gram
    n_obs = panel.y.shape[0]
    n_slopes = 1 + panel.x.shape[1]
    k_dof = n_slopes
    if not panel.units_nested:
        k_dof += panel.n_units
    if not panel.times_nested:
        k_dof += periods.shape[1]
    g = panel.n_clusters
    if n_obs - k_dof <= 0:
        raise SpecificationError(
            f"Too few observations ({n_obs}) for the {k_dof} parameters that the cluster "
            "structure leaves to estimate; use fewer covariates or more data."
        )
    small_sample = cr1_factor(g, n_obs, k_dof)
    return _Fit(
        coef=coef_all[:n_slopes],
        vcov=small_sample * vcov_all[:n_slopes, :n_slopes],
        n_obs=n_obs,
        k_dof=k_dof,
        small_sample=small_sample,
        design=design,
        inverse_gram=inverse_gram,
        residuals=residuals,
        partialled_regressor=residualize(d_w, others),
        partialled_response=residualize(y_w, others),
        clusters=clusters,
    )




def _group_means(panel: _Panel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean outcome by group × period and by group × pre/post."""
    group = (~panel.treated_unit[panel.unit]).astype(np.intp)  # 0 treated, 1 control
    names = np.array(["treated", "control"])
    t = panel.n_times

    def cells(key: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_obs = np.bincount(key, minlength=n_keys)
        sums = np.bincount(key, weights=panel.y, minlength=n_keys)
        unit_cells = np.unique(key.astype(np.int64) * panel.n_units + panel.unit)
        n_units = np.bincount(unit_cells // panel.n_units, minlength=n_keys)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / n_obs
        return means, n_obs, n_units

    means, n_obs, n_units = cells(group * t + panel.time, 2 * t)
    g_idx = np.repeat([0, 1], t)
    t_idx = np.tile(np.arange(t), 2)
    by_time = pd.DataFrame({
        "time": panel.time_levels[t_idx],
        "group": names[g_idx],
        "mean_outcome": means,
        "n_obs": n_obs.astype("int64"),
        "n_units": n_units.astype("int64"),
        "post": t_idx >= panel.start,
    })
    by_time = by_time[by_time["n_obs"] > 0].reset_index(drop=True)

    post = (panel.time >= panel.start).astype(np.intp)
    means2, n_obs2, n_units2 = cells(group * 2 + post, 4)
    two_by_two = pd.DataFrame({
        "group": names[[0, 0, 1, 1]],
        "period": ["pre", "post", "pre", "post"],
        "mean_outcome": means2,
        "n_obs": n_obs2.astype("int64"),
        "n_units": n_units2.astype("int64"),
    })
    return two_by_two, by_time




# --------------------------------------------------------------------------- inference
def _analytic(fit: _Fit, panel: _Panel, vcov: str, alpha: float) -> _Analytic:
    """CR1 (t(G − 1)) or CR2 (t with Bell–McCaffrey degrees of freedom) per coefficient.

    CR2 is computed on the design after the unit effects are absorbed. With units nested
    in clusters this equals CR2 of the full dummy-variable model: the residuals and the
    absorbed design are orthogonal to each unit's indicator, on which the unit effects'
    part of the hat matrix acts alone, so the adjustment matrices agree where they are
    applied (and so do the Bell–McCaffrey degrees of freedom).
    """
    n_slopes = fit.coef.size
    if vcov == "CR1":
        var = np.diag(fit.vcov)
        df = np.full(n_slopes, float(panel.n_clusters - 1))
    else:
        cov, adjustments = cr2_vcov(fit.design, fit.residuals, panel.cluster)
        var = np.diag(cov)[:n_slopes]
        basis = np.eye(fit.design.shape[1])
        df = np.array([bell_mccaffrey_df(fit.design, basis[j], adjustments)
                       for j in range(n_slopes)])
    se = np.sqrt(np.maximum(var, 0.0))
    t_stat = np.divide(fit.coef, se, out=np.full_like(fit.coef, np.inf), where=se > 0)
    t_stat = np.where((se == 0) & (fit.coef == 0), 0.0, t_stat)
    return _Analytic(
        vcov=vcov, se=se, df=df, crit=stats.t.ppf(1 - alpha / 2, df),
        p_value=2 * stats.t.sf(np.abs(t_stat), df),
    )


def _counted_p_value(bootstrap: WildBootstrapResult) -> float:
    """The bootstrap p-value counting the observed statistic: ``(1 + k) / (1 + B)``.

    With full enumeration the identity weights are among the patterns already, so the
    share ``k / B`` is used as it is; with random draws it is never 0.
    """
    if bootstrap.enumerated:
        return bootstrap.p_value
    exceed = round(bootstrap.p_value * bootstrap.n_boot)
    return (1 + exceed) / (1 + bootstrap.n_boot)


def _wild(
    fit: _Fit, panel: _Panel, *, mode: str | bool, few: bool, alpha: float, n_boot: int,
    seed: int | None,
) -> tuple[WildBootstrapResult | None, str]:
    """Run the wild cluster bootstrap when asked (or, with ``"auto"``, when clusters are
    few); return it, or ``None`` with the reason it did not run."""
    want = mode is True or (mode == "auto" and few)
    if not want:
        return None, ""
    if not panel.units_nested:
        if mode is True:
            raise SpecificationError(
                "The wild cluster bootstrap needs units nested in clusters (every unit inside "
                "a single cluster), but some units belong to several clusters. Cluster at "
                "the unit level or at a level that contains whole units (e.g. the practice "
                "of a person), or set wild_bootstrap=False."
            )
        return None, "The wild cluster bootstrap was not run: units are not nested in clusters."
    return wild_cluster_bootstrap(
        partialled_regressor=fit.partialled_regressor,
        partialled_response=fit.partialled_response,
        design=fit.design,
        inverse_gram=fit.inverse_gram,
        residuals=fit.residuals,
        clusters=fit.clusters,
        alpha=alpha,
        null=0.0,
        n_boot=n_boot,
        seed=seed,
    ), ""


def _split_message(panel: _Panel) -> str | None:
    """The warning when clusters split the groups to which treatment is assigned."""
    lv = panel.level
    if lv.n_split == 0:
        return None
    return (
        f"`cluster` {_fmt(lv.cluster)} is finer than (or cuts across) the level at which "
        f"treatment is assigned, {_fmt(lv.assignment)}: {lv.n_split} of {lv.n_groups} "
        f"{_fmt(lv.assignment)} groups have rows in more than one cluster. Rows of one "
        f"{_fmt(lv.assignment)} share its treatment and its shocks, so treating its "
        "clusters as independent makes the intervals too narrow and the p-values too "
        f"small. Cluster by {_fmt(lv.assignment)} (the default when `cluster` is not "
        "given) or by a level that contains whole groups."
    )


def _few_clusters_message(
    panel: _Panel, *, vcov: str, few_clusters: int, mode: str | bool,
    bootstrap: WildBootstrapResult | None,
) -> str:
    g = panel.n_clusters
    treated = int(np.unique(panel.cluster[panel.treated_unit[panel.unit]]).size)
    control = int(np.unique(panel.cluster[~panel.treated_unit[panel.unit]]).size)
    msg = (
        f"Only {g} clusters ({treated} with treated units, {control} with control units; "
        f"fewer than few_clusters={few_clusters}): "
    )
    msg += (
        "cluster-robust (CR1) standard errors and t-based p-values are unreliable with so "
        "few clusters and tend to be too small."
        if vcov == "CR1" else
        "the CR2 variance with Bell–McCaffrey degrees of freedom is built for few clusters, "
        "but is still approximate."
    )
    if bootstrap is not None:
        msg += (" The wild cluster bootstrap p-value and interval are reported in row "
                "'att_wild_bootstrap' and lead the headline; prefer them.")
    else:
        why = "switched off" if mode is False else "units are not nested in clusters"
        msg += f" No wild cluster bootstrap was run ({why}); treat the interval with caution."
    if min(treated, control) < 5:
        msg += (
            " With fewer than 5 treated (or control) clusters even the wild bootstrap "
            "can be misleading (MacKinnon & Webb 2017); consider randomisation inference."
        )
    return msg


# --------------------------------------------------------------------------- assembly
def _estimate_rows(
    fit: _Fit, panel: _Panel, analytic: _Analytic, bootstrap: WildBootstrapResult | None
) -> pd.DataFrame:
    n_treated = int(panel.treated_unit.sum())
    extra = {
        "n_clusters": panel.n_clusters,
        "n_treated_units": n_treated,
        "n_control_units": panel.n_units - n_treated,
    }
    lower, upper = analytic.interval(fit.coef)
    rows = [{
        "term": "att", "estimate": fit.coef[0], "std_error": analytic.se[0],
        "ci_lower": lower[0], "ci_upper": upper[0], "p_value": analytic.p_value[0],
        "df": analytic.df[0], "n": fit.n_obs, **extra,
    }]
    if bootstrap is not None:
        rows.append({
            "term": "att_wild_bootstrap", "estimate": fit.coef[0], "std_error": np.nan,
            "ci_lower": bootstrap.ci_lower, "ci_upper": bootstrap.ci_upper,
            "p_value": _counted_p_value(bootstrap), "df": np.nan, "n": fit.n_obs, **extra,
        })
    estimates = tidy_frame(rows)
    for col in extra:
        estimates[col] = estimates[col].astype("int64")
    return estimates


def _coefficients(
    fit: _Fit, analytic: _Analytic, roles: dict[str, Hashable], cov_list: list[Hashable]
) -> pd.DataFrame:
    terms = [str(roles["treatment"]), *(str(c) for c in cov_list)]
    lower, upper = analytic.interval(fit.coef)
    return tidy_frame([
        {"term": term, "estimate": fit.coef[i], "std_error": analytic.se[i],
         "ci_lower": lower[i], "ci_upper": upper[i], "p_value": analytic.p_value[i],
         "df": analytic.df[i], "n": fit.n_obs}
        for i, term in enumerate(terms)
    ])


def _settings(
    *, roles: dict[str, Hashable], cov_list: list[Hashable], panel: _Panel, fit: _Fit,
    analytic: _Analytic, bootstrap: WildBootstrapResult | None, options: dict[str, Any],
) -> dict[str, Any]:
    lv = panel.level
    return {
        "outcome": roles["outcome"],
        "unit": roles["unit"],
        "time": roles["time"],
        "treatment": roles["treatment"],
        "assignment": lv.assignment,
        "cluster": lv.cluster,
        "cluster_default": lv.cluster_default,
        "clusters_split_assignment": lv.n_split,
        "covariates": list(cov_list),
        **options,
        "bootstrap_run": bootstrap is not None,
        "bootstrap_weights": None if bootstrap is None else bootstrap.weights,
        "bootstrap_enumerated": None if bootstrap is None else bootstrap.enumerated,
        "n_boot_used": None if bootstrap is None else bootstrap.n_boot,
        "webb_below": WEBB_BELOW,
        "treatment_start": panel.time_levels[panel.start],
        "n_periods": panel.n_times,
        "n_units": panel.n_units,
        "n_clusters": panel.n_clusters,
        "n_treated_clusters": int(np.unique(panel.cluster[panel.treated_unit[panel.unit]]).size),
        "n_control_clusters": int(
            np.unique(panel.cluster[~panel.treated_unit[panel.unit]]).size),
        "t_df": float(analytic.df[0]),
        "small_sample_factor": fit.small_sample,
        "k_dof": fit.k_dof,
        "units_nested_in_clusters": panel.units_nested,
    }


def _variance_text(fit: _Fit, panel: _Panel, analytic: _Analytic, alpha: float) -> str:
    g = panel.n_clusters
    lv = panel.level
    who = (
        f"by {_fmt(lv.cluster)}, the level at which treatment is assigned (the default)"
        if lv.cluster_default else f"by {_fmt(lv.cluster)} (as given)"
    )
    level = f"{100 * (1 - alpha):g}%"
    if analytic.vcov == "CR2":
        return (
            f" Variance: CR2 (Bell & McCaffrey 2002) cluster-robust {who} with G = {g} "
            "clusters: each cluster's residuals are multiplied by (I - H_gg)^(-1/2), so the "
            "variance is unbiased under independent homoskedastic errors (computed on the "
            "design with the unit effects absorbed, which equals the dummy-variable model "
            f"when units are nested in clusters); p-value and {level} interval from the t "
            "distribution with Bell–McCaffrey (Satterthwaite) degrees of freedom = "
            f"{analytic.df[0]:.3g} (Imbens & Kolesár 2016)."
        )
    nested = (
        "units are nested in clusters, so the absorbed unit effects are not counted in K"
        if panel.units_nested
        else "units are not nested in clusters, so the unit effects are counted in K"
    )
    return (
        f" Variance: CR1 cluster-robust {who} with G = {g} clusters, small-sample factor "
        f"G/(G-1)·(N-1)/(N-K) = {fit.small_sample:.4f} with N = {fit.n_obs} and K = "
        f"{fit.k_dof} ({nested}); p-value and {level} interval from the t distribution "
        f"with G-1 = {g - 1} degrees of freedom."
    )


def _method_text(
    *, names: dict[str, Hashable], covariates: list[Hashable], fit: _Fit, panel: _Panel,
    analytic: _Analytic, alpha: float, bootstrap: WildBootstrapResult | None,
    bootstrap_note: str,
) -> str:
    cov = (
        f" Covariates {', '.join(_fmt(c) for c in covariates)} enter linearly (ATT "
        "conditional on them; they should not be affected by the treatment)."
        if covariates
        else ""
    )
    text = (
        f"Estimand: the average treatment effect on the treated (ATT) of "
        f"{_fmt(names['treatment'])} on {_fmt(names['outcome'])}, identified under parallel "
        "trends (without treatment, treated and control units would have changed alike) and "
        "no anticipation. Estimator: two-way fixed effects regression of the outcome on the "
        "treatment indicator with unit and time effects (unit effects absorbed by "
        "within-unit demeaning, time effects as period dummies; identical to the "
        "dummy-variable regression); with one common treatment start this is the "
        "difference-in-differences contrast (change in the treated minus change in the "
        f"controls, after versus before {_fmt(panel.time_levels[panel.start])})." + cov
        + _variance_text(fit, panel, analytic, alpha)
    )
    if bootstrap is not None:
        text += (" " + bootstrap.describe() + " Its p-value counts the observed statistic, "
                 "(1 + #{|t*| ≥ |t|}) / (1 + B), and it leads the headline.")
    elif bootstrap_note:
        text += " " + bootstrap_note
    text += (
        " Assumptions: parallel trends, no anticipation, a single common treatment start "
        "(staggered adoption is refused), no spill-over to control units, and errors "
        "independent between clusters."
    )
    return text


# --------------------------------------------------------------------------- front door
def did(
    data: pd.DataFrame,
    *,
    outcome: Hashable,
    unit: Hashable,
    time: Hashable,
    treatment: Hashable,
    cluster: Hashable | None = None,
    assignment: Hashable | None = None,
    covariates: Sequence[Hashable] | Hashable | None = None,
    vcov: Sandwich = "CR1",
    alpha: float = 0.05,
    wild_bootstrap: WildBootstrap = "auto",
    n_boot: int = DEFAULT_N_BOOT,
    seed: int | None = 0,
    few_clusters: int = 30,
) -> DiDResult:
    """Difference-in-differences by two-way fixed effects, for any panel.

    Parameters
    ----------
    data
        One row per observation: a unit in a period (several rows per unit and period
        are allowed, e.g. persons within a practice-year when the unit is the
        practice). Not modified.
    outcome
        Numeric outcome column.
    unit
        Column identifying the unit that gets unit fixed effects (e.g. person or
        practice). Any coding: integers, strings or categories. Treatment must be the
        same for all rows of a unit in a period.
    time
        Period column: numbers (e.g. the year), dates or an ordered categorical.
    treatment
        0/1 (or boolean) column that is 1 for treated units in treated periods and 0
        otherwise. Treatment must start in the same period for all treated units and
        stay on.
    cluster
        Column with the clusters of the cluster-robust variance. Default (``None``): the
        level at which treatment is assigned — ``assignment`` when given, otherwise
        ``unit``. Clusters that contain whole assignment groups (e.g. a region of
        practices) are fine. Clusters finer than the assignment (e.g. persons when
        treatment is assigned per practice, or ``cluster=person`` with
        ``unit=practice``) draw a :class:`~kbz_eval.errors.StatisticalWarning`: the
        intervals are then too narrow.
    assignment
        Optional column of the level at which treatment is assigned, when it is coarser
        than ``unit`` (e.g. ``"practice"`` when the units are persons). Treatment must
        be the same for all rows of an assignment group in a period. It sets the
        default ``cluster`` and the check above; the fixed effects stay per unit.
    covariates
        Optional time-varying numeric control columns (entered linearly).
    vcov
        Cluster-robust variance: ``"CR1"`` (default; t(G − 1) reference) or ``"CR2"``
        (Bell–McCaffrey, with Satterthwaite degrees of freedom; needs units nested in
        clusters).
    alpha
        1 - confidence level of the intervals (default 0.05: 95%).
    wild_bootstrap
        ``"auto"`` (default): run the wild cluster bootstrap when there are fewer than
        ``few_clusters`` clusters; ``True``: always; ``False``: never.
    n_boot
        Bootstrap replicates (default 9999, at least 99). With Rademacher weights and
        ``2**G <= n_boot`` all sign patterns are enumerated instead.
    seed
        Seed of the bootstrap weights (default 0, so results are reproducible; ``None``
        draws fresh entropy).
    few_clusters
        Below this number of clusters a :class:`~kbz_eval.errors.StatisticalWarning` is
        issued and (with ``wild_bootstrap="auto"``) the bootstrap is run. 0 disables it.

    Returns
    -------
    DiDResult
        ``tidy()`` rows ``att`` and (when bootstrapped) ``att_wild_bootstrap``, with
        the t reference's ``df``; ``tables["group_means"]``,
        ``tables["group_means_by_time"]``, ``tables["coefficients"]``; ``headline()``
        leads with the bootstrap when it ran; ``plot()`` draws both groups' means over
        time with the treatment start marked.

    Raises
    ------
    SpecificationError
        Unknown columns (with a did-you-mean), non-numeric outcome or covariates, a
        treatment that is not 0/1 or varies within a unit-period (or an
        ``assignment``-period), missing values in the used columns, no treated or no
        control units, treatment switching off, staggered adoption, units not observed
        both before and after the treatment start, a covariate absorbed by the fixed
        effects, a single cluster, ``vcov="CR2"`` with units not nested in clusters, or
        bad options.

    Warns
    -----
    StatisticalWarning
        Clusters finer than (or cutting across) the treatment assignment: intervals too
        narrow. Fewer than ``few_clusters`` clusters: cluster-robust t inference is
        unreliable; the wild cluster bootstrap p-value and interval are reported
        (unless switched off) and lead the headline.

    Notes
    -----
    **Estimate.** The coefficient of ``treatment`` in
    ``outcome ~ treatment + covariates + unit effects + time effects``. With a single
    common treatment start this is the difference-in-differences contrast and estimates
    the average treatment effect on the treated (ATT) under parallel trends and no
    anticipation; in a balanced panel without covariates it equals
    (treated post − treated pre) − (control post − control pre) of the period-averaged
    group means. Unit effects are absorbed by within-unit demeaning and time effects
    enter as period dummies after that demeaning (Frisch-Waugh-Lovell), which gives
    exactly the dummy-variable regression for balanced and unbalanced panels.

    **Clusters.** The unit of inference is the unit of treatment: rows that share a
    treatment assignment also share its shocks, so they must share a cluster. Treatment
    is constant within unit × period (checked), so the unit is never finer than the
    assignment; ``assignment`` says when the assignment is coarser (persons in
    practices). The default cluster is that level.

    **Variance.** CR1: ``V = c (Z'Z)^{-1} (sum_g Z_g' e_g e_g' Z_g) (Z'Z)^{-1}`` with
    ``c = G/(G-1)·(N-1)/(N-K)`` (:func:`kbz_eval.stats.sandwich.cr1_factor`). ``K``
    counts the slope coefficients plus the fixed effects *not nested* in the clusters
    (with units nested in clusters: the treatment, covariates and the T-1 period
    effects). This is R fixest's default (``ssc(adj = TRUE, fixef.K = "nested",
    cluster.adj = TRUE)``), which its documentation reports equal to Stata ``xtreg, fe
    vce(cluster)`` and ``reghdfe``. A dummy-variable OLS with clustered errors
    (statsmodels ``cov_type="cluster"``, Stata ``areg``) counts every unit dummy in K;
    its variance is ours times ``(N-K)/(N-K_all)``. P-values and intervals use t(G-1).
    CR2 (``vcov="CR2"``; :func:`kbz_eval.stats.sandwich.cr2_vcov`) replaces ``e_g`` by
    ``(I - H_gg)^{-1/2} e_g`` (no factor ``c``), which makes the variance unbiased under
    independent homoskedastic errors, and uses a t reference with the Bell–McCaffrey
    (Satterthwaite) degrees of freedom of the coefficient
    (:func:`kbz_eval.stats.sandwich.bell_mccaffrey_df`); with few or unbalanced clusters
    these can be far below G - 1 (Bell & McCaffrey 2002; Imbens & Kolesár 2016;
    Pustejovsky & Tipton 2018). With units nested in clusters it equals CR2 of the
    dummy-variable model.

    **Few clusters.** With few clusters CR1 tests over-reject (Cameron, Gelbach & Miller
    2008; MacKinnon & Webb 2017). The wild cluster bootstrap is the restricted variant
    (WCR, null imposed) with Rademacher weights, or Webb's six-point weights when there
    are fewer than 12 clusters; the p-value is symmetric, counts the observed statistic
    (``(1 + #{|t*| ≥ |t|}) / (1 + B)`` with random draws, never 0) and the interval
    comes from inverting the bootstrap test (see :mod:`kbz_eval.stats.wild`). It is
    available when units are nested in clusters (the usual case). With very few treated
    clusters (say fewer than 5) even the bootstrap can mislead (MacKinnon & Webb 2017):
    consider randomisation inference.

    Survey or exposure weights are not supported.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import kbz_eval as kbz
    >>> rng = np.random.default_rng(1)
    >>> panel = pd.DataFrame(
    ...     [(u, t) for u in range(40) for t in range(2012, 2016)], columns=["unit", "year"]
    ... )
    >>> panel["treat"] = ((panel.unit < 20) & (panel.year >= 2014)).astype(int)
    >>> panel["y"] = panel.unit * 0.1 + panel.year * 0.2 + 1.5 * panel.treat + rng.normal(
    ...     size=len(panel))
    >>> res = kbz.did(panel, outcome="y", unit="unit", time="year", treatment="treat")
    >>> res.tidy().loc[0, "term"]
    'att'
    """
    alpha, mode, n_boot, seed, vcov = _check_options(
        alpha=alpha, wild_bootstrap=wild_bootstrap, n_boot=n_boot, seed=seed,
        few_clusters=few_clusters, vcov=vcov,
    )
    roles, cov_list = _resolve_columns(
        data, outcome=outcome, unit=unit, time=time, treatment=treatment, cluster=cluster,
        assignment=assignment, covariates=covariates,
    )
    panel = _prepare(data, roles, cov_list)
    if vcov == "CR2" and not panel.units_nested:
        raise SpecificationError(
            f"vcov='CR2' needs units nested in clusters, but some units of "
            f"{_fmt(roles['unit'])} fall in several clusters of {_fmt(panel.level.cluster)}."
            " Cluster at a level that contains whole units (e.g. the practice of a "
            "person), or use vcov='CR1'."
        )
    fit = _fit(panel, cov_list, roles)
    analytic = _analytic(fit, panel, vcov, alpha)
    few = panel.n_clusters < few_clusters
    bootstrap, bootstrap_note = _wild(fit, panel, mode=mode, few=few, alpha=alpha,
                                      n_boot=n_boot, seed=seed)

    messages = [m for m in (_split_message(panel),) if m]
    if few:
        messages.append(_few_clusters_message(panel, vcov=vcov, few_clusters=few_clusters,
                                              mode=mode, bootstrap=bootstrap))
    for msg in messages:
        warnings.warn(msg, StatisticalWarning, stacklevel=2)

    two_by_two, by_time = _group_means(panel)
    options = {"vcov": vcov, "alpha": alpha, "wild_bootstrap": mode, "n_boot": n_boot,
               "seed": seed, "few_clusters": few_clusters}
    return DiDResult(
        estimates=_estimate_rows(fit, panel, analytic, bootstrap),
        tables={
            "group_means": two_by_two,
            "group_means_by_time": by_time,
            "coefficients": _coefficients(fit, analytic, roles, cov_list),
        },
        method=_method_text(
            names=roles, covariates=cov_list, fit=fit, panel=panel, analytic=analytic,
            alpha=alpha, bootstrap=bootstrap, bootstrap_note=bootstrap_note,
        ),
        settings=_settings(roles=roles, cov_list=cov_list, panel=panel, fit=fit,
                           analytic=analytic, bootstrap=bootstrap, options=options),
        warnings=messages,
    )
