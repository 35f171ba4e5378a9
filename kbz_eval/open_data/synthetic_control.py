"""Synthetic control on yearly area series, with placebo-in-space and in-time placebos.

A treated area's pre-period series is reproduced by a convex combination of donor areas
(weights non-negative, summing to one); the gap after the start year is the effect
estimate. Refitting with each donor as if it were treated gives the placebo
distribution (placebo-in-space, Abadie, Diamond & Hainmueller 2010); refitting on an
earlier, pretended start year gives the in-time placebo (Abadie 2021), where a real
effect should not appear. Exact pre-period fits (possible when there are fewer
pre-period years than donors) are detected: the post/pre RMSPE ratio — whose
denominator would then be floating-point round-off — is kept out of the p-value, and
when the treated unit itself fits exactly no p-value is given at all.
"""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import linprog, nnls

from kbz_eval.errors import SpecificationError, StatisticalWarning
from kbz_eval.open_data.standardise import COUNTRY, CostPerInsuredYear, resolve_areas
from kbz_eval.open_data.vektis import display_name
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats.options import PlaceboStatistic, check_option
from kbz_eval.stats.pvalues import format_p

#: The KBZ cities (spelled as in the Vektis files) and the first year of KBZ there.
#: Utrecht: Overvecht 2014 (the pilot, 2014–2016); a wider Utrecht wave followed in
#: 2019. Amsterdam, Rotterdam, Den Haag and Haarlem: 2019. These are the project's
#: working assumptions; pass ``treatment_year`` to use others.
KBZ_ROLLOUT = {"UTRECHT": 2014, "AMSTERDAM": 2019, "ROTTERDAM": 2019, "S GRAVENHAGE": 2019,
               "HAARLEM": 2019}
#: Every KBZ wave per city (for marking plots).
KBZ_WAVES = {"UTRECHT": (2014, 2019), "AMSTERDAM": (2019,), "ROTTERDAM": (2019,),
             "S GRAVENHAGE": (2019,), "HAARLEM": (2019,)}
#: Display names of the KBZ cities and the country
#: (:func:`~kbz_eval.open_data.vektis.display_name`).
CITY_LABELS = {name: display_name(name) for name in (*KBZ_ROLLOUT, COUNTRY)}


# --------------------------------------------------------------------------- numerics
def simplex_weights(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """Weights ``w >= 0``, ``sum(w) = 1`` minimising ``||target - donors @ w||²``.

    Parameters
    ----------
    target
        Shape ``(T,)``: the treated unit's pre-period values.
    donors
        Shape ``(T, J)``: the donors' pre-period values.

    Returns
    -------
    ndarray
        Shape ``(J,)``.

    Notes
    -----
    Non-negative least squares (Lawson–Hanson, :func:`scipy.optimize.nnls`) on the
    system augmented with one heavily weighted row of ones, ``[X; M·1'] w = [y; M]``:
    for large ``M`` its solution satisfies ``sum(w) = 1`` up to about ``1/M²`` relative
    error (checked: below 1e-8 on the Vektis panels) and is then rescaled to sum to one
    exactly. Series are scaled by their standard deviation first. When the pre-period is
    shorter than the number of donors the minimiser need not be unique; any minimiser
    reproduces the pre-period equally well.
    """
    y = np.asarray(target, dtype=float)
    x = np.asarray(donors, dtype=float)
    n_donors = x.shape[1]
    if n_donors == 1:
        return np.ones(1)
    scale = max(float(np.std(np.column_stack([y, x]))), 1e-12)
    ys, xs = y / scale, x / scale
    big = 1e4 * max(1.0, float(np.abs(xs).max()))
    a = np.vstack([xs, np.full((1, n_donors), big)])
    b = np.concatenate([ys, [big]])
    w, _ = nnls(a, b, maxiter=100 * n_donors)
    w = np.clip(w, 0.0, None)
    total = w.sum()
    return w / total if total > 0 else np.full(n_donors, 1.0 / n_donors)


def _rmspe(gaps: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(gaps)))) if gaps.size else float("nan")


def _fit(panel: np.ndarray, treated: int, donors: Sequence[int], pre: np.ndarray,
         demean: bool) -> tuple[np.ndarray, np.ndarray]:
    """Weights and synthetic series of column ``treated`` from columns ``donors``."""
    y = panel[:, treated]
    x = panel[:, list(donors)]
    if demean:
        y_c = y - y[pre].mean()
        x_c = x - x[pre].mean(axis=0)
        w = simplex_weights(y_c[pre], x_c[pre])
        synth = x_c @ w + y[pre].mean()
    else:
        w = simplex_weights(y[pre], x[pre])
        synth = x @ w
    return w, synth


