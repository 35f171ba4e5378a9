"""Drawing for practice comparisons: the caterpillar plot of a practice ranking and the
observed/expected ratios of the case-mix regression.

Every function takes a result and ``ax=None`` and returns the Axes; each draws exactly
``result.plot_data()``: one row per practice, at its ``position`` on the y axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import GROUP_STYLE, get_ax


def _style(group: str) -> dict[str, Any]:
    return dict(GROUP_STYLE.get(group, {"color": "grey", "marker": "^",
                                        "label": str(group)}))


def _intervals(ax: Any, data: Any, value: str, label_suffix: str) -> None:
    """One error bar per group: ``value`` (hollow markers) with ``ci_lower``–``ci_upper``,
    at the rows' positions."""
    for group in data["group"].drop_duplicates():
        sub = data[data["group"] == group]
        style = _style(group)
        x = sub[value].to_numpy(dtype=float)
        err = np.vstack([x - sub["ci_lower"].to_numpy(dtype=float),
                         sub["ci_upper"].to_numpy(dtype=float) - x])
        ax.errorbar(x, sub["position"].to_numpy(dtype=float), xerr=err,
                    fmt=style["marker"], color=style["color"], markerfacecolor="white",
                    elinewidth=1.2, capsize=2, label=f"{style['label']}: {label_suffix}",
                    gid=f"interval_{group}")


def _practice_axis(ax: Any, data: Any) -> None:
    ax.set_yticks(data["position"].to_numpy(dtype=float))
    ax.set_yticklabels([str(p) for p in data["practice"]])
    ax.set_ylim(-0.7, len(data) - 0.3)
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)


def plot_caterpillar(result: Any, ax: Any = None) -> Any:
    """Caterpillar plot of a practice ranking: each practice's own O/E with its
    interval, and its shrunken O/E, sorted by the shrunken estimate.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.ranking.RankingResult`.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        Per group (KBZ red circles, control dark squares): an error-bar line of the own
        O/E intervals (``estimate``, ``ci_lower``–``ci_upper`` of
        ``result.plot_data()``) with hollow markers, and filled diamonds at the shrunken
        O/E (``shrunken``), at y = ``position``; a dotted line at O/E = 1 and a dashed
        line at the pooled O/E of the random-effects model.
    """
    ax = get_ax(ax)
    data = result.plot_data()
    _intervals(ax, data, "estimate", "own O/E, interval")
    for group in data["group"].drop_duplicates():
        sub = data[data["group"] == group]
        style = _style(group)
        ax.scatter(sub["shrunken"].to_numpy(dtype=float),
                   sub["position"].to_numpy(dtype=float), marker="D", s=28,
                   color=style["color"], zorder=3, label=f"{style['label']}: shrunken O/E",
                   gid=f"shrunken_{group}")
    _practice_axis(ax, data)
    het = result.tables["heterogeneity"]
    pooled = float(het.loc[het["used"], "pooled"].iloc[0])
    ax.axvline(pooled, color="grey", linestyle="--", linewidth=1,
               label=f"mean of all practices ({pooled:.3f})")
    s = result.settings
    level = f"{100 * (1 - s['alpha']):g}%"
    ax.set_xlabel(f"observed / expected {s['outcome']} ({level} intervals)")
    ax.set_ylabel("practice (sorted by shrunken O/E)")
    ax.set_title(f"Practices against all practices, {s['period']}")
    ax.legend(frameon=False, fontsize="small", loc="best")
    return ax


def plot_observed_expected(result: Any, ax: Any = None) -> Any:
    """Observed/expected per practice (case mix by regression) in the last analysed
    year, sorted, with intervals.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.case_mix.CaseMixResult`.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        Per group an error-bar line (``oe_ratio``, ``ci_lower``–``ci_upper`` of
        ``result.plot_data()``) with hollow markers at y = ``position``, and a dotted
        line at O/E = 1.
    """
    ax = get_ax(ax)
    data = result.plot_data()
    _intervals(ax, data, "oe_ratio", "O/E, interval")
    _practice_axis(ax, data)
    s = result.settings
    year = int(data["year"].iloc[0]) if len(data) else ""
    ax.set_xlabel(f"observed / expected {s['outcome']} (case mix: {s['covariate_words']})")
    ax.set_ylabel("practice")
    ax.set_title(f"Case-mix adjusted {s['outcome']}, {year}")
    ax.legend(frameon=False, fontsize="small", loc="best")
    return ax


__all__ = ["GROUP_STYLE", "plot_caterpillar", "plot_observed_expected"]
