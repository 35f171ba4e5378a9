"""Statistical process control: XmR (individuals) charts and special-cause rules.

The chart of NHS England's "Making Data Count" programme and of the NHS-R package
NHSRplotthedots, written once here for every series the analyses chart (a practice's
yearly cost per insured year, a monthly count, ...). Only numpy; no drawing.

Definitions (for each *segment*, i.e. each stretch of the series between re-basings):

* **baseline** — the points the limits are computed from: every point of the segment, or
  its first ``baseline`` points ("fix after n points");
* **centre** ``x̄`` — the mean of the baseline points;
* **moving range** ``MR_i = |x_i − x_{i−1}|`` for consecutive points of the same segment
  (the first point of a segment has none, so a re-basing never mixes two segments);
  only moving ranges between two baseline points enter the limits;
* **mean moving range** ``MR̄`` — the mean of those moving ranges. With
  ``screen_outliers=True`` (NHSRplotthedots' default, after Nelson 1982 and Provost &
  Murray 2011) it is computed twice: every moving range ``MR_i ≥ 3.267 × MR̄`` (the
  upper limit of the moving-range chart) is set aside, once, and ``MR̄`` is the mean of
  the rest (when ``MR̄ = 0`` nothing is set aside). The "Making Data Count" Excel tools
  do not screen (``screen_outliers=False``);
* **process limits** ``x̄ ± 2.66 × MR̄``; 2.66 = 3 / d₂ with d₂ = 1.128 (the bias
  constant of a range of two), so that ``σ̂ = MR̄ × 2.66 / 3`` and the limits are
  ``x̄ ± 3σ̂``; the **2-sigma zone** is ``x̄ ± 2σ̂`` and the **1-sigma zone** ``x̄ ± σ̂``.

Special-cause rules (each applied within a segment, on every point of it, baseline or
not; every point that takes part in a signal is flagged):

``outside_limits``
    ``x_i > upper`` or ``x_i < lower`` (strictly); the point itself is flagged.
``run``
    ``run_length`` (default 7, as "Making Data Count") or more consecutive points on the
    same side of the centre line (strictly above or strictly below); a point exactly on
    the centre line ends a run. Every point of the run is flagged.
``trend``
    ``trend_length`` (default 6) or more consecutive points each strictly higher than
    the one before (or each strictly lower); an equal value ends the trend. The length
    counts points, so a trend of 6 points has 5 increases (NHSRplotthedots counts 7
    points: ``trend_length=7``). Every point of the trend is flagged, its first point
    included.
``two_of_three``
    two (or three) out of three consecutive points beyond the same 2-sigma line
    (``x_i > x̄ + 2σ̂``, or ``x_i < x̄ − 2σ̂``), i.e. two points on the same side beyond
    2σ̂ at most two positions apart; the third point may be anywhere. Points beyond the
    process limits count as beyond 2σ̂ (Western Electric rule 2). The points beyond
    2σ̂ are flagged, the third point is not. (NHSRplotthedots counts only points between
    the 2σ̂ line and the limit and wants all three on the same side of the centre.)

Direction of a flagged point: ``high`` when it is above the centre line (for a point
flagged only by ``trend``: when its trend rises; a point that ends a qualifying trend
takes that trend's direction), ``low`` otherwise. With ``improvement="increase"`` a high
special cause is ``special_cause_improvement`` and a low one ``special_cause_concern``;
``"decrease"`` the other way round; ``"neutral"`` gives ``special_cause_neutral_high`` /
``_low``. Points without a signal are ``common_cause``.

Many series are charted in one call by stacking them as segments of one long array
(segments never share moving ranges or rules), which is how the analyses stay
vectorised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from kbz_eval.errors import SpecificationError
from kbz_eval.stats.options import check_option

#: Half-width of the process limits in mean moving ranges: 3 / d₂, d₂ = 1.128.
LIMIT_FACTOR = 2.66
#: Moving ranges at or above this multiple of the mean moving range are screened out.
SCREEN_FACTOR = 3.267
#: Default length of a run on one side of the centre line ("Making Data Count": 7).
DEFAULT_RUN_LENGTH = 7
#: Default length (in points) of a rising or falling trend.
DEFAULT_TREND_LENGTH = 6
#: Fewer baseline points than this: "Making Data Count" calls the limits unreliable.
MIN_RELIABLE_POINTS = 12

#: The special-cause rules, in the order they are reported.
Rule = Literal["outside_limits", "run", "trend", "two_of_three"]
RULES: tuple[str, ...] = tuple(get_args(Rule))
#: Which direction of change is good.
Improvement = Literal["increase", "decrease", "neutral"]
IMPROVEMENTS: tuple[str, ...] = tuple(get_args(Improvement))
#: The variation class of a point.
VARIATIONS: tuple[str, ...] = (
    "common_cause", "special_cause_improvement", "special_cause_concern",
    "special_cause_neutral_high", "special_cause_neutral_low",
)

#: Columns of :func:`xmr_frame`, in order.
POINT_COLUMNS: tuple[str, ...] = (
    "segment", "position", "baseline", "value", "moving_range", "moving_range_used",
    "centre", "mean_moving_range", "sigma", "lower", "upper", "lower_2sigma",
    "upper_2sigma", "lower_1sigma", "upper_1sigma", "side", *RULES, "special_cause",
    "direction", "trend_direction", "variation",
)


# --------------------------------------------------------------------------- options
def check_length(name: str, value: Any, minimum: int) -> int:
    """``value`` as an integer of at least ``minimum`` (else a SpecificationError)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (
            value < minimum):
        raise SpecificationError(
            f"The value for `{name}` must be an integer of at least {minimum}, but "
            f"{value!r} was passed.")
    return int(value)