#: Words for each placebo statistic (the ``statistic`` column of ``placebo_p_value``).
STATISTIC_WORDS = {"ratio": "post/pre RMSPE ratio", "post_rmspe": "post-period RMSPE"}
#: Column of the ``placebos`` table holding each statistic.
_STATISTIC_COLUMN = {"ratio": "ratio", "post_rmspe": "post_rmspe"}
#: A pre-period fit is exact when its RMSPE is at most this share of the unit's
#: pre-period level (root mean square of its values).
EXACT_FIT_TOL = 1e-6
#: Relative tolerance for ties when ranking the treated statistic among the placebos.
_TIE_TOL = 1e-12


# --------------------------------------------------------------------------- placebos
def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(values)))) if values.size else float("nan")


def _unit_row(unit: str, treated: bool, gap: np.ndarray, level: np.ndarray,
              pre: np.ndarray, tol: float) -> dict[str, Any]:
    """Fit statistics of one unit (``unit`` its display name, ``area_code`` its key);
    the ratio is NaN when the pre-period fit is exact."""
    pre_rmspe, post_rmspe = _rmspe(gap[pre]), _rmspe(gap[~pre])
    exact = bool(pre_rmspe <= tol * _rms(level[pre]))
    return {"unit": display_name(unit), "area_code": unit, "treated": treated,
            "pre_rmspe": pre_rmspe, "post_rmspe": post_rmspe,
            "ratio": float("nan") if exact else post_rmspe / pre_rmspe,
            "mean_post_gap": float(gap[~pre].mean()), "exact_fit": exact}


