"""Drawing for an interrupted time series: observed points, fitted segments and the
counterfactual.

:func:`plot_trend_break` draws exactly ``result.plot_data()`` of a
:class:`~kbz_eval.estimators.trend_break.TrendBreakResult`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.plotting import get_ax
from kbz_eval.plotting.words import check_language, number, say, term

_COLOUR = {"treated": "#c0392b", "control": "#2c3e50"}

#: Dutch figure texts (English template -> Dutch template).
NL = {
    "{group} (observed)": "{group} (waargenomen)",
    "observed": "waargenomen",
    "{group} (fitted)": "{group} (geschat)",
    "fitted": "geschat",
    "counterfactual": "contrafeitelijk",
    "{level}% interval (counterfactual)": "{level}%-interval (contrafeitelijk)",
    "Trend break at {time}": "Trendbreuk bij {time}",
}


def time_positions(times: Any) -> np.ndarray:
    """Horizontal positions of the time values: numbers as they are, Periods as their
    start date, dates as they are."""
    values = pd.Series(list(times))
    if len(values) and isinstance(values.iloc[0], pd.Period):
        return pd.PeriodIndex(values).to_timestamp().to_numpy()
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float)
    return pd.to_datetime(values).to_numpy()


def plot_trend_break(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Interrupted time series: observed points, fitted segments before and after the
    break, and the counterfactual (dashed) with its interval band.

    Drawn in this order: per group (treated, then control if any) the observed points
    (one scatter); per group and segment (``pre``, ``post``) the fitted line (solid);
    the counterfactual line (dashed) and its band (``fill_between``); a dotted vertical
    line at the break.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.trend_break.TrendBreakResult`.
    ax
        A matplotlib Axes; ``None`` draws on a new figure.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    s = result.settings
    groups = [g for g in ("treated", "control") if g in set(data["group"])]
    comparative = len(groups) > 1
    for group in groups:
        obs = data[(data["element"] == "observed") & (data["group"] == group)]
        label = (say("{group} (observed)", language, group=term(group, language))
                 if comparative else say("observed", language))
        ax.scatter(time_positions(obs["time"]), obs["value"].to_numpy(dtype=float), s=22,
                   color=_COLOUR[group], label=label, zorder=3)
    for group in groups:
        for k, segment in enumerate(("pre", "post")):
            fit = data[(data["element"] == "fitted") & (data["group"] == group)
                       & (data["segment"] == segment)]
            label = None
            if k == 0:
                label = (say("{group} (fitted)", language, group=term(group, language))
                         if comparative else say("fitted", language))
            ax.plot(time_positions(fit["time"]), fit["value"].to_numpy(dtype=float),
                    color=_COLOUR[group], linewidth=1.6, label=label, zorder=2)
    cf = data[data["element"] == "counterfactual"]
    x = time_positions(cf["time"])
    ax.plot(x, cf["value"].to_numpy(dtype=float), color=_COLOUR["treated"],
            linestyle="--", linewidth=1.4, label=say("counterfactual", language), zorder=2)
    ax.fill_between(x, cf["lower"].to_numpy(dtype=float), cf["upper"].to_numpy(dtype=float),
                    color=_COLOUR["treated"], alpha=0.15, linewidth=0,
                    label=say("{level}% interval (counterfactual)", language,
                              level=number(100 * (1 - s["alpha"]), language, 0)))
    if len(x):
        ax.axvline(x[0], color="#7b7d7d", linestyle=":", linewidth=1)
    ax.set_xlabel(term(s["time"], language))
    ax.set_ylabel(term(s["outcome"], language))
    ax.set_title(say("Trend break at {time}", language, time=s["break_at"]))
    ax.legend(frameon=False, fontsize="small")
    return ax
