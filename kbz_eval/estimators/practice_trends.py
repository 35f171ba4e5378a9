"""Trends with control limits: XmR charts per practice, against KBZ and control peers.

* :func:`xmr` — the XmR (individuals) chart of any series (yearly, quarterly, monthly):
  centre line, process limits, special-cause rules, re-basing;
* :func:`practice_trends` — per practice and per indicator of the claims panel (cost or
  count per insured year), the yearly series with its XmR limits and special-cause
  flags, and the series of the KBZ and the control peers (the other practices of each
  group) for comparison.

The numerics, and the exact definition of every rule, are in :mod:`kbz_eval.stats.spc`
("Making Data Count" / NHSRplotthedots). A chart describes one practice's own
variation over time: it is not a test of KBZ against control (see
:func:`kbz_eval.dbc_index`, :func:`kbz_eval.savings` for those).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError
from kbz_eval.estimators import claims_common as cc
from kbz_eval.results import Result, tidy_frame
from kbz_eval.stats import spc
from kbz_eval.stats.spc import (
    DEFAULT_RUN_LENGTH,
    DEFAULT_TREND_LENGTH,
    MIN_RELIABLE_POINTS,
    RULES,
    XmrOptions,
)

#: Peer groups of the ``peers`` table.
PEER_GROUPS: tuple[str, str] = cc.GROUPS
#: The string value of ``rebase_at`` in :func:`practice_trends`.
KBZ_START = "kbz_start"
#: Columns of the ``series`` table of :func:`practice_trends`.
SERIES_COLUMNS: tuple[str, ...] = (
    "practice", "group", "indicator", "year", "n_persons", "insured_years", "total",
    "value", "segment", "segment_start", "baseline", "moving_range", "centre",
    "mean_moving_range", "lower", "upper", "lower_2sigma", "upper_2sigma",
    "limits_n_persons", *RULES, "special_cause", "variation",
)
#: What a practice's chart is about.
OWN_VARIATION = ("descriptive: the practice's own variation over time; the limits are "
                 "not a test of the practice against the others")

RebaseAt = Literal["kbz_start"] | int | None


# =========================================================================== results
@dataclass(repr=False)
class XmrResult(Result):
    """Result of :func:`xmr`: one XmR chart.

    ``tidy()`` rows per segment (suffix ``_<segment>`` when the series is re-based):
    ``centre``, ``mean_moving_range``, ``lower_limit``, ``upper_limit`` (``n`` =
    baseline points) and ``special_cause_points`` (``n`` = points); extra columns
    ``segment``, ``segment_start``. No intervals: the limits describe the process.

    ``tables``: ``chart`` (one row per point: ``period``, ``segment_start`` and the
    columns of :func:`kbz_eval.stats.spc.xmr_frame`), ``limits`` (one row per segment)
    and ``signals`` (one row per flagged point and rule: ``period, segment, rule,
    direction, variation``).
    """

    title: ClassVar[str] = "XmR chart (individuals, process limits)"
    plotter: ClassVar[str | None] = "spc:plot_xmr"

    def plot_data(self) -> pd.DataFrame:
        """What :func:`kbz_eval.plotting.spc.plot_xmr` draws: ``period, segment, value,
        centre, lower, upper, special_cause, variation`` (one row per point)."""
        return self.tables["chart"][["period", "segment", "value", "centre", "lower",
                                     "upper", "special_cause", "variation"]].reset_index(
                                         drop=True)

    def headline(self) -> str:
        """The centre and limits of the last segment and the special causes in words."""
        s = self.settings
        lim = self.tables["limits"].iloc[-1]
        sig = self.tables["signals"]
        text = (f"{s['label']}: centre {lim['centre']:.4g}, process limits "
                f"{lim['lower']:.4g} to {lim['upper']:.4g}")
        if len(self.tables["limits"]) > 1:
            text += f" (since {lim['segment_start']})"
        if sig.empty:
            return text + "; common-cause variation only (no special cause)."
        position = pd.Index(self.tables["chart"]["period"]).get_indexer(sig["period"])
        return text + "; special cause: " + _signal_words(sig, "period", position) + "."


@dataclass(repr=False)
class PracticeTrendsResult(Result):
    """Result of :func:`practice_trends`.

    ``tidy()`` rows per practice × indicator × segment: ``centre_<practice>_<indicator>``,
    ``lower_limit_...``, ``upper_limit_...`` (suffix ``_from_<year>`` when the limits
    are re-based; ``n`` = the fewest persons of a baseline year) and per practice ×
    indicator ``special_cause_years_<practice>_<indicator>`` (the number of flagged
    years; ``n`` = the fewest persons of a year). Extra columns ``practice``, ``group``,
    ``indicator``, ``segment_start``, ``quantity``. Descriptive: no intervals.

    ``tables``:

    * ``series`` — one row per practice × indicator × year (:data:`SERIES_COLUMNS`):
      ``n_persons`` (insured persons of the practice that year), ``insured_years``,
      ``total`` (sum of the indicator), ``value`` (``total / insured_years``), the
      segment (``segment_start``: first year of its limits), the XmR columns, the rule
      flags, ``special_cause``, ``variation`` and ``limits_n_persons`` (the fewest
      persons of the baseline years the centre and limits rest on);
    * ``peers`` — one row per practice × indicator × peer group × year: the other
      practices of the group (``practice`` itself left out): ``value`` (their pooled
      rate per insured year), ``practice_mean`` (the unweighted mean of their practice
      rates), ``n_practices``, ``n_persons``, ``insured_years``;
    * ``signals`` — one row per flagged practice-year and rule: ``practice, group,
      indicator, year, rule, direction, variation, n_persons``;
    * ``limits`` — one row per practice × indicator × segment: ``segment_start,
      segment_end, n_points, n_baseline, centre, mean_moving_range, lower, upper,
      n_special_cause, n_persons`` (= ``limits_n_persons``).
    """

    title: ClassVar[str] = "trends with control limits per practice (XmR)"
    plotter: ClassVar[str | None] = "spc:plot_practice_trends"

    def plot_data(self, practice: str | None = None, indicator: str | None = None
                  ) -> pd.DataFrame:
        """What :func:`kbz_eval.plotting.spc.plot_practice_trends` draws for one
        practice and indicator (default: the first of each).

        Columns ``series`` (``"practice"``, ``"kbz_peers"``, ``"control_peers"``),
        ``practice``, ``indicator``, ``year``, ``value``, ``segment``, ``centre``,
        ``lower``, ``upper``, ``special_cause``, ``variation``, ``n_persons``,
        ``limits_n_persons`` (persons behind the limits), ``group``; the
        peers' rows have no limits.
        """
        practice, indicator = self._pick(practice, indicator)
        t = self.tables["series"]
        own = t[(t["practice"] == practice) & (t["indicator"] == indicator)]
        own = pd.DataFrame({
            "series": "practice", "practice": own["practice"].to_numpy(dtype=object),
            "group": own["group"].to_numpy(dtype=object), "indicator": indicator,
            "year": own["year"].to_numpy(dtype=np.int64),
            "value": own["value"].to_numpy(dtype=float),
            "segment": own["segment"].to_numpy(dtype=np.int64),
            "centre": own["centre"].to_numpy(dtype=float),
            "lower": own["lower"].to_numpy(dtype=float),
            "upper": own["upper"].to_numpy(dtype=float),
            "special_cause": own["special_cause"].to_numpy(dtype=bool),
            "variation": own["variation"].to_numpy(dtype=object),
            "n_persons": own["n_persons"].to_numpy(),
            "limits_n_persons": own["limits_n_persons"].to_numpy(),
        })
        p = self.tables["peers"]
        p = p[(p["practice"] == practice) & (p["indicator"] == indicator)]
        peers = pd.DataFrame({
            "series": (p["peer_group"] + "_peers").to_numpy(dtype=object),
            "practice": practice, "group": p["group"].to_numpy(dtype=object),
            "indicator": indicator, "year": p["year"].to_numpy(dtype=np.int64),
            "value": p["value"].to_numpy(dtype=float), "segment": -1,
            "centre": np.nan, "lower": np.nan, "upper": np.nan, "special_cause": False,
            "variation": "", "n_persons": p["n_persons"].to_numpy(),
            "limits_n_persons": p["n_persons"].to_numpy(),
        })
        out = pd.concat([own, peers], ignore_index=True) if len(peers) else own
        return out.reset_index(drop=True)

    def _pick(self, practice: str | None, indicator: str | None) -> tuple[str, str]:
        s = self.settings
        practice = s["practices"][0] if practice is None else practice
        indicator = s["indicators"][0] if indicator is None else indicator
        cc.check_choice("practice", practice, s["practices"])
        cc.check_choice("indicator", indicator, s["indicators"])
        return practice, indicator

    def headline(self) -> str:
        """Per indicator: which practices show special-cause variation, in words (one
        practice: its signals and its last year against the peers)."""
        s = self.settings
        t = self.tables["series"]
        sig = self.tables["signals"]
        span = f"{s['years'][0]}–{s['years'][-1]}"
        parts = []
        for ind in s["indicators"]:
            rate = f"{ind} per insured year"
            isig = sig[sig["indicator"] == ind]
            if len(s["practices"]) == 1:
                practice = s["practices"][0]
                own = t[(t["indicator"] == ind)].sort_values("year")
                if own.empty:
                    parts.append(f"practice {practice}, {rate}: no data")
                    continue
                last = own.iloc[-1]
                words = (f"special cause: {_signal_words(isig, 'year', isig['year'])}"
                         if len(isig)
                         else "common-cause variation only")
                peers = self.tables["peers"]
                peers = peers[(peers["indicator"] == ind)
                              & (peers["year"] == last["year"])].set_index("peer_group")
                compare = "; ".join(
                    f"{g} peers {_fmt(ind, peers.loc[g, 'value'])}"
                    for g in PEER_GROUPS if g in peers.index)
                parts.append(
                    f"practice {practice}, {rate}, {span}: {words}; "
                    f"{int(last['year'])}: {_fmt(ind, last['value'])}"
                    + (f" ({compare})" if compare else ""))
                continue
            flagged = list(dict.fromkeys(isig["practice"]))
            if not flagged:
                parts.append(f"{rate}, {len(s['practices'])} practices, {span}: "
                             "common-cause variation only at every practice")
                continue
            kinds = []
            for p in flagged:
                v = sorted(set(isig.loc[isig["practice"] == p, "variation"]))
                kinds.append(f"{p} ({', '.join(_VARIATION_WORDS[x] for x in v)})")
            n_rest = len(s["practices"]) - len(flagged)
            parts.append(f"{rate}, {len(s['practices'])} practices, {span}: special-cause "
                         f"variation at {len(flagged)} ({'; '.join(kinds)}), common-cause "
                         f"only at the other {n_rest}")
        return "; ".join(parts) + f" ({OWN_VARIATION})."


_VARIATION_WORDS = {
    "special_cause_improvement": "improvement",
    "special_cause_concern": "concern",
    "special_cause_neutral_high": "high",
    "special_cause_neutral_low": "low",
    "common_cause": "common cause",
}
_RULE_WORDS = {
    ("outside_limits", "high"): "above the upper limit",
    ("outside_limits", "low"): "below the lower limit",
    ("run", "high"): "in a run above the centre line",
    ("run", "low"): "in a run below the centre line",
    ("trend", "high"): "in a rising trend",
    ("trend", "low"): "in a falling trend",
    ("two_of_three", "high"): "two of three near the upper limit",
    ("two_of_three", "low"): "two of three near the lower limit",
}


def year_ranges(years: Sequence[int]) -> str:
    """``"2013–2015, 2017"``: the years sorted, consecutive years shown as a range."""
    ordered = sorted(int(y) for y in years)
    return _ranges(ordered, ordered)


def _ranges(labels: Sequence[Any], positions: Sequence[int]) -> str:
    """``"2013–2015, 2016"``: consecutive positions shown as a range."""
    out, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or positions[i] != positions[i - 1] + 1:
            out.append(str(labels[start]) if i - 1 == start
                       else f"{labels[start]}–{labels[i - 1]}")
            start = i
    return ", ".join(out)


def _signal_words(sig: pd.DataFrame, when: str, positions: Sequence[int]) -> str:
    """``"2014–2016 in a rising trend (concern); 2016 above the upper limit
    (concern)"`` from a signals table (``positions``: each row's place in the series,
    so that neighbouring points are shown as a range)."""
    sig = sig.assign(_pos=np.asarray(positions, dtype=np.int64))
    out = []
    for (rule, direction), part in sig.groupby(["rule", "direction"], sort=False):
        part = part.sort_values("_pos", kind="stable").drop_duplicates("_pos")
        verdicts = sorted({_VARIATION_WORDS[v] for v in part["variation"]
                           if not v.startswith("special_cause_neutral")})
        verdict = f" ({', '.join(verdicts)})" if verdicts else ""
        out.append(f"{_ranges(part[when].tolist(), part['_pos'].tolist())} "
                   f"{_RULE_WORDS[(rule, direction)]}{verdict}")
    return "; ".join(out)


def _fmt(indicator: str, value: float) -> str:
    if not np.isfinite(value):
        return "—"
    return f"€{value:,.0f}" if indicator.endswith("_cost") else f"{value:.3f}"


# =========================================================================== xmr
def _periods(values: Any, periods: Any, n: int) -> pd.Index:
    if periods is None:
        if isinstance(values, pd.Series):
            idx = values.index
        else:
            idx = pd.RangeIndex(1, n + 1)
    else:
        if isinstance(periods, (str, bytes)) or not isinstance(periods, Iterable):
            raise SpecificationError(
                "The value for `periods` must be None or a sequence of time points (years, "
                f"dates, pandas Periods), one per value, but {periods!r} was passed.")
        idx = pd.Index(list(periods) if not isinstance(periods, pd.Index) else periods)
    if len(idx) != n:
        raise SpecificationError(
            f"`periods` must have one time point per value ({n}), but it has {len(idx)}.")
    ordered = (pd.api.types.is_numeric_dtype(idx) or isinstance(idx.dtype, pd.PeriodDtype)
               or pd.api.types.is_datetime64_any_dtype(idx))
    if idx.hasnans or not idx.is_unique or (ordered and not idx.is_monotonic_increasing):
        raise SpecificationError(
            "`periods` must be distinct time points (numbers, dates or Periods in "
            "increasing order; text labels in time order), but "
            f"{list(idx[:8])}{' ...' if n > 8 else ''} was passed.")
    return idx


def _values(values: Any) -> np.ndarray:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise SpecificationError(
            "The value for `values` must be a sequence of numbers (a list, array or "
            f"Series), but {values!r} was passed.")
    try:
        x = np.asarray(pd.to_numeric(pd.Series(list(values), dtype=object),
                                     errors="raise"), dtype=float)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(
            f"The value for `values` must hold numbers only: {exc}.") from None
    if x.size < 2:
        raise SpecificationError(
            f"An XmR chart needs at least 2 values (one moving range), but {x.size} "
            "was passed.")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise SpecificationError(
            f"`values` must be finite numbers; positions {bad[:5].tolist()} are missing or "
            "infinite. Leave the missing periods out (and pass `periods`).")
    return x


def _rebase_positions(rebase_at: Any, idx: pd.Index) -> list[int]:
    """Positions where a new segment starts (sorted, each after the first point)."""
    if rebase_at is None:
        return []
    wanted = ([rebase_at] if isinstance(rebase_at, (str, bytes))
              or not isinstance(rebase_at, Iterable) else list(rebase_at))
    pos = []
    for value in wanted:
        hit = idx.get_indexer([value])[0] if value in idx else -1
        if hit <= 0:
            raise SpecificationError(
                "The value for `rebase_at` must be None or one or more of the periods "
                f"after the first ({idx[1]!r} ... {idx[-1]!r}): the first period of the new "
                f"limits; but {value!r} was passed.")
        pos.append(int(hit))
    return sorted(set(pos))


def _short_baseline_messages(limits: pd.DataFrame, where: str) -> list[str]:
    out = []
    short = limits[limits["n_baseline"] < MIN_RELIABLE_POINTS]
    if len(short):
        counts = sorted(set(short["n_baseline"].astype(int)))
        out.append(
            f"{where}: the limits rest on {', '.join(map(str, counts))} baseline point(s) "
            f"per segment; 'Making Data Count' advises at least {MIN_RELIABLE_POINTS} "
            "points before limits are relied on, so treat the limits and signals as "
            "provisional.")
    none = limits[~np.isfinite(limits["mean_moving_range"].to_numpy(dtype=float))]
    if len(none):
        out.append(
            f"{where}: {len(none)} segment(s) have a single baseline point: no moving "
            "range, so no limits there (only the run and trend rules can signal).")
    return out


def xmr(
    values: Any,
    *,
    periods: Any = None,
    rebase_at: Any = None,
    baseline: int | None = None,
    screen_outliers: bool = True,
    run_length: int = DEFAULT_RUN_LENGTH,
    trend_length: int = DEFAULT_TREND_LENGTH,
    rules: Sequence[str] = RULES,
    improvement: spc.Improvement = "neutral",
    label: str = "value",
) -> XmrResult:
    """XmR (individuals) chart of one series: centre, process limits, special causes.

    Parameters
    ----------
    values
        The series, in time order: finite numbers, at least 2 (a list, array or Series).
        Not modified.
    periods
        The time point of each value (years, dates, pandas Periods for months or
        quarters...), distinct and increasing; text labels (``"2021-Q1"``) are taken in
        the order given. ``None``: the Series' index, else ``1 .. n``.
    rebase_at
        ``None``, or one period (or several) at which new limits start: the points
        before and after are separate segments, each with its own baseline, moving
        ranges and rules (e.g. the KBZ start year). Must be one of ``periods``, not the
        first.
    baseline
        ``None`` (default): the limits of a segment rest on all its points; an integer
        ``k ≥ 2``: on its first ``k`` points only (limits "fixed" after ``k`` points,
        later points judged against them).
    screen_outliers
        ``True`` (default, as NHSRplotthedots): moving ranges ``≥ 3.267 × MR̄`` are set
        aside once before the limits are computed; ``False`` as the "Making Data Count"
        Excel tools.
    run_length
        Points in a row on one side of the centre that signal (default 7; ≥ 2).
    trend_length
        Points in a row each higher (or each lower) than the one before that signal
        (default 6; ≥ 3; NHSRplotthedots uses 7).
    rules
        The special-cause rules applied: any of ``"outside_limits"``, ``"run"``,
        ``"trend"``, ``"two_of_three"`` (default all).
    improvement
        Which direction is good: ``"increase"``, ``"decrease"`` or ``"neutral"``
        (default); sets the ``variation`` class of flagged points.
    label
        Name of the measure, for the headline and the figure.

    Returns
    -------
    XmrResult

    Raises
    ------
    SpecificationError
        Bad values or options (the message names the parameter, the allowed values and
        the value passed).

    Warns
    -----
    StatisticalWarning
        When a segment's limits rest on fewer than 12 baseline points ("Making Data
        Count": limits from fewer points are unreliable), or on a single point (no
        limits).

    Notes
    -----
    Centre ``x̄`` = mean of the baseline points; ``MR̄`` = mean of the moving ranges
    ``|x_i − x_{i−1}|`` between baseline points of the segment (screened as above);
    process limits ``x̄ ± 2.66 MR̄`` (``σ̂ = 2.66 MR̄ / 3``); 2-sigma line ``x̄ ± 2σ̂``.
    Rules, applied within each segment to every point, every point of a signal flagged:
    a point outside the limits; ``run_length``+ points strictly on one side of the
    centre; ``trend_length``+ points each strictly above (below) the previous; two of
    three consecutive points beyond the same 2-sigma line (points beyond the limits
    included; the third point anywhere). The exact definitions are in
    :mod:`kbz_eval.stats.spc`. The limits assume roughly independent points with a
    constant mean in the baseline; there are no intervals and no p-values: about 0.27 %
    of points of a stable normal process fall outside the limits by chance.

    Examples
    --------
    >>> r = xmr([1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1])
    >>> r.tables["signals"][["period", "rule"]].values.tolist()
    [[5, 'outside_limits']]
    """
    opts = XmrOptions.checked(baseline=baseline, screen_outliers=screen_outliers,
                              run_length=run_length, trend_length=trend_length,
                              rules=rules, improvement=improvement)
    if not isinstance(label, str):
        raise SpecificationError(
            f"The value for `label` must be a text, but {label!r} was passed.")
    x = _values(values)
    idx = _periods(values, periods, x.size)
    starts = _rebase_positions(rebase_at, idx)
    labels = np.searchsorted(np.asarray(starts, dtype=np.int64), np.arange(x.size),
                             side="right")
    frame = spc.xmr_frame(x, labels, options=opts)
    seg_start = idx[np.r_[0, starts].astype(np.int64)]
    chart = frame.copy()
    chart.insert(0, "period", idx)
    chart.insert(2, "segment_start", seg_start[frame["segment"].to_numpy()])
    limits = spc.segment_summary(frame)
    limits.insert(1, "segment_start", seg_start)
    ends = np.r_[np.asarray(starts, dtype=np.int64) - 1, x.size - 1]
    limits.insert(2, "segment_end", idx[ends])
    rows = spc.signal_rows(frame)
    signals = pd.DataFrame({
        "period": idx[rows["row"].to_numpy()],
        "segment": frame["segment"].to_numpy()[rows["row"].to_numpy()],
        "rule": rows["rule"].to_numpy(dtype=object),
        "direction": rows["direction"].to_numpy(dtype=object),
        "variation": frame["variation"].to_numpy(dtype=object)[rows["row"].to_numpy()],
    })
    emitted = cc.emit(_short_baseline_messages(limits, f"XmR chart of {label}"))
    return XmrResult(
        estimates=_xmr_tidy(limits),
        tables={"chart": chart.reset_index(drop=True), "limits": limits,
                "signals": signals},
        method=_xmr_method(opts),
        settings={"label": label, "rebase_at": [idx[p] for p in starts],
                  "baseline": opts.baseline, "screen_outliers": opts.screen_outliers,
                  "run_length": opts.run_length, "trend_length": opts.trend_length,
                  "rules": list(opts.rules), "improvement": opts.improvement,
                  "n_points": int(x.size)},
        warnings=emitted,
    )


def _xmr_tidy(limits: pd.DataFrame) -> pd.DataFrame:
    many = len(limits) > 1
    rows = []
    for r in limits.itertuples():
        suffix = f"_{r.segment}" if many else ""
        extra = {"segment": int(r.segment), "segment_start": r.segment_start}
        for term, value in (("centre", r.centre), ("mean_moving_range",
                                                   r.mean_moving_range),
                            ("lower_limit", r.lower), ("upper_limit", r.upper)):
            rows.append({"term": term + suffix, "estimate": value, "n": r.n_baseline,
                         **extra})
        rows.append({"term": "special_cause_points" + suffix,
                     "estimate": r.n_special_cause, "n": r.n_points, **extra})
    return tidy_frame(rows)


def _xmr_method(opts: XmrOptions) -> str:
    return (
        "XmR (individuals) chart as in NHS 'Making Data Count' / NHSRplotthedots: centre "
        "= mean of the baseline points; limits = centre ± 2.66 × the mean moving range "
        "(σ̂ = 2.66/3 × MR̄, so ± 3σ̂), computed per segment when the limits are re-based. "
        "Special causes: a point outside the limits; a run on one side of the centre; a "
        "trend of points each above (below) the previous; two of three consecutive "
        "points beyond the same 2σ̂ line. Every point of a signal is flagged. "
        f"{opts.describe()}. Descriptive, no intervals: the limits assume roughly "
        "independent points around a constant mean during the baseline."
    )


# =========================================================================== practices
def _check_indicators(indicator: Any, panel: Any) -> tuple[str, ...]:
    if not isinstance(panel, pd.DataFrame):
        raise SpecificationError(
            f"`panel` must be a pandas DataFrame (the person-year panel), but a "
            f"{type(panel).__name__} was passed.")
    allowed = [str(c) for c in panel.columns if str(c).endswith(("_cost", "_count"))]
    wanted = [indicator] if isinstance(indicator, str) else indicator
    if not isinstance(wanted, Sequence) or not wanted:
        raise SpecificationError(
            f"The value for `indicator` must be a column name or a list of them, one of "
            f"{allowed}, but {indicator!r} was passed.")
    for ind in wanted:
        cc.check_choice("indicator", ind, allowed)
    return tuple(dict.fromkeys(wanted))


def _check_rebase(rebase_at: Any) -> Any:
    if rebase_at is None or rebase_at == KBZ_START and isinstance(rebase_at, str):
        return rebase_at
    if isinstance(rebase_at, bool) or not isinstance(rebase_at, (int, np.integer)):
        raise SpecificationError(
            f"The value for `rebase_at` must be one of [None, '{KBZ_START}'] or a calendar "
            f"year (an integer), but {rebase_at!r} was passed.")
    return int(rebase_at)


def _check_practices(practice: Any, available: Sequence[str]) -> list[str]:
    if practice is None:
        return list(available)
    wanted = [practice] if isinstance(practice, str) else practice
    if not isinstance(wanted, Sequence) or not wanted:
        raise SpecificationError(
            f"The value for `practice` must be None, a practice id or a list of them, one "
            f"of {list(available)}, but {practice!r} was passed.")
    for p in wanted:
        cc.check_choice("practice", p, list(available))
    return list(dict.fromkeys(wanted))


def _rebase_years(cp: cc.ClaimsPanel, rebase_at: Any) -> tuple[dict[str, float], str]:
    """The year each practice's new limits start (NaN: none) and a description."""
    prac = cp.practices
    ids = prac["practice_id"].tolist()
    if rebase_at is None:
        return {p: np.nan for p in ids}, "not re-based"
    if rebase_at != KBZ_START:
        return {p: float(rebase_at) for p in ids}, f"re-based at {rebase_at} (all practices)"
    kbz = prac[prac["group"] == "kbz"]
    starts = kbz["kbz_start_year"].dropna()
    common = float(starts.mode().min()) if len(starts) else np.nan
    out = {}
    for p, g, s in zip(prac["practice_id"], prac["group"], prac["kbz_start_year"],
                       strict=True):
        out[p] = float(s) if g == "kbz" else common
    text = ("re-based at each KBZ practice's own start year (kbz_start_year) and, for "
            "the control practices, at the most common KBZ start year"
            + (f" ({int(common)})" if np.isfinite(common) else " (none known)"))
    return out, text