def _placebo_runs(values: np.ndarray, names: Sequence[str], gap: np.ndarray,
                  pre: np.ndarray, *, demean: bool, tol: float,
                  run: bool) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The treated unit's row and, when ``run``, one refit per donor treated in turn
    (the other donors as its pool; the treated unit is never a donor)."""
    rows = [_unit_row(names[0], True, gap, values[:, 0], pre, tol)]
    gaps = {names[0]: gap}
    if run:
        donor_idx = list(range(1, values.shape[1]))
        for j in donor_idx:
            _, s_j = _fit(values, j, [k for k in donor_idx if k != j], pre, demean)
            gaps[names[j]] = values[:, j] - s_j
            rows.append(_unit_row(names[j], False, gaps[names[j]], values[:, j], pre, tol))
    return pd.DataFrame(rows), gaps


def _exact_fit_words(placebos: pd.DataFrame, *, name_donors: bool = True) -> str:
    """"Utrecht and 15 of 30 donors (A, B, ...)" for the units with an exact fit."""
    exact = placebos[placebos["exact_fit"]]
    parts = exact[exact["treated"]]["unit"].tolist()
    donors = exact[~exact["treated"]]["unit"].tolist()
    if donors:
        names = f" ({', '.join(donors)})" if name_donors else ""
        parts.append(f"{len(donors)} of {int((~placebos['treated']).sum())} donors{names}")
    return " and ".join(parts)


def placebo_test(placebos: pd.DataFrame,
                 statistic: PlaceboStatistic = "auto") -> dict[str, Any]:
    """The placebo-in-space p-value as one tidy row (term ``placebo_p_value``).

    Parameters
    ----------
    placebos
        The ``placebos`` table: first row the treated unit, then one row per placebo,
        with ``post_rmspe``, ``ratio`` and ``exact_fit``.
    statistic
        ``"ratio"`` (post/pre RMSPE), ``"post_rmspe"``, or ``"auto"``: the ratio unless
        some unit's pre-period fit is exact, then the post-period RMSPE.

    Returns
    -------
    dict
        ``estimate`` and ``p_value`` (the p-value, NaN when refused), ``statistic`` (in
        words), ``statistic_value`` (the treated unit's), ``rank`` (1 = most extreme),
        ``p_min`` = 1/(J+1), ``n`` = J+1 and ``note`` (why a statistic was refused).

    Notes
    -----
    :math:`p = \\#\\{j : s_j \\ge s_1\\} / (J + 1)` over the treated unit and its J
    placebos, so the smallest attainable p is :math:`1/(J+1)`. Refusals, in order:

    * the treated unit's pre-period fit is exact — its weights are not unique (many
      weightings reproduce the pre-period), so every statistic, and the p-value, would
      depend on which one the solver returns: no p-value (NaN, with the reason);
    * a donor's fit is exact — the ratio divides by round-off for it: ``"ratio"`` gives
      NaN with the reason, ``"auto"`` uses the post-period RMSPE and names the donors.
    """
    n_units = len(placebos)
    exact_words = _exact_fit_words(placebos) if placebos["exact_fit"].any() else ""
    used = statistic if statistic != "auto" else ("post_rmspe" if exact_words else "ratio")
    row: dict[str, Any] = {"term": "placebo_p_value", "n": n_units, "p_min": 1.0 / n_units,
                           "period": "post", "statistic": STATISTIC_WORDS[used], "note": ""}
    if n_units < 2:
        return {**row, "note": "placebo-in-space not run (placebo=False)"}
    if placebos["exact_fit"].iloc[0]:
        return {**row, "note": (
            f"not reported: the pre-period fit of {placebos['unit'].iloc[0]} is exact, so "
            "its donor weights are not unique and any placebo statistic would depend on "
            "which exact weighting the solver returns")}
    if used == "ratio" and exact_words:
        return {**row, "note": (f"refused: exact pre-period fit for {exact_words}; the post/"
                                "pre RMSPE ratio would divide by round-off")}
    values = placebos[_STATISTIC_COLUMN[used]].to_numpy(dtype=float)
    rank = int((values >= values[0] - _TIE_TOL * abs(values[0])).sum())
    if exact_words and statistic == "auto":
        row["note"] = (f"post/pre RMSPE ratio refused (exact pre-period fit for "
                       f"{exact_words}); post-period RMSPE used instead")
    return {**row, "estimate": rank / n_units, "p_value": rank / n_units,
            "statistic_value": float(values[0]), "rank": rank}


def exact_fit_gap_range(values: np.ndarray, pre: np.ndarray, *, demean: bool,
                        tol: float) -> tuple[float, float]:
    """Smallest and largest average post-period gap of the treated unit (column 0) over
    all simplex weightings that reproduce its pre-period within the exact-fit tolerance.

    When the pre-period fit is exact the weights are not unique; this range shows how
    much the estimate depends on the (arbitrary) choice among them. Two linear
    programmes (HiGHS): optimise the synthetic post-period mean subject to
    :math:`|X_{pre} w - y_{pre}| \\le` ``tol`` × level, :math:`w \\ge 0, \\sum w = 1`.
    Returns NaNs when the programme finds no such weighting.
    """
    y, x = values[:, 0], values[:, 1:]
    offset = 0.0
    if demean:
        offset = float(y[pre].mean())
        y, x = y - offset, x - x[pre].mean(axis=0)
    slack = max(tol * _rms(values[pre, 0]), 1e-12)
    a_ub = np.vstack([x[pre], -x[pre]])
    b_ub = np.concatenate([y[pre] + slack, slack - y[pre]])
    cost = x[~pre].mean(axis=0)
    means = []
    for sign in (1.0, -1.0):
        res = linprog(sign * cost, A_ub=a_ub, b_ub=b_ub, A_eq=np.ones((1, x.shape[1])),
                      b_eq=[1.0], bounds=(0, None), method="highs")
        if res.status != 0:
            return float("nan"), float("nan")
        means.append(float(cost @ res.x) + offset)
    observed = float(values[~pre, 0].mean())
    return observed - means[1], observed - means[0]


def _span(years: np.ndarray) -> str:
    """"2011-2014" or "2013"."""
    first, last = int(years.min()), int(years.max())
    return str(first) if first == last else f"{first}-{last}"


def _default_in_time_years(n_pre: int) -> int:
    """Half the pre-period, rounded down (at least one year)."""
    return max(1, n_pre // 2)


def in_time_placebo(values: np.ndarray, years: np.ndarray, treatment_year: int,
                    in_time_years: int, *, demean: bool,
                    tol: float) -> tuple[dict[str, Any], pd.DataFrame]:
    """Pretend treatment began ``in_time_years`` earlier; refit on the years before.

    Returns the tidy row ``in_time_placebo_gap`` (mean gap over the pretended post
    years, which lie before the real start) and the table ``year, treated, synthetic,
    gap, period`` with period ``"placebo pre"``, ``"placebo post"`` or ``"post"`` (the
    real post period, where the in-time synthetic is extrapolated further).
    """
    start = int(treatment_year) - int(in_time_years)
    fit_years = years < start
    fake_post = (years >= start) & (years < int(treatment_year))
    row: dict[str, Any] = {"term": "in_time_placebo_gap", "year": start, "period": "placebo post",
                           "placebo_start": start}
    if fit_years.sum() < 2 or not fake_post.any():
        note = (f"not run: a start in {start} leaves {int(fit_years.sum())} year(s) to fit "
                f"and {int(fake_post.sum())} placebo post year(s); need 2 and 1")
        return {**row, "note": note}, pd.DataFrame(
            columns=["year", "treated", "synthetic", "gap", "period"])
    _, synth = _fit(values, 0, range(1, values.shape[1]), fit_years, demean)
    gap = values[:, 0] - synth
    exact = _rmspe(gap[fit_years]) <= tol * _rms(values[fit_years, 0])
    period = np.where(fit_years, "placebo pre", np.where(fake_post, "placebo post", "post"))
    table = pd.DataFrame({"year": years, "treated": values[:, 0], "synthetic": synth,
                          "gap": gap, "period": period})
    plural = "s" if in_time_years > 1 else ""
    note = (f"treatment pretended to start in {start}, {in_time_years} year{plural} before "
            f"{treatment_year}; fitted on {_span(years[fit_years])}; gap averaged "
            f"over {_span(years[fake_post])}, before the real start: a real effect should not "
            "appear here" + ("; the placebo pre-period fit is exact" if exact else ""))
    return {**row, "estimate": float(gap[fake_post].mean()), "n_years": int(fake_post.sum()),
            "treated_value": float(values[fake_post, 0].mean()),
            "synthetic_value": float(synth[fake_post].mean()), "note": note}, table


# --------------------------------------------------------------------------- result
@dataclass(repr=False)
class SyntheticControl(Result):
    """Synthetic control estimate with placebo-in-space and in-time placebo checks.

    ``estimates``: one row per year (``gap <year>``: treated minus synthetic; ``period``
    pre/post), ``average post-period gap`` (with ``range_lower``/``range_upper``, its
    range over exactly fitting weightings, when the treated fit is exact),
    ``pre-period RMSPE``, ``post-period RMSPE``,
    ``post/pre RMSPE ratio`` (NaN when the treated fit is exact), ``placebo_p_value``
    (its ``statistic``, ``statistic_value``, ``rank``, ``p_min`` = 1/(J+1) and ``note``),
    ``fit_degenerate`` (1 when some pre-period fit is exact; ``n_exact_fits``,
    ``exact_fit_units``) and ``in_time_placebo_gap``. Tables: ``series`` (treated,
    synthetic, gap per year), ``weights`` (donor weights), ``placebos`` (per unit:
    pre/post RMSPE, ratio, mean post gap, ``exact_fit``), ``placebo_gaps`` (year × unit)
    and ``in_time_placebo`` (the refit with the pretended start).

    Units are shown by their display name
    (:func:`~kbz_eval.open_data.vektis.display_name`: "Den Haag", not "S GRAVENHAGE");
    ``weights`` and ``placebos`` keep the name as spelled in the data in ``area_code``,
    and ``settings["treated"]`` is that spelling too.
    """

    title: ClassVar[str] = "Synthetic control"
    plotter: ClassVar[str | None] = "open_data:synthetic_control"

    def summary(self) -> pd.DataFrame:
        """The yearly series, the average post-period gap and the placebo checks."""
        return self.tidy()[["term", "estimate", "p_value", "n", "n_years", "year", "period",
                            "treated_value", "synthetic_value", "range_lower",
                            "range_upper", "statistic", "p_min", "note"]].round(3)

    def plot_data(self) -> pd.DataFrame:
        """Treated and synthetic series per year (what :meth:`plot` draws)."""
        return self.tables["series"].copy()

    def _row(self, term: str) -> pd.Series | None:
        rows = self.estimates[self.estimates["term"] == term]
        return None if rows.empty else rows.iloc[0]

    def headline(self) -> str:
        gap, test = self._row("average post-period gap"), self._row("placebo_p_value")
        if gap is None:
            return f"{self.title}: no post period"
        text = (f"{display_name(self.settings.get('treated', ''))} vs synthetic control from "
                f"{self.settings.get('treatment_year')}: average gap {gap['estimate']:+.4g}")
        if pd.notna(gap.get("range_lower")):
            text += (f" (not unique: exact pre-period fits give {gap['range_lower']:+.4g} to "
                     f"{gap['range_upper']:+.4g})")
        if test is not None and pd.notna(test["p_value"]):
            n = int(test["n"])
            floor = ("the smallest attainable" if test["rank"] == 1
                     else "smallest attainable")
            text += (f"; placebo-in-space {format_p(test['p_value'])} ({test['statistic']}, "
                     f"{n - 1} placebos; {floor} p = 1/{n})")
        elif test is not None and pd.notna(gap.get("range_lower")):
            text += "; no placebo p-value (the weights are not unique)"
        elif test is not None:
            text += f"; no placebo p-value ({test['note']})"
        degenerate = self._row("fit_degenerate")
        if degenerate is not None and degenerate["estimate"] == 1:
            text += f"; {degenerate['note']}"
        in_time = self._row("in_time_placebo_gap")
        if in_time is not None and pd.notna(in_time["estimate"]):
            text += (f"; in-time placebo (pretended start {int(in_time['year'])}): gap "
                     f"{in_time['estimate']:+.4g}")
        return text


def _panel_from_costs(costs: CostPerInsuredYear, group: str, method: str) -> pd.DataFrame:
    est = costs.estimates
    sel = est[(est["cost_group"] == group) & (est["method"] == method)]
    if sel.empty:
        raise SpecificationError(
            f"The cost result has no rows for group {group!r} and method {method!r}; "
            f"compute it with groups=[{group!r}] and methods=[{method!r}]."
        )
    return sel.pivot(index="year", columns="area", values="estimate").sort_index()


def donor_pool(costs: CostPerInsuredYear, *, n_donors: int = 30,
               exclude: Iterable[str] = (), size_year: int | None = None) -> list[str]:
    """The ``n_donors`` largest municipalities by insured years, KBZ cities excluded.

    Size is measured in ``size_year`` (default the first year of the result); only
    municipalities with a value in every year qualify.
    """
    est = costs.estimates
    first = int(est["year"].min()) if size_year is None else int(size_year)
    sizes = est[(est["year"] == first) & (est["method"] == est["method"].iloc[0])
                & (est["cost_group"] == est["cost_group"].iloc[0])]
    sizes = sizes.groupby("area")["insured_years"].first()
    n_years = est["year"].nunique()
    complete = est.groupby("area")["year"].nunique()
    complete = set(complete[complete == n_years].index)
    skip = {COUNTRY, *KBZ_ROLLOUT, *exclude}
    ranked = [a for a in sizes.sort_values(ascending=False).index
              if a not in skip and a in complete]
    return ranked[:n_donors]


# --------------------------------------------------------------------------- front door
@dataclass(frozen=True)
class _Setup:
    """The panel to fit (treated unit first, then the donors; complete years only)."""

    panel: pd.DataFrame
    source: str
    pool_text: str
    treatment_year: int


def _setup(data: CostPerInsuredYear | pd.DataFrame | None, *, treated: str,
           treatment_year: int | None, group: str, method: str,
           donors: Iterable[str] | None, n_donors: int, folder: str | None) -> _Setup:
    """Resolve the units and the start year, and check the panel can be fitted."""
    if isinstance(data, pd.DataFrame):
        panel = data.sort_index().astype(float)
        if treated not in panel.columns:
            raise SpecificationError(
                f"`treated` {treated!r} is not a column of the panel; columns: "
                f"{list(panel.columns)[:10]}..."
            )
        treated_name = treated
        pool = list(donors) if donors is not None else [c for c in panel.columns if c != treated]
        source, pool_text = "panel", "the other panel columns"
    else:
        if data is None:
            from kbz_eval.open_data.standardise import cost_per_insured_year

            data = cost_per_insured_year(folder=folder, groups=[group], methods=[method])
        panel = _panel_from_costs(data, group, method)
        treated_name = resolve_areas([treated], panel.columns)[0]
        pool = (resolve_areas(list(donors), panel.columns) if donors is not None
                else donor_pool(data, n_donors=n_donors, exclude=[treated_name]))
        source = f"{group} cost per insured year ({method})"
        pool_text = "the largest non-KBZ municipalities by insured years"
    pool = [d for d in pool if d != treated_name]
    if donors is not None:
        pool_text = "given"
    if treatment_year is None:
        if treated_name not in KBZ_ROLLOUT:
            raise SpecificationError(
                f"No KBZ start year known for {treated_name!r}; pass treatment_year=..."
            )
        treatment_year = KBZ_ROLLOUT[treated_name]
    panel = panel[[treated_name, *pool]].dropna(axis=0, how="any")
    pre = panel.index.to_numpy(dtype=int) < int(treatment_year)
    if pre.sum() < 2:
        raise SpecificationError(
            f"Only {int(pre.sum())} pre-period year(s) before {treatment_year}; need at least 2."
        )
    if pre.all():
        raise SpecificationError(f"No year from {treatment_year} on in the data.")
    if len(pool) < 2:
        raise SpecificationError(
            "The donor pool needs at least two units"
            + ("; compute the cost result without `areas=` so it holds every municipality."
               if source != "panel" else ".")
        )
    return _Setup(panel, source, pool_text, int(treatment_year))


def _check_tolerance(exact_fit_tol: Any) -> float:
    if isinstance(exact_fit_tol, bool) or not isinstance(
            exact_fit_tol, (int, float, np.floating)) or not 0 <= float(exact_fit_tol) < 1:
        raise SpecificationError(
            f"The value for `exact_fit_tol` must be a number in [0, 1) (share of the "
            f"series' level; default {EXACT_FIT_TOL:g}), but {exact_fit_tol!r} was passed."
        )
    return float(exact_fit_tol)


def _check_in_time_years(value: Any, years: np.ndarray, treatment_year: int) -> int:
    """Years by which the in-time placebo's start precedes the real one (0 = not run)."""
    n_pre = int((years < treatment_year).sum())
    if value is None:
        return _default_in_time_years(n_pre)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise SpecificationError(
            f"The value for `in_time_years` must be a non-negative integer (0 = no in-time "
            f"placebo; default None = half the pre-period), but {value!r} was passed."
        )
    n_fit = int((years < treatment_year - int(value)).sum())
    if value > 0 and n_fit < 2:
        raise SpecificationError(
            f"`in_time_years`={value} leaves {n_fit} year(s) before the pretended start "
            f"{treatment_year - int(value)} to fit the in-time placebo; need at least 2 "
            f"(the pre-period has {n_pre} years)."
        )
    return int(value)


