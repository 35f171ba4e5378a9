"""Drawing for :mod:`kbz_eval.estimators.power`: the MDE by number of practices."""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import get_ax
from kbz_eval.plotting.words import check_language, say, term

_STYLE = {
    "two_by_two": {"color": "#2c3e50", "marker": "s"},
    "staggered": {"color": "#c0392b", "marker": "o"},
}

#: Dutch figure texts (English template -> Dutch template).
NL = {
    "2 × 2 (analytic)": "2 × 2 (analytisch)",
    "staggered (simulation)": "gespreide start (simulatie)",
    "number of practices": "aantal praktijken",
    "minimum detectable effect ({power}% power, alpha {alpha})":
        "minimaal aantoonbaar effect ({power}% onderscheidend vermogen, alfa {alpha})",
}


def _g(value: float, language: str) -> str:
    """``value`` in the shortest form (``:g``) with the language's decimal mark."""
    text = f"{value:g}".replace("-", "\u2212")
    return text.replace(".", ",") if language == "nl" else text


def _design_label(design: str, language: str) -> str:
    labels = {"two_by_two": say("2 × 2 (analytic)", language),
              "staggered": say("staggered (simulation)", language)}
    return labels.get(design, term(design, language))


def plot_power(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Draw the minimum detectable effect against the number of practices.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.power.PowerResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One error-bar container per design in ``result.plot_data()``: x = ``n_practices``,
        y = ``mde``, bars ± 1.96 ``mc_se`` (Monte Carlo error of a simulated MDE; none
        for analytic MDEs), points joined by a line.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data().sort_values("n_practices")
    for design, sub in data.groupby("design", sort=True):
        style = {**_STYLE.get(str(design), {"marker": "o"}),
                 "label": _design_label(str(design), language)}
        mc = sub["mc_se"].to_numpy(float)
        yerr = None if np.all(np.isnan(mc)) else 1.96 * np.nan_to_num(mc)
        ax.errorbar(sub["n_practices"].to_numpy(float), sub["mde"].to_numpy(float),
                    yerr=yerr, capsize=3, linestyle="-", **style)
    settings = result.settings
    ax.set_xlabel(say("number of practices", language))
    ax.set_ylabel(say("minimum detectable effect ({power}% power, alpha {alpha})", language,
                      power=_g(100 * settings["power"], language),
                      alpha=_g(settings["alpha"], language)))
    ax.set_ylim(bottom=0)
    ax.legend(loc="best", frameon=False)
    return ax
