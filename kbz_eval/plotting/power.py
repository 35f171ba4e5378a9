"""Drawing for :mod:`kbz_eval.estimators.power`: the MDE by number of practices."""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import get_ax

_STYLE = {
    "two_by_two": {"color": "#2c3e50", "marker": "s", "label": "2 × 2 (analytic)"},
    "staggered": {"color": "#c0392b", "marker": "o", "label": "staggered (simulation)"},
}


def plot_power(result: Any, ax: Any = None) -> Any:
    """Draw the minimum detectable effect against the number of practices.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.power.PowerResult`.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        One error-bar container per design in ``result.plot_data()``: x = ``n_practices``,
        y = ``mde``, bars ± 1.96 ``mc_se`` (Monte Carlo error of a simulated MDE; none
        for analytic MDEs), points joined by a line.
    """
    ax = get_ax(ax)
    data = result.plot_data().sort_values("n_practices")
    for design, sub in data.groupby("design", sort=True):
        style = _STYLE.get(str(design), {"marker": "o", "label": str(design)})
        mc = sub["mc_se"].to_numpy(float)
        yerr = None if np.all(np.isnan(mc)) else 1.96 * np.nan_to_num(mc)
        ax.errorbar(sub["n_practices"].to_numpy(float), sub["mde"].to_numpy(float),
                    yerr=yerr, capsize=3, linestyle="-", **style)
    settings = result.settings
    ax.set_xlabel("number of practices")
    ax.set_ylabel(f"minimum detectable effect ({100 * settings['power']:g}% power, "
                  f"alpha {settings['alpha']:g})")
    ax.set_ylim(bottom=0)
    ax.legend(loc="best", frameon=False)
    return ax
