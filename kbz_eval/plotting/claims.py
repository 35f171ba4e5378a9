"""Drawing for the claims analyses: DBC index, savings, GGZ change, O/E ratios.

Every function takes a result and ``ax=None`` and returns the Axes; each draws exactly
``result.plot_data()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import GROUP_STYLE as _GROUP_STYLE
from kbz_eval.plotting import get_ax


def plot_dbc_index(result: Any, ax: Any = None) -> Any:
    """Index of outpatient DBCs (base year = 100), KBZ vs control, with interval bands.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.dbc_index.DbcIndexResult`.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines (KBZ, control; the ``index`` column of ``result.plot_data()``), a band
        per line (``ci_lower``–``ci_upper``) and a dotted reference line at 100.
    """
    ax = get_ax(ax)
    data = result.plot_data()
    for group in ("kbz", "control"):
        sub = data[data["group"] == group].sort_values("year")
        style = _GROUP_STYLE[group]
        x = sub["year"].to_numpy(dtype=float)
        ax.plot(x, sub["index"].to_numpy(), **style)
        ax.fill_between(x, sub["ci_lower"].to_numpy(), sub["ci_upper"].to_numpy(),
                        color=style["color"], alpha=0.15, linewidth=0)
    ax.axhline(100, color="grey", linestyle=":", linewidth=1)
    s = result.settings
    ax.set_xticks(sorted(data["year"].unique()))
    ax.set_xlabel("year")
    ax.set_ylabel(f"DBCs per insured year, index ({s['base_year']} = 100)")
    ax.set_title(f"Outpatient DBCs, KBZ vs control ({s['population']})")
    ax.legend(frameon=False)
    return ax


def plot_savings(result: Any, ax: Any = None) -> Any:
    """Cost per insured year of the KBZ practices and their cost had they followed the
    control trend (the seeds' figure 5), with interval bands.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines (``kbz`` actual, ``kbz_control_trend``) with bands, from
        ``result.plot_data()``, and the saving marked in the saving year.
    """
    ax = get_ax(ax)
    data = result.plot_data()
    styles = {
        "kbz": {"color": "#c0392b", "marker": "o", "label": "KBZ practices"},
        "kbz_control_trend": {"color": "#2c3e50", "marker": "s", "linestyle": "--",
                              "label": "KBZ had costs followed the control trend"},
    }
    for series, style in styles.items():
        sub = data[data["series"] == series].sort_values("year")
        x = sub["year"].to_numpy(dtype=float)
        ax.plot(x, sub["cost_per_insured_year"].to_numpy(), **style)
        ax.fill_between(x, sub["ci_lower"].to_numpy(), sub["ci_upper"].to_numpy(),
                        color=style["color"], alpha=0.12, linewidth=0)
    s = result.settings
    year = s["year"]
    sel = data[data["year"] == year].set_index("series")["cost_per_insured_year"]
    lo, hi = float(sel["kbz"]), float(sel["kbz_control_trend"])
    ax.annotate("", xy=(year, lo), xytext=(year, hi),
                arrowprops={"arrowstyle": "<->", "color": "grey"})
    ax.text(year, (lo + hi) / 2, f"  EUR {hi - lo:,.0f}", va="center", color="grey")
    ax.set_xticks(sorted(data["year"].unique()))
    ax.set_xlabel("year")
    ax.set_ylabel(f"{s['outcome']} per insured year (EUR)")
    ax.set_title(f"Cost per person, KBZ vs control trend ({s['population']})")
    ax.legend(frameon=False)
    return ax


def plot_ggz_change(result: Any, ax: Any = None) -> Any:
    """Relative change of GGZ cost per insured year per group and practice, with
    intervals (horizontal bars; groups on top).

    Returns
    -------
    matplotlib.axes.Axes
        One bar per row of ``result.plot_data()`` (width = ``change`` in percent) with an
        error bar from ``ci_lower`` to ``ci_upper``.
    """
    ax = get_ax(ax)
    data = result.plot_data()
    y = np.arange(len(data))[::-1].astype(float)
    colors = [_GROUP_STYLE[g]["color"] for g in data["group"]]
    alpha = [1.0 if lv == "group" else 0.55 for lv in data["level"]]
    change = 100 * data["change"].to_numpy(dtype=float)
    bars = ax.barh(y, change, color=colors)
    for bar, a in zip(bars, alpha, strict=True):
        bar.set_alpha(a)
    err = np.vstack([change - 100 * data["ci_lower"].to_numpy(dtype=float),
                     100 * data["ci_upper"].to_numpy(dtype=float) - change])
    ax.errorbar(change, y, xerr=err, fmt="none", ecolor="black", elinewidth=1, capsize=2)
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_yticks(y)
    ax.set_yticklabels(list(data["label"]))
    s = result.settings
    ax.set_xlabel(f"change in GGZ cost per insured year, {s['base_year']}→{s['follow_year']} "
                  "(%)")
    ax.set_title("Specialist GGZ cost per insured: change per group and practice")
    return ax


def plot_risk_adjustment(result: Any, ax: Any = None) -> Any:
    """Observed/expected ratio per unit and year with intervals, reference line at 1.

    Returns
    -------
    matplotlib.axes.Axes
        One line with error bars per unit (``oe_ratio``, ``ci_lower``–``ci_upper`` of
        ``result.plot_data()``).
    """
    ax = get_ax(ax)
    data = result.plot_data()
    units = list(data["unit"].drop_duplicates())
    by_practice = not set(units) <= set(_GROUP_STYLE)
    legend_done: set[str] = set()
    for i, unit in enumerate(units):
        sub = data[data["unit"] == unit].sort_values("year")
        x = sub["year"].to_numpy(dtype=float)
        if by_practice:
            # practices: coloured by their group, side by side within a year, each line
            # named at its end (a legend of a dozen colours cannot be read)
            group = str(sub["group"].iloc[0])
            base = _GROUP_STYLE.get(group, {"color": "grey", "marker": "o"})
            style = {"color": base["color"], "marker": base["marker"], "linewidth": 0.8,
                     "markersize": 4, "alpha": 0.85,
                     "label": base.get("label", group) if group not in legend_done
                     else "_nolegend_"}
            legend_done.add(group)
            x = x + 0.5 * (i - (len(units) - 1) / 2) / max(len(units), 1)
        else:
            style = dict(_GROUP_STYLE[unit])
        v = sub["oe_ratio"].to_numpy(dtype=float)
        err = np.vstack([v - sub["ci_lower"].to_numpy(dtype=float),
                         sub["ci_upper"].to_numpy(dtype=float) - v])
        ax.errorbar(x, v, yerr=err, capsize=2 if by_practice else 3, **style)
        if by_practice and len(x):
            ax.annotate(str(unit), (x[-1], v[-1]), xytext=(4, 0), textcoords="offset points",
                        fontsize=7, va="center", color=style["color"])
    ax.axhline(1, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(sorted(data["year"].unique()))
    ax.set_xlabel("year")
    ax.set_ylabel("observed / expected (age band × sex)")
    ax.set_title(f"Risk-adjusted {result.settings['outcome']}")
    ax.legend(frameon=False)
    return ax
