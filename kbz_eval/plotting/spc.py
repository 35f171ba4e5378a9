"""Drawing for statistical process control: XmR charts and practice trends.

Each function takes a result and ``ax=None`` and returns the Axes; each draws exactly
``result.plot_data()``. Colours follow NHS "Making Data Count": grey for common-cause
points, blue for improvement, orange for concern, purple for neutral special causes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.plotting import get_ax

#: Marker colour per variation class of a special-cause point.
VARIATION_STYLE = {
    "special_cause_improvement": {"color": "#289de0", "label": "special cause: improvement"},
    "special_cause_concern": {"color": "#fab428", "label": "special cause: concern"},
    "special_cause_neutral_high": {"color": "#361475", "label": "special cause: high"},
    "special_cause_neutral_low": {"color": "#361475", "label": "special cause: low"},
}
_COMMON = "#7b7d7d"
_PEER_STYLE = {
    "kbz_peers": {"color": "#c0392b", "marker": "o", "label": "KBZ peers (other practices)"},
    "control_peers": {"color": "#2c3e50", "marker": "s",
                      "label": "control peers (other practices)"},
}


def x_positions(periods: Any) -> tuple[np.ndarray, list[str] | None]:
    """Horizontal positions of the periods: numbers and dates as they are (pandas
    Periods as their start), anything else as ``0, 1, ...`` with the periods as tick
    labels (returned as the second value, else ``None``)."""
    values = pd.Series(periods).reset_index(drop=True)
    if isinstance(values.dtype, pd.PeriodDtype):
        return values.dt.to_timestamp().to_numpy(), None
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float), None
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy(), None
    return np.arange(len(values), dtype=float), [str(v) for v in values]


def draw_chart(ax: Any, x: np.ndarray, data: pd.DataFrame, *, label: str) -> None:
    """The XmR elements, in this order: the value line (``label``); per segment the
    centre line (solid) and the upper and lower limits (dashed), each drawn over the
    segment's points; then one scatter per special-cause variation class present."""
    value = data["value"].to_numpy(dtype=float)
    ax.plot(x, value, color=_COMMON, marker="o", markersize=4, linewidth=1.2,
            label=label, zorder=2)
    segment = data["segment"].to_numpy()
    for k, seg in enumerate(pd.unique(segment)):
        at = segment == seg
        first = k == 0
        ax.plot(x[at], data["centre"].to_numpy(dtype=float)[at], color="#231f20",
                linewidth=1, label="centre (mean)" if first else None, zorder=1)
        ax.plot(x[at], data["upper"].to_numpy(dtype=float)[at], color="#8a1538",
                linestyle="--", linewidth=1, label="process limits" if first else None,
                zorder=1)
        ax.plot(x[at], data["lower"].to_numpy(dtype=float)[at], color="#8a1538",
                linestyle="--", linewidth=1, zorder=1)
    variation = data["variation"].to_numpy(dtype=object)
    for name, style in VARIATION_STYLE.items():
        at = variation == name
        if at.any():
            ax.scatter(x[at], value[at], s=42, zorder=3, color=style["color"],
                       label=style["label"])


def plot_xmr(result: Any, ax: Any = None) -> Any:
    """XmR chart: the series, the centre line and process limits per segment, and the
    special-cause points highlighted.

    Parameters
    ----------
    result
        An :class:`~kbz_eval.estimators.practice_trends.XmrResult`.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        From ``result.plot_data()``: one line of the values (``value``), per segment
        three lines over the segment's points (``centre``, ``upper``, ``lower``) and
        one scatter per special-cause ``variation`` class present.
    """
    ax = get_ax(ax)
    data = result.plot_data()
    x, labels = x_positions(data["period"])
    label = result.settings.get("label", "value")
    draw_chart(ax, x, data, label=label)
    if labels is not None:
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=45, ha="right")
    elif np.issubdtype(np.asarray(x).dtype, np.datetime64):
        ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel("period")
    ax.set_ylabel(label)
    ax.set_title(f"XmR chart: {label}")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_practice_trends(result: Any, ax: Any = None, *, practice: str | None = None,
                         indicator: str | None = None) -> Any:
    """One practice's yearly series on its XmR chart, with the KBZ and control peers'
    series as lines.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.practice_trends.PracticeTrendsResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    practice, indicator
        Which chart (default: the first practice and indicator of the result).

    Returns
    -------
    matplotlib.axes.Axes
        From ``result.plot_data(practice, indicator)``: the practice's values, centre and
        limits per segment and special-cause points as :func:`plot_xmr` draws them, then
        one line per peer group present (``kbz_peers``, ``control_peers``).
    """
    ax = get_ax(ax)
    data = result.plot_data(practice=practice, indicator=indicator)
    own = data[data["series"] == "practice"].sort_values("year")
    practice = str(own["practice"].iloc[0]) if len(own) else str(practice)
    indicator = str(data["indicator"].iloc[0]) if len(data) else str(indicator)
    x = own["year"].to_numpy(dtype=float)
    draw_chart(ax, x, own.reset_index(drop=True), label=f"practice {practice}")
    for series, style in _PEER_STYLE.items():
        sub = data[data["series"] == series].sort_values("year")
        if len(sub):
            ax.plot(sub["year"].to_numpy(dtype=float), sub["value"].to_numpy(dtype=float),
                    linestyle=":", linewidth=1.2, markersize=3, zorder=1, **style)
    years = sorted(pd.unique(data["year"]))
    ax.set_xticks([float(y) for y in years])
    ax.set_xticklabels([str(int(y)) for y in years])
    ax.set_xlabel("year")
    ax.set_ylabel(f"{indicator} per insured year")
    ax.set_title(f"Practice {practice}: {indicator} per insured year with control limits")
    ax.legend(frameon=False, fontsize="small")
    return ax


__all__ = ["VARIATION_STYLE", "draw_chart", "plot_practice_trends", "plot_xmr",
           "x_positions"]
