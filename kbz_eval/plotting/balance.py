"""Drawing for :func:`kbz_eval.estimators.balance.balance`: the love plot."""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import get_ax

_STYLE = {"unweighted": {"color": "#7f8c8d", "marker": "o", "label": "unweighted"},
          "weighted": {"color": "#c0392b", "marker": "D", "label": "weighted"}}


def plot_love(result: Any, ax: Any = None) -> Any:
    """Draw standardised mean differences per covariate before and after weighting.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.balance.BalanceResult`.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        One scatter collection per stage (``unweighted``, ``weighted``) at
        ``(smd, position of covariate)`` from ``result.plot_data()``; covariates as
        y tick labels; a solid line at 0 and dashed lines at ±0.1.
    """
    ax = get_ax(ax)
    data = result.plot_data()
    covs = list(dict.fromkeys(data["covariate"]))
    pos = {c: i for i, c in enumerate(covs)}
    for stage, style in _STYLE.items():
        sub = data[data["stage"] == stage]
        ax.scatter(sub["smd"].to_numpy(float),
                   np.array([pos[c] for c in sub["covariate"]], float), zorder=3, **style)
    ax.axvline(0, color="grey", linewidth=1)
    for v in (-0.1, 0.1):
        ax.axvline(v, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(covs)))
    ax.set_yticklabels(covs)
    ax.set_xlabel("standardised mean difference (treated − comparison)")
    ax.set_title(f"balance: {result.settings.get('comparison_label', 'comparison')}")
    ax.legend(loc="best", frameon=False)
    return ax