@dataclass
class _Cells:
    """Sums per practice × year: indicator totals, insured years, persons."""

    ids: list[str]
    groups: np.ndarray   # per practice
    years: tuple[int, ...]
    totals: np.ndarray   # practice × year × indicator
    iy: np.ndarray       # practice × year
    persons: np.ndarray  # practice × year


def _cells(cp: cc.ClaimsPanel, indicators: Sequence[str]) -> _Cells:
    """The practice × year sums of the indicators and insured years, and the rows
    (persons) per practice × year.

    One year at a time on the practice codes: ``np.bincount`` adds each cell's rows in
    row order, so the sums are those of :func:`~kbz_eval.estimators.claims_common.
    practice_year_sums`, without a column of ones or a copy of every value column.
    """
    f = cp.frame
    ids = cp.practices["practice_id"].tolist()
    code = cc.row_codes(f["practice_id"], {p: i for i, p in enumerate(ids)})
    year = f["year"].to_numpy()
    columns = [f[c].to_numpy(dtype=float) for c in [*indicators, "iy"]]
    sums = np.zeros((len(ids), len(cp.years), len(columns)))
    persons = np.zeros((len(ids), len(cp.years)), dtype=np.int64)
    for j, y in enumerate(cp.years):
        at = np.flatnonzero(year == y)
        where = code[at]
        persons[:, j] = np.bincount(where, minlength=len(ids))
        for k, values in enumerate(columns):
            sums[:, j, k] = np.bincount(where, weights=values[at], minlength=len(ids))
    k = len(indicators)
    return _Cells(ids=ids, groups=cp.practices["group"].to_numpy(dtype=object),
                  years=tuple(int(y) for y in cp.years), totals=sums[:, :, :k],
                  iy=sums[:, :, k], persons=persons)


