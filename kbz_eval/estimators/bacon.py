"""The Goodman-Bacon decomposition of the two-way fixed-effects DiD: ``kbz.bacon_decomposition``.

With staggered adoption the TWFE coefficient on a treatment dummy is a weighted average of
every 2 × 2 difference-in-differences between timing groups (Goodman-Bacon 2021,
Theorem 1):

- **treated vs never treated** — group ``k`` against the never-treated units over all
  periods (eq. 10a);
- **earlier vs later treated** — the earlier group ``k`` against the not-yet-treated later
  group ``l``, in the periods before ``l`` starts (eq. 10b);
- **later vs earlier treated** — the later group ``l`` against the *already treated*
  earlier group ``k``, in the periods after ``k`` started (eq. 10c). This is the
  "forbidden" comparison: when ``k``'s effect changes over time, its change is
  subtracted from ``l``'s effect, which can make the TWFE estimate misleading, even
  of the wrong sign;
- **later vs always treated** — as above with units treated in every period as the
  control (only when such units are present).

The weights (eqs. 10e–10g) grow with group sizes and with the variance of treatment in
each 2 × 2 sample — groups treated in the middle of the panel weigh most — and sum to 1.
This module computes each 2 × 2 estimate and weight from those formulas and reports the
TWFE coefficient computed separately (two-way demeaning) so the identity can be seen to
hold. Balanced panels only (the decomposition is exact for them); units not observed
in every period are dropped with a :class:`~kbz_eval.errors.StatisticalWarning`.

Compared with R ``bacondecomp`` (``bacon()``): the same three (four with always-treated
units) kinds of comparison, with each direction of a pair of timing groups its own row,
and the same estimates and weights for balanced panels without covariates — by
Goodman-Bacon's Theorem 1, which both follow; our type labels are snake_case words
(``treated_vs_never``, ``earlier_vs_later``, ``later_vs_earlier``,
``later_vs_always``). Not implemented: the decomposition with covariates
(``bacondecomp``'s within/between split) and unbalanced panels. Not checked against
``bacondecomp`` output (its castle-doctrine example data is not available here); checked
against a hand-worked panel and least squares instead (``tests/test_bacon_sensitivity.py``).
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Hashable
from typing import Any, Literal

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.results import Result, tidy_frame

#: Types of 2 × 2 comparison, in the order of the tables.
ComparisonType = Literal["treated_vs_never", "earlier_vs_later", "later_vs_earlier",
                         "later_vs_always"]
COMPARISON_TYPES: tuple[str, ...] = ("treated_vs_never", "earlier_vs_later",
                                     "later_vs_earlier", "later_vs_always")

#: Comparisons that use already-treated units as controls.
FORBIDDEN = ("later_vs_earlier", "later_vs_always")

_TYPE_TEXT = {
    "treated_vs_never": "treated vs never treated",
    "earlier_vs_later": "earlier vs later treated (later group not yet treated)",
    "later_vs_earlier": "later vs earlier treated (already-treated controls)",
    "later_vs_always": "later vs always treated (already-treated controls)",
}


class BaconResult(Result):
    """Result of :func:`bacon_decomposition`.

    ``tidy()`` rows: ``twfe`` (the TWFE coefficient on the treatment dummy, by two-way
    demeaning), ``decomposition`` (the weighted sum of the 2 × 2 estimates; equal to
    ``twfe`` up to rounding), and one row per comparison type present (``estimate``:
    the weight-averaged 2 × 2 estimate of that type; extra column ``weight``: its total
    weight). ``n`` is the number of units. No standard errors: this is a description of
    the TWFE estimate, not an inference.

    ``tables``:

    - ``comparisons``: one row per 2 × 2 comparison: ``type``, ``treated`` and
      ``control`` (first treatment period of each group; ``0`` = never treated),
      ``estimate``, ``weight``, ``n_treated``/``n_control`` (units), ``first_period``
      and ``last_period`` of the 2 × 2 window.
    - ``by_type``: ``type, weight, estimate, n_comparisons``.
    - ``groups``: ``group, n_units, share, share_treated`` (``D̄``: the share of periods
      in which the group is treated).
    """

    title = "Goodman-Bacon decomposition of the TWFE DiD"
    plotter = "sensitivity:plot_bacon"

    def plot_data(self) -> pd.DataFrame:
        """The comparisons: ``type, treated, control, estimate, weight``."""
        return self.tables["comparisons"][["type", "treated", "control", "estimate",
                                           "weight"]].copy()

    def headline(self) -> str:
        """One sentence: the TWFE estimate and the weight of forbidden comparisons."""
        est = self.estimates.set_index("term")
        bt = self.tables["by_type"].set_index("type")
        bad = float(bt.loc[bt.index.isin(FORBIDDEN), "weight"].sum())
        return (f"TWFE estimate {est.loc['twfe', 'estimate']:.4g} = weighted average of "
                f"{len(self.tables['comparisons'])} 2x2 comparisons; "
                f"{100 * bad:.1f}% of the weight on comparisons with already-treated "
                "controls")


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _panel(data: Any, outcome: Any, unit: Any, time: Any, group: Any
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(
            f"`data` must be a pandas DataFrame with one row per unit and period, but a "
            f"{type(data).__name__} was passed."
        )
    roles = {"outcome": outcome, "unit": unit, "time": time, "group": group}
    for role, col in roles.items():
        if col not in data.columns:
            close = difflib.get_close_matches(str(col), [str(c) for c in data.columns],
                                              n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise SpecificationError(
                f"The column for `{role}` ({_fmt(col)}) is not in `data`.{hint}"
            )
    for role in ("outcome", "time", "group"):
        col = data[roles[role]]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise SpecificationError(
                f"The column for `{role}` ({_fmt(roles[role])}) must be numeric, but it "
                f"has dtype {col.dtype}."
            )
    notes: list[str] = []
    df = data[list(dict.fromkeys(roles.values()))].copy()
    df[group] = df[group].fillna(0)
    missing = df[[outcome, unit, time]].isna().any(axis=1)
    if missing.any():
        notes.append(f"{int(missing.sum())} rows with a missing outcome, unit or period "
                     "were dropped.")
        df = df[~missing]
    if df.duplicated([unit, time]).any():
        raise SpecificationError(
            f"`data` must have one row per unit and period, but some units of "
            f"{_fmt(unit)} have several rows in one period of {_fmt(time)}."
        )
    if (df.groupby(unit)[group].nunique() > 1).any():
        raise SpecificationError(
            f"The first treatment period ({_fmt(group)}) must be the same in every row of "
            f"a unit, but it varies within some units of {_fmt(unit)}."
        )
    if (df[group] < 0).any():
        raise SpecificationError(
            f"The first treatment period ({_fmt(group)}) must be a period, or 0/NaN for "
            "never-treated units, but negative values occur."
        )
    times = np.sort(df[time].unique())
    counts = df.groupby(unit)[time].size()
    partial = counts.index[counts < len(times)]
    if len(partial):
        notes.append(f"{len(partial)} units of {_fmt(unit)} not observed in all "
                     f"{len(times)} periods were dropped: the decomposition holds for "
                     "balanced panels.")
        df = df[~df[unit].isin(partial)]
    if len(times) < 2 or df.empty:
        raise SpecificationError("The decomposition needs a balanced panel of at least "
                                 "two periods.")
    df = df.sort_values([unit, time])
    n_units = df[unit].nunique()
    y = df[outcome].to_numpy(float).reshape(n_units, len(times))
    g = df.groupby(unit, sort=True)[group].first().to_numpy(float)
    # treated after the last period = never treated; treated at or before the first =
    # always treated (their first treatment period becomes the first period)
    g = np.where(g > times[-1], 0.0, g)
    g = np.where((g > 0) & (g <= times[0]), times[0], g)
    return y, g, times, notes


def bacon_decomposition(data: pd.DataFrame, *, outcome: Hashable, unit: Hashable,
                        time: Hashable, group: Hashable) -> BaconResult:
    """Decompose the TWFE DiD estimate into its 2 × 2 comparisons (Goodman-Bacon 2021).

    Parameters
    ----------
    data
        Panel with one row per unit and period. Not modified.
    outcome
        Numeric outcome column.
    unit
        Unit identifier (practice, person).
    time
        Numeric period column (e.g. the year).
    group
        Numeric first treatment period of the unit (the same in all its rows); 0 or NaN
        for never-treated units. Units first treated after the last period count as
        never treated, units treated from the first period on as always treated.

    Returns
    -------
    BaconResult
        The TWFE coefficient, every 2 × 2 comparison with its estimate and weight
        (summing to 1), totals per comparison type; ``plot()`` draws estimate against
        weight by type.

    Raises
    ------
    SpecificationError
        Unknown or non-numeric columns, several rows per unit and period, a treatment
        period that varies within a unit, no variation in treatment timing (fewer than
        two timing groups counting the never treated).

    Warns
    -----
    StatisticalWarning
        Rows with missing values or units not observed in every period (dropped).

    Notes
    -----
    **Estimate.** The TWFE coefficient ``beta`` of ``y_it = a_i + l_t + beta D_it + e``,
    ``D_it = 1[t >= g_i]``, from the two-way-demeaned treatment ``D~``: ``beta = sum D~
    y / sum D~²``. With ``n_k`` the share of units in timing group ``k``, ``D̄_k`` the
    share of periods in which ``k`` is treated and ``V = mean(D~²)``, the weights are
    (Goodman-Bacon 2021, eqs. 10e–10g) ``s_kU = (n_k + n_U)² n_kU (1 - n_kU) D̄_k (1 -
    D̄_k) / V``; ``s_kl^k = ((n_k + n_l)(1 - D̄_l))² n_kl (1 - n_kl) (D̄_k - D̄_l)/(1 -
    D̄_l) · (1 - D̄_k)/(1 - D̄_l) / V``; ``s_kl^l = ((n_k + n_l) D̄_k)² n_kl (1 - n_kl)
    D̄_l/D̄_k · (D̄_k - D̄_l)/D̄_k / V``, with ``n_ab = n_a / (n_a + n_b)``; the 2 × 2
    estimates are differences of mean changes between the windows (eqs. 10a–10c). Both
    ``weight`` and the identity ``sum weight · estimate = beta`` are exact (to rounding)
    for balanced panels. **Variance.** None: a decomposition, not an inference. Use
    :func:`kbz_eval.staggered_did` for effects that avoid the forbidden comparisons.

    Examples
    --------
    >>> import pandas as pd
    >>> from kbz_eval.estimators.bacon import bacon_decomposition
    >>> y = {0: [0, 0, 0, 0], 2: [0, 2, 3, 4], 4: [0, 0, 0, 1]}
    >>> rows = [(g, t + 1, g, v) for g, ys in y.items() for t, v in enumerate(ys)]
    >>> panel = pd.DataFrame(rows, columns=["unit", "year", "start", "y"])
    >>> res = bacon_decomposition(panel, outcome="y", unit="unit", time="year",
    ...                           group="start")
    >>> round(res.settings["twfe"], 10)
    1.6
    >>> res.tables["comparisons"][["type", "treated", "control", "estimate", "weight"]]
                   type  treated  control  estimate  weight
    0  treated_vs_never        2        0       3.0     0.3
    1  treated_vs_never        4        0       1.0     0.3
    2  earlier_vs_later        2        4       2.5     0.2
    3  later_vs_earlier        4        2      -0.5     0.2
    """
    y, g, times, notes = _panel(data, outcome, unit, time, group)
    for msg in notes:
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
    n_units, n_t = y.shape
    d = (g[:, None] > 0) & (times[None, :] >= g[:, None])
    d = d.astype(float)
    groups = np.unique(g)
    timing = groups[groups > 0]
    if len(groups) < 2 or len(timing) == 0:
        raise SpecificationError(
            f"The decomposition needs treated units and variation in treatment timing "
            f"(at least two groups of {_fmt(group)} counting the never treated), but "
            f"there are groups {[float(x) for x in groups]}."
        )
    dd = d - d.mean(1, keepdims=True) - d.mean(0, keepdims=True) + d.mean()
    var_d = float((dd**2).mean())
    if var_d <= 0:
        raise SpecificationError("The treatment dummy does not vary within units and "
                                 "periods: there is no TWFE estimate to decompose.")
    beta = float((dd * y).sum() / (dd**2).sum())
    share = {k: float((g == k).mean()) for k in groups}
    dbar = {k: float(d[g == k][0].mean()) for k in groups}
    size = {k: int((g == k).sum()) for k in groups}

    def mean(k: float, cols: np.ndarray) -> float:
        return float(y[g == k][:, cols].mean())

    rows: list[dict[str, Any]] = []
    if 0 in share:
        for k in timing:
            if dbar[k] in (0.0, 1.0):
                continue
            pre, post = times < k, times >= k
            est = (mean(k, post) - mean(k, pre)) - (mean(0, post) - mean(0, pre))
            nku = share[k] / (share[k] + share[0])
            w = (share[k] + share[0])**2 * nku * (1 - nku) * dbar[k] * (1 - dbar[k])
            rows.append({"type": "treated_vs_never", "treated": k, "control": 0.0,
                         "estimate": est, "weight": w / var_d, "n_treated": size[k],
                         "n_control": size[0], "first_period": times[0],
                         "last_period": times[-1]})
    for i, k in enumerate(timing):
        for l_ in timing[i + 1:]:
            nkl = share[k] / (share[k] + share[l_])
            pre, mid, post = times < k, (times >= k) & (times < l_), times >= l_
            if pre.any():  # earlier k vs not-yet-treated l, periods before l
                est = (mean(k, mid) - mean(k, pre)) - (mean(l_, mid) - mean(l_, pre))
                w = (((share[k] + share[l_]) * (1 - dbar[l_]))**2 * nkl * (1 - nkl)
                     * (dbar[k] - dbar[l_]) / (1 - dbar[l_])
                     * (1 - dbar[k]) / (1 - dbar[l_]))
                rows.append({"type": "earlier_vs_later", "treated": k, "control": l_,
                             "estimate": est, "weight": w / var_d, "n_treated": size[k],
                             "n_control": size[l_], "first_period": times[0],
                             "last_period": times[~post][-1]})
            # later l vs already-treated k, periods from k on
            est = (mean(l_, post) - mean(l_, mid)) - (mean(k, post) - mean(k, mid))
            w = (((share[k] + share[l_]) * dbar[k])**2 * nkl * (1 - nkl)
                 * dbar[l_] / dbar[k] * (dbar[k] - dbar[l_]) / dbar[k])
            kind = "later_vs_earlier" if pre.any() else "later_vs_always"
            rows.append({"type": kind, "treated": l_, "control": k, "estimate": est,
                         "weight": w / var_d, "n_treated": size[l_],
                         "n_control": size[k], "first_period": times[~pre][0],
                         "last_period": times[-1]})
    comparisons = pd.DataFrame(rows)
    for col in ("treated", "control", "first_period", "last_period"):
        if np.all(np.mod(comparisons[col].to_numpy(float), 1) == 0):
            comparisons[col] = comparisons[col].astype("int64")
    total = float((comparisons["weight"] * comparisons["estimate"]).sum())
    by_type = []
    for kind in COMPARISON_TYPES:
        sub = comparisons[comparisons["type"] == kind]
        if sub.empty:
            continue
        wsum = float(sub["weight"].sum())
        est = float((sub["weight"] * sub["estimate"]).sum() / wsum) if wsum > 0 else np.nan
        by_type.append({"type": kind, "weight": wsum, "estimate": est,
                        "n_comparisons": len(sub)})
    by_type_df = pd.DataFrame(by_type)
    group_table = pd.DataFrame({"group": groups, "n_units": [size[k] for k in groups],
                                "share": [share[k] for k in groups],
                                "share_treated": [dbar[k] for k in groups]})
    estimates = tidy_frame(
        [{"term": "twfe", "estimate": beta, "n": n_units, "weight": 1.0},
         {"term": "decomposition", "estimate": total, "n": n_units,
          "weight": float(comparisons["weight"].sum())}]
        + [{"term": row["type"], "estimate": row["estimate"], "n": n_units,
            "weight": row["weight"]} for row in by_type]
    )
    forbidden = float(by_type_df.loc[by_type_df["type"].isin(FORBIDDEN), "weight"].sum())
    method = (
        f"Goodman-Bacon (2021) decomposition of the two-way fixed-effects coefficient on "
        f"the treatment dummy (unit and period effects, balanced panel of {n_units} units "
        f"over {n_t} periods) into {len(comparisons)} 2x2 difference-in-differences "
        "between timing groups, weighted by group sizes and the variance of treatment in "
        "each 2x2 sample (eqs. 10e-10g); the weights sum to 1 and the weighted estimates "
        f"to the TWFE coefficient. {100 * forbidden:.1f}% of the weight is on comparisons "
        "whose controls are already treated: with effects that change over time these "
        "bias the TWFE estimate (possibly past zero); staggered_did avoids them. No "
        "standard errors: a description of the estimate, not an inference."
    )
    settings = {"outcome": outcome, "unit": unit, "time": time, "group": group,
                "twfe": beta, "weight_sum": float(comparisons["weight"].sum()),
                "forbidden_weight": forbidden, "n_units": n_units,
                "periods": [float(t) for t in times]}
    return BaconResult(estimates=estimates,
                       tables={"comparisons": comparisons, "by_type": by_type_df,
                               "groups": group_table},
                       method=method, settings=settings, warnings=notes)


__all__ = ["COMPARISON_TYPES", "FORBIDDEN", "BaconResult", "ComparisonType",
           "bacon_decomposition"]