def _degenerate_row(placebos: pd.DataFrame, tol: float) -> dict[str, Any]:
    exact = placebos["exact_fit"].to_numpy(dtype=bool)
    note = (f"exact pre-period fit (RMSPE at most {tol:g} x the level) for "
            f"{_exact_fit_words(placebos, name_donors=False)}" if exact.any()
            else "no exact pre-period fit")
    return {"term": "fit_degenerate", "estimate": float(exact.any()), "n": len(placebos),
            "period": "pre", "n_exact_fits": int(exact.sum()),
            "exact_fit_units": ", ".join(placebos.loc[exact, "unit"]), "note": note}


def _fit_warnings(values: np.ndarray, pre: np.ndarray, placebos: pd.DataFrame,
                  test: dict[str, Any], *, demean: bool, tol: float) -> list[str]:
    """Few pre-period years, a poor treated fit, exact (degenerate) fits."""
    n_pre, n_donors = int(pre.sum()), values.shape[1] - 1
    out = []
    if n_pre < 5:
        out.append(f"Only {n_pre} pre-period years: the fit rests on very few points.")
    spread = float(np.std(values[pre, 0]))
    if placebos["pre_rmspe"].iloc[0] > 0.5 * max(spread, 1e-12) and not demean:
        out.append("The pre-period fit is poor (RMSPE above half the treated unit's "
                   "pre-period spread); consider demean=True or another donor pool.")
    if placebos["exact_fit"].any():
        if len(placebos) < 2:
            consequence = ""
        elif placebos["exact_fit"].iloc[0]:
            consequence = (f"The weights of {placebos['unit'].iloc[0]} are not unique, so no "
                           "placebo p-value is reported (see the range of the average gap).")
        elif pd.isna(test.get("p_value")):
            consequence = f"No placebo p-value is reported: {test['note']}."
        else:
            consequence = f"The placebo p-value uses the {test['statistic']}."
        message = (
            f"Exact pre-period fit (RMSPE at most {tol:g} x the series' level) for "
            f"{_exact_fit_words(placebos)}: with {n_pre} pre-period years and {n_donors} "
            "donors the weights can reproduce the pre-period exactly (over-fitting), and "
            f"a post/pre RMSPE ratio would rank floating-point round-off. {consequence}")
        out.append(message.rstrip())
    return out


