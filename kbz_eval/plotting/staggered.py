"""Drawing for :func:`kbz_eval.estimators.staggered.staggered_did`: the event study."""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import get_ax

_PRE = {"color": "#2c3e50", "marker": "s", "label": "before treatment"}
_POST = {"color": "#c0392b", "marker": "o", "label": "after treatment"}


def plot_event_study(result: Any, ax: Any = None) -> Any:
    """Draw the ATT by event time with its band.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.staggered.StaggeredDidResult`.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        Two error-bar containers (``before treatment``: event time < 0, ``after
        treatment``: event time ≥ 0) at the values of ``result.plot_data()``: points
        ``att`` with bars from ``ci_lower`` to ``ci_upper`` (the simultaneous band when
        the result was bootstrapped); a horizontal line at 0 and a dashed vertical line
        between event times -1 and 0.
    """
    ax = get_ax(ax)
    data = result.plot_data()
    for post, style in ((False, _PRE), (True, _POST)):
        sub = data[data["post"] == post]
        att = sub["att"].to_numpy(float)
        lower = np.nan_to_num(att - sub["ci_lower"].to_numpy(float))
        upper = np.nan_to_num(sub["ci_upper"].to_numpy(float) - att)
        ax.errorbar(sub["event_time"].to_numpy(float), att, yerr=np.vstack([lower, upper]),
                    linestyle="none", capsize=3, **style)
    ax.axhline(0, color="grey", linewidth=1)
    ax.axvline(-0.5, color="grey", linestyle="--", linewidth=1)
    settings = result.settings
    band = "simultaneous" if settings.get("bootstrap") else "pointwise"
    level = f"{100 * (1 - settings.get('alpha', 0.05)):g}%"
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole periods only
    ax.set_xlabel("periods since first treatment (event time)")
    ax.set_ylabel(f"effect on {settings.get('outcome', 'outcome')} ({level} {band} band)")
    ax.legend(loc="best", frameon=False)
    return ax
