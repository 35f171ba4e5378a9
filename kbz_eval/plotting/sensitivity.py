"""Drawing for pre-trend checks, sensitivity to parallel trends and the Goodman-Bacon
decomposition (:mod:`kbz_eval.estimators.pretrends`, :mod:`kbz_eval.estimators.bacon`).

Every function takes a result and ``ax=None`` and returns the Axes; nothing is saved.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import get_ax

#: Marker and colour per Goodman-Bacon comparison type.
BACON_STYLE = {
    "treated_vs_never": {"color": "#2c3e50", "marker": "o",
                         "label": "treated vs never treated"},
    "earlier_vs_later": {"color": "#2980b9", "marker": "^",
                         "label": "earlier vs later treated"},
    "later_vs_earlier": {"color": "#c0392b", "marker": "x",
                         "label": "later vs earlier treated (forbidden)"},
    "later_vs_always": {"color": "#e67e22", "marker": "s",
                        "label": "later vs always treated (forbidden)"},
}


def plot_bacon(result: Any, ax: Any = None) -> Any:
    """Each 2 × 2 estimate against its weight, by comparison type.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.bacon.BaconResult`.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        One scatter collection per comparison type present (x = ``weight``, y =
        ``estimate`` of ``result.plot_data()``, labelled as in :data:`BACON_STYLE`), a
        dashed horizontal line at the TWFE estimate and a grey line at 0.
    """
    ax = get_ax(ax)
    data = result.plot_data()
    for kind, style in BACON_STYLE.items():
        sub = data[data["type"] == kind]
        if sub.empty:
            continue
        ax.scatter(sub["weight"].to_numpy(float), sub["estimate"].to_numpy(float),
                   color=style["color"], marker=style["marker"], label=style["label"])
    twfe = result.settings["twfe"]
    ax.axhline(twfe, color="black", linestyle="--", linewidth=1,
               label=f"TWFE estimate {twfe:.3g}".replace("-", "\u2212"))
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("weight in the TWFE estimate")
    ax.set_ylabel(f"2x2 DiD estimate on {result.settings.get('outcome', 'outcome')}")
    ax.legend(loc="best", frameon=False)
    return ax


def plot_sensitivity(result: Any, ax: Any = None) -> Any:
    """Robust confidence sets against the restriction parameter.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.pretrends.SensitivityResult`.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        Two error-bar containers drawn from ``result.plot_data()``: ``original`` (the
        conventional interval, placed one grid step left of the smallest parameter) and
        the robust sets (centre with bars to ``ci_lower``/``ci_upper``) at each
        parameter value; a grey line at 0 and, when finite, a dotted vertical line at the
        breakdown value.
    """
    ax = get_ax(ax)
    data = result.plot_data()
    s = result.settings
    robust = data[data["kind"] != "original"]
    original = data[data["kind"] == "original"]
    x = robust["parameter"].to_numpy(float)
    step = float(np.min(np.diff(x))) if len(x) > 1 else max(float(x[0]), 1.0) * 0.25
    x_orig = float(x.min()) - step
    for frame, xs, style in (
            (original, np.array([x_orig]), {"color": "#7f8c8d", "marker": "s",
                                             "label": "conventional"}),
            (robust, x, {"color": "#c0392b", "marker": "o",
                         "label": f"robust ({s['method'].replace('_', ' ')})"})):
        centre = frame["centre"].to_numpy(float)
        err = np.vstack([centre - frame["ci_lower"].to_numpy(float),
                         frame["ci_upper"].to_numpy(float) - centre])
        ax.errorbar(xs, centre, yerr=err, linestyle="none", capsize=3, **style)
    ax.axhline(0, color="grey", linewidth=0.8)
    breakdown = s.get("breakdown", np.nan)
    if np.isfinite(breakdown):
        ax.axvline(breakdown, color="black", linestyle=":", linewidth=1,
                   label=f"breakdown {s['parameter_name']} = {breakdown:.3g}")
    level = f"{100 * (1 - s['alpha']):g}%"
    ax.set_xlabel(s["parameter_name"])
    ax.set_ylabel(f"effect at event time {s['e']:g} ({level} set)")
    ax.legend(loc="best", frameon=False)
    return ax


def plot_pretrends(result: Any, ax: Any = None) -> Any:
    """The tested pre-treatment coefficients with pointwise intervals and the test.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.pretrends.PretrendTestResult`.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        One error-bar container at ``result.plot_data()`` (``att`` with bars to
        ``ci_lower``/``ci_upper``), a grey line at 0 and the test statistic and p-value
        as the title (the test's statistic: sup-t or Wald).
    """
    ax = get_ax(ax)
    data = result.plot_data()
    att = data["att"].to_numpy(float)
    err = np.vstack([att - data["ci_lower"].to_numpy(float),
                     data["ci_upper"].to_numpy(float) - att])
    ax.errorbar(data["event_time"].to_numpy(float), att, yerr=err, linestyle="none",
                capsize=3, color="#2c3e50", marker="s", label="before treatment")
    ax.axhline(0, color="grey", linewidth=0.8)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole periods only
    ax.set_xlabel("periods since first treatment (event time)")
    ax.set_ylabel("pre-treatment effect (pointwise interval)")
    ax.set_title(result.headline(), fontsize=9)
    return ax


__all__ = ["BACON_STYLE", "plot_bacon", "plot_pretrends", "plot_sensitivity"]