def _tidy_rows(years: np.ndarray, pre: np.ndarray, values: np.ndarray, synth: np.ndarray,
               placebos: pd.DataFrame, gap_range: tuple[float, float],
               extra: Sequence[dict[str, Any]]) -> list[dict]:
    """Per-year gaps, the average gap (with its range over exact fits), the fit
    statistics, then ``extra`` rows."""
    gap = values[:, 0] - synth
    rows = [{"term": f"gap {y}", "estimate": g, "year": int(y),
             "period": "pre" if p else "post", "treated_value": t, "synthetic_value": s}
            for y, g, p, t, s in zip(years, gap, pre, values[:, 0], synth, strict=True)]
    treated = placebos.iloc[0]
    ratio_note = "not defined: the treated unit's pre-period fit is exact" if treated[
        "exact_fit"] else ""
    rows += [
        {"term": "average post-period gap", "estimate": float(gap[~pre].mean()),
         "n_years": int((~pre).sum()), "period": "post",
         "treated_value": float(values[~pre, 0].mean()),
         "synthetic_value": float(synth[~pre].mean()),
         "range_lower": gap_range[0], "range_upper": gap_range[1], "note": (
             f"not unique: weightings that reproduce the pre-period exactly give average "
             f"gaps from {gap_range[0]:+.4g} to {gap_range[1]:+.4g}"
             if np.isfinite(gap_range[0]) else "")},
        {"term": "pre-period RMSPE", "estimate": treated["pre_rmspe"], "n_years": int(pre.sum()),
         "period": "pre"},
        {"term": "post-period RMSPE", "estimate": treated["post_rmspe"],
         "n_years": int((~pre).sum()), "period": "post"},
        {"term": "post/pre RMSPE ratio", "estimate": treated["ratio"], "period": "post",
         "note": ratio_note},
        *extra,
    ]
    return rows


