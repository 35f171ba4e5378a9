"""Interrupted time series: ``kbz.trend_break``.

Segmented regression of one series (cost per insured year, a rate, a count per month) on
time, with a change of level and a change of slope at a break point, so that the trend
before the break, extended past it, is the **counterfactual**: what the series would
have done had nothing changed. Optionally against a control series (*comparative*
interrupted time series): the counterfactual is then the treated series' own pre-break
trend plus the change the control series shows at the same break, and the effect is the
difference between the two series' changes.

Errors in a time series are autocorrelated, so ordinary least-squares standard errors
are too small. Two remedies are offered: Newey–West (HAC) standard errors around the
least-squares fit (default), or regression with ARMA errors fitted by maximum
likelihood (:class:`statsmodels.tsa.arima.model.ARIMA`, a dependency).

Layout: :func:`trend_break` (front door) validates once and lays the data out
(:func:`_read_series`, :func:`_time_axis`), :func:`_design` builds the segmented design,
:func:`_fit_ls` / :func:`_fit_arima` estimate it, :func:`newey_west` is the HAC
variance (written here and checked against statsmodels' ``cov_type="HAC"`` and
``"hac-groupsum"`` in the tests), :func:`_effects` turns the coefficients into the
effect rows, and :class:`TrendBreakResult` is what the caller gets.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats

from kbz_eval.errors import (
    DataValidationError,
    SpecificationError,
    StatisticalWarning,
    Violation,
)
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats.options import check_alpha, check_option

#: How the autocorrelation of the errors is handled.
Errors = Literal["newey_west", "arima", "ols"]
#: Points per segment below which a :class:`StatisticalWarning` says the series is short
#: (Newey–West intervals under-cover and the pre-trend is poorly known).
MIN_POINTS_PER_SEGMENT = 8
#: Names of the segmented regression's four terms (time counted from the break).
BASE_TERMS = ("intercept", "pre_slope", "level_change", "slope_change")
#: Columns of the ``series`` table.
SERIES_COLUMNS = ("group", "time", "position", "segment", "observed", "fitted",
                  "counterfactual", "counterfactual_lower", "counterfactual_upper",
                  "effect")
#: Columns of :meth:`TrendBreakResult.plot_data`.
PLOT_COLUMNS = ("element", "group", "segment", "time", "value", "lower", "upper")

_UNIT_BY_FREQ = {"Y": "year", "A": "year", "Q": "quarter", "M": "month", "W": "week",
                 "D": "day", "B": "business day", "H": "hour"}


# =========================================================================== result
@dataclass(repr=False)
class TrendBreakResult(Result):
    """Result of :func:`trend_break`: an interrupted time series.

    ``tidy()`` rows (extra columns ``scale`` — what the number is in — and ``at``):

    * ``level_change`` — the jump of the (treated) series at the break against its own
      pre-break trend; ``slope_change`` — the change of its slope per time unit;
    * comparative only: ``level_change_control``, ``slope_change_control`` (the same
      for the control series) and ``level_change_difference``,
      ``slope_change_difference`` (treated minus control: the comparative effect);
    * ``effect_at_end`` and ``effect_at_end_pct`` — fitted minus counterfactual at the
      last time point, in outcome units and as % of the counterfactual;
    * ``cumulative_effect`` and ``cumulative_effect_pct`` — the same summed over every
      time point from the break on;
    * ``pre_slope`` — the slope of the (treated) series before the break.

    With ``log=True`` the level and slope changes are % changes
    (``100 × (exp(b) − 1)``). ``n`` is the number of time points of a series.

    ``tables``: ``fit`` (the model's coefficients, standard errors, intervals and
    p-values, per ``model``), ``series`` (:data:`SERIES_COLUMNS`, one row per group and
    time point: observed, fitted mean, counterfactual mean with its interval, effect).
    """

    title: ClassVar[str] = "interrupted time series (segmented regression)"
    plotter: ClassVar[str | None] = "trend_break:plot_trend_break"

    def plot_data(self) -> pd.DataFrame:
        """What :func:`kbz_eval.plotting.trend_break.plot_trend_break` draws.

        Long rows with columns :data:`PLOT_COLUMNS`: ``element`` is ``"observed"``
        (points, per group), ``"fitted"`` (the fitted segments, per group and
        ``segment`` ``"pre"``/``"post"``) or ``"counterfactual"`` (the treated
        series' counterfactual from the break on, drawn dashed, with its interval
        ``lower``–``upper`` as a band).
        """
        s = self.tables["series"]
        parts = []
        obs = s[["group", "segment", "time", "observed"]].rename(columns={"observed": "value"})
        parts.append(obs.assign(element="observed", lower=np.nan, upper=np.nan))
        fit = s[["group", "segment", "time", "fitted"]].rename(columns={"fitted": "value"})
        parts.append(fit.assign(element="fitted", lower=np.nan, upper=np.nan))
        cf = s[(s["group"] == "treated") & (s["segment"] == "post")]
        parts.append(pd.DataFrame({
            "element": "counterfactual", "group": cf["group"], "segment": cf["segment"],
            "time": cf["time"], "value": cf["counterfactual"],
            "lower": cf["counterfactual_lower"], "upper": cf["counterfactual_upper"]}))
        out = pd.concat(parts, ignore_index=True)[list(PLOT_COLUMNS)]
        for col in ("value", "lower", "upper"):
            out[col] = out[col].astype(float)
        return out

    def summary(self) -> pd.DataFrame:
        """The tidy rows, rounded, with what each number is in."""
        cols = ["term", "estimate", "ci_lower", "ci_upper", "p_value", "scale"]
        return self.tidy()[cols].round(4)

    def headline(self) -> str:
        """The effect at the end against the named counterfactual, in plain words."""
        s = self.settings
        est = self.estimates.set_index("term")
        end = est.loc["effect_at_end_pct"]
        level = "level_change_difference" if s["comparative"] else "level_change"
        slope = "slope_change_difference" if s["comparative"] else "slope_change"
        pct = 100 * (1 - s["alpha"])
        word = "lower" if end["estimate"] < 0 else "higher"
        lvl, slp = est.loc[level], est.loc[slope]
        lvl_unit = "%" if s["log"] else ""
        slp_unit = "% " if s["log"] else " "
        versus = " (treated minus control)" if s["comparative"] else ""
        return (
            f"At {s['end']}, {s['outcome']} was {abs(end['estimate']):.1f}% {word} "
            f"({pct:.0f}% CI {end['ci_lower']:.1f}% to {end['ci_upper']:.1f}%) than the "
            f"counterfactual, {s['counterfactual']}: a level change of "
            f"{lvl['estimate']:+.4g}{lvl_unit} at {s['break_at']} and a slope change of "
            f"{slp['estimate']:+.4g}{slp_unit}per {s['unit']}{versus}."
        )


# ====================================================================== front door
def trend_break(
    series: pd.Series | pd.DataFrame,
    *,
    time: str | None = None,
    outcome: str | None = None,
    break_at: Any,
    control: pd.Series | pd.DataFrame | str | None = None,
    errors: Errors = "newey_west",
    lags: int | tuple[int, int] | None = None,
    log: bool = False,
    alpha: float = 0.05,
) -> TrendBreakResult:
    """Interrupted time series: level and slope change of a series at a break.

    Parameters
    ----------
    series
        The series, one value per time point, equally spaced: a ``pd.Series`` indexed
        by time, or a DataFrame with a time column (or time index) and an outcome
        column — e.g. the yearly Vektis cost per insured year (``year`` and the cost;
        or the wide ``CostPerInsuredYear.series()`` frame, areas as columns) or a
        monthly series. Times are integers (years), pandas Periods (months,
        quarters) or dates with a regular frequency. Not modified.
    time
        The time column; ``None``: a column ``year`` if there is one, else the index.
    outcome
        The outcome column; ``None``: the Series' values, or the DataFrame's only
        numeric column other than time (and ``control``).
    break_at
        The first time point of the new regime (a year, ``"2014-01"``, a Period or a
        date). At least two points must lie before it and two at or after it.
    control
        ``None`` (single series), or the control series of a comparative ITS: a Series
        or DataFrame shaped like ``series`` with the same time points; or the name of a
        column of ``series`` — a group column (``True``/``1`` or ``"treated"`` for the
        treated series, ``False``/``0`` or ``"control"`` for the control, rows stacked)
        or, when every time appears once, the numeric column holding the control
        series (the wide Vektis frame: ``outcome="UTRECHT", control="NEDERLAND"``).
    errors
        ``"newey_west"`` (default): least squares with Newey–West HAC standard errors;
        ``"arima"``: regression with ARMA errors by maximum likelihood (statsmodels);
        ``"ols"``: classical least-squares errors (independent errors assumed).
    lags
        Newey–West: the number of lags of the Bartlett kernel; ``None`` uses the
        Newey–West (1994) rule ``floor(4 (T / 100) ** (2 / 9))`` (T = number of time
        points: 2 for 12 yearly points, 4 for 120 monthly points). ARIMA: the order of
        the error process, ``p`` (AR(p)) or ``(p, q)`` (ARMA(p, q)); ``None`` is AR(1).
        Not used with ``"ols"``.
    log
        ``True``: the model is fitted to ``log(outcome)`` (all values > 0) and the level
        and slope changes are reported as % changes; fitted values and the
        counterfactual are back-transformed with ``exp`` (medians, not means).
    alpha
        Intervals are ``1 − alpha`` (default 95%).

    Returns
    -------
    TrendBreakResult
        Tidy rows ``level_change``, ``slope_change`` (comparative: also the control's
        and the differences), ``effect_at_end(_pct)``, ``cumulative_effect(_pct)``,
        ``pre_slope``; tables ``fit`` and ``series``; :meth:`~TrendBreakResult.plot`.

    Raises
    ------
    SpecificationError
        An option is not allowed (the message names it, the allowed values and the
        value passed), e.g. a ``break_at`` with fewer than 2 points on a side.
    DataValidationError
        Missing, duplicated or irregular time points, missing or (with ``log``)
        non-positive outcomes, or a control series on other time points.

    Warns
    -----
    StatisticalWarning
        Fewer than :data:`MIN_POINTS_PER_SEGMENT` points before or after the break
        (the intervals under-cover), or the ARIMA fit did not converge.

    Notes
    -----
    The model, with time ``τ`` counted in time units from the break and ``D = 1`` from
    the break on, is ``y = b0 + b1 τ + b2 D + b3 τ D + e``: ``b2`` is the level change
    (the jump at the break) and ``b3`` the slope change per time unit. The
    counterfactual is ``b0 + b1 τ`` (the pre-break trend extended), and the effect at a
    time point is fitted minus counterfactual, ``b2 + b3 τ``. Comparative: the model is
    fitted to both series stacked with every term interacted with ``treated``
    (equivalently, to each series on its own); the effect is the difference of the two
    series' changes and the counterfactual is the treated pre-break trend plus the
    control's change.

    Variance: ``"newey_west"`` — the HAC sandwich with a Bartlett kernel over the
    scores summed per time point (Driscoll–Kraay when two series are stacked, which
    equals Newey–West applied to each series and to their difference), times the
    small-sample factor ``T / (T − 4)``, with ``t(T − 4)`` intervals. ``"ols"`` —
    ``s² (X'X)⁻¹`` with ``t(n − k)`` intervals. ``"arima"`` — the observed-information
    (numerical Hessian) covariance of the maximum-likelihood fit with normal intervals;
    comparative: the difference series (treated − control) and the control series are
    fitted separately and their covariance is taken as zero (this only affects the
    treated series' own changes and the % rows). Effects in % and back-transformed
    quantities use the delta method. The counterfactual band is an interval for the
    counterfactual *mean*, not for single future values.

    Newey–West intervals of the level change under-cover, and much more so in short
    series: with AR(1) errors (ρ = 0.5) our simulations (``tests/test_trend_break.py``)
    gave 95% intervals covering 0.85 of the time with 120 points (4 lags; more or fewer
    lags did not help), 0.88 with 240, 0.90 with 480 and 0.68 with 12 points. When the
    error process is well described by a low-order ARMA, ``errors="arima"`` came closer
    (0.92 with 120 points, same series); both are asymptotic.

    Examples
    --------
    >>> import pandas as pd
    >>> from kbz_eval.estimators.trend_break import trend_break
    >>> years = list(range(2000, 2016))
    >>> cost = [2000 + 50 * (y - 2000) - (80 if y >= 2008 else 0) for y in years]
    >>> res = trend_break(pd.DataFrame({"year": years, "cost": cost}), break_at=2008)
    >>> est = res.tidy().set_index("term")["estimate"]
    >>> print(f"{est['level_change']:.1f}, {est['effect_at_end_pct']:.2f}% in 2015")
    -80.0, -2.91% in 2015
    """
    check_option("errors", errors, Errors)
    if not isinstance(log, (bool, np.bool_)):
        raise SpecificationError(
            f"The value for `log` must be one of [True, False], but {log!r} was passed.")
    alpha = check_alpha(alpha)
    data = _read_series(series, time=time, outcome=outcome, control=control)
    axis = _time_axis(data["time"], break_at, name=data["time_name"])
    lags_used = _check_lags(lags, errors, n_time=axis["n"])
    y_t, y_c = data["treated"], data["control"]
    for label, y in (("outcome", y_t), ("control", y_c)):
        if y is not None and log and np.any(y <= 0):
            raise DataValidationError(source="series", table="trend_break", violations=[
                Violation(column=data["outcome_name"] if label == "outcome" else "control",
                          rule="must be > 0 with log=True", n_rows=int(np.sum(y <= 0)),
                          detail="the log of zero or a negative value is undefined; use "
                                 "log=False")])
    if log:
        y_t = np.log(y_t)
        y_c = None if y_c is None else np.log(y_c)

    notes: list[str] = []
    n_pre, n_post = int(np.sum(axis["tau"] < 0)), int(np.sum(axis["tau"] >= 0))
    if min(n_pre, n_post) < MIN_POINTS_PER_SEGMENT:
        notes.append(
            f"Short series: {n_pre} points before and {n_post} from the break "
            f"(fewer than {MIN_POINTS_PER_SEGMENT} on a side). The pre-break trend, and "
            "so the counterfactual, is poorly known, and Newey–West or ARIMA intervals "
            "are too narrow in short series; read the intervals as optimistic.")

    z = _design(axis["tau"])
    comparative = y_c is not None
    if errors == "arima":
        fit = _fit_arima(z, y_t, y_c, order=lags_used, notes=notes, alpha=alpha)
    else:
        fit = _fit_ls(z, y_t, y_c, errors=errors, lags=lags_used, alpha=alpha)
    for msg in notes:
        warnings.warn(msg, StatisticalWarning, stacklevel=2)

    unit = axis["unit"]
    end = axis["labels"][-1]
    counterfactual = (
        f"the {axis['labels'][0]}–{axis['labels'][n_pre - 1]} trend of the series "
        f"continued past {axis['break_label']}" if not comparative else
        f"the treated series' {axis['labels'][0]}–{axis['labels'][n_pre - 1]} trend plus "
        f"the change the control series shows from {axis['break_label']}")
    rows, series_table = _effects(fit, z, axis, y_obs=(data["treated"], data["control"]),
                                  log=bool(log), alpha=alpha, unit=unit,
                                  comparative=comparative)
    settings = {
        "time": data["time_name"], "outcome": data["outcome_name"],
        "break_at": axis["break_label"], "end": end, "unit": unit,
        "errors": errors, "lags": lags_used, "log": bool(log), "alpha": alpha,
        "comparative": comparative, "n_time": axis["n"], "n_pre": n_pre,
        "n_post": n_post, "df": fit["df"], "counterfactual": counterfactual,
    }
    return TrendBreakResult(
        estimates=tidy_frame(rows), tables={"fit": fit["table"], "series": series_table},
        method=_method_text(errors, lags_used, bool(log), comparative, unit, axis["n"],
                            fit["df"], counterfactual),
        settings=settings, warnings=notes)


# ========================================================================== input
def _read_series(series: Any, *, time: str | None, outcome: str | None,
                 control: Any) -> dict[str, Any]:
    """The treated (and control) outcome arrays in time order and the time values."""
    if isinstance(series, pd.Series):
        if time is not None:
            raise SpecificationError(
                f"The value for `time` must be None when `series` is a pandas Series (its "
                f"index is the time), but {time!r} was passed.")
        if isinstance(control, str):
            raise SpecificationError(
                f"The value for `control` must be None, a Series or a DataFrame when "
                f"`series` is a Series, but the column name {control!r} was passed.")
        frame = None
        time_name = str(series.index.name or "time")
        outcome_name = outcome or (str(series.name) if series.name is not None else "value")
        times = pd.Index(series.index)
        y = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    elif isinstance(series, pd.DataFrame):
        frame = series
        times, time_name = _time_values(frame, time)
        group_col = control if isinstance(control, str) else None
        outcome_name = _outcome_column(frame, outcome, exclude={time_name, group_col})
        y = pd.to_numeric(frame[outcome_name], errors="coerce").to_numpy(dtype=float)
    else:
        raise SpecificationError(
            f"The value for `series` must be a pandas Series or DataFrame, but a "
            f"{type(series).__name__} was passed.")

    y_c = None
    if isinstance(control, str):
        if control not in frame.columns:
            raise SpecificationError(
                f"The value for `control` must be a column of `series` "
                f"({list(map(str, frame.columns))}), but {control!r} was passed.")
        col = frame[control]
        if not pd.Index(times).has_duplicates and pd.api.types.is_numeric_dtype(col) and (
                not pd.api.types.is_bool_dtype(col)) and col.nunique() > 2:
            y_c = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        else:
            treated = _treated_flags(col, control)
            times_t, times_c = pd.Index(times[treated]), pd.Index(times[~treated])
            _check_unique(times_t, time_name, "treated")
            _check_unique(times_c, time_name, "control")
            yc = pd.Series(y[~treated], index=times_c)
            y, times = y[treated], times_t
            if not times_c.sort_values().equals(times.sort_values()):
                _different_times(time_name)
            y_c = yc.reindex(times).to_numpy(dtype=float)
    elif isinstance(control, (pd.Series, pd.DataFrame)):
        if isinstance(control, pd.Series):
            other = _read_series(control, time=None, outcome=None, control=None)
        else:
            same = outcome_name if outcome_name in control.columns else None
            other = _read_series(control, time=time, outcome=same, control=None)
        times_c = pd.Index(other["time"])
        _check_unique(pd.Index(times), time_name, "series")
        if not times_c.sort_values().equals(pd.Index(times).sort_values()):
            _different_times(time_name)
        y_c = pd.Series(other["treated"], index=times_c).reindex(pd.Index(times)).to_numpy(
            dtype=float)
    elif control is not None:
        raise SpecificationError(
            f"The value for `control` must be None, a Series, a DataFrame or a column "
            f"name, but a {type(control).__name__} was passed.")

    times = pd.Index(times)
    _check_unique(times, time_name, "series")
    for label, values in (("outcome", y), ("control", y_c)):
        if values is not None and not np.all(np.isfinite(values)):
            bad = np.flatnonzero(~np.isfinite(values))
            raise DataValidationError(source="series", table="trend_break", violations=[
                Violation(column=outcome_name if label == "outcome" else "control",
                          rule="must be a finite number at every time point",
                          n_rows=len(bad), rows=tuple(int(b) for b in bad[:5]),
                          values=tuple(str(times[b]) for b in bad[:5]),
                          detail="an interrupted time series needs every time point; "
                                 "fill or drop the missing points (values are times)")])
    order = np.argsort(times.to_numpy(), kind="stable")
    return {"time": times[order], "time_name": str(time_name),
            "outcome_name": str(outcome_name), "treated": y[order],
            "control": None if y_c is None else y_c[order]}


def _time_values(frame: pd.DataFrame, time: str | None) -> tuple[pd.Index, str]:
    if time is None:
        if "year" in frame.columns:
            return pd.Index(frame["year"]), "year"
        idx = frame.index
        if isinstance(idx, pd.RangeIndex) and idx.name is None and idx.start == 0 and (
                idx.step == 1):
            raise SpecificationError(
                "The value for `time` must name the time column of `series` (there is "
                f"no 'year' column and the index is a plain row number; columns: "
                f"{list(map(str, frame.columns))}), but None was passed.")
        return pd.Index(frame.index), str(frame.index.name or "time")
    if time not in frame.columns:
        raise SpecificationError(
            f"The value for `time` must be a column of `series` "
            f"({list(map(str, frame.columns))}), but {time!r} was passed.")
    return pd.Index(frame[time]), time


def _outcome_column(frame: pd.DataFrame, outcome: str | None, *, exclude: set) -> str:
    if outcome is not None:
        if outcome not in frame.columns:
            raise SpecificationError(
                f"The value for `outcome` must be a column of `series` "
                f"({list(map(str, frame.columns))}), but {outcome!r} was passed.")
        return outcome
    numeric = [c for c in frame.columns if c not in exclude
               and pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    if len(numeric) != 1:
        raise SpecificationError(
            f"The value for `outcome` must name the outcome column when `series` does not "
            f"have exactly one numeric column besides time (candidates: "
            f"{list(map(str, numeric))}), but None was passed.")
    return numeric[0]


def _treated_flags(col: pd.Series, name: str) -> np.ndarray:
    values = col.dropna().unique().tolist()
    words = {str(v).strip().lower() for v in values}
    if col.isna().any() or len(values) != 2:
        raise SpecificationError(
            f"The group column `control` ({name!r}) must hold exactly two values and no "
            f"missing ones (True/1 or 'treated' for the treated series, False/0 or "
            f"'control' for the control), but {values!r} were found.")
    if pd.api.types.is_bool_dtype(col) or set(values) <= {0, 1}:
        return col.astype(bool).to_numpy()
    if words in ({"treated", "control"}, {"kbz", "control"}):
        return col.astype(str).str.strip().str.lower().isin(["treated", "kbz"]).to_numpy()
    raise SpecificationError(
        f"The group column `control` ({name!r}) must mark the series as True/1 and "
        f"False/0 or as 'treated' and 'control', but {values!r} were found.")


def _check_unique(times: pd.Index, name: str, what: str) -> None:
    if times.has_duplicates:
        dup = times[times.duplicated()].unique()[:5]
        raise DataValidationError(source="series", table="trend_break", violations=[
            Violation(column=name, rule=f"each time point once per series ({what})",
                      n_rows=int(times.duplicated().sum()),
                      values=tuple(str(d) for d in dup),
                      detail="aggregate to one value per time point first, or name the "
                             "group column in `control` for a comparative series")])


def _different_times(name: str) -> None:
    raise DataValidationError(source="series", table="trend_break", violations=[
        Violation(column=name, rule="treated and control series on the same time points",
                  detail="a comparative interrupted time series compares the two series "
                         "at each time point; restrict both to their common points")])


def _time_axis(times: pd.Index, break_at: Any, *, name: str) -> dict[str, Any]:
    """Positions in time units from the break, the unit's name and the labels."""
    values = pd.Index(times)
    original = list(values)
    if isinstance(values, pd.DatetimeIndex) or pd.api.types.is_datetime64_any_dtype(values):
        idx = pd.DatetimeIndex(values).sort_values()
        values = None
        for code in ("D", "W", "M", "Q", "Y"):    # the finest period the dates step by
            periods = idx.to_period(code)
            if len(periods) > 1 and np.all(np.diff(periods.asi8) == 1):
                values = periods
                break
        if values is None:
            _irregular(name, "dates that do not step by one day, week, month, quarter or "
                             "year")
    if isinstance(values, pd.PeriodIndex):
        freq = values.freqstr
        unit = _UNIT_BY_FREQ.get(freq[0], "period")
        pos = values.asi8.astype(float)
        try:
            if isinstance(break_at, pd.Period):
                b = break_at.asfreq(values.freq, how="start")
            elif isinstance(break_at, (pd.Timestamp, np.datetime64)) or hasattr(
                    break_at, "isoformat"):
                b = pd.Timestamp(break_at).to_period(values.freq)
            elif isinstance(break_at, str):
                b = pd.Period(break_at, freq=values.freq)
            else:
                raise TypeError(break_at)
        except (ValueError, TypeError) as exc:
            raise SpecificationError(
                f"The value for `break_at` must be a time point of frequency {freq} (a "
                f"Period, a date or e.g. {str(values[0])!r}), but {break_at!r} was "
                f"passed.") from exc
        b_pos, b_label, step = float(b.ordinal), str(b), 1.0
        labels = [str(v) for v in values]
    elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        pos = values.to_numpy(dtype=float)
        if isinstance(break_at, (bool, np.bool_)) or not isinstance(
                break_at, (int, float, np.integer, np.floating)):
            raise SpecificationError(
                f"The value for `break_at` must be a number on the time axis `{name}` "
                f"({values[0]!r} to {values[-1]!r}), but {break_at!r} was passed.")
        b_pos = float(break_at)
        b_label = str(break_at)
        diffs = np.diff(np.sort(pos))
        step = float(diffs.min()) if len(diffs) else 1.0
        unit = "year" if ("year" in name.lower() or "jaar" in name.lower()) else "period"
        if step != 1.0:
            unit = f"{step:g} {unit}s" if unit == "year" else f"{step:g} time units"
        labels = [str(v) for v in values]
    else:
        raise SpecificationError(
            f"The time values of `{name}` must be numbers (years), pandas Periods or "
            f"dates, but values of type {values.dtype} were passed (e.g. "
            f"{values[0]!r}).")
    order = np.argsort(pos, kind="stable")
    diffs = np.diff(pos[order])
    if len(diffs) and (np.any(diffs <= 0) or np.ptp(diffs) > 1e-9 * max(1.0, step)):
        _irregular(name, "time points that are not equally spaced (a gap or a repeat)")
    tau = (pos - b_pos) / step
    n_pre, n_post = int(np.sum(tau < 0)), int(np.sum(tau >= 0))
    if n_pre < 2 or n_post < 2:
        raise SpecificationError(
            f"The value for `break_at` must leave at least 2 time points before it and 2 "
            f"from it on (the series runs from {labels[int(np.argmin(pos))]} to "
            f"{labels[int(np.argmax(pos))]}; it left {n_pre} before and {n_post} from it "
            f"on), but {break_at!r} was passed.")
    return {"tau": tau, "unit": unit, "labels": labels, "break_label": b_label,
            "n": len(pos), "original": original}


def _irregular(name: str, what: str) -> None:
    raise DataValidationError(source="series", table="trend_break", violations=[
        Violation(column=name, rule="equally spaced time points", detail=f"found {what}; "
                  "Newey–West and ARIMA errors need a regular series without gaps")])


def _check_lags(lags: Any, errors: str, *, n_time: int) -> Any:
    """The lags (Newey–West), order (ARIMA) or ``None`` (OLS) actually used."""
    if errors == "ols":
        if lags is not None:
            raise SpecificationError(
                f"The value for `lags` must be None with errors='ols' (no autocorrelation "
                f"is modelled), but {lags!r} was passed.")
        return None
    is_int = isinstance(lags, (int, np.integer)) and not isinstance(lags, (bool, np.bool_))
    if errors == "newey_west":
        if lags is None:
            return int(math.floor(4 * (n_time / 100) ** (2 / 9)))
        if not is_int or not 0 <= lags < n_time - 4:
            raise SpecificationError(
                f"The value for `lags` must be None (the Newey–West rule) or an integer "
                f"from 0 to {n_time - 5} with errors='newey_west', but {lags!r} was "
                f"passed.")
        return int(lags)
    if lags is None:
        return (1, 0)
    if is_int:
        lags = (int(lags), 0)
    ok = (isinstance(lags, tuple) and len(lags) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0
        for v in lags) and 0 < lags[0] + lags[1] <= 4)
    if not ok:
        raise SpecificationError(
            f"The value for `lags` must be None (AR(1)), an AR order p from 1 to 4 or a "
            f"pair (p, q) with 0 < p + q <= 4 with errors='arima', but {lags!r} was "
            f"passed.")
    return (int(lags[0]), int(lags[1]))


# ======================================================================= numerics
def _design(tau: np.ndarray) -> np.ndarray:
    """Columns 1, τ, D, τ·D (D = 1 from the break on)."""
    d = (tau >= 0).astype(float)
    return np.column_stack([np.ones_like(tau), tau, d, tau * d])


def _stack(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stacked comparative design (control rows, then treated) and time index."""
    zero = np.zeros_like(z)
    x = np.vstack([np.hstack([z, zero]), np.hstack([z, z])])
    t_index = np.concatenate([np.arange(len(z)), np.arange(len(z))])
    return x, t_index


def newey_west(x: np.ndarray, resid: np.ndarray, lags: int, *,
               time_index: np.ndarray | None = None, correction: float = 1.0
               ) -> np.ndarray:
    """Newey–West (Bartlett kernel) HAC covariance of least-squares coefficients.

    Parameters
    ----------
    x
        Design, ``n × k``.
    resid
        Least-squares residuals, length ``n``; or ``n × R`` for ``R`` outcomes fitted on
        the same design (then the result is ``R × k × k``).
    lags
        Bartlett lags ``L`` (weights ``1 − l / (L + 1)``).
    time_index
        Time point of each row, ``0 .. T − 1``; scores of rows at the same time are
        summed first (Driscoll–Kraay). ``None``: each row is its own time point, in
        order.
    correction
        Factor the covariance is multiplied by (e.g. ``T / (T − k)``).

    Returns
    -------
    numpy.ndarray
        ``(X'X)⁻¹ S (X'X)⁻¹ × correction``.
    """
    x = np.asarray(x, dtype=float)
    e = np.asarray(resid, dtype=float)
    single = e.ndim == 1
    if single:
        e = e[:, None]
    scores = x[:, :, None] * e[:, None, :]                    # n × k × R
    if time_index is not None:
        n_t = int(time_index.max()) + 1
        summed = np.zeros((n_t, *scores.shape[1:]))
        np.add.at(summed, time_index, scores)
        scores = summed
    s = np.einsum("tkr,tjr->rkj", scores, scores)
    for lag in range(1, lags + 1):
        w = 1.0 - lag / (lags + 1.0)
        g = np.einsum("tkr,tjr->rkj", scores[lag:], scores[:-lag])
        s += w * (g + np.transpose(g, (0, 2, 1)))
    bread = np.linalg.inv(x.T @ x)
    cov = correction * np.einsum("ik,rkj,jl->ril", bread, s, bread)
    return cov[0] if single else cov


def _fit_ls(z: np.ndarray, y_t: np.ndarray, y_c: np.ndarray | None, *, errors: str,
            lags: int | None, alpha: float = 0.05) -> dict[str, Any]:
    """Least squares; OLS or Newey–West (Driscoll–Kraay when stacked) covariance."""
    n_t = len(z)
    if y_c is None:
        x, y, t_index, names = z, y_t, None, list(BASE_TERMS)
    else:
        x, t_index = _stack(z)
        y = np.concatenate([y_c, y_t])
        names = [*BASE_TERMS, *(f"treated:{t}" for t in BASE_TERMS)]
    q, r = np.linalg.qr(x)
    beta = np.linalg.solve(r, q.T @ y)
    resid = y - x @ beta
    n, k = x.shape
    if errors == "ols":
        df = n - k
        sigma2 = float(resid @ resid) / df
        r_inv = np.linalg.inv(r)
        cov = sigma2 * (r_inv @ r_inv.T)
    else:
        df = n_t - z.shape[1]
        cov = newey_west(x, resid, lags, time_index=t_index,
                         correction=n_t / (n_t - z.shape[1]))
    se = np.sqrt(np.diag(cov))
    table = _coef_table(names, beta, se, df=df, alpha=alpha,
                        model="stacked" if y_c is not None else "series")
    return {"beta": beta, "cov": cov, "df": df, "table": table,
            "comparative": y_c is not None}


def _coef_table(names: list[str], beta: np.ndarray, se: np.ndarray, *, df: float | None,
                model: str, alpha: float = 0.05) -> pd.DataFrame:
    crit = _crit(alpha, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        zstat = beta / se
    p = 2 * (stats.t.sf(np.abs(zstat), df) if df is not None else stats.norm.sf(np.abs(zstat)))
    return pd.DataFrame({"model": model, "term": names, "estimate": beta, "std_error": se,
                         "ci_lower": beta - crit * se, "ci_upper": beta + crit * se,
                         "p_value": p})


def _crit(alpha: float, df: float | None) -> float:
    return float(stats.t.ppf(1 - alpha / 2, df) if df is not None
                 else stats.norm.ppf(1 - alpha / 2))


def _arima_one(z: np.ndarray, y: np.ndarray, order: tuple[int, int],
               notes: list[str], label: str) -> tuple[np.ndarray, np.ndarray, Any]:
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.arima.model import ARIMA

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ARIMA(y, exog=z[:, 1:], order=(order[0], 0, order[1]), trend="c").fit(
            cov_type="oim")
    if any(issubclass(w.category, ConvergenceWarning) for w in caught) or not res.mle_retvals.get(
            "converged", True):
        notes.append(f"The ARIMA fit of the {label} series did not converge; its estimates "
                     "and intervals are unreliable. Try errors='newey_west' or a lower "
                     "order in `lags`.")
    params = np.asarray(res.params, dtype=float)
    cov = np.asarray(res.cov_params(), dtype=float)
    return params, cov, res


def _fit_arima(z: np.ndarray, y_t: np.ndarray, y_c: np.ndarray | None, *,
               order: tuple[int, int], notes: list[str], alpha: float = 0.05
               ) -> dict[str, Any]:
    """Regression with ARMA(p, q) errors by maximum likelihood (statsmodels ARIMA)."""
    k = z.shape[1]
    if y_c is None:
        params, cov, res = _arima_one(z, y_t, order, notes, "treated")
        names = [*BASE_TERMS, *res.model.param_names[k:]]
        table = _coef_table(names, params, np.sqrt(np.diag(cov)), df=None, model="series",
                            alpha=alpha)
        return {"beta": params[:k], "cov": cov[:k, :k], "df": None, "table": table,
                "comparative": False}
    p_c, c_c, res_c = _arima_one(z, y_c, order, notes, "control")
    p_d, c_d, res_d = _arima_one(z, y_t - y_c, order, notes, "difference")
    beta = np.concatenate([p_c[:k], p_d[:k]])
    cov = np.zeros((2 * k, 2 * k))
    cov[:k, :k], cov[k:, k:] = c_c[:k, :k], c_d[:k, :k]
    names = [*BASE_TERMS, *res_c.model.param_names[k:]]
    table = pd.concat([
        _coef_table(names, p_c, np.sqrt(np.diag(c_c)), df=None, model="control",
                    alpha=alpha),
        _coef_table([f"treated:{n}" if i < k else n for i, n in enumerate(names)], p_d,
                    np.sqrt(np.diag(c_d)), df=None, model="difference (treated − control)",
                    alpha=alpha),
    ], ignore_index=True)
    return {"beta": beta, "cov": cov, "df": None, "table": table, "comparative": True}


# ======================================================================== effects
def _effects(fit: dict[str, Any], z: np.ndarray, axis: dict[str, Any], *,
             y_obs: tuple[np.ndarray, np.ndarray | None], log: bool, alpha: float,
             unit: str, comparative: bool) -> tuple[list[dict], pd.DataFrame]:
    """Tidy rows and the ``series`` table from the coefficients and their covariance."""
    beta, cov, df = fit["beta"], fit["cov"], fit["df"]
    crit = _crit(alpha, df)
    k = z.shape[1]
    n_t = len(z)
    zero = np.zeros_like(z)
    cf_z = z.copy()
    cf_z[:, 2:] = 0.0
    if comparative:
        x_fit_t, x_fit_c = np.hstack([z, z]), np.hstack([z, zero])
        x_cf = np.hstack([z, cf_z])       # treated pre-trend plus the control's change
    else:
        x_fit_t, x_fit_c, x_cf = z, None, cf_z
    post = axis["tau"] >= 0
    last = int(np.argmax(axis["tau"]))

    def row(term: str, value: float, grad: np.ndarray, scale: str, at: str,
            transform: Callable[[np.ndarray], np.ndarray] | None = None,
            grad_link: np.ndarray | None = None) -> dict[str, Any]:
        se = float(np.sqrt(grad @ cov @ grad))
        stat = value / se if se > 0 else np.nan
        p = float(2 * (stats.t.sf(abs(stat), df) if df is not None
                       else stats.norm.sf(abs(stat)))) if se > 0 else np.nan
        lo, hi = value - crit * se, value + crit * se
        est = value
        if transform is not None:       # log model: report on the % scale
            est, lo, hi = (float(transform(np.array(v))) for v in (value, lo, hi))
            se = float(np.sqrt(grad_link @ cov @ grad_link))
        return {"term": term, "estimate": est, "std_error": se, "ci_lower": lo,
                "ci_upper": hi, "p_value": p, "n": n_t, "scale": scale, "at": at}

    def pct(v: np.ndarray) -> np.ndarray:
        return 100 * np.expm1(v)

    def change_row(term: str, coef: np.ndarray, per_unit: bool) -> dict[str, Any]:
        value = float(coef @ beta)
        if log:
            return row(term, value, coef, f"% per {unit}" if per_unit else "%",
                       "" if per_unit else axis["break_label"], transform=pct,
                       grad_link=100 * np.exp(value) * coef)
        return row(term, value, coef, f"outcome units per {unit}" if per_unit else
                   "outcome units", "" if per_unit else axis["break_label"])

    e = np.eye(len(beta))
    rows: list[dict[str, Any]] = []
    if comparative:
        rows += [change_row("level_change", e[2] + e[k + 2], False),
                 change_row("slope_change", e[3] + e[k + 3], True),
                 change_row("level_change_control", e[2], False),
                 change_row("slope_change_control", e[3], True),
                 change_row("level_change_difference", e[k + 2], False),
                 change_row("slope_change_difference", e[k + 3], True)]
    else:
        rows += [change_row("level_change", e[2], False),
                 change_row("slope_change", e[3], True)]

    # effects against the counterfactual, at the end and summed over the post period
    fit_lin, cf_lin = x_fit_t @ beta, x_cf @ beta
    end_label = axis["labels"][last]
    post_label = f"{axis['break_label']}–{end_label}"
    for term, sel, at in (("effect_at_end", np.arange(n_t) == last, end_label),
                          ("cumulative_effect", post, post_label)):
        xf, xc = x_fit_t[sel], x_cf[sel]
        if log:
            ef, ec = np.exp(fit_lin[sel]), np.exp(cf_lin[sel])
            num, den = float(ef.sum() - ec.sum()), float(ec.sum())
            g_num = ef @ xf - ec @ xc
            g_den = ec @ xc
        else:
            num, den = float((fit_lin[sel] - cf_lin[sel]).sum()), float(cf_lin[sel].sum())
            g_num, g_den = (xf - xc).sum(axis=0), xc.sum(axis=0)
        rows.append(row(term, num, g_num, "outcome units", at))
        ratio = 100 * num / den
        g_ratio = 100 * (g_num * den - num * g_den) / den ** 2
        rows.append(row(f"{term}_pct", ratio, g_ratio, "% of counterfactual", at))
    pre_coef = e[1] + (e[k + 1] if comparative else 0)
    rows.append(change_row("pre_slope", pre_coef, True))

    # the series table: observed, fitted, counterfactual (with interval), effect
    back = np.exp if log else (lambda v: v)
    se_cf = np.sqrt(np.einsum("ij,jk,ik->i", x_cf, cov, x_cf))
    segment = np.where(post, "post", "pre")
    y_t, y_c = y_obs
    frames = [pd.DataFrame({
        "group": "treated", "time": axis["labels"], "position": axis["tau"],
        "segment": segment, "observed": y_t, "fitted": back(fit_lin),
        "counterfactual": back(cf_lin),
        "counterfactual_lower": back(cf_lin - crit * se_cf),
        "counterfactual_upper": back(cf_lin + crit * se_cf),
        "effect": back(fit_lin) - back(cf_lin)})]
    if comparative:
        frames.append(pd.DataFrame({
            "group": "control", "time": axis["labels"], "position": axis["tau"],
            "segment": segment, "observed": y_c, "fitted": back(x_fit_c @ beta),
            "counterfactual": np.nan, "counterfactual_lower": np.nan,
            "counterfactual_upper": np.nan, "effect": np.nan}))
    table = pd.concat(frames, ignore_index=True)[list(SERIES_COLUMNS)]
    # the time column keeps the caller's values (ints, Periods, dates)
    table["time"] = list(_original_times(axis)) * (2 if comparative else 1)
    return rows, table


def _original_times(axis: dict[str, Any]) -> list[Any]:
    """The caller's time values (ints, Periods, dates), in time order."""
    return axis["original"]


def _method_text(errors: str, lags: Any, log: bool, comparative: bool, unit: str,
                 n: int, df: float | None, counterfactual: str) -> str:
    model = ("Segmented regression (interrupted time series): y = b0 + b1·τ + b2·D + "
             "b3·τ·D, τ = time in " + unit + "s from the break, D = 1 from the break on; "
             "b2 is the level change, b3 the slope change.")
    if log:
        model += (" Fitted to log(outcome): changes are % changes 100·(exp(b) − 1); "
                  "fitted values back-transformed with exp (medians).")
    if comparative:
        model += (" Comparative: treated and control series stacked, every term "
                  "interacted with 'treated'; the effect is the difference of the changes.")
    model += f" Counterfactual: {counterfactual}."
    if errors == "newey_west":
        summed = " over scores summed per time point (Driscoll–Kraay)" if comparative else ""
        var = (f"Newey–West (Bartlett, {lags} lag{'s' if lags != 1 else ''}) HAC "
               f"standard errors{summed}, "
               f"small-sample factor T/(T − 4), t({df}) intervals; {n} time points. "
               "Robust to autocorrelation of unknown form but optimistic: in simulations "
               "with AR(1) errors (ρ = 0.5) 95% intervals of the level change covered "
               "about 85% of the time with 120 points and 68% with 12.")
    elif errors == "arima":
        var = (f"Regression with ARMA({lags[0]}, {lags[1]}) errors by maximum likelihood "
               "(statsmodels ARIMA), observed-information standard errors, normal "
               "intervals" + ("; the control series and the difference series fitted "
                              "separately, their covariance taken as zero" if comparative
                              else "") + ".")
    else:
        var = (f"Classical least-squares standard errors, t({df}) intervals: assumes "
               "independent errors, which a time series rarely has.")
    return (f"{model} {var} Effects in % and back-transformed quantities by the delta "
            "method; the counterfactual band is for its mean. Assumes the pre-break trend "
            "is linear and would have continued, and nothing else changed at the break"
            + (" that did not also change in the control series" if comparative else "")
            + ".")


__all__ = ["Errors", "MIN_POINTS_PER_SEGMENT", "TrendBreakResult", "newey_west",
           "trend_break"]