def check_baseline(baseline: Any) -> int | None:
    """``None`` (every point of a segment) or the number of baseline points (≥ 2)."""
    if baseline is None:
        return None
    if isinstance(baseline, bool) or not isinstance(baseline, (int, np.integer)) or (
            baseline < 2):
        raise SpecificationError(
            "The value for `baseline` must be None (every point of a segment) or an "
            f"integer of at least 2 (the first points of each segment), but {baseline!r} "
            "was passed.")
    return int(baseline)


def check_rules(rules: Any) -> tuple[str, ...]:
    """The rules to apply, as a tuple in :data:`RULES` order."""
    if isinstance(rules, str):
        rules = (rules,)
    if not isinstance(rules, Sequence) or not rules:
        raise SpecificationError(
            f"The value for `rules` must be a non-empty list of rules from {list(RULES)}, "
            f"but {rules!r} was passed.")
    for rule in rules:
        check_option("rules", rule, RULES)
    return tuple(r for r in RULES if r in rules)


def check_flag(name: str, value: Any) -> bool:
    """``value`` as a bool (only ``True``/``False`` accepted)."""
    if not isinstance(value, (bool, np.bool_)):
        raise SpecificationError(
            f"The value for `{name}` must be one of [True, False], but {value!r} was "
            "passed.")
    return bool(value)


@dataclass(frozen=True)
class XmrOptions:
    """Checked options of an XmR chart (see the module docstring)."""

    baseline: int | None = None
    screen_outliers: bool = True
    run_length: int = DEFAULT_RUN_LENGTH
    trend_length: int = DEFAULT_TREND_LENGTH
    rules: tuple[str, ...] = RULES
    improvement: str = "neutral"

    @classmethod
    def checked(cls, *, baseline: Any = None, screen_outliers: Any = True,
                run_length: Any = DEFAULT_RUN_LENGTH,
                trend_length: Any = DEFAULT_TREND_LENGTH, rules: Any = RULES,
                improvement: Any = "neutral") -> XmrOptions:
        """Options checked one by one; each bad value raises a SpecificationError
        naming the parameter, the allowed values and the value passed."""
        return cls(baseline=check_baseline(baseline),
                   screen_outliers=check_flag("screen_outliers", screen_outliers),
                   run_length=check_length("run_length", run_length, 2),
                   trend_length=check_length("trend_length", trend_length, 3),
                   rules=check_rules(rules),
                   improvement=check_option("improvement", improvement, IMPROVEMENTS))

    def describe(self) -> str:
        """The options in words."""
        base = ("every point of the segment" if self.baseline is None
                else f"the first {self.baseline} points of each segment")
        screen = (f"moving ranges ≥ {SCREEN_FACTOR} × MR̄ screened out once"
                  if self.screen_outliers else "no screening of moving ranges")
        return (f"baseline: {base}; {screen}; rules: {', '.join(self.rules)} (run of "
                f"{self.run_length}+ on one side, trend of {self.trend_length}+ points); "
                f"improvement: {self.improvement}")