def _series_points(cells: _Cells, selected: list[str], indicators: Sequence[str],
                   rebase: dict[str, float]) -> pd.DataFrame:
    """One row per practice × indicator × year with data, and its segment label."""
    index = {p: i for i, p in enumerate(cells.ids)}
    years = np.asarray(cells.years, dtype=np.int64)
    parts = []
    for p in selected:
        i = index[p]
        have = cells.iy[i] > 0
        start = rebase[p]
        for k, ind in enumerate(indicators):
            yrs = years[have]
            after = (yrs >= start) if np.isfinite(start) else np.zeros(yrs.size, bool)
            rebased = bool(after.any() and (~after).any())
            parts.append(pd.DataFrame({
                "practice": p, "group": cells.groups[i], "indicator": ind, "year": yrs,
                "n_persons": cells.persons[i, have], "insured_years": cells.iy[i, have],
                "total": cells.totals[i, have, k],
                "after": after if rebased else np.zeros(yrs.size, dtype=bool),
                "rebase_ignored": np.isfinite(start) and not rebased,
            }))
    out = pd.concat(parts, ignore_index=True)
    out["value"] = out["total"] / out["insured_years"]
    series_no = out.groupby(["practice", "indicator"], sort=False).ngroup().to_numpy()
    out["label"] = 2 * series_no + out["after"].to_numpy(dtype=np.int64)
    return out


