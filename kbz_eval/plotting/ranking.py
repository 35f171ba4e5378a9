"""Drawing for practice comparisons: the caterpillar plot of a practice ranking and the
observed/expected ratios of the case-mix regression.

Every function takes a result, ``ax=None`` and ``language="en"`` and returns the Axes;
each draws exactly ``result.plot_data()``: one row per practice, at its ``position`` on
the y axis, with its labels in the language (:mod:`kbz_eval.plotting.words`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kbz_eval.plotting import GROUP_STYLE, get_ax
from kbz_eval.plotting.words import check_language, group_style, number, say, term

#: Dutch of this module's figure texts (English template -> Dutch template).
NL: dict[str, str] = {
    "{group}: own O/E, interval": "{group}: eigen W/V, interval",
    "{group}: shrunken O/E": "{group}: gekrompen W/V",
    "{group}: O/E, interval": "{group}: W/V, interval",
    "mean of all practices ({value})": "gemiddelde van alle praktijken ({value})",
    "observed / expected {outcome} ({level}% intervals)":
        "werkelijk / verwacht {outcome} ({level}%-intervallen)",
    "practice (sorted by shrunken O/E)": "praktijk (gesorteerd op gekrompen W/V)",
    "Practices against all practices, all years":
        "Praktijken tegenover alle praktijken, alle jaren",
    "Practices against all practices, {year}": "Praktijken tegenover alle praktijken, {year}",
    "no covariates (insured years only)": "geen covariaten (alleen verzekerde jaren)",
    "age band": "leeftijd",
    "sex": "geslacht",
    "age band × sex": "leeftijd × geslacht",
    "minima": "minima",
    "prior-year cost": "kosten vorig jaar",
    "outpatient DBCs": "poliklinische DBC's",
    "observed / expected {outcome} (case mix: {covariates})":
        "werkelijk / verwacht {outcome} (casemix: {covariates})",
    "Case-mix adjusted {outcome}, {year}": "Gecorrigeerd voor casemix: {outcome}, {year}",
}


def _style(group: str, language: str) -> dict[str, Any]:
    if group in GROUP_STYLE:
        return group_style(GROUP_STYLE, group, language)
    return {"color": "grey", "marker": "^", "label": term(group, language)}


def _outcome(outcome: Any, language: str) -> str:
    """The outcome in words (its column label, or a count's name)."""
    if str(outcome) == "poli_dbc_count":
        return say("outpatient DBCs", language)
    return term(outcome, language)


def _covariates(covariates: Any, language: str) -> str:
    """The case-mix covariates in words."""
    if not covariates:
        return say("no covariates (insured years only)", language)
    words = {"age_band": say("age band", language), "sex": say("sex", language),
             "age_band:sex": say("age band × sex", language),
             "minima": say("minima", language),
             "prior_cost": say("prior-year cost", language), "year": say("year", language)}
    return ", ".join(words.get(str(c), term(c, language)) for c in covariates)


def _intervals(ax: Any, data: Any, value: str, shrunken: bool, language: str) -> None:
    """One error bar per group: ``value`` (hollow markers) with ``ci_lower``–``ci_upper``,
    at the rows' positions (labelled as the own O/E of a ranking when ``shrunken``)."""
    for group in data["group"].drop_duplicates():
        sub = data[data["group"] == group]
        style = _style(group, language)
        x = sub[value].to_numpy(dtype=float)
        err = np.vstack([x - sub["ci_lower"].to_numpy(dtype=float),
                         sub["ci_upper"].to_numpy(dtype=float) - x])
        label = (say("{group}: own O/E, interval", language, group=style["label"])
                 if shrunken else
                 say("{group}: O/E, interval", language, group=style["label"]))
        ax.errorbar(x, sub["position"].to_numpy(dtype=float), xerr=err,
                    fmt=style["marker"], color=style["color"], markerfacecolor="white",
                    elinewidth=1.2, capsize=2, label=label, gid=f"interval_{group}")


def _practice_axis(ax: Any, data: Any) -> None:
    ax.set_yticks(data["position"].to_numpy(dtype=float))
    ax.set_yticklabels([str(p) for p in data["practice"]])
    ax.set_ylim(-0.7, len(data) - 0.3)
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)


def plot_caterpillar(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Caterpillar plot of a practice ranking: each practice's own O/E with its
    interval, and its shrunken O/E, sorted by the shrunken estimate.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.ranking.RankingResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        Per group (KBZ red circles, control dark squares): an error-bar line of the own
        O/E intervals (``estimate``, ``ci_lower``–``ci_upper`` of
        ``result.plot_data()``) with hollow markers, and filled diamonds at the shrunken
        O/E (``shrunken``), at y = ``position``; a dotted line at O/E = 1 and a dashed
        line at the pooled O/E of the random-effects model.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    _intervals(ax, data, "estimate", True, language)
    for group in data["group"].drop_duplicates():
        sub = data[data["group"] == group]
        style = _style(group, language)
        ax.scatter(sub["shrunken"].to_numpy(dtype=float),
                   sub["position"].to_numpy(dtype=float), marker="D", s=28,
                   color=style["color"], zorder=3,
                   label=say("{group}: shrunken O/E", language, group=style["label"]),
                   gid=f"shrunken_{group}")
    _practice_axis(ax, data)
    het = result.tables["heterogeneity"]
    pooled = float(het.loc[het["used"], "pooled"].iloc[0])
    ax.axvline(pooled, color="grey", linestyle="--", linewidth=1,
               label=say("mean of all practices ({value})", language,
                         value=number(pooled, language, 3)))
    s = result.settings
    level = f"{100 * (1 - s['alpha']):g}".replace(".", "," if language == "nl" else ".")
    ax.set_xlabel(say("observed / expected {outcome} ({level}% intervals)", language,
                      outcome=_outcome(s["outcome"], language), level=level))
    ax.set_ylabel(say("practice (sorted by shrunken O/E)", language))
    if s.get("year") is None:
        title = say("Practices against all practices, all years", language)
    else:
        title = say("Practices against all practices, {year}", language, year=int(s["year"]))
    ax.set_title(title)
    ax.legend(frameon=False, fontsize="small", loc="best")
    return ax


def plot_observed_expected(result: Any, ax: Any = None, *, language: str = "en") -> Any:
    """Observed/expected per practice (case mix by regression) in the last analysed
    year, sorted, with intervals.

    Parameters
    ----------
    result
        A :class:`~kbz_eval.estimators.case_mix.CaseMixResult`.
    ax
        Axes to draw on; a new figure when ``None``.
    language
        ``"en"`` or ``"nl"``: the language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        Per group an error-bar line (``oe_ratio``, ``ci_lower``–``ci_upper`` of
        ``result.plot_data()``) with hollow markers at y = ``position``, and a dotted
        line at O/E = 1.
    """
    check_language(language)
    ax = get_ax(ax)
    data = result.plot_data()
    _intervals(ax, data, "oe_ratio", False, language)
    _practice_axis(ax, data)
    s = result.settings
    year = int(data["year"].iloc[0]) if len(data) else ""
    outcome = _outcome(s["outcome"], language)
    ax.set_xlabel(say("observed / expected {outcome} (case mix: {covariates})", language,
                      outcome=outcome, covariates=_covariates(s.get("covariates"), language)))
    ax.set_ylabel(say("practice", language))
    ax.set_title(say("Case-mix adjusted {outcome}, {year}", language, outcome=outcome,
                     year=year))
    ax.legend(frameon=False, fontsize="small", loc="best")
    return ax


__all__ = ["GROUP_STYLE", "plot_caterpillar", "plot_observed_expected"]