# --------------------------------------------------------------------------- numerics
@dataclass
class Segments:
    """Where each segment starts, and each point's segment and position in it."""

    code: np.ndarray      # segment number of each point, 0 .. n_segments - 1
    position: np.ndarray  # position of each point within its segment, from 0
    starts: np.ndarray    # index of each segment's first point
    lengths: np.ndarray   # points per segment

    @classmethod
    def from_labels(cls, labels: Any) -> Segments:
        """Segments from per-point labels: each stretch of equal consecutive labels is
        one segment."""
        lab = np.asarray(labels)
        n = lab.size
        new = np.ones(n, dtype=bool)
        if n > 1:
            new[1:] = lab[1:] != lab[:-1]
        starts = np.flatnonzero(new)
        code = np.cumsum(new) - 1
        return cls(code=code, position=np.arange(n) - starts[code], starts=starts,
                   lengths=np.diff(np.append(starts, n)))

    @property
    def n(self) -> int:
        return int(self.code.size)

    @property
    def n_segments(self) -> int:
        return int(self.starts.size)

    def same_as_previous(self) -> np.ndarray:
        """True where a point is in the same segment as the point before it."""
        out = np.zeros(self.n, dtype=bool)
        out[1:] = self.code[1:] == self.code[:-1]
        return out


