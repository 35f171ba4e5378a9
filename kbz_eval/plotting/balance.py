"""Drawing for :func:`kbz_eval.estimators.balance.balance`: the love plot."""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import get_ax
from kbz_eval.plotting.words import check_language, say, term

_STYLE = {"unweighted": {"color": "#7f8c8d", "marker": "o"},
          "weighted": {"color": "#c0392b", "marker": "D"}}

#: Dutch figure texts (English template -> Dutch template).
NL = {
    "unweighted": "ongewogen",
    "weighted": "gewogen",
    "standardised mean difference (treated − comparison)":
        "gestandaardiseerd verschil in gemiddelden (behandeld − vergelijking)",
    "balance: {comparison}": "balans: {comparison}",
    "comparison group": "vergelijkingsgroep",
}


def _stage_label(stage: str, language: str) -> str:
    return {"unweighted": say("unweighted", language),
            "weighted": say("weighted", language)}[stage]


def plot_love(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Draw standardised mean differences per covariate before and after weighting.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.balance.BalanceResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One scatter collection per stage (``unweighted``, ``weighted``) at
        ``(smd, position of covariate)`` from ``result.plot_data()``; covariates as
        y tick labels; a solid line at 0 and dashed lines at ±0.1.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    covs = list(dict.fromkeys(data["covariate"]))
    pos = {c: i for i, c in enumerate(covs)}
    for stage, style in _STYLE.items():
        sub = data[data["stage"] == stage]
        ax.scatter(sub["smd"].to_numpy(float),
                   np.array([pos[c] for c in sub["covariate"]], float), zorder=3,
                   label=_stage_label(stage, language), **style)
    ax.axvline(0, color="grey", linewidth=1)
    for v in (-0.1, 0.1):
        ax.axvline(v, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(covs)))
    ax.set_yticklabels([term(c, language) for c in covs])
    ax.set_xlabel(say("standardised mean difference (treated − comparison)", language))
    comparison = result.settings.get("comparison_label", "comparison")
    name = (say("comparison group", language) if comparison == "comparison"
            else term(comparison, language))
    ax.set_title(say("balance: {comparison}", language, comparison=name))
    ax.legend(loc="best", frameon=False)
    return ax