def _peer_table(cells: _Cells, selected: list[str], indicators: Sequence[str]
                ) -> pd.DataFrame:
    """The other practices of each group, per selected practice, indicator and year."""
    rows = []
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = cells.totals / cells.iy[:, :, None]  # practice × year × indicator
    for p in selected:
        i = cells.ids.index(p)
        for g in PEER_GROUPS:
            peers = (cells.groups == g)
            peers[i] = False
            if not peers.any():
                continue
            has = cells.iy[peers] > 0  # peer × year
            n_prac = has.sum(axis=0)
            iy = cells.iy[peers].sum(axis=0)
            n_persons = cells.persons[peers].sum(axis=0)
            for k, ind in enumerate(indicators):
                total = cells.totals[peers, :, k].sum(axis=0)
                mean = np.where(n_prac > 0, np.nansum(np.where(
                    has, rate[peers, :, k], 0.0), axis=0) / np.maximum(n_prac, 1), np.nan)
                keep = n_prac > 0
                rows.append(pd.DataFrame({
                    "practice": p, "group": cells.groups[i], "indicator": ind,
                    "peer_group": g,
                    "year": np.asarray(cells.years, dtype=np.int64)[keep],
                    "value": cc.safe_ratio(total, iy)[keep],
                    "practice_mean": mean[keep], "n_practices": n_prac[keep].astype(
                        np.int64), "n_persons": n_persons[keep], "insured_years": iy[keep]}))
    if not rows:
        return pd.DataFrame(columns=["practice", "group", "indicator", "peer_group", "year",
                                     "value", "practice_mean", "n_practices", "n_persons",
                                     "insured_years"])
    return pd.concat(rows, ignore_index=True)


