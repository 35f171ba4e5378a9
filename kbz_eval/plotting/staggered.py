"""Drawing for :func:`kbz_eval.estimators.staggered.staggered_did`: the event study."""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import get_ax
from kbz_eval.plotting.words import check_language, say, term

_PRE = {"color": "#2c3e50", "marker": "s"}
_POST = {"color": "#c0392b", "marker": "o"}

#: Dutch figure texts (English template -> Dutch template).
NL = {
    "before treatment": "vóór de start",
    "after treatment": "na de start",
    "periods since first treatment (event time)": "perioden sinds de start (gebeurtenistijd)",
    "effect on {outcome} ({level}% simultaneous band)":
        "effect op {outcome} ({level}%-simultane band)",
    "effect on {outcome} ({level}% pointwise band)":
        "effect op {outcome} ({level}%-puntsgewijze band)",
}


def _g(value: float, language: str) -> str:
    """``value`` in the shortest form (``:g``) with the language's decimal mark."""
    text = f"{value:g}".replace("-", "\u2212")
    return text.replace(".", ",") if language == "nl" else text


def plot_event_study(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Draw the ATT by event time with its band.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.staggered.StaggeredDidResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        Two error-bar containers (``before treatment``: event time < 0, ``after
        treatment``: event time ≥ 0) at the values of ``result.plot_data()``: points
        ``att`` with bars from ``ci_lower`` to ``ci_upper`` (the simultaneous band when
        the result was bootstrapped); a horizontal line at 0 and a dashed vertical line
        between event times -1 and 0.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    for post, style in ((False, {**_PRE, "label": say("before treatment", language)}),
                        (True, {**_POST, "label": say("after treatment", language)})):
        sub = data[data["post"] == post]
        att = sub["att"].to_numpy(float)
        lower = np.nan_to_num(att - sub["ci_lower"].to_numpy(float))
        upper = np.nan_to_num(sub["ci_upper"].to_numpy(float) - att)
        ax.errorbar(sub["event_time"].to_numpy(float), att, yerr=np.vstack([lower, upper]),
                    linestyle="none", capsize=3, **style)
    ax.axhline(0, color="grey", linewidth=1)
    ax.axvline(-0.5, color="grey", linestyle="--", linewidth=1)
    settings = result.settings
    level = _g(100 * (1 - settings.get("alpha", 0.05)), language)
    outcome = term(settings.get("outcome", "outcome"), language)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole periods only
    ax.set_xlabel(say("periods since first treatment (event time)", language))
    if settings.get("bootstrap"):
        ax.set_ylabel(say("effect on {outcome} ({level}% simultaneous band)", language,
                          outcome=outcome, level=level))
    else:
        ax.set_ylabel(say("effect on {outcome} ({level}% pointwise band)", language,
                          outcome=outcome, level=level))
    ax.legend(loc="best", frameon=False)
    return ax
