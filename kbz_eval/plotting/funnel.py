"""Drawing of a funnel plot (:func:`kbz_eval.estimators.funnel.funnel`).

Draws exactly ``result.plot_data()``: one line object per series, each tagged with the
series name as its ``gid`` so the drawing can be checked against the data.
"""

from __future__ import annotations

from typing import Any

from kbz_eval.plotting import GROUP_STYLE, get_ax

_POINTS = {**GROUP_STYLE, "units": {"color": "#2c3e50", "marker": "o", "label": "units"}}
_OTHER_MARKERS = ("^", "D", "v", "P", "X")
#: Style of each funnel curve (series name of the plot data).
CURVES = {
    "target": {"color": "grey", "linestyle": "-", "linewidth": 1.0, "label": "target"},
    "lower_95": {"color": "#e67e22", "linestyle": "--", "linewidth": 1.2,
                 "label": "95% limits"},
    "upper_95": {"color": "#e67e22", "linestyle": "--", "linewidth": 1.2,
                 "label": "_nolegend_"},
    "lower_998": {"color": "#1f77b4", "linestyle": "-", "linewidth": 1.2,
                  "label": "99.8% limits"},
    "upper_998": {"color": "#1f77b4", "linestyle": "-", "linewidth": 1.2,
                  "label": "_nolegend_"},
}
#: Horizontal axis: from the panel, and from a table of units.
_X_LABEL = {"ratio": "expected (age band × sex)", "proportion": "number of persons",
            "rate": "insured years"}
_X_LABEL_TABLE = {"ratio": "expected", "proportion": "denominator", "rate": "exposure"}
_Y_LABEL = {"ratio": "observed / expected", "proportion": "proportion",
            "rate": "rate per insured year"}


def plot_funnel(result: Any, ax: Any = None) -> Any:
    """Funnel plot: the units as points (KBZ and control apart), the target line, the
    95 % and 99.8 % limits in use, outliers ringed and labelled.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.funnel.FunnelResult`.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        One marker-only line per point series and one line per curve of
        ``result.plot_data()`` (``gid`` = the series name), a ring (``gid="outliers"``)
        around the units outside the ``outlier_limit`` limits, and a text per label.
    """
    ax = get_ax(ax)
    data = result.plot_data()
    curves = [s for s in CURVES if s in set(data["series"])]
    points = [s for s in dict.fromkeys(data["series"]) if s not in CURVES]
    for series in curves:
        sub = data[data["series"] == series]
        ax.plot(sub["size"].to_numpy(dtype=float), sub["value"].to_numpy(dtype=float),
                gid=series, zorder=1, **CURVES[series])
    for i, series in enumerate(points):
        sub = data[data["series"] == series]
        style = dict(_POINTS.get(series, {"color": f"C{i + 2}",
                                          "marker": _OTHER_MARKERS[i % len(_OTHER_MARKERS)],
                                          "label": str(series)}))
        ax.plot(sub["size"].to_numpy(dtype=float), sub["value"].to_numpy(dtype=float),
                linestyle="none", markersize=6, gid=series, zorder=3, **style)
    flagged = data[data["outlier"] & ~data["series"].isin(list(CURVES))]
    if len(flagged):
        ax.plot(flagged["size"].to_numpy(dtype=float), flagged["value"].to_numpy(dtype=float),
                linestyle="none", marker="o", markersize=12, markerfacecolor="none",
                markeredgecolor="black", gid="outliers", zorder=4,
                label=f"outside {result.settings['outlier_limit']:g}% limits")
    for row in data[data["label"] != ""].itertuples(index=False):
        ax.annotate(row.label, (row.size, row.value), xytext=(5, 5), textcoords="offset points",
                    fontsize=8, gid="label")
    s = result.settings
    kind = s["kind"]
    ax.set_xlabel((_X_LABEL if s.get("source") == "panel" else _X_LABEL_TABLE)[kind])
    ax.set_ylabel(_Y_LABEL[kind])
    ax.set_title(f"Funnel plot: {s['what']}")
    ax.legend(frameon=False, fontsize=8)
    return ax


__all__ = ["CURVES", "plot_funnel"]
