"""Difference-in-differences for any panel: ``kbz.did``.

Two-way fixed effects (unit and time effects) with a single treatment start,
cluster-robust (CR1) standard errors with a t(G - 1) reference distribution and, when
there are few clusters, a restricted wild cluster bootstrap. Staggered adoption is
refused: the two-way fixed-effects coefficient is then not an average treatment effect.

Layout: :func:`did` (the front door) validates once at the boundary, builds an internal
:class:`_Panel` of integer codes and float arrays in a canonical order, :func:`_fit`
does the numerics and :class:`DiDResult` is what the caller gets back.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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
from kbz_eval.stats.wild import (
    WEBB_BELOW,
    WildBootstrapResult,
    wild_cluster_bootstrap,
)

#: Allowed values of ``wild_bootstrap``.
WildBootstrapOption = Literal["auto"] | bool
WILD_BOOTSTRAP_OPTIONS: tuple[Any, ...] = ("auto", True, False)

#: Smallest ``n_boot`` accepted (a p-value needs enough replicates to reach ``alpha``).
MIN_N_BOOT = 99

#: Units or clusters listed by name in an error message before "...".
_SHOW = 5


# --------------------------------------------------------------------------- result
class DiDResult(Result):
    """Result of :func:`did`: the two-way fixed-effects difference-in-differences.

    ``tidy()`` rows: ``att`` (CR1 inference) and, when the wild cluster bootstrap ran,
    ``att_wild_bootstrap`` (same estimate, bootstrap p-value and interval, no standard
    error). Extra columns: ``n_clusters``, ``n_treated_units``, ``n_control_units``.

    ``tables``: ``group_means`` (mean outcome by group × pre/post), ``group_means_by_time``
    (mean outcome by group × period; what :meth:`plot` draws) and ``coefficients`` (the
    treatment and any covariates with CR1 inference).
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
        keep = ["term", "estimate", "std_error", "ci_lower", "ci_upper", "p_value", "n",
                "n_clusters", "n_treated_units", "n_control_units"]
        out = tidy[keep].copy()
        inference = {
            "att": f"CR1 cluster-robust SE, t({self.settings.get('t_df')})",
            "att_wild_bootstrap": "wild cluster bootstrap (WCR), test inversion",
        }
        out["inference"] = out["term"].map(inference).fillna("")
        numeric = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]
        out[numeric] = out[numeric].round(4)
        return out

    def headline(self) -> str:
        """One sentence with the estimate and its interval(s)."""
        est = self.estimates.set_index("term")
        level = f"{100 * (1 - self.settings.get('alpha', 0.05)):g}%"
        att = est.loc["att"]
        text = (
            f"ATT of '{self.settings.get('treatment')}' on '{self.settings.get('outcome')}' "
            f"= {att['estimate']:.4g} ({level} CI {att['ci_lower']:.4g} to "
            f"{att['ci_upper']:.4g}, CR1 with {int(att['n_clusters'])} clusters, "
            f"p = {att['p_value']:.3g})"
        )
        if "att_wild_bootstrap" in est.index:
            wb = est.loc["att_wild_bootstrap"]
            text += (
                f"; wild cluster bootstrap p = {wb['p_value']:.3g}, {level} CI "
                f"{wb['ci_lower']:.4g} to {wb['ci_upper']:.4g}"
            )
        return text


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
    *, alpha: Any, wild_bootstrap: Any, n_boot: Any, seed: Any, few_clusters: Any
) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not (
        0 < float(alpha) < 1
    ):
        raise SpecificationError(
            f"The value for `alpha` must be a number strictly between 0 and 1 (e.g. 0.05 "
            f"for 95% intervals), but {alpha!r} was passed."
        )
    if not (
        (isinstance(wild_bootstrap, str) and wild_bootstrap == "auto")
        or isinstance(wild_bootstrap, (bool, np.bool_))
    ):
        raise SpecificationError(
            f"The value for `wild_bootstrap` must be one of ['auto', True, False], but "
            f"{wild_bootstrap!r} was passed."
        )
    if (
        isinstance(n_boot, bool)
        or not isinstance(n_boot, (int, np.integer))
        or n_boot < MIN_N_BOOT
    ):
        raise SpecificationError(
            f"The value for `n_boot` must be an integer of at least {MIN_N_BOOT} "
            f"(9999 is the default), but {n_boot!r} was passed."
        )
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
    ):
        raise SpecificationError(
            f"The value for `seed` must be a non-negative integer or None, but {seed!r} "
            "was passed."
        )
    if (
        isinstance(few_clusters, bool)
        or not isinstance(few_clusters, (int, np.integer))
        or few_clusters < 0
    ):
        raise SpecificationError(
            f"The value for `few_clusters` must be a non-negative integer (0 switches the "
            f"few-clusters warning off), but {few_clusters!r} was passed."
        )