def _method_text(setup: _Setup, n_pre: int, demean: bool, test: dict[str, Any],
                 in_time: dict[str, Any], tol: float) -> str:
    treated, n_pool = setup.panel.columns[0], setup.panel.shape[1] - 1
    demean_text = " after removing each series' pre-period mean" if demean else ""
    if pd.notna(test.get("p_value")):
        inference = (f"placebo-in-space on the {test['statistic']}: p = share of units "
                     f"(placebos and the treated) whose statistic is at least the treated "
                     f"one's; smallest attainable p = 1/{int(test['n'])}")
    else:
        inference = f"placebo-in-space p-value not reported ({test['note']})"
    in_time_text = (f"{in_time['note']}" if pd.notna(in_time.get("estimate"))
                    else in_time.get("note", "not run"))
    return (
        f"Synthetic control for {display_name(treated)} on {setup.source}: donor weights on "
        f"the simplex (non-negative, summing to 1) fitted to the {n_pre} pre-period years before "
        f"{setup.treatment_year}{demean_text}; effect = treated minus synthetic in each "
        f"later year. Donor pool: {n_pool} units ({setup.pool_text}). Inference: "
        f"{inference}; no standard errors. A pre-period fit counts as exact when its RMSPE "
        f"is at most {tol:g} x the unit's level; the post/pre RMSPE ratio is then refused. "
        f"In-time placebo: {in_time_text}."
    )