def _segment_mean(values: np.ndarray, mask: np.ndarray, seg: Segments
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` over the ``mask`` points of each segment (NaN when none) and
    the number of those points."""
    count = np.bincount(seg.code, weights=mask.astype(float), minlength=seg.n_segments)
    total = np.bincount(seg.code, weights=np.where(mask, values, 0.0),
                        minlength=seg.n_segments)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)
    return mean, count.astype(np.int64)


@dataclass
class XmrLimits:
    """Centre line, moving ranges and limits; per-segment arrays and per-point arrays.

    Attributes
    ----------
    baseline
        Per point: is it a baseline point (used for the centre)?
    moving_range
        Per point: ``|x_i − x_{i−1}|`` within the segment (NaN at a segment's start).
    moving_range_used
        Per point: does its moving range enter ``MR̄`` (between baseline points and not
        screened out)?
    centre, mean_moving_range, n_baseline, n_moving_ranges
        Per segment.
    """

    baseline: np.ndarray
    moving_range: np.ndarray
    moving_range_used: np.ndarray
    centre: np.ndarray
    mean_moving_range: np.ndarray
    n_baseline: np.ndarray
    n_moving_ranges: np.ndarray

    @property
    def sigma(self) -> np.ndarray:
        """Per segment: ``σ̂ = MR̄ × 2.66 / 3``."""
        return self.mean_moving_range * (LIMIT_FACTOR / 3.0)

    def band(self, k: float) -> tuple[np.ndarray, np.ndarray]:
        """Per segment: ``x̄ ∓ k σ̂`` (k = 3 gives the process limits ``x̄ ∓ 2.66 MR̄``)."""
        half = self.mean_moving_range * (LIMIT_FACTOR * k / 3.0)
        return self.centre - half, self.centre + half


def xmr_limits(values: np.ndarray, seg: Segments, *, baseline: int | None = None,
               screen_outliers: bool = True) -> XmrLimits:
    """Centre and mean moving range of every segment (see the module docstring).

    Parameters
    ----------
    values
        Finite values, in time order.
    seg
        The segments (one per baseline; many series may be stacked as segments).
    baseline
        Number of leading points of each segment the limits are computed from; ``None``:
        every point.
    screen_outliers
        Set aside moving ranges ``≥ 3.267 × MR̄`` once and recompute ``MR̄``.

    Returns
    -------
    XmrLimits
        ``mean_moving_range`` is NaN for a segment with fewer than two baseline points.
    """
    x = np.asarray(values, dtype=float)
    base = np.ones(seg.n, dtype=bool) if baseline is None else seg.position < baseline
    centre, n_base = _segment_mean(x, base, seg)
    same = seg.same_as_previous()
    mr = np.full(seg.n, np.nan)
    mr[1:] = np.abs(np.diff(x))
    mr[~same] = np.nan
    # the baseline is a prefix of each segment, so base[i] implies base[i - 1] here
    used = same & base
    mr_bar, n_mr = _segment_mean(mr, used, seg)
    if screen_outliers:
        cut = SCREEN_FACTOR * mr_bar[seg.code]
        with np.errstate(invalid="ignore"):
            used = used & ((cut == 0) | (mr < cut))
        mr_bar, n_mr = _segment_mean(mr, used, seg)
    return XmrLimits(baseline=base, moving_range=mr, moving_range_used=used,
                     centre=centre, mean_moving_range=mr_bar, n_baseline=n_base,
                     n_moving_ranges=n_mr)


def _run_lengths(new_run: np.ndarray) -> np.ndarray:
    """Per point, the length of the run it is in; ``new_run`` marks each run's start."""
    run = np.cumsum(new_run) - 1
    return np.bincount(run)[run]


def _shift(a: np.ndarray, k: int, fill: Any) -> np.ndarray:
    """``out[i] = a[i - k]`` (``fill`` where ``i - k`` is outside the array)."""
    out = np.full(a.shape, fill, dtype=a.dtype)
    if k > 0:
        out[k:] = a[:-k]
    elif k < 0:
        out[:k] = a[-k:]
    else:
        out[:] = a
    return out


def side_of_centre(values: np.ndarray, seg: Segments, lim: XmrLimits) -> np.ndarray:
    """Per point: +1 above the centre line, −1 below, 0 on it."""
    diff = np.asarray(values, dtype=float) - lim.centre[seg.code]
    return np.sign(np.nan_to_num(diff)).astype(np.int64)


def run_flags(side: np.ndarray, seg: Segments, run_length: int) -> np.ndarray:
    """Points in a run of ``run_length``+ consecutive points on one side of the centre
    (within a segment; a point on the centre line ends a run)."""
    new = np.ones(seg.n, dtype=bool)
    new[1:] = (side[1:] != side[:-1]) | ~seg.same_as_previous()[1:]
    return (side != 0) & (_run_lengths(new) >= run_length)


def trend_flags(values: np.ndarray, seg: Segments, trend_length: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Points in a trend of ``trend_length``+ points, each strictly above (or below) the
    one before, within a segment.

    Returns
    -------
    flag, direction
        ``direction`` is +1 for a rising and −1 for a falling trend (0 when not
        flagged); a point that ends one qualifying trend and starts the next takes the
        direction of the trend it ends.
    """
    x = np.asarray(values, dtype=float)
    step = np.zeros(seg.n, dtype=np.int64)  # step[i]: sign of x_i − x_{i−1}
    step[1:] = np.sign(np.diff(x)).astype(np.int64)
    step[~seg.same_as_previous()] = 0
    new = np.ones(seg.n, dtype=bool)
    new[1:] = step[1:] != step[:-1]
    # a run of m equal non-zero steps ending at i spans m + 1 points
    qualifies = (step != 0) & (_run_lengths(new) + 1 >= trend_length)
    starts_next = _shift(qualifies, -1, False)  # point i is the first point of step i+1
    flag = qualifies | starts_next
    direction = np.where(qualifies, step, np.where(starts_next, _shift(step, -1, 0), 0))
    return flag, direction.astype(np.int64)


def two_of_three_flags(values: np.ndarray, seg: Segments, lim: XmrLimits
                       ) -> np.ndarray:
    """Points beyond a 2-sigma line with another point beyond the same line at most two
    positions away in the same segment (two out of three consecutive points)."""
    x = np.asarray(values, dtype=float)
    low2, up2 = lim.band(2.0)
    with np.errstate(invalid="ignore"):
        high = x > up2[seg.code]
        low = x < low2[seg.code]
    out = np.zeros(seg.n, dtype=bool)
    for beyond in (high, low):
        near = np.zeros(seg.n, dtype=bool)
        for k in (-2, -1, 1, 2):
            same_seg = _shift(seg.code, k, -1) == seg.code
            near |= _shift(beyond, k, False) & same_seg
        out |= beyond & near
    return out


def special_causes(values: np.ndarray, seg: Segments, lim: XmrLimits, opts: XmrOptions
                   ) -> dict[str, np.ndarray]:
    """The rule flags of every point, their union, the side and the direction.

    Returns
    -------
    dict
        One bool array per rule of :data:`RULES` (all False for rules not in
        ``opts.rules``), ``special_cause`` (any rule), ``side`` (+1/0/−1),
        ``trend_direction`` (+1/0/−1) and ``direction`` (+1 high, −1 low, 0 none).
    """
    x = np.asarray(values, dtype=float)
    lower, upper = lim.band(3.0)
    side = side_of_centre(x, seg, lim)
    with np.errstate(invalid="ignore"):
        outside = (x > upper[seg.code]) | (x < lower[seg.code])
    trend, trend_dir = trend_flags(x, seg, opts.trend_length)
    flags = {
        "outside_limits": outside,
        "run": run_flags(side, seg, opts.run_length),
        "trend": trend,
        "two_of_three": two_of_three_flags(x, seg, lim),
    }
    flags = {r: (f if r in opts.rules else np.zeros(seg.n, dtype=bool))
             for r, f in flags.items()}
    any_flag = np.logical_or.reduce([flags[r] for r in RULES])
    by_side = flags["outside_limits"] | flags["run"] | flags["two_of_three"]
    direction = np.where(by_side, side, np.where(flags["trend"], trend_dir, 0))
    return {**flags, "special_cause": any_flag, "side": side,
            "trend_direction": np.where(flags["trend"], trend_dir, 0),
            "direction": direction.astype(np.int64)}


def variation_labels(direction: np.ndarray, special: np.ndarray, improvement: str
                     ) -> np.ndarray:
    """The variation class of each point (see :data:`VARIATIONS`)."""
    if improvement == "neutral":
        high, low = "special_cause_neutral_high", "special_cause_neutral_low"
    elif improvement == "increase":
        high, low = "special_cause_improvement", "special_cause_concern"
    else:
        high, low = "special_cause_concern", "special_cause_improvement"
    return np.where(~special, "common_cause", np.where(direction > 0, high, low)
                    ).astype(object)


def direction_words(direction: np.ndarray) -> np.ndarray:
    """+1 → ``"high"``, −1 → ``"low"``, 0 → ``""``."""
    return np.where(direction > 0, "high", np.where(direction < 0, "low", "")).astype(object)


def xmr_frame(values: Any, segments: Any = None, *, options: XmrOptions | None = None
              ) -> pd.DataFrame:
    """Every point of an XmR chart with its limits and flags, as a DataFrame.

    Parameters
    ----------
    values
        Finite numbers in time order (1-D).
    segments
        Per-point labels; each stretch of equal consecutive labels is charted with its
        own baseline and rules (a re-basing, or another stacked series). ``None``: one
        segment.
    options
        :class:`XmrOptions` (defaults when ``None``).

    Returns
    -------
    pandas.DataFrame
        The columns :data:`POINT_COLUMNS`: ``segment`` (0, 1, ...), ``position`` in the
        segment, ``baseline``, ``value``, ``moving_range`` (NaN at a segment's start),
        ``moving_range_used``, ``centre``, ``mean_moving_range``, ``sigma``, ``lower`` /
        ``upper`` (the process limits), the 2- and 1-sigma lines, ``side``, one bool
        column per rule, ``special_cause``, ``direction`` (``"high"``/``"low"``/``""``),
        ``trend_direction`` (of a flagged trend, else ``""``) and ``variation``.

    Notes
    -----
    No checks beyond shape: the front doors (:func:`kbz_eval.estimators.practice_trends.xmr`,
    :func:`~kbz_eval.estimators.practice_trends.practice_trends`) validate their input.

    Examples
    --------
    >>> f = xmr_frame([1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1])
    >>> round(float(f["upper"].iloc[0]), 4), bool(f["outside_limits"].iloc[4])
    (4.6044, True)
    """
    opts = options or XmrOptions()
    x = np.asarray(values, dtype=float).ravel()
    seg = Segments.from_labels(np.zeros(x.size, dtype=np.int64) if segments is None
                               else np.asarray(segments).ravel())
    lim = xmr_limits(x, seg, baseline=opts.baseline, screen_outliers=opts.screen_outliers)
    flags = special_causes(x, seg, lim, opts)
    c = seg.code
    lower, upper = lim.band(3.0)
    low2, up2 = lim.band(2.0)
    low1, up1 = lim.band(1.0)
    frame = pd.DataFrame({
        "segment": c, "position": seg.position, "baseline": lim.baseline, "value": x,
        "moving_range": lim.moving_range, "moving_range_used": lim.moving_range_used,
        "centre": lim.centre[c], "mean_moving_range": lim.mean_moving_range[c],
        "sigma": lim.sigma[c], "lower": lower[c], "upper": upper[c],
        "lower_2sigma": low2[c], "upper_2sigma": up2[c], "lower_1sigma": low1[c],
        "upper_1sigma": up1[c], "side": flags["side"],
        **{r: flags[r] for r in RULES}, "special_cause": flags["special_cause"],
        "direction": direction_words(flags["direction"]),
        "trend_direction": direction_words(flags["trend_direction"]),
        "variation": variation_labels(flags["direction"], flags["special_cause"],
                                      opts.improvement),
    })
    return frame[list(POINT_COLUMNS)]


def signal_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per flagged point and rule of an :func:`xmr_frame`, in point order:
    ``row`` (the frame's row position), ``rule`` and ``direction`` (``"high"`` /
    ``"low"``: the point's side of the centre line; for ``trend``, the trend's
    direction)."""
    parts = []
    for rule in RULES:
        idx = np.flatnonzero(frame[rule].to_numpy(dtype=bool))
        words = (frame["trend_direction"] if rule == "trend"
                 else pd.Series(direction_words(frame["side"].to_numpy()))).to_numpy(
                     dtype=object)[idx]
        parts.append(pd.DataFrame({"row": idx.astype(np.int64), "rule": rule,
                                   "direction": words}))
    out = pd.concat(parts, ignore_index=True)
    order = np.lexsort((out["rule"].map(RULES.index).to_numpy(), out["row"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def segment_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per segment of an :func:`xmr_frame`: ``segment, n_points, n_baseline,
    n_moving_ranges, centre, mean_moving_range, sigma, lower, upper, n_special_cause``."""
    g = frame.groupby("segment", sort=True)
    out = pd.DataFrame({
        "n_points": g.size(),
        "n_baseline": g["baseline"].sum().astype(np.int64),
        "n_moving_ranges": g["moving_range_used"].sum().astype(np.int64),
        "centre": g["centre"].first(),
        "mean_moving_range": g["mean_moving_range"].first(),
        "sigma": g["sigma"].first(),
        "lower": g["lower"].first(),
        "upper": g["upper"].first(),
        "n_special_cause": g["special_cause"].sum().astype(np.int64),
    })
    return out.reset_index()


__all__ = [
    "DEFAULT_RUN_LENGTH", "DEFAULT_TREND_LENGTH", "IMPROVEMENTS", "Improvement",
    "LIMIT_FACTOR", "MIN_RELIABLE_POINTS", "POINT_COLUMNS", "RULES", "Rule",
    "SCREEN_FACTOR", "Segments", "VARIATIONS", "XmrLimits", "XmrOptions",
    "check_baseline", "check_flag", "check_length", "check_rules", "direction_words",
    "run_flags", "segment_summary", "side_of_centre", "signal_rows", "special_causes",
    "trend_flags", "two_of_three_flags", "variation_labels", "xmr_frame", "xmr_limits",
]