def practice_trends(
    panel: pd.DataFrame,
    practices: pd.DataFrame,
    *,
    indicator: str | Sequence[str] = "poli_dbc_cost",
    practice: str | Sequence[str] | None = None,
    population: cc.Population = "all",
    years: Sequence[int] | None = None,
    rebase_at: RebaseAt = None,
    baseline: int | None = None,
    screen_outliers: bool = True,
    run_length: int = DEFAULT_RUN_LENGTH,
    trend_length: int = DEFAULT_TREND_LENGTH,
    rules: Sequence[str] = RULES,
    improvement: spc.Improvement = "decrease",
) -> PracticeTrendsResult:
    """Per practice and indicator: the yearly rate per insured year on an XmR chart,
    with the KBZ and control peers' series for comparison.

    Parameters
    ----------
    panel
        Person-year panel (``person_years`` contract): ``person_id, year, practice_id,
        insured_days``, ``minima`` (for ``population="minima"``) and the indicators.
        Not modified.
    practices
        Practices table (``practice_id``, ``group`` = ``kbz``/``control``,
        ``kbz_start_year`` for ``rebase_at="kbz_start"``). Not modified.
    indicator
        A value column of the panel ending in ``_cost`` or ``_count`` (e.g.
        ``"poli_dbc_cost"`` — the default —, ``"poli_dbc_count"``, ``"ggz_cost"``,
        ``"total_cost"``), or a list of them. Each is charted as its sum over the
        practice's person-years divided by their insured years.
    practice
        ``None`` (every practice with person-years), a practice id, or a list of ids.
    population
        ``"all"`` person-years (default) or ``"minima"`` only.
    years
        Years to chart; default every year of the panel.
    rebase_at
        ``None`` (default: one set of limits over all years), ``"kbz_start"`` (new
        limits from each KBZ practice's ``kbz_start_year``; control practices from the
        most common KBZ start year, so before and after are compared alike), or a year
        (new limits from that year for every practice; a year of the panel after the
        first analysed year).
    baseline, screen_outliers, run_length, trend_length, rules
        As in :func:`xmr`.
    improvement
        Which direction is good: ``"decrease"`` (default: KBZ aims at less, and less
        expensive, hospital and specialist care), ``"increase"`` or ``"neutral"``.

    Returns
    -------
    PracticeTrendsResult

    Raises
    ------
    SpecificationError
        Bad option values, unknown practices or indicators, years not in the panel.
    DataValidationError
        Missing columns or values that break the contract.

    Warns
    -----
    StatisticalWarning
        Always with yearly data of fewer than 12 years per segment ("Making Data Count"
        advises 12+ points before limits are relied on); for practice-years of fewer
        than 10 persons; for segments with a single year (no limits).

    Notes
    -----
    For practice ``p``, indicator ``v`` and year ``t``: ``value = Σ v / Σ insured
    years`` over ``p``'s person-years in ``t`` (the practice of a person-year is the
    practice that year). The yearly values form one series per practice and indicator,
    charted as :func:`xmr` does (centre = mean of the baseline years, limits ± 2.66 ×
    the mean moving range, the four rules of :mod:`kbz_eval.stats.spc`). Years in which
    the practice has no person-years are left out of its series (the moving range then
    spans the gap).

    **Peers.** For each practice, ``kbz`` peers are the *other* KBZ practices and
    ``control`` peers the *other* control practices; their ``value`` is the pooled rate
    (sum over their person-years / their insured years), ``practice_mean`` the
    unweighted mean of their practice rates. The peers' series are for comparison only:
    no limits, no test.

    The chart is descriptive — the practice's own variation over time. It does not
    adjust for case mix, treats every year as equally precise (an XmR chart ignores
    the number of insured persons behind a rate; see a funnel plot for that) and, with
    five yearly points, gives provisional limits.

    Examples
    --------
    >>> import kbz_eval as kbz
    >>> from kbz_eval.estimators.practice_trends import practice_trends
    >>> s = kbz.load_sample()                                       # doctest: +SKIP
    >>> r = practice_trends(s["person_years"], s["practices"], practice="OV03",
    ...                     rebase_at="kbz_start")                  # doctest: +SKIP
    >>> r.tables["series"]                                          # doctest: +SKIP
    """
    opts = XmrOptions.checked(baseline=baseline, screen_outliers=screen_outliers,
                              run_length=run_length, trend_length=trend_length,
                              rules=rules, improvement=improvement)
    indicators = _check_indicators(indicator, panel)
    rebase_at = _check_rebase(rebase_at)
    required = [("rebase_at", rebase_at)] if isinstance(rebase_at, int) else []
    cp = cc.prepare_claims(panel, practices, population=population, values=indicators,
                           years=years, required_years=required)
    if isinstance(rebase_at, int) and rebase_at not in cp.years[1:]:
        raise SpecificationError(
            f"The value for `rebase_at` must be an analysed year after the first "
            f"({list(cp.years[1:])}): the first year of the new limits; but {rebase_at!r} "
            "was passed.")
    selected = _check_practices(practice, cp.practices["practice_id"].tolist())
    rebase, rebase_text = _rebase_years(cp, rebase_at)
    cells = _cells(cp, indicators)
    points = _series_points(cells, selected, indicators, rebase)
    frame = spc.xmr_frame(points["value"].to_numpy(), points["label"].to_numpy(),
                          options=opts)
    series = _series_table(points, frame)
    key = frame["segment"].to_numpy()
    limits = _limits_table(series, frame, key)
    signals = _signals_table(series, frame)
    peers = _peer_table(cells, selected, indicators)

    messages = [*cp.notes, *_short_baseline_messages(
        limits, "Practice trends (yearly series)")]
    ignored = sorted(set(points.loc[points["rebase_ignored"], "practice"]))
    if ignored:
        messages.append(
            f"rebase_at: no new limits for {', '.join(ignored)}: the re-base year is not "
            "after the first year of the series (or is unknown).")
    messages.append(cc.sparse_cells_message(
        series.drop_duplicates(["practice", "year"]), ["practice", "year"]))
    emitted = cc.emit(messages)
    return PracticeTrendsResult(
        estimates=_practice_tidy(limits, series),
        tables={"series": series, "peers": peers, "signals": signals, "limits": limits},
        method=_practice_method(opts, population, rebase_text),
        settings={"indicators": list(indicators), "practices": selected,
                  "population": population, "years": list(cp.years),
                  "rebase_at": rebase_at, "rebase_years": {
                      p: (int(y) if np.isfinite(y) else None) for p, y in rebase.items()
                      if p in selected},
                  "baseline": opts.baseline, "screen_outliers": opts.screen_outliers,
                  "run_length": opts.run_length, "trend_length": opts.trend_length,
                  "rules": list(opts.rules), "improvement": opts.improvement},
        warnings=emitted,
    )