def synthetic_control(data: CostPerInsuredYear | pd.DataFrame | None = None, *,
                      treated: str = "Utrecht", treatment_year: int | None = None,
                      group: str = "total", method: str = "direct",
                      donors: Iterable[str] | None = None, n_donors: int = 30,
                      demean: bool = False, placebo: bool = True,
                      placebo_statistic: PlaceboStatistic = "auto",
                      exact_fit_tol: float = EXACT_FIT_TOL,
                      in_time_years: int | None = None,
                      folder: str | None = None) -> SyntheticControl:
    """Synthetic control for one area on yearly series, with placebo checks.

    Parameters
    ----------
    data
        A :class:`~kbz_eval.open_data.standardise.CostPerInsuredYear` result (default:
        computed from the Vektis files in ``folder``, all municipalities, boundaries
        harmonised to 2025), or a wide panel: index = year, one column per unit.
    treated
        The treated unit (any spelling of a municipality, e.g. ``"Den Haag"``; a panel
        column name when ``data`` is a panel).
    treatment_year
        First post-period year; default the KBZ start year of the city
        (:data:`KBZ_ROLLOUT`).
    group, method
        Cost group and standardisation method of the outcome (cost results only).
    donors
        Donor units; default :func:`donor_pool` (the ``n_donors`` largest non-KBZ
        municipalities) or, for a panel, every other column.
    n_donors
        Size of the default donor pool.
    demean
        Fit on series with their pre-period mean removed (adds a level shift to the
        synthetic control; Ferman & Pinto's demeaned variant). Default ``False``.
    placebo
        Run placebo-in-space (each donor treated in turn, the other donors as its
        pool).
    placebo_statistic
        ``"auto"`` (default): the post/pre RMSPE ratio, or the post-period RMSPE when
        a donor's pre-period fit is exact; ``"ratio"``: the ratio, or no p-value (NaN,
        with the reason) when some fit is exact; ``"post_rmspe"``: the post-period
        RMSPE. Whatever the choice, there is no p-value when the treated unit's fit is
        exact (see Notes).
    exact_fit_tol
        A pre-period fit is exact (degenerate) when its RMSPE is at most this share of
        the unit's pre-period level (root mean square of its values). Default 1e-6.
    in_time_years
        The in-time placebo pretends treatment began this many years early; default
        half the pre-period (rounded down, at least 1); ``0`` skips it.

    Returns
    -------
    SyntheticControl

    Raises
    ------
    SpecificationError
        Unknown unit, fewer than two pre-period years, no post period, or an in-time
        placebo leaving fewer than two years to fit.

    Warns
    -----
    StatisticalWarning
        Fewer than five pre-period years, a poor treated fit, or an exact pre-period
        fit of the treated unit or of a donor (``fit_degenerate``).

    Notes
    -----
    Weights solve :math:`\\min_w \\sum_{t < T_0} (y_{1t} - \\sum_j w_j y_{jt})^2` with
    :math:`w_j \\ge 0, \\sum_j w_j = 1` (:func:`simplex_weights`), on the pre-period
    outcome itself (no other predictors). Effect: the gap :math:`y_{1t} - \\hat y_{1t}` in
    each post year and its average. Inference (:func:`placebo_test`, row
    ``placebo_p_value``): the treated unit's statistic is ranked among those of its J
    placebos, :math:`p = \\#\\{j : s_j \\ge s_1\\} / (J + 1)`, so :math:`p \\ge 1/(J+1)`
    (column ``p_min``). No standard errors.

    With fewer pre-period years than donors the simplex can often reproduce a
    pre-period exactly; its RMSPE is then round-off (about 1e-9 euro for Utrecht, 3
    pre-period years, 30 donors: 15 of the 31 units fit exactly), and a post/pre ratio
    ranks round-off. Such fits are flagged (row ``fit_degenerate``, column ``exact_fit``
    of ``placebos``, a warning naming the units). The choice made here:

    * **treated fit exact** — many weightings reproduce the pre-period, the gap depends
      on which one the solver returns, and so would any placebo statistic: no p-value
      (NaN, reason in ``note``); the average gap is shown with its range over all
      exactly fitting weightings (``range_lower``, ``range_upper``;
      :func:`exact_fit_gap_range`). For Utrecht that range is about −123 to +86 euro.
    * **only donors fit exactly** — the ratio is refused (it would divide by
      round-off) and ``"auto"`` ranks the post-period RMSPE instead, naming the donors.

    The in-time placebo (Abadie 2021) refits on the years before a pretended start
    ``treatment_year - in_time_years`` and reports the mean gap over the pretended post
    years (row ``in_time_placebo_gap``, table ``in_time_placebo``); these years precede
    the real start, so a gap there signals a poor counterfactual or an earlier change.

    At city level KBZ touches a small share of residents (Overvecht is about a tenth of
    Utrecht), so city series can show at most a diluted effect; cost definitions change
    over the years (see :data:`kbz_eval.open_data.vektis.SERIES_BREAKS`), equally for
    treated and donors.
    """
    check_option("placebo_statistic", placebo_statistic)
    tol = _check_tolerance(exact_fit_tol)
    setup = _setup(data, treated=treated, treatment_year=treatment_year, group=group,
                   method=method, donors=donors, n_donors=n_donors, folder=folder)
    names, values = list(setup.panel.columns), setup.panel.to_numpy(dtype=float)
    years = setup.panel.index.to_numpy(dtype=int)
    pre = years < setup.treatment_year
    k = _check_in_time_years(in_time_years, years, setup.treatment_year)
    w, synth = _fit(values, 0, range(1, values.shape[1]), pre, demean)
    placebos, gaps = _placebo_runs(values, names, values[:, 0] - synth, pre, demean=demean,
                                   tol=tol, run=placebo)
    test = placebo_test(placebos, placebo_statistic)
    if k > 0:
        in_time, in_time_table = in_time_placebo(values, years, setup.treatment_year, k,
                                                 demean=demean, tol=tol)
    else:
        in_time = {"term": "in_time_placebo_gap", "note": "not run (in_time_years=0)"}
        in_time_table = pd.DataFrame(columns=["year", "treated", "synthetic", "gap", "period"])
    warnings = _fit_warnings(values, pre, placebos, test, demean=demean, tol=tol)
    for msg in warnings:
        _warnings.warn(msg, StatisticalWarning, stacklevel=2)
    gap_range = (exact_fit_gap_range(values, pre, demean=demean, tol=tol)
                 if placebos["exact_fit"].iloc[0] else (float("nan"), float("nan")))
    rows = _tidy_rows(years, pre, values, synth, placebos, gap_range,
                      [test, _degenerate_row(placebos, tol), in_time])
    series = pd.DataFrame({"year": years, "treated": values[:, 0], "synthetic": synth,
                           "gap": values[:, 0] - synth, "period": np.where(pre, "pre", "post")})
    weights = pd.DataFrame({"donor": [display_name(n) for n in names[1:]], "weight": w,
                            "area_code": names[1:]}).sort_values(
        "weight", ascending=False, kind="stable").reset_index(drop=True)
    return SyntheticControl(
        estimates=tidy_frame(rows),
        tables={"series": series, "weights": weights, "placebos": placebos,
                "placebo_gaps": pd.DataFrame({display_name(k): v for k, v in gaps.items()},
                                             index=pd.Index(years, name="year")).reset_index(),
                "in_time_placebo": in_time_table},
        method=_method_text(setup, int(pre.sum()), demean, test, in_time, tol),
        settings={"treated": names[0], "treatment_year": setup.treatment_year,
                  "group": group, "outcome_method": method, "demean": demean,
                  "n_donors": len(names) - 1, "n_placebos": len(placebos) - 1,
                  "placebo_statistic": placebo_statistic, "statistic": test["statistic"],
                  "exact_fit_tol": tol, "fit_degenerate": bool(placebos["exact_fit"].any()),
                  "in_time_years": k, "in_time_start": setup.treatment_year - k if k else None,
                  "outcome_label": ("EUR per insured year" if setup.source != "panel"
                                    else "outcome"),
                  "waves": list(KBZ_WAVES.get(names[0], (setup.treatment_year,)))},
        warnings=warnings,
    )