def _resolve_columns(
    data: Any,
    *,
    outcome: Any,
    unit: Any,
    time: Any,
    treatment: Any,
    cluster: Any,
    covariates: Any,
) -> tuple[dict[str, Hashable], list[Hashable]]:
    """Check every column argument; return ``{role: column}`` and the covariate list."""
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
    if covariates is None:
        cov_list: list[Hashable] = []
    elif isinstance(covariates, str):
        cov_list = [covariates]
    elif isinstance(covariates, Sequence) or isinstance(covariates, pd.Index):
        cov_list = list(covariates)
    else:
        raise SpecificationError(
            f"The value for `covariates` must be None, a column name or a list of column "
            f"names, but {covariates!r} was passed."
        )
    roles: dict[str, Hashable] = {
        "outcome": outcome, "unit": unit, "time": time, "treatment": treatment,
    }
    if cluster is not None:
        roles["cluster"] = cluster
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
    if cluster is not None and cluster in (outcome, treatment, *cov_list):
        raise SpecificationError(
            f"`cluster` is {_fmt(cluster)}, which is also the outcome, the treatment or a "
            "covariate; clusters are groups of units (e.g. the unit itself or the practice)."
        )
    return roles, cov_list


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
    cell = unit * n_times + time
    cell_sum = np.bincount(cell, weights=d, minlength=n_units * n_times)
    cell_n = np.bincount(cell, minlength=n_units * n_times)
    mixed = np.flatnonzero((cell_sum > 0) & (cell_sum < cell_n))
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
    start = int(first_on[treated_codes].min())
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