def _series_table(points: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    out = points[["practice", "group", "indicator", "year", "n_persons", "insured_years",
                  "total", "value"]].copy()
    # segment within the series: 0 before the re-base year, 1 from it
    out["segment"] = points["after"].to_numpy(dtype=np.int64)
    seg_key = frame["segment"].to_numpy()
    first_year = points.groupby(seg_key, sort=False)["year"].transform("min")
    out["segment_start"] = first_year.to_numpy(dtype=np.int64)
    for col in ("baseline", "moving_range", "centre", "mean_moving_range", "lower",
                "upper", "lower_2sigma", "upper_2sigma"):
        out[col] = frame[col].to_numpy()
    base_persons = np.where(frame["baseline"].to_numpy(), points["n_persons"].to_numpy(),
                            np.iinfo(np.int64).max)
    out["limits_n_persons"] = pd.Series(base_persons).groupby(seg_key).transform(
        "min").to_numpy(dtype=np.int64)
    for col in (*RULES, "special_cause", "variation"):
        out[col] = frame[col].to_numpy()
    return out[list(SERIES_COLUMNS)].reset_index(drop=True)


def _limits_table(series: pd.DataFrame, frame: pd.DataFrame, key: np.ndarray
                  ) -> pd.DataFrame:
    """One row per charted segment (``key``: the segment code of each series row)."""
    summary = spc.segment_summary(frame).set_index("segment")
    g = series.groupby(key, sort=True)
    first = g.first()
    out = pd.DataFrame({
        "practice": first["practice"], "group": first["group"],
        "indicator": first["indicator"], "segment": first["segment"],
        "segment_start": first["segment_start"], "segment_end": g["year"].max(),
        "n_points": summary["n_points"], "n_baseline": summary["n_baseline"],
        "centre": summary["centre"], "mean_moving_range": summary["mean_moving_range"],
        "lower": summary["lower"], "upper": summary["upper"],
        "n_special_cause": summary["n_special_cause"],
        "n_persons": first["limits_n_persons"],
    })
    return out.reset_index(drop=True)


def _signals_table(series: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    rows = spc.signal_rows(frame)
    at = rows["row"].to_numpy()
    out = pd.DataFrame({
        "practice": series["practice"].to_numpy(dtype=object)[at],
        "group": series["group"].to_numpy(dtype=object)[at],
        "indicator": series["indicator"].to_numpy(dtype=object)[at],
        "year": series["year"].to_numpy(dtype=np.int64)[at],
        "rule": rows["rule"].to_numpy(dtype=object),
        "direction": rows["direction"].to_numpy(dtype=object),
        "variation": series["variation"].to_numpy(dtype=object)[at],
        "n_persons": series["n_persons"].to_numpy(dtype=np.int64)[at],
    })
    return out.sort_values(["practice", "indicator", "year"], kind="stable",
                           ignore_index=True)


def _practice_tidy(limits: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    rows = []
    n_seg = limits.groupby(["practice", "indicator"])["segment"].transform("size")
    for r, many in zip(limits.itertuples(), n_seg.to_numpy(), strict=True):
        suffix = f"_{r.practice}_{r.indicator}" + (
            f"_from_{r.segment_start}" if many > 1 else "")
        extra = {"practice": r.practice, "group": r.group, "indicator": r.indicator,
                 "segment_start": int(r.segment_start)}
        for quantity, value in (("centre", r.centre), ("lower_limit", r.lower),
                                ("upper_limit", r.upper)):
            rows.append({"term": quantity + suffix, "estimate": value,
                         "n": r.n_persons, "quantity": quantity, **extra})
    g = series.groupby(["practice", "indicator"], sort=True)
    for (p, ind), part in g:
        rows.append({"term": f"special_cause_years_{p}_{ind}",
                     "estimate": float(part["special_cause"].sum()),
                     "n": int(part["n_persons"].min()), "quantity": "special_cause_years",
                     "practice": p, "group": part["group"].iloc[0], "indicator": ind,
                     "segment_start": int(part["year"].min())})
    return tidy_frame(rows)


def _practice_method(opts: XmrOptions, population: str, rebase_text: str) -> str:
    return (
        "Per practice and indicator, the yearly rate per insured year (sum over the "
        "practice's person-years / their insured years; "
        f"{cc.describe_population(population)}) on an XmR chart as in NHS 'Making Data "
        "Count' / NHSRplotthedots: centre = mean of the baseline years, limits = centre ± "
        "2.66 × the mean moving range (± 3σ̂); special causes: a year outside the "
        "limits, a run on one side of the centre, a trend, two of three years beyond the "
        f"same 2σ̂ line; every year of a signal is flagged. Limits {rebase_text}. "
        f"{opts.describe()}. Peers: the other KBZ practices and the other control "
        "practices, pooled rate per insured year (the practice itself left out). "
        f"{OWN_VARIATION[0].upper()}{OWN_VARIATION[1:]}; no case-mix adjustment; every "
        "year counts equally whatever the number of insured persons; with few yearly "
        f"points (fewer than {MIN_RELIABLE_POINTS}) the limits are provisional."
    )


__all__ = ["KBZ_START", "PEER_GROUPS", "PracticeTrendsResult", "SERIES_COLUMNS",
           "XmrResult", "practice_trends", "xmr", "year_ranges"]
