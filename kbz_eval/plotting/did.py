"""Drawing for :func:`kbz_eval.did`: mean outcome of treated and control units over time."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kbz_eval.plotting import get_ax
from kbz_eval.plotting.words import check_language, group_style, say, term

_STYLE = {
    "treated": {"color": "#c0392b", "marker": "o", "label": "treated"},
    "control": {"color": "#2c3e50", "marker": "s", "label": "control"},
}

#: Dutch figure texts (English template -> Dutch template); "treated" and "control" are
#: shared (:data:`kbz_eval.plotting.words.NL`).
NL = {
    "treatment starts ({start})": "start behandeling ({start})",
    "mean {outcome}": "gemiddelde {outcome}",
    "Difference-in-differences: group means over time":
        "Verschil in verschillen: groepsgemiddelden in de tijd",
}


def plot_did(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Draw the treated and control group means per period and mark the treatment start.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.did.DiDResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes with two lines (``treated``, ``control``; the values of
        ``result.plot_data()``) and a dashed vertical line at the first treated period.
        Numeric and date periods are drawn at their values; other periods (text,
        categories) at positions 0, 1, ... labelled with the period.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    start = result.settings["treatment_start"]
    periods = pd.Index(pd.unique(data["time"]))
    on_axis = pd.api.types.is_numeric_dtype(periods) or pd.api.types.is_datetime64_any_dtype(
        periods
    )
    order = {p: i for i, p in enumerate(periods)}

    def position(values: pd.Series) -> np.ndarray:
        if on_axis:
            return values.to_numpy()
        return values.map(order).to_numpy(dtype=float)

    for group in ("treated", "control"):
        sub = data[data["group"] == group]
        ax.plot(position(sub["time"]), sub["mean_outcome"].to_numpy(),
                **group_style(_STYLE, group, language))
    x_start = start if on_axis else float(order[start])
    ax.axvline(x_start, color="grey", linestyle="--", linewidth=1,
               label=say("treatment starts ({start})", language, start=start))
    if not on_axis:
        ax.set_xticks(np.arange(len(periods)))
        ax.set_xticklabels([str(p) for p in periods])
    settings = result.settings
    ax.set_xlabel(term(settings.get("time", "period"), language))
    ax.set_ylabel(say("mean {outcome}", language,
                      outcome=term(settings.get("outcome", "outcome"), language)))
    ax.set_title(say("Difference-in-differences: group means over time", language))
    ax.legend(frameon=False)
    return ax