def _nested(inner: np.ndarray, n_inner: int, outer: np.ndarray) -> bool:
    """Whether every ``inner`` group lies within a single ``outer`` group."""
    lo = np.full(n_inner, np.iinfo(np.intp).max, dtype=np.intp)
    hi = np.full(n_inner, -1, dtype=np.intp)
    np.minimum.at(lo, inner, outer)
    np.maximum.at(hi, inner, outer)
    return bool(np.all(lo == hi))


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
    cluster_col = roles.get("cluster", roles["unit"])
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
    if n_clusters < 2:
        raise SpecificationError(
            f"`cluster` column {_fmt(cluster_col)} has a single cluster; cluster-robust "
            "inference needs at least two (and preferably many more)."
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
    small_sample = g / (g - 1) * (n_obs - 1) / (n_obs - k_dof)
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


def _method_text(
    *,
    names: dict[str, Hashable],
    covariates: list[Hashable],
    fit: _Fit,
    panel: _Panel,
    alpha: float,
    bootstrap: WildBootstrapResult | None,
    bootstrap_note: str,
) -> str:
    g = panel.n_clusters
    cov = (
        f" Covariates {', '.join(_fmt(c) for c in covariates)} enter linearly (ATT "
        "conditional on them; they should not be affected by the treatment)."
        if covariates
        else ""
    )
    nested = (
        "units are nested in clusters, so the absorbed unit effects are not counted in K"
        if panel.units_nested
        else "units are not nested in clusters, so the unit effects are counted in K"
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
        + f" Variance: CR1 cluster-robust by {_fmt(names.get('cluster', names['unit']))} "
        f"with G = {g} clusters, small-sample factor G/(G-1)·(N-1)/(N-K) = "
        f"{fit.small_sample:.4f} with N = {fit.n_obs} and K = {fit.k_dof} ({nested}); "
        f"p-value and {100 * (1 - alpha):g}% interval from the t distribution with G-1 = "
        f"{g - 1} degrees of freedom."
    )
    if bootstrap is not None:
        text += " " + bootstrap.describe()
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
    covariates: Sequence[Hashable] | Hashable | None = None,
    alpha: float = 0.05,
    wild_bootstrap: WildBootstrapOption = "auto",
    n_boot: int = 9999,
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
        practice). Any coding: integers, strings or categories.
    time
        Period column: numbers (e.g. the year), dates or an ordered categorical.
    treatment
        0/1 (or boolean) column that is 1 for treated units in treated periods and 0
        otherwise. Treatment must start in the same period for all treated units and
        stay on.
    cluster
        Column with the clusters for the standard errors; default: ``unit``. Use the
        level at which treatment is assigned (e.g. the practice).
    covariates
        Optional time-varying numeric control columns (entered linearly).
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
        ``tidy()`` rows ``att`` and (when bootstrapped) ``att_wild_bootstrap``;
        ``tables["group_means"]``, ``tables["group_means_by_time"]``,
        ``tables["coefficients"]``; ``plot()`` draws both groups' means over time with
        the treatment start marked.

    Raises
    ------
    SpecificationError
        Unknown columns (with a did-you-mean), non-numeric outcome or covariates, a
        treatment that is not 0/1 or varies within a unit-period, missing values in the
        used columns, no treated or no control units, treatment switching off, staggered
        adoption, units not observed both before and after the treatment start, a
        covariate absorbed by the fixed effects, a single cluster, or bad options.

    Warns
    -----
    StatisticalWarning
        Fewer than ``few_clusters`` clusters: CR1 standard errors are unreliable; the
        wild cluster bootstrap p-value and interval are reported (unless switched off).

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

    **Variance.** CR1: ``V = c (Z'Z)^{-1} (sum_g Z_g' e_g e_g' Z_g) (Z'Z)^{-1}`` with
    ``c = G/(G-1)·(N-1)/(N-K)``. ``K`` counts the slope coefficients plus the fixed
    effects *not nested* in the clusters (with the default ``cluster=unit``: the
    treatment, covariates and the T-1 period effects). This is R fixest's default
    (``ssc(adj = TRUE, fixef.K = "nested", cluster.adj = TRUE)``), which its
    documentation reports equal to Stata ``xtreg, fe vce(cluster)`` and ``reghdfe``.
    A dummy-variable OLS with clustered errors (statsmodels ``cov_type="cluster"``,
    Stata ``areg``) counts every unit dummy in K; its variance is ours times
    ``(N-K)/(N-K_all)``. Counting nested unit effects would inflate the variance by
    about ``T/(T-1)`` (a factor 2 in a two-period panel) although they do not use up
    cluster-level information. P-values and intervals use t(G-1).

    **Few clusters.** With few clusters CR1 tests over-reject (Cameron, Gelbach & Miller
    2008; MacKinnon & Webb 2017). The wild cluster bootstrap is the restricted variant
    (WCR, null imposed) with Rademacher weights, or Webb's six-point weights when there
    are fewer than 12 clusters; the p-value is symmetric and the interval comes from
    inverting the bootstrap test (see :mod:`kbz_eval.stats.wild`). It is
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
    _check_options(
        alpha=alpha, wild_bootstrap=wild_bootstrap, n_boot=n_boot, seed=seed,
        few_clusters=few_clusters,
    )
    roles, cov_list = _resolve_columns(
        data, outcome=outcome, unit=unit, time=time, treatment=treatment, cluster=cluster,
        covariates=covariates,
    )
    panel = _prepare(data, roles, cov_list)
    fit = _fit(panel, cov_list, roles)

    g = panel.n_clusters
    t_df = g - 1
    alpha = float(alpha)
    se = np.sqrt(np.diag(fit.vcov))
    crit = float(stats.t.ppf(1 - alpha / 2, t_df))
    t_stat = np.divide(fit.coef, se, out=np.full_like(fit.coef, np.inf), where=se > 0)
    t_stat = np.where((se == 0) & (fit.coef == 0), 0.0, t_stat)
    p_vals = 2 * stats.t.sf(np.abs(t_stat), t_df)

    treated_clusters = int(np.unique(panel.cluster[panel.treated_unit[panel.unit]]).size)
    control_clusters = int(np.unique(panel.cluster[~panel.treated_unit[panel.unit]]).size)
    n_treated = int(panel.treated_unit.sum())
    n_control = panel.n_units - n_treated

    few = g < few_clusters
    mode = "auto" if isinstance(wild_bootstrap, str) else bool(wild_bootstrap)
    want_boot = mode is True or (mode == "auto" and few)
    messages: list[str] = []
    bootstrap: WildBootstrapResult | None = None
    bootstrap_note = ""
    if want_boot and not panel.units_nested:
        if mode is True:
            raise SpecificationError(
                "The wild cluster bootstrap needs units nested in clusters (every unit inside "
                "a single cluster), but some units belong to several clusters. Cluster at "
                "the unit level or at a level that contains whole units (e.g. the practice "
                "of a person), or set wild_bootstrap=False."
            )
        bootstrap_note = (
            "The wild cluster bootstrap was not run: units are not nested in clusters."
        )
    elif want_boot:
        bootstrap = wild_cluster_bootstrap(
            partialled_regressor=fit.partialled_regressor,
            partialled_response=fit.partialled_response,
            design=fit.design,
            inverse_gram=fit.inverse_gram,
            residuals=fit.residuals,
            clusters=fit.clusters,
            alpha=alpha,
            null=0.0,
            n_boot=int(n_boot),
            seed=None if seed is None else int(seed),
        )
    if few:
        msg = (
            f"Only {g} clusters ({treated_clusters} with treated units, {control_clusters} "
            f"with control units; fewer than few_clusters={few_clusters}): cluster-robust "
            "(CR1) standard errors and t-based p-values are unreliable with so few clusters "
            "and tend to be too small."
        )
        if bootstrap is not None:
            msg += (
                " The wild cluster bootstrap p-value and interval are reported in row "
                "'att_wild_bootstrap'; prefer them."
            )
        else:
            msg += (
                " No wild cluster bootstrap was run ("
                + ("switched off" if mode is False else "units are not nested in clusters")
                + "); treat the CR1 interval with caution."
            )
        if min(treated_clusters, control_clusters) < 5:
            msg += (
                " With fewer than 5 treated (or control) clusters even the wild bootstrap "
                "can be misleading (MacKinnon & Webb 2017); consider randomisation inference."
            )
        messages.append(msg)
        warnings.warn(msg, StatisticalWarning, stacklevel=2)

    extra = {
        "n_clusters": g,
        "n_treated_units": n_treated,
        "n_control_units": n_control,
    }
    rows = [{
        "term": "att",
        "estimate": fit.coef[0],
        "std_error": se[0],
        "ci_lower": fit.coef[0] - crit * se[0],
        "ci_upper": fit.coef[0] + crit * se[0],
        "p_value": p_vals[0],
        "n": fit.n_obs,
        **extra,
    }]
    if bootstrap is not None:
        rows.append({
            "term": "att_wild_bootstrap",
            "estimate": fit.coef[0],
            "std_error": np.nan,
            "ci_lower": bootstrap.ci_lower,
            "ci_upper": bootstrap.ci_upper,
            "p_value": bootstrap.p_value,
            "n": fit.n_obs,
            **extra,
        })
    estimates = tidy_frame(rows)
    for col in extra:
        estimates[col] = estimates[col].astype("int64")

    coef_terms = [str(roles["treatment"]), *(str(c) for c in cov_list)]
    coefficients = tidy_frame([
        {
            "term": term,
            "estimate": fit.coef[i],
            "std_error": se[i],
            "ci_lower": fit.coef[i] - crit * se[i],
            "ci_upper": fit.coef[i] + crit * se[i],
            "p_value": p_vals[i],
            "n": fit.n_obs,
        }
        for i, term in enumerate(coef_terms)
    ])
    two_by_two, by_time = _group_means(panel)

    settings = {
        "outcome": roles["outcome"],
        "unit": roles["unit"],
        "time": roles["time"],
        "treatment": roles["treatment"],
        "cluster": roles.get("cluster", roles["unit"]),
        "covariates": list(cov_list),
        "alpha": alpha,
        "wild_bootstrap": mode,
        "bootstrap_run": bootstrap is not None,
        "bootstrap_weights": None if bootstrap is None else bootstrap.weights,
        "bootstrap_enumerated": None if bootstrap is None else bootstrap.enumerated,
        "n_boot": int(n_boot),
        "n_boot_used": None if bootstrap is None else bootstrap.n_boot,
        "webb_below": WEBB_BELOW,
        "seed": seed,
        "few_clusters": few_clusters,
        "treatment_start": panel.time_levels[panel.start],
        "n_periods": panel.n_times,
        "n_units": panel.n_units,
        "n_clusters": g,
        "n_treated_clusters": treated_clusters,
        "n_control_clusters": control_clusters,
        "t_df": t_df,
        "small_sample_factor": fit.small_sample,
        "k_dof": fit.k_dof,
        "units_nested_in_clusters": panel.units_nested,
    }
    return DiDResult(
        estimates=estimates,
        tables={
            "group_means": two_by_two,
            "group_means_by_time": by_time,
            "coefficients": coefficients,
        },
        method=_method_text(
            names=roles, covariates=cov_list, fit=fit, panel=panel, alpha=alpha,
            bootstrap=bootstrap, bootstrap_note=bootstrap_note,
        ),
        settings=settings,
        warnings=messages,
    )
